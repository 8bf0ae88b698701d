//! The resource service: registration, aggregation jobs, reads for
//! providers, and the person / enterprise profiles (一人一档, 一企一档).
//!
//! Who may do what:
//! - the provider department of the catalog entry registers, changes and
//!   runs its resources, and reads their data;
//! - the data authority reads every resource (read-only);
//! - other departments read only through a grant, at the gateway
//!   (`govdata-sharing`), which opens data with [`Resources::open_entry`].
//!
//! Every data read (preview, profile, person or enterprise profile) is
//! recorded in the ledger before its answer is returned.

use std::path::PathBuf;
use std::sync::Arc;

use govdata_catalog::Caller;
use govdata_model::catalog::{CatalogEntry, ResourceCode};
use govdata_model::org::Role;
use govdata_model::{ApiError, ErrorCode};
use govdata_store::{
    JobOutcome, JobRecord, LedgerRecord, NewJob, ResourceFilter, ResourceRecord, ResourceWrite, Store,
    StoreError,
};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use crate::conform::EntityKey;
use crate::drift::{describe, Drift, SourceColumn};
use crate::ingest::{ingest, IngestPlan, Source};
use crate::mapping::EntityKind;
use crate::profile::{preview, profile, to_json_rows, Preview, TableProfile};
use crate::read::{Lake, BATCH_SIZE};
use crate::resource::{Access, ResourceSpec, SourceSpec};
use crate::schedule::Schedule;
use crate::source::sql::SqlTable;
use crate::table::{quote, ArchiveReport, AsOf, LakeTable, TableVersion};
use crate::LakeError;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Forbidden(String),
}

impl ApiError for ResourceError {
    fn code(&self) -> ErrorCode {
        match self {
            ResourceError::Lake(e) => e.code(),
            ResourceError::Store(e) => e.code(),
            ResourceError::Forbidden(_) => ErrorCode::Forbidden,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ResourceError::Lake(e) => e.field(),
            ResourceError::Store(e) => e.field(),
            ResourceError::Forbidden(_) => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ResourceError::Lake(e) => e.public_message(),
            ResourceError::Store(e) => e.public_message(),
            ResourceError::Forbidden(m) => m.clone(),
        }
    }
}

pub type Result<T, E = ResourceError> = std::result::Result<T, E>;

/// A resource as the API shows it: secrets redacted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    pub id: String,
    pub entry_code: String,
    pub department_id: String,
    pub spec: ResourceSpec,
    #[schema(value_type = Option<Vec<Object>>)]
    pub source_columns: Option<Vec<SourceColumn>>,
    pub next_run_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// The most recent job, if any ran.
    #[schema(value_type = Option<Object>)]
    pub last_job: Option<JobRecord>,
}

/// One value of a profile, with where it comes from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProfileValue {
    pub item: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// What one resource says about the entity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProfileSection {
    pub resource_id: String,
    pub resource_name: String,
    pub entry_code: String,
    pub entry_name: String,
    pub department_id: String,
    /// One list of values per matching row (a resource may hold several
    /// records of one person, e.g. licences).
    pub records: Vec<Vec<ProfileValue>>,
}

/// 一人一档 / 一企一档: every resource keyed on the entity that the caller may
/// read, joined on the key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntityProfile {
    pub kind: EntityKind,
    pub key: String,
    pub sections: Vec<ProfileSection>,
    /// Resources keyed on this kind of entity that the caller may not read:
    /// named, so a caller knows what to apply for, but with no data.
    pub withheld: Vec<String>,
}

/// An entry's data opened for a read the caller has already been allowed
/// (a grant): the table of catalog items and its entity key.
pub struct EntryData {
    pub resource_id: String,
    pub ctx: deltalake::datafusion::prelude::SessionContext,
    pub provider: Arc<dyn deltalake::datafusion::catalog::TableProvider>,
    pub entity_key: Option<EntityKey>,
}

/// How a job is started.
pub enum JobInput {
    /// Read the resource's own source (database, HTTP API).
    Source,
    /// A file uploaded for this job.
    Upload(PathBuf),
}

