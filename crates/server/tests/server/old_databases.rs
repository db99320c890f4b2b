//! Databases written by main at 353153d, before resources by declaration (fixtures/make.sh says how): opened by
//! today's stores, which migrate them, every row reads back as that binary exported it, and the new tables work.

use std::path::Path;

use serde_json::Value;
use sqlx::{Connection as _, Executor as _};
use tokenstack_server::model::NbGroup;
use tokenstack_server::seed::SeedFile;
use tokenstack_server::store::{Field, Store};

use crate::support::PgCluster;

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
async fn a_postgres_database_of_main_353153d() {
    let cluster = PgCluster::start();
    let url = cluster.create_database("fixture").await;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let dump = std::fs::read_to_string(fixture("main-353153d.pg.sql")).unwrap();
    conn.execute(sqlx::raw_sql(&dump)).await.expect("the dump loads");
    conn.close().await.ok();
    let store = tokenstack_server::store::open(&url).await.expect("opens and migrates");
    reads_back_whole(&*store, "main-353153d.pg.json").await;
    store.close().await;
}
