//! Logical access against real servers.
//!
//! `TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:54329/postgres`)
//! and `TEST_MYSQL_URL` (e.g. `mysql://govdata:govdata@127.0.0.1:33069/mysql`)
//! name the servers; a test whose URL is unset is skipped unless
//! `TEST_REQUIRE_POSTGRES=1` / `TEST_REQUIRE_MYSQL=1`. Each test works in its
//! own schema (PostgreSQL) or database (MySQL), so tests run in parallel and
//! again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use govdata_lake::arrow::array::{Array, Int32Array, RecordBatch};
use govdata_lake::arrow::datatypes::{DataType, TimeUnit};
use govdata_lake::arrow::util::display::{ArrayFormatter, FormatOptions};
use govdata_lake::datafusion::prelude::{SessionConfig, SessionContext};
use govdata_lake::source::sql::{SqlDialect, SqlRelation, SqlSourceSpec, SqlTable};
use govdata_lake::LakeError;
use sqlx::{Connection, Executor};
use url::Url;

/// A schema or database of its own on one server.
struct Fixture {
    dialect: SqlDialect,
    /// The server URL as configured.
    server_url: String,
    /// The URL sources use; for MySQL it names the test database.
    url: String,
    namespace: String,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or_default();
    format!("{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl Fixture {
    async fn new(dialect: SqlDialect) -> Option<Fixture> {
        let (var, require) = match dialect {
            SqlDialect::Postgres => ("TEST_POSTGRES_URL", "TEST_REQUIRE_POSTGRES"),
            SqlDialect::Mysql => ("TEST_MYSQL_URL", "TEST_REQUIRE_MYSQL"),
        };
        let server_url = match std::env::var(var) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var(require).as_deref() == Ok("1") => panic!("{require}=1 but {var} is not set"),
            _ => {
                eprintln!("skipped: {var} is not set");
                return None;
            }
        };
        let namespace = format!("gd_sql_{}", unique_suffix());
        let url = match dialect {
            SqlDialect::Postgres => server_url.clone(),
            SqlDialect::Mysql => {
                let mut url = Url::parse(&server_url).expect("TEST_MYSQL_URL is a URL");
                url.set_path(&namespace);
                url.to_string()
            }
        };
        let fixture = Fixture { dialect, server_url, url, namespace };
        match dialect {
            SqlDialect::Postgres => {
                fixture.exec_on_server(&format!("CREATE SCHEMA \"{}\"", fixture.namespace)).await
            }
            SqlDialect::Mysql => {
                fixture
                    .exec_on_server(&format!("CREATE DATABASE `{}` CHARACTER SET utf8mb4", fixture.namespace))
                    .await
            }
        }
        Some(fixture)
    }

