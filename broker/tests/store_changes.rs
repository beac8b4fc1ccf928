//! A change of a session's tokens reaches the other replicas with the write itself: one
//! atomic step in SQLite (the change-log row in the write's transaction) and in Redis (the
//! write and its notice in one script), so no replica can read new tokens while its cache
//! was not told, and no notice goes out for a write that did not happen.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestRedis;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore as _;
use valv_broker::config::StoreConfig;
use valv_broker::store::{AnyStore, Invalidation};

fn record(value: &str) -> Record {
    let mut data = HashMap::new();
    data.insert("tokens".to_owned(), serde_json::Value::String(value.to_owned()));
    Record { id: Id::default(), data, expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1) }
}

fn tokens_of(r: &Record) -> &str {
    r.data["tokens"].as_str().unwrap()
}

/// Collects what a store's change channel reports.
fn listen(store: &AnyStore) -> Arc<Mutex<Vec<Invalidation>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    store.set_invalidation_sink(Arc::new(move |i| sink.lock().unwrap().push(i)));
    seen
}

#[tokio::test]
async fn sqlite_a_token_change_and_its_notice_are_one_transaction() {
    let dir = std::env::temp_dir().join(format!("valv-changes-{}", uuid::Uuid::new_v4()));
    let file = dir.join("sessions.db");
    let a = AnyStore::open(&StoreConfig::Sqlite(file.clone())).await.unwrap();
    let b = AnyStore::open(&StoreConfig::Sqlite(file.clone())).await.unwrap();
    let seen = listen(&b);
    let session = Id::default();
    let mut vault = record("old");
    a.create(&mut vault).await.unwrap();
    b.sync().await;
    seen.lock().unwrap().clear();

    // The change log cannot be written (a full disk would do the same): the token change
    // must not happen either, or B would read new tokens its cache was never told about.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    sqlx::query("create trigger broken_log before insert on valv_changes begin select raise(abort, 'log broken'); end")
        .execute(&raw)
        .await
        .unwrap();
    let mut changed = vault.clone();
    changed.data.insert("tokens".to_owned(), serde_json::Value::String("new".to_owned()));
    assert!(a.save_announcing(&changed, &session).await.is_err(), "a token change was made without its notice");
    assert_eq!(tokens_of(&b.load(&vault.id).await.unwrap().unwrap()), "old");
    b.sync().await;
    assert!(seen.lock().unwrap().is_empty(), "a notice without a change: {:?}", seen.lock().unwrap());

    // Once the log works again, the change and its notice arrive together.
    sqlx::query("drop trigger broken_log").execute(&raw).await.unwrap();
    assert!(a.save_announcing(&changed, &session).await.unwrap());
    b.sync().await;
    assert_eq!(*seen.lock().unwrap(), vec![Invalidation::Record(session)]);
    assert_eq!(tokens_of(&b.load(&vault.id).await.unwrap().unwrap()), "new");

    // A record that is gone (logout) is not brought back, and nobody is told of a change.
    a.delete(&vault.id).await.unwrap();
    b.sync().await;
    seen.lock().unwrap().clear();
    assert!(!a.save_announcing(&changed, &session).await.unwrap());
    assert!(b.load(&vault.id).await.unwrap().is_none());
    b.sync().await;
    assert!(seen.lock().unwrap().is_empty(), "{:?}", seen.lock().unwrap());
    raw.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn until(seen: &Mutex<Vec<Invalidation>>, want: Invalidation) {
    for _ in 0..200 {
        if seen.lock().unwrap().contains(&want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{want:?} never reached the other replica: {:?}", seen.lock().unwrap());
}

#[tokio::test]
async fn redis_a_token_change_and_a_delete_carry_their_notice() {
    let Some(redis) = TestRedis::start().await else { return };
    let config = StoreConfig::Redis(redis.url.clone());
    let a = AnyStore::open(&config).await.unwrap();
    let b = AnyStore::open(&config).await.unwrap();
    let seen = listen(&b);
    for _ in 0..200 {
        if b.epoch().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(b.epoch().is_some(), "B's change channel never came up");
    let session = Id::default();
    let mut vault = record("old");
    a.create(&mut vault).await.unwrap();
    let mut changed = vault.clone();
    changed.data.insert("tokens".to_owned(), serde_json::Value::String("new".to_owned()));
    assert!(a.save_announcing(&changed, &session).await.unwrap());
    until(&seen, Invalidation::Record(session)).await;
    assert_eq!(tokens_of(&b.load(&vault.id).await.unwrap().unwrap()), "new");

    a.delete(&vault.id).await.unwrap();
    until(&seen, Invalidation::Record(vault.id)).await;
    seen.lock().unwrap().clear();
    // Gone stays gone, and no notice goes out for a write that did not happen.
    assert!(!a.save_announcing(&changed, &session).await.unwrap());
    assert!(b.load(&vault.id).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(seen.lock().unwrap().is_empty(), "{:?}", seen.lock().unwrap());
}
