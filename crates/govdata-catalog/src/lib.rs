//! The catalog service (数据目录系统): the rules of `govdata_model::catalog`
//! applied to stored entries.
//!
//! ```text
//! register(draft) ── provider of the draft's department, USCC of that department
//!   → store: next 顺序码 in the classification, version 1 (draft), history, ledger
//! act(code, action) ── lifecycle::transition decides (roles, own entry, status)
//!   submit → automatic checks (coding rule, share-type fields, items, USCC,
//!            duplicates against every live entry) block on errors
//!   publish of version n+1 → version n superseded
//!   → store: compare-and-set on the version's status, history, ledger
//! view / diff / list ── unpublished versions only for the provider
//!   department and the reviewers (authority, auditor)
//! ```
//! Deadlines: a version must be published within `registration_days` working
//! days of its creation (default 20, guide 国办函〔2022〕102号), counted on the
//! working-day calendar with holidays and make-up workdays.

mod duplicates;
pub mod transfer;

use govdata_model::calendar::WorkingCalendar;
use govdata_model::catalog::{
    check_draft, diff_versions, transition, Action, ActionKind, ActorContext, CatalogEntry, CheckContext,
    CheckReport, EntryDiff, EntryDraft, EntryStatus, EntrySummary, HistoryStep, ResourceCode, Transition,
    TransitionError, VersionState,
};
use govdata_model::org::Role;
use govdata_model::{ApiError, ErrorCode, FieldError};
use govdata_search::{
    pick_searchable_version, DocKey, ReconcileReport, SearchDoc, SearchError, SearchIndex, SearchQuery,
    SearchResults, Viewer,
};
use govdata_store::{
    AppliedBatch, CascadeAction, CascadeChange, CatalogChange, CatalogFilter, FederatedEntry, HomeNode,
    Store, StoreError,
};
use serde::Serialize;
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// A person or application acting on the catalog.
#[derive(Debug, Clone)]
pub struct Caller {
    /// How the caller appears in the ledger.
    pub actor: String,
    pub context: ActorContext,
}

impl Caller {
    fn has(&self, role: Role) -> bool {
        self.context.roles.contains(&role)
    }

    /// Sees unpublished versions of every department: the reviewers.
    fn reviews(&self) -> bool {
        self.has(Role::Authority) || self.has(Role::Auditor)
    }

    /// Published versions, and earlier ones they superseded, are public;
    /// drafts, reviews and withdrawals are not.
    fn may_see(&self, entry: &CatalogEntry) -> bool {
        self.may_see_version(entry.status, &entry.metadata.provider.department_id)
    }

    /// A finding about an entry this caller may not see keeps its place and
    /// severity but loses the entry's code and name.
    fn redact_unseen(&self, existing: &[EntrySummary], report: &mut CheckReport) {
        for finding in &mut report.findings {
            let unseen = finding
                .related_code
                .as_ref()
                .and_then(|code| existing.iter().find(|other| &other.code == code))
                .is_some_and(|other| !self.may_see_version(other.status, &other.provider_department_id));
            if unseen {
                finding.related_code = None;
                finding.message = "duplicates an entry that another department has registered but not yet \
                                   published (一数一源); the data authority can say which"
                    .into();
            }
        }
    }

