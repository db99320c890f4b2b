//! `tokenstack_testing::container` against the image `cargo xtask image` built (`TOKENSTACK_IMAGE`), through the
//! Docker API `DOCKER_HOST` names (podman's, in `cargo xtask image --test`).

use std::path::Path;

use tokenstack_testing::container::{Tokenstack, TokenstackContainer};

#[tokio::test]
async fn the_container_is_ready_with_its_credentials_seed_and_admin_api() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let seed = seed.canonicalize().expect("examples/seed.yaml");
    let tokenstack =
        TokenstackContainer::start(Tokenstack::default().with_seed(&seed)).await.expect("container starts");
    let me = tokenstack.superuser().core_users_me_retrieve().send().await.expect("users/me");
    assert_eq!(me.user.username.as_str(), "akadmin");
    let pats = tokenstack.owner().netbird_tokens_list().user_id("admin").send().await.expect("PATs");
    assert_eq!(pats.iter().map(|pat| pat.name.as_str()).collect::<Vec<_>>(), ["bootstrap"]);
    // The mounted seed was loaded; the admin API answers through the container's port.
    let state = tokenstack.admin().admin_state_export().send().await.expect("export").into_inner();
    let state = serde_json::to_value(state).expect("json");
    let users = state["authentik"]["users"].as_array().expect("users");
    assert!(users.iter().any(|user| user["username"] == "alice"), "{users:?}");
    assert!(tokenstack.base_url().starts_with("http://"), "{}", tokenstack.base_url());
}