    async fn exec_on_server(&self, sql: &str) {
        match self.dialect {
            SqlDialect::Postgres => {
                let mut conn =
                    sqlx::PgConnection::connect(&self.server_url).await.expect("connect to PostgreSQL");
                conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            SqlDialect::Mysql => {
                let mut conn =
                    sqlx::MySqlConnection::connect(&self.server_url).await.expect("connect to MySQL");
                conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Runs statements one by one inside the test's namespace.
    async fn exec(&self, statements: &[&str]) {
        match self.dialect {
            SqlDialect::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect to PostgreSQL");
                conn.execute(format!("SET search_path TO \"{}\"", self.namespace).as_str())
                    .await
                    .expect("search_path");
                for sql in statements {
                    conn.execute(*sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
            }
            SqlDialect::Mysql => {
                let mut conn = sqlx::MySqlConnection::connect(&self.url).await.expect("connect to MySQL");
                for sql in statements {
                    conn.execute(*sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
            }
        }
    }

    async fn drop(self) {
        match self.dialect {
            SqlDialect::Postgres => {
                self.exec_on_server(&format!("DROP SCHEMA \"{}\" CASCADE", self.namespace)).await
            }
            SqlDialect::Mysql => self.exec_on_server(&format!("DROP DATABASE `{}`", self.namespace)).await,
        }
    }

    /// PostgreSQL names the schema; MySQL relies on the URL's database.
    fn table(&self, table: &str) -> SqlSourceSpec {
        let schema = match self.dialect {
            SqlDialect::Postgres => Some(self.namespace.clone()),
            SqlDialect::Mysql => None,
        };
        SqlSourceSpec {
            dialect: self.dialect,
            url: self.url.clone(),
            relation: SqlRelation::Table { schema, table: table.to_owned() },
        }
    }

    fn query(&self, sql: &str) -> SqlSourceSpec {
        SqlSourceSpec {
            dialect: self.dialect,
            url: self.url.clone(),
            relation: SqlRelation::Query { sql: sql.to_owned() },
        }
    }

    /// `table` qualified with the namespace, for provider queries.
    fn qualified(&self, table: &str) -> String {
        match self.dialect {
            SqlDialect::Postgres => format!("\"{}\".{table}", self.namespace),
            SqlDialect::Mysql => format!("`{}`.{table}", self.namespace),
        }
    }

    /// The source URL with other credentials or port.
    fn url_with(&self, edit: impl FnOnce(&mut Url)) -> String {
        let mut url = Url::parse(&self.url).expect("fixture URL");
        edit(&mut url);
        url.to_string()
    }

    /// `(postgres, mysql)`, whichever applies.
    fn pick<'a>(&self, postgres: &'a str, mysql: &'a str) -> &'a str {
        match self.dialect {
            SqlDialect::Postgres => postgres,
            SqlDialect::Mysql => mysql,
        }
    }
}

async fn connect(spec: &SqlSourceSpec) -> Arc<SqlTable> {
    Arc::new(SqlTable::connect(spec).await.unwrap_or_else(|e| panic!("connect {spec:?}: {e}")))
}

fn context_with(name: &str, table: Arc<SqlTable>) -> SessionContext {
    let ctx = SessionContext::new();
    ctx.register_table(name, table).expect("register");
    ctx
}

async fn collect(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    let frame = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    frame.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every value as text, NULL as `NULL`.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options).expect("formatter"))
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
        }
    }
    rows
}

fn ids(batches: &[RecordBatch]) -> Vec<i32> {
    batches
        .iter()
        .flat_map(|batch| {
            let ids = batch.column(0).as_any().downcast_ref::<Int32Array>().expect("Int32 ids").clone();
            ids.iter().map(|id| id.expect("id")).collect::<Vec<_>>()
        })
        .collect()
}

/// The SQL `EXPLAIN` shows for the source scan.
async fn scan_sql(ctx: &SessionContext, sql: &str) -> String {
    let plan = rows(&collect(ctx, &format!("EXPLAIN {sql}")).await);
    let physical = plan.iter().find(|row| row[0] == "physical_plan").expect("physical plan");
    let line = physical[1].lines().find(|line| line.contains("SqlScanExec")).expect("scan in plan");
    line.split_once("sql=").expect("sql=").1.to_owned()
}

fn us(tz: Option<&str>) -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, tz.map(Into::into))
}

fn assert_types(table: &SqlTable, expected: &[(&str, DataType)]) {
    let schema = govdata_lake::datafusion::catalog::TableProvider::schema(table);
    let actual: Vec<(&str, DataType)> =
        schema.fields().iter().map(|f| (f.name().as_str(), f.data_type().clone())).collect();
    assert_eq!(actual, expected);
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|row| row.iter().map(|v| (*v).to_owned()).collect()).collect()
}

async fn reads_every_mapped_type(f: &Fixture) {
    match f.dialect {
        SqlDialect::Postgres => postgres_types(f).await,
        SqlDialect::Mysql => mysql_types(f).await,
    }
}

