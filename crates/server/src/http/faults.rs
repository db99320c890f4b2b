//! Fault rules on the wire: the admin API's `FaultRule` to and from [`crate::faults::FaultRule`], and which
//! operations the spec tags as admin ones (never faulted).

use tokenstack_api::types;

use crate::faults::FaultRule;

/// The spec's tag of tokenstack's admin operations, which are never faulted.
pub(super) const ADMIN_TAG: &str = "admin";

/// Whether the spec tags `operation_id` as an admin operation.
pub(super) fn is_admin(operation_id: &str) -> bool {
    tokenstack_api::OPERATION_TAGS.iter().any(|(id, tags)| *id == operation_id && tags.contains(&ADMIN_TAG))
}

impl From<types::FaultRule> for FaultRule {
    fn from(rule: types::FaultRule) -> FaultRule {
        let types::FaultRule { operation_id, latency_ms, latency_max_ms, error_rate, error_status, drop_rate, seed } =
            rule;
        FaultRule { operation_id, latency_ms, latency_max_ms, error_rate, error_status, drop_rate, seed }
    }
}

impl From<FaultRule> for types::FaultRule {
    fn from(rule: FaultRule) -> types::FaultRule {
        let FaultRule { operation_id, latency_ms, latency_max_ms, error_rate, error_status, drop_rate, seed } = rule;
        types::FaultRule { operation_id, latency_ms, latency_max_ms, error_rate, error_status, drop_rate, seed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_operations_are_the_spec_tagged_ones() {
        assert!(is_admin("admin_faults_update"));
        assert!(is_admin("admin_reset"));
        assert!(!is_admin("core_tokens_list"));
        assert!(!is_admin("*"));
    }
}
