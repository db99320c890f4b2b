//! The device authorization grant (RFC 8628) as authentik serves it: `POST /application/o/device/`
//! (`views/device_backchannel.py DeviceView`), its throttle (`throttle.providers.oauth2.device`, DRF's
//! `AnonRateThrottle`), and the `urn:ietf:params:oauth:grant-type:device_code` grant of the token endpoint
//! (`token/device_code.py`, `create_device_code_response`). The user's side (`/device`, the code-entry and finish
//! stages) is the flow engine's (`authentik::flow::device`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

use super::outcome::Refusal;
use super::token::Authorized;
use super::{OAuth2, ProviderError, ProviderRequest, Resolved, validity};
use crate::authentik::oidc::claims::SCOPE_OFFLINE_ACCESS;
use crate::authentik::oidc::errors::TokenError;
use crate::authentik::oidc::json::Ordered;
use crate::authentik::oidc::validity::whole_seconds;
use crate::model::{AkDeviceToken, AkSession, AkUser};
use crate::secrets::{Secret, generate_id};
use crate::store::{Field, StoreError};

/// The grant type's name.
pub(super) const GRANT_TYPE_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `device_init.py QS_KEY_CODE`: the query parameter of `verification_uri_complete`.
pub const QS_KEY_CODE: &str = "code";
/// The page users enter the code at (`authentik_providers_oauth2_root:device-login`).
const DEVICE_LOGIN_PATH: &str = "/device";
/// The polling interval the response asks for, in seconds (fixed upstream).
const INTERVAL: i64 = 5;
/// `generate_code_fixed_length`'s length.
const USER_CODE_DIGITS: u32 = 9;
/// `generate_key()`: 128 characters.
const DEVICE_CODE_LENGTH: usize = 128;

/// `DeviceView.post`.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceAuthorization {
    /// `device_code`, `verification_uri`, `verification_uri_complete`, `user_code`, `expires_in`, `interval`.
    Issued(Ordered),
    /// 400 with the error (`invalid_client`).
    Refused(Refusal),
    /// The throttle refused the request: 429 `slow_down`.
    Throttled,
}

/// `generate_code_fixed_length(9)`: a number in `1..10**9`, zero-padded to nine digits.
fn generate_user_code() -> String {
    let number = rand::rng().random_range(1..10u64.pow(USER_CODE_DIGITS));
    format!("{number:0width$}", width = USER_CODE_DIGITS as usize)
}

/// A DRF throttle rate, `<requests>/<period>` with the period's first letter `s`, `m`, `h` or `d`
/// (`SimpleRateThrottle.parse_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: usize,
    pub period: TimeDelta,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (requests, period) = text.split_once('/').ok_or_else(|| format!("{text:?} is not <requests>/<period>"))?;
        let requests: usize = requests.trim().parse().map_err(|_| format!("{requests:?} is not a number"))?;
        let period = match period.trim().chars().next() {
            Some('s') => TimeDelta::seconds(1),
            Some('m') => TimeDelta::minutes(1),
            Some('h') => TimeDelta::hours(1),
            Some('d') => TimeDelta::days(1),
            _ => return Err(format!("{period:?} is not a period (s, m, h or d)")),
        };
        Ok(Rate { requests, period })
    }
}

/// authentik's default `throttle.providers.oauth2.device`, `20/hour`.
pub const DEFAULT_DEVICE_RATE: Rate = Rate { requests: 20, period: TimeDelta::hours(1) };

