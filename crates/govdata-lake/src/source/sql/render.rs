//! SQL text sent to the source: quoting, literals, and pushed-down filters.
//!
//! A filter is pushed down only when the database evaluates it exactly as
//! DataFusion would, so that DataFusion need not filter again:
//! - the column is compared with a literal of the column's own Arrow type
//!   (DataFusion's optimizer already moved casts onto the literal);
//! - text compares bytes, as DataFusion does: PostgreSQL orders with
//!   `COLLATE "C"` (equality is bytewise under any deterministic collation),
//!   MySQL compares `CAST(… AS BINARY)`, since its default collations ignore
//!   case and trailing spaces;
//! - `LIKE` patterns with a backslash and no `ESCAPE` stay in DataFusion (the
//!   default escape depends on server settings), and so do `ILIKE`, binary
//!   columns and MySQL `FLOAT` (compared as double by the server).

use std::fmt::Write as _;

use deltalake::arrow::datatypes::{DataType, TimeUnit};
use deltalake::datafusion::common::{plan_datafusion_err, Result, ScalarValue};
use deltalake::datafusion::logical_expr::expr::{Between, BinaryExpr, InList, Like};
use deltalake::datafusion::logical_expr::{Expr, Operator};
use time::OffsetDateTime;

use super::columns::SourceColumn;
use super::spec::{SqlDialect, SqlRelation};

/// Alias of a query relation, read as a derived table.
const QUERY_ALIAS: &str = "src";

pub(crate) fn quote_identifier(dialect: SqlDialect, name: &str) -> String {
    let quote = match dialect {
        SqlDialect::Postgres => '"',
        SqlDialect::Mysql => '`',
    };
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push(quote);
    for c in name.chars() {
        if c == quote {
            quoted.push(quote);
        }
        quoted.push(c);
    }
    quoted.push(quote);
    quoted
}

/// What follows `FROM`.
pub(crate) fn from_clause(dialect: SqlDialect, relation: &SqlRelation) -> String {
    match relation {
        SqlRelation::Table { schema: Some(schema), table } => {
            format!("{}.{}", quote_identifier(dialect, schema), quote_identifier(dialect, table))
        }
        SqlRelation::Table { schema: None, table } => quote_identifier(dialect, table),
        // On its own line, so that a trailing `--` comment cannot swallow it.
        SqlRelation::Query { sql } => format!("({sql}\n) AS {QUERY_ALIAS}"),
    }
}

/// A string literal that means the same whatever the session's escaping
/// settings (`standard_conforming_strings`, `NO_BACKSLASH_ESCAPES`); `None`
/// for text PostgreSQL cannot hold.
pub(crate) fn string_literal(dialect: SqlDialect, value: &str) -> Option<String> {
    let doubled = || value.replace('\'', "''");
    match dialect {
        SqlDialect::Postgres if value.contains('\0') => None,
        SqlDialect::Postgres if value.contains('\\') => {
            Some(format!("E'{}'", doubled().replace('\\', "\\\\")))
        }
        SqlDialect::Mysql if value.contains(['\\', '\0']) => {
            let mut hex = String::with_capacity(value.len() * 2 + 12);
            hex.push_str("_utf8mb4 X'");
            for byte in value.bytes() {
                let _ = write!(hex, "{byte:02X}");
            }
            hex.push('\'');
            Some(hex)
        }
        SqlDialect::Postgres | SqlDialect::Mysql => Some(format!("'{}'", doubled())),
    }
}

