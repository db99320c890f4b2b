//! One integration-test binary: every operation of the spec, through the generated client, against the real server.

mod admin;
mod authentik;
mod blueprints;
mod crypto;
mod device;
mod groups;
mod login;
mod logout;
mod mappings;
mod netbird;
mod netbird_groups;
mod netbird_peers;
mod netbird_setup;
mod netbird_setup_keys;
mod oauth2;
mod official_rust_client;
mod permissions;
mod providers;
mod service;
mod setup;
mod support;
mod users;
