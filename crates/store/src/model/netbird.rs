//! NetBird's account objects beyond users and PATs: groups.

use serde::{Deserialize, Serialize};

/// The name of the group every account has, which holds every peer (`types.GroupAllName`).
pub const GROUP_ALL: &str = "All";

/// A NetBird group (`types.Group`): unique by id; its name is unique within its account (a rule, as upstream's
/// `validateNewGroup`, not a store key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbGroup {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Who made it: `api`, `jwt` or `integration` (`types.GroupIssuedAPI` …).
    #[serde(default = "default_issued")]
    pub issued: String,
    /// The ids of its peers.
    #[serde(default)]
    pub peers: Vec<String>,
}

fn default_issued() -> String {
    "api".to_owned()
}

impl NbGroup {
    /// A group made through the API, without peers.
    pub fn new(id: impl Into<String>, account_id: impl Into<String>, name: impl Into<String>) -> Self {
        NbGroup {
            id: id.into(),
            account_id: account_id.into(),
            name: name.into(),
            issued: default_issued(),
            peers: Vec::new(),
        }
    }
}
