//! Databases on a PostgreSQL server, for callers that place several stores
//! on one server (the demo federation's nodes, tests).

use sqlx::Connection;

use crate::{Result, StoreError};

/// The database a URL names: its path without the leading slash.
pub fn database_name(url: &str) -> Result<String> {
    let parsed = parse(url)?;
    let name = parsed.path().trim_start_matches('/');
    if name.is_empty() {
        return Err(StoreError::Config("the database url names no database".into()));
    }
    Ok(name.to_owned())
}

/// `url` naming database `name` instead, with its user, host and
/// parameters kept.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let mut parsed = parse(url)?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.into())
}

/// Creates database `name` on the server of `url` unless it exists, and
/// answers its URL. Connects to the server's `postgres` database to do so.
/// `name` is lowercase letters, digits and `_`, at most 63 bytes
/// (PostgreSQL's identifier limit), so it needs no quoting.
pub async fn ensure_database(url: &str, name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(StoreError::Config(format!(
            "database name '{name}': use 1 to 63 lowercase letters, digits and '_', not starting with a digit"
        )));
    }
    let mut conn = sqlx::PgConnection::connect(&with_database(url, "postgres")?).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    }
    conn.close().await?;
    with_database(url, name)
}

fn parse(url: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(url).map_err(|e| StoreError::Config(format!("database url: {e}")))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(StoreError::Config("database url must start with postgres:".into()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_other_databases_and_keep_the_rest() {
        let url = "postgres://govdata:secret@db.example:5433/govdata_demo?sslmode=require";
        assert_eq!(database_name(url).unwrap(), "govdata_demo");
        assert_eq!(
            with_database(url, "govdata_demo_national").unwrap(),
            "postgres://govdata:secret@db.example:5433/govdata_demo_national?sslmode=require"
        );
        assert_eq!(with_database("postgresql://h", "x").unwrap(), "postgresql://h/x");
        assert!(database_name("postgres://h").is_err());
        assert!(database_name("postgres://h/").is_err());
        assert!(database_name("sqlite://x.db").is_err());
        assert!(with_database("not a url", "x").is_err());
    }

    #[tokio::test]
    async fn refuses_names_that_would_need_quoting() {
        for name in ["", "Demo", "a-b", "a;DROP", "1a", &"a".repeat(64)] {
            let error = ensure_database("postgres://127.0.0.1:1/x", name).await.unwrap_err();
            assert!(error.to_string().contains("database name"), "{name}: {error}");
        }
    }
}
