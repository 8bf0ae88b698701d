//! The supply–demand workflow (供需对接) around applications: demands (需求)
//! and objections (异议). Like applications, each answer or ruling names the
//! status it was taken on, so two answers never both land.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sharing::{insert_step, next_step, StepWrite};
use crate::{timestamp, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandRecord {
    pub id: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub entry_code: Option<String>,
    pub request: serde_json::Value,
    pub status: String,
    pub answer_entry_code: Option<String>,
    pub answer_legal_basis: Option<String>,
    pub answer_comment: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub due_at: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewDemand {
    pub id: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub entry_code: Option<String>,
    pub request: serde_json::Value,
    pub due_at: String,
}

/// A provider's answer to an open demand.
#[derive(Debug, Clone)]
pub struct DemandAnswer {
    /// `will_provide` or `cannot_provide`.
    pub status: String,
    pub entry_code: Option<String>,
    pub legal_basis: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectionRecord {
    pub id: String,
    pub kind: String,
    pub application_id: Option<String>,
    pub grant_id: Option<String>,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub statement: String,
    pub status: String,
    pub provider_response: Option<String>,
    pub responded_at: Option<String>,
    pub ruling: Option<String>,
    pub ruled_by: Option<String>,
    pub ruled_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewObjection {
    pub id: String,
    pub kind: String,
    pub application_id: Option<String>,
    pub grant_id: Option<String>,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub statement: String,
}

/// The authority's ruling; an upheld objection to a rejection reopens the
/// application for a new decision, in the same transaction.
#[derive(Debug, Clone)]
pub struct Ruling {
    /// `upheld` or `dismissed`.
    pub status: String,
    pub ruling: String,
    /// The application to reopen, and its new answer deadline.
    pub reopen_application: Option<(String, String)>,
}

/// Which demands or objections to list: one department's side, or all.
#[derive(Debug, Clone, Default)]
pub struct WorkflowFilter {
    pub consumer_department_id: Option<String>,
    pub provider_department_id: Option<String>,
    pub status: Option<String>,
}

fn demand_from_row(row: &AnyRow) -> Result<DemandRecord> {
    let request: String = row.try_get("request")?;
    Ok(DemandRecord {
        id: row.try_get("id")?,
        consumer_department_id: row.try_get("consumer_department_id")?,
        provider_department_id: row.try_get("provider_department_id")?,
        entry_code: row.try_get("entry_code")?,
        request: serde_json::from_str(&request)
            .map_err(|e| StoreError::Corrupt(format!("demand request: {e}")))?,
        status: row.try_get("status")?,
        answer_entry_code: row.try_get("answer_entry_code")?,
        answer_legal_basis: row.try_get("answer_legal_basis")?,
        answer_comment: row.try_get("answer_comment")?,
        answered_by: row.try_get("answered_by")?,
        answered_at: row.try_get("answered_at")?,
        due_at: row.try_get("due_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

fn objection_from_row(row: &AnyRow) -> Result<ObjectionRecord> {
    Ok(ObjectionRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        application_id: row.try_get("application_id")?,
        grant_id: row.try_get("grant_id")?,
        consumer_department_id: row.try_get("consumer_department_id")?,
        provider_department_id: row.try_get("provider_department_id")?,
        statement: row.try_get("statement")?,
        status: row.try_get("status")?,
        provider_response: row.try_get("provider_response")?,
        responded_at: row.try_get("responded_at")?,
        ruling: row.try_get("ruling")?,
        ruled_by: row.try_get("ruled_by")?,
        ruled_at: row.try_get("ruled_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Rows of a workflow table matching `filter`, newest first.
    async fn side_rows(
        &self,
        table: &'static str,
        filter: &WorkflowFilter,
        limit: u32,
    ) -> Result<Vec<AnyRow>> {
        let sql = format!(
            "SELECT * FROM {table} WHERE ($1 IS NULL OR consumer_department_id = $1) \
             AND ($2 IS NULL OR provider_department_id = $2) AND ($3 IS NULL OR status = $3) \
             ORDER BY created_at DESC, id LIMIT $4"
        );
        Ok(sqlx::query(&sql)
            .bind(&filter.consumer_department_id)
            .bind(&filter.provider_department_id)
            .bind(&filter.status)
            .bind(i64::from(limit))
            .fetch_all(self.read())
            .await?)
    }

    pub async fn create_demand(&self, actor: &str, demand: NewDemand) -> Result<DemandRecord> {
        let mut tx = self.begin(actor).await?;
        let request =
            serde_json::to_string(&demand.request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO demands (id, consumer_department_id, provider_department_id, entry_code, request, \
             status, due_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8)",
        )
        .bind(&demand.id)
        .bind(&demand.consumer_department_id)
        .bind(&demand.provider_department_id)
        .bind(&demand.entry_code)
        .bind(request)
        .bind(&demand.due_at)
        .bind(actor)
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        tx.record(
            "demand.create",
            &demand.id,
            json!({"consumer_department_id": demand.consumer_department_id,
                   "provider_department_id": demand.provider_department_id,
                   "entry_code": demand.entry_code, "request": demand.request, "due_at": demand.due_at}),
        );
        tx.commit().await?;
        self.demand(&demand.id).await
    }

    /// Answers an open demand; a conflict when it was answered meanwhile.
    pub async fn answer_demand(&self, actor: &str, id: &str, answer: DemandAnswer) -> Result<DemandRecord> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE demands SET status = $1, answer_entry_code = $2, answer_legal_basis = $3, \
             answer_comment = $4, answered_by = $5, answered_at = $6 WHERE id = $7 AND status = 'open'",
        )
        .bind(&answer.status)
        .bind(&answer.entry_code)
        .bind(&answer.legal_basis)
        .bind(&answer.comment)
        .bind(actor)
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.demand(id).await?;
            return Err(StoreError::Conflict(format!("demand {id} is already answered")));
        }
        tx.record(
            "demand.answer",
            id,
            json!({"status": answer.status, "entry_code": answer.entry_code,
                   "legal_basis": answer.legal_basis, "comment": answer.comment}),
        );
        tx.commit().await?;
        self.demand(id).await
    }

    pub async fn demand(&self, id: &str) -> Result<DemandRecord> {
        demand_from_row(&self.row_by_id("demands", "demand", id).await?)
    }

    /// Demands matching `filter`, newest first, at most `limit`.
    pub async fn demands(&self, filter: &WorkflowFilter, limit: u32) -> Result<Vec<DemandRecord>> {
        self.side_rows("demands", filter, limit).await?.iter().map(demand_from_row).collect()
    }

    pub async fn create_objection(&self, actor: &str, objection: NewObjection) -> Result<ObjectionRecord> {
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO objections (id, kind, application_id, grant_id, consumer_department_id, \
             provider_department_id, statement, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
        )
        .bind(&objection.id)
        .bind(&objection.kind)
        .bind(&objection.application_id)
        .bind(&objection.grant_id)
        .bind(&objection.consumer_department_id)
        .bind(&objection.provider_department_id)
        .bind(&objection.statement)
        .bind(actor)
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        tx.record(
            "objection.create",
            &objection.id,
            json!({"kind": objection.kind, "application_id": objection.application_id,
                   "grant_id": objection.grant_id, "statement": objection.statement}),
        );
        tx.commit().await?;
        self.objection(&objection.id).await
    }

    /// The provider's statement on an open objection, before the ruling.
    pub async fn respond_objection(&self, actor: &str, id: &str, response: &str) -> Result<ObjectionRecord> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE objections SET provider_response = $1, responded_at = $2 \
             WHERE id = $3 AND status = 'open' AND provider_response IS NULL",
        )
        .bind(response)
        .bind(timestamp::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.objection(id).await?;
            return Err(StoreError::Conflict(format!("objection {id} is ruled or already answered")));
        }
        tx.record("objection.respond", id, json!({"response": response}));
        tx.commit().await?;
        self.objection(id).await
    }

    /// Rules on an open objection; an upheld objection to a rejection puts
    /// the application back to `submitted` in the same transaction.
    pub async fn rule_objection(&self, actor: &str, id: &str, ruling: Ruling) -> Result<ObjectionRecord> {
        let mut tx = self.begin(actor).await?;
        let now = timestamp::now();
        let updated = sqlx::query(
            "UPDATE objections SET status = $1, ruling = $2, ruled_by = $3, ruled_at = $4 \
             WHERE id = $5 AND status = 'open'",
        )
        .bind(&ruling.status)
        .bind(&ruling.ruling)
        .bind(actor)
        .bind(&now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            self.objection(id).await?;
            return Err(StoreError::Conflict(format!("objection {id} is already ruled")));
        }
        tx.record("objection.rule", id, json!({"status": ruling.status, "ruling": ruling.ruling}));
        if let Some((application, due_at)) = &ruling.reopen_application {
            let reopened = sqlx::query(
                "UPDATE share_applications SET status = 'submitted', updated_at = $1, due_at = $3, \
                 proposed_terms = NULL WHERE id = $2 AND status = 'rejected'",
            )
            .bind(&now)
            .bind(application)
            .bind(due_at)
            .execute(tx.conn())
            .await?;
            if reopened.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("application {application} is no longer rejected")));
            }
            let seq = next_step(&mut tx, application).await?;
            let step = StepWrite {
                action: "reopen".into(),
                actor: actor.to_owned(),
                comment: Some(format!("objection {id} upheld: {}", ruling.ruling)),
                legal_basis: None,
            };
            insert_step(&mut tx, application, seq, &step, &now).await?;
            tx.record("sharing.reopen", application, json!({"objection": id}));
        }
        tx.commit().await?;
        self.objection(id).await
    }

    pub async fn objection(&self, id: &str) -> Result<ObjectionRecord> {
        objection_from_row(&self.row_by_id("objections", "objection", id).await?)
    }

    /// Objections matching `filter`, newest first, at most `limit`.
    pub async fn objections(&self, filter: &WorkflowFilter, limit: u32) -> Result<Vec<ObjectionRecord>> {
        self.side_rows("objections", filter, limit).await?.iter().map(objection_from_row).collect()
    }
}
