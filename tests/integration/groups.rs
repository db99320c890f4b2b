//! authentik's groups through the generated client: groups are rows with members, users' `groups` name them,
//! every write shows in the members (their `groups_obj`, superuser status and `groups` claim), and bad input
//! gets upstream's 400 and 404 bodies.

use reqwest::Method;
use serde_json::{Value, json};
use tokenstack_client::types;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer, error_of};

const BOB: i64 = 3;
const ALICE: i64 = 2;

fn group(name: &str) -> types::builder::GroupRequest {
    types::GroupRequest::builder().name(name.parse::<types::GroupRequestName>().unwrap())
}

#[tokio::test]
async fn groups_are_rows_whose_members_hold_them() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    // The seed's group, which alice's entry names, is a row with her as its member.
    let seeded = alice.core_groups_list().name("authentik Admins").send().await.unwrap().into_inner();
    assert_eq!((seeded.pagination.count, seeded.results[0].users.clone()), (1.0, vec![ALICE]));
    assert_eq!(seeded.results[0].is_superuser, Some(true));

    let attributes = serde_json::Map::from_iter([("team".to_string(), json!("core"))]);
    let created = alice
        .core_groups_create()
        .body(group("developers").users(vec![BOB]).attributes(attributes))
        .send()
        .await
        .unwrap()
        .into_inner();
    let users_obj = created.users_obj.clone().expect("users_obj by default");
    assert_eq!((created.users.clone(), users_obj[0].username.as_str()), (vec![BOB], "bob"));
    assert_eq!(created.num_pk, created.pk.as_u128().to_string()[..5].parse::<i64>().unwrap(), "upstream's num_pk");
    assert!(created.parents_obj.is_none() && created.children.is_empty());
    let bob = alice.core_users_retrieve().id(BOB).send().await.unwrap().into_inner();
    let bob = serde_json::to_value(bob).unwrap();
    assert_eq!(
        (bob["groups"].clone(), bob["groups_obj"][0]["name"].clone()),
        (json!([created.pk]), json!("developers"))
    );

    // add_user and remove_user, and the member filters.
    let account = |pk: i64| types::UserAccountRequest::builder().pk(pk);
    alice.core_groups_add_user_create().group_uuid(created.pk).body(account(ALICE)).send().await.unwrap();
    let of_alice = alice.core_groups_list().members_by_username("alice").send().await.unwrap().into_inner();
    let names: Vec<&str> = of_alice.results.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["authentik Admins", "developers"]);
    let of_bob = alice.core_groups_list().members_by_pk(BOB).include_users(false).send().await.unwrap().into_inner();
    assert!(of_bob.results.len() == 1 && of_bob.results[0].users_obj.is_none());
    alice.core_groups_remove_user_create().group_uuid(created.pk).body(account(ALICE)).send().await.unwrap();
    let fetched = alice.core_groups_retrieve().group_uuid(created.pk).send().await.unwrap().into_inner();
    assert_eq!(fetched.users, vec![BOB]);

    // A renamed group is renamed in its members' rows; a superuser group makes its members superusers.
    let patch = types::PatchedGroupRequest::builder().name(Some("devs".parse().unwrap())).is_superuser(Some(true));
    let patched = alice.core_groups_partial_update().group_uuid(created.pk).body(patch).send().await.unwrap();
    assert_eq!(patched.into_inner().users, vec![BOB], "a PATCH without users keeps them");
    let bob_client = server.authentik(BOB_KEY);
    let bob_sees = bob_client.core_users_list().send().await.unwrap().into_inner();
    assert!(bob_sees.pagination.count > 1.0, "bob is a superuser through devs: he sees every user");
    let me = bob_client.core_users_me_retrieve().send().await.unwrap().into_inner();
    assert_eq!((me.user.is_superuser, me.user.groups[0].name.as_str()), (true, "devs"));
    let superusers = alice.core_users_list().is_superuser(true).send().await.unwrap().into_inner();
    assert!(superusers.results.iter().any(|u| u.username.as_str() == "bob"));

    // A PUT without users clears them (`users` defaults to a list).
    let put = alice.core_groups_update().group_uuid(created.pk).body(group("devs")).send().await.unwrap();
    assert_eq!((put.into_inner().users, put_superuser(&server, BOB).await), (Vec::new(), false));

    // Membership from the user's side: the user's `groups` name rows.
    let auth = format!("Bearer {ALICE_KEY}");
    let body = json!({"groups": [created.pk]}).to_string();
    let (status, user) = server.raw(Method::PATCH, "/api/v3/core/users/3/", Some(&auth), Some(&body)).await;
    assert_eq!((status, user["groups_obj"][0]["name"].clone()), (200, json!("devs")));
    let fetched = alice.core_groups_retrieve().group_uuid(created.pk).send().await.unwrap().into_inner();
    assert_eq!(fetched.users, vec![BOB]);

    // Deleting a group takes it out of its members' rows.
    alice.core_groups_destroy().group_uuid(created.pk).send().await.unwrap();
    let (_, user) = server.raw(Method::GET, "/api/v3/core/users/3/", Some(&auth), None).await;
    assert_eq!((user["groups_obj"].clone(), user["is_superuser"].clone()), (json!([]), json!(false)), "{user}");
    let (status, body) = error_of(alice.core_groups_retrieve().group_uuid(created.pk).send().await);
    assert_eq!((status, body), (404, json!({"detail": "No Group matches the given query."})));
}

