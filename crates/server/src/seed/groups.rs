//! The groups of a seed: its `groups` list and the groups its users name, made rows, and each user's groups
//! copies of those rows (membership lives in the users' rows, `AkUser::groups`).

use crate::model::{AkGroup, AkUser};

/// The group rows of a seed: its `groups`, then every group a user names that none of them is (a user's group
/// is the listed one with its pk, else with its name); each user's groups become copies of those rows.
pub(super) fn group_rows(listed: Vec<AkGroup>, users: &mut [AkUser]) -> Vec<AkGroup> {
    let mut rows = listed;
    for user in users.iter_mut() {
        let mut groups: Vec<AkGroup> = Vec::with_capacity(user.groups.len());
        for copy in user.groups.drain(..) {
            let row = match rows
                .iter()
                .position(|g| g.pk == copy.pk)
                .or_else(|| rows.iter().position(|g| g.name == copy.name))
            {
                Some(i) => rows[i].clone(),
                None => {
                    rows.push(copy.clone());
                    copy
                }
            };
            if !groups.iter().any(|g| g.pk == row.pk) {
                groups.push(row);
            }
        }
        user.groups = groups;
    }
    rows
}
