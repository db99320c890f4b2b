//! The instance setup (`POST /api/setup`, `instance_handler.go`, `instance/setup_service.go` and
//! `instance/manager.go`), unauthenticated: the first owner, and with setup PATs on (`--setup-pat-enabled`,
//! NetBird's `NB_SETUP_PAT_ENABLED=true`) their account and a PAT.
//!
//! tokenstack has no identity provider: the password is checked as upstream checks it and then dropped (nothing
//! logs in with it), and the owner's id is the one NetBird's embedded Dex gives a local user (base64 of
//! `{user_id, "local"}`). Upstream makes the NetBird user at its first login, or with the PAT; here it is made at
//! once, so `setup_required` turns false as upstream's flag does.

use chrono::TimeDelta;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::*;
use crate::secrets::generate_pat;

/// The name of the setup PAT (`setupPATTokenName`).
const SETUP_PAT_NAME: &str = "setup-token";

/// One setup at a time (upstream's `setupMu`), so two concurrent setups cannot both make an owner.
static SETUP: Mutex<()> = Mutex::const_new(());

/// What a setup made: the owner's id and email, and the plain setup PAT when one was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupDone {
    pub user_id: String,
    pub email: String,
    pub pat: Option<Secret>,
}

/// Dex's `EncodeDexUserID(user_id, "local")`: base64 (no padding) of the protobuf `{1: user_id, 2: "local"}`.
fn dex_local_user_id(user_id: &str) -> String {
    use base64::Engine as _;
    let mut buf = Vec::with_capacity(user_id.len() + 9);
    buf.push(0x0a);
    buf.push(user_id.len() as u8);
    buf.extend_from_slice(user_id.as_bytes());
    buf.push(0x12);
    buf.push(5);
    buf.extend_from_slice(b"local");
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(buf)
}

/// Go's `mail.ParseAddress`, approximated: one address, bare or as `Name <address>`, with a local part and a
/// domain and no spaces inside.
fn parses_as_address(text: &str) -> bool {
    let address = match (text.find('<'), text.strip_suffix('>')) {
        (Some(open), Some(rest)) => &rest[open + 1..],
        _ => text,
    };
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !address.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

impl NetBird<'_> {
    /// `POST /api/setup`: a body that does not decode is 400 `invalid request body`; with setup PATs on, a
    /// `pat_expire_in` outside 1..365 is 422; then `validateSetupInfo` (422), and an instance that has its owner
    /// is 412 `setup already completed`. `setup_pat` is whether setup PATs are on; `create_pat` is ignored
    /// without them.
    pub async fn setup(&self, body: &Value, setup_pat: bool) -> Result<SetupDone, NbError> {
        let mut decoder = GoStruct::new(body).map_err(|_| NbError::SetupBadBody)?;
        let create_pat = decoder.boolean("create_pat").map_err(|_| NbError::SetupBadBody)?;
        let email = decoder.string("email").map_err(|_| NbError::SetupBadBody)?;
        let name = decoder.string("name").map_err(|_| NbError::SetupBadBody)?;
        let password = decoder.string("password").map_err(|_| NbError::SetupBadBody)?;
        let expire_in = decoder.optional_int("pat_expire_in").map_err(|_| NbError::SetupBadBody)?;
        let create_pat = create_pat && setup_pat;
        let days = expire_in.unwrap_or(1);
        if create_pat && !(PAT_MIN_DAYS..=PAT_MAX_DAYS).contains(&days) {
            return Err(NbError::SetupInvalid("pat_expire_in must be between 1 and 365"));
        }
        let invalid = |text| Err(NbError::SetupInvalid(text));
        if email.is_empty() {
            return invalid("email is required");
        }
        if !parses_as_address(&email) {
            return invalid("invalid email format");
        }
        if name.is_empty() {
            return invalid("name is required");
        }
        if password.is_empty() {
            return invalid("password is required");
        }
        if password.len() < 8 {
            return invalid("password must be at least 8 characters");
        }
        if password.len() > 72 {
            return invalid("password must be at most 72 characters");
        }
        if [&email, &name].iter().any(|text| text.chars().any(char::is_control)) {
            return Err(NbError::ControlCharacters("email and name"));
        }
        let _one_at_a_time = SETUP.lock().await;
        if !self.setup_required().await? {
            return Err(NbError::SetupCompleted);
        }
        let user_id = dex_local_user_id(&Uuid::new_v4().to_string());
        let owner =
            NbUser { email: email.clone(), name, ..NbUser::new(user_id.clone(), new_xid_like_id(), NbRole::Owner) };
        self.store.insert(owner.clone()).await?;
        ensure_all_group(self.store, &owner.account_id).await?;
        let pat = if create_pat {
            let (plain, hashed) = generate_pat();
            self.store
                .insert_pat(Pat {
                    id: new_xid_like_id(),
                    user_id: user_id.clone(),
                    name: SETUP_PAT_NAME.to_owned(),
                    hashed_token: hashed,
                    expiration_date: self.now + TimeDelta::days(days),
                    created_by: user_id.clone(),
                    created_at: self.now,
                    last_used: None,
                })
                .await?;
            Some(Secret::new(plain))
        } else {
            None
        };
        Ok(SetupDone { user_id, email, pat })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dex_ids_and_addresses() {
        // `EncodeDexUserID("u1", "local")`: 0a 02 "u1" 12 05 "local".
        assert_eq!(dex_local_user_id("u1"), "CgJ1MRIFbG9jYWw");
        for good in ["a@b.c", "Ann <a@b.c>", "a.b+c@d"] {
            assert!(parses_as_address(good), "{good}");
        }
        for bad in ["", "a", "a@", "@b", "a b@c", "a@b.", "<a@b>x"] {
            assert!(!parses_as_address(bad), "{bad}");
        }
    }
}
