//! What a provider registers: which database, and which table or query in it.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::LakeError;

/// The database product a source speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SqlDialect {
    /// PostgreSQL (and compatible servers).
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl SqlDialect {
    pub fn label(self) -> &'static str {
        match self {
            SqlDialect::Postgres => "PostgreSQL",
            SqlDialect::Mysql => "MySQL",
        }
    }

    fn accepts_scheme(self, scheme: &str) -> bool {
        match self {
            SqlDialect::Postgres => matches!(scheme, "postgres" | "postgresql"),
            SqlDialect::Mysql => matches!(scheme, "mysql" | "mariadb"),
        }
    }
}

/// What is read: a table (or view), or a provider-written query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SqlRelation {
    /// A table or view. `schema` is the PostgreSQL schema or the MySQL
    /// database; without it PostgreSQL uses the search path and MySQL the
    /// URL's database.
    Table {
        #[serde(default)]
        schema: Option<String>,
        table: String,
    },
    /// One read-only `SELECT` (or `WITH … SELECT`), read as a derived table.
    Query { sql: String },
}

/// A database source read in place (逻辑接入).
///
/// `Debug` shows the URL without its password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SqlSourceSpec {
    pub dialect: SqlDialect,
    /// `postgres://user:password@host:port/database` or
    /// `mysql://user:password@host:port/database`.
    pub url: String,
    pub relation: SqlRelation,
}

impl fmt::Debug for SqlSourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSourceSpec")
            .field("dialect", &self.dialect)
            .field("url", &self.redacted_url())
            .field("relation", &self.relation)
            .finish()
    }
}

const MASK: &str = "***";

impl SqlSourceSpec {
    /// Checks what can be checked without connecting.
    pub fn validate(&self) -> Result<(), LakeError> {
        let url = self.parsed_url()?;
        match &self.relation {
            SqlRelation::Table { schema, table } => {
                check_identifier("relation.table", table)?;
                match schema {
                    Some(schema) => check_identifier("relation.schema", schema)?,
                    None if self.dialect == SqlDialect::Mysql && url_database(&url).is_none() => {
                        return Err(LakeError::invalid(
                            "relation.schema",
                            "name the table's database: the URL names none",
                        ));
                    }
                    None => {}
                }
            }
            SqlRelation::Query { sql } => check_query(sql, self.dialect)
                .map_err(|message| LakeError::invalid("relation.sql", message))?,
        }
        Ok(())
    }

