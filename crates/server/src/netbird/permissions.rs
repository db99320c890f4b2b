//! The permission module's table (`permissions/roles/*.go`, `modules/module.go`, `GetPermissionsByRole`): every
//! module's read, create, update and delete for each role, as `GET /api/users/current` shows them. The rules of
//! each operation keep their own checks (`pats_permission`, `groups_permission`, …), which this table agrees with.

use std::collections::BTreeMap;

use crate::model::NbRole;

/// `modules.All`.
const MODULES: [&str; 24] = [
    "networks",
    "peers",
    "remote_jobs",
    "groups",
    "settings",
    "accounts",
    "dns",
    "nameservers",
    "events",
    "policies",
    "routes",
    "users",
    "setup_keys",
    "pats",
    "identity_providers",
    "services",
    "agent_network",
    "agent_network.providers",
    "agent_network.policies",
    "agent_network.guardrails",
    "agent_network.budgets",
    "agent_network.usage",
    "agent_network.logs",
    "agent_network.settings",
];

/// `[read, create, update, delete]`.
type Grant = [bool; 4];

const ALL: Grant = [true; 4];
const READ: Grant = [true, false, false, false];
const NONE: Grant = [false; 4];

/// `roles.NetworkAdmin.Permissions`: its explicit grants (everything else is its `AutoAllowNew`, nothing).
fn network_admin(module: &str) -> Option<Grant> {
    match module {
        "networks" | "groups" | "dns" | "nameservers" | "policies" | "routes" | "pats" => Some(ALL),
        "settings" | "accounts" | "events" | "users" | "setup_keys" | "peers" | "identity_providers" => Some(READ),
        _ => None,
    }
}

/// A role's grant on one module: its explicit grant (a submodule inherits its parent's), else `AutoAllowNew`.
fn grant(role: NbRole, module: &str) -> Grant {
    let parent = module.split_once('.').map(|(parent, _)| parent);
    match role {
        NbRole::Owner => ALL,
        NbRole::Admin if module == "accounts" => READ,
        NbRole::Admin => ALL,
        NbRole::NetworkAdmin => network_admin(module).or_else(|| parent.and_then(network_admin)).unwrap_or(NONE),
        NbRole::Auditor => READ,
        NbRole::User => NONE,
    }
}

/// An operation of the permission module (`operations.Operation`) that the rules here check (none of them
/// creates through this table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    Read,
    Update,
    Delete,
}

/// `ValidateUserPermissions` for an active user of the account: service users may always read, everyone else as
/// the role's grant on `module` says.
pub(super) fn allows(user: &crate::model::NbUser, module: &str, op: Operation) -> bool {
    if user.is_service_user && op == Operation::Read {
        return true;
    }
    let [read, _create, update, delete] = grant(user.role, module);
    match op {
        Operation::Read => read,
        Operation::Update => update,
        Operation::Delete => delete,
    }
}

/// `GetPermissionsByRole`: every module, each with its four operations.
pub fn role_permissions(role: NbRole) -> BTreeMap<String, BTreeMap<String, bool>> {
    MODULES
        .iter()
        .map(|module| {
            let [read, create, update, delete] = grant(role, module);
            let ops = [("read", read), ("create", create), ("update", update), ("delete", delete)];
            (module.to_string(), ops.into_iter().map(|(op, allowed)| (op.to_string(), allowed)).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_each_role() {
        let owner = role_permissions(NbRole::Owner);
        assert_eq!(owner.len(), 24);
        assert!(owner.values().all(|ops| ops.len() == 4 && ops.values().all(|allowed| *allowed)));
        let admin = role_permissions(NbRole::Admin);
        assert_eq!(admin["accounts"].values().filter(|allowed| **allowed).count(), 1);
        assert!(admin["setup_keys"]["delete"]);
        let network_admin = role_permissions(NbRole::NetworkAdmin);
        assert!(network_admin["groups"]["delete"] && network_admin["setup_keys"]["read"]);
        assert!(!network_admin["setup_keys"]["create"] && !network_admin["services"]["read"]);
        assert!(!network_admin["agent_network.usage"]["read"]);
        let auditor = role_permissions(NbRole::Auditor);
        assert!(auditor.values().all(|ops| ops["read"] && !ops["create"] && !ops["update"] && !ops["delete"]));
        assert!(role_permissions(NbRole::User).values().all(|ops| ops.values().all(|allowed| !allowed)));
    }
}
