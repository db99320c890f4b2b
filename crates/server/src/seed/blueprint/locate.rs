//! Where a part of a blueprint stands in its text: serde_yaml's values carry no positions, so the text is read
//! again, down a path, until an error raised at the part wanted gives its line.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Copy, Debug)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The message of the error that marks the part found.
const FOUND: &str = "tokenstack: the located part";

/// The line of the part `path` leads to in `text`.
pub fn line(text: Option<&str>, path: &[Seg]) -> Option<usize> {
    let error = Walk(path).deserialize(serde_yaml::Deserializer::from_str(text?)).err()?;
    error.to_string().contains(FOUND).then(|| error.location()).flatten().map(|at| at.line())
}

/// ` at line N`, or nothing when unknown.
pub fn at(text: Option<&str>, path: &[Seg]) -> String {
    line(text, path).map(|line| format!(" at line {line}")).unwrap_or_default()
}

/// Follows the path; at its end, fails.
struct Walk<'p>(&'p [Seg<'p>]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a blueprint")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.0.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut found = false;
        while map.next_key_seed(Key { want, fail: rest.is_empty(), found: &mut found })?.is_some() {
            if found {
                found = false;
                map.next_value_seed(Walk(rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.0.split_first() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        if rest.is_empty() {
            seq.next_element_seed(Fail)?;
        } else {
            seq.next_element_seed(Walk(rest))?;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// A mapping key: marks whether it is the one wanted, or fails there when the path ends at it.
struct Key<'a> {
    want: &'a str,
    fail: bool,
    found: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // Failing while the key's own event is read gives the key's line (after it, the next event's).
        if deserializer.deserialize_any(KeyVisitor { want: self.want, fail: self.fail })? {
            *self.found = true;
        }
        Ok(())
    }
}

/// Whether a key is the one wanted; fails there when `fail`.
struct KeyVisitor<'a> {
    want: &'a str,
    fail: bool,
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match key == self.want {
            true if self.fail => Err(E::custom(FOUND)),
            found => Ok(found),
        }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// Fails at whatever it is given.
struct Fail;

impl<'de> DeserializeSeed<'de> for Fail {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(FailVisitor)
    }
}

struct FailVisitor;

impl<'de> Visitor<'de> for FailVisitor {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(de::Error::custom(FOUND))
    }
}