async fn postgres_types(f: &Fixture) {
    f.exec(&[
        "CREATE TYPE mood AS ENUM ('happy', 'sad')",
        "CREATE TABLE all_types (id int4 PRIMARY KEY, small int2, big int8, real_v float4, double_v float8, \
         amount numeric(12,2), free_numeric numeric, flag bool, name text, code varchar(10), fixed char(4), \
         uid uuid, doc jsonb, feeling mood, day date, at timestamp, at_tz timestamptz, clock time, \
         payload bytea, tags int4[], span interval)",
        "INSERT INTO all_types VALUES \
         (1, -32768, 9007199254740993, 1.5, 0.1, 12345.67, 3.14159265358979323846264338327950288, true, \
          '广州市天河区', '440100', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": \"值\", \"n\": 1}', \
          'happy', '2024-02-29', '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456+08', \
          '23:59:59.999999', '\\x00ff10', '{1,2,3}', '1 day 02:03:04'), \
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
          NULL, NULL, NULL, NULL), \
         (3, 32767, -9223372036854775808, -0.25, -1e300, -0.05, 0, false, 'O''Brien', '', 'x', \
          '00000000-0000-0000-0000-000000000000', '[]', 'sad', '1969-12-31', '1900-01-01 00:00:00', \
          '1969-12-31 23:59:59.5+00', '00:00:00', '', '{}', '-00:00:01')",
    ])
    .await;
    let table = connect(&f.table("all_types")).await;
    assert_types(
        &table,
        &[
            ("id", DataType::Int32),
            ("small", DataType::Int16),
            ("big", DataType::Int64),
            ("real_v", DataType::Float32),
            ("double_v", DataType::Float64),
            ("amount", DataType::Decimal128(12, 2)),
            ("free_numeric", DataType::Utf8),
            ("flag", DataType::Boolean),
            ("name", DataType::Utf8),
            ("code", DataType::Utf8),
            ("fixed", DataType::Utf8),
            ("uid", DataType::Utf8),
            ("doc", DataType::Utf8),
            ("feeling", DataType::Utf8),
            ("day", DataType::Date32),
            ("at", us(None)),
            ("at_tz", us(Some("UTC"))),
            ("clock", DataType::Time64(TimeUnit::Microsecond)),
            ("payload", DataType::Binary),
            ("tags", DataType::Utf8),
            ("span", DataType::Utf8),
        ],
    );
    let ctx = context_with("all_types", table);
    let actual = rows(&collect(&ctx, "SELECT * FROM all_types ORDER BY id").await);
    let expected = strings(&[
        &[
            "1",
            "-32768",
            "9007199254740993",
            "1.5",
            "0.1",
            "12345.67",
            "3.14159265358979323846264338327950288",
            "true",
            "广州市天河区",
            "440100",
            "ab",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{\"k\": \"值\", \"n\": 1}",
            "happy",
            "2024-02-29",
            "2024-02-29T13:45:30.123456",
            "2024-02-29T05:45:30.123456Z",
            "23:59:59.999999",
            "00ff10",
            "{1,2,3}",
            "1 day 02:03:04",
        ],
        &[
            "2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
            "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
        ],
        &[
            "3",
            "32767",
            "-9223372036854775808",
            "-0.25",
            "-1e300",
            "-0.05",
            "0",
            "false",
            "O'Brien",
            "",
            "x",
            "00000000-0000-0000-0000-000000000000",
            "[]",
            "sad",
            "1969-12-31",
            "1900-01-01T00:00:00",
            "1969-12-31T23:59:59.500Z",
            "00:00:00",
            "",
            "{}",
            "-00:00:01",
        ],
    ]);
    assert_eq!(actual, expected);
}

