//! Row builders shared by the server's unit tests.

use chrono::{SubsecRound, Utc};

use crate::model::{AkProvider, AkUser, CoreToken, NbRole, NbUser, OAuthKind, OAuthToken};
use crate::secrets::Secret;

pub(crate) fn ak_user(pk: i64, username: &str, superuser: bool) -> AkUser {
    AkUser {
        name: username.into(),
        email: format!("{username}@example.com"),
        is_superuser: superuser,
        // At the precision the SQL stores keep (microseconds), so stores that order by these times agree.
        ..AkUser::new(pk, username, Utc::now().trunc_subsecs(6))
    }
}

pub(crate) fn core_token(identifier: &str, key: &str, user: i64) -> CoreToken {
    CoreToken::new(identifier, Secret::new(key), user)
}

pub(crate) fn provider(pk: i64, name: &str) -> AkProvider {
    AkProvider::new(pk, name)
}

pub(crate) fn oauth(kind: OAuthKind, pk: i64, provider: i64, user: i64) -> OAuthToken {
    let token = OAuthToken::new(kind, pk, provider, user, Secret::new(format!("tok-{pk}")));
    OAuthToken { scope: vec!["openid".into()], id_token: serde_json::json!({}), ..token }
}

pub(crate) fn nb_user(id: &str, account: &str, role: NbRole) -> NbUser {
    NbUser::new(id, account, role)
}
