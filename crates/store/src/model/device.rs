//! authentik's `DeviceToken` (`authentik/providers/oauth2/models.py`): a device authorization request (RFC 8628)
//! waiting for a user to enter its user code and approve it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

/// One device authorization. The device code is stored as it is, as upstream's `device_code` column (and as
/// authorization codes are here); it is never printed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkDeviceToken {
    /// What the device polls the token endpoint with; the primary key.
    pub device_code: Secret,
    /// What the user types at `/device` (nine digits, `generate_code_fixed_length`); unique.
    pub user_code: String,
    pub provider: i64,
    /// The user who approved it; `None` while the authorization is pending.
    #[serde(default)]
    pub user: Option<i64>,
    /// The scopes the device asked for, as upstream keeps them (`scope.split(" ")`, empty names included).
    #[serde(default)]
    pub scope: Vec<String>,
    /// The hash of the session it was approved in (the id token's `sid`; upstream's `session`, `SET_DEFAULT` when
    /// the session ends, so a session that is gone counts as none).
    #[serde(default)]
    pub session: Option<String>,
    pub expires: DateTime<Utc>,
}

impl AkDeviceToken {
    /// Whether it has expired at `now` (`ExpiringModel.is_expired`).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires <= now
    }
}