async fn mysql_types(f: &Fixture) {
    f.exec(&[
        "CREATE TABLE all_types (id INT PRIMARY KEY, tiny TINYINT, flag TINYINT(1), utiny TINYINT UNSIGNED, \
         small SMALLINT, usmall SMALLINT UNSIGNED, medium MEDIUMINT, umedium MEDIUMINT UNSIGNED, normal INT, \
         unormal INT UNSIGNED, big BIGINT, ubig BIGINT UNSIGNED, real_v FLOAT, double_v DOUBLE, \
         amount DECIMAL(12,2), wide DECIMAL(50,10), name VARCHAR(100), gbk_name VARCHAR(20) CHARACTER SET gbk, \
         fixed CHAR(4), body TEXT, bin_name VARCHAR(20) COLLATE utf8mb4_bin, choice ENUM('a','b'), doc JSON, \
         day DATE, at DATETIME(6), at_ts TIMESTAMP(6) NULL DEFAULT NULL, clock TIME(6), yr YEAR, \
         payload VARBINARY(10), blob_v BLOB, bits BIT(10), shape POINT) DEFAULT CHARSET=utf8mb4",
        "INSERT INTO all_types VALUES \
         (1, -128, 1, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, \
          18446744073709551615, 1.5, 0.1, 12345.67, 1234567890123456789012345678901234567890.1234567890, \
          '广州市天河区', '广州', 'ab', '长文本 text', 'Bin名', 'b', '{\"k\": \"值\"}', '2024-02-29', \
          '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123456', '-838:59:59.000000', 2024, \
          X'00FF10', 'abc', b'1000000001', ST_GeomFromText('POINT(1 2)')), \
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
          NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
         (3, 127, 2, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0, -0.25, -1e300, -0.05, \
          -1.5, 'O''Brien', '深圳', 'x', '', 'bin', 'a', '[]', '1969-12-31', '1900-01-01 00:00:00', \
          '1970-01-01 00:00:01', '00:00:00', 1901, X'', '', b'0', NULL)",
    ])
    .await;
    let table = connect(&f.table("all_types")).await;
    assert_types(
        &table,
        &[
            ("id", DataType::Int32),
            ("tiny", DataType::Int8),
            ("flag", DataType::Int8),
            ("utiny", DataType::Int16),
            ("small", DataType::Int16),
            ("usmall", DataType::Int32),
            ("medium", DataType::Int32),
            ("umedium", DataType::Int32),
            ("normal", DataType::Int32),
            ("unormal", DataType::Int64),
            ("big", DataType::Int64),
            ("ubig", DataType::Decimal128(20, 0)),
            ("real_v", DataType::Float32),
            ("double_v", DataType::Float64),
            ("amount", DataType::Decimal128(12, 2)),
            ("wide", DataType::Utf8),
            ("name", DataType::Utf8),
            ("gbk_name", DataType::Utf8),
            ("fixed", DataType::Utf8),
            ("body", DataType::Utf8),
            ("bin_name", DataType::Utf8),
            ("choice", DataType::Utf8),
            ("doc", DataType::Utf8),
            ("day", DataType::Date32),
            ("at", us(None)),
            ("at_ts", us(Some("UTC"))),
            ("clock", DataType::Utf8),
            ("yr", DataType::Int16),
            ("payload", DataType::Binary),
            ("blob_v", DataType::Binary),
            ("bits", DataType::Binary),
            ("shape", DataType::Utf8),
        ],
    );
    let ctx = context_with("all_types", table);
    let actual = rows(&collect(&ctx, "SELECT * FROM all_types ORDER BY id").await);
    let expected = strings(&[
        &[
            "1",
            "-128",
            "1",
            "255",
            "-32768",
            "65535",
            "-8388608",
            "16777215",
            "-2147483648",
            "4294967295",
            "-9223372036854775808",
            "18446744073709551615",
            "1.5",
            "0.1",
            "12345.67",
            "1234567890123456789012345678901234567890.1234567890",
            "广州市天河区",
            "广州",
            "ab",
            "长文本 text",
            "Bin名",
            "b",
            "{\"k\": \"值\"}",
            "2024-02-29",
            "2024-02-29T13:45:30.123456",
            "2024-02-29T13:45:30.123456Z",
            "-838:59:59.000000",
            "2024",
            "00ff10",
            "616263",
            "0201",
            "POINT(1 2)",
        ],
        &[
            "2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
            "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
            "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
        ],
        &[
            "3",
            "127",
            "2",
            "0",
            "32767",
            "0",
            "8388607",
            "0",
            "2147483647",
            "0",
            "9223372036854775807",
            "0",
            "-0.25",
            "-1e300",
            "-0.05",
            "-1.5000000000",
            "O'Brien",
            "深圳",
            "x",
            "",
            "bin",
            "a",
            "[]",
            "1969-12-31",
            "1900-01-01T00:00:00",
            "1970-01-01T00:00:01Z",
            "00:00:00.000000",
            "1901",
            "",
            "",
            "0000",
            "NULL",
        ],
    ]);
    assert_eq!(actual, expected);
}

