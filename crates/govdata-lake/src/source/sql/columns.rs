//! Connecting to a source and finding its columns' Arrow types.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deltalake::arrow::datatypes::{DataType, TimeUnit};
use sqlx::error::DatabaseError;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Column, Connection, Executor, Statement, TypeInfo};

use super::render::{from_clause, quote_identifier};
use super::spec::{SqlDialect, SqlRelation, SqlSourceSpec};
use crate::LakeError;

/// How long connecting may take before the source counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Per table: reads are few and long, and the source is someone else's server.
const MAX_CONNECTIONS: u32 = 4;
const MYSQL_EPOCH: &str = "'1970-01-01 00:00:00'";

/// How a value travels from the driver to an Arrow builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    Text,
    Bytes,
}

/// One column of the relation.
#[derive(Debug, Clone)]
pub(crate) struct SourceColumn {
    pub name: String,
    pub data_type: DataType,
    /// The type the source reports, for messages.
    pub source_type: String,
    /// The quoted column name.
    pub ident: String,
    /// The SQL selected for it: `ident` or a conversion of it that the driver
    /// decodes as `wire`.
    pub read: String,
    pub wire: Wire,
}

impl SourceColumn {
    pub fn select_item(&self) -> String {
        if self.read == self.ident {
            self.ident.clone()
        } else {
            format!("{} AS {}", self.read, self.ident)
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum SourcePool {
    Postgres(PgPool),
    Mysql(MySqlPool),
}

/// Connects once to check the credentials and read the columns, then keeps a
/// lazily connecting pool for scans.
pub(crate) async fn connect(spec: &SqlSourceSpec) -> Result<(SourcePool, Vec<SourceColumn>), LakeError> {
    spec.validate()?;
    match spec.dialect {
        SqlDialect::Postgres => {
            let options = PgConnectOptions::from_str(&spec.url).map_err(|e| url_error(&e))?;
            let mut conn = within_timeout(spec, PgConnection::connect_with(&options)).await?;
            let columns = pg_columns(&mut conn, spec).await;
            close(conn).await;
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            Ok((SourcePool::Postgres(pool), columns?))
        }
        SqlDialect::Mysql => {
            // sqlx turns `||` into concatenation by default; a provider's query
            // must mean what it means in their own client.
            let options =
                MySqlConnectOptions::from_str(&spec.url).map_err(|e| url_error(&e))?.pipes_as_concat(false);
            let mut conn = within_timeout(spec, MySqlConnection::connect_with(&options)).await?;
            let columns = mysql_columns(&mut conn, spec).await;
            close(conn).await;
            let pool = MySqlPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            Ok((SourcePool::Mysql(pool), columns?))
        }
    }
}

async fn close<C: Connection>(conn: C) {
    // The probe is done; a failed goodbye changes nothing.
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "closing the probe connection failed");
    }
}

fn url_error(error: &sqlx::Error) -> LakeError {
    LakeError::invalid("url", format!("not a usable database URL: {error}"))
}

async fn within_timeout<C>(
    spec: &SqlSourceSpec,
    connecting: impl Future<Output = Result<C, sqlx::Error>>,
) -> Result<C, LakeError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(connect_error(spec, &error)),
        Err(_) => Err(LakeError::SourceUnavailable(format!(
            "{} at {} did not answer within {} s",
            spec.dialect.label(),
            spec.endpoint(),
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// What a database error means for the caller.
enum Failure {
    Credentials,
    NoDatabase,
    NoSchema,
    NoTable,
    Denied,
    Other,
}

fn classify(error: &dyn DatabaseError) -> Failure {
    if let Some(mysql) = error.try_downcast_ref::<MySqlDatabaseError>() {
        return match mysql.number() {
            1045 | 1698 => Failure::Credentials,
            1049 => Failure::NoDatabase,
            1146 => Failure::NoTable,
            1044 | 1142 | 1143 => Failure::Denied,
            _ => Failure::Other,
        };
    }
    match error.code().as_deref() {
        Some("28P01" | "28000") => Failure::Credentials,
        Some("3D000") => Failure::NoDatabase,
        Some("3F000") => Failure::NoSchema,
        Some("42P01") => Failure::NoTable,
        Some("42501") => Failure::Denied,
        _ => Failure::Other,
    }
}

/// Messages name the host and user, never the password.
fn connect_error(spec: &SqlSourceSpec, error: &sqlx::Error) -> LakeError {
    let server = format!("{} at {}", spec.dialect.label(), spec.endpoint());
    match error {
        sqlx::Error::Database(db) => match classify(db.as_ref()) {
            Failure::Credentials => LakeError::SourceUnavailable(format!(
                "{server} refused user \"{}\": {}",
                spec.user(),
                db.message()
            )),
            Failure::NoDatabase => LakeError::invalid("url", db.message()),
            _ => LakeError::SourceUnavailable(format!("{server}: {}", db.message())),
        },
        sqlx::Error::Io(io) => LakeError::SourceUnavailable(format!("cannot reach {server}: {io}")),
        sqlx::Error::Tls(tls) => LakeError::SourceUnavailable(format!("TLS with {server} failed: {tls}")),
        other => LakeError::SourceUnavailable(format!("cannot connect to {server}: {other}")),
    }
}

fn relation_field(relation: &SqlRelation) -> &'static str {
    match relation {
        SqlRelation::Table { .. } => "relation.table",
        SqlRelation::Query { .. } => "relation.sql",
    }
}

fn relation_label(spec: &SqlSourceSpec) -> String {
    match &spec.relation {
        SqlRelation::Table { .. } => format!("table {}", from_clause(spec.dialect, &spec.relation)),
        SqlRelation::Query { .. } => "the query".to_owned(),
    }
}

/// An error from reading the relation's shape.
fn probe_error(spec: &SqlSourceSpec, error: &sqlx::Error) -> LakeError {
    let sqlx::Error::Database(db) = error else {
        return connect_error(spec, error);
    };
    let field = relation_field(&spec.relation);
    let is_table = matches!(spec.relation, SqlRelation::Table { .. });
    match classify(db.as_ref()) {
        Failure::NoTable if is_table => {
            LakeError::invalid(field, format!("{} does not exist", relation_label(spec)))
        }
        Failure::NoSchema | Failure::NoDatabase if is_table => {
            LakeError::invalid("relation.schema", db.message())
        }
        Failure::Denied => LakeError::SourceUnavailable(format!(
            "user \"{}\" may not read {}: {}",
            spec.user(),
            relation_label(spec),
            db.message()
        )),
        _ => LakeError::invalid(field, db.message()),
    }
}

fn check_names(spec: &SqlSourceSpec, columns: &[SourceColumn]) -> Result<(), LakeError> {
    let field = relation_field(&spec.relation);
    if columns.is_empty() {
        return Err(LakeError::invalid(field, format!("{} has no columns", relation_label(spec))));
    }
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|earlier| earlier.name == column.name) {
            return Err(LakeError::invalid(
                field,
                format!("column name \"{}\" appears twice; give the columns distinct aliases", column.name),
            ));
        }
    }
    Ok(())
}

/// Prepares the full read so that a column the conversions cannot handle
/// is refused now, by name, rather than failing every scan.
///
/// Boxed: with the executor bound as an assumption here, the future is
/// `Send` once and for all; unboxed, callers could not prove it for every
/// lifetime.
fn check_reads<'a, C>(
    spec: &'a SqlSourceSpec,
    conn: &'a mut C,
    columns: &'a [SourceColumn],
) -> futures::future::BoxFuture<'a, Result<(), LakeError>>
where
    C: Send,
    for<'c> &'c mut C: Executor<'c>,
{
    Box::pin(async move {
        let from = from_clause(spec.dialect, &spec.relation);
        let list: Vec<String> = columns.iter().map(SourceColumn::select_item).collect();
        let Err(error) = (&mut *conn).prepare(&format!("SELECT {} FROM {from}", list.join(", "))).await
        else {
            return Ok(());
        };
        let blame_a_column = match &error {
            sqlx::Error::Database(db) => !matches!(classify(db.as_ref()), Failure::Denied),
            _ => false,
        };
        if blame_a_column {
            for column in columns {
                let read = format!("SELECT {} FROM {from}", column.select_item());
                let failure = match (&mut *conn).prepare(&read).await {
                    Err(sqlx::Error::Database(db)) => Some(db.message().to_owned()),
                    _ => None,
                };
                if let Some(reason) = failure {
                    return Err(LakeError::invalid(
                        relation_field(&spec.relation),
                        format!(
                            "column \"{}\" of type {} cannot be read: {}",
                            column.name, column.source_type, reason
                        ),
                    ));
                }
            }
        }
        Err(probe_error(spec, &error))
    })
}