/// How often versions past their retention period are archived.
const ARCHIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Jobs run at once unless configured otherwise: a long job (a big upload,
/// a slow source) does not hold up every other department's.
pub const DEFAULT_MAX_JOBS: usize = 2;

/// Most attempts for a job whose source was unreachable.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct Resources {
    store: Store,
    lake: Lake,
    wake: Arc<Notify>,
    /// Counts the jobs that committed a new table version: subscriptions
    /// wake on it instead of polling every table.
    commits: Arc<watch::Sender<u64>>,
    /// Jobs run at once (of different resources: a resource has at most one
    /// job queued or running).
    max_jobs: usize,
}

impl Resources {
    pub fn new(store: Store, lake: Lake) -> Resources {
        Resources {
            store,
            lake,
            wake: Arc::new(Notify::new()),
            commits: Arc::new(watch::Sender::new(0)),
            max_jobs: DEFAULT_MAX_JOBS,
        }
    }

    /// Runs up to `max_jobs` jobs at once (at least one).
    pub fn with_max_jobs(mut self, max_jobs: usize) -> Resources {
        self.max_jobs = max_jobs.max(1);
        self
    }

    /// Changes whenever a job commits a new version of some table.
    pub fn watch_commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The entry version a resource maps: the published one, else the latest.
    async fn entry(&self, code: &str) -> Result<CatalogEntry> {
        let code: ResourceCode = code
            .parse()
            .map_err(|e: govdata_model::FieldError| LakeError::invalid("entry_code", e.message))?;
        let head = self.store.catalog_head(&code).await?;
        Ok(self.store.catalog_version(&code, head.published_version.unwrap_or(head.latest_version)).await?)
    }

    fn may_manage(caller: &Caller, department_id: &str) -> Result<()> {
        if caller.context.roles.contains(&Role::Provider) && caller.context.department_id == department_id {
            Ok(())
        } else {
            Err(ResourceError::Forbidden(
                "only the provider role of the entry's department registers and runs its resources".into(),
            ))
        }
    }

    fn may_read(caller: &Caller, department_id: &str) -> bool {
        caller.context.roles.contains(&Role::Authority)
            || (caller.context.department_id == department_id
                && caller.context.roles.iter().any(|r| matches!(r, Role::Provider | Role::Analyst)))
    }

    fn check_read(caller: &Caller, department_id: &str) -> Result<()> {
        if Self::may_read(caller, department_id) {
            Ok(())
        } else {
            Err(ResourceError::Forbidden(
                "a resource's data is read by its department and the data authority; others need a grant"
                    .into(),
            ))
        }
    }

    fn write_record(
        id: String,
        entry: &CatalogEntry,
        spec: &ResourceSpec,
        now: OffsetDateTime,
    ) -> Result<ResourceWrite> {
        let next_run_at = match &spec.access {
            Access::Physical { schedule: Some(expression), .. } => {
                Schedule::parse(expression)?.next_after(now).map(govdata_store::timestamp::format)
            }
            _ => None,
        };
        let to_value =
            |s: &ResourceSpec| serde_json::to_value(s).map_err(|e| LakeError::Io(std::io::Error::other(e)));
        Ok(ResourceWrite {
            id,
            entry_code: entry.code.to_string(),
            department_id: entry.metadata.provider.department_id.clone(),
            name: spec.name.trim().to_owned(),
            access_kind: if spec.is_physical() { "physical" } else { "logical" }.to_owned(),
            entity_kind: spec.entity_key.as_ref().map(|k| entity_label(k.kind).to_owned()),
            spec: to_value(spec)?,
            ledger_spec: to_value(&spec.redacted())?,
            next_run_at,
        })
    }

    pub async fn register(
        &self,
        caller: &Caller,
        entry_code: &str,
        spec: ResourceSpec,
    ) -> Result<ResourceView> {
        let entry = self.entry(entry_code).await?;
        Self::may_manage(caller, &entry.metadata.provider.department_id)?;
        spec.validate(&entry.metadata.items)?;
        let id = uuid::Uuid::new_v4().to_string();
        let record = Self::write_record(id, &entry, &spec, OffsetDateTime::now_utc())?;
        let stored = self.store.create_resource(&caller.actor, record).await?;
        self.view(stored).await
    }

    pub async fn update(&self, caller: &Caller, id: &str, spec: ResourceSpec) -> Result<ResourceView> {
        let current = self.store.resource(id).await?;
        Self::may_manage(caller, &current.department_id)?;
        let entry = self.entry(&current.entry_code).await?;
        spec.validate(&entry.metadata.items)?;
        let record = Self::write_record(current.id, &entry, &spec, OffsetDateTime::now_utc())?;
        let stored = self.store.update_resource(&caller.actor, record).await?;
        self.view(stored).await
    }

