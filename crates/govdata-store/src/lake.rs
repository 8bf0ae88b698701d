//! Data resources and aggregation jobs. The store keeps their records and
//! history; the Delta tables themselves live in the lake directory.
//!
//! A job moves queued → running → succeeded | failed, each step with its
//! ledger entry. A node that stops mid-job finds the job `running` at start
//! and fails it ([`Store::fail_interrupted_jobs`]); the table is untouched
//! because a job commits to Delta only at its very end.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// A resource as stored. `spec` holds connection secrets: never show it
/// as is (the server redacts it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub id: String,
    pub entry_code: String,
    pub department_id: String,
    pub name: String,
    /// `physical` or `logical`.
    pub access_kind: String,
    /// `person`, `enterprise` or none.
    pub entity_kind: Option<String>,
    pub spec: serde_json::Value,
    pub source_columns: Option<serde_json::Value>,
    pub next_run_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A resource to register or the new state of one; `ledger_spec` is the
/// spec with secrets removed, which is what the ledger records.
#[derive(Debug, Clone)]
pub struct ResourceWrite {
    pub id: String,
    pub entry_code: String,
    pub department_id: String,
    pub name: String,
    pub access_kind: String,
    pub entity_kind: Option<String>,
    pub spec: serde_json::Value,
    pub ledger_spec: serde_json::Value,
    pub next_run_at: Option<String>,
}

/// Which resources to list.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub entry_code: Option<String>,
    pub department_id: Option<String>,
    pub entity_kind: Option<String>,
}

/// The condition on `resources` a [`ResourceFilter`] binds as `$1`–`$3`.
const RESOURCE_MATCHES: &str = "deleted_at IS NULL AND ($1 IS NULL OR entry_code = $1) \
     AND ($2 IS NULL OR department_id = $2) AND ($3 IS NULL OR entity_kind = $3)";

impl ResourceFilter {
    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        query.bind(&self.entry_code).bind(&self.department_id).bind(&self.entity_kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<JobStatus> {
        Ok(match text {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            other => return Err(StoreError::Corrupt(format!("job status {other:?}"))),
        })
    }
}

/// One aggregation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub resource_id: String,
    /// `manual`, `upload`, `schedule` or `retry`.
    pub trigger: String,
    pub status: JobStatus,
    pub attempt: u32,
    pub requested_by: String,
    pub upload_path: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub rows_read: Option<u64>,
    pub rows_written: Option<u64>,
    pub rows_rejected: Option<u64>,
    pub reject_sample: Option<serde_json::Value>,
    pub drift: Option<serde_json::Value>,
    pub error: Option<String>,
    pub table_version: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub resource_id: String,
    pub trigger: String,
    pub attempt: u32,
    pub upload_path: Option<String>,
    /// The resource's next scheduled run, set in the same transaction so a
    /// schedule fires once per slot.
    pub next_run_at: Option<Option<String>>,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub succeeded: bool,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub reject_sample: serde_json::Value,
    pub drift: Option<serde_json::Value>,
    pub error: Option<String>,
    pub table_version: Option<i64>,
    /// The source's columns, kept on success for the next drift check.
    pub source_columns: Option<serde_json::Value>,
}

fn json_column(row: &AnyRow, name: &str) -> Result<Option<serde_json::Value>> {
    row.try_get::<Option<String>, _>(name)?
        .map(|text| serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}"))))
        .transpose()
}

