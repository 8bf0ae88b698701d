//! Test support shared by every crate's tests (feature `testing`): a fresh,
//! empty PostgreSQL database per test, and a fresh prefix of an S3 bucket
//! per test.
//!
//! PostgreSQL tests need `TEST_POSTGRES_URL`, the URL of a server whose user
//! may create databases (`scripts/test.sh` starts one). Without it they are
//! skipped — unless `TEST_REQUIRE_POSTGRES=1`, when they fail, so CI cannot
//! pass by skipping them. S3 tests likewise need `TEST_S3_URL` (an existing
//! bucket, `s3://name`) and `TEST_S3_ENDPOINT`, or fail under
//! `TEST_REQUIRE_S3=1`.

use std::collections::BTreeMap;

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
    Some(crate::postgres_server::ensure_database(&server, &name).await.expect("create a database"))
}

/// A lake location under a fresh prefix of the test bucket, with the
/// object_store settings that reach it; `None` when S3 tests are skipped.
pub fn fresh_s3_prefix() -> Option<(String, BTreeMap<String, String>)> {
    let (Ok(bucket), Ok(endpoint)) = (std::env::var("TEST_S3_URL"), std::env::var("TEST_S3_ENDPOINT")) else {
        assert!(
            std::env::var("TEST_REQUIRE_S3").as_deref() != Ok("1"),
            "TEST_REQUIRE_S3=1 but TEST_S3_URL or TEST_S3_ENDPOINT is not set"
        );
        eprintln!("skipped: TEST_S3_URL is not set (scripts/test.sh starts an S3 server)");
        return None;
    };
    let url = format!("{}/{}", bucket.trim_end_matches('/'), uuid::Uuid::new_v4().simple());
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
    ];
    Some((url, options.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
}
