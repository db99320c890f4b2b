//! Databases written by main at 353153d, before resources by declaration (fixtures/make.sh says how): opened by
//! today's stores, which migrate them, every row reads back as that binary exported it, and the new tables work.

use std::path::Path;

use serde_json::Value;
use sqlx::{Connection as _, Executor as _};
use tokenstack_pg_cluster::PgCluster;
use tokenstack_server::model::{AkGroup, AkUser, NbGroup};
use tokenstack_server::seed::SeedFile;
use tokenstack_server::store::{Field, Store};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/server/fixtures").join(name)
}

/// The state as the admin API exports it, with what 353153d exported for the same database.
async fn reads_back_whole(store: &dyn Store, expected: &str) {
    let exported = SeedFile::from_snapshot(store.export().await.expect("export")).expect("a seed document");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixture(expected)).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(exported).unwrap(), expected);
    let group = store.insert(NbGroup::new("g1", "acc", "All")).await.expect("the migrated schema has nb_groups");
    assert_eq!(store.get::<NbGroup>(Field::Id, "g1").await.unwrap(), group);
    // Migration 0009 made the group alice's row embedded a row of its own.
    let admins = store.get::<AkGroup>(Field::Name, "authentik Admins").await.expect("the group is a row");
    let alice = store.get::<AkUser>(Field::Username, "alice").await.unwrap();
    assert_eq!(alice.groups, vec![admins.clone()]);
    assert!(admins.is_superuser);
}

/// Columns of `ak_users` at 353153d, to copy alice into carol.
const USER_COLUMNS: &str = "name, name_lc, email, email_lc, is_active, is_superuser, path, user_type, uuid, \
                            date_joined, last_login, last_updated";

/// Before groups were rows, two users could hold one group name under two pks (a seed without pks did); after
/// migration 0009 they share one group, the copy of the lower user pk.
async fn one_group_per_name(store: &dyn Store) {
    let admins = store.get::<AkGroup>(Field::Name, "authentik Admins").await.expect("one row");
    let carol = store.get::<AkUser>(Field::Username, "carol").await.expect("carol");
    let alice = store.get::<AkUser>(Field::Username, "alice").await.expect("alice");
    assert_eq!((carol.groups.clone(), alice.groups), (vec![admins.clone()], vec![admins]));
    assert!(carol.is_effective_superuser());
    assert_eq!(store.export().await.unwrap().ak_groups.len(), 1);
}

#[tokio::test]
async fn a_sqlite_database_of_main_353153d() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokenstack.db");
    std::fs::copy(fixture("main-353153d.sqlite"), &db).unwrap();
    let store = tokenstack_server::store::open(&format!("sqlite:{}", db.display())).await.expect("opens and migrates");
    reads_back_whole(&*store, "main-353153d.sqlite.json").await;
    store.close().await;
}

#[tokio::test]
async fn a_sqlite_database_whose_users_hold_one_group_name_under_two_pks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokenstack.db");
    std::fs::copy(fixture("main-353153d.sqlite"), &db).unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display())).await.unwrap();
    let copy = format!(
        "INSERT INTO ak_users (pk, username, username_lc, data, {USER_COLUMNS}) SELECT 99, 'carol', 'carol', \
         json_set(data, '$.pk', 99, '$.username', 'carol', '$.groups[0].pk', '{}'), {USER_COLUMNS} \
         FROM ak_users WHERE username = 'alice'",
        uuid::Uuid::new_v4()
    );
    conn.execute(sqlx::raw_sql(&copy)).await.expect("carol is alice's copy");
    conn.close().await.ok();
    let store = tokenstack_server::store::open(&format!("sqlite:{}", db.display())).await.expect("opens and migrates");
    one_group_per_name(&*store).await;
    store.close().await;
}

#[tokio::test]
async fn a_postgres_database_of_main_353153d() {
    let cluster = PgCluster::start().unwrap();
    let url = cluster.create_database("fixture").unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let dump = std::fs::read_to_string(fixture("main-353153d.pg.sql")).unwrap();
    conn.execute(sqlx::raw_sql(&dump)).await.expect("the dump loads");
    conn.close().await.ok();
    let store = tokenstack_server::store::open(&url).await.expect("opens and migrates");
    reads_back_whole(&*store, "main-353153d.pg.json").await;
    store.close().await;
}

#[tokio::test]
async fn a_postgres_database_whose_users_hold_one_group_name_under_two_pks() {
    let cluster = PgCluster::start().unwrap();
    let url = cluster.create_database("fixture").unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let dump = std::fs::read_to_string(fixture("main-353153d.pg.sql")).unwrap();
    conn.execute(sqlx::raw_sql(&dump)).await.expect("the dump loads");
    let copy = format!(
        "INSERT INTO public.ak_users (pk, username, username_lc, data, {USER_COLUMNS}) SELECT 99, 'carol', 'carol', \
         jsonb_set(jsonb_set(jsonb_set(data::jsonb, '{{pk}}', '99'), '{{username}}', '\"carol\"'), \
         '{{groups,0,pk}}', '\"{}\"')::text, {USER_COLUMNS} FROM public.ak_users WHERE username = 'alice'",
        uuid::Uuid::new_v4()
    );
    conn.execute(sqlx::raw_sql(&copy)).await.expect("carol is alice's copy");
    conn.close().await.ok();
    let store = tokenstack_server::store::open(&url).await.expect("opens and migrates");
    one_group_per_name(&*store).await;
    store.close().await;
}
