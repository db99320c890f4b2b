//! The server state every handler sees: the store, metrics, faults, the clock offset, admin and validation.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::admin::AdminState;
use crate::authentik::Authentik;
use crate::authentik::flow::Flows;
use crate::authentik::oauth2::{DEFAULT_DEVICE_RATE, DeviceThrottle, Keyring, OAuth2};
use crate::config::Limits;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::netbird::NetBird;
use crate::store::Store;

use super::validate::ResponseValidator;

/// The server state every handler sees.
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    /// Seconds added to the wall clock (admin API `PUT /_tokenstack/clock`).
    pub(super) clock_offset: Arc<AtomicI64>,
    /// The admin API, when `--admin-token` is set.
    pub(super) admin: Option<AdminState>,
    pub faults: Faults,
    /// The response validator, when `--validate-responses` is set.
    pub(super) validator: Option<&'static ResponseValidator>,
    /// What one user may store.
    pub limits: Limits,
    /// The OAuth2 provider's parsed signing keys.
    pub(super) keyring: Keyring,
    /// `--authorize-as`.
    pub authorize_as: Option<String>,
    /// `--setup-pat-enabled`: `POST /api/setup` may create a PAT (NetBird's `NB_SETUP_PAT_ENABLED=true`).
    pub setup_pat_enabled: bool,
    /// `--device-throttle`: the device authorization endpoint's throttle.
    pub device_throttle: DeviceThrottle,
}

impl ServerContext {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ServerContext {
            store,
            metrics: Metrics::default(),
            clock_offset: Arc::new(AtomicI64::new(0)),
            admin: None,
            faults: Faults::new(super::faults::is_admin),
            validator: None,
            limits: Limits::default(),
            keyring: Keyring::default(),
            authorize_as: None,
            setup_pat_enabled: false,
            device_throttle: DeviceThrottle::new(DEFAULT_DEVICE_RATE),
        }
    }

    /// Makes the keyring and the admin API wait for the stand-in key pairs being made after start-up.
    pub fn wait_for_key_pairs(&mut self, ready: crate::authentik::oauth2::KeyPairsReady) {
        self.keyring = Keyring::waiting_for(ready);
    }

    /// Turns the admin API on.
    pub fn enable_admin(&mut self, admin: AdminState) {
        self.admin = Some(admin);
    }

    /// Turns response validation on.
    pub fn enable_validation(&mut self, validator: &'static ResponseValidator) {
        self.validator = Some(validator);
    }

    /// The current time, moved by the clock offset, at the precision both upstreams store (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        let offset = TimeDelta::try_seconds(self.clock_offset()).unwrap_or_default();
        (Utc::now() + offset).trunc_subsecs(6)
    }

    /// A clock that follows this context's offset, for background tasks that outlive a borrow of it.
    pub fn clock(&self) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
        let offset = self.clock_offset.clone();
        move || {
            let offset = TimeDelta::try_seconds(offset.load(Ordering::Relaxed)).unwrap_or_default();
            (Utc::now() + offset).trunc_subsecs(6)
        }
    }

    /// Seconds added to the wall clock.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    pub fn set_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
    }

    pub(super) fn authentik(&self) -> Authentik<'_> {
        Authentik::new(&*self.store, self.now()).with_limits(self.limits)
    }

    pub(super) fn oauth2(&self) -> OAuth2<'_> {
        OAuth2 {
            store: &*self.store,
            now: self.now(),
            keyring: &self.keyring,
            authorize_as: self.authorize_as.as_deref(),
        }
    }

    pub(super) fn flows(&self) -> Flows<'_> {
        Flows { store: &*self.store, now: self.now(), oauth2: self.oauth2() }
    }

    pub(super) fn netbird(&self) -> NetBird<'_> {
        NetBird::new(&*self.store, self.now()).with_limits(self.limits)
    }
}
