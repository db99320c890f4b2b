//! `GET /root/config/` (`authentik/api/v3/config.py ConfigView`): the public configuration a fresh authentik
//! answers with its default settings (`authentik/lib/default.yml`). Anyone may read it (`AllowAny`), but a
//! credential that is sent is checked first, as DRF authenticates before it checks permissions.

use super::*;

/// `ConfigSerializer`'s values.
#[derive(Debug, Clone, PartialEq)]
pub struct RootConfig {
    pub error_reporting_enabled: bool,
    pub sentry_dsn: &'static str,
    pub environment: &'static str,
    pub send_pii: bool,
    pub traces_sample_rate: f64,
    /// None: tokenstack serves no API a capability unlocks (media, GeoIP, impersonation, debug, enterprise).
    pub capabilities: Vec<&'static str>,
    pub cache_timeout: i64,
    pub cache_timeout_flows: i64,
    pub cache_timeout_policies: i64,
}

/// The defaults of `error_reporting.*` and `cache.*` in `authentik/lib/default.yml`.
pub const DEFAULT_CONFIG: RootConfig = RootConfig {
    error_reporting_enabled: false,
    sentry_dsn: "https://151ba72610234c4c97c5bcff4e1cffd8@authentik.error-reporting.a7k.io/4504163677503489",
    environment: "customer",
    send_pii: false,
    traces_sample_rate: 0.1,
    capabilities: Vec::new(),
    cache_timeout: 300,
    cache_timeout_flows: 300,
    cache_timeout_policies: 300,
};

impl Authentik<'_> {
    /// `root_config_retrieve`: no credential (or a header that strips to one word, which `TokenAuthentication`
    /// reads as none) is anonymous and allowed; any other credential must authenticate, or it is the 403 it
    /// would be anywhere else.
    pub async fn root_config(&self, header: Option<&str>) -> Result<RootConfig, AkError> {
        match self.authenticate(header).await {
            Ok(_) => Ok(DEFAULT_CONFIG),
            Err(AkError::Forbidden(message)) if message == MSG_NOT_PROVIDED => Ok(DEFAULT_CONFIG),
            Err(e) => Err(e),
        }
    }
}