async fn create_sales(f: &Fixture) {
    let text = f.pick("text", "VARCHAR(50)");
    f.exec(&[
        &format!(
            "CREATE TABLE sales (id INT PRIMARY KEY, region VARCHAR(10), name {text}, amount DECIMAL(12,2), \
             day DATE)"
        ),
        "INSERT INTO sales VALUES \
         (1, '440100', '广州甲', 5.00, '2024-01-01'), \
         (2, '440100', 'O''Brien', 15.50, '2024-01-02'), \
         (3, '440300', '深圳', 25.00, '2024-01-03'), \
         (4, '440100', 'abc', 100.00, NULL), \
         (5, '440100', 'ABC', NULL, '2024-01-05'), \
         (6, NULL, 'x y', 12.00, '2024-01-06'), \
         (7, '440100 ', 'trailing', 11.00, '2024-01-07')",
    ])
    .await;
}

async fn pushes_down_projection_filters_and_limit(f: &Fixture) {
    create_sales(f).await;
    let table = connect(&f.table("sales")).await;
    let q = |name: &str| match f.dialect {
        SqlDialect::Postgres => format!("\"{name}\""),
        SqlDialect::Mysql => format!("`{name}`"),
    };

    let projected = table.select_sql(Some(&vec![0, 3]), &[], None).expect("sql");
    let from = match f.dialect {
        SqlDialect::Postgres => format!("\"{}\".\"sales\"", f.namespace),
        SqlDialect::Mysql => "`sales`".to_owned(),
    };
    let amount_text = f.pick("CAST(\"amount\" AS text) AS \"amount\"", "CAST(`amount` AS CHAR) AS `amount`");
    assert_eq!(projected, format!("SELECT {}, {amount_text} FROM {from}", q("id")));

    let ctx = context_with("sales", Arc::clone(&table));
    let sql = "SELECT id, name FROM sales WHERE region = '440100' AND amount > 10 ORDER BY id";
    let scan = scan_sql(&ctx, sql).await;
    assert!(!scan.contains(&q("day")), "only used columns are read: {scan}");
    let region =
        f.pick("\"region\" = '440100'", "CAST(CONVERT(`region` USING utf8mb4) AS BINARY) = '440100'");
    assert!(scan.contains(&format!("WHERE {region} AND {} > 10.00", q("amount"))), "{scan}");
    // Bytewise like DataFusion: the trailing space of row 7 matters, in MySQL too.
    assert_eq!(ids(&collect(&ctx, sql).await), [2, 4]);

    // MySQL's default collation ignores case; the pushed-down filter must not.
    assert_eq!(ids(&collect(&ctx, "SELECT id FROM sales WHERE name = 'abc'").await), [4]);
    let sql = "SELECT id FROM sales WHERE name > 'Z' AND name < 'b' ORDER BY id";
    let ordered =
        f.pick("\"name\" COLLATE \"C\" > 'Z'", "CAST(CONVERT(`name` USING utf8mb4) AS BINARY) > 'Z'");
    assert!(scan_sql(&ctx, sql).await.contains(ordered));
    assert_eq!(ids(&collect(&ctx, sql).await), [4]);

    let sql = "SELECT id FROM sales WHERE name = 'O''Brien'";
    assert!(scan_sql(&ctx, sql).await.contains("'O''Brien'"));
    assert_eq!(ids(&collect(&ctx, sql).await), [2]);

    let sql = "SELECT id FROM sales WHERE (region IN ('440300') OR amount BETWEEN 11 AND 12) \
               AND name NOT LIKE 'x%' AND day IS NOT NULL ORDER BY id";
    let scan = scan_sql(&ctx, sql).await;
    assert!(scan.contains(" OR ") && scan.contains("NOT LIKE") && scan.contains("IS NOT NULL"), "{scan}");
    assert_eq!(ids(&collect(&ctx, sql).await), [3, 7]);

    let sql = "SELECT id FROM sales WHERE day >= DATE '2024-01-03' AND NOT (name LIKE '深%') ORDER BY id";
    assert!(scan_sql(&ctx, sql).await.contains(&format!("{} >= DATE '2024-01-03'", q("day"))));
    assert_eq!(ids(&collect(&ctx, sql).await), [5, 6, 7]);

    // Not translatable: DataFusion filters above the scan, with the same result.
    let sql = "SELECT id FROM sales WHERE length(name) > 2 ORDER BY id";
    assert!(!scan_sql(&ctx, sql).await.contains("WHERE"));
    assert_eq!(ids(&collect(&ctx, sql).await), [1, 2, 4, 5, 6, 7]);

    let sql = "SELECT id FROM sales WHERE region = '440100' LIMIT 2";
    assert!(scan_sql(&ctx, sql).await.ends_with("LIMIT 2"));
    assert_eq!(collect(&ctx, sql).await.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
    // With an untranslatable filter the limit stays in DataFusion.
    let sql = "SELECT id FROM sales WHERE length(name) > 2 LIMIT 2";
    assert!(!scan_sql(&ctx, sql).await.contains("LIMIT"));

    let counted = rows(&collect(&ctx, "SELECT count(*) FROM sales").await);
    assert_eq!(counted, [["7"]]);
}

async fn quotes_awkward_identifiers(f: &Fixture) {
    let (create, insert) = match f.dialect {
        SqlDialect::Postgres => (
            "CREATE TABLE \"odd table\" (id INT, \"weird \"\"col\" TEXT)",
            "INSERT INTO \"odd table\" VALUES (1, 'it''s'), (2, 'plain'), (3, 'back\\slash')",
        ),
        SqlDialect::Mysql => (
            "CREATE TABLE `odd table` (id INT, `weird ``col` TEXT)",
            "INSERT INTO `odd table` VALUES (1, 'it''s'), (2, 'plain'), (3, 'back\\\\slash')",
        ),
    };
    f.exec(&[create, insert]).await;
    let ctx = context_with("odd", connect(&f.table("odd table")).await);
    // DataFusion quotes with "…" on both servers.
    let column = f.pick("\"weird \"\"col\"", "\"weird `col\"");
    let sql = format!("SELECT id, {column} FROM odd WHERE {column} = 'it''s'");
    let scan = scan_sql(&ctx, &sql).await;
    assert!(scan.contains(f.pick("\"weird \"\"col\" = 'it''s'", "`weird ``col`")), "{scan}");
    assert!(scan.contains(f.pick("\"odd table\"", "`odd table`")), "{scan}");
    assert_eq!(rows(&collect(&ctx, &sql).await), [["1", "it's"]]);
    // A backslash is literal in DataFusion; the source must read it so too.
    let sql =
        format!("SELECT id FROM odd WHERE {column} = 'back\\slash' OR {column} LIKE 'back\\%' ESCAPE '!'");
    let scan = scan_sql(&ctx, &sql).await;
    assert!(scan.contains(f.pick("E'back\\\\slash'", "_utf8mb4 X'6261636B5C736C617368'")), "{scan}");
    assert_eq!(ids(&collect(&ctx, &sql).await), [3]);
}

async fn reads_a_query(f: &Fixture) {
    create_sales(f).await;
    let query = format!(
        "SELECT region, name, amount, amount * 2 AS doubled FROM {} WHERE id <> 1 -- 广州甲 stays out",
        f.qualified("sales")
    );
    let table = connect(&f.query(&query)).await;
    // PostgreSQL knows the precision of a column taken straight from a table;
    // computed values and MySQL query columns read as text.
    let amount = match f.dialect {
        SqlDialect::Postgres => DataType::Decimal128(12, 2),
        SqlDialect::Mysql => DataType::Utf8,
    };
    assert_types(
        &table,
        &[
            ("region", DataType::Utf8),
            ("name", DataType::Utf8),
            ("amount", amount),
            ("doubled", DataType::Utf8),
        ],
    );
    let ctx = context_with("q", table);
    let sql = "SELECT name, doubled FROM q WHERE region = '440300' OR region IS NULL ORDER BY name";
    let scan = scan_sql(&ctx, sql).await;
    // EXPLAIN shows the line break after the provider's comment as `\n`.
    assert!(scan.contains("-- 广州甲 stays out\\n) AS src WHERE"), "{scan}");
    assert_eq!(rows(&collect(&ctx, sql).await), [["x y", "24.00"], ["深圳", "50.00"]]);
}

async fn streams_big_tables_in_batches(f: &Fixture) {
    match f.dialect {
        SqlDialect::Postgres => {
            f.exec(&[
                "CREATE TABLE big (id INT PRIMARY KEY, label TEXT)",
                "INSERT INTO big SELECT g, 'row-' || g FROM generate_series(1, 100000) AS g",
            ])
            .await
        }
        SqlDialect::Mysql => {
            f.exec(&[
                "CREATE TABLE digits (d INT)",
                "INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
                "CREATE TABLE big (id INT PRIMARY KEY, label VARCHAR(20))",
                "INSERT INTO big SELECT n + 1, CONCAT('row-', n + 1) FROM (SELECT a.d + 10 * b.d + 100 * c.d \
                 + 1000 * e.d + 10000 * g.d AS n FROM digits a, digits b, digits c, digits e, digits g) AS t",
            ])
            .await
        }
    }
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_batch_size(8192));
    ctx.register_table("big", connect(&f.table("big")).await).expect("register");
    let frame = ctx.sql("SELECT id, label FROM big").await.expect("plan");
    let mut stream = frame.execute_stream().await.expect("execute");
    let (mut batches, mut rows, mut id_sum) = (0usize, 0usize, 0i64);
    while let Some(batch) = stream.try_next().await.expect("batch") {
        assert!(batch.num_rows() <= 8192, "batch of {}", batch.num_rows());
        batches += 1;
        rows += batch.num_rows();
        let ids = batch.column(0).as_any().downcast_ref::<Int32Array>().expect("ids");
        id_sum += ids.iter().map(|id| i64::from(id.expect("id"))).sum::<i64>();
    }
    assert_eq!(rows, 100_000);
    assert_eq!(id_sum, 100_000 * 100_001 / 2);
    assert!(batches >= 13, "{batches} batches");
    assert_eq!(rows_of(&ctx, "SELECT count(*) FROM big WHERE label LIKE 'row-9999%'").await, [["11"]]);
}