    fn may_see_version(&self, status: EntryStatus, provider_department_id: &str) -> bool {
        matches!(status, EntryStatus::Published | EntryStatus::Superseded)
            || self.reviews()
            || self.context.department_id == provider_department_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    Forbidden(String),
    #[error("catalog entry {0} not found")]
    NotFound(String),
    #[error(transparent)]
    Search(#[from] SearchError),
    /// Automatic checks found errors; the report lists every finding.
    #[error("automatic checks failed: {}", .0.errors().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    ChecksFailed(CheckReport),
}

impl ApiError for CatalogError {
    fn code(&self) -> ErrorCode {
        match self {
            CatalogError::Store(e) => e.code(),
            CatalogError::Transition(e) => e.code(),
            CatalogError::Invalid(_) | CatalogError::ChecksFailed(_) => ErrorCode::InvalidInput,
            CatalogError::Forbidden(_) => ErrorCode::Forbidden,
            CatalogError::NotFound(_) => ErrorCode::NotFound,
            CatalogError::Search(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            CatalogError::Store(e) => e.field(),
            CatalogError::Transition(e) => e.field(),
            CatalogError::Search(e) => e.field(),
            CatalogError::Invalid(e) => Some(&e.field),
            CatalogError::ChecksFailed(report) => report.errors().next().map(|f| f.field.as_str()),
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            CatalogError::Store(e) => e.public_message(),
            CatalogError::Transition(e) => e.public_message(),
            CatalogError::Search(e) => e.public_message(),
            _ => self.to_string(),
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// One version in an entry's list of versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub version: u32,
    pub status: EntryStatus,
}

/// An entry as a reader sees it: the chosen version, the versions the reader
/// may see, the history, and the registration deadline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub entry: CatalogEntry,
    pub versions: Vec<VersionInfo>,
    pub history: Vec<HistoryStep>,
    /// The last working day to publish this version; none once published.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<String>,
    pub overdue: bool,
}

/// What an action did, and the automatic-check findings when it was a submission.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActOutcome {
    pub transition: Transition,
    pub entry: CatalogEntry,
    pub checks: Option<CheckReport>,
}

/// One group in the statistics: a stable code, its Chinese label, the count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: u64,
}

/// The one ledger's statistics (一本账): published entries by provider, class,
/// share type, open type, grade, update cycle and format; for reviewers also
/// latest versions by status and the overdue count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogStats {
    pub published: u64,
    pub by: std::collections::BTreeMap<String, Vec<Count>>,
    pub overdue: Option<u64>,
}

/// The Chinese label of a statistics key, from the model's own labels.
fn label(fact: &str, key: &str) -> String {
    use govdata_model::catalog::{FormatClass, GradeLevel, OpenType, ShareType, TopClass, UpdateCycle};
    fn parse<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(key.to_owned())).ok()
    }
    let label = match fact {
        "top_class" => parse::<TopClass>(key).map(|v| v.label_zh().to_owned()),
        "share_type" => parse::<ShareType>(key).map(|v| v.label_zh().to_owned()),
        "open_type" => parse::<OpenType>(key).map(|v| v.label_zh().to_owned()),
        "update_cycle" => parse::<UpdateCycle>(key).map(|v| v.label_zh().to_owned()),
        "format_class" => parse::<FormatClass>(key).map(|v| v.label_zh().to_owned()),
        "status" => EntryStatus::ALL.into_iter().find(|s| s.as_str() == key).map(|s| s.label_zh().to_owned()),
        "grade" => {
            let (level, sublevel) =
                key.split_once('_').map_or((key, None), |(l, s)| (l, s.parse::<u8>().ok()));
            parse::<GradeLevel>(level)
                .map(|level| govdata_model::catalog::Grade { level, sublevel }.label_zh())
        }
        _ => None,
    };
    label.unwrap_or_else(|| key.to_owned())
}

/// The node a search projection belongs to.
#[derive(Debug, Clone)]
pub struct NodeLabel {
    pub id: String,
    pub name: String,
    pub region: String,
}

/// The search index this service keeps in step with the store.
struct Projection {
    index: Arc<SearchIndex>,
    node: NodeLabel,
    /// Held by the one projection of received changes in flight, and taken
    /// in turn (the lock is fair), so batches reach the index in the order
    /// they were committed.
    received: Arc<tokio::sync::Mutex<()>>,
}

pub struct Catalog {
    store: Store,
    calendar: WorkingCalendar,
    registration_days: u32,
    search: Option<Projection>,
    /// The live entries the duplicate check compares drafts with.
    live: std::sync::Mutex<duplicates::LiveEntries>,
}

impl Catalog {
    /// A catalog without a search index: the CLI and demo seeding write the
    /// store only, and the serving node's reconciler indexes their changes.
    pub fn new(store: Store, calendar: WorkingCalendar, registration_days: u32) -> Catalog {
        Catalog {
            store,
            calendar,
            registration_days,
            search: None,
            live: std::sync::Mutex::new(duplicates::LiveEntries::new()),
        }
    }