async fn pg_columns(conn: &mut PgConnection, spec: &SqlSourceSpec) -> Result<Vec<SourceColumn>, LakeError> {
    let probe = format!("SELECT * FROM {}", from_clause(spec.dialect, &spec.relation));
    let statement = (&mut *conn).prepare(&probe).await.map_err(|e| probe_error(spec, &e))?;
    let mut columns = Vec::with_capacity(statement.columns().len());
    for column in statement.columns() {
        let type_name = column.type_info().name();
        // The row description's type modifier is not exposed by sqlx; the
        // catalog has it for columns that come straight from a table.
        let numeric = match (type_name, column.relation_id(), column.relation_attribute_no()) {
            ("NUMERIC", Some(table), Some(attribute)) => numeric_typmod(conn, table, attribute)
                .await
                .map_err(|e| probe_error(spec, &e))?
                .and_then(numeric_precision),
            _ => None,
        };
        columns.push(pg_column(column.name(), type_name, numeric));
    }
    check_names(spec, &columns)?;
    check_reads(spec, conn, &columns).await?;
    Ok(columns)
}

async fn numeric_typmod(
    conn: &mut PgConnection,
    table: Oid,
    attribute: i16,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar("SELECT atttypmod FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2")
        .bind(table)
        .bind(attribute)
        .fetch_optional(conn)
        .await
}

