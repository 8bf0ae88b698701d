//! Subscriptions (订阅): a grant's row changes, delivered by pull (the
//! consumer keeps a cursor) or push (the node calls the consumer's webhook,
//! retrying until it answers).
//!
//! Changes come from the change data feed of the entry's Delta table: each
//! commit's inserted, deleted and updated rows, in commit order. A
//! [`Cursor`] names the next change — the table version and how many of its
//! rows inside the grant's scope were already delivered — so a consumer that
//! resumes from its last cursor misses nothing and receives nothing twice.
//! Rows pass the grant's row filter and masking like every other gateway
//! read, and each page is a ledger entry committed before the rows leave.
//!
//! Webhook calls follow the Standard Webhooks specification: headers
//! `webhook-id` (the same for every retry of one page), `webhook-timestamp`
//! and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over
//! `id.timestamp.body`, keyed with the subscription's `whsec_` secret).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::StreamExt;
use govdata_catalog::Caller;
use govdata_lake::arrow::array::RecordBatch;
use govdata_lake::datafusion::error::DataFusionError;
use govdata_lake::datafusion::logical_expr::col;
use govdata_lake::profile::to_json_rows;
use govdata_lake::table::{quote, CHANGE_TYPE_COLUMN, COMMIT_TIMESTAMP_COLUMN};
use govdata_lake::LakeError;
use govdata_model::org::Role;
use govdata_model::{ApiError, ErrorCode, FieldError};
use govdata_store::{
    DeliveryOutcome, DeliveryRecord, GrantRecord, LedgerRecord, NewSubscription, StoreError,
    SubscriptionFilter, SubscriptionRecord,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::gateway::{masking_of, scoped, serving_terms, Served};
use crate::masking::{map_text, mask_batch, MaskRule};
use crate::service::{Result, Sharing, SharingError, MAX_LISTING};
use crate::terms::{DeliveryMode, GrantTerms};

/// Changes in one page when the caller names no limit.
pub const DEFAULT_PAGE: usize = 1_000;
/// Most changes in one page (pull) or one webhook call (push).
pub const MAX_PAGE: usize = 10_000;
/// Longest a pull waits for a change before answering with none.
pub const MAX_WAIT_SECONDS: u64 = 30;
/// Most active webhook subscriptions per grant.
pub const MAX_SUBSCRIPTIONS_PER_GRANT: u64 = 10;
/// Longest webhook address.
const MAX_URL_LENGTH: usize = 2_048;
/// How long a webhook may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between attempts at a failing webhook.
const MAX_BACKOFF_SECONDS: u64 = 300;
/// A subscription is shown as failing after this many failures in a row.
const FAILING_AFTER: u32 = 3;
/// How often due subscriptions are looked at when no job commits.
const DISPATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Webhook calls in flight at once.
const CONCURRENT_DELIVERIES: usize = 8;
/// Delivery attempts shown with one subscription.
const SHOWN_DELIVERIES: u32 = 20;
const SECRET_PREFIX: &str = "whsec_";
const SYSTEM_ACTOR: &str = "system:subscriptions";

/// Where a change feed resumes: the next change is row `offset` (counted
/// inside the grant's scope) of table version `version`. Written `12.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub version: u64,
    pub offset: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.version, self.offset)
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let malformed =
            || format!("'{text}' is not a cursor: give 'now', 'beginning' or a cursor returned earlier");
        let (version, offset) = text.split_once('.').ok_or_else(malformed)?;
        Ok(Cursor {
            version: version.parse().map_err(|_| malformed())?,
            offset: offset.parse().map_err(|_| malformed())?,
        })
    }
}

/// Where a feed starts, as a caller names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// After the table's latest version: only changes from now on.
    Now,
    /// The table's first version: its whole history.
    Beginning,
    At(Cursor),
}

