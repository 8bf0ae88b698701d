//! Subscriptions (订阅) to a grant's row changes, and their deliveries.
//!
//! The store keeps each subscription's cursor and moves it only by
//! compare-and-set: a delivery names the cursor it started from and is
//! refused when the subscription was closed or moved meanwhile.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub id: String,
    pub grant_id: String,
    pub consumer_department_id: String,
    pub url: String,
    pub secret: String,
    pub batch_size: u32,
    /// `active` or `closed`.
    pub status: String,
    pub closed_reason: Option<String>,
    pub cursor_version: u64,
    pub cursor_offset: u64,
    pub failures: u32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub last_delivered_at: Option<String>,
    pub delivered_rows: u64,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub id: String,
    pub grant_id: String,
    pub consumer_department_id: String,
    pub url: String,
    pub secret: String,
    pub batch_size: u32,
    pub cursor_version: u64,
    pub cursor_offset: u64,
}

/// One delivery attempt as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub seq: u32,
    pub at: String,
    pub from_cursor: String,
    pub to_cursor: String,
    pub rows: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// The end of a delivery attempt: on success the cursor moves to `to`;
/// on failure it stays and the next attempt waits until `next_attempt_at`.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    pub from: (u64, u64),
    pub to: (u64, u64),
    pub from_cursor: String,
    pub to_cursor: String,
    pub rows: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    pub next_attempt_at: String,
}

impl DeliveryOutcome {
    fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Which subscriptions to list.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    /// Subscriptions of this department's grants, as consumer or provider.
    pub department_id: Option<String>,
    pub grant_id: Option<String>,
}

