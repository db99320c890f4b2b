//! Fault injection: rules per operationId (or `*`) adding latency, errors and dropped connections.
//!
//! Each rule owns a `StdRng` seeded with its `seed`, and draws from it in a fixed order per matching request
//! (latency if a range, then drop, then error), so the same sequence of requests replays the same faults.
//! Admin operations are never faulted, so faults can always be turned off again; which operations are admin
//! ones is the spec's knowledge, so `http/` hands it in ([`Faults::new`]) and converts the wire rules.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The operationId that matches every non-admin operation.
pub const ALL_OPERATIONS: &str = "*";

/// One rule: the fields of the spec's `FaultRule` (spec/tokenstack.yaml), which `http/` converts to and from.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// An operationId, or [`ALL_OPERATIONS`].
    pub operation_id: String,
    pub latency_ms: Option<i64>,
    pub latency_max_ms: Option<i64>,
    pub error_rate: Option<f64>,
    pub error_status: Option<i32>,
    pub drop_rate: Option<f64>,
    pub seed: Option<i64>,
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("rule {index}: {message}")]
    Invalid { index: usize, message: String },
}

/// What to do to one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub latency: Duration,
    pub drop: bool,
    pub error_status: Option<u16>,
}

impl Decision {
    pub fn is_none(&self) -> bool {
        self.latency.is_zero() && !self.drop && self.error_status.is_none()
    }
}

/// Default status of injected errors.
pub const DEFAULT_ERROR_STATUS: u16 = 503;

struct ArmedRule {
    rule: FaultRule,
    rng: StdRng,
}

/// The rules in force; empty (off) at first.
pub struct Faults {
    active: AtomicBool,
    rules: Mutex<Vec<ArmedRule>>,
    /// Whether an operationId names an admin operation, never faulted.
    is_admin: fn(&str) -> bool,
}

impl Faults {
    /// No rules; `is_admin` tells the operations never faulted.
    pub fn new(is_admin: fn(&str) -> bool) -> Faults {
        Faults { active: AtomicBool::new(false), rules: Mutex::new(Vec::new()), is_admin }
    }

    /// Replaces every rule, reseeding each generator; an empty list turns injection off.
    pub fn set(&self, rules: Vec<FaultRule>) -> Result<(), FaultError> {
        for (index, rule) in rules.iter().enumerate() {
            validate(rule).map_err(|message| FaultError::Invalid { index, message })?;
        }
        let armed: Vec<ArmedRule> = rules
            .into_iter()
            .map(|rule| ArmedRule { rng: StdRng::seed_from_u64(rule.seed.unwrap_or(0) as u64), rule })
            .collect();
        let mut guard = self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.active.store(!armed.is_empty(), Ordering::Release);
        *guard = armed;
        Ok(())
    }

    /// The rules in force.
    pub fn rules(&self) -> Vec<FaultRule> {
        let guard = self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.iter().map(|armed| armed.rule.clone()).collect()
    }

    /// The faults for one request of `operation_id`: latencies add up, the first drop or error wins.
    pub fn decide(&self, operation_id: &str) -> Decision {
        let mut decision = Decision::default();
        if !self.active.load(Ordering::Acquire) || (self.is_admin)(operation_id) {
            return decision;
        }
        let mut guard = self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for armed in guard.iter_mut() {
            let rule = &armed.rule;
            if rule.operation_id != ALL_OPERATIONS && rule.operation_id != operation_id {
                continue;
            }
            let rng = &mut armed.rng;
            // Validated: 0 to 60 000 ms.
            let low = rule.latency_ms.unwrap_or(0).max(0) as u64;
            let latency = match rule.latency_max_ms.map(|high| high.max(0) as u64) {
                Some(high) if high > low => rng.random_range(low..=high),
                _ => low,
            };
            decision.latency += Duration::from_millis(latency);
            if let Some(rate) = rule.drop_rate
                && rng.random::<f64>() < rate
                && decision.error_status.is_none()
            {
                decision.drop = true;
            }
            if let Some(rate) = rule.error_rate
                && rng.random::<f64>() < rate
                && !decision.drop
                && decision.error_status.is_none()
            {
                let status = rule.error_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(DEFAULT_ERROR_STATUS);
                decision.error_status = Some(status);
            }
        }
        decision
    }
}

fn validate(rule: &FaultRule) -> Result<(), String> {
    if rule.operation_id.is_empty() {
        return Err("operation_id must be an operationId or *".to_string());
    }
    for (name, rate) in [("error_rate", rule.error_rate), ("drop_rate", rule.drop_rate)] {
        if let Some(rate) = rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("{name} must be between 0 and 1"));
        }
    }
    if rule.latency_ms.unwrap_or(0) < 0 || rule.latency_max_ms.unwrap_or(0) < 0 {
        return Err("latency must not be negative".to_string());
    }
    if let Some(status) = rule.error_status
        && !(400..=599).contains(&status)
    {
        return Err("error_status must be between 400 and 599".to_string());
    }
    if let (Some(low), Some(high)) = (rule.latency_ms, rule.latency_max_ms)
        && high < low
    {
        return Err("latency_max_ms must not be below latency_ms".to_string());
    }
    if rule.latency_ms.unwrap_or(0).max(rule.latency_max_ms.unwrap_or(0)) > 60_000 {
        return Err("latency must not exceed 60000 ms".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(|operation_id| operation_id.starts_with("admin_"))
    }

    fn rule(operation_id: &str) -> FaultRule {
        FaultRule {
            operation_id: operation_id.to_string(),
            latency_ms: None,
            latency_max_ms: None,
            error_rate: None,
            error_status: None,
            drop_rate: None,
            seed: Some(7),
        }
    }

    #[test]
    fn off_by_default_and_never_for_admin() {
        let faults = faults();
        assert!(faults.decide("core_tokens_list").is_none());
        faults.set(vec![FaultRule { error_rate: Some(1.0), ..rule("*") }]).unwrap();
        assert_eq!(faults.decide("core_tokens_list").error_status, Some(503));
        assert!(faults.decide("admin_faults_update").is_none());
    }

    #[test]
    fn same_seed_same_sequence() {
        let draw = || {
            let faults = faults();
            let r =
                FaultRule { error_rate: Some(0.5), latency_ms: Some(1), latency_max_ms: Some(50), ..rule("healthz") };
            faults.set(vec![r]).unwrap();
            (0..64).map(|_| faults.decide("healthz")).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        let errors = first.iter().filter(|d| d.error_status.is_some()).count();
        assert!((16..=48).contains(&errors), "{errors} of 64");
        assert!(first.iter().any(|d| d.latency != first[0].latency));
    }

    #[test]
    fn refuses_bad_rules() {
        let faults = faults();
        assert!(faults.set(vec![FaultRule { error_rate: Some(1.5), ..rule("*") }]).is_err());
        assert!(faults.set(vec![FaultRule { error_status: Some(200), ..rule("*") }]).is_err());
        assert!(faults.set(vec![FaultRule { latency_ms: Some(-1), ..rule("*") }]).is_err());
        assert!(faults.rules().is_empty());
    }
}