impl Start {
    fn parse(text: Option<&str>) -> Result<Start> {
        match text.map(str::trim) {
            None | Some("now") => Ok(Start::Now),
            Some("beginning") => Ok(Start::Beginning),
            Some(cursor) => cursor.parse().map(Start::At).map_err(|e| FieldError::new("cursor", e).into()),
        }
    }
}

/// A pull of a grant's changes (also carried to another node's gateway).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// `now` (the default: changes from now on), `beginning` (the table's
    /// whole history), or the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Most changes in the page (1 to 10,000; 1,000 by default).
    pub limit: Option<usize>,
    /// When there is no change yet, wait up to this many seconds (0 to 30)
    /// for one before answering (long polling).
    pub wait_seconds: Option<u64>,
}

/// One changed row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// `insert`, `delete`, `update_preimage` (the row before an update) or
    /// `update_postimage` (after). A row that an update moved out of the
    /// grant's scope shows only its pre-image: treat it as deleted.
    pub op: String,
    /// The table version that made the change.
    pub version: u64,
    pub committed_at: Option<String>,
    /// The granted items, masked as granted.
    #[schema(value_type = Object)]
    pub row: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangesPage {
    pub grant_id: String,
    pub entry_code: String,
    pub items: Vec<String>,
    pub masking: std::collections::BTreeMap<String, MaskRule>,
    /// Where this page starts.
    pub cursor: String,
    /// Where the next page starts: keep it and pass it next time.
    pub next_cursor: String,
    /// More changes are waiting: ask again at once.
    pub has_more: bool,
    pub changes: Vec<Change>,
}

/// A webhook subscription to make.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The consumer's receiver: an `http` or `https` address without
    /// credentials. Each call is signed (Standard Webhooks).
    pub url: String,
    /// `now` (default), `beginning`, or a cursor from a pull.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Most changes per call (1 to 10,000; 1,000 by default).
    #[serde(default)]
    pub batch_size: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub seq: u32,
    pub at: String,
    pub cursor: String,
    pub next_cursor: String,
    pub rows: u64,
    /// The receiver's HTTP status; absent when it did not answer.
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(record: DeliveryRecord) -> Self {
        DeliveryView {
            seq: record.seq,
            at: record.at,
            cursor: record.from_cursor,
            next_cursor: record.to_cursor,
            rows: record.rows,
            status_code: record.status_code,
            error: record.error,
            latency_ms: record.latency_ms,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub grant_id: String,
    pub consumer_department_id: String,
    pub url: String,
    pub batch_size: u32,
    /// `active` or `closed`.
    pub status: String,
    /// Why it closed: unsubscribed, or the grant was revoked or expired.
    pub closed_reason: Option<String>,
    /// The next change to deliver.
    pub cursor: String,
    /// Failed deliveries in a row; `failing` from the third.
    pub failures: u32,
    pub failing: bool,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub last_delivered_at: Option<String>,
    pub delivered_rows: u64,
    pub created_by: String,
    pub created_at: String,
    /// The signing secret: returned once, when the subscription is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The latest delivery attempts, newest first (for one subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryView>>,
}

impl SubscriptionView {
    fn of(record: SubscriptionRecord) -> Self {
        SubscriptionView {
            cursor: Cursor { version: record.cursor_version, offset: record.cursor_offset }.to_string(),
            failing: record.failures >= FAILING_AFTER,
            id: record.id,
            grant_id: record.grant_id,
            consumer_department_id: record.consumer_department_id,
            url: record.url,
            batch_size: record.batch_size,
            status: record.status,
            closed_reason: record.closed_reason,
            failures: record.failures,
            next_attempt_at: record.next_attempt_at,
            last_error: record.last_error,
            last_delivered_at: record.last_delivered_at,
            delivered_rows: record.delivered_rows,
            created_by: record.created_by,
            created_at: record.created_at,
            secret: None,
            deliveries: None,
        }
    }
}

fn page_size(limit: Option<usize>, field: &str) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new(field, format!("must be 1 to {MAX_PAGE}")).into()),
    }
}