fn to_text(value: &serde_json::Value) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn resource_from_row(row: &AnyRow) -> Result<ResourceRecord> {
    Ok(ResourceRecord {
        id: row.try_get("id")?,
        entry_code: row.try_get("entry_code")?,
        department_id: row.try_get("department_id")?,
        name: row.try_get("name")?,
        access_kind: row.try_get("access_kind")?,
        entity_kind: row.try_get("entity_kind")?,
        spec: json_column(row, "spec")?.unwrap_or(serde_json::Value::Null),
        source_columns: json_column(row, "source_columns")?,
        next_run_at: row.try_get("next_run_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn job_from_row(row: &AnyRow) -> Result<JobRecord> {
    let count =
        |name: &str| -> Result<Option<u64>> { Ok(row.try_get::<Option<i64>, _>(name)?.map(|n| n as u64)) };
    Ok(JobRecord {
        id: row.try_get("id")?,
        resource_id: row.try_get("resource_id")?,
        trigger: row.try_get("trigger")?,
        status: JobStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        requested_by: row.try_get("requested_by")?,
        upload_path: row.try_get("upload_path")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        rows_read: count("rows_read")?,
        rows_written: count("rows_written")?,
        rows_rejected: count("rows_rejected")?,
        reject_sample: json_column(row, "reject_sample")?,
        drift: json_column(row, "drift")?,
        error: row.try_get("error")?,
        table_version: row.try_get("table_version")?,
    })
}

/// Jobs listed per resource, newest first.
pub const MAX_JOB_PAGE: u32 = 200;

impl Store {
    pub async fn create_resource(&self, actor: &str, resource: ResourceWrite) -> Result<ResourceRecord> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        sqlx::query(
            "INSERT INTO resources (id, entry_code, department_id, name, access_kind, entity_kind, spec, \
             source_columns, next_run_at, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $10)",
        )
        .bind(&resource.id)
        .bind(&resource.entry_code)
        .bind(&resource.department_id)
        .bind(&resource.name)
        .bind(&resource.access_kind)
        .bind(&resource.entity_kind)
        .bind(to_text(&resource.spec)?)
        .bind(&resource.next_run_at)
        .bind(actor)
        .bind(&now)
        .execute(tx.conn())
        .await?;
        tx.record(
            "resource.create",
            &resource.id,
            json!({"entry_code": resource.entry_code, "department_id": resource.department_id,
                   "name": resource.name, "spec": resource.ledger_spec}),
        );
        tx.commit().await?;
        self.resource(&resource.id).await
    }

    /// Replaces a resource's definition. The source's remembered columns
    /// stay, so the next job reports drift against them.
    pub async fn update_resource(&self, actor: &str, resource: ResourceWrite) -> Result<ResourceRecord> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE resources SET name = $1, access_kind = $2, entity_kind = $3, spec = $4, next_run_at = $5, \
             updated_at = $6 WHERE id = $7 AND deleted_at IS NULL",
        )
        .bind(&resource.name)
        .bind(&resource.access_kind)
        .bind(&resource.entity_kind)
        .bind(to_text(&resource.spec)?)
        .bind(&resource.next_run_at)
        .bind(timestamp::now())
        .bind(&resource.id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("resource {}", resource.id)));
        }
        tx.record(
            "resource.update",
            &resource.id,
            json!({"name": resource.name, "spec": resource.ledger_spec}),
        );
        tx.commit().await?;
        self.resource(&resource.id).await
    }

    /// Removes a resource from use. Its table and job history stay on disk
    /// for audit; a queued or running job blocks removal.
    pub async fn delete_resource(&self, actor: &str, id: &str, reason: &str) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let active: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM lake_jobs WHERE resource_id = $1 AND status IN ('queued', 'running')",
        )
        .bind(id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
        if active > 0 {
            return Err(StoreError::Conflict(format!(
                "resource {id} has a job in progress; wait for it to end"
            )));
        }
        let updated = sqlx::query(
            "UPDATE resources SET deleted_at = $1, next_run_at = NULL WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("resource {id}")));
        }
        tx.record("resource.delete", id, json!({"reason": reason}));
        tx.commit().await.map(drop)
    }

    pub async fn resource(&self, id: &str) -> Result<ResourceRecord> {
        let row = sqlx::query("SELECT * FROM resources WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("resource {id}")))?;
        resource_from_row(&row)
    }

    pub async fn resources(&self, filter: &ResourceFilter) -> Result<Vec<ResourceRecord>> {
        let sql = format!("SELECT * FROM resources WHERE {RESOURCE_MATCHES} ORDER BY created_at, id");
        let rows = filter.bind(sqlx::query(&sql)).fetch_all(self.read()).await?;
        rows.iter().map(resource_from_row).collect()
    }

    /// The latest job of each resource matching `filter`, by resource id: one
    /// query for a listing instead of one per resource.
    pub async fn latest_jobs(&self, filter: &ResourceFilter) -> Result<HashMap<String, JobRecord>> {
        let sql = format!(
            "SELECT * FROM (SELECT j.*, ROW_NUMBER() OVER \
             (PARTITION BY j.resource_id ORDER BY j.created_at DESC, j.id DESC) AS newest FROM lake_jobs j \
             WHERE j.resource_id IN (SELECT id FROM resources WHERE {RESOURCE_MATCHES})) latest WHERE newest = 1"
        );
        let rows = filter.bind(sqlx::query(&sql)).fetch_all(self.read()).await?;
        rows.iter().map(|row| job_from_row(row).map(|job| (job.resource_id.clone(), job))).collect()
    }

    /// Resources whose scheduled run is due at `now`.
    pub async fn resources_due(&self, now: &str) -> Result<Vec<ResourceRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM resources WHERE deleted_at IS NULL AND next_run_at IS NOT NULL AND next_run_at <= $1 \
             ORDER BY next_run_at",
        )
        .bind(now)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(resource_from_row).collect()
    }

    /// Queues a job; refused while another job of the resource is queued or
    /// running, so two jobs never race on one table.
    pub async fn queue_job(&self, actor: &str, job: NewJob) -> Result<JobRecord> {
        let mut tx = self.begin(actor).await?;
        let active: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM lake_jobs WHERE resource_id = $1 AND status IN ('queued', 'running')",
        )
        .bind(&job.resource_id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
        if active > 0 {
            return Err(StoreError::Conflict(format!(
                "resource {} already has a job queued or running",
                job.resource_id
            )));
        }
        sqlx::query(
            "INSERT INTO lake_jobs (id, resource_id, trigger, status, attempt, requested_by, upload_path, created_at) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7)",
        )
        .bind(&job.id)
        .bind(&job.resource_id)
        .bind(&job.trigger)
        .bind(i64::from(job.attempt))
        .bind(actor)
        .bind(&job.upload_path)
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        if let Some(next_run_at) = &job.next_run_at {
            sqlx::query("UPDATE resources SET next_run_at = $1 WHERE id = $2")
                .bind(next_run_at)
                .bind(&job.resource_id)
                .execute(tx.conn())
                .await?;
        }
        tx.record(
            "lake.job.queue",
            &job.id,
            json!({"resource_id": job.resource_id, "trigger": job.trigger, "attempt": job.attempt}),
        );
        tx.commit().await?;
        self.job(&job.id).await
    }

    /// The oldest queued job, if any.
    pub async fn next_queued_job(&self) -> Result<Option<JobRecord>> {
        let row =
            sqlx::query("SELECT * FROM lake_jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1")
                .fetch_optional(self.read())
                .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// queued → running; `false` when another runner took it first.
    pub async fn start_job(&self, actor: &str, id: &str) -> Result<bool> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE lake_jobs SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'queued'",
        )
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        tx.record("lake.job.start", id, json!({}));
        tx.commit().await?;
        Ok(true)
    }

    /// running → succeeded | failed, with what the job did.
    pub async fn finish_job(&self, actor: &str, id: &str, outcome: &JobOutcome) -> Result<JobRecord> {
        let mut tx = self.begin(actor).await?;
        let status = if outcome.succeeded { JobStatus::Succeeded } else { JobStatus::Failed };
        let updated = sqlx::query(
            "UPDATE lake_jobs SET status = $1, finished_at = $2, rows_read = $3, rows_written = $4, \
             rows_rejected = $5, reject_sample = $6, drift = $7, error = $8, table_version = $9 \
             WHERE id = $10 AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(timestamp::now())
        .bind(outcome.rows_read as i64)
        .bind(outcome.rows_written as i64)
        .bind(outcome.rows_rejected as i64)
        .bind(to_text(&outcome.reject_sample)?)
        .bind(outcome.drift.as_ref().map(to_text).transpose()?)
        .bind(&outcome.error)
        .bind(outcome.table_version)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("job {id} is not running")));
        }
        if let Some(columns) = &outcome.source_columns {
            sqlx::query(
                "UPDATE resources SET source_columns = $1 WHERE id = (SELECT resource_id FROM lake_jobs WHERE id = $2)",
            )
            .bind(to_text(columns)?)
            .bind(id)
            .execute(tx.conn())
            .await?;
        }
        tx.record(
            "lake.job.finish",
            id,
            json!({"status": status, "rows_read": outcome.rows_read, "rows_written": outcome.rows_written,
                   "rows_rejected": outcome.rows_rejected, "table_version": outcome.table_version,
                   "error": outcome.error}),
        );
        tx.commit().await?;
        self.job(id).await
    }

    /// Records that old versions of a resource's table were archived.
    pub async fn record_lake_archive(&self, actor: &str, id: &str, report: serde_json::Value) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        tx.record("lake.archive", id, report);
        tx.commit().await.map(drop)
    }

    /// Fails every job left `running` by a node that stopped; called once
    /// at start, before the runner takes new jobs. Returns the failed jobs.
    pub async fn fail_interrupted_jobs(&self, actor: &str) -> Result<Vec<JobRecord>> {
        let rows =
            sqlx::query("SELECT id FROM lake_jobs WHERE status = 'running'").fetch_all(self.read()).await?;
        let mut failed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let outcome = JobOutcome {
                succeeded: false,
                rows_read: 0,
                rows_written: 0,
                rows_rejected: 0,
                reject_sample: json!([]),
                drift: None,
                error: Some(
                    "interrupted: the node stopped during the job; the table is at its previous version"
                        .into(),
                ),
                table_version: None,
                source_columns: None,
            };
            failed.push(self.finish_job(actor, &id, &outcome).await?);
        }
        Ok(failed)
    }

    pub async fn job(&self, id: &str) -> Result<JobRecord> {
        let row = sqlx::query("SELECT * FROM lake_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        job_from_row(&row)
    }

    /// A resource's jobs, newest first.
    /// The id of the resource's most recent successful job: what its table
    /// holds changes only when this does.
    pub async fn last_succeeded_job(&self, resource_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT id FROM lake_jobs WHERE resource_id = $1 AND status = 'succeeded' \
             ORDER BY finished_at DESC, id DESC LIMIT 1",
        )
        .bind(resource_id)
        .fetch_optional(self.read())
        .await?;
        Ok(row.map(|row| row.try_get("id")).transpose()?)
    }

    pub async fn jobs(&self, resource_id: &str, limit: u32) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM lake_jobs WHERE resource_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(resource_id)
        .bind(i64::from(limit.min(MAX_JOB_PAGE)))
        .fetch_all(self.read())
        .await?;
        rows.iter().map(job_from_row).collect()
    }
}