async fn rows_of(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    rows(&collect(ctx, sql).await)
}

fn invalid_field(result: Result<SqlTable, LakeError>) -> (String, String) {
    match result {
        Err(LakeError::Invalid { field, message }) => (field, message),
        Err(other) => panic!("expected an invalid-input error, got {other}"),
        Ok(table) => panic!("expected an error, got {table:?}"),
    }
}

fn unavailable(result: Result<SqlTable, LakeError>) -> String {
    match result {
        Err(LakeError::SourceUnavailable(message)) => message,
        Err(other) => panic!("expected source-unavailable, got {other}"),
        Ok(table) => panic!("expected an error, got {table:?}"),
    }
}

async fn refuses_bad_sources(f: &Fixture) {
    create_sales(f).await;
    let secret = "Secr3t-pw-42";

    // PostgreSQL under `trust` checks no password, so the user is unknown too.
    let mut spec = f.table("sales");
    spec.url = f.url_with(|url| {
        if f.dialect == SqlDialect::Postgres {
            url.set_username(&format!("nobody_{}", unique_suffix())).expect("user");
        }
        url.set_password(Some(secret)).expect("password");
    });
    assert!(spec.redacted_url().contains(":***@"), "{}", spec.redacted_url());
    let message = unavailable(SqlTable::connect(&spec).await);
    assert!(!message.contains(secret), "{message}");
    assert!(message.contains("refused user"), "{message}");

    let mut spec = f.table("sales");
    spec.url = f.url_with(|url| url.set_port(Some(1)).expect("port"));
    let message = unavailable(SqlTable::connect(&spec).await);
    assert!(message.contains("127.0.0.1:1"), "{message}");

    let (field, message) = invalid_field(SqlTable::connect(&f.table("no_such_table")).await);
    assert_eq!(field, "relation.table");
    assert!(message.contains("no_such_table"), "{message}");

    let two = format!("SELECT * FROM {}; DROP TABLE {}", f.qualified("sales"), f.qualified("sales"));
    assert_eq!(invalid_field(SqlTable::connect(&f.query(&two)).await).0, "relation.sql");

    let unknown_column = format!("SELECT no_such_column FROM {}", f.qualified("sales"));
    let (field, message) = invalid_field(SqlTable::connect(&f.query(&unknown_column)).await);
    assert_eq!(field, "relation.sql");
    assert!(message.contains("no_such_column"), "{message}");

    let mut spec = f.table("sales");
    spec.dialect = match f.dialect {
        SqlDialect::Postgres => SqlDialect::Mysql,
        SqlDialect::Mysql => SqlDialect::Postgres,
    };
    assert_eq!(invalid_field(SqlTable::connect(&spec).await).0, "url");

    // The table is still there: nothing above ran the DROP.
    let ctx = context_with("sales", connect(&f.table("sales")).await);
    assert_eq!(rows_of(&ctx, "SELECT count(*) FROM sales").await, [["7"]]);
}