    /// The URL as the API may show it: the password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        let Ok(mut url) = Url::parse(&self.url) else {
            return "<invalid URL>".to_owned();
        };
        if url.password().is_some() && url.set_password(Some(MASK)).is_err() {
            return format!("{}://<redacted>", url.scheme());
        }
        // sqlx also takes the password from the query string.
        if url.query_pairs().any(|(key, _)| key == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(key, value)| {
                    let value = if key == "password" { MASK.to_owned() } else { value.into_owned() };
                    (key.into_owned(), value)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.into()
    }

    /// `host:port` for messages.
    pub(crate) fn endpoint(&self) -> String {
        match Url::parse(&self.url) {
            Ok(url) => {
                let port = url.port().unwrap_or(match self.dialect {
                    SqlDialect::Postgres => 5432,
                    SqlDialect::Mysql => 3306,
                });
                format!("{}:{port}", url.host_str().unwrap_or_default())
            }
            Err(_) => self.redacted_url(),
        }
    }

    pub(crate) fn user(&self) -> String {
        Url::parse(&self.url).map(|url| url.username().to_owned()).unwrap_or_default()
    }

    fn parsed_url(&self) -> Result<Url, LakeError> {
        let url = Url::parse(&self.url).map_err(|e| LakeError::invalid("url", format!("not a URL: {e}")))?;
        if !self.dialect.accepts_scheme(url.scheme()) {
            let expected = match self.dialect {
                SqlDialect::Postgres => "postgres://",
                SqlDialect::Mysql => "mysql://",
            };
            return Err(LakeError::invalid(
                "url",
                format!("a {} source needs a {expected} URL, not {}://", self.dialect.label(), url.scheme()),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(LakeError::invalid("url", "the URL names no host"));
        }
        Ok(url)
    }
}

fn url_database(url: &Url) -> Option<&str> {
    Some(url.path().trim_start_matches('/')).filter(|db| !db.is_empty())
}

fn check_identifier(field: &str, name: &str) -> Result<(), LakeError> {
    if name.is_empty() {
        return Err(LakeError::invalid(field, "must not be empty"));
    }
    if name.contains('\0') {
        return Err(LakeError::invalid(field, "must not contain a NUL character"));
    }
    Ok(())
}

/// Accepts one `SELECT` or `WITH` statement.
///
/// This is a guard for clear messages, not the only defence: scans also run
/// the query as a derived table, through the prepared-statement protocol (one
/// statement only) and in a read-only transaction. To stay on the safe side a
/// `;` is refused even inside comments; only string literals and quoted
/// identifiers may hold one.
fn check_query(sql: &str, dialect: SqlDialect) -> Result<(), String> {
    if sql.contains('\0') {
        return Err("the query contains a NUL character".to_owned());
    }
    let bytes = sql.as_bytes();
    let mysql = dialect == SqlDialect::Mysql;
    let mut first_token = None;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let next = if starts_line_comment(rest, dialect) {
            let end = rest.iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n);
            no_semicolon(&bytes[i..end])?;
            end
        } else if rest.starts_with(b"/*") {
            if mysql && (rest.starts_with(b"/*!") || rest.starts_with(b"/*M!")) {
                return Err("executable comments (/*! … */) are not allowed".to_owned());
            }
            let end = block_comment_end(bytes, i, dialect)?;
            no_semicolon(&bytes[i..end])?;
            end
        } else {
            let byte = bytes[i];
            if first_token.is_none() && !byte.is_ascii_whitespace() {
                first_token = Some(i);
            }
            match byte {
                b';' => return Err(one_statement()),
                b'\'' => quoted_end(bytes, i, mysql || is_escape_string_prefix(bytes, i))?,
                // A string in MySQL, an identifier in PostgreSQL.
                b'"' => quoted_end(bytes, i, mysql)?,
                b'`' if mysql => quoted_end(bytes, i, false)?,
                b'$' if !mysql => dollar_quoted_end(bytes, i)?,
                _ => i + 1,
            }
        };
        i = next;
    }
    let start = first_token.ok_or("the query is empty")?;
    let word_len = bytes[start..].iter().take_while(|&&b| is_identifier_byte(b)).count();
    let word = &sql[start..start + word_len];
    if word.eq_ignore_ascii_case("select") || word.eq_ignore_ascii_case("with") {
        Ok(())
    } else {
        Err("the query must be a SELECT statement (or WITH … SELECT)".to_owned())
    }
}

fn one_statement() -> String {
    "the query must be one statement: remove the ';'".to_owned()
}

fn no_semicolon(comment: &[u8]) -> Result<(), String> {
    if comment.contains(&b';') {
        Err(one_statement())
    } else {
        Ok(())
    }
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn starts_line_comment(rest: &[u8], dialect: SqlDialect) -> bool {
    match dialect {
        SqlDialect::Postgres => rest.starts_with(b"--"),
        // MySQL needs whitespace after `--`: `1--1` is arithmetic.
        SqlDialect::Mysql => {
            rest.starts_with(b"#")
                || (rest.starts_with(b"--")
                    && rest.get(2).is_none_or(|&b| b.is_ascii_whitespace() || b.is_ascii_control()))
        }
    }
}

/// Index after the comment starting at `start`; PostgreSQL comments nest.
fn block_comment_end(bytes: &[u8], start: usize, dialect: SqlDialect) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"/*" if depth == 0 || dialect == SqlDialect::Postgres => {
                depth += 1;
                i += 2;
            }
            b"*/" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => i += 1,
        }
    }
    Err("unterminated comment".to_owned())
}

/// PostgreSQL's `E'…'` strings take backslash escapes.
fn is_escape_string_prefix(bytes: &[u8], quote: usize) -> bool {
    quote >= 1
        && matches!(bytes[quote - 1], b'e' | b'E')
        && (quote < 2 || !is_identifier_byte(bytes[quote - 2]))
}

/// Index after the literal or identifier opened at `start`; the quote is
/// escaped by doubling it, or by a backslash where `backslash` is set.
fn quoted_end(bytes: &[u8], start: usize, backslash: bool) -> Result<usize, String> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    Err(format!("unterminated {} literal", quote as char))
}