    pub async fn delete(&self, caller: &Caller, id: &str, reason: &str) -> Result<()> {
        let current = self.store.resource(id).await?;
        Self::may_manage(caller, &current.department_id)?;
        if reason.trim().is_empty() {
            return Err(LakeError::invalid("reason", "say why the resource is removed").into());
        }
        Ok(self.store.delete_resource(&caller.actor, id, reason.trim()).await?)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ResourceView> {
        let record = self.store.resource(id).await?;
        Self::check_read(caller, &record.department_id)?;
        self.view(record).await
    }

    /// The resources the caller may read, optionally of one entry.
    pub async fn list(&self, caller: &Caller, entry_code: Option<String>) -> Result<Vec<ResourceView>> {
        let filter = ResourceFilter { entry_code, ..ResourceFilter::default() };
        let mut last_jobs = self.store.latest_jobs(&filter).await?;
        let mut views = Vec::new();
        for record in self.store.resources(&filter).await? {
            if Self::may_read(caller, &record.department_id) {
                let last_job = last_jobs.remove(&record.id);
                views.push(Self::view_with(record, last_job)?);
            }
        }
        Ok(views)
    }

    async fn view(&self, record: ResourceRecord) -> Result<ResourceView> {
        let last_job = self.store.jobs(&record.id, 1).await?.into_iter().next();
        Self::view_with(record, last_job)
    }

    fn view_with(record: ResourceRecord, last_job: Option<JobRecord>) -> Result<ResourceView> {
        let spec = parse_spec(&record)?;
        Ok(ResourceView {
            source_columns: record.source_columns.as_ref().map(parse_columns).transpose()?,
            id: record.id,
            entry_code: record.entry_code,
            department_id: record.department_id,
            spec: spec.redacted(),
            next_run_at: record.next_run_at,
            created_by: record.created_by,
            created_at: record.created_at,
            updated_at: record.updated_at,
            last_job,
        })
    }

    /// Refuses a caller who may not run the resource's jobs, before an
    /// upload is received.
    pub async fn check_run(&self, caller: &Caller, id: &str) -> Result<()> {
        let record = self.store.resource(id).await?;
        Self::may_manage(caller, &record.department_id)
    }

    /// Queues a job; the runner picks it up at once.
    pub async fn run(&self, caller: &Caller, id: &str, input: JobInput) -> Result<JobRecord> {
        let record = self.store.resource(id).await?;
        Self::may_manage(caller, &record.department_id)?;
        let spec = parse_spec(&record)?;
        let (trigger, upload_path) = match (&spec.access, input) {
            (Access::Logical { .. }, _) => {
                return Err(
                    LakeError::invalid("id", "a logical resource is read in place; it has no jobs").into()
                )
            }
            (Access::Physical { source: SourceSpec::Upload { .. }, .. }, JobInput::Upload(path)) => {
                ("upload", Some(path.display().to_string()))
            }
            (Access::Physical { source: SourceSpec::Upload { .. }, .. }, JobInput::Source) => {
                return Err(
                    LakeError::invalid("file", "this resource is fed by uploads: send the file").into()
                )
            }
            (Access::Physical { .. }, JobInput::Upload(_)) => {
                return Err(LakeError::invalid(
                    "file",
                    "this resource reads its own source; it takes no upload",
                )
                .into())
            }
            (Access::Physical { .. }, JobInput::Source) => ("manual", None),
        };
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            resource_id: record.id,
            trigger: trigger.to_owned(),
            attempt: 1,
            upload_path,
            next_run_at: None,
        };
        let queued = self.store.queue_job(&caller.actor, job).await?;
        self.wake.notify_one();
        Ok(queued)
    }

    pub async fn jobs(&self, caller: &Caller, id: &str, limit: u32) -> Result<Vec<JobRecord>> {
        let record = self.store.resource(id).await?;
        Self::check_read(caller, &record.department_id)?;
        Ok(self.store.jobs(id, limit).await?)
    }

    pub async fn versions(&self, caller: &Caller, id: &str) -> Result<Vec<TableVersion>> {
        let record = self.store.resource(id).await?;
        Self::check_read(caller, &record.department_id)?;
        if record.access_kind != "physical" {
            return Ok(Vec::new());
        }
        Ok(self.lake.table(id)?.versions().await?)
    }