/// PostgreSQL only: MySQL yields NULL with a warning where PostgreSQL fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reports_errors_while_streaming() {
    let Some(f) = Fixture::new(SqlDialect::Postgres).await else {
        return;
    };
    create_sales(&f).await;
    let query = format!("SELECT id, 10 / (id - 3) AS x FROM {}", f.qualified("sales"));
    let ctx = context_with("q", connect(&f.query(&query)).await);
    let frame = ctx.sql("SELECT * FROM q").await.expect("plan");
    let error = frame.collect().await.expect_err("division by zero").to_string();
    assert!(error.contains("PostgreSQL at") && error.contains("division by zero"), "{error}");
    f.drop().await;
}

macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(fixture) = super::Fixture::new(super::SqlDialect::Postgres).await {
                        super::$name(&fixture).await;
                        fixture.drop().await;
                    }
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(fixture) = super::Fixture::new(super::SqlDialect::Mysql).await {
                        super::$name(&fixture).await;
                        fixture.drop().await;
                    }
                }
            )*
        }
    };
}

on_both_servers!(
    reads_every_mapped_type,
    pushes_down_projection_filters_and_limit,
    quotes_awkward_identifiers,
    reads_a_query,
    streams_big_tables_in_batches,
    refuses_bad_sources,
);

