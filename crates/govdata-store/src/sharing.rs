//! Share applications (共享申请), their decision steps, and grants (授权).
//!
//! The store keeps the records and enforces the state machine's one race:
//! a decision names the status it was taken on, and is refused when another
//! decision got there first (compare-and-set). Which decision is allowed is
//! the sharing service's business.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// An application as stored; `request` is the consumer's request document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    pub id: String,
    pub batch_id: String,
    pub entry_code: String,
    pub entry_version: u32,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub status: String,
    pub request: serde_json::Value,
    pub proposed_terms: Option<serde_json::Value>,
    pub due_at: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One step of an application's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationStep {
    pub seq: u32,
    /// `submit`, `auto_approve`, `approve`, `forward`, `reject`, `withdraw`.
    pub action: String,
    pub actor: String,
    pub comment: Option<String>,
    /// The law or regulation a rejection rests on.
    pub legal_basis: Option<String>,
    pub at: String,
}

/// A step to append.
#[derive(Debug, Clone)]
pub struct StepWrite {
    pub action: String,
    /// Who took the step: the caller, or `system:…` for automatic steps.
    pub actor: String,
    pub comment: Option<String>,
    pub legal_basis: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub id: String,
    pub batch_id: String,
    pub entry_code: String,
    pub entry_version: u32,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub status: String,
    pub request: serde_json::Value,
    pub due_at: String,
    /// The steps taken at submission: `submit`, and `auto_approve` when the
    /// application was approved on the spot.
    pub steps: Vec<StepWrite>,
    pub grant: Option<NewGrant>,
}

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: String,
    pub application_id: String,
    pub entry_code: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub terms: serde_json::Value,
    pub mask_key: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: String,
    pub application_id: String,
    pub entry_code: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub terms: serde_json::Value,
    /// Secret: never shown.
    #[serde(skip_serializing)]
    pub mask_key: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A decision on an application: the status it was taken on, the status
/// it leads to, its step, and what it creates.
#[derive(Debug, Clone)]
pub struct Decision {
    pub expected: String,
    pub status: String,
    /// Terms to keep for a later approval (the provider's, pending the
    /// authority's).
    pub proposed_terms: Option<serde_json::Value>,
    pub step: StepWrite,
    pub grant: Option<NewGrant>,
}

/// Which applications to list; unset fields match everything.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub consumer_department_id: Option<String>,
    pub provider_department_id: Option<String>,
    pub status: Option<String>,
    pub batch_id: Option<String>,
    /// Only applications whose answer is due before this time.
    pub due_before: Option<String>,
    /// Only applications still waiting for a decision.
    pub open_only: bool,
}

/// Which grants to list; unset fields match everything.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub consumer_department_id: Option<String>,
    pub provider_department_id: Option<String>,
    pub application_id: Option<String>,
}