    /// Brings the duplicate check's view of the live entries up to date
    /// with the store (reading only the versions written since last time).
    async fn refresh_live_entries(&self) -> Result<()> {
        let after = self.live.lock().expect("live entries lock is never poisoned").upto();
        let changed = self.store.catalog_summaries_since(after).await?;
        self.live.lock().expect("live entries lock is never poisoned").apply(changed);
        Ok(())
    }

    /// The live entries `draft` could duplicate (as of the last refresh).
    fn duplicate_candidates(&self, draft: &EntryDraft) -> Vec<EntrySummary> {
        let overlap = govdata_model::catalog::DuplicateConfig::default().item_overlap;
        self.live.lock().expect("live entries lock is never poisoned").candidates(draft, overlap)
    }

    /// Keeps `index` in step: every change is projected into it right after
    /// it commits, and [`Catalog::reconcile`] repairs any drift.
    pub fn with_search(mut self, index: Arc<SearchIndex>, node: NodeLabel) -> Catalog {
        self.search = Some(Projection { index, node, received: Arc::default() });
        self
    }

    async fn search_doc(&self, node: &NodeLabel, entry: CatalogEntry) -> Result<SearchDoc> {
        let provider_name = self.store.department(&entry.metadata.provider.department_id).await?.name;
        Ok(SearchDoc {
            entry,
            node_id: node.id.clone(),
            node_name: node.name.clone(),
            region: node.region.clone(),
            provider_name,
        })
    }

    /// Re-projects one entry after a committed change. The store is the
    /// source of truth, so a failure here is logged, not returned: the
    /// reconciler repairs it.
    async fn project(&self, code: &ResourceCode) {
        self.project_many(std::slice::from_ref(code)).await;
    }

    /// Re-projects entries after committed changes, in one index commit
    /// (a commit per entry would make a bulk import write a segment per
    /// entry). Failures are logged, as in [`Catalog::project`].
    async fn project_many(&self, codes: &[ResourceCode]) {
        let Some(projection) = &self.search else { return };
        if codes.is_empty() {
            return;
        }
        let result = async {
            let (mut docs, mut gone) = (Vec::new(), Vec::new());
            for code in codes {
                let versions = self.store.catalog_versions(code).await?;
                match pick_searchable_version(&versions) {
                    Some(entry) => docs.push(self.search_doc(&projection.node, entry.clone()).await?),
                    None => gone.push(DocKey::new(projection.node.id.clone(), code.to_string())),
                }
            }
            let index = projection.index.clone();
            blocking(move || {
                index.upsert(&docs)?;
                index.remove(&gone)
            })
            .await
        }
        .await;
        if let Err(error) = result {
            let code = &codes[0];
            let entries = codes.len();
            tracing::warn!(%code, entries, %error, "search projection failed; the reconciler will repair it");
        }
    }

    /// Searches the projection as `caller` (or anonymously, as the public sees open data).
    pub async fn search(&self, caller: Option<&Caller>, query: SearchQuery) -> Result<SearchResults> {
        let projection = self.search.as_ref().ok_or_else(|| {
            CatalogError::Store(StoreError::Config("this process has no search index".into()))
        })?;
        let viewer = match caller {
            None => Viewer::anonymous(),
            Some(c) if c.reviews() => Viewer::reviewer(c.context.department_id.clone()),
            Some(c) => Viewer::department(c.context.department_id.clone()),
        };
        let index = projection.index.clone();
        blocking(move || index.search(&query, &viewer)).await
    }