/// PostgreSQL over TLS: a role the server refuses without TLS reads its
/// table through an encrypted connection that verifies the server's
/// certificate against the CA named in the URL (`sslmode=verify-full`,
/// `sslrootcert=`). `scripts/test.sh` gives the server its certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls() {
    let Some(f) = Fixture::new(SqlDialect::Postgres).await else {
        return;
    };
    let ca = match std::env::var("TEST_POSTGRES_TLS_CA") {
        Ok(ca) if !ca.is_empty() => ca,
        _ if std::env::var("TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("TEST_REQUIRE_POSTGRES=1 but TEST_POSTGRES_TLS_CA is not set")
        }
        _ => {
            eprintln!("skipped: TEST_POSTGRES_TLS_CA is not set");
            return f.drop().await;
        }
    };
    let user = format!("gd_tls_{}", unique_suffix());
    f.exec_on_server(
        "DO $$ BEGIN CREATE ROLE tls_required NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .await;
    f.exec_on_server(&format!("CREATE ROLE {user} LOGIN IN ROLE tls_required")).await;
    f.exec(&[
        "CREATE TABLE licences (id integer, name text)",
        "INSERT INTO licences VALUES (1, '营业执照'), (2, '食品经营许可证')",
        &format!("GRANT USAGE ON SCHEMA \"{}\" TO {user}", f.namespace),
        &format!("GRANT SELECT ON licences TO {user}"),
    ])
    .await;
    let as_user = |query: &str| {
        let mut spec = f.table("licences");
        spec.url = f.url_with(|url| {
            url.set_username(&user).expect("user");
            url.set_query(Some(query));
        });
        spec
    };
    // In plain text the server refuses this role.
    let message = unavailable(SqlTable::connect(&as_user("sslmode=disable")).await);
    assert!(message.contains("refused") || message.contains("pg_hba"), "{message}");
    // Encrypted, with the server's certificate checked against the CA.
    let table = connect(&as_user(&format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    let ctx = context_with("licences", table);
    assert_eq!(
        rows_of(&ctx, "SELECT name FROM licences ORDER BY id").await,
        strings(&[&["营业执照"], &["食品经营许可证"]])
    );
    f.drop().await;
    drop_role(&user).await;
}

async fn drop_role(user: &str) {
    let url = std::env::var("TEST_POSTGRES_URL").expect("set above");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect to PostgreSQL");
    conn.execute(format!("DROP ROLE {user}").as_str()).await.expect("drop role");
}