fn subscription_from_row(row: &AnyRow) -> Result<SubscriptionRecord> {
    let unsigned = |name: &str| -> Result<u64> {
        let value: i64 = row.try_get(name)?;
        u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("subscription {name} {value}")))
    };
    Ok(SubscriptionRecord {
        id: row.try_get("id")?,
        grant_id: row.try_get("grant_id")?,
        consumer_department_id: row.try_get("consumer_department_id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        batch_size: unsigned("batch_size")? as u32,
        status: row.try_get("status")?,
        closed_reason: row.try_get("closed_reason")?,
        cursor_version: unsigned("cursor_version")?,
        cursor_offset: unsigned("cursor_offset")?,
        failures: unsigned("failures")? as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        last_delivered_at: row.try_get("last_delivered_at")?,
        delivered_rows: unsigned("delivered_rows")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn create_subscription(
        &self,
        actor: &str,
        new: &NewSubscription,
    ) -> Result<SubscriptionRecord> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        sqlx::query(
            "INSERT INTO subscriptions (id, grant_id, consumer_department_id, url, secret, batch_size, \
             status, cursor_version, cursor_offset, failures, next_attempt_at, delivered_rows, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, 0, $9, 0, $10, $9, $9)",
        )
        .bind(&new.id)
        .bind(&new.grant_id)
        .bind(&new.consumer_department_id)
        .bind(&new.url)
        .bind(&new.secret)
        .bind(i64::from(new.batch_size))
        .bind(new.cursor_version as i64)
        .bind(new.cursor_offset as i64)
        .bind(&now)
        .bind(actor)
        .execute(tx.conn())
        .await?;
        // The secret stays out of the ledger: the ledger is read by auditors.
        let cursor = format!("{}.{}", new.cursor_version, new.cursor_offset);
        tx.record(
            "subscription.create",
            &new.id,
            json!({"grant": new.grant_id, "url": new.url, "batch_size": new.batch_size, "cursor": cursor}),
        );
        tx.commit().await?;
        self.subscription(&new.id).await
    }

    pub async fn subscription(&self, id: &str) -> Result<SubscriptionRecord> {
        subscription_from_row(&self.row_by_id("subscriptions", "subscription", id).await?)
    }

    /// Subscriptions matching `filter`, newest first, at most `limit`.
    pub async fn subscriptions(
        &self,
        filter: &SubscriptionFilter,
        limit: u32,
    ) -> Result<Vec<SubscriptionRecord>> {
        let rows = sqlx::query(
            "SELECT s.* FROM subscriptions s JOIN grants g ON g.id = s.grant_id \
             WHERE ($1 IS NULL OR s.consumer_department_id = $1 OR g.provider_department_id = $1) \
             AND ($2 IS NULL OR s.grant_id = $2) ORDER BY s.created_at DESC, s.id LIMIT $3",
        )
        .bind(&filter.department_id)
        .bind(&filter.grant_id)
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    /// Active subscriptions of a grant.
    pub async fn active_subscription_count(&self, grant_id: &str) -> Result<u64> {
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE grant_id = $1 AND status = 'active'")
                .bind(grant_id)
                .fetch_one(self.read())
                .await?
                .try_get("n")?;
        Ok(count as u64)
    }

    /// Active subscriptions whose next attempt is due at `now`, the longest
    /// waiting first.
    pub async fn due_subscriptions(&self, now: &str, limit: u32) -> Result<Vec<SubscriptionRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM subscriptions WHERE status = 'active' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    /// Records a delivery attempt and moves the cursor when it succeeded.
    /// `Ok(false)` when the subscription was closed or moved meanwhile
    /// (nothing is written then).
    pub async fn finish_delivery(&self, actor: &str, id: &str, outcome: &DeliveryOutcome) -> Result<bool> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        let (version, offset, rows) = if outcome.succeeded() {
            (outcome.to.0, outcome.to.1, outcome.rows)
        } else {
            (outcome.from.0, outcome.from.1, 0)
        };
        let updated = sqlx::query(
            "UPDATE subscriptions SET cursor_version = $1, cursor_offset = $2, \
             failures = CASE WHEN $3 IS NULL THEN 0 ELSE failures + 1 END, last_error = $3, \
             next_attempt_at = $4, delivered_rows = delivered_rows + $5, \
             last_delivered_at = CASE WHEN $3 IS NULL AND $5 > 0 THEN $6 ELSE last_delivered_at END, \
             updated_at = $6 \
             WHERE id = $7 AND status = 'active' AND cursor_version = $8 AND cursor_offset = $9",
        )
        .bind(version as i64)
        .bind(offset as i64)
        .bind(&outcome.error)
        .bind(&outcome.next_attempt_at)
        .bind(rows as i64)
        .bind(&now)
        .bind(id)
        .bind(outcome.from.0 as i64)
        .bind(outcome.from.1 as i64)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let seq: i64 = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM subscription_deliveries WHERE subscription_id = $1",
        )
        .bind(id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
        sqlx::query(
            "INSERT INTO subscription_deliveries (subscription_id, seq, at, from_cursor, to_cursor, row_count, \
             status_code, error, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(seq)
        .bind(&now)
        .bind(&outcome.from_cursor)
        .bind(&outcome.to_cursor)
        .bind(outcome.rows as i64)
        .bind(outcome.status_code.map(i64::from))
        .bind(&outcome.error)
        .bind(outcome.latency_ms as i64)
        .execute(tx.conn())
        .await?;
        tx.record(
            "subscription.deliver",
            id,
            json!({"from": outcome.from_cursor, "to": outcome.to_cursor, "rows": outcome.rows,
                   "status_code": outcome.status_code, "error": outcome.error}),
        );
        tx.commit().await?;
        Ok(true)
    }

    /// Delivery attempts of a subscription, newest first.
    pub async fn subscription_deliveries(&self, id: &str, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM subscription_deliveries WHERE subscription_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|row| {
                let status_code: Option<i64> = row.try_get("status_code")?;
                Ok(DeliveryRecord {
                    seq: row.try_get::<i64, _>("seq")? as u32,
                    at: row.try_get("at")?,
                    from_cursor: row.try_get("from_cursor")?,
                    to_cursor: row.try_get("to_cursor")?,
                    rows: row.try_get::<i64, _>("row_count")? as u64,
                    status_code: status_code.map(|code| code as u16),
                    error: row.try_get("error")?,
                    latency_ms: row.try_get::<i64, _>("latency_ms")? as u64,
                })
            })
            .collect()
    }

    /// Closes an active subscription; a closed one stays closed.
    pub async fn close_subscription(
        &self,
        actor: &str,
        id: &str,
        reason: &str,
    ) -> Result<SubscriptionRecord> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE subscriptions SET status = 'closed', closed_reason = $1, updated_at = $2 \
             WHERE id = $3 AND status = 'active'",
        )
        .bind(reason)
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.subscription(id).await?;
            return Err(StoreError::Conflict(format!("subscription {id} is already closed")));
        }
        tx.record("subscription.close", id, json!({"reason": reason}));
        tx.commit().await?;
        self.subscription(id).await
    }
}