impl Sharing {
    /// 订阅 (pull): the grant's changes from a cursor, masked as granted.
    pub async fn changes(&self, caller: &Caller, grant_id: &str, query: ChangesQuery) -> Result<ChangesPage> {
        let started = Instant::now();
        let asked = json!({"cursor": query.cursor, "limit": query.limit});
        let result = self.pull_changes(caller, grant_id, query).await;
        self.audited(caller, grant_id, DeliveryMode::Subscription, asked, started, result).await
    }

    async fn pull_changes(
        &self,
        caller: &Caller,
        grant_id: &str,
        query: ChangesQuery,
    ) -> Result<(ChangesPage, Served)> {
        let grant = self.live_grant(caller, grant_id, DeliveryMode::Subscription).await?;
        let limit = page_size(query.limit, "limit")?;
        let wait = query.wait_seconds.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            return Err(FieldError::new("wait_seconds", format!("must be 0 to {MAX_WAIT_SECONDS}")).into());
        }
        let start = Start::parse(query.cursor.as_deref())?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        // Subscribed before the first read, so a commit between the read and
        // the wait still wakes this call.
        let mut commits = self.resources.watch_commits();
        let cursor = self.resolve(&grant.record.entry_code, start).await?;
        let mut record = grant.record;
        loop {
            let page = self.change_page(&record, &grant.terms, cursor, limit).await?;
            if !page.changes.is_empty() || tokio::time::Instant::now() >= deadline {
                let served = Served {
                    purpose: grant.terms.purpose.clone(),
                    rows: page.changes.len() as u64,
                    items: page.items.clone(),
                };
                return Ok((page, served));
            }
            if tokio::time::timeout_at(deadline, commits.changed()).await.is_err() {
                continue;
            }
            // A grant revoked while the call waited serves nothing more.
            record = self.store.grant(grant_id).await?.into();
            serving_terms(&record, DeliveryMode::Subscription)?;
        }
    }

    /// The cursor a start names, for the entry's table as it is now.
    async fn resolve(&self, entry_code: &str, start: Start) -> Result<Cursor> {
        Ok(match start {
            Start::At(cursor) => cursor,
            Start::Beginning => Cursor { version: 0, offset: 0 },
            Start::Now => {
                let latest = match self.resources.entry_table(entry_code).await? {
                    Some((_, table)) => table.latest_version().await?,
                    None => None,
                };
                Cursor { version: latest.map_or(0, |v| v + 1), offset: 0 }
            }
        })
    }

    /// Up to `limit` changes from `from` inside the grant's scope, masked.
    async fn change_page(
        &self,
        record: &GrantRecord,
        terms: &GrantTerms,
        from: Cursor,
        limit: usize,
    ) -> Result<ChangesPage> {
        let items = terms.items.clone();
        let masking = masking_of(terms, &items);
        let mut page = ChangesPage {
            grant_id: record.id.clone(),
            entry_code: record.entry_code.clone(),
            items: items.clone(),
            masking: masking.clone(),
            cursor: from.to_string(),
            next_cursor: from.to_string(),
            has_more: false,
            changes: Vec::new(),
        };
        let table = match self.resources.entry_table(&record.entry_code).await? {
            Some((_, table)) => table,
            None => return Ok(page),
        };
        let Some(latest) = table.latest_version().await? else { return Ok(page) };
        if from.version > latest + 1 {
            return Err(FieldError::new(
                "cursor",
                format!(
                    "cursor {from}: the table has no version {} yet (the latest is {latest})",
                    from.version
                ),
            )
            .into());
        }
        let mut at = from;
        while at.version <= latest && page.changes.len() < limit {
            let wanted = limit - page.changes.len();
            let read = self.version_changes(&table, record, terms, &masking, at, wanted).await;
            let (changes, exhausted) = read.map_err(|error| cursor_error(error, at))?;
            at = if exhausted {
                Cursor { version: at.version + 1, offset: 0 }
            } else {
                Cursor { version: at.version, offset: at.offset + changes.len() as u64 }
            };
            page.changes.extend(changes);
        }
        page.next_cursor = at.to_string();
        page.has_more = at.version <= latest;
        Ok(page)
    }

    /// Up to `wanted` changes of version `at.version` from row `at.offset`,
    /// and whether the version has no more.
    async fn version_changes(
        &self,
        table: &govdata_lake::table::LakeTable,
        record: &GrantRecord,
        terms: &GrantTerms,
        masking: &std::collections::BTreeMap<String, MaskRule>,
        at: Cursor,
        wanted: usize,
    ) -> Result<(Vec<Change>, bool)> {
        let mut selection: Vec<_> = terms.items.iter().map(|item| col(quote(item))).collect();
        selection.push(col(CHANGE_TYPE_COLUMN));
        selection.push(col(COMMIT_TIMESTAMP_COLUMN));
        let frame = scoped(table.changes(at.version).await?, &terms.row_filter)?
            .select(selection)
            .map_err(LakeError::from)?;
        let mut changes = Vec::new();
        let mut seen = 0u64;
        // Partitions one after another: the same order on every read.
        for mut stream in frame.execute_stream_partitioned().await.map_err(LakeError::from)? {
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(LakeError::from)?;
                let rows = batch.num_rows() as u64;
                let first = at.offset.saturating_sub(seen).min(rows);
                seen += rows;
                if first == rows {
                    continue;
                }
                let take = (rows - first).min((wanted - changes.len()) as u64);
                let slice = batch.slice(first as usize, take as usize);
                changes.extend(changes_of(&slice, terms.items.len(), at.version, masking, record)?);
                if changes.len() == wanted {
                    // Whether rows are left is for the next read to find out.
                    return Ok((changes, false));
                }
            }
        }
        Ok((changes, true))
    }

    /// 订阅 (push): a webhook that receives the grant's changes.
    pub async fn subscribe(
        &self,
        caller: &Caller,
        grant_id: &str,
        request: SubscribeRequest,
    ) -> Result<SubscriptionView> {
        let grant = self.usable_grant(caller, grant_id, DeliveryMode::Subscription).await?;
        let url = webhook_url(&request.url)?;
        let batch_size = page_size(request.batch_size, "batch_size")? as u32;
        let start = Start::parse(request.cursor.as_deref())?;
        // A table read in place has no change feed: say so now, not at the
        // first delivery.
        self.resources.entry_table(&grant.record.entry_code).await?;
        if self.store.active_subscription_count(grant_id).await? >= MAX_SUBSCRIPTIONS_PER_GRANT {
            return Err(SharingError::Conflict(format!(
                "grant {grant_id} already has {MAX_SUBSCRIPTIONS_PER_GRANT} active subscriptions; close one first"
            )));
        }
        let cursor = self.resolve(&grant.record.entry_code, start).await?;
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let secret = format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(secret));
        let new = NewSubscription {
            id: uuid::Uuid::new_v4().to_string(),
            grant_id: grant_id.to_owned(),
            consumer_department_id: grant.record.consumer_department_id.clone(),
            url,
            secret: secret.clone(),
            batch_size,
            cursor_version: cursor.version,
            cursor_offset: cursor.offset,
        };
        let record = self.store.create_subscription(&caller.actor, &new).await?;
        let mut view = SubscriptionView::of(record);
        view.secret = Some(secret);
        Ok(view)
    }

    /// Subscriptions the caller may see: its department's, as consumer or
    /// provider; every one for the authority and the auditor.
    pub async fn subscriptions(
        &self,
        caller: &Caller,
        grant_id: Option<String>,
    ) -> Result<Vec<SubscriptionView>> {
        let department_id = (!Self::oversees(caller)).then(|| caller.context.department_id.clone());
        let filter = SubscriptionFilter { department_id, grant_id };
        Ok(self
            .store
            .subscriptions(&filter, MAX_LISTING)
            .await?
            .into_iter()
            .map(SubscriptionView::of)
            .collect())
    }

    /// One subscription with its latest delivery attempts.
    pub async fn subscription(&self, caller: &Caller, id: &str) -> Result<SubscriptionView> {
        let record = self.visible_subscription(caller, id).await?;
        let deliveries = self.store.subscription_deliveries(id, SHOWN_DELIVERIES).await?;
        let mut view = SubscriptionView::of(record);
        view.deliveries = Some(deliveries.into_iter().map(DeliveryView::from).collect());
        Ok(view)
    }

    /// Ends a subscription: the consumer department's consumers, or the
    /// authority.
    pub async fn unsubscribe(&self, caller: &Caller, id: &str) -> Result<SubscriptionView> {
        let record = self.visible_subscription(caller, id).await?;
        let consumer = caller.context.roles.contains(&Role::Consumer)
            && caller.context.department_id == record.consumer_department_id;
        if !consumer && !caller.context.roles.contains(&Role::Authority) {
            return Err(SharingError::forbidden(
                "a subscription is ended by its consumer department or the data authority",
            ));
        }
        let closed = self.store.close_subscription(&caller.actor, id, "unsubscribed").await?;
        Ok(SubscriptionView::of(closed))
    }

    async fn visible_subscription(&self, caller: &Caller, id: &str) -> Result<SubscriptionRecord> {
        let record = self.store.subscription(id).await?;
        let grant = self.store.grant(&record.grant_id).await?;
        if Self::involved(caller, &record.consumer_department_id, &grant.provider_department_id) {
            return Ok(record);
        }
        // Other departments learn nothing, not even that it exists.
        Err(StoreError::NotFound(format!("subscription {id}")).into())
    }

    /// Delivers due subscriptions: at once when a job commits, else every
    /// second (retries wait their backoff). Runs until the task is aborted.
    pub async fn run_subscriptions(self) {
        let client = match reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "no HTTP client for webhooks: subscriptions are not delivered");
                return;
            }
        };
        let mut commits = self.resources.watch_commits();
        loop {
            let now = govdata_store::timestamp::now();
            match self.store.due_subscriptions(&now, MAX_LISTING).await {
                Ok(due) => {
                    futures::stream::iter(due)
                        .for_each_concurrent(CONCURRENT_DELIVERIES, |subscription| {
                            self.deliver_all(&client, subscription)
                        })
                        .await
                }
                Err(error) => tracing::error!(%error, "could not read due subscriptions"),
            }
            tokio::select! {
                _ = commits.changed() => {}
                () = tokio::time::sleep(DISPATCH_INTERVAL) => {}
            }
        }
    }

    /// Delivers pages while there are more and the receiver takes them.
    async fn deliver_all(&self, client: &reqwest::Client, mut subscription: SubscriptionRecord) {
        loop {
            match self.deliver(client, &subscription).await {
                Ok(Some(next)) => subscription = next,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(subscription = %subscription.id, error = %error, "delivery failed");
                    return;
                }
            }
        }
    }

    /// One page to one webhook; the subscription as it is after a page was
    /// taken and more are waiting, else `None`.
    async fn deliver(
        &self,
        client: &reqwest::Client,
        subscription: &SubscriptionRecord,
    ) -> Result<Option<SubscriptionRecord>> {
        let grant = self.store.grant(&subscription.grant_id).await?;
        let terms = match serving_terms(&grant, DeliveryMode::Subscription) {
            Ok(terms) => terms,
            Err(SharingError::Forbidden { message, .. }) => {
                self.store.close_subscription(SYSTEM_ACTOR, &subscription.id, &message).await?;
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let from = Cursor { version: subscription.cursor_version, offset: subscription.cursor_offset };
        let started = Instant::now();
        let page = match self.change_page(&grant, &terms, from, subscription.batch_size as usize).await {
            Ok(page) => page,
            // A cursor that can no longer be served never will be.
            Err(error) if matches!(error.code(), ErrorCode::InvalidInput | ErrorCode::Conflict) => {
                let reason = format!("its cursor can no longer be served: {}", error.public_message());
                self.store.close_subscription(SYSTEM_ACTOR, &subscription.id, &reason).await?;
                return Ok(None);
            }
            Err(error) => {
                self.finish(subscription, from, from, 0, None, Some(error.public_message()), started).await?;
                return Ok(None);
            }
        };
        let next: Cursor = page.next_cursor.parse().map_err(|e: String| StoreError::Corrupt(e))?;
        if page.changes.is_empty() {
            // Versions without a row in scope are passed over, once.
            if next != from {
                self.finish(subscription, from, next, 0, None, None, started).await?;
            }
            return Ok(None);
        }
        let rows = page.changes.len() as u64;
        // The read is in the ledger before any row leaves.
        let payload = json!({"grant": grant.id, "mode": DeliveryMode::Subscription.as_str(),
            "subscription": subscription.id, "cursor": page.cursor, "next_cursor": page.next_cursor,
            "outcome": "sending", "purpose": terms.purpose, "rows": rows, "items": page.items});
        let record = LedgerRecord::new(&subscription.created_by, "gateway.subscription", &grant.id, payload);
        self.store.record_access(record).await?;
        let has_more = page.has_more;
        let answer = post_webhook(client, subscription, &page).await;
        let latency_us = started.elapsed().as_micros() as u64;
        self.count_call(&grant.id, answer.is_ok(), if answer.is_ok() { rows } else { 0 }, latency_us);
        let (status, error) = match answer {
            Ok(status) => (Some(status), None),
            Err((status, error)) => (status, Some(error)),
        };
        let delivered = error.is_none();
        if !self.finish(subscription, from, next, rows, status, error, started).await?
            || !delivered
            || !has_more
        {
            return Ok(None);
        }
        Ok(Some(self.store.subscription(&subscription.id).await?))
    }

    /// Records an attempt: the cursor moves on success; a failure waits
    /// 2, 4, 8 … up to 300 seconds before the next attempt.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        subscription: &SubscriptionRecord,
        from: Cursor,
        to: Cursor,
        rows: u64,
        status_code: Option<u16>,
        error: Option<String>,
        started: Instant,
    ) -> Result<bool> {
        let wait = match &error {
            None => 0,
            Some(_) => {
                2u64.saturating_pow(subscription.failures.saturating_add(1).min(16)).min(MAX_BACKOFF_SECONDS)
            }
        };
        let next_attempt = time::OffsetDateTime::now_utc() + time::Duration::seconds(wait as i64);
        let outcome = DeliveryOutcome {
            from: (from.version, from.offset),
            to: (to.version, to.offset),
            from_cursor: from.to_string(),
            to_cursor: to.to_string(),
            rows,
            status_code,
            error,
            latency_ms: started.elapsed().as_millis() as u64,
            next_attempt_at: govdata_store::timestamp::format(next_attempt),
        };
        Ok(self.store.finish_delivery(SYSTEM_ACTOR, &subscription.id, &outcome).await?)
    }
}