/// Index after a `$tag$…$tag$` string opened at `start`, or after the `$`
/// when it opens none (a parameter like `$1`, or part of an identifier).
fn dollar_quoted_end(bytes: &[u8], start: usize) -> Result<usize, String> {
    if start > 0 && is_identifier_byte(bytes[start - 1]) {
        return Ok(start + 1);
    }
    let tag_len = bytes[start + 1..]
        .iter()
        .enumerate()
        .take_while(|&(n, &b)| {
            (b.is_ascii_alphabetic() || b == b'_' || b >= 0x80) || (n > 0 && b.is_ascii_digit())
        })
        .count();
    let close = start + 1 + tag_len;
    if bytes.get(close) != Some(&b'$') {
        return Ok(start + 1);
    }
    let tag = &bytes[start..=close];
    bytes[close + 1..]
        .windows(tag.len())
        .position(|window| window == tag)
        .map(|n| close + 1 + n + tag.len())
        .ok_or_else(|| "unterminated $-quoted string".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(dialect: SqlDialect, sql: &str) -> Result<(), String> {
        check_query(sql, dialect)
    }

    #[test]
    fn accepts_single_selects() {
        for dialect in [SqlDialect::Postgres, SqlDialect::Mysql] {
            assert_eq!(query(dialect, "  select 1"), Ok(()));
            assert_eq!(query(dialect, "/* note */ WITH a AS (SELECT 1) SELECT * FROM a"), Ok(()));
            assert_eq!(query(dialect, "-- header\nSELECT ';' AS semi"), Ok(()));
            assert_eq!(query(dialect, "SELECT 'O''Brien; x'"), Ok(()));
        }
        assert_eq!(query(SqlDialect::Postgres, "SELECT $$a;b$$, $tag$;$tag$, \"x;y\""), Ok(()));
        assert_eq!(query(SqlDialect::Postgres, "SELECT E'\\';'"), Ok(()));
        assert_eq!(query(SqlDialect::Mysql, "SELECT 'a\\';', `x;y`, \"p;q\""), Ok(()));
    }

    #[test]
    fn refuses_other_statements() {
        let pg = SqlDialect::Postgres;
        let my = SqlDialect::Mysql;
        assert!(query(pg, "SELECT 1; DROP TABLE t").is_err());
        assert!(query(pg, "SELECT 1;").is_err());
        assert!(query(pg, "/* ; */ SELECT 1").is_err());
        assert!(query(pg, "DELETE FROM t").is_err());
        assert!(query(pg, "selectx 1").is_err());
        assert!(query(pg, "").is_err());
        // Standard strings take no backslash escape: the string ends before `;`.
        assert!(query(pg, "SELECT 'a\\'; DROP TABLE t; --'").is_err());
        assert!(query(pg, "SELECT $$ ' $$; DROP TABLE t; '").is_err());
        assert!(query(pg, "SELECT 1 -- it's\n; DROP TABLE t; -- '").is_err());
        assert!(query(my, "SELECT 1 # it's\n; DROP TABLE t; -- '").is_err());
        assert!(query(my, "SELECT 1--1; DROP TABLE t").is_err());
        assert!(query(my, "SELECT /*! 1; DROP TABLE t */").is_err());
        assert!(query(pg, "SELECT 'open").is_err());
    }

    fn spec(dialect: SqlDialect, url: &str) -> SqlSourceSpec {
        SqlSourceSpec {
            dialect,
            url: url.to_owned(),
            relation: SqlRelation::Table { schema: None, table: "t".to_owned() },
        }
    }

    #[test]
    fn redacts_passwords() {
        let s = spec(
            SqlDialect::Postgres,
            "postgres://u:s3cret@db.example:5433/gov?password=s3cret&sslmode=require",
        );
        let shown = s.redacted_url();
        assert_eq!(shown, "postgres://u:***@db.example:5433/gov?password=***&sslmode=require");
        assert!(!format!("{s:?}").contains("s3cret"));
        assert_eq!(spec(SqlDialect::Mysql, "mysql://u@h/db").redacted_url(), "mysql://u@h/db");
    }

    #[test]
    fn validates_urls() {
        let field = |s: SqlSourceSpec| match s.validate() {
            Err(LakeError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(field(spec(SqlDialect::Mysql, "postgres://u@h/db")), "url");
        assert_eq!(field(spec(SqlDialect::Postgres, "postgres:///db")), "url");
        assert_eq!(field(spec(SqlDialect::Mysql, "mysql://u@h")), "relation.schema");
        assert!(spec(SqlDialect::Mysql, "mariadb://u:p@h:3307/db").validate().is_ok());
    }

    #[test]
    fn relation_json_is_tagged_and_strict() {
        let relation: SqlRelation = serde_json::from_str(r#"{"kind":"table","table":"t"}"#).unwrap();
        assert_eq!(relation, SqlRelation::Table { schema: None, table: "t".to_owned() });
        assert!(serde_json::from_str::<SqlRelation>(r#"{"kind":"table","table":"t","x":1}"#).is_err());
        assert!(serde_json::from_str::<SqlRelation>(r#"{"kind":"query","sql":"SELECT 1"}"#).is_ok());
    }
}