/// `SELECT … FROM … [WHERE …] [LIMIT …]` for a scan. Every filter must be one
/// that [`FilterSql::translate`] accepts.
pub(crate) fn select_sql(
    dialect: SqlDialect,
    from: &str,
    columns: &[SourceColumn],
    projection: Option<&[usize]>,
    filters: &[Expr],
    limit: Option<usize>,
) -> Result<String> {
    let selected: Vec<&SourceColumn> = match projection {
        Some(indices) => indices
            .iter()
            .map(|&i| columns.get(i).ok_or_else(|| plan_datafusion_err!("no column {i} in the source")))
            .collect::<Result<_>>()?,
        None => columns.iter().collect(),
    };
    // Without columns the rows still count (e.g. `count(*)`).
    let list = if selected.is_empty() {
        "1".to_owned()
    } else {
        selected.iter().map(|column| column.select_item()).collect::<Vec<_>>().join(", ")
    };
    let mut sql = format!("SELECT {list} FROM {from}");
    let translator = FilterSql { dialect, columns };
    let conditions = filters
        .iter()
        .map(|filter| {
            translator
                .translate(filter)
                .ok_or_else(|| plan_datafusion_err!("filter {filter} cannot be pushed down to the source"))
        })
        .collect::<Result<Vec<_>>>()?;
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if let Some(limit) = limit {
        let _ = write!(sql, " LIMIT {limit}");
    }
    Ok(sql)
}

/// Translates DataFusion filters on the source's columns into SQL.
pub(crate) struct FilterSql<'a> {
    pub dialect: SqlDialect,
    pub columns: &'a [SourceColumn],
}

impl FilterSql<'_> {
    /// The SQL for `expr`, or `None` if the database might evaluate it
    /// differently from DataFusion.
    pub fn translate(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => {
                Some(format!("({} AND {})", self.translate(left)?, self.translate(right)?))
            }
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
                Some(format!("({} OR {})", self.translate(left)?, self.translate(right)?))
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => self.comparison(left, *op, right),
            Expr::Not(inner) => Some(format!("NOT ({})", self.translate(inner)?)),
            Expr::IsNull(inner) => Some(format!("{} IS NULL", self.null_operand(self.column(inner)?))),
            Expr::IsNotNull(inner) => Some(format!("{} IS NOT NULL", self.null_operand(self.column(inner)?))),
            Expr::InList(InList { expr, list, negated }) => {
                let column = self.column(expr)?;
                let operand = self.operand(column, false)?;
                if list.is_empty() {
                    return None;
                }
                let values =
                    list.iter().map(|value| self.literal(column, value)).collect::<Option<Vec<_>>>()?;
                Some(format!("{operand} {}IN ({})", not(*negated), values.join(", ")))
            }
            Expr::Between(Between { expr, negated, low, high }) => {
                let column = self.column(expr)?;
                Some(format!(
                    "{} {}BETWEEN {} AND {}",
                    self.operand(column, true)?,
                    not(*negated),
                    self.literal(column, low)?,
                    self.literal(column, high)?
                ))
            }
            Expr::Like(like) => self.like(like),
            Expr::Column(_) => {
                let column = self.column(expr)?;
                (column.data_type == DataType::Boolean).then(|| column.ident.clone())
            }
            _ => None,
        }
    }

    fn comparison(&self, left: &Expr, op: Operator, right: &Expr) -> Option<String> {
        let (column, value, op) = match (self.column(left), self.column(right)) {
            (Some(column), None) => (column, right, op),
            (None, Some(column)) => (column, left, op.swap()?),
            _ => return None,
        };
        let sql_op = match op {
            Operator::Eq => "=",
            Operator::NotEq => "<>",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            _ => return None,
        };
        let ordered = !matches!(op, Operator::Eq | Operator::NotEq);
        Some(format!("{} {sql_op} {}", self.operand(column, ordered)?, self.literal(column, value)?))
    }

    fn like(&self, like: &Like) -> Option<String> {
        let Like { negated, expr, pattern, escape_char, case_insensitive } = like;
        let column = self.column(expr)?;
        let Expr::Literal(pattern, _) = pattern.as_ref() else {
            return None;
        };
        let pattern = string_value(pattern)?;
        if *case_insensitive || column.data_type != DataType::Utf8 {
            return None;
        }
        let escape = match escape_char {
            None if pattern.contains('\\') => return None,
            None => String::new(),
            Some('\'' | '\\' | '\0') => return None,
            Some(c) => format!(" ESCAPE '{c}'"),
        };
        let operand = match self.dialect {
            SqlDialect::Postgres => column.read.clone(),
            // LIKE matches characters; utf8mb4_bin makes them case- and accent-sensitive.
            SqlDialect::Mysql => format!("CONVERT({} USING utf8mb4) COLLATE utf8mb4_bin", column.read),
        };
        let pattern = string_literal(self.dialect, pattern)?;
        Some(format!("{operand} {}LIKE {pattern}{escape}", not(*negated)))
    }

    fn column(&self, expr: &Expr) -> Option<&SourceColumn> {
        match expr {
            Expr::Column(column) => self.columns.iter().find(|c| c.name == column.name),
            _ => None,
        }
    }

    /// What `IS NULL` tests: the stored column, except for MySQL dates and
    /// times, whose zero values read as NULL.
    fn null_operand<'c>(&self, column: &'c SourceColumn) -> &'c str {
        match (self.dialect, &column.data_type) {
            (SqlDialect::Mysql, DataType::Date32 | DataType::Timestamp(..)) => &column.read,
            _ => &column.ident,
        }
    }

    /// The column as comparisons see it; `ordered` for `<`, `>`, `BETWEEN`.
    fn operand(&self, column: &SourceColumn, ordered: bool) -> Option<String> {
        match (&column.data_type, self.dialect) {
            (DataType::Binary, _) | (DataType::Float32, SqlDialect::Mysql) => None,
            (DataType::Utf8, SqlDialect::Postgres) if ordered => {
                Some(format!("{} COLLATE \"C\"", column.read))
            }
            (DataType::Utf8, SqlDialect::Postgres) => Some(column.read.clone()),
            (DataType::Utf8, SqlDialect::Mysql) => {
                Some(format!("CAST(CONVERT({} USING utf8mb4) AS BINARY)", column.read))
            }
            // Native comparisons on the stored column, so indexes apply.
            _ => Some(column.ident.clone()),
        }
    }

    fn literal(&self, column: &SourceColumn, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Literal(value, _) => literal_sql(self.dialect, &column.data_type, value),
            _ => None,
        }
    }
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

