//! Unit tests of the flow engine.