/// `numeric(p, s)` from its type modifier, when Decimal128 holds it.
fn numeric_precision(typmod: i32) -> Option<(u8, i8)> {
    let packed = typmod.checked_sub(4)?;
    let precision = (packed >> 16) & 0xffff;
    // 11 bits, negative scales (PostgreSQL 15) have the high bit set.
    let scale = packed & 0x7ff;
    if (1..=38).contains(&precision) && scale <= precision {
        Some((u8::try_from(precision).ok()?, i8::try_from(scale).ok()?))
    } else {
        None
    }
}

fn pg_column(name: &str, type_name: &str, numeric: Option<(u8, i8)>) -> SourceColumn {
    let ident = quote_identifier(SqlDialect::Postgres, name);
    let as_text = format!("CAST({ident} AS text)");
    // Dates and times travel as integers (days, epoch microseconds): exact,
    // independent of the session's date style, and without sqlx's date features.
    let micros = format!("CAST(EXTRACT(EPOCH FROM {ident}) * 1000000 AS bigint)");
    let (data_type, read, wire) = match (type_name, numeric) {
        ("BOOL", _) => (DataType::Boolean, ident.clone(), Wire::Bool),
        ("INT2", _) => (DataType::Int16, ident.clone(), Wire::I16),
        ("INT4", _) => (DataType::Int32, ident.clone(), Wire::I32),
        ("INT8", _) => (DataType::Int64, ident.clone(), Wire::I64),
        ("FLOAT4", _) => (DataType::Float32, ident.clone(), Wire::F32),
        ("FLOAT8", _) => (DataType::Float64, ident.clone(), Wire::F64),
        ("NUMERIC", Some((p, s))) => (DataType::Decimal128(p, s), as_text, Wire::Text),
        ("TEXT" | "VARCHAR", _) => (DataType::Utf8, ident.clone(), Wire::Text),
        ("DATE", _) => (DataType::Date32, format!("({ident} - DATE '1970-01-01')"), Wire::I32),
        ("TIMESTAMP", _) => (DataType::Timestamp(TimeUnit::Microsecond, None), micros, Wire::I64),
        ("TIMESTAMPTZ", _) => {
            (DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), micros, Wire::I64)
        }
        ("TIME", _) => (DataType::Time64(TimeUnit::Microsecond), micros, Wire::I64),
        ("BYTEA", _) => (DataType::Binary, ident.clone(), Wire::Bytes),
        // Every PostgreSQL type has a text form: char(n), uuid, json, enums,
        // intervals, arrays, unconstrained numeric, ...
        _ => (DataType::Utf8, as_text, Wire::Text),
    };
    let source_type = match numeric {
        Some((p, s)) => format!("{type_name}({p},{s})"),
        None => type_name.to_owned(),
    };
    SourceColumn { name: name.to_owned(), data_type, source_type, ident, read, wire }
}