    /// Archives versions older than the resource's retention period
    /// (`retention_days`), keeping their data files under
    /// `<lake>/archive/<id>`; ledgered.
    pub async fn archive(&self, caller: &Caller, id: &str) -> Result<ArchiveReport> {
        let record = self.store.resource(id).await?;
        Self::may_manage(caller, &record.department_id)?;
        self.archive_record(&caller.actor, &record).await
    }

    async fn archive_record(&self, actor: &str, record: &ResourceRecord) -> Result<ArchiveReport> {
        let spec = parse_spec(record)?;
        let Some(days) = spec.retention_days else {
            return Err(LakeError::invalid("retention_days", "the resource keeps every version").into());
        };
        if !spec.is_physical() {
            return Err(LakeError::invalid("id", "a logical resource has no versions to archive").into());
        }
        let retention = std::time::Duration::from_secs(u64::from(days) * 86_400);
        let report = self.lake.table(&record.id)?.archive(retention).await?;
        self.store.record_lake_archive(actor, &record.id, json!(report)).await?;
        Ok(report)
    }

    /// Archives every resource with a retention period; run daily.
    async fn archive_all(&self) -> Result<()> {
        for record in self.store.resources(&ResourceFilter::default()).await? {
            if record.access_kind != "physical" || parse_spec(&record)?.retention_days.is_none() {
                continue;
            }
            match self.archive_record("system:archive", &record).await {
                Ok(report) => {
                    tracing::info!(resource = %record.id, files = report.archived_files, "archived")
                }
                Err(error) => tracing::warn!(resource = %record.id, %error, "archiving failed"),
            }
        }
        Ok(())
    }

    /// The source's columns now, compared with the last job's and the mapping.
    pub async fn drift(&self, caller: &Caller, id: &str) -> Result<Drift> {
        let record = self.store.resource(id).await?;
        Self::may_manage(caller, &record.department_id)?;
        let spec = parse_spec(&record)?;
        let entry = self.entry(&record.entry_code).await?;
        let mapping = spec.validate(&entry.metadata.items)?;
        let source = match &spec.access {
            Access::Physical { source: SourceSpec::Upload { .. }, .. } => {
                return Err(
                    LakeError::invalid("id", "an upload resource's schema is checked with each file").into()
                )
            }
            Access::Physical { source, .. } => Source::open(source, None).await?,
            Access::Logical { database } => Source::Sql(SqlTable::connect(database).await?),
        };
        let columns = describe(&*source.schema().await?);
        let previous = record.source_columns.as_ref().map(parse_columns).transpose()?;
        Ok(Drift::between(previous.as_deref(), &columns, &mapping))
    }

    async fn open(&self, record: &ResourceRecord, as_of: AsOf) -> Result<Option<ReadTarget>> {
        let spec = parse_spec(record)?;
        let entry = self.entry(&record.entry_code).await?;
        let mapping = spec.validate(&entry.metadata.items)?;
        let ctx = self.lake.session();
        let provider = self.lake.open(&ctx, &record.id, &spec, &mapping, as_of).await?;
        Ok(provider.map(|provider| ReadTarget { ctx, provider, spec, entry }))
    }

    /// What identifies the data [`Resources::open_entry`] reads now: each
    /// resource of the entry with its last change and its last successful
    /// job. Equal tokens mean equal data; `None` when a resource is logical
    /// (its data changes in place, unseen).
    pub async fn entry_data_token(&self, entry_code: &str) -> Result<Option<String>> {
        let filter = ResourceFilter { entry_code: Some(entry_code.to_owned()), ..ResourceFilter::default() };
        let mut token = String::new();
        for record in self.store.resources(&filter).await? {
            if record.access_kind != "physical" {
                return Ok(None);
            }
            let job = self.store.last_succeeded_job(&record.id).await?;
            token.push_str(&format!("{}@{}:{};", record.id, record.updated_at, job.unwrap_or_default()));
        }
        Ok(Some(token))
    }

