//! Test support shared by every crate's tests (feature `testing`): a fresh,
//! empty PostgreSQL database per test.
//!
//! PostgreSQL tests need `TEST_POSTGRES_URL`, the URL of a server whose user
//! may create databases (`scripts/test.sh` starts one). Without it they are
//! skipped — unless `TEST_REQUIRE_POSTGRES=1`, when they fail, so CI cannot
//! pass by skipping them.

use sqlx::Connection;

/// Whether PostgreSQL tests can run; panics when they are required but cannot.
pub fn postgres_available() -> bool {
    if std::env::var("TEST_POSTGRES_URL").is_ok() {
        return true;
    }
    assert!(
        std::env::var("TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "TEST_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set"
    );
    eprintln!("skipped: TEST_POSTGRES_URL is not set (scripts/test.sh starts PostgreSQL)");
    false
}

/// Creates an empty database on the test server and returns its URL, or
/// `None` when PostgreSQL tests are skipped.
pub async fn fresh_postgres_database() -> Option<String> {
    if !postgres_available() {
        return None;
    }
    let server = std::env::var("TEST_POSTGRES_URL").expect("checked above");
    let name = format!("govdata_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server).await.expect("connect to TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server.as_str(), String::new()),
    };
    let (prefix, _) = base.rsplit_once('/').expect("URL has a database path");
    Some(format!("{prefix}/{name}{query}"))
}
