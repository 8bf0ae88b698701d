//! The sharing service: applications, decisions and grants.
//!
//! Who may do what:
//! - a consumer (role `consumer`) applies for published entries of other
//!   departments and withdraws its own open applications;
//! - the provider department's `provider` decides a submitted application;
//!   for 重要/核心 data its approval forwards the application to the
//!   authority;
//! - the `authority` decides forwarded applications, and any submitted one
//!   whose answer deadline has passed (escalation);
//! - a rejection always cites a legal basis (非因法定事由不得拒绝);
//! - the provider department and the authority revoke and renew grants;
//! - applications and grants are visible to both departments, the
//!   authority and the auditor.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use govdata_catalog::Caller;
use govdata_lake::service::{ResourceError, Resources};
use govdata_lake::LakeError;
use govdata_model::calendar::WorkingCalendar;
use govdata_model::catalog::{CatalogEntry, ResourceCode};
use govdata_model::org::Role;
use govdata_model::{ApiError, ErrorCode, FieldError};
use govdata_store::{
    ApplicationFilter, ApplicationRecord, ApplicationStep, Decision, GrantFilter, GrantRecord,
    NewApplication, NewGrant, StepWrite, Store, StoreError,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::gateway::LiveGrant;
use crate::masking::MaskRule;
use crate::terms::{
    needs_authority, text, ApplicationRequest, ApplyRequest, GrantTerms, Narrowing, RowFilter,
};

#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The caller may not do this; for gateway calls also an expired or
    /// revoked grant. `field` names the input at fault, if one is.
    #[error("{message}")]
    Forbidden { field: Option<String>, message: String },
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    Conflict(String),
}

impl SharingError {
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        SharingError::Forbidden { field: None, message: message.into() }
    }
}

impl ApiError for SharingError {
    fn code(&self) -> ErrorCode {
        match self {
            SharingError::Invalid(_) => ErrorCode::InvalidInput,
            SharingError::Store(e) => e.code(),
            SharingError::Lake(e) => e.code(),
            SharingError::Resource(e) => e.code(),
            SharingError::Forbidden { .. } => ErrorCode::Forbidden,
            SharingError::QuotaExceeded(_) => ErrorCode::RateLimited,
            SharingError::Conflict(_) => ErrorCode::Conflict,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            SharingError::Invalid(e) => Some(&e.field),
            SharingError::Store(e) => e.field(),
            SharingError::Lake(e) => e.field(),
            SharingError::Resource(e) => e.field(),
            SharingError::Forbidden { field, .. } => field.as_deref(),
            SharingError::QuotaExceeded(_) | SharingError::Conflict(_) => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            SharingError::Invalid(e) => e.message.clone(),
            SharingError::Store(e) => e.public_message(),
            SharingError::Lake(e) => e.public_message(),
            SharingError::Resource(e) => e.public_message(),
            other => other.to_string(),
        }
    }
}

pub type Result<T, E = SharingError> = std::result::Result<T, E>;

/// `[sharing]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharingConfig {
    /// Approve at once an application whose items are all 无条件共享 (and
    /// not 重要/核心); the approval is still recorded.
    pub auto_approve_unconditional: bool,
    /// Working days a provider has to answer (申请答复时限).
    pub answer_days: u32,
    /// Largest table the gateway holds in memory, indexed by entity key,
    /// for lookups and verifications; larger ones are read per call.
    pub index_max_rows: usize,
}