    /// The data of a catalog entry, from its first registered resource that
    /// holds data; `None` while no resource has any. The caller checks the
    /// grant first and records the read.
    pub async fn open_entry(&self, entry_code: &str) -> Result<Option<EntryData>> {
        let filter = ResourceFilter { entry_code: Some(entry_code.to_owned()), ..ResourceFilter::default() };
        for record in self.store.resources(&filter).await? {
            if let Some(target) = self.open(&record, AsOf::Latest).await? {
                return Ok(Some(EntryData {
                    resource_id: record.id,
                    ctx: target.ctx,
                    provider: target.provider,
                    entity_key: target.spec.entity_key(),
                }));
            }
        }
        Ok(None)
    }

    /// The Delta table behind [`Resources::open_entry`], whose commits carry
    /// the entry's row changes; `None` while no resource holds data. An
    /// entry read in place from a source database has no such table.
    pub async fn entry_table(&self, entry_code: &str) -> Result<Option<(String, LakeTable)>> {
        let filter = ResourceFilter { entry_code: Some(entry_code.to_owned()), ..ResourceFilter::default() };
        for record in self.store.resources(&filter).await? {
            if record.access_kind == "physical" {
                let table = self.lake.table(&record.id)?;
                if table.latest_version().await?.is_some() {
                    return Ok(Some((record.id, table)));
                }
            } else if self.open(&record, AsOf::Latest).await?.is_some() {
                return Err(LakeError::invalid(
                    "grant",
                    "this entry's data is read in place from the provider's database, where its changes \
                     are not recorded: use batch export",
                )
                .into());
            }
        }
        Ok(None)
    }

    pub async fn preview(&self, caller: &Caller, id: &str, limit: usize, as_of: AsOf) -> Result<Preview> {
        let record = self.store.resource(id).await?;
        Self::check_read(caller, &record.department_id)?;
        let Some(target) = self.open(&record, as_of).await? else {
            return Ok(Preview { columns: Vec::new(), rows: Vec::new() });
        };
        let answer = preview(&target.ctx, target.provider, limit).await?;
        self.store
            .record_access(LedgerRecord::new(
                &caller.actor,
                "lake.preview",
                id,
                json!({"rows": answer.rows.len(), "as_of": as_of_text(as_of)}),
            ))
            .await?;
        Ok(answer)
    }

    pub async fn profile(&self, caller: &Caller, id: &str, as_of: AsOf) -> Result<TableProfile> {
        let record = self.store.resource(id).await?;
        Self::check_read(caller, &record.department_id)?;
        let Some(target) = self.open(&record, as_of).await? else {
            return Ok(TableProfile { rows: 0, columns: Vec::new() });
        };
        let answer = profile(&target.ctx, target.provider).await?;
        self.store
            .record_access(LedgerRecord::new(
                &caller.actor,
                "lake.profile",
                id,
                json!({"rows": answer.rows, "as_of": as_of_text(as_of)}),
            ))
            .await?;
        Ok(answer)
    }

    /// Joins every resource keyed on this entity that the caller may read.
    pub async fn entity_profile(
        &self,
        caller: &Caller,
        kind: EntityKind,
        key: &str,
    ) -> Result<EntityProfile> {
        let checked = match kind {
            EntityKind::Person => govdata_model::validate::id_number(key),
            EntityKind::Enterprise => govdata_model::validate::uscc(key),
        };
        let Some(key) = checked.normalized else {
            return Err(LakeError::invalid("key", checked.errors.join("; ")).into());
        };
        let filter =
            ResourceFilter { entity_kind: Some(entity_label(kind).to_owned()), ..ResourceFilter::default() };
        let mut sections = Vec::new();
        let mut withheld = Vec::new();
        for record in self.store.resources(&filter).await? {
            if !Self::may_read(caller, &record.department_id) {
                withheld.push(record.name.clone());
                continue;
            }
            let Some(target) = self.open(&record, AsOf::Latest).await? else { continue };
            let Some(entity) = target.spec.entity_key() else { continue };
            let rows = target
                .ctx
                .read_table(target.provider)
                .map_err(LakeError::from)?
                .filter(
                    deltalake::datafusion::logical_expr::col(quote(&entity.item))
                        .eq(deltalake::datafusion::logical_expr::lit(key.clone())),
                )
                .map_err(LakeError::from)?
                .limit(0, Some(MAX_PROFILE_RECORDS))
                .map_err(LakeError::from)?
                .collect()
                .await
                .map_err(LakeError::from)?;
            let records: Vec<Vec<ProfileValue>> = to_json_rows(&rows)?
                .into_iter()
                .map(|row| row.into_iter().map(|(item, value)| ProfileValue { item, value }).collect())
                .collect();
            if !records.is_empty() {
                sections.push(ProfileSection {
                    resource_id: record.id.clone(),
                    resource_name: record.name.clone(),
                    entry_code: record.entry_code.clone(),
                    entry_name: target.entry.metadata.name.clone(),
                    department_id: record.department_id.clone(),
                    records,
                });
            }
        }
        let subject = format!("{}:{}", entity_label(kind), key);
        let sources: Vec<&str> = sections.iter().map(|s| s.resource_id.as_str()).collect();
        let record =
            LedgerRecord::new(&caller.actor, "lake.entity_profile", &subject, json!({"resources": sources}));
        self.store.record_access(record).await?;
        Ok(EntityProfile { kind, key, sections, withheld })
    }