    /// Compares the index with what the store says it should hold, and
    /// repairs missing, stale and extra documents.
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let projection = self.search.as_ref().ok_or_else(|| {
            CatalogError::Store(StoreError::Config("this process has no search index".into()))
        })?;
        // A received batch still being projected is not drift.
        let _settled = projection.received.lock().await;
        let mut expected = Vec::new();
        for code in self.store.catalog_codes().await? {
            let versions = self.store.catalog_versions(&code).await?;
            if let Some(entry) = pick_searchable_version(&versions) {
                expected.push(self.search_doc(&projection.node, entry.clone()).await?);
            }
        }
        expected.extend(
            self.store
                .federated_entries()
                .await?
                .into_iter()
                .map(|held| home_doc(&held.home, held.entry, held.provider_name)),
        );
        let index = projection.index.clone();
        blocking(move || index.reconcile(expected)).await
    }

    /// Applies a batch of published changes received from child `from`
    /// (the national one ledger, DESIGN.md §5) and projects what changed
    /// into search: new published versions replace the entry's document,
    /// withdrawals remove it. With `relay`, applied changes travel on up.
    pub async fn apply_cascade(
        &self,
        from: &str,
        changes: &[CascadeChange],
        backlog: u64,
        relay: bool,
    ) -> Result<AppliedBatch> {
        let batch = self.store.apply_cascade(from, changes, backlog, relay).await?;
        if let Some(projection) = &self.search {
            // The last change of an entry in the batch decides what the
            // index holds (a withdrawal then a republication keeps it).
            let mut last: std::collections::HashMap<DocKey, Option<SearchDoc>> =
                std::collections::HashMap::new();
            for change in &batch.applied {
                let doc = match (&change.action, &change.entry) {
                    (CascadeAction::Publish, Some(entry)) => Some(home_doc(
                        &change.home,
                        entry.clone(),
                        change.provider_name.clone().unwrap_or_default(),
                    )),
                    _ => None,
                };
                last.insert(DocKey::new(change.home.id.clone(), change.code.clone()), doc);
            }
            let (mut upserts, mut removals) = (Vec::new(), Vec::new());
            for (key, doc) in last {
                match doc {
                    Some(doc) => upserts.push(doc),
                    None => removals.push(key),
                }
            }
            // The batch is committed: it is answered while the index takes
            // it in, so the sender's next batch is applied meanwhile. At
            // most one projection is in flight; a stop before it ends is
            // repaired by the reconciler at start.
            let index = projection.index.clone();
            let turn = projection.received.clone().lock_owned().await;
            let from = from.to_owned();
            tokio::spawn(async move {
                let projected = blocking(move || {
                    index.upsert(&upserts)?;
                    index.remove(&removals)
                })
                .await;
                if let Err(error) = projected {
                    tracing::warn!(%from, %error, "search projection of received changes failed; the reconciler will repair it");
                }
                drop(turn);
            });
        }
        Ok(batch)
    }

    /// A descendant's published entry, as this node holds it. Open-data
    /// visitors see it only when it is open (the rule of local entries).
    pub async fn federated_entry(
        &self,
        caller: Option<&Caller>,
        home: &str,
        code: &str,
    ) -> Result<FederatedEntry> {
        let held = self.store.federated_entry(home, code).await?;
        if caller.is_none() && held.entry.metadata.open_type == govdata_model::catalog::OpenType::NotOpen {
            return Err(CatalogError::NotFound(code.to_owned()));
        }
        Ok(held)
    }

    /// Provider rules shared by registration and editing: the caller provides
    /// for the draft's department, whose USCC the draft must carry.
    async fn check_provider(&self, caller: &Caller, draft: &EntryDraft) -> Result<()> {
        if !caller.has(Role::Provider) {
            return Err(CatalogError::Forbidden(
                "registering catalog entries needs the provider role".into(),
            ));
        }
        if draft.provider.department_id != caller.context.department_id {
            return Err(CatalogError::Forbidden(
                "a provider registers entries only for its own department".into(),
            ));
        }
        let department = match self.store.department(&draft.provider.department_id).await {
            Err(StoreError::NotFound(_)) => {
                return Err(FieldError::new("provider.department_id", "no such department").into())
            }
            other => other?,
        };
        if department.uscc != draft.provider.uscc.trim().to_ascii_uppercase() {
            return Err(FieldError::new(
                "provider.uscc",
                format!("the department's unified social credit code is {}", department.uscc),
            )
            .into());
        }
        draft.classification.validate()?;
        Ok(())
    }

    /// Registers a new entry as a draft (version 1) with the next resource code.
    pub async fn register(&self, caller: &Caller, draft: EntryDraft) -> Result<CatalogEntry> {
        let entry = self.register_unprojected(caller, draft).await?;
        self.project(&entry.code).await;
        Ok(entry)
    }

    /// [`Catalog::register`] without the search projection, which the
    /// caller does (bulk import projects a whole file in one commit).
    async fn register_unprojected(&self, caller: &Caller, draft: EntryDraft) -> Result<CatalogEntry> {
        self.check_provider(caller, &draft).await?;
        let classification = draft.classification.clone();
        let actor = caller.context.actor_ref();
        let entry = self
            .store
            .create_catalog_entry(&caller.actor, &classification, |code| {
                let now = OffsetDateTime::now_utc();
                let entry = CatalogEntry {
                    code,
                    version: 1,
                    status: EntryStatus::Draft,
                    grade: draft.grade(),
                    metadata: draft,
                    created_by: actor.clone(),
                    submitted_by: None,
                    created_at: now,
                    updated_at: now,
                    published_on: None,
                };
                let step = HistoryStep {
                    version: 1,
                    action: ActionKind::Revise,
                    from: EntryStatus::Draft,
                    to: EntryStatus::Draft,
                    actor,
                    at: now,
                    comment: Some("registered".into()),
                    reasons: Vec::new(),
                };
                Ok((entry, step))
            })
            .await?;
        Ok(entry)
    }

    /// Replaces the metadata of the latest version while it is a draft or returned.
    pub async fn edit(
        &self,
        caller: &Caller,
        code: &ResourceCode,
        draft: EntryDraft,
    ) -> Result<CatalogEntry> {
        self.check_provider(caller, &draft).await?;
        let head = self.store.catalog_head(code).await?;
        if head.provider_department_id != caller.context.department_id {
            return Err(CatalogError::Forbidden("only the providing department edits an entry".into()));
        }
        let current = self.store.catalog_version(code, head.latest_version).await?;
        if !matches!(current.status, EntryStatus::Draft | EntryStatus::Returned) {
            return Err(StoreError::Conflict(format!(
                "version {} is {}; only a draft or returned version can be edited",
                current.version,
                current.status.as_str()
            ))
            .into());
        }
        if draft.classification != current.metadata.classification {
            return Err(FieldError::new(
                "classification",
                "the classification fixes the resource code and cannot change",
            )
            .into());
        }
        let mut updated = current.clone();
        updated.grade = draft.grade();
        updated.metadata = draft;
        updated.updated_at = OffsetDateTime::now_utc();
        self.store
            .apply_catalog_change(
                &caller.actor,
                CatalogChange {
                    kind: "catalog.edit".into(),
                    code: code.clone(),
                    updates: vec![(updated.clone(), current.status)],
                    new_version: None,
                    published_version: None,
                    history: None,
                },
            )
            .await?;
        self.project(code).await;
        Ok(updated)
    }

    /// Runs the automatic checks on a draft without storing anything, for
    /// `viewer` (`None`: the node's operator, who sees every entry).
    ///
    /// One data, one source holds across departments, so a duplicate of an
    /// entry the viewer may not see is still found — but reported without
    /// that entry's code and name.
    pub async fn check(
        &self,
        viewer: Option<&Caller>,
        draft: &EntryDraft,
        own_code: Option<&ResourceCode>,
    ) -> Result<CheckReport> {
        self.refresh_live_entries().await?;
        let existing = self.duplicate_candidates(draft);
        let mut context = CheckContext::new(&existing);
        if let Some(code) = own_code {
            context = context.with_own_code(code);
        }
        let mut report = check_draft(draft, &context);
        if let Some(viewer) = viewer {
            viewer.redact_unseen(&existing, &mut report);
        }
        Ok(report)
    }

    /// Performs a lifecycle action on a version (default: the latest; for a
    /// new version or a withdrawal, the published one).
    pub async fn act(
        &self,
        caller: &Caller,
        code: &ResourceCode,
        version: Option<u32>,
        action: Action,
    ) -> Result<ActOutcome> {
        let head = self.store.catalog_head(code).await?;
        let target = version.unwrap_or(match action {
            Action::NewVersion | Action::Withdraw { .. } => {
                head.published_version.unwrap_or(head.latest_version)
            }
            _ => head.latest_version,
        });
        let current = self.store.catalog_version(code, target).await?;
        if !caller.may_see(&current) {
            return Err(CatalogError::NotFound(code.to_string()));
        }
        let state = VersionState {
            version: current.version,
            latest_version: head.latest_version,
            status: current.status,
            provider_department_id: head.provider_department_id.clone(),
            author: current.created_by.clone(),
            submitted_by: current.submitted_by.clone(),
            newer_version_open: head.latest_version > current.version,
        };
        let step_transition = transition(&state, &action, &caller.context)?;
        let checks = match action {
            Action::Submit => {
                let report = self.check(Some(caller), &current.metadata, Some(code)).await?;
                if !report.passed() {
                    return Err(CatalogError::ChecksFailed(report));
                }
                Some(report)
            }
            _ => None,
        };
        let now = OffsetDateTime::now_utc();
        let mut updated = current.clone();
        updated.status = step_transition.to;
        updated.updated_at = now;
        if let Some(submitter) = &step_transition.submitted_by {
            updated.submitted_by = Some(submitter.clone());
        }
        let mut change = CatalogChange {
            kind: format!("catalog.{}", step_transition.action.as_str()),
            code: code.clone(),
            updates: Vec::new(),
            new_version: None,
            published_version: None,
            history: Some(step_transition.history_step(&action, &caller.context, now)),
        };
        match step_transition.action {
            ActionKind::NewVersion => {
                let version = step_transition.creates_version.expect("a new version has a number");
                change.new_version = Some(CatalogEntry {
                    version,
                    status: EntryStatus::Draft,
                    created_by: caller.context.actor_ref(),
                    submitted_by: None,
                    created_at: now,
                    updated_at: now,
                    published_on: None,
                    ..current.clone()
                });
            }
            ActionKind::Publish => {
                updated.published_on = Some(now.date());
                if let Some(previous) = head.published_version.filter(|p| *p != current.version) {
                    let mut old = self.store.catalog_version(code, previous).await?;
                    let was = old.status;
                    old.status = EntryStatus::Superseded;
                    old.updated_at = now;
                    change.updates.push((old, was));
                }
                change.published_version = Some(Some(current.version));
                change.updates.push((updated.clone(), current.status));
            }
            ActionKind::Withdraw => {
                change.published_version = Some(None);
                change.updates.push((updated.clone(), current.status));
            }
            _ => change.updates.push((updated.clone(), current.status)),
        }
        let entry = change.new_version.clone().unwrap_or_else(|| updated.clone());
        self.store.apply_catalog_change(&caller.actor, change).await?;
        self.project(code).await;
        Ok(ActOutcome { transition: step_transition, entry, checks })
    }

    /// An entry as `caller` may see it: the given version, or the latest
    /// visible one (unpublished versions only for its department and reviewers).
    pub async fn view(
        &self,
        caller: &Caller,
        code: &ResourceCode,
        version: Option<u32>,
    ) -> Result<EntryView> {
        let versions = self.store.catalog_versions(code).await?;
        let visible: Vec<&CatalogEntry> = versions.iter().filter(|v| caller.may_see(v)).collect();
        let chosen = match version {
            Some(n) => visible.iter().find(|v| v.version == n).copied(),
            None => {
                let head = self.store.catalog_head(code).await?;
                let preferred =
                    if caller.reviews() || caller.context.department_id == head.provider_department_id {
                        head.latest_version
                    } else {
                        head.published_version.unwrap_or(0)
                    };
                visible.iter().find(|v| v.version == preferred).copied()
            }
        };
        let entry = chosen.cloned().ok_or_else(|| CatalogError::NotFound(code.to_string()))?;
        let open = entry.status.is_open();
        let due = open.then(|| self.due_on(&entry)).flatten();
        let today = OffsetDateTime::now_utc().date();
        let history = if visible.len() == versions.len() {
            self.store.catalog_history(code).await?
        } else {
            let shown: Vec<u32> = visible.iter().map(|v| v.version).collect();
            self.store
                .catalog_history(code)
                .await?
                .into_iter()
                .filter(|s| shown.contains(&s.version))
                .collect()
        };
        Ok(EntryView {
            versions: visible.iter().map(|v| VersionInfo { version: v.version, status: v.status }).collect(),
            history,
            due_on: due.map(|d| d.to_string()),
            overdue: due.is_some_and(|d| today > d),
            entry,
        })
    }

    /// The last working day to publish a version created at its `created_at`.
    fn due_on(&self, entry: &CatalogEntry) -> Option<Date> {
        self.calendar.deadline(entry.created_at.date(), self.registration_days).ok().map(|r| r.value)
    }

    /// What changed between two versions the caller may see.
    pub async fn diff(&self, caller: &Caller, code: &ResourceCode, from: u32, to: u32) -> Result<EntryDiff> {
        let old = self.store.catalog_version(code, from).await?;
        let new = self.store.catalog_version(code, to).await?;
        if !caller.may_see(&old) || !caller.may_see(&new) {
            return Err(CatalogError::NotFound(code.to_string()));
        }
        Ok(diff_versions(&old, &new))
    }

    /// Latest versions the caller may see, newest first.
    pub async fn list(&self, caller: &Caller, mut filter: CatalogFilter) -> Result<Vec<CatalogEntry>> {
        if !caller.reviews() && filter.status != Some(EntryStatus::Published) {
            let own = caller.context.department_id.clone();
            match &filter.provider_department_id {
                Some(department) if *department != own => filter.status = Some(EntryStatus::Published),
                Some(_) => {}
                None => filter.provider_department_id = Some(own),
            }
        }
        let entries = self.store.catalog_entries(&filter).await?;
        Ok(entries.into_iter().filter(|e| caller.may_see(e)).collect())
    }

    /// Statistics of the one ledger; status and overdue counts for reviewers only.
    pub async fn stats(&self, caller: &Caller) -> Result<CatalogStats> {
        let mut counts = self.store.catalog_counts().await?;
        let departments: std::collections::HashMap<String, String> =
            self.store.departments().await?.into_iter().map(|d| (d.id, d.name)).collect();
        if !caller.reviews() {
            counts.remove("status");
        }
        let published = counts.get("share_type").map_or(0, |groups| groups.values().sum());
        let by = counts
            .into_iter()
            .map(|(fact, groups)| {
                let mut list: Vec<Count> = groups
                    .into_iter()
                    .map(|(key, count)| {
                        let label = match fact.as_str() {
                            "provider" => departments.get(&key).cloned().unwrap_or_else(|| key.clone()),
                            _ => label(&fact, &key),
                        };
                        Count { key, label, count }
                    })
                    .collect();
                list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
                (fact, list)
            })
            .collect();
        let overdue =
            if caller.reviews() { Some(self.overdue(caller, None).await?.len() as u64) } else { None };
        Ok(CatalogStats { published, by, overdue })
    }

    /// Open versions past their registration deadline, for one department or
    /// (reviewers) all.
    pub async fn overdue(&self, caller: &Caller, department_id: Option<&str>) -> Result<Vec<EntryView>> {
        let department = match department_id {
            Some(d) => Some(d.to_owned()),
            None if caller.reviews() => None,
            None => Some(caller.context.department_id.clone()),
        };
        let today = OffsetDateTime::now_utc().date();
        let mut overdue = Vec::new();
        for status in
            [EntryStatus::Draft, EntryStatus::Submitted, EntryStatus::Returned, EntryStatus::Approved]
        {
            let filter = CatalogFilter {
                status: Some(status),
                provider_department_id: department.clone(),
                limit: 10_000,
                offset: 0,
            };
            for entry in self.list(caller, filter).await? {
                if let Some(due) = self.due_on(&entry).filter(|d| today > *d) {
                    overdue.push(EntryView {
                        versions: vec![VersionInfo { version: entry.version, status: entry.status }],
                        history: Vec::new(),
                        due_on: Some(due.to_string()),
                        overdue: true,
                        entry,
                    });
                }
            }
        }
        Ok(overdue)
    }
}

/// Runs index work on the blocking pool: tantivy does disk I/O and CPU work.
/// The search document of a descendant's entry, under its home node.
fn home_doc(home: &HomeNode, entry: CatalogEntry, provider_name: String) -> SearchDoc {
    SearchDoc {
        entry,
        node_id: home.id.clone(),
        node_name: home.name.clone(),
        region: home.region.clone(),
        provider_name,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CatalogError::Store(StoreError::Config(format!("search task failed: {e}"))))?
        .map_err(CatalogError::from)
}