/// The webhook address, checked: http(s), a host, no credentials.
fn webhook_url(text: &str) -> Result<String> {
    let invalid = |message: &str| -> SharingError { FieldError::new("url", message).into() };
    let text = text.trim();
    if text.len() > MAX_URL_LENGTH {
        return Err(invalid("at most 2,048 characters"));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(&format!("not an address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("use an http or https address"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the address has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the address: verify the signature instead"));
    }
    if url.fragment().is_some() {
        return Err(invalid("the address has a fragment (#…)"));
    }
    Ok(url.to_string())
}

/// The changes of a slice of one version's rows: the granted items (the
/// first `items` columns) masked, then the change type and commit time.
fn changes_of(
    batch: &RecordBatch,
    items: usize,
    version: u64,
    masking: &std::collections::BTreeMap<String, MaskRule>,
    record: &GrantRecord,
) -> Result<Vec<Change>> {
    let values = batch.project(&(0..items).collect::<Vec<_>>()).map_err(LakeError::from)?;
    let masked = mask_batch(&values, masking, record.mask_key.as_bytes())?;
    let ops = map_text(batch.column(items), |op| op.unwrap_or_default().to_owned())?;
    let times = map_text(batch.column(items + 1), |time| time.map(str::to_owned))?;
    let rows = to_json_rows(std::slice::from_ref(&masked))?;
    Ok(rows
        .into_iter()
        .zip(ops.into_iter().zip(times))
        .map(|(row, (op, committed_at))| Change { op, version, committed_at, row })
        .collect())
}

