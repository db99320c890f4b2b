//! NetBird group operations through the generated client: the `All` group of every account, create, the name
//! filter, retrieve, update and delete, upstream's validation order and error bodies (delete's unlowered 400s),
//! and the `groups` role matrix.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ADMIN_PAT, AUDITOR_PAT, NETADMIN_PAT, SERVICE_PAT, TestServer, USER_ROLE_PAT, error_of};

/// A PAT of `stranger`, the owner of another account in [`other_account`]'s seed.
const STRANGER_PAT: &str = "nbp_xnyIvr51bJROXM8kCHS0EdTv165jVQ0R2btX";

fn group(name: &str) -> types::builder::NetbirdGroupRequest {
    types::NetbirdGroupRequest::builder().name(name)
}

/// The example seed's NetBird users plus `stranger`, owner of the account `acme`.
fn other_account() -> serde_json::Value {
    json!({"netbird": {"users": [
        {"id": "auditor", "role": "auditor", "pats": [{"name": "ci", "token": AUDITOR_PAT}]},
        {"id": "stranger", "account_id": "acme", "role": "owner", "pats": [{"name": "ci", "token": STRANGER_PAT}]},
    ]}})
}

#[tokio::test]
async fn every_account_lists_its_all_group_and_create_returns_the_group() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let listed = owner.netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let all = &listed[0];
    assert_eq!((all.name.as_str(), all.issued, all.id.len()), ("All", Some(types::NetbirdGroupIssued::Api), 20));
    assert!(all.id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')), "an xid: {}", all.id);
    assert_eq!((all.peers.len(), all.peers_count, all.resources.len(), all.resources_count), (0, 0, 0, 0));

    let body = group("devs").peers(vec!["chacbco6lnnbn6cg5s90".to_string()]);
    let devs = owner.netbird_groups_create().body(body).send().await.expect("create").into_inner();
    assert_eq!((devs.name.as_str(), devs.issued, devs.id.len()), ("devs", Some(types::NetbirdGroupIssued::Api), 20));
    // The peer is no peer of the account (tokenstack has none), so it is not listed, as upstream's response.
    assert_eq!((devs.peers.len(), devs.peers_count), (0, 0));
    assert_ne!(devs.id, all.id);

    let listed = owner.netbird_groups_list().send().await.expect("list").into_inner();
    let names: Vec<&str> = listed.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["All", "devs"]);
    let ops = owner.netbird_groups_create().body(group("ops")).send().await.expect("create").into_inner();
    let listed = owner.netbird_groups_list().send().await.expect("list").into_inner();
    let ids: Vec<&str> = listed.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, [all.id.as_str(), devs.id.as_str(), ops.id.as_str()]);

    // `?name=` is an exact match, answered as a list of one.
    let named = owner.netbird_groups_list().name("devs").send().await.expect("by name").into_inner();
    assert_eq!(named.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [devs.id.as_str()]);
    let named = owner.netbird_groups_list().name("All").send().await.expect("by name").into_inner();
    assert_eq!(named[0].id, all.id);
    let missing = owner.netbird_groups_list().name("Devs").send().await;
    assert_eq!(error_of(missing), (404, json!({"message": "group: devs not found", "code": 404})));

    // The wire form: every key of `Group`, the counts as integers and the lists as arrays.
    let (status, raw) = server.raw(Method::GET, "/api/groups", Some(&format!("Token {ADMIN_PAT}")), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        raw[0],
        json!({"id": all.id, "name": "All", "issued": "api", "peers": [], "peers_count": 0, "resources": [],
               "resources_count": 0})
    );
}

