//! Prometheus metrics: requests by operationId and status, request latency, store errors, token counts,
//! injected faults, response-validation failures and refused passwords.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The registry and every metric tokenstack exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    store_errors: IntCounter,
    tokens: IntGaugeVec,
    faults: IntCounterVec,
    violations: IntCounterVec,
    grants: IntCounterVec,
    failed_logins: IntCounter,
    /// When the token gauges were last read from the store.
    tokens_read: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long the token gauges are served before a scrape reads the store again: counting the tokens of a
/// durable store is a scan, and `/metrics` needs no credentials, so scrapes are not allowed to drive it.
pub const TOKEN_GAUGE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// Buckets from 50 µs to 1 s: token lookups are fast, so the low end matters.
const LATENCY_BUCKETS: &[f64] = &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("tokenstack_requests_total", "HTTP requests answered, by operationId and status"),
            &["operation_id", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("tokenstack_request_duration_seconds", "Time spent in the handler, by operationId")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation_id"],
        )
        .expect("valid metric");
        let store_errors =
            IntCounter::new("tokenstack_store_errors_total", "Requests that failed because the store failed")
                .expect("valid metric");
        let tokens = IntGaugeVec::new(Opts::new("tokenstack_tokens", "Stored tokens, by kind"), &["kind"])
            .expect("valid metric");
        let faults = IntCounterVec::new(
            Opts::new(
                "tokenstack_injected_faults_total",
                "Faults injected, by operationId and kind (latency, error, drop)",
            ),
            &["operation_id", "kind"],
        )
        .expect("valid metric");
        let violations = IntCounterVec::new(
            Opts::new(
                "tokenstack_response_violations_total",
                "Responses that failed validation against the spec, by operationId",
            ),
            &["operation_id"],
        )
        .expect("valid metric");
        let grants = IntCounterVec::new(
            Opts::new(
                "tokenstack_oauth2_grants_total",
                "Token endpoint answers, by grant type (authorization_code, refresh_token, client_credentials, \
                 password, other) and status",
            ),
            &["grant", "status"],
        )
        .expect("valid metric");
        let failed_logins = IntCounter::new(
            "tokenstack_failed_logins_total",
            "Passwords the flow executor and the flow pages refused (authentik's password stage)",
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(store_errors.clone()),
            Box::new(tokens.clone()),
            Box::new(faults.clone()),
            Box::new(violations.clone()),
            Box::new(grants.clone()),
            Box::new(failed_logins.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        let tokens_read = std::sync::Mutex::new(None);
        Metrics {
            registry,
            requests,
            latency,
            store_errors,
            tokens,
            faults,
            violations,
            grants,
            failed_logins,
            tokens_read,
        }
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, operation_id: &str, status: u16, elapsed: Duration) {
        self.requests.with_label_values(&[operation_id, status.to_string().as_str()]).inc();
        self.latency.with_label_values(&[operation_id]).observe(elapsed.as_secs_f64());
        if status >= 500 {
            self.store_errors.inc();
        }
    }

    /// Counts one injected fault of `kind` (latency, error, drop).
    pub fn fault(&self, operation_id: &str, kind: &str) {
        self.faults.with_label_values(&[operation_id, kind]).inc();
    }

    /// Counts one answer of the OAuth2 token endpoint.
    pub fn grant(&self, grant: &str, status: u16) {
        self.grants.with_label_values(&[grant, status.to_string().as_str()]).inc();
    }

    /// Counts one refused password.
    pub fn failed_login(&self) {
        self.failed_logins.inc();
    }

    /// Counts one response that failed validation.
    pub fn violation(&self, operation_id: &str) {
        self.violations.with_label_values(&[operation_id]).inc();
    }

    /// Sets the gauge of stored tokens of one kind.
    /// Whether this scrape should read the token counts from the store (the first in every
    /// [`TOKEN_GAUGE_MAX_AGE`]); claiming it makes the others within that time serve the gauges as they are.
    pub fn claim_token_refresh(&self, now: std::time::Instant) -> bool {
        let Ok(mut last) = self.tokens_read.lock() else { return false };
        match *last {
            Some(at) if now.saturating_duration_since(at) < TOKEN_GAUGE_MAX_AGE => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    pub fn set_tokens(&self, kind: &str, count: u64) {
        self.tokens.with_label_values(&[kind]).set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_counted_at_most_once_per_max_age() {
        let metrics = Metrics::default();
        let start = std::time::Instant::now();
        assert!(metrics.claim_token_refresh(start));
        assert!(!metrics.claim_token_refresh(start + TOKEN_GAUGE_MAX_AGE / 2));
        assert!(metrics.claim_token_refresh(start + TOKEN_GAUGE_MAX_AGE));
    }

    #[test]
    fn counts_requests_by_operation_and_status() {
        let metrics = Metrics::default();
        metrics.observe("core_tokens_list", 200, Duration::from_micros(80));
        metrics.observe("core_tokens_list", 200, Duration::from_micros(90));
        metrics.observe("core_tokens_list", 500, Duration::from_micros(90));
        metrics.set_tokens("authentik_core", 3);
        metrics.fault("healthz", "drop");
        let text = metrics.render();
        assert!(
            text.contains(r#"tokenstack_requests_total{operation_id="core_tokens_list",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains("tokenstack_store_errors_total 1"), "{text}");
        assert!(text.contains(r#"tokenstack_tokens{kind="authentik_core"} 3"#), "{text}");
        assert!(text.contains("tokenstack_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains(r#"tokenstack_injected_faults_total{kind="drop",operation_id="healthz"} 1"#), "{text}");
    }
}