/// A read of changes that failed at `at`: a version whose files were
/// archived is gone for good, and the consumer must copy the table anew.
fn cursor_error(error: SharingError, at: Cursor) -> SharingError {
    match error {
        SharingError::Lake(LakeError::Invalid { message, .. }) => {
            FieldError::new("cursor", format!("cursor {at}: {message}")).into()
        }
        SharingError::Lake(LakeError::DataFusion(error))
            if matches!(error.find_root(), DataFusionError::ObjectStore(_)) =>
        {
            SharingError::Conflict(format!(
                "cursor {at}: the changes of version {} are no longer kept (archived); copy the table \
                 with a batch export and continue with cursor=now",
                at.version
            ))
        }
        other => other,
    }
}

/// Posts one page, signed; the receiver's status on success, else the
/// status (if any) and why it failed.
async fn post_webhook(
    client: &reqwest::Client,
    subscription: &SubscriptionRecord,
    page: &ChangesPage,
) -> std::result::Result<u16, (Option<u16>, String)> {
    let body = json!({
        "type": "changes",
        "subscription_id": subscription.id,
        "grant_id": page.grant_id,
        "entry_code": page.entry_code,
        "items": page.items,
        "masking": page.masking,
        "cursor": page.cursor,
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
        "changes": page.changes,
    })
    .to_string();
    let id = format!("{}.{}", subscription.id, page.cursor);
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = sign_webhook(&subscription.secret, &id, &timestamp, &body)
        .map_err(|e| (None, format!("the subscription's secret is unusable: {e}")))?;
    let response = client
        .post(&subscription.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", &timestamp)
        .header("webhook-signature", format!("v1,{signature}"))
        .body(body)
        .send()
        .await
        .map_err(|e| (None, format!("the receiver did not answer: {}", without_url(&e))))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the receiver answered HTTP {status}")))
    }
}