/// A MySQL column type, from `information_schema` or from the driver.
#[derive(Debug)]
struct MysqlType {
    /// Lower case, without modifiers: `int`, `varchar`, `decimal`, ...
    base: String,
    unsigned: bool,
    /// For `decimal(p, s)`; unknown for query columns.
    decimal: Option<(i64, i64)>,
}

impl MysqlType {
    /// From a driver type name such as `INT UNSIGNED` or `BOOLEAN`.
    fn from_driver(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        let (base, unsigned) = match lower.strip_suffix(" unsigned") {
            Some(base) => (base, true),
            None => (lower.as_str(), false),
        };
        // The driver calls TINYINT(1) BOOLEAN.
        let base = if base == "boolean" { "tinyint" } else { base };
        MysqlType { base: base.to_owned(), unsigned, decimal: None }
    }

    fn label(&self) -> String {
        let mut label = self.base.clone();
        if let Some((p, s)) = self.decimal {
            label = format!("{label}({p},{s})");
        }
        if self.unsigned {
            label.push_str(" unsigned");
        }
        label
    }
}

/// A row of MySQL's `information_schema.COLUMNS`.
#[derive(sqlx::FromRow)]
struct CatalogColumn {
    name: String,
    data_type: String,
    column_type: String,
    precision: Option<i64>,
    scale: Option<i64>,
}

impl CatalogColumn {
    fn into_type(self) -> (String, MysqlType) {
        let base = self.data_type.to_ascii_lowercase();
        let decimal = match (base.as_str(), self.precision, self.scale) {
            ("decimal", Some(p), Some(s)) => Some((p, s)),
            _ => None,
        };
        // `int(10) unsigned zerofill`: the data type alone does not say.
        let unsigned = self.column_type.to_ascii_lowercase().contains("unsigned");
        (self.name, MysqlType { base, unsigned, decimal })
    }
}

async fn mysql_columns(
    conn: &mut MySqlConnection,
    spec: &SqlSourceSpec,
) -> Result<Vec<SourceColumn>, LakeError> {
    let types: Vec<(String, MysqlType)> = match &spec.relation {
        // The catalog knows decimal precision, which the driver does not expose.
        SqlRelation::Table { schema, table } => {
            let rows: Vec<CatalogColumn> = sqlx::query_as(
                "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(DATA_TYPE AS CHAR) AS data_type, \
                 CAST(COLUMN_TYPE AS CHAR) AS column_type, CAST(NUMERIC_PRECISION AS SIGNED) AS `precision`, \
                 CAST(NUMERIC_SCALE AS SIGNED) AS scale \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
            )
            .bind(schema.as_deref())
            .bind(table)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| probe_error(spec, &e))?;
            if rows.is_empty() {
                return Err(LakeError::invalid(
                    "relation.table",
                    format!(
                        "{} does not exist or is not visible to user \"{}\"",
                        relation_label(spec),
                        spec.user()
                    ),
                ));
            }
            rows.into_iter().map(CatalogColumn::into_type).collect()
        }
        SqlRelation::Query { .. } => {
            let probe = format!("SELECT * FROM {}", from_clause(spec.dialect, &spec.relation));
            let statement = (&mut *conn).prepare(&probe).await.map_err(|e| probe_error(spec, &e))?;
            statement
                .columns()
                .iter()
                .map(|column| (column.name().to_owned(), MysqlType::from_driver(column.type_info().name())))
                .collect()
        }
    };
    let columns: Vec<SourceColumn> = types.iter().map(|(name, ty)| mysql_column(name, ty)).collect();
    check_names(spec, &columns)?;
    check_reads(spec, conn, &columns).await?;
    Ok(columns)
}