    /// Runs queued jobs, up to `max_jobs` at once, oldest first; queues
    /// scheduled ones when due, and retries jobs whose source was
    /// unavailable. Runs until its task is aborted (which aborts the jobs
    /// running; the next start fails them, leaving their tables as they were).
    pub async fn run_jobs(self) {
        match self.store.fail_interrupted_jobs("system:lake").await {
            Ok(failed) => {
                for job in &failed {
                    tracing::warn!(job = %job.id, "failed a job interrupted by the last stop");
                    remove_upload(job);
                }
            }
            Err(error) => tracing::error!(%error, "could not fail interrupted jobs"),
        }
        let mut next_archive = tokio::time::Instant::now() + ARCHIVE_INTERVAL;
        let mut running = tokio::task::JoinSet::new();
        loop {
            if tokio::time::Instant::now() >= next_archive {
                next_archive += ARCHIVE_INTERVAL;
                if let Err(error) = self.archive_all().await {
                    tracing::error!(%error, "archiving pass failed");
                }
            }
            if let Err(error) = self.queue_due().await {
                tracing::error!(%error, "could not queue scheduled jobs");
            }
            while running.len() < self.max_jobs {
                let job = match self.store.next_queued_job().await {
                    Ok(Some(job)) => job,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::error!(%error, "could not read the job queue");
                        break;
                    }
                };
                // Started here, so the next read of the queue skips it.
                match self.store.start_job("system:lake", &job.id).await {
                    Ok(true) => {
                        let this = self.clone();
                        running.spawn(async move { this.run_started(job).await });
                    }
                    Ok(false) => {}
                    Err(error) => {
                        tracing::error!(%error, job = %job.id, "could not start job");
                        break;
                    }
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    }

    async fn queue_due(&self) -> Result<()> {
        let now = OffsetDateTime::now_utc();
        for record in self.store.resources_due(&govdata_store::timestamp::format(now)).await? {
            let spec = parse_spec(&record)?;
            let Access::Physical { schedule: Some(expression), .. } = &spec.access else { continue };
            let next = Schedule::parse(expression)?.next_after(now).map(govdata_store::timestamp::format);
            let job = NewJob {
                id: uuid::Uuid::new_v4().to_string(),
                resource_id: record.id.clone(),
                trigger: "schedule".to_owned(),
                attempt: 1,
                upload_path: None,
                next_run_at: Some(next),
            };
            match self.store.queue_job("system:schedule", job).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Runs one job to its end and records the outcome.
    pub async fn execute(&self, job: JobRecord) {
        match self.store.start_job("system:lake", &job.id).await {
            Ok(true) => self.run_started(job).await,
            Ok(false) => {}
            Err(error) => tracing::error!(%error, job = %job.id, "could not start job"),
        }
    }

    /// Runs a job already marked running, and records the outcome.
    async fn run_started(&self, job: JobRecord) {
        let result = self.ingest_job(&job).await;
        let outcome = match &result {
            Ok(report) => JobOutcome {
                succeeded: true,
                rows_read: report.rows_read,
                rows_written: report.rows_written,
                rows_rejected: report.rejects.count,
                reject_sample: json!(report.rejects.sample),
                drift: (!report.drift.is_empty()).then(|| json!(report.drift)),
                error: None,
                table_version: Some(report.version as i64),
                source_columns: Some(json!(report.source_columns)),
            },
            Err(error) => JobOutcome {
                succeeded: false,
                rows_read: 0,
                rows_written: 0,
                rows_rejected: 0,
                reject_sample: json!([]),
                drift: match error {
                    ResourceError::Lake(LakeError::SchemaDrift(drift)) => Some(json!(drift)),
                    _ => None,
                },
                error: Some(error.public_message()),
                table_version: None,
                source_columns: None,
            },
        };
        if let Err(error) = self.store.finish_job("system:lake", &job.id, &outcome).await {
            tracing::error!(%error, job = %job.id, "could not record the job's outcome");
            return;
        }
        remove_upload(&job);
        match result {
            Ok(_) => {
                self.commits.send_modify(|commits| *commits += 1);
                tracing::info!(job = %job.id, rows = outcome.rows_written, "job succeeded")
            }
            Err(ResourceError::Lake(LakeError::SourceUnavailable(reason))) if job.attempt < MAX_ATTEMPTS => {
                tracing::warn!(job = %job.id, %reason, attempt = job.attempt, "source unavailable; retrying");
                self.retry_later(job);
            }
            Err(error) => tracing::warn!(job = %job.id, %error, "job failed"),
        }
    }

    fn retry_later(&self, job: JobRecord) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(30 * u64::from(job.attempt))).await;
            let retry = NewJob {
                id: uuid::Uuid::new_v4().to_string(),
                resource_id: job.resource_id.clone(),
                trigger: "retry".to_owned(),
                attempt: job.attempt + 1,
                upload_path: None,
                next_run_at: None,
            };
            match this.store.queue_job("system:lake", retry).await {
                Ok(_) => this.wake.notify_one(),
                Err(error) => tracing::warn!(%error, job = %job.id, "retry not queued"),
            }
        });
    }