/// A transport error without the address (it is on the subscription).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "redirected (not followed)"
    } else {
        "request failed"
    };
    kind.to_owned()
}

/// Standard Webhooks signature: base64 HMAC-SHA256 of `id.timestamp.body`
/// keyed with the secret's bytes.
pub fn sign_webhook(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &str,
) -> std::result::Result<String, String> {
    let key = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD.decode(key).map_err(|e| e.to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_name_the_field() {
        let cursor = Cursor { version: 12, offset: 3 };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        assert_eq!(Start::parse(None).unwrap(), Start::Now);
        assert_eq!(Start::parse(Some("beginning")).unwrap(), Start::Beginning);
        for bad in ["12", "a.b", "-1.0", "1.2.3", ""] {
            let error = Start::parse(Some(bad)).unwrap_err();
            assert_eq!(error.field(), Some("cursor"), "{bad}");
        }
    }

    #[test]
    fn webhook_addresses_are_checked() {
        assert!(webhook_url("https://receiver.example.gov.cn/hooks/1").is_ok());
        for bad in ["ftp://x/", "not a url", "https://user:pw@x/", "https://x/#f", "file:///etc/passwd"] {
            let error = webhook_url(bad).unwrap_err();
            assert_eq!(error.field(), Some("url"), "{bad}");
        }
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign_webhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body).unwrap();
        assert_eq!(signature, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