impl Default for SharingConfig {
    fn default() -> Self {
        SharingConfig { auto_approve_unconditional: true, answer_days: 10, index_max_rows: 1_000_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Waiting for the provider.
    Submitted,
    /// Approved by the provider; waiting for the authority (重要/核心 data).
    AwaitingAuthority,
    Approved,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::AwaitingAuthority => "awaiting_authority",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "submitted" => ApplicationStatus::Submitted,
            "awaiting_authority" => ApplicationStatus::AwaitingAuthority,
            "approved" => ApplicationStatus::Approved,
            "rejected" => ApplicationStatus::Rejected,
            "withdrawn" => ApplicationStatus::Withdrawn,
            other => return Err(StoreError::Corrupt(format!("application status {other:?}")).into()),
        })
    }

    fn is_open(self) -> bool {
        matches!(self, ApplicationStatus::Submitted | ApplicationStatus::AwaitingAuthority)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepView {
    pub seq: u32,
    /// `submit`, `auto_approve`, `forward`, `approve`, `reject`, `withdraw`.
    pub action: String,
    pub actor: String,
    pub comment: Option<String>,
    pub legal_basis: Option<String>,
    pub at: String,
}

impl From<ApplicationStep> for StepView {
    fn from(step: ApplicationStep) -> Self {
        StepView {
            seq: step.seq,
            action: step.action,
            actor: step.actor,
            comment: step.comment,
            legal_basis: step.legal_basis,
            at: step.at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: String,
    /// Applications submitted together share a batch.
    pub batch_id: String,
    pub entry_code: String,
    pub entry_version: u32,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub status: ApplicationStatus,
    pub request: ApplicationRequest,
    /// The provider's approved terms, while the authority decides.
    pub proposed_terms: Option<GrantTerms>,
    /// The answer is due by this time.
    pub due_at: String,
    /// Open and past its deadline: escalated to the authority.
    pub overdue: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// The timeline (`seq`, `action` — submit, auto_approve, forward,
    /// approve, reject, reopen, withdraw — `actor`, `comment`,
    /// `legal_basis`, `at`); shown for one application, not in listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub steps: Option<Vec<ApplicationStep>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Active,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: String,
    pub application_id: String,
    pub entry_code: String,
    pub consumer_department_id: String,
    pub provider_department_id: String,
    pub terms: GrantTerms,
    pub state: GrantState,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// A provider's or authority's answer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: DecisionKind,
    #[serde(default)]
    pub comment: Option<String>,
    /// Required to reject: the law or regulation the refusal rests on.
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// Masking per item, overriding the defaults (approval only).
    #[serde(default)]
    pub masking: BTreeMap<String, MaskRule>,
    /// A narrower scope than the consumer asked for (approval only).
    #[serde(default)]
    pub row_filter: Option<RowFilter>,
    /// A lower daily quota than asked for, or one where none was (approval only).
    #[serde(default)]
    pub daily_quota: Option<u64>,
    /// A lower rate per second than asked for, or one where none was (approval only).
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

impl DecisionRequest {
    fn narrowing(&self) -> Narrowing {
        Narrowing {
            masking: self.masking.clone(),
            row_filter: self.row_filter.clone(),
            daily_quota: self.daily_quota,
            rate_per_second: self.rate_per_second,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
}

/// Which applications to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApplicationQuery {
    /// `consumer`: my department's applications; `provider`: those for my
    /// department's data; absent: everything the caller may see.
    pub side: Option<Side>,
    pub status: Option<ApplicationStatus>,
    /// Only open applications past their deadline.
    #[serde(default)]
    pub overdue: bool,
    pub batch_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Consumer,
    Provider,
}

/// Most applications or grants in one listing.
pub const MAX_LISTING: u32 = 500;

/// China Standard Time, the zone deadlines and daily quotas are counted in.
pub(crate) const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+8 is a valid offset"),
};

#[derive(Clone)]
pub struct Sharing {
    pub(crate) store: Store,
    pub(crate) resources: Resources,
    calendar: Arc<WorkingCalendar>,
    pub(crate) config: SharingConfig,
    /// Gateway calls per grant and day (China Standard Time): quotas and
    /// usage statistics.
    pub(crate) usage: Arc<crate::usage::UsageBook>,
    /// Grants recently read by the gateway; see [`GRANT_CACHE_TTL`].
    grant_cache: Arc<Mutex<GrantCache>>,
    pub(crate) indexes: Arc<crate::index::IndexCache>,
}

/// Grants by id, and a generation that every forget bumps: a read that
/// raced with a revocation is not stored back.
#[derive(Default)]
pub(crate) struct GrantCache {
    grants: HashMap<String, (LiveGrant, Instant)>,
    generation: u64,
}

/// How long the gateway uses a grant without reading it again. A grant
/// revoked or renewed through this process is forgotten at once; through
/// another process sharing the database, within this time. A batch export
/// reads the grant from the store before every batch.
pub const GRANT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Sharing {
    pub fn new(
        store: Store,
        resources: Resources,
        calendar: WorkingCalendar,
        config: SharingConfig,
    ) -> Sharing {
        Sharing {
            store,
            resources,
            calendar: Arc::new(calendar),
            config,
            usage: Arc::default(),
            grant_cache: Arc::default(),
            indexes: Arc::default(),
        }
    }

    fn has(caller: &Caller, role: Role) -> bool {
        caller.context.roles.contains(&role)
    }

    /// The authority and the auditor see every department's sharing.
    pub(crate) fn oversees(caller: &Caller) -> bool {
        Self::has(caller, Role::Authority) || Self::has(caller, Role::Auditor)
    }

    /// The published version of an entry: applications are for published data.
    async fn published_entry(&self, field: &str, code: &str) -> Result<CatalogEntry> {
        let code: ResourceCode =
            code.trim().parse().map_err(|e: FieldError| FieldError::new(field, e.message))?;
        let head = self.store.catalog_head(&code).await.map_err(|e| match e {
            StoreError::NotFound(_) => {
                SharingError::Invalid(FieldError::new(field, format!("no entry {code}")))
            }
            other => other.into(),
        })?;
        let Some(version) = head.published_version else {
            return Err(FieldError::new(field, format!("{code} is not published")).into());
        };
        Ok(self.store.catalog_version(&code, version).await?)
    }

    /// The end of the day (China Standard Time) `answer_days` working days
    /// after `now`.
    pub(crate) fn due_at(&self, now: OffsetDateTime) -> Result<String> {
        let today = now.to_offset(CHINA).date();
        let last_day = self
            .calendar
            .deadline(today, self.config.answer_days)
            .map_err(|e| StoreError::Corrupt(format!("working-day calendar: {e}")))?
            .value;
        let end = last_day.midnight().assume_offset(CHINA) + Duration::days(1);
        Ok(govdata_store::timestamp::format(end))
    }

    fn new_grant(
        application_id: &str,
        entry: &CatalogEntry,
        consumer_department_id: &str,
        terms: &GrantTerms,
        duration_days: u32,
    ) -> Result<NewGrant> {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let expires = OffsetDateTime::now_utc() + Duration::days(i64::from(duration_days));
        Ok(NewGrant {
            id: uuid::Uuid::new_v4().to_string(),
            application_id: application_id.to_owned(),
            entry_code: entry.code.to_string(),
            consumer_department_id: consumer_department_id.to_owned(),
            provider_department_id: entry.metadata.provider.department_id.clone(),
            terms: to_value(terms)?,
            mask_key: hex::encode(key),
            expires_at: govdata_store::timestamp::format(expires),
        })
    }

    /// Submits a one-stop application: one application per entry, all
    /// stored or none. Applications for 无条件共享 data are approved at once
    /// when `auto_approve_unconditional` is set.
    pub async fn apply(&self, caller: &Caller, request: ApplyRequest) -> Result<Vec<ApplicationView>> {
        if !Self::has(caller, Role::Consumer) {
            return Err(SharingError::forbidden(
                "applications are made by a consumer department's consumer role",
            ));
        }
        let auto_approve = |stored: &ApplicationRequest, entry: &CatalogEntry| {
            (self.config.auto_approve_unconditional && stored.is_unconditional(entry)).then(|| StepWrite {
                action: "auto_approve".into(),
                actor: "system:auto-approve".into(),
                comment: Some("无条件共享: approved without review".into()),
                legal_basis: None,
            })
        };
        self.store_applications(caller, &caller.context.department_id, &request, auto_approve).await
    }

    /// Returns data to a locality (数据回流 / 属地返还): the data authority
    /// grants `consumer_department_id` — a child node, registered as a
    /// department of another node — the entries of `request` as a standing
    /// grant, approved at once and recorded as such. The request's row
    /// filters carry the region the data is returned for.
    pub async fn return_data(
        &self,
        caller: &Caller,
        consumer_department_id: &str,
        request: ApplyRequest,
    ) -> Result<Vec<ApplicationView>> {
        if !Self::has(caller, Role::Authority) {
            return Err(SharingError::forbidden("data is returned to localities by the data authority"));
        }
        let approve = |_: &ApplicationRequest, _: &CatalogEntry| {
            Some(StepWrite {
                action: "return".into(),
                actor: caller.actor.clone(),
                comment: Some("数据回流: a standing grant to the locality".into()),
                legal_basis: None,
            })
        };
        self.store_applications(caller, consumer_department_id, &request, approve).await
    }

    /// Checks and stores one application per entry of `request` for
    /// `consumer_department_id`, all or none; `approval` decides per entry
    /// whether it is approved on the spot (with that step), making its grant.
    async fn store_applications(
        &self,
        caller: &Caller,
        consumer_department_id: &str,
        request: &ApplyRequest,
        approval: impl Fn(&ApplicationRequest, &CatalogEntry) -> Option<StepWrite>,
    ) -> Result<Vec<ApplicationView>> {
        request.validate_common()?;
        let batch_id = uuid::Uuid::new_v4().to_string();
        let now = OffsetDateTime::now_utc();
        let due_at = self.due_at(now)?;
        let mut applications = Vec::with_capacity(request.entries.len());
        for (index, wanted) in request.entries.iter().enumerate() {
            let field = format!("entries[{index}].entry_code");
            let entry = self.published_entry(&field, &wanted.entry_code).await?;
            if entry.metadata.provider.department_id == consumer_department_id {
                return Err(FieldError::new(field, "your own department provides this entry").into());
            }
            let stored = request.for_entry(index, &entry)?;
            let id = uuid::Uuid::new_v4().to_string();
            let submit = StepWrite {
                action: "submit".into(),
                actor: caller.actor.clone(),
                comment: None,
                legal_basis: Some(stored.legal_basis.clone()),
            };
            let (status, steps, grant) = match approval(&stored, &entry) {
                Some(approve) => {
                    let terms = stored.terms(&entry);
                    let grant =
                        Self::new_grant(&id, &entry, consumer_department_id, &terms, stored.duration_days)?;
                    (ApplicationStatus::Approved, vec![submit, approve], Some(grant))
                }
                None => (ApplicationStatus::Submitted, vec![submit], None),
            };
            applications.push(NewApplication {
                id,
                batch_id: batch_id.clone(),
                entry_code: entry.code.to_string(),
                entry_version: entry.version,
                consumer_department_id: consumer_department_id.to_owned(),
                provider_department_id: entry.metadata.provider.department_id.clone(),
                status: status.as_str().to_owned(),
                request: to_value(&stored)?,
                due_at: due_at.clone(),
                steps,
                grant,
            });
        }
        let ids: Vec<String> = applications.iter().map(|a| a.id.clone()).collect();
        self.store.create_applications(&caller.actor, applications).await?;
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            views.push(self.view(self.store.application(&id).await?, false).await?);
        }
        Ok(views)
    }

    fn may_see_application(caller: &Caller, record: &ApplicationRecord) -> bool {
        Self::oversees(caller)
            || caller.context.department_id == record.consumer_department_id
            || caller.context.department_id == record.provider_department_id
    }

    pub async fn application(&self, caller: &Caller, id: &str) -> Result<ApplicationView> {
        let record = self.store.application(id).await?;
        if !Self::may_see_application(caller, &record) {
            return Err(SharingError::forbidden(
                "an application is seen by its two departments and the authority",
            ));
        }
        self.view(record, true).await
    }

    pub async fn applications(
        &self,
        caller: &Caller,
        query: ApplicationQuery,
    ) -> Result<Vec<ApplicationView>> {
        let own = Some(caller.context.department_id.clone());
        let mut filter = ApplicationFilter {
            status: query.status.map(|s| s.as_str().to_owned()),
            batch_id: query.batch_id,
            due_before: query.overdue.then(govdata_store::timestamp::now),
            open_only: query.overdue,
            ..ApplicationFilter::default()
        };
        match query.side {
            Some(Side::Consumer) => filter.consumer_department_id = own,
            Some(Side::Provider) => filter.provider_department_id = own,
            None if Self::oversees(caller) => {}
            None => {
                let mut both = self
                    .store
                    .applications(
                        &ApplicationFilter { consumer_department_id: own.clone(), ..filter.clone() },
                        MAX_LISTING,
                    )
                    .await?;
                both.extend(
                    self.store
                        .applications(
                            &ApplicationFilter { provider_department_id: own, ..filter },
                            MAX_LISTING,
                        )
                        .await?,
                );
                newest_first(&mut both, |a| (&a.created_at, &a.id));
                return self.views(both, query.overdue).await;
            }
        }
        let records = self.store.applications(&filter, MAX_LISTING).await?;
        self.views(records, query.overdue).await
    }

    async fn views(&self, records: Vec<ApplicationRecord>, only_open: bool) -> Result<Vec<ApplicationView>> {
        let mut views = Vec::with_capacity(records.len());
        for record in records {
            let view = self.view(record, false).await?;
            if !only_open || view.overdue {
                views.push(view);
            }
        }
        Ok(views)
    }

    async fn view(&self, record: ApplicationRecord, with_steps: bool) -> Result<ApplicationView> {
        let status = ApplicationStatus::parse(&record.status)?;
        let steps = if with_steps { Some(self.store.application_steps(&record.id).await?) } else { None };
        Ok(ApplicationView {
            overdue: status.is_open() && record.due_at < govdata_store::timestamp::now(),
            request: from_value(&record.request, "request")?,
            proposed_terms: record
                .proposed_terms
                .as_ref()
                .map(|t| from_value(t, "proposed_terms"))
                .transpose()?,
            id: record.id,
            batch_id: record.batch_id,
            entry_code: record.entry_code,
            entry_version: record.entry_version,
            consumer_department_id: record.consumer_department_id,
            provider_department_id: record.provider_department_id,
            status,
            due_at: record.due_at,
            created_by: record.created_by,
            created_at: record.created_at,
            updated_at: record.updated_at,
            steps,
        })
    }

    /// The provider's or authority's decision on an application.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        decision: DecisionRequest,
    ) -> Result<ApplicationView> {
        let record = self.store.application(id).await?;
        let status = ApplicationStatus::parse(&record.status)?;
        let code: ResourceCode = record
            .entry_code
            .parse()
            .map_err(|e: FieldError| StoreError::Corrupt(format!("application entry code: {}", e.message)))?;
        let entry = self.store.catalog_version(&code, record.entry_version).await?;
        let is_provider = Self::has(caller, Role::Provider)
            && caller.context.department_id == record.provider_department_id;
        let is_authority = Self::has(caller, Role::Authority);
        let overdue = record.due_at < govdata_store::timestamp::now();
        let allowed = match status {
            ApplicationStatus::Submitted => is_provider || (is_authority && overdue),
            ApplicationStatus::AwaitingAuthority => is_authority,
            _ => {
                return Err(SharingError::Conflict(format!(
                    "application {id} is {}; there is nothing to decide",
                    status.as_str()
                )))
            }
        };
        if !allowed {
            return Err(SharingError::forbidden(match status {
                ApplicationStatus::Submitted => {
                    "the provider department decides; the authority only once the deadline has passed"
                }
                _ => "this application waits for the data authority (重要/核心 data)",
            }));
        }
        if caller.context.department_id == record.consumer_department_id {
            return Err(SharingError::forbidden("nobody decides their own department's application"));
        }
        let comment = decision.comment.as_deref().map(|c| text("comment", c, 1000)).transpose()?;
        let request: ApplicationRequest = from_value(&record.request, "request")?;
        let (to, step_action, proposed, grant, legal_basis) = match decision.decision {
            DecisionKind::Reject => {
                let basis = decision.legal_basis.as_deref().ok_or_else(|| {
                    FieldError::new("legal_basis", "a rejection must cite the law or regulation it rests on")
                })?;
                (ApplicationStatus::Rejected, "reject", None, None, Some(text("legal_basis", basis, 500)?))
            }
            DecisionKind::Approve => {
                // The authority starts from the provider's terms: it may
                // narrow them, never widen them.
                let base = match &record.proposed_terms {
                    Some(proposed) => from_value(proposed, "proposed_terms")?,
                    None => request.terms(&entry),
                };
                let terms = base.narrowed(&entry, &decision.narrowing())?;
                if status == ApplicationStatus::Submitted && needs_authority(&entry) && is_provider {
                    (ApplicationStatus::AwaitingAuthority, "forward", Some(to_value(&terms)?), None, None)
                } else {
                    if status == ApplicationStatus::AwaitingAuthority {
                        let steps = self.store.application_steps(id).await?;
                        if steps.iter().any(|s| s.action == "forward" && s.actor == caller.actor) {
                            return Err(SharingError::forbidden(
                                "重要/核心 data needs two people: the one who forwarded it does not approve it too",
                            ));
                        }
                    }
                    let grant = Self::new_grant(
                        id,
                        &entry,
                        &record.consumer_department_id,
                        &terms,
                        request.duration_days,
                    )?;
                    (ApplicationStatus::Approved, "approve", None, Some(grant), None)
                }
            }
        };
        let step =
            StepWrite { action: step_action.into(), actor: caller.actor.clone(), comment, legal_basis };
        let decided = self
            .store
            .decide_application(
                id,
                Decision {
                    expected: status.as_str().to_owned(),
                    status: to.as_str().to_owned(),
                    proposed_terms: proposed,
                    step,
                    grant,
                },
            )
            .await?;
        self.view(decided, true).await
    }

    /// The consumer takes back an open application.
    pub async fn withdraw(&self, caller: &Caller, id: &str, reason: &str) -> Result<ApplicationView> {
        let record = self.store.application(id).await?;
        if !(Self::has(caller, Role::Consumer)
            && caller.context.department_id == record.consumer_department_id)
        {
            return Err(SharingError::forbidden("only the applying department withdraws its application"));
        }
        let status = ApplicationStatus::parse(&record.status)?;
        if !status.is_open() {
            return Err(SharingError::Conflict(format!("application {id} is {}", status.as_str())));
        }
        let step = StepWrite {
            action: "withdraw".into(),
            actor: caller.actor.clone(),
            comment: Some(text("reason", reason, 500)?),
            legal_basis: None,
        };
        let decision = Decision {
            expected: status.as_str().to_owned(),
            status: ApplicationStatus::Withdrawn.as_str().to_owned(),
            proposed_terms: None,
            step,
            grant: None,
        };
        let withdrawn = self.store.decide_application(id, decision).await?;
        self.view(withdrawn, true).await
    }

    fn may_see_grant(caller: &Caller, grant: &GrantRecord) -> bool {
        Self::oversees(caller)
            || caller.context.department_id == grant.consumer_department_id
            || caller.context.department_id == grant.provider_department_id
    }

    fn may_manage_grant(caller: &Caller, grant: &GrantRecord) -> Result<()> {
        let provider =
            Self::has(caller, Role::Provider) && caller.context.department_id == grant.provider_department_id;
        let authority = Self::has(caller, Role::Authority)
            && caller.context.department_id != grant.consumer_department_id;
        if provider || authority {
            Ok(())
        } else {
            Err(SharingError::forbidden(
                "grants are revoked and renewed by the provider department or the authority",
            ))
        }
    }

    /// A grant as the gateway checks it: from the cache while fresh, its
    /// terms parsed once per read from the store rather than once per call.
    pub(crate) async fn cached_grant(&self, id: &str) -> Result<LiveGrant> {
        let generation = {
            let cache = self.grant_cache.lock().expect("grant cache lock");
            if let Some((grant, read_at)) = cache.grants.get(id) {
                if read_at.elapsed() < GRANT_CACHE_TTL {
                    return Ok(grant.clone());
                }
            }
            cache.generation
        };
        let record = self.store.grant(id).await?;
        let terms = crate::gateway::parse_terms(&record)?;
        let grant = LiveGrant { record: Arc::new(record), terms: Arc::new(terms) };
        let mut cache = self.grant_cache.lock().expect("grant cache lock");
        if cache.generation == generation {
            cache.grants.insert(id.to_owned(), (grant.clone(), Instant::now()));
        }
        Ok(grant)
    }

    fn forget_grant(&self, id: &str) {
        let mut cache = self.grant_cache.lock().expect("grant cache lock");
        cache.grants.remove(id);
        cache.generation += 1;
    }

    pub(crate) fn grant_view(record: GrantRecord) -> Result<GrantView> {
        let state = if record.revoked_at.is_some() {
            GrantState::Revoked
        } else if record.expires_at <= govdata_store::timestamp::now() {
            GrantState::Expired
        } else {
            GrantState::Active
        };
        Ok(GrantView {
            terms: from_value(&record.terms, "terms")?,
            state,
            id: record.id,
            application_id: record.application_id,
            entry_code: record.entry_code,
            consumer_department_id: record.consumer_department_id,
            provider_department_id: record.provider_department_id,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            revoked_by: record.revoked_by,
            revoke_reason: record.revoke_reason,
            created_by: record.created_by,
            created_at: record.created_at,
        })
    }

    pub async fn grant(&self, caller: &Caller, id: &str) -> Result<GrantView> {
        let record = self.store.grant(id).await?;
        if !Self::may_see_grant(caller, &record) {
            return Err(SharingError::forbidden("a grant is seen by its two departments and the authority"));
        }
        Self::grant_view(record)
    }

    /// Grants the caller's department holds (`consumer`) or gave
    /// (`provider`); every grant for the authority and the auditor.
    pub async fn grants(&self, caller: &Caller, side: Option<Side>) -> Result<Vec<GrantView>> {
        let own = Some(caller.context.department_id.clone());
        let records = match side {
            Some(Side::Consumer) => {
                self.store
                    .grants(
                        &GrantFilter { consumer_department_id: own, ..GrantFilter::default() },
                        MAX_LISTING,
                    )
                    .await?
            }
            Some(Side::Provider) => {
                self.store
                    .grants(
                        &GrantFilter { provider_department_id: own, ..GrantFilter::default() },
                        MAX_LISTING,
                    )
                    .await?
            }
            None if Self::oversees(caller) => self.store.grants(&GrantFilter::default(), MAX_LISTING).await?,
            None => {
                let mut both = self
                    .store
                    .grants(
                        &GrantFilter { consumer_department_id: own.clone(), ..GrantFilter::default() },
                        MAX_LISTING,
                    )
                    .await?;
                both.extend(
                    self.store
                        .grants(
                            &GrantFilter { provider_department_id: own, ..GrantFilter::default() },
                            MAX_LISTING,
                        )
                        .await?,
                );
                newest_first(&mut both, |g| (&g.created_at, &g.id));
                both
            }
        };
        records.into_iter().map(Self::grant_view).collect()
    }

    /// Revokes a grant; gateway calls on it fail from the next check on,
    /// including a batch export already streaming.
    pub async fn revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<GrantView> {
        let record = self.store.grant(id).await?;
        Self::may_manage_grant(caller, &record)?;
        let reason = text("reason", reason, 500)?;
        let revoked = self.store.revoke_grant(&caller.actor, id, &reason).await;
        self.forget_grant(id);
        Self::grant_view(revoked?)
    }

    /// Extends a grant to `days` days from now.
    pub async fn renew(&self, caller: &Caller, id: &str, days: u32) -> Result<GrantView> {
        let record = self.store.grant(id).await?;
        Self::may_manage_grant(caller, &record)?;
        if days == 0 || days > crate::terms::MAX_DURATION_DAYS {
            return Err(
                FieldError::new("days", format!("must be 1 to {}", crate::terms::MAX_DURATION_DAYS)).into()
            );
        }
        let expires = OffsetDateTime::now_utc() + Duration::days(i64::from(days));
        let renewed =
            self.store.renew_grant(&caller.actor, id, &govdata_store::timestamp::format(expires)).await;
        self.forget_grant(id);
        Self::grant_view(renewed?)
    }
}

/// Sorts records of both sides newest first and drops the ones listed twice
/// (a department on both sides of one record).
pub(crate) fn newest_first<T>(records: &mut Vec<T>, key: impl Fn(&T) -> (&String, &String)) {
    records.sort_by(|a, b| {
        let (a_at, a_id) = key(a);
        let (b_at, b_id) = key(b);
        b_at.cmp(a_at).then_with(|| a_id.cmp(b_id))
    });
    records.dedup_by(|a, b| key(a).1 == key(b).1);
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

fn from_value<T: serde::de::DeserializeOwned>(value: &serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")).into())
}