/// `AnonRateThrottle` on the device endpoint: the times of each client's allowed requests within the period
/// (DRF keeps them in the cache, which every authentik worker shares; here they are per process).
#[derive(Debug)]
pub struct DeviceThrottle {
    rate: Rate,
    history: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl DeviceThrottle {
    pub fn new(rate: Rate) -> Self {
        DeviceThrottle { rate, history: Mutex::default() }
    }

    /// `SimpleRateThrottle.allow_request` for the client `ident` at `now`: its requests older than the period
    /// are forgotten; at the limit it is refused (and not recorded), else recorded.
    pub fn allow(&self, ident: &str, now: DateTime<Utc>) -> bool {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.retain(|_, times| times.back().is_some_and(|last| *last > now - self.rate.period));
        let times = history.entry(ident.to_owned()).or_default();
        while times.front().is_some_and(|first| *first <= now - self.rate.period) {
            times.pop_front();
        }
        if times.len() >= self.rate.requests {
            return false;
        }
        times.push_back(now);
        true
    }
}

impl OAuth2<'_> {
    /// `DeviceView.dispatch` and `post`: throttled per client, then the client's provider (it must have an
    /// application), then a device token valid for the provider's `access_code_validity`.
    pub async fn device_authorization(
        &self,
        request: &ProviderRequest<'_>,
        throttle: (&DeviceThrottle, &str),
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, ProviderError> {
        if !throttle.0.allow(throttle.1, self.now) {
            return Ok(DeviceAuthorization::Throttled);
        }
        let refused = |reason: &str| {
            let reason = reason.to_owned();
            Ok(DeviceAuthorization::Refused(Refusal { error: TokenError::InvalidClient, reason }))
        };
        let client_id = client_id.unwrap_or_default();
        if client_id.is_empty() {
            return refused("no client_id");
        }
        let Some(resolved) = self.provider_by_client_id(client_id).await? else {
            return refused("no provider has the client_id");
        };
        if resolved.application.is_none() {
            return refused("the provider has no application");
        }
        let lifetime = validity(&resolved.provider.oauth2.access_code_validity, TimeDelta::minutes(1));
        let device_code = generate_id(DEVICE_CODE_LENGTH);
        let scope: Vec<String> = scope.unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        let token = loop {
            let token = AkDeviceToken {
                device_code: Secret::new(device_code.clone()),
                user_code: generate_user_code(),
                provider: resolved.provider.pk,
                user: None,
                scope: scope.clone(),
                session: None,
                expires: self.now + lifetime,
            };
            match self.store.insert_with_pk(token).await {
                Ok(token) => break token,
                // Two pending requests drew the same user code: draw again.
                Err(StoreError::Duplicate { field: Field::UserCode }) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let verification_uri = format!("{}{DEVICE_LOGIN_PATH}", request.base_url);
        let mut body = Ordered::new();
        body.insert("device_code", token.device_code.expose());
        body.insert("verification_uri", verification_uri.as_str());
        body.insert("verification_uri_complete", format!("{verification_uri}?{QS_KEY_CODE}={}", token.user_code));
        body.insert("user_code", token.user_code.as_str());
        body.insert("expires_in", whole_seconds(lifetime));
        body.insert("interval", INTERVAL);
        Ok(DeviceAuthorization::Issued(body))
    }

    /// `DeviceCodeTokenRequest.parse` and `create_device_code_response`: the provider's device token (an unknown
    /// one, or another provider's, is `invalid_grant`), `expired_token` once it expired, `authorization_pending`
    /// until a user approved it; then the tokens of the approving user, with the approval's session (its login
    /// time, methods and id), and the device token is gone (one use).
    pub(super) async fn device_code_grant(
        &self,
        resolved: &Resolved,
        device_code: Option<&str>,
    ) -> Result<Result<Authorized, Refusal>, ProviderError> {
        let refuse = |error: TokenError, reason: &str| Ok(Err(Refusal { error, reason: reason.to_owned() }));
        let token = match self.store.get::<AkDeviceToken>(Field::Code, device_code.unwrap_or_default()).await {
            Ok(token) if token.provider == resolved.provider.pk => token,
            Ok(_) | Err(StoreError::NotFound) => return refuse(TokenError::InvalidGrant, "no such device code"),
            Err(e) => return Err(e.into()),
        };
        if token.is_expired(self.now) {
            return refuse(TokenError::ExpiredToken, "the device code has expired");
        }
        let Some(user) = token.user else {
            return refuse(TokenError::AuthorizationPending, "no user has approved the device code yet");
        };
        match self.store.delete::<AkDeviceToken>(token.device_code.expose()).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return refuse(TokenError::InvalidGrant, "the device code was just used"),
            Err(e) => return Err(e.into()),
        }
        let user = match self.store.get::<AkUser>(Field::Pk, user).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return refuse(TokenError::InvalidGrant, "the approving user is gone"),
            Err(e) => return Err(e.into()),
        };
        let session = match token.session.as_deref() {
            Some(hash) => match self.store.get::<AkSession>(Field::HashedToken, hash).await {
                Ok(session) if !session.is_expired(self.now) => Some(session),
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let refresh = token.scope.iter().any(|s| s == SCOPE_OFFLINE_ACCESS);
        Ok(Ok(Authorized {
            user,
            auth_time: session.as_ref().and_then(|s| s.auth_time).unwrap_or(self.now),
            amr: session.as_ref().map(|s| s.amr.clone()).unwrap_or_default(),
            sid: session.map(|s| s.key_hash),
            scopes: token.scope,
            nonce: None,
            refresh,
            rotated: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_nine_digits() {
        for _ in 0..200 {
            let code = generate_user_code();
            assert_eq!(code.len(), 9, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            assert_ne!(code, "000000000");
        }
    }

    #[test]
    fn rates_parse_as_drf_reads_them() {
        assert_eq!("20/hour".parse(), Ok(DEFAULT_DEVICE_RATE));
        assert_eq!("3/s".parse(), Ok(Rate { requests: 3, period: TimeDelta::seconds(1) }));
        assert_eq!("1000/day".parse(), Ok(Rate { requests: 1000, period: TimeDelta::days(1) }));
        assert!("20".parse::<Rate>().is_err());
        assert!("x/hour".parse::<Rate>().is_err());
        assert!("20/week".parse::<Rate>().is_err());
    }

    #[test]
    fn the_throttle_allows_the_rate_per_client_within_the_period() {
        let throttle = DeviceThrottle::new("2/minute".parse().unwrap());
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert!(throttle.allow("a", t0));
        assert!(throttle.allow("a", t0 + TimeDelta::seconds(10)));
        assert!(!throttle.allow("a", t0 + TimeDelta::seconds(20)), "the third within a minute");
        assert!(throttle.allow("b", t0 + TimeDelta::seconds(20)), "another client has its own");
        assert!(throttle.allow("a", t0 + TimeDelta::seconds(61)), "the first has left the period");
        assert!(!throttle.allow("a", t0 + TimeDelta::seconds(62)));
    }
}