/// Whether the user `pk` is a superuser, as `/core/users/{id}/` shows it.
async fn put_superuser(server: &TestServer, pk: i64) -> bool {
    let auth = format!("Bearer {ALICE_KEY}");
    let (_, user) = server.raw(Method::GET, &format!("/api/v3/core/users/{pk}/"), Some(&auth), None).await;
    user["is_superuser"].as_bool().unwrap()
}

#[tokio::test]
async fn bad_group_input_gets_upstreams_bodies() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {ALICE_KEY}");
    let post = |body: Value| {
        let server = &server;
        let auth = auth.clone();
        async move { server.raw(Method::POST, "/api/v3/core/groups/", Some(&auth), Some(&body.to_string())).await }
    };
    let taken = post(json!({"name": "authentik Admins"})).await;
    assert_eq!(taken, (400, json!({"name": ["Group with this name already exists."]})));
    let unknown = "11112222-3333-4444-5555-666677778888";
    let bad =
        post(json!({"users": [999, "x"], "parents": [unknown], "roles": [unknown], "is_superuser": "maybe"})).await;
    assert_eq!(
        bad,
        (
            400,
            json!({
                "name": ["This field is required."],
                "users": ["Invalid pk \"999\" - object does not exist."],
                "parents": [format!("Invalid pk \"{unknown}\" - object does not exist.")],
                "roles": [format!("Invalid pk \"{unknown}\" - object does not exist.")],
                "is_superuser": ["Must be a valid boolean."],
            })
        )
    );
    let blank = post(json!({"name": "", "users": [2, "x", 999]})).await;
    let wrong_type = json!(["Incorrect type. Expected pk value, received str."]);
    assert_eq!(
        (blank.1["name"].clone(), blank.1["users"].clone()),
        (json!(["This field may not be blank."]), wrong_type)
    );

    let alice = server.authentik(ALICE_KEY);
    let admins = alice.core_groups_list().name("authentik Admins").send().await.unwrap().into_inner().results[0].pk;
    let add = |body: &'static str| {
        let server = &server;
        let auth = auth.clone();
        let path = format!("/api/v3/core/groups/{admins}/add_user/");
        async move { server.raw(Method::POST, &path, Some(&auth), Some(body)).await }
    };
    assert_eq!(add(r#"{"pk": 999}"#).await, (404, json!({"detail": "Not found."})));
    assert_eq!(add(r#"{"pk": "x"}"#).await, (400, json!({"pk": ["A valid integer is required."]})));
    assert_eq!(add("{}").await, (400, json!({"pk": ["This field is required."]})));
    let missing = format!("/api/v3/core/groups/{unknown}/remove_user/");
    let (status, body) = server.raw(Method::POST, &missing, Some(&auth), Some(r#"{"pk": 2}"#)).await;
    assert_eq!((status, body), (404, json!({"detail": "No Group matches the given query."})));

    let (status, body) =
        server.raw(Method::GET, "/api/v3/core/groups/?members_by_username=nobody", Some(&auth), None).await;
    let choice = "Select a valid choice. nobody is not one of the available choices.";
    assert_eq!((status, body), (400, json!({"members_by_username": [choice]})));
    let (status, body) = server
        .raw(Method::PATCH, "/api/v3/core/users/3/", Some(&auth), Some(&json!({"groups": [unknown]}).to_string()))
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"groups": [format!("Invalid pk \"{unknown}\" - object does not exist.")]}))
    );

    // Groups are managed by superusers only.
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let bob = server.authentik(BOB_KEY);
    assert_eq!(error_of(bob.core_groups_list().send().await), (403, forbidden.clone()));
    assert_eq!(error_of(bob.core_groups_create().body(group("mine")).send().await), (403, forbidden));
}

#[tokio::test]
async fn filters_search_ordering_and_related_groups() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let parent = alice.core_groups_create().body(group("parent")).send().await.unwrap().into_inner();
    let child = alice
        .core_groups_create()
        .body(group("child").parents(vec![parent.pk]).attributes(serde_json::Map::from_iter([("k".into(), json!(1))])))
        .send()
        .await
        .unwrap()
        .into_inner();
    let names = |list: types::PaginatedGroupList| list.results.into_iter().map(|g| g.name).collect::<Vec<_>>();
    let all = alice.core_groups_list().ordering("-name").send().await.unwrap().into_inner();
    assert_eq!(names(all), ["readers", "parent", "child", "authentik Admins"]);
    let supers = alice.core_groups_list().is_superuser(true).send().await.unwrap().into_inner();
    assert_eq!(names(supers), ["authentik Admins"]);
    let searched = alice.core_groups_list().search("CHI").send().await.unwrap().into_inner();
    assert_eq!(names(searched), ["child"]);
    let by_attribute = alice.core_groups_list().attributes(r#"{"k": 1}"#).send().await.unwrap().into_inner();
    assert_eq!(names(by_attribute), ["child"]);
    let related = alice
        .core_groups_retrieve()
        .group_uuid(parent.pk)
        .include_children(true)
        .include_parents(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((related.children.clone(), related.children_obj.unwrap()[0].name.as_str()), (vec![child.pk], "child"));
    assert!(related.parents_obj.is_some_and(|parents| parents.is_empty()));
    // Deleting the parent takes it out of its children's parents.
    alice.core_groups_destroy().group_uuid(parent.pk).send().await.unwrap();
    let child = alice.core_groups_retrieve().group_uuid(child.pk).send().await.unwrap().into_inner();
    assert!(child.parents.is_empty());
}

#[tokio::test]
async fn group_membership_shows_in_the_groups_claim() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let auth = format!("Bearer {ALICE_KEY}");
    alice.core_groups_create().body(group("developers").users(vec![ALICE])).send().await.unwrap();
    let redirect = "http://localhost:9999/cb";
    let provider = json!({
        "name": "groups", "client_id": "groups", "client_secret": "groups-secret", "grant_types": ["authorization_code"],
        "redirect_uris": [{"matching_mode": "strict", "url": redirect}],
        "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
        "property_mappings": ["7f1a0010-0000-4000-8000-000000000001", "7f1a0010-0000-4000-8000-000000000003"],
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider.to_string())).await;
    assert_eq!(status, 201, "{created}");
    let app = json!({"name": "groups", "slug": "groups", "provider": created["pk"]}).to_string();
    assert_eq!(server.raw(Method::POST, "/api/v3/core/applications/", Some(&auth), Some(&app)).await.0, 201);

    let tokens = server.code_login(("groups", "groups-secret"), redirect, "openid%20profile", &auth).await;
    let http = reqwest::Client::new();
    let token = |path: &'static str, body: String| {
        let http = http.clone();
        let url = format!("{}{path}", server.base);
        async move {
            let response = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
            response.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let access = tokens["access_token"].as_str().unwrap_or_else(|| panic!("{tokens}")).to_owned();
    let sorted = |claim: &Value| {
        let mut names: Vec<String> = serde_json::from_value(claim.clone()).unwrap_or_else(|_| panic!("{claim}"));
        names.sort();
        names
    };
    let expected = ["authentik Admins", "developers"];
    let provider_pk = created["pk"].as_i64().unwrap();
    let stored = alice.oauth2_access_tokens_list().provider(provider_pk).send().await.unwrap().into_inner();
    let id_token: Value = serde_json::from_str(&stored.results[0].id_token).unwrap();
    assert_eq!(sorted(&id_token["groups"]), expected);
    let userinfo: Value = http
        .get(format!("{}/application/o/userinfo/", server.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sorted(&userinfo["groups"]), expected);
    let introspection =
        token("/application/o/introspect/", format!("token={access}&client_id=groups&client_secret=groups-secret"))
            .await;
    assert_eq!(sorted(&introspection["groups"]), expected, "{introspection}");
}
