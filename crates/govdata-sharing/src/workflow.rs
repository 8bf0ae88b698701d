//! Demands (需求) and objections (异议), the supply–demand workflow around
//! applications.
//!
//! - A consumer states a need, naming an entry or a provider department; the
//!   provider answers within the answer deadline that it will provide it
//!   (linking a catalog entry of its own, which may still be a draft) or that
//!   it cannot, citing the legal basis.
//! - A consumer objects to a rejection or to a problem in granted data; the
//!   provider may respond; the authority rules. Upholding an objection to a
//!   rejection puts the application back before the provider.

use govdata_catalog::Caller;
use govdata_model::catalog::ResourceCode;
use govdata_model::org::Role;
use govdata_model::FieldError;
use govdata_store::{
    DemandAnswer, DemandRecord, NewDemand, NewObjection, ObjectionRecord, Ruling, StoreError, WorkflowFilter,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::service::{newest_first, Result, Sharing, SharingError, Side, MAX_LISTING};
use crate::terms::text;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandRequest {
    /// What data is needed, in the consumer's words.
    pub description: String,
    /// Information items wanted, by name, if known.
    #[serde(default)]
    pub items: Vec<String>,
    pub purpose: String,
    /// The statutory duty the need rests on.
    pub legal_basis: String,
    /// A published entry the need is about; routes the demand to its provider.
    #[serde(default)]
    pub entry_code: Option<String>,
    /// The provider department, when no entry is named.
    #[serde(default)]
    pub provider_department_id: Option<String>,
}

/// What a demand asks, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DemandDetails {
    pub description: String,
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    Open,
    WillProvide,
    CannotProvide,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DemandView {
    pub id: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub entry_code: Option<String>,
    pub request: DemandDetails,
    pub status: DemandStatus,
    /// The entry that will provide the data.
    pub answer_entry_code: Option<String>,
    /// Why the data cannot be provided.
    pub answer_legal_basis: Option<String>,
    pub answer_comment: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub due_at: String,
    /// Open and past its deadline.
    pub overdue: bool,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandAnswerRequest {
    pub answer: DemandAnswerKind,
    /// For `will_provide`: an entry of the provider's department.
    #[serde(default)]
    pub entry_code: Option<String>,
    /// For `cannot_provide`: the law or regulation.
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandAnswerKind {
    WillProvide,
    CannotProvide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionKind {
    /// Against a rejected application.
    Rejection,
    /// A problem in data received through a grant (wrong, stale, missing).
    DataProblem,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRequest {
    pub kind: ObjectionKind,
    /// For `rejection`.
    #[serde(default)]
    pub application_id: Option<String>,
    /// For `data_problem`.
    #[serde(default)]
    pub grant_id: Option<String>,
    pub statement: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStatus {
    Open,
    Upheld,
    Dismissed,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulingRequest {
    pub ruling: RulingKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RulingKind {
    Upheld,
    Dismissed,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObjectionView {
    pub id: String,
    pub kind: ObjectionKind,
    pub application_id: Option<String>,
    pub grant_id: Option<String>,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub statement: String,
    pub status: ObjectionStatus,
    pub provider_response: Option<String>,
    pub responded_at: Option<String>,
    pub ruling: Option<String>,
    pub ruled_by: Option<String>,
    pub ruled_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("{what} {text:?}: {e}")).into())
}

fn demand_view(record: DemandRecord) -> Result<DemandView> {
    let status: DemandStatus = parse(&record.status, "demand status")?;
    Ok(DemandView {
        overdue: status == DemandStatus::Open && record.due_at < govdata_store::timestamp::now(),
        request: serde_json::from_value(record.request)
            .map_err(|e| StoreError::Corrupt(format!("demand request: {e}")))?,
        status,
        id: record.id,
        consumer_department_id: record.consumer_department_id,
        provider_department_id: record.provider_department_id,
        entry_code: record.entry_code,
        answer_entry_code: record.answer_entry_code,
        answer_legal_basis: record.answer_legal_basis,
        answer_comment: record.answer_comment,
        answered_by: record.answered_by,
        answered_at: record.answered_at,
        due_at: record.due_at,
        created_by: record.created_by,
        created_at: record.created_at,
    })
}

fn objection_view(record: ObjectionRecord) -> Result<ObjectionView> {
    Ok(ObjectionView {
        kind: parse(&record.kind, "objection kind")?,
        status: parse(&record.status, "objection status")?,
        id: record.id,
        application_id: record.application_id,
        grant_id: record.grant_id,
        consumer_department_id: record.consumer_department_id,
        provider_department_id: record.provider_department_id,
        statement: record.statement,
        provider_response: record.provider_response,
        responded_at: record.responded_at,
        ruling: record.ruling,
        ruled_by: record.ruled_by,
        ruled_at: record.ruled_at,
        created_by: record.created_by,
        created_at: record.created_at,
    })
}

impl Sharing {
    /// The caller's department is on one side, or the caller oversees all.
    pub(crate) fn involved(caller: &Caller, consumer: &str, provider: &str) -> bool {
        Self::oversees(caller)
            || caller.context.department_id == consumer
            || caller.context.department_id == provider
    }

    /// The filter for a listing: one side of the caller's department, both
    /// sides, or everything for the authority and the auditor.
    fn side_filters(caller: &Caller, side: Option<Side>) -> Vec<WorkflowFilter> {
        let own = Some(caller.context.department_id.clone());
        let consumer = WorkflowFilter { consumer_department_id: own.clone(), ..WorkflowFilter::default() };
        let provider = WorkflowFilter { provider_department_id: own, ..WorkflowFilter::default() };
        match side {
            Some(Side::Consumer) => vec![consumer],
            Some(Side::Provider) => vec![provider],
            None if Self::oversees(caller) => {
                vec![WorkflowFilter::default()]
            }
            None => vec![consumer, provider],
        }
    }

    /// The provider department of an entry's latest version.
    async fn entry_provider(
        &self,
        field: &str,
        code: &str,
        published_only: bool,
    ) -> Result<(ResourceCode, String)> {
        let code: ResourceCode =
            code.trim().parse().map_err(|e: FieldError| FieldError::new(field, e.message))?;
        let head = self.store.catalog_head(&code).await.map_err(|e| match e {
            StoreError::NotFound(_) => {
                SharingError::Invalid(FieldError::new(field, format!("no entry {code}")))
            }
            other => other.into(),
        })?;
        let version = match (published_only, head.published_version) {
            (true, None) => return Err(FieldError::new(field, format!("{code} is not published")).into()),
            (true, Some(published)) => published,
            (false, _) => head.latest_version,
        };
        let entry = self.store.catalog_version(&code, version).await?;
        Ok((code, entry.metadata.provider.department_id))
    }

    pub async fn create_demand(&self, caller: &Caller, request: DemandRequest) -> Result<DemandView> {
        if !caller.context.roles.contains(&Role::Consumer) {
            return Err(SharingError::forbidden(
                "demands are stated by a consumer department's consumer role",
            ));
        }
        let details = DemandDetails {
            description: text("description", &request.description, 2000)?,
            items: request
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| text(&format!("items[{i}]"), item, 100))
                .collect::<Result<_, _>>()?,
            purpose: text("purpose", &request.purpose, 500)?,
            legal_basis: text("legal_basis", &request.legal_basis, 500)?,
        };
        let (entry_code, provider) = match (&request.entry_code, &request.provider_department_id) {
            (Some(code), None) => {
                let (code, provider) = self.entry_provider("entry_code", code, true).await?;
                (Some(code.to_string()), provider)
            }
            (None, Some(department)) => {
                self.store.department(department).await.map_err(|e| match e {
                    StoreError::NotFound(_) => SharingError::Invalid(FieldError::new(
                        "provider_department_id",
                        format!("no department {department}"),
                    )),
                    other => other.into(),
                })?;
                (None, department.clone())
            }
            _ => {
                return Err(FieldError::new(
                    "provider_department_id",
                    "name either the entry or the provider department",
                )
                .into())
            }
        };
        if provider == caller.context.department_id {
            return Err(
                FieldError::new("provider_department_id", "your own department holds this data").into()
            );
        }
        let demand = NewDemand {
            id: uuid::Uuid::new_v4().to_string(),
            consumer_department_id: caller.context.department_id.clone(),
            provider_department_id: provider,
            entry_code,
            request: serde_json::to_value(&details).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            due_at: self.due_at(OffsetDateTime::now_utc())?,
        };
        demand_view(self.store.create_demand(&caller.actor, demand).await?)
    }

    pub async fn answer_demand(
        &self,
        caller: &Caller,
        id: &str,
        answer: DemandAnswerRequest,
    ) -> Result<DemandView> {
        let record = self.store.demand(id).await?;
        if !(caller.context.roles.contains(&Role::Provider)
            && caller.context.department_id == record.provider_department_id)
        {
            return Err(SharingError::forbidden(
                "the provider department the demand is routed to answers it",
            ));
        }
        let comment = answer.comment.as_deref().map(|c| text("comment", c, 1000)).transpose()?;
        let answer = match answer.answer {
            DemandAnswerKind::WillProvide => {
                let code = answer.entry_code.as_deref().ok_or_else(|| {
                    FieldError::new("entry_code", "name the catalog entry that will provide the data")
                })?;
                let (code, provider) = self.entry_provider("entry_code", code, false).await?;
                if provider != record.provider_department_id {
                    return Err(
                        FieldError::new("entry_code", "the entry belongs to another department").into()
                    );
                }
                DemandAnswer {
                    status: "will_provide".into(),
                    entry_code: Some(code.to_string()),
                    legal_basis: None,
                    comment,
                }
            }
            DemandAnswerKind::CannotProvide => {
                let basis = answer.legal_basis.as_deref().ok_or_else(|| {
                    FieldError::new("legal_basis", "not providing data must cite the law or regulation")
                })?;
                DemandAnswer {
                    status: "cannot_provide".into(),
                    entry_code: None,
                    legal_basis: Some(text("legal_basis", basis, 500)?),
                    comment,
                }
            }
        };
        demand_view(self.store.answer_demand(&caller.actor, id, answer).await?)
    }

    pub async fn demand(&self, caller: &Caller, id: &str) -> Result<DemandView> {
        let record = self.store.demand(id).await?;
        if !Self::involved(caller, &record.consumer_department_id, &record.provider_department_id) {
            return Err(SharingError::forbidden("a demand is seen by its two departments and the authority"));
        }
        demand_view(record)
    }

    pub async fn demands(&self, caller: &Caller, side: Option<Side>) -> Result<Vec<DemandView>> {
        let mut records = Vec::new();
        for filter in Self::side_filters(caller, side) {
            records.extend(self.store.demands(&filter, MAX_LISTING).await?);
        }
        newest_first(&mut records, |d| (&d.created_at, &d.id));
        records.into_iter().map(demand_view).collect()
    }

    pub async fn object(&self, caller: &Caller, request: ObjectionRequest) -> Result<ObjectionView> {
        if !caller.context.roles.contains(&Role::Consumer) {
            return Err(SharingError::forbidden("objections are raised by the consumer department"));
        }
        let statement = text("statement", &request.statement, 2000)?;
        let own = &caller.context.department_id;
        let (application_id, grant_id, provider) = match request.kind {
            ObjectionKind::Rejection => {
                let id = request
                    .application_id
                    .as_deref()
                    .ok_or_else(|| FieldError::new("application_id", "name the rejected application"))?;
                let application = self.store.application(id).await?;
                if &application.consumer_department_id != own {
                    return Err(SharingError::forbidden(
                        "only the applying department objects to a rejection",
                    ));
                }
                if application.status != "rejected" {
                    return Err(FieldError::new("application_id", "the application is not rejected").into());
                }
                (Some(application.id), None, application.provider_department_id)
            }
            ObjectionKind::DataProblem => {
                let id = request
                    .grant_id
                    .as_deref()
                    .ok_or_else(|| FieldError::new("grant_id", "name the grant whose data is wrong"))?;
                let grant = self.store.grant(id).await?;
                if &grant.consumer_department_id != own {
                    return Err(SharingError::forbidden(
                        "only the department holding the grant reports its data",
                    ));
                }
                (None, Some(grant.id), grant.provider_department_id)
            }
        };
        let objection = NewObjection {
            id: uuid::Uuid::new_v4().to_string(),
            kind: serde_json::to_value(request.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .expect("kinds serialize to strings"),
            application_id,
            grant_id,
            consumer_department_id: own.clone(),
            provider_department_id: provider,
            statement,
        };
        objection_view(self.store.create_objection(&caller.actor, objection).await?)
    }

    pub async fn respond_objection(
        &self,
        caller: &Caller,
        id: &str,
        response: &str,
    ) -> Result<ObjectionView> {
        let record = self.store.objection(id).await?;
        if !(caller.context.roles.contains(&Role::Provider)
            && caller.context.department_id == record.provider_department_id)
        {
            return Err(SharingError::forbidden("the provider department responds to an objection"));
        }
        let response = text("response", response, 2000)?;
        objection_view(self.store.respond_objection(&caller.actor, id, &response).await?)
    }

    /// The authority's ruling. Upholding an objection to a rejection puts
    /// the application back to `submitted` for a new decision.
    pub async fn rule_objection(
        &self,
        caller: &Caller,
        id: &str,
        ruling: RulingRequest,
    ) -> Result<ObjectionView> {
        if !caller.context.roles.contains(&Role::Authority) {
            return Err(SharingError::forbidden("the data authority arbitrates objections"));
        }
        let record = self.store.objection(id).await?;
        let reason = text("reason", &ruling.reason, 2000)?;
        let upheld = ruling.ruling == RulingKind::Upheld;
        let ruling = Ruling {
            status: if upheld { "upheld" } else { "dismissed" }.to_owned(),
            ruling: reason,
            reopen_application: match record.application_id.filter(|_| upheld) {
                Some(application) => Some((application, self.due_at(OffsetDateTime::now_utc())?)),
                None => None,
            },
        };
        objection_view(self.store.rule_objection(&caller.actor, id, ruling).await?)
    }

    pub async fn objection(&self, caller: &Caller, id: &str) -> Result<ObjectionView> {
        let record = self.store.objection(id).await?;
        if !Self::involved(caller, &record.consumer_department_id, &record.provider_department_id) {
            return Err(SharingError::forbidden(
                "an objection is seen by its two departments and the authority",
            ));
        }
        objection_view(record)
    }

    pub async fn objections(&self, caller: &Caller, side: Option<Side>) -> Result<Vec<ObjectionView>> {
        let mut records = Vec::new();
        for filter in Self::side_filters(caller, side) {
            records.extend(self.store.objections(&filter, MAX_LISTING).await?);
        }
        newest_first(&mut records, |o| (&o.created_at, &o.id));
        records.into_iter().map(objection_view).collect()
    }
}