    async fn ingest_job(&self, job: &JobRecord) -> Result<crate::ingest::IngestReport> {
        let record = self.store.resource(&job.resource_id).await?;
        let spec = parse_spec(&record)?;
        let entry = self.entry(&record.entry_code).await?;
        let mapping = spec.validate(&entry.metadata.items)?;
        let Access::Physical { source, mode, .. } = &spec.access else {
            return Err(LakeError::invalid("id", "a logical resource has no jobs").into());
        };
        let source = Source::open(source, job.upload_path.as_deref().map(std::path::Path::new)).await?;
        let previous = record.source_columns.as_ref().map(parse_columns).transpose()?;
        let key: Option<EntityKey> = spec.entity_key();
        let table = self.lake.table(&record.id)?;
        let ctx = self.lake.session();
        let report = ingest(
            &ctx,
            source,
            IngestPlan {
                table: &table,
                mapping: &mapping,
                key: key.as_ref(),
                mode,
                job_id: &job.id,
                previous_columns: previous.as_deref(),
                batch_size: BATCH_SIZE,
            },
        )
        .await?;
        Ok(report)
    }
}

/// Most rows one resource contributes to a profile.
const MAX_PROFILE_RECORDS: usize = 100;

struct ReadTarget {
    ctx: deltalake::datafusion::prelude::SessionContext,
    provider: Arc<dyn deltalake::datafusion::catalog::TableProvider>,
    spec: ResourceSpec,
    entry: CatalogEntry,
}

/// A job's upload is consumed by the job, whatever its outcome.
fn remove_upload(job: &JobRecord) {
    if let Some(path) = &job.upload_path {
        if let Err(error) = std::fs::remove_file(path) {
            tracing::warn!(%error, path, "could not remove a job's upload");
        }
    }
}

fn entity_label(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "person",
        EntityKind::Enterprise => "enterprise",
    }
}

fn as_of_text(as_of: AsOf) -> serde_json::Value {
    match as_of {
        AsOf::Latest => serde_json::Value::Null,
        AsOf::Version(v) => json!({"version": v}),
        AsOf::Time(t) => json!({"time": govdata_store::timestamp::format(t)}),
    }
}

fn parse_spec(record: &ResourceRecord) -> Result<ResourceSpec> {
    serde_json::from_value(record.spec.clone())
        .map_err(|e| StoreError::Corrupt(format!("resource {} spec: {e}", record.id)).into())
}

fn parse_columns(value: &serde_json::Value) -> Result<Vec<SourceColumn>> {
    serde_json::from_value(value.clone())
        .map_err(|e| StoreError::Corrupt(format!("source columns: {e}")).into())
}