fn json_text(row: &AnyRow, name: &str) -> Result<serde_json::Value> {
    let text: String = row.try_get(name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

fn to_text(value: &serde_json::Value) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn application_from_row(row: &AnyRow) -> Result<ApplicationRecord> {
    Ok(ApplicationRecord {
        id: row.try_get("id")?,
        batch_id: row.try_get("batch_id")?,
        entry_code: row.try_get("entry_code")?,
        entry_version: row.try_get::<i64, _>("entry_version")? as u32,
        consumer_department_id: row.try_get("consumer_department_id")?,
        provider_department_id: row.try_get("provider_department_id")?,
        status: row.try_get("status")?,
        request: json_text(row, "request")?,
        proposed_terms: row
            .try_get::<Option<String>, _>("proposed_terms")?
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("proposed_terms: {e}")))
            })
            .transpose()?,
        due_at: row.try_get("due_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn grant_from_row(row: &AnyRow) -> Result<GrantRecord> {
    Ok(GrantRecord {
        id: row.try_get("id")?,
        application_id: row.try_get("application_id")?,
        entry_code: row.try_get("entry_code")?,
        consumer_department_id: row.try_get("consumer_department_id")?,
        provider_department_id: row.try_get("provider_department_id")?,
        terms: json_text(row, "terms")?,
        mask_key: row.try_get("mask_key")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
        revoke_reason: row.try_get("revoke_reason")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Stores applications submitted together, with their first steps and
    /// the grants of those approved on the spot: all or none.
    pub async fn create_applications(&self, actor: &str, applications: Vec<NewApplication>) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        for application in &applications {
            sqlx::query(
                "INSERT INTO share_applications (id, batch_id, entry_code, entry_version, \
                 consumer_department_id, provider_department_id, status, request, due_at, created_by, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(&application.id)
            .bind(&application.batch_id)
            .bind(&application.entry_code)
            .bind(i64::from(application.entry_version))
            .bind(&application.consumer_department_id)
            .bind(&application.provider_department_id)
            .bind(&application.status)
            .bind(to_text(&application.request)?)
            .bind(&application.due_at)
            .bind(actor)
            .bind(&now)
            .execute(tx.conn())
            .await?;
            tx.record(
                "sharing.apply",
                &application.id,
                json!({"batch_id": application.batch_id, "entry_code": application.entry_code,
                       "entry_version": application.entry_version,
                       "consumer_department_id": application.consumer_department_id,
                       "request": application.request, "due_at": application.due_at}),
            );
            for (seq, step) in application.steps.iter().enumerate() {
                insert_step(&mut tx, &application.id, seq as u32 + 1, step, &now).await?;
                if step.action != "submit" {
                    tx.record(
                        &format!("sharing.{}", step.action),
                        &application.id,
                        json!({"by": step.actor, "comment": step.comment}),
                    );
                }
            }
            if let Some(grant) = &application.grant {
                insert_grant(&mut tx, actor, grant, &now).await?;
            }
        }
        tx.commit().await.map(drop)
    }

    /// Moves an application from `decision.expected` to `decision.status`,
    /// appending its step and creating its grant in the same transaction.
    /// Refused with a conflict when the application is no longer in the
    /// expected status.
    pub async fn decide_application(&self, id: &str, decision: Decision) -> Result<ApplicationRecord> {
        let Decision { expected, status, proposed_terms, step, grant } = decision;
        let expected = expected.as_str();
        let mut tx = self.begin(&step.actor).await?;
        let now = timestamp::now();
        let proposed = proposed_terms.as_ref().map(to_text).transpose()?;
        let updated = sqlx::query(
            "UPDATE share_applications SET status = $1, updated_at = $2, \
             proposed_terms = COALESCE($5, proposed_terms) WHERE id = $3 AND status = $4",
        )
        .bind(&status)
        .bind(&now)
        .bind(id)
        .bind(expected)
        .bind(proposed)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "application {id} is no longer {expected}; reload it and decide again"
            )));
        }
        let seq = next_step(&mut tx, id).await?;
        insert_step(&mut tx, id, seq, &step, &now).await?;
        tx.record(
            &format!("sharing.{}", step.action),
            id,
            json!({"from": expected, "to": status, "comment": step.comment, "legal_basis": step.legal_basis}),
        );
        if let Some(grant) = &grant {
            insert_grant(&mut tx, &step.actor, grant, &now).await?;
        }
        tx.commit().await?;
        self.application(id).await
    }

    pub async fn application(&self, id: &str) -> Result<ApplicationRecord> {
        application_from_row(&self.row_by_id("share_applications", "application", id).await?)
    }

    pub async fn application_steps(&self, id: &str) -> Result<Vec<ApplicationStep>> {
        let rows =
            sqlx::query("SELECT * FROM share_application_steps WHERE application_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(self.read())
                .await?;
        rows.iter()
            .map(|row| {
                Ok(ApplicationStep {
                    seq: row.try_get::<i64, _>("seq")? as u32,
                    action: row.try_get("action")?,
                    actor: row.try_get("actor")?,
                    comment: row.try_get("comment")?,
                    legal_basis: row.try_get("legal_basis")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// Applications matching `filter`, newest first, at most `limit`.
    pub async fn applications(
        &self,
        filter: &ApplicationFilter,
        limit: u32,
    ) -> Result<Vec<ApplicationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM share_applications WHERE ($1 IS NULL OR consumer_department_id = $1) \
             AND ($2 IS NULL OR provider_department_id = $2) AND ($3 IS NULL OR status = $3) \
             AND ($4 IS NULL OR batch_id = $4) AND ($5 IS NULL OR due_at < $5) \
             AND ($7 = 0 OR status IN ('submitted', 'awaiting_authority')) \
             ORDER BY created_at DESC, id LIMIT $6",
        )
        .bind(&filter.consumer_department_id)
        .bind(&filter.provider_department_id)
        .bind(&filter.status)
        .bind(&filter.batch_id)
        .bind(&filter.due_before)
        .bind(i64::from(limit))
        .bind(i64::from(filter.open_only))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(application_from_row).collect()
    }

    pub async fn grant(&self, id: &str) -> Result<GrantRecord> {
        grant_from_row(&self.row_by_id("grants", "grant", id).await?)
    }

    /// Grants matching `filter`, newest first, at most `limit`.
    pub async fn grants(&self, filter: &GrantFilter, limit: u32) -> Result<Vec<GrantRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM grants WHERE ($1 IS NULL OR consumer_department_id = $1) \
             AND ($2 IS NULL OR provider_department_id = $2) AND ($3 IS NULL OR application_id = $3) \
             ORDER BY created_at DESC, id LIMIT $4",
        )
        .bind(&filter.consumer_department_id)
        .bind(&filter.provider_department_id)
        .bind(&filter.application_id)
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Revokes a grant at once; a revoked grant stays revoked.
    pub async fn revoke_grant(&self, actor: &str, id: &str, reason: &str) -> Result<GrantRecord> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        let updated = sqlx::query(
            "UPDATE grants SET revoked_at = $1, revoked_by = $2, revoke_reason = $3, updated_at = $1 \
             WHERE id = $4 AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(actor)
        .bind(reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.grant(id).await?;
            return Err(StoreError::Conflict(format!("grant {id} is already revoked")));
        }
        tx.record("grant.revoke", id, json!({"reason": reason}));
        tx.commit().await?;
        self.grant(id).await
    }

    /// Moves a live grant's expiry (renewal).
    pub async fn renew_grant(&self, actor: &str, id: &str, expires_at: &str) -> Result<GrantRecord> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE grants SET expires_at = $1, updated_at = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(expires_at)
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.grant(id).await?;
            return Err(StoreError::Conflict(format!("grant {id} is revoked; apply again")));
        }
        tx.record("grant.renew", id, json!({"expires_at": expires_at}));
        tx.commit().await?;
        self.grant(id).await
    }
}

