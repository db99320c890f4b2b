//! The instance status (`GET /api/instance`, `instance_handler.go` and `management/server/instance/manager.go`),
//! unauthenticated: setup is required while the instance has no owner.
//!
//! Upstream with its embedded identity provider requires setup while the store has no account and the provider
//! no user; tokenstack's accounts exist through their users, so setup is required exactly while no NetBird user
//! has the role `owner`.

use super::*;

impl NetBird<'_> {
    /// `IsSetupRequired`: true while no user of any account is an owner.
    pub async fn setup_required(&self) -> Result<bool, NbError> {
        let users = self.store.all::<NbUser>().await?;
        Ok(!users.iter().any(|user| user.role == NbRole::Owner))
    }
}