fn string_value(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(s)
        }
        _ => None,
    }
}

/// `value` as a literal of a column of type `data_type`, or `None` if the
/// types differ or the value has no exact literal.
fn literal_sql(dialect: SqlDialect, data_type: &DataType, value: &ScalarValue) -> Option<String> {
    use ScalarValue as S;
    let pg = dialect == SqlDialect::Postgres;
    match (data_type, value) {
        (DataType::Boolean, S::Boolean(Some(v))) => Some(if *v { "TRUE" } else { "FALSE" }.to_owned()),
        (DataType::Int8, S::Int8(Some(v))) => Some(v.to_string()),
        (DataType::Int16, S::Int16(Some(v))) => Some(v.to_string()),
        (DataType::Int32, S::Int32(Some(v))) => Some(v.to_string()),
        (DataType::Int64, S::Int64(Some(v))) => Some(v.to_string()),
        // Typed, so that a real column is compared as real, as DataFusion does.
        (DataType::Float32, S::Float32(Some(v))) if pg => {
            Some(format!("CAST('{}' AS real)", float_text(f64::from(*v), v.to_string())))
        }
        (DataType::Float64, S::Float64(Some(v))) if pg => {
            Some(format!("CAST('{}' AS double precision)", float_text(*v, v.to_string())))
        }
        // An exponent makes a MySQL DOUBLE literal; MySQL has no NaN or infinity.
        (DataType::Float64, S::Float64(Some(v))) if v.is_finite() => Some(format!("{v:e}")),
        (DataType::Decimal128(..), S::Decimal128(Some(v), _, scale)) => decimal_text(*v, *scale),
        (DataType::Utf8, value) => string_literal(dialect, string_value(value)?),
        (DataType::Date32, S::Date32(Some(days))) => Some(format!("DATE '{}'", date_text(*days)?)),
        (DataType::Timestamp(TimeUnit::Microsecond, tz), S::TimestampMicrosecond(Some(v), value_tz))
            if tz.as_deref() == value_tz.as_deref() =>
        {
            let text = timestamp_text(*v)?;
            Some(match (pg, tz) {
                (true, Some(_)) => format!("TIMESTAMPTZ '{text}+00'"),
                _ => format!("TIMESTAMP '{text}'"),
            })
        }
        (DataType::Time64(TimeUnit::Microsecond), S::Time64Microsecond(Some(v))) => {
            Some(format!("TIME '{}'", time_text(*v)?))
        }
        _ => None,
    }
}

