//! Logical access (逻辑接入): PostgreSQL and MySQL/MariaDB tables and queries
//! read in place through DataFusion.
//!
//! [`SqlTable::connect`] checks the credentials, reads the relation's columns
//! and maps them to Arrow types. As a DataFusion [`TableProvider`] it pushes
//! the projection, exactly translatable filters and the limit down into one
//! `SELECT`, which a scan streams in batches of the session's `batch_size`
//! inside a read-only transaction. `EXPLAIN` shows that `SELECT`.
//!
//! A query relation is read as a derived table, `SELECT … FROM (<sql>) AS src
//! WHERE …`.
//!
//! # Type mapping
//!
//! Values that sqlx cannot decode natively without extra features are
//! converted in the `SELECT` (shown in the third column), so that no
//! precision is lost and nothing depends on session date styles.
//!
//! PostgreSQL:
//!
//! | PostgreSQL                              | Arrow                         | read as                          |
//! |-----------------------------------------|-------------------------------|----------------------------------|
//! | `bool`                                  | Boolean                       |                                  |
//! | `int2` / `int4` / `int8`                | Int16 / Int32 / Int64         |                                  |
//! | `float4` / `float8`                     | Float32 / Float64             |                                  |
//! | `numeric(p,s)`, p ≤ 38                  | Decimal128(p, s)              | text                             |
//! | `numeric` (unconstrained, p > 38, or computed in a query) | Utf8        | text                             |
//! | `text`, `varchar`                       | Utf8                          |                                  |
//! | `date`                                  | Date32                        | days since 1970-01-01            |
//! | `timestamp`                             | Timestamp(µs, none)           | epoch microseconds               |
//! | `timestamptz`                           | Timestamp(µs, "UTC")          | epoch microseconds               |
//! | `time`                                  | Time64(µs)                    | microseconds since midnight      |
//! | `bytea`                                 | Binary                        |                                  |
//! | anything else: `char(n)`, `name`, `uuid`, `json`, `jsonb`, enums, `interval`, `timetz`, `money`, arrays, … | Utf8 | `CAST(… AS text)` |
//!
//! `numeric(p,s)` precision comes from the catalog, so it is known for table
//! columns and for query columns taken straight from a table; an expression
//! such as `sum(amount)` is unconstrained numeric and reads as text.
//!
//! MySQL / MariaDB:
//!
//! | MySQL                                   | Arrow                         | read as                          |
//! |-----------------------------------------|-------------------------------|----------------------------------|
//! | `tinyint` (also `tinyint(1)` / `BOOL`)  | Int8                          |                                  |
//! | `smallint` / `mediumint` / `int` / `bigint` | Int16 / Int32 / Int32 / Int64 |                              |
//! | unsigned `tinyint` / `smallint` / `mediumint` / `int` | Int16 / Int32 / Int32 / Int64 | `CAST(… AS SIGNED)` |
//! | `bigint unsigned`                       | Decimal128(20, 0)             | text                             |
//! | `float` / `double`                      | Float32 / Float64             |                                  |
//! | `decimal(p,s)`, p ≤ 38, table columns   | Decimal128(p, s)              | text                             |
//! | `decimal` with p > 38, or in a query    | Utf8                          | text                             |
//! | `char`, `varchar`, `*text`, `enum`, `set`, `json` | Utf8                |                                  |
//! | `date`                                  | Date32                        | `DATEDIFF`; zero dates read NULL |
//! | `datetime`                              | Timestamp(µs, none)           | `TIMESTAMPDIFF(MICROSECOND, …)`  |
//! | `timestamp`                             | Timestamp(µs, "UTC")          | same, session time zone UTC      |
//! | `time` (a duration up to ±838 h)        | Utf8                          | text                             |
//! | `year`                                  | Int16                         | `CAST(… AS SIGNED)`              |
//! | `binary`, `varbinary`, `*blob`, `bit(n)`| Binary                        | `bit` as big-endian bytes        |
//! | spatial types                           | Utf8                          | `ST_AsText` (WKT)                |
//! | anything else                           | Utf8                          | `CAST(… AS CHAR)`                |
//!
//! `tinyint(1)` stays Int8 rather than Boolean because MySQL stores any
//! -128..127 in it; mapping it to Boolean would fold 2 into `true`. MySQL
//! does not report decimal precision for query columns, hence text there,
//! and the driver cannot tell a binary-collated text column of a query from
//! `varbinary`, so such columns read as Binary (table columns are exact).
//!
//! A column whose conversion the server refuses is reported by name when
//! connecting (`relation.table` / `relation.sql`).
//!
//! # Filter pushdown
//!
//! Comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`) of a column with a literal of
//! its own type, `IS [NOT] NULL`, `[NOT] IN` lists, `[NOT] BETWEEN`,
//! `[NOT] LIKE`, and `AND` / `OR` / `NOT` of those are translated and marked
//! exact; everything else stays in DataFusion. Literals are rendered per
//! dialect (dates and timestamps as typed literals) and text is compared
//! bytewise, as DataFusion does; the `render` module has the details. One
//! known gap: MySQL zero dates read as NULL but compare as stored, so a
//! pushed-down date comparison can keep a zero date that DataFusion would
//! have dropped.