/// The sequence number of an application's next step.
pub(crate) async fn next_step(tx: &mut crate::WriteTx<'_>, application_id: &str) -> Result<u32> {
    let seq: i64 = sqlx::query(
        "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM share_application_steps WHERE application_id = $1",
    )
    .bind(application_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("n")?;
    Ok(seq as u32)
}

pub(crate) async fn insert_step(
    tx: &mut crate::WriteTx<'_>,
    application_id: &str,
    seq: u32,
    step: &StepWrite,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO share_application_steps (application_id, seq, action, actor, comment, legal_basis, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(application_id)
    .bind(i64::from(seq))
    .bind(&step.action)
    .bind(&step.actor)
    .bind(&step.comment)
    .bind(&step.legal_basis)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn insert_grant(tx: &mut crate::WriteTx<'_>, actor: &str, grant: &NewGrant, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO grants (id, application_id, entry_code, consumer_department_id, provider_department_id, \
         terms, mask_key, expires_at, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&grant.id)
    .bind(&grant.application_id)
    .bind(&grant.entry_code)
    .bind(&grant.consumer_department_id)
    .bind(&grant.provider_department_id)
    .bind(to_text(&grant.terms)?)
    .bind(&grant.mask_key)
    .bind(&grant.expires_at)
    .bind(actor)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.record(
        "grant.create",
        &grant.id,
        json!({"application_id": grant.application_id, "entry_code": grant.entry_code,
               "consumer_department_id": grant.consumer_department_id, "terms": grant.terms,
               "expires_at": grant.expires_at}),
    );
    Ok(())
}

/// Gateway calls of one grant on one day, added to what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    pub grant_id: String,
    /// `YYYY-MM-DD`, China Standard Time.
    pub day: String,
    /// Calls served.
    pub calls: u64,
    /// Calls refused after naming the grant.
    pub refused: u64,
    pub rows_returned: u64,
    pub latency_us_total: u64,
    pub latency_us_max: u64,
}

/// Which usage to read: grants of one consumer or provider department (or
/// all), from `since_day` on.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    pub consumer_department_id: Option<String>,
    pub provider_department_id: Option<String>,
    pub grant_id: Option<String>,
    pub since_day: String,
}

impl Store {
    /// Adds usage deltas, one row per grant and day. Usage is a projection
    /// of the ledger's gateway entries, so it is not itself ledgered.
    pub async fn add_gateway_usage(&self, deltas: &[UsageRecord]) -> Result<()> {
        let mut tx = self.inner.write.begin().await?;
        for delta in deltas {
            sqlx::query(
                "INSERT INTO gateway_usage (grant_id, day, calls, refused, rows_returned, latency_us_total, \
                 latency_us_max) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (grant_id, day) DO UPDATE SET \
                 calls = gateway_usage.calls + excluded.calls, refused = gateway_usage.refused + excluded.refused, \
                 rows_returned = gateway_usage.rows_returned + excluded.rows_returned, \
                 latency_us_total = gateway_usage.latency_us_total + excluded.latency_us_total, \
                 latency_us_max = CASE WHEN excluded.latency_us_max > gateway_usage.latency_us_max \
                 THEN excluded.latency_us_max ELSE gateway_usage.latency_us_max END",
            )
            .bind(&delta.grant_id)
            .bind(&delta.day)
            .bind(delta.calls as i64)
            .bind(delta.refused as i64)
            .bind(delta.rows_returned as i64)
            .bind(delta.latency_us_total as i64)
            .bind(delta.latency_us_max as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stored usage matching `filter`, by grant and day.
    pub async fn gateway_usage(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>> {
        let rows = sqlx::query(
            "SELECT u.* FROM gateway_usage u JOIN grants g ON g.id = u.grant_id \
             WHERE ($1 IS NULL OR g.consumer_department_id = $1) AND ($2 IS NULL OR g.provider_department_id = $2) \
             AND ($3 IS NULL OR u.grant_id = $3) AND u.day >= $4 ORDER BY u.grant_id, u.day",
        )
        .bind(&filter.consumer_department_id)
        .bind(&filter.provider_department_id)
        .bind(&filter.grant_id)
        .bind(&filter.since_day)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|row| {
                let count = |name: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(name)? as u64) };
                Ok(UsageRecord {
                    grant_id: row.try_get("grant_id")?,
                    day: row.try_get("day")?,
                    calls: count("calls")?,
                    refused: count("refused")?,
                    rows_returned: count("rows_returned")?,
                    latency_us_total: count("latency_us_total")?,
                    latency_us_max: count("latency_us_max")?,
                })
            })
            .collect()
    }
}

/// What the sharing report is computed from, for one department's
/// applications (either side) or every department's.
#[derive(Debug, Clone, Default)]
pub struct ApplicationStatisticsRows {
    /// `(hour "YYYY-MM-DDTHH" of submission in UTC, status, count)` since the
    /// window start: by hour, so the caller can count months in its own
    /// time zone.
    pub by_hour_and_status: Vec<(String, String, u64)>,
    /// Open applications past their answer deadline (any age).
    pub overdue: u64,
    /// `(submitted at, first answer at, due at)` of applications submitted
    /// since the window start that were answered (approved, rejected or
    /// forwarded to the authority).
    pub answers: Vec<(String, String, String)>,
}

impl Store {
    /// The rows of the sharing report: applications submitted since `since`
    /// by or to `department_id` (every department's when `None`).
    pub async fn application_statistics(
        &self,
        department_id: Option<&str>,
        since: &str,
        now: &str,
    ) -> Result<ApplicationStatisticsRows> {
        let by_hour_and_status = sqlx::query(
            "SELECT substr(created_at, 1, 13) AS hour, status, COUNT(*) AS count FROM share_applications \
             WHERE created_at >= $1 AND ($2 IS NULL OR consumer_department_id = $2 OR provider_department_id = $2) \
             GROUP BY substr(created_at, 1, 13), status ORDER BY hour, status",
        )
        .bind(since)
        .bind(department_id)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("hour")?, row.try_get("status")?, count(row.try_get("count")?))))
        .collect::<Result<_>>()?;
        let overdue: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM share_applications WHERE status IN ('submitted', 'awaiting_authority') \
             AND due_at < $1 AND ($2 IS NULL OR consumer_department_id = $2 OR provider_department_id = $2)",
        )
        .bind(now)
        .bind(department_id)
        .fetch_one(self.read())
        .await?;
        let answers = sqlx::query(
            "SELECT a.created_at AS submitted_at, MIN(s.at) AS answered_at, a.due_at AS due_at \
             FROM share_applications a JOIN share_application_steps s ON s.application_id = a.id \
             AND s.action IN ('auto_approve', 'approve', 'reject', 'forward') \
             WHERE a.created_at >= $1 AND ($2 IS NULL OR a.consumer_department_id = $2 OR a.provider_department_id = $2) \
             GROUP BY a.id, a.created_at, a.due_at",
        )
        .bind(since)
        .bind(department_id)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("submitted_at")?, row.try_get("answered_at")?, row.try_get("due_at")?)))
        .collect::<Result<_>>()?;
        Ok(ApplicationStatisticsRows { by_hour_and_status, overdue: count(overdue), answers })
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}