fn float_text(value: f64, shortest: String) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        shortest
    }
}

/// `12345` at scale 2 → `123.45`.
pub(crate) fn decimal_text(value: i128, scale: i8) -> Option<String> {
    let scale = usize::try_from(scale).ok()?;
    let sign = if value < 0 { "-" } else { "" };
    let digits = value.unsigned_abs().to_string();
    if scale == 0 {
        return Some(format!("{sign}{digits}"));
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    Some(format!("{sign}{whole}.{fraction}"))
}

/// Days since 1970-01-01 as `YYYY-MM-DD`, for years 1 to 9999.
fn date_text(days: i32) -> Option<String> {
    const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;
    let date = time::Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY.checked_add(days)?).ok()?;
    (1..=9999)
        .contains(&date.year())
        .then(|| format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()))
}

/// Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS.ffffff`.
fn timestamp_text(micros: i64) -> Option<String> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()?;
    (1..=9999).contains(&at.year()).then(|| {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond()
        )
    })
}

/// Microseconds since midnight as `HH:MM:SS.ffffff`.
fn time_text(micros: i64) -> Option<String> {
    const DAY: i64 = 86_400_000_000;
    (0..DAY).contains(&micros).then(|| {
        let seconds = micros / 1_000_000;
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            micros % 1_000_000
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_and_strings() {
        assert_eq!(quote_identifier(SqlDialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_identifier(SqlDialect::Mysql, "a`b"), "`a``b`");
        assert_eq!(string_literal(SqlDialect::Postgres, "O'Brien").as_deref(), Some("'O''Brien'"));
        assert_eq!(string_literal(SqlDialect::Postgres, "a\\'").as_deref(), Some("E'a\\\\'''"));
        assert_eq!(string_literal(SqlDialect::Postgres, "a\0"), None);
        assert_eq!(string_literal(SqlDialect::Mysql, "O'Brien").as_deref(), Some("'O''Brien'"));
        assert_eq!(string_literal(SqlDialect::Mysql, "a\\").as_deref(), Some("_utf8mb4 X'615C'"));
    }

    #[test]
    fn renders_exact_literals() {
        assert_eq!(decimal_text(-5, 2).as_deref(), Some("-0.05"));
        assert_eq!(decimal_text(12_345, 2).as_deref(), Some("123.45"));
        assert_eq!(decimal_text(7, 0).as_deref(), Some("7"));
        assert_eq!(date_text(19_723).as_deref(), Some("2024-01-01"));
        assert_eq!(date_text(-719_162).as_deref(), Some("0001-01-01"));
        assert_eq!(date_text(-719_163), None);
        assert_eq!(timestamp_text(1_704_164_645_123_456).as_deref(), Some("2024-01-02 03:04:05.123456"));
        assert_eq!(time_text(3_600_500_000).as_deref(), Some("01:00:00.500000"));
        let f64_lit =
            |v: f64| literal_sql(SqlDialect::Mysql, &DataType::Float64, &ScalarValue::Float64(Some(v)));
        assert_eq!(f64_lit(1.5).as_deref(), Some("1.5e0"));
        assert_eq!(f64_lit(f64::NAN), None);
        assert_eq!(
            literal_sql(SqlDialect::Postgres, &DataType::Float32, &ScalarValue::Float32(Some(f32::INFINITY)))
                .as_deref(),
            Some("CAST('Infinity' AS real)")
        );
        // A literal of another type means DataFusion kept a cast: not ours to evaluate.
        assert_eq!(literal_sql(SqlDialect::Postgres, &DataType::Int32, &ScalarValue::Int64(Some(1))), None);
    }
}