mod columns;
mod render;
mod scan;
mod spec;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::arrow::datatypes::{Field, Schema, SchemaRef};
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::Result;
use deltalake::datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use deltalake::datafusion::physical_plan::ExecutionPlan;

use self::columns::{SourceColumn, SourcePool, Wire};
use self::render::{from_clause, select_sql, FilterSql};
use self::scan::SqlScanExec;
pub use self::spec::{SqlDialect, SqlRelation, SqlSourceSpec};
use crate::LakeError;

/// A PostgreSQL or MySQL table or query as a DataFusion table.
pub struct SqlTable {
    dialect: SqlDialect,
    /// `PostgreSQL at host:port`, for messages.
    source: Arc<str>,
    from: String,
    columns: Vec<SourceColumn>,
    schema: SchemaRef,
    pool: SourcePool,
}

impl fmt::Debug for SqlTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlTable")
            .field("source", &self.source)
            .field("from", &self.from)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl SqlTable {
    /// Validates `spec`, connects, and reads the relation's columns.
    ///
    /// Errors: [`LakeError::Invalid`] for a bad spec, a missing table
    /// (`relation.table`) or a query the server refuses (`relation.sql`);
    /// [`LakeError::SourceUnavailable`] when the server cannot be reached or
    /// refuses the credentials. Messages never hold the password.
    pub async fn connect(spec: &SqlSourceSpec) -> Result<SqlTable, LakeError> {
        // sqlx's executor bounds make the probe's future provably `Send` for
        // one lifetime only, which callers' futures cannot carry; as its own
        // task it is plainly `Send + 'static`.
        let owned = spec.clone();
        let (pool, columns) = tokio::spawn(async move { columns::connect(&owned).await })
            .await
            .map_err(|e| LakeError::SourceUnavailable(format!("connecting to the source failed: {e}")))??;
        let fields: Vec<Field> =
            columns.iter().map(|column| Field::new(&column.name, column.data_type.clone(), true)).collect();
        Ok(SqlTable {
            dialect: spec.dialect,
            source: format!("{} at {}", spec.dialect.label(), spec.endpoint()).into(),
            from: from_clause(spec.dialect, &spec.relation),
            columns,
            schema: Arc::new(Schema::new(fields)),
            pool,
        })
    }

    /// The `SELECT` a scan with these arguments sends to the source. Every
    /// filter must be one [`TableProvider::supports_filters_pushdown`] calls
    /// exact.
    pub fn select_sql(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<String> {
        select_sql(self.dialect, &self.from, &self.columns, projection.map(Vec::as_slice), filters, limit)
    }
}

#[async_trait]
impl TableProvider for SqlTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        let translator = FilterSql { dialect: self.dialect, columns: &self.columns };
        Ok(filters
            .iter()
            .map(|filter| match translator.translate(filter) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        // DataFusion passes a limit only when every filter is exact.
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let sql = self.select_sql(projection, filters, limit)?;
        let (schema, wires): (SchemaRef, Vec<Wire>) = match projection {
            Some(indices) => (
                Arc::new(self.schema.project(indices)?),
                indices.iter().map(|&i| self.columns[i].wire).collect(),
            ),
            None => (Arc::clone(&self.schema), self.columns.iter().map(|column| column.wire).collect()),
        };
        Ok(Arc::new(SqlScanExec::new(
            self.dialect,
            Arc::clone(&self.source),
            sql,
            schema,
            wires,
            self.pool.clone(),
        )))
    }
}