fn mysql_column(name: &str, ty: &MysqlType) -> SourceColumn {
    let ident = quote_identifier(SqlDialect::Mysql, name);
    let signed = format!("CAST({ident} AS SIGNED)");
    let as_char = format!("CAST({ident} AS CHAR)");
    // As for PostgreSQL, dates and times travel as days or epoch microseconds.
    let micros = format!("TIMESTAMPDIFF(MICROSECOND, {MYSQL_EPOCH}, {ident})");
    // Unsigned widens to the next signed type; the cast makes the driver
    // decode it as signed.
    let int = |data_type| {
        let read = if ty.unsigned { signed.clone() } else { ident.clone() };
        (data_type, read, Wire::I64)
    };
    let (data_type, read, wire) = match (ty.base.as_str(), ty.unsigned) {
        // Not Boolean: BOOL is TINYINT(1), which holds -128..127 too.
        ("tinyint", false) => int(DataType::Int8),
        ("tinyint", true) | ("smallint", false) => int(DataType::Int16),
        ("smallint", true) | ("mediumint", _) | ("int" | "integer", false) => int(DataType::Int32),
        ("int" | "integer", true) | ("bigint", false) => int(DataType::Int64),
        ("bigint", true) => (DataType::Decimal128(20, 0), as_char, Wire::Text),
        ("float", _) => (DataType::Float32, ident.clone(), Wire::F32),
        ("double" | "real", _) => (DataType::Float64, ident.clone(), Wire::F64),
        ("decimal" | "numeric", _) => match ty.decimal.and_then(decimal_type) {
            Some(data_type) => (data_type, as_char, Wire::Text),
            None => (DataType::Utf8, as_char, Wire::Text),
        },
        (
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" | "json",
            _,
        ) => (DataType::Utf8, ident.clone(), Wire::Text),
        ("date", _) => (DataType::Date32, format!("DATEDIFF({ident}, {MYSQL_EPOCH})"), Wire::I64),
        ("datetime", _) => (DataType::Timestamp(TimeUnit::Microsecond, None), micros, Wire::I64),
        // Sessions run with time_zone '+00:00', so TIMESTAMP values read as UTC.
        ("timestamp", _) => {
            (DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), micros, Wire::I64)
        }
        ("year", _) => (DataType::Int16, signed, Wire::I64),
        // TIME is a duration up to ±838 hours, not a time of day.
        ("time", _) => (DataType::Utf8, as_char, Wire::Text),
        ("binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob", _) => {
            (DataType::Binary, ident.clone(), Wire::Bytes)
        }
        ("bit", _) => (DataType::Binary, format!("CAST({ident} AS BINARY)"), Wire::Bytes),
        (
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" | "geomcollection",
            _,
        ) => (DataType::Utf8, format!("ST_AsText({ident})"), Wire::Text),
        _ => (DataType::Utf8, as_char, Wire::Text),
    };
    SourceColumn { name: name.to_owned(), data_type, source_type: ty.label(), ident, read, wire }
}

fn decimal_type((precision, scale): (i64, i64)) -> Option<DataType> {
    let precision = u8::try_from(precision).ok().filter(|p| (1..=38).contains(p))?;
    let scale = i8::try_from(scale).ok().filter(|&s| s >= 0 && s.unsigned_abs() <= precision)?;
    Some(DataType::Decimal128(precision, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_numeric_type_modifiers() {
        let typmod = |p: i32, s: i32| ((p << 16) | s) + 4;
        assert_eq!(numeric_precision(typmod(12, 2)), Some((12, 2)));
        assert_eq!(numeric_precision(typmod(38, 0)), Some((38, 0)));
        assert_eq!(numeric_precision(typmod(39, 2)), None);
        assert_eq!(numeric_precision(-1), None);
        // numeric(5, -2): the scale's sign bit is set.
        assert_eq!(numeric_precision(typmod(5, 0x7fe)), None);
    }

    #[test]
    fn maps_mysql_driver_names() {
        let ty = MysqlType::from_driver("INT UNSIGNED");
        assert_eq!((ty.base.as_str(), ty.unsigned), ("int", true));
        assert_eq!(mysql_column("a", &ty).data_type, DataType::Int64);
        assert_eq!(mysql_column("b", &MysqlType::from_driver("BOOLEAN")).data_type, DataType::Int8);
        assert_eq!(mysql_column("c", &MysqlType::from_driver("DECIMAL")).data_type, DataType::Utf8);
        assert_eq!(
            mysql_column("d", &MysqlType::from_driver("BIGINT UNSIGNED")).data_type,
            DataType::Decimal128(20, 0)
        );
    }
}
