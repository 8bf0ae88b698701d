//! Multi-row statements: on SQLite every statement is a round trip to the
//! database thread, so rows are written many to a statement.

use crate::Backend;

/// Rows per multi-row statement, at most. Statements are cut into
/// power-of-two row counts so a handful of prepared statements serve every
/// batch size; 512 ledger entry rows bind 4096 parameters, far below
/// SQLite's 32766.
pub(crate) const MAX_ROWS_PER_INSERT: usize = 512;

impl Backend {
    /// `$N` placeholders (PostgreSQL) or anonymous `?` (SQLite, where sqlx
    /// resolves each numbered one by a linear scan: quadratic in the
    /// hundreds of parameters of a multi-row statement).
    pub(crate) fn numbered_params(self) -> bool {
        self == Backend::Postgres
    }
}

/// The largest power of two ≤ `remaining`, capped at [`MAX_ROWS_PER_INSERT`].
pub(crate) fn chunk_len(remaining: usize) -> usize {
    let pow = 1usize << (usize::BITS - 1 - remaining.leading_zeros());
    pow.min(MAX_ROWS_PER_INSERT)
}

/// `"$first, …, $(first + count - 1)"`, or `count` anonymous `?`: the
/// parameters of an `IN (…)` list.
pub(crate) fn param_list(first: usize, count: usize, numbered: bool) -> String {
    let param = |i: usize| if numbered { format!("${i}") } else { "?".to_owned() };
    (first..first + count).map(param).collect::<Vec<_>>().join(", ")
}

/// `"<head> ($1, …, $k), (…)"` (or with `?`) for `rows` rows of `columns`
/// parameters.
pub(crate) fn values_sql(head: &str, columns: usize, rows: usize, numbered: bool) -> String {
    let mut sql = String::with_capacity(head.len() + rows * columns * 6);
    sql.push_str(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { " (" } else { ", (" });
        for col in 0..columns {
            if col > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push('$');
                sql.push_str(&(row * columns + col + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}