#[tokio::test]
async fn create_validates_as_upstream_then_refuses_a_name_the_account_has() {
    let server = TestServer::start().await;
    let auth = format!("Token {ADMIN_PAT}");
    let cases = [
        (r#"{"name": ""}"#, 422, "group name shouldn't be empty"),
        ("{}", 422, "group name shouldn't be empty"),
        ("null", 422, "group name shouldn't be empty"),
        (r#"{"name": null, "peers": null, "resources": null}"#, 422, "group name shouldn't be empty"),
        (r#"{"name": 5}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "x", "peers": "p1"}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "x", "resources": [{"id": 1, "type": "host"}]}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "x", "resources": ["r1"]}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "x", "#, 400, "couldn't parse JSON request"),
        ("[]", 400, "couldn't parse JSON request"),
        // Every account has `All`; the message is lower-cased whole, as util.WriteError does.
        (r#"{"name": "All"}"#, 409, "group with name all already exists"),
    ];
    for (body, status, message) in cases {
        let response = server.raw(Method::POST, "/api/groups", Some(&auth), Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{body}");
    }

    let owner = server.netbird(ADMIN_PAT);
    // A resource type none of upstream's four (upstream stores it and cannot write it back in its schema).
    let bad_type = r#"{"name": "x", "resources": [{"id": "r1", "type": "any"}]}"#;
    let response = server.raw(Method::POST, "/api/groups", Some(&auth), Some(bad_type)).await;
    assert_eq!(response, (422, json!({"message": "unknown resource type any", "code": 422})));
    // Go's decoder: keys match case-insensitively, unknown keys are ignored; resources are kept and shown.
    let (status, created) = server
        .raw(
            Method::POST,
            "/api/groups",
            Some(&auth),
            Some(r#"{"NAME": "Devs", "extra": 1, "resources": [{"id": "r1", "type": "host"}]}"#),
        )
        .await;
    assert_eq!((status, created["name"].clone(), created["issued"].clone()), (200, json!("Devs"), json!("api")));
    assert_eq!(
        (created["resources"].clone(), created["resources_count"].clone()),
        (json!([{"id": "r1", "type": "host"}]), json!(1))
    );
    let again = owner.netbird_groups_create().body(group("Devs")).send().await;
    assert_eq!(error_of(again), (409, json!({"message": "group with name devs already exists", "code": 409})));
    // Names are compared exactly (SQL `=`), so another case is another name.
    owner.netbird_groups_create().body(group("devs")).send().await.expect("another case");
    let empty = owner.netbird_groups_create().body(group("")).send().await;
    assert_eq!(error_of(empty), (422, json!({"message": "group name shouldn't be empty", "code": 422})));

    // The handler's empty-name check comes before the manager's permission check.
    let user = server.netbird(USER_ROLE_PAT);
    let empty = user.netbird_groups_create().body(group("")).send().await;
    assert_eq!(error_of(empty).0, 422);
}

#[tokio::test]
async fn role_matrix_of_the_groups_module() {
    let server = TestServer::start().await;
    let denied = (403, json!({"message": "permission denied", "code": 403}));
    // owner, admin and network_admin everything; auditor read; a service user read whatever its role; user nothing.
    let cases =
        [(ADMIN_PAT, true, true), (NETADMIN_PAT, true, true), (AUDITOR_PAT, true, false), (SERVICE_PAT, true, false)];
    for (i, (pat, read, create)) in cases.into_iter().enumerate() {
        let client = server.netbird(pat);
        let listed = client.netbird_groups_list().send().await;
        assert_eq!(listed.is_ok(), read, "{pat} list");
        let created = client.netbird_groups_create().body(group(&format!("g{i}"))).send().await;
        match create {
            true => assert_eq!(created.expect("create").into_inner().name, format!("g{i}")),
            false => assert_eq!(error_of(created), denied, "{pat} create"),
        }
    }
    let user = server.netbird(USER_ROLE_PAT);
    assert_eq!(error_of(user.netbird_groups_list().send().await), denied);
    assert_eq!(error_of(user.netbird_groups_list().name("All").send().await), denied);
    assert_eq!(error_of(user.netbird_groups_create().body(group("mine")).send().await), denied);
    let unauthenticated = server.client("Token nbp_short").netbird_groups_list().send().await;
    assert_eq!(error_of(unauthenticated), (401, json!({"message": "token invalid", "code": 401})));
}

#[tokio::test]
async fn the_all_group_is_stored_per_account_and_kept_by_reset_and_load() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let all = owner.netbird_groups_list().send().await.expect("list").into_inner().remove(0);
    owner.netbird_groups_create().body(group("devs")).send().await.expect("create");

    // Reset goes back to the start-up state: `All` with its id, and nothing else.
    server.reset().await.expect("reset");
    let listed = owner.netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(listed.iter().map(|g| (g.id.as_str(), g.name.as_str())).collect::<Vec<_>>(), [(all.id.as_str(), "All")]);

    // A loaded state brings its accounts, each with its own `All`; groups stay within their account.
    server.load(other_account()).await.expect("load");
    let stranger = server.netbird(STRANGER_PAT);
    let theirs = stranger.netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].name, "All");
    assert_ne!(theirs[0].id, all.id);
    stranger.netbird_groups_create().body(group("devs")).send().await.expect("a name of the other account");
    let ours = owner.netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(ours.iter().map(|g| (g.id.as_str(), g.name.as_str())).collect::<Vec<_>>(), [(all.id.as_str(), "All")]);
    let auditor = server.netbird(AUDITOR_PAT).netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(auditor.len(), 1);
}

#[tokio::test]
async fn retrieve_update_and_delete_a_group_as_upstream() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let all = owner.netbird_groups_list().send().await.expect("list").into_inner().remove(0);
    let devs = owner.netbird_groups_create().body(group("devs")).send().await.expect("create").into_inner();

    let got = owner.netbird_groups_retrieve().group_id(&devs.id).send().await.expect("retrieve").into_inner();
    assert_eq!((got.id.as_str(), got.name.as_str()), (devs.id.as_str(), "devs"));
    let missing = owner.netbird_groups_retrieve().group_id("NoSuchGroup").send().await;
    assert_eq!(error_of(missing), (404, json!({"message": "group: nosuchgroup not found", "code": 404})));

    // PUT replaces name, peers and resources and keeps the id and `issued`; another group's name is not checked.
    let body = types::NetbirdGroupRequest::builder()
        .name("ops")
        .resources(vec![types::Resource { id: "r9".into(), type_: types::ResourceType::Subnet }]);
    let ops = owner.netbird_groups_update().group_id(&devs.id).body(body).send().await.expect("update").into_inner();
    assert_eq!(
        (ops.id.as_str(), ops.name.as_str(), ops.issued),
        (devs.id.as_str(), "ops", Some(types::NetbirdGroupIssued::Api))
    );
    assert_eq!((ops.resources.len(), ops.resources_count), (1, 1));
    let listed = owner.netbird_groups_list().name("ops").send().await.expect("by name").into_inner();
    assert_eq!(listed[0].id, devs.id);
    let other = owner.netbird_groups_create().body(group("other")).send().await.expect("create").into_inner();
    let same = owner.netbird_groups_update().group_id(&devs.id).body(group("other")).send().await;
    assert_eq!(same.expect("no name check").into_inner().name, "other");
    owner.netbird_groups_update().group_id(&devs.id).body(group("devs")).send().await.expect("rename back");
    owner.netbird_groups_destroy().group_id(&other.id).send().await.expect("delete");

    let auth = format!("Token {ADMIN_PAT}");
    let path = format!("/api/groups/{}", devs.id);
    let all_path = format!("/api/groups/{}", all.id);
    let cases = [
        // The group lookup and the `All` check come before the body is decoded.
        (all_path.as_str(), r#"{"name": "x"}"#, 422, "updating group all is not allowed"),
        (all_path.as_str(), "[]", 422, "updating group all is not allowed"),
        ("/api/groups/unknown", "[]", 404, "group: unknown not found"),
        (path.as_str(), "[]", 400, "couldn't parse JSON request"),
        (path.as_str(), r#"{"name": ""}"#, 422, "group name shouldn't be empty"),
        (path.as_str(), r#"{"name": "x", "peers": [1]}"#, 400, "couldn't parse JSON request"),
    ];
    for (path, body, status, message) in cases {
        let response = server.raw(Method::PUT, path, Some(&auth), Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{path} {body}");
    }

    // Delete refusals are 400 with the error's own text, not lower-cased (`errors.Join`, `WriteErrorResponse`).
    let refused = |message: String| (400, json!({"message": message, "code": 400}));
    let gone = owner.netbird_groups_destroy().group_id("NoSuchGroup").send().await;
    assert_eq!(error_of(gone), refused("group: NoSuchGroup not found".into()));
    let all_gone = owner.netbird_groups_destroy().group_id(&all.id).send().await;
    assert_eq!(error_of(all_gone), refused("deleting group ALL is not allowed".into()));
    let resourced = owner.netbird_groups_create().body(
        types::NetbirdGroupRequest::builder()
            .name("with-resource")
            .resources(vec![types::Resource { id: "Res1".into(), type_: types::ResourceType::Host }]),
    );
    let resourced = resourced.send().await.expect("create").into_inner();
    let linked = owner.netbird_groups_destroy().group_id(&resourced.id).send().await;
    assert_eq!(error_of(linked), refused("group has been linked to network resource: Res1".into()));

    // A user's auto_groups hold it: the message names the user.
    let robot = types::NetbirdUserRequest::builder().role("user").is_blocked(false).auto_groups(vec![devs.id.clone()]);
    owner.netbird_users_update().user_id("robot").body(robot).send().await.expect("auto_groups");
    let in_use = owner.netbird_groups_destroy().group_id(&devs.id).send().await;
    assert_eq!(error_of(in_use), refused("group has been linked to user: robot".into()));
    let robot = types::NetbirdUserRequest::builder().role("user").is_blocked(false).auto_groups(Vec::<String>::new());
    owner.netbird_users_update().user_id("robot").body(robot).send().await.expect("auto_groups");

    let deleted = owner.netbird_groups_destroy().group_id(&devs.id).send().await.expect("delete").into_inner();
    assert!(deleted.is_empty());
    let (status, raw) = server.raw(Method::DELETE, &format!("/api/groups/{}", ops.id), Some(&auth), None).await;
    assert_eq!((status, raw), refused(format!("group: {} not found", ops.id)));
    let listed = owner.netbird_groups_list().send().await.expect("list").into_inner();
    assert_eq!(listed.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["All", "with-resource"]);
}

#[tokio::test]
async fn role_matrix_of_retrieve_update_and_delete() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let denied = (403, json!({"message": "permission denied", "code": 403}));
    // (pat, read, write): owner and network_admin everything; auditor and a service user of role user read;
    // user nothing.
    let cases = [
        (ADMIN_PAT, true, true),
        (NETADMIN_PAT, true, true),
        (AUDITOR_PAT, true, false),
        (SERVICE_PAT, true, false),
        (USER_ROLE_PAT, false, false),
    ];
    for (i, (pat, read, write)) in cases.into_iter().enumerate() {
        let target = owner.netbird_groups_create().body(group(&format!("t{i}"))).send().await.expect("create");
        let id = target.into_inner().id;
        let client = server.netbird(pat);
        let got = client.netbird_groups_retrieve().group_id(&id).send().await;
        match read {
            true => assert_eq!(got.expect("retrieve").into_inner().id, id, "{pat}"),
            false => assert_eq!(error_of(got), denied, "{pat} retrieve"),
        }
        let updated = client.netbird_groups_update().group_id(&id).body(group(&format!("u{i}"))).send().await;
        let deleted = client.netbird_groups_destroy().group_id(&id).send().await;
        match write {
            true => {
                assert_eq!(updated.expect("update").into_inner().name, format!("u{i}"), "{pat}");
                deleted.expect("delete");
            }
            false => {
                // The update handler reads the group first: without read, its 403 is the lookup's.
                assert_eq!(error_of(updated), denied, "{pat} update");
                assert_eq!(error_of(deleted), denied, "{pat} delete");
            }
        }
    }
    // Another account's group is unknown here: 404 on read and update, 400 on delete.
    server.load(other_account()).await.expect("load");
    let theirs = server.netbird(STRANGER_PAT).netbird_groups_list().send().await.expect("list").into_inner().remove(0);
    let auditor = server.netbird(AUDITOR_PAT);
    let message = format!("group: {} not found", theirs.id);
    assert_eq!(
        error_of(auditor.netbird_groups_retrieve().group_id(&theirs.id).send().await),
        (404, json!({"message": message, "code": 404}))
    );
}
