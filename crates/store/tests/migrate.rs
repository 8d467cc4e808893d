//! Several nodes starting together on one new PostgreSQL database: the migrations run
//! once, under the migrator's advisory lock, and every node starts. Runs when
//! MOMO_TEST_POSTGRES_URL is set (CI sets it); otherwise says SKIPPED.

use sqlx::Connection;
use store::{PoolSettings, Store};

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    let url = match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("SKIPPED: set MOMO_TEST_POSTGRES_URL to run the concurrent migration test");
            return;
        }
    };
    let name = format!("store_t_{}_{}", std::process::id(), kit_now() % 1_000_000);
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = url.rsplit_once('/').unwrap();
    let db = format!("{prefix}/{name}");

    let mut nodes = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        nodes.push(tokio::spawn(async move {
            let store = Store::connect(&db, &PoolSettings::default()).await.unwrap();
            let done = store.migrate().await;
            store.close().await;
            done
        }));
    }
    for node in nodes {
        node.await.unwrap().expect("every node starts");
    }
    let store = Store::connect(&db, &PoolSettings::default()).await.unwrap();
    let (applied, distinct): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!((applied, distinct), (files, files), "each migration once");
    store.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
}

fn kit_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}
