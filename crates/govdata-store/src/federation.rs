//! Federation state (DESIGN.md §5): the parent and children this node is
//! joined to (keys pinned at join), one-time join tokens, nonces of accepted
//! signed requests, the catalog outbox and the one ledger of descendants'
//! entries.
//!
//! Cascade invariants:
//! - A published change (publish, new published version, withdrawal) enters
//!   the outbox in the transaction that makes it ([`Store::apply_catalog_change`]),
//!   so a change is never committed without its way up, nor sent without
//!   being committed.
//! - Outbox sequences come from one counter row taken under its row lock, so
//!   they are handed out in commit order on both backends: a reader that saw
//!   sequence n has seen every sequence below it.
//! - A received change is applied only when its `home_seq` (the sequence the
//!   owning node gave it) is newer than what is held for that entry: resent,
//!   replayed or reordered batches change nothing, so delivery is
//!   at-least-once and the effect exactly-once.

use govdata_model::catalog::CatalogEntry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use crate::rows::{chunk_len, values_sql};
use crate::{timestamp, Result, Store, StoreError, WriteTx};

/// How a node stands to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRelation {
    Parent,
    Child,
}

impl NodeRelation {
    fn as_str(self) -> &'static str {
        match self {
            NodeRelation::Parent => "parent",
            NodeRelation::Child => "child",
        }
    }
}

/// Whether a joined node's signed requests are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Active,
    Suspended,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Active => "active",
            NodeStatus::Suspended => "suspended",
        }
    }
}

/// A node joined to this one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FederationNode {
    pub id: String,
    pub relation: NodeRelation,
    pub name: String,
    pub level: String,
    pub region: String,
    pub url: String,
    /// Base64 of the pinned raw Ed25519 public key.
    pub public_key: String,
    pub status: NodeStatus,
    pub joined_at: String,
    pub key_rotated_at: Option<String>,
    pub last_seen_at: Option<String>,
    /// Parent: the highest outbox sequence it acknowledged. Child: the
    /// highest of its sequences received here.
    pub synced_seq: u64,
    pub last_sync_at: Option<String>,
    /// Child: its backlog (changes not yet sent) as it last reported it.
    pub reported_backlog: u64,
    /// Parent: the last checkpoint of this node's ledger it cosigned.
    pub cosigned_checkpoint: Option<String>,
    /// Child: why its ledger history was refused, if it was.
    pub witness_alarm: Option<String>,
}

/// One rotation of a node's key: `signature` is the retired key's
/// signature over the rotation statement that names both keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyRotation {
    /// Base64 of the raw Ed25519 public key retired.
    pub previous_key: String,
    /// Base64 of the raw Ed25519 public key that follows it.
    pub public_key: String,
    pub rotated_at: String,
    /// Base64 of the Ed25519 signature by `previous_key`.
    pub signature: String,
}

/// A node to record as joined.
#[derive(Debug, Clone)]
pub struct NewFederationNode {
    pub id: String,
    pub name: String,
    pub level: String,
    pub region: String,
    pub url: String,
    pub public_key: String,
}

/// The node a change belongs to (its owner, where it was registered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HomeNode {
    pub id: String,
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CascadeAction {
    /// A version was published (first or a revision).
    Publish,
    /// The entry was withdrawn: it leaves every ancestor's one ledger.
    Withdraw,
}

impl CascadeAction {
    fn as_str(self) -> &'static str {
        match self {
            CascadeAction::Publish => "publish",
            CascadeAction::Withdraw => "withdraw",
        }
    }

    fn parse(text: &str) -> Result<CascadeAction> {
        match text {
            "publish" => Ok(CascadeAction::Publish),
            "withdraw" => Ok(CascadeAction::Withdraw),
            other => Err(StoreError::Corrupt(format!("cascade action {other:?}"))),
        }
    }
}

/// One published change as it travels up (the wire format of the cascade).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CascadeChange {
    /// The sender's outbox sequence (transport order).
    pub seq: u64,
    pub home: HomeNode,
    /// The owning node's sequence of this change: what orders changes of one entry.
    pub home_seq: u64,
    /// 信息资源代码, unique within the home node.
    pub code: String,
    pub action: CascadeAction,
    /// The published version (absent for a withdrawal).
    #[schema(value_type = Option<Object>)]
    pub entry: Option<CatalogEntry>,
    /// Display name of the provider department at the home node.
    pub provider_name: Option<String>,
}

/// A descendant's published entry held in this node's one ledger.
#[derive(Debug, Clone)]
pub struct FederatedEntry {
    pub home: HomeNode,
    pub entry: CatalogEntry,
    pub provider_name: String,
    /// The child it arrived through.
    pub via_node: String,
}

/// A node below one of this node's children, as that child reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Descendant {
    pub id: String,
    /// The node it joined.
    pub parent_id: String,
    pub name: String,
    pub level: String,
    pub region: String,
}

/// An application this node's consumer sent to an entry of another node.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RemoteApplication {
    pub id: String,
    /// The node that owns the entries and decides.
    pub home_node: String,
    pub consumer_department_id: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The ids the home node gave the applications (one per entry).
    pub remote_ids: Vec<String>,
    pub created_at: String,
}

/// What applying a received batch did.
#[derive(Debug, Clone, Default)]
pub struct AppliedBatch {
    /// Changes that were newer than what was held, in batch order.
    pub applied: Vec<CascadeChange>,
    /// Changes already held (resent or replayed): nothing changed.
    pub skipped: usize,
    /// The highest sender sequence in the batch.
    pub acked_seq: u64,
}

fn node_from_row(row: &sqlx::any::AnyRow) -> Result<FederationNode> {
    let relation = match row.try_get::<String, _>("relation")?.as_str() {
        "parent" => NodeRelation::Parent,
        "child" => NodeRelation::Child,
        other => return Err(StoreError::Corrupt(format!("federation relation {other:?}"))),
    };
    let status = match row.try_get::<String, _>("status")?.as_str() {
        "active" => NodeStatus::Active,
        "suspended" => NodeStatus::Suspended,
        other => return Err(StoreError::Corrupt(format!("federation status {other:?}"))),
    };
    Ok(FederationNode {
        id: row.try_get("id")?,
        relation,
        name: row.try_get("name")?,
        level: row.try_get("level")?,
        region: row.try_get("region")?,
        url: row.try_get("url")?,
        public_key: row.try_get("public_key")?,
        status,
        joined_at: row.try_get("joined_at")?,
        key_rotated_at: row.try_get("key_rotated_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        synced_seq: row.try_get::<i64, _>("synced_seq")? as u64,
        last_sync_at: row.try_get("last_sync_at")?,
        reported_backlog: row.try_get::<i64, _>("reported_backlog")? as u64,
        cosigned_checkpoint: row.try_get("cosigned_checkpoint")?,
        witness_alarm: row.try_get("witness_alarm")?,
    })
}

fn parse_document(text: Option<String>) -> Result<Option<CatalogEntry>> {
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("cascaded catalog entry: {e}")))
}

/// Takes `count` consecutive outbox sequences under the counter's row lock;
/// returns the first.
async fn reserve_outbox_seqs(tx: &mut WriteTx<'_>, count: u64) -> Result<u64> {
    let row = sqlx::query(
        "UPDATE federation_sequence SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
    )
    .bind(count as i64)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get::<i64, _>("last_seq")? as u64 + 1 - count)
}

/// Puts a published change of this node's own entry into the outbox, in the
/// transaction that makes it.
pub(crate) async fn enqueue_local(
    tx: &mut WriteTx<'_>,
    code: &str,
    published: Option<&CatalogEntry>,
) -> Result<()> {
    tx.outbox_written();
    let seq = reserve_outbox_seqs(tx, 1).await?;
    let (action, document, provider_name) = match published {
        Some(entry) => {
            let name: String = sqlx::query("SELECT name FROM departments WHERE id = $1")
                .bind(&entry.metadata.provider.department_id)
                .fetch_one(tx.conn())
                .await?
                .try_get("name")?;
            let document = serde_json::to_string(entry)
                .map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))?;
            (CascadeAction::Publish, Some(document), Some(name))
        }
        None => (CascadeAction::Withdraw, None, None),
    };
    sqlx::query(
        "INSERT INTO federation_outbox (seq, code, action, document, provider_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(seq as i64)
    .bind(code)
    .bind(action.as_str())
    .bind(document)
    .bind(provider_name)
    .bind(timestamp::now())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A join token to store: only its hash, and what the joining node must be.
#[derive(Debug, Clone)]
pub struct NewJoinToken {
    pub node_id: String,
    pub level: String,
    pub region: String,
    pub token_hash: String,
    pub expires_at: String,
}

impl Store {
    /// Records a one-time join token (only its hash) for child `node_id`.
    pub async fn create_join_token(&self, actor: &str, token: &NewJoinToken) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.begin(actor).await?;
        sqlx::query(
            "INSERT INTO federation_join_tokens (id, token_hash, node_id, level, region, expires_at, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&token.token_hash)
        .bind(&token.node_id)
        .bind(&token.level)
        .bind(&token.region)
        .bind(&token.expires_at)
        .bind(actor)
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        tx.record(
            "federation.join_token",
            &token.node_id,
            json!({"id": id, "level": token.level, "region": token.region, "expires_at": token.expires_at}),
        );
        tx.commit().await?;
        Ok(id)
    }

    /// Joins a child with a join token (by its hash): the token must be
    /// unused, unexpired and issued for this node id, level and region. The child's key is
    /// pinned; a child that joins again (a new token) gets its new key and
    /// URL pinned, which is how a lost key is replaced.
    pub async fn join_child(&self, token_hash: &str, child: NewFederationNode) -> Result<FederationNode> {
        let actor = format!("node:{}", child.id);
        let mut tx = self.begin(&actor).await?;
        let now = timestamp::now();
        let token = sqlx::query(
            "SELECT id, node_id, level, region, expires_at, used_at FROM federation_join_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| StoreError::NotFound("join token".into()))?;
        let token_id: String = token.try_get("id")?;
        if token.try_get::<Option<String>, _>("used_at")?.is_some() {
            return Err(StoreError::Conflict("this join token was already used".into()));
        }
        if token.try_get::<String, _>("expires_at")? <= now {
            return Err(StoreError::Conflict("this join token has expired".into()));
        }
        if token.try_get::<String, _>("node_id")? != child.id {
            return Err(StoreError::Conflict(format!("this join token is not for node {}", child.id)));
        }
        // Tokens from before tokens named a level and region bind neither.
        let level: Option<String> = token.try_get("level")?;
        let region: Option<String> = token.try_get("region")?;
        if level.as_ref().is_some_and(|l| *l != child.level)
            || region.as_ref().is_some_and(|r| *r != child.region)
        {
            return Err(StoreError::Conflict(format!(
                "this join token is for a {} node of region {}, not a {} node of region {}",
                level.unwrap_or_default(),
                region.unwrap_or_default(),
                child.level,
                child.region
            )));
        }
        // Compare-and-set: of two joins racing on one token, one wins.
        let taken =
            sqlx::query("UPDATE federation_join_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(&now)
                .bind(&token_id)
                .execute(tx.conn())
                .await?;
        if taken.rows_affected() != 1 {
            return Err(StoreError::Conflict("this join token was already used".into()));
        }
        let existing = sqlx::query("SELECT relation FROM federation_nodes WHERE id = $1")
            .bind(&child.id)
            .fetch_optional(tx.conn())
            .await?;
        match existing {
            Some(row) if row.try_get::<String, _>("relation")? != "child" => {
                return Err(StoreError::Conflict(format!("node {} is this node's parent", child.id)))
            }
            Some(_) => {
                sqlx::query(
                    "UPDATE federation_nodes SET name = $1, level = $2, region = $3, url = $4, public_key = $5, \
                     key_rotated_at = $6, last_seen_at = $6 WHERE id = $7",
                )
                .bind(&child.name)
                .bind(&child.level)
                .bind(&child.region)
                .bind(&child.url)
                .bind(&child.public_key)
                .bind(&now)
                .bind(&child.id)
                .execute(tx.conn())
                .await?;
            }
            None => insert_node(&mut tx, NodeRelation::Child, &child, &now).await?,
        }
        tx.record(
            "federation.child_joined",
            &child.id,
            json!({"token": token_id, "name": child.name, "level": child.level, "region": child.region,
                   "url": child.url, "public_key": child.public_key}),
        );
        tx.commit().await?;
        self.federation_node(&child.id).await
    }

    /// Records the parent this node joined (its key pinned). A node has one
    /// parent: joining another replaces it, and the new parent is sent the
    /// whole outbox. A child of this node cannot become its parent.
    pub async fn set_parent(&self, actor: &str, parent: NewFederationNode) -> Result<FederationNode> {
        let now = timestamp::now();
        let mut tx = self.begin(actor).await?;
        let child = sqlx::query("SELECT id FROM federation_nodes WHERE id = $1 AND relation = 'child'")
            .bind(&parent.id)
            .fetch_optional(tx.conn())
            .await?;
        if child.is_some() {
            return Err(StoreError::Conflict(format!("node {} is a child of this node", parent.id)));
        }
        sqlx::query("DELETE FROM federation_nodes WHERE relation = 'parent'").execute(tx.conn()).await?;
        insert_node(&mut tx, NodeRelation::Parent, &parent, &now).await?;
        tx.record(
            "federation.parent_joined",
            &parent.id,
            json!({"name": parent.name, "level": parent.level, "region": parent.region, "url": parent.url,
                   "public_key": parent.public_key}),
        );
        tx.commit().await?;
        self.federation_node(&parent.id).await
    }

    /// The parent and children, parent first, children by id.
    pub async fn federation_nodes(&self) -> Result<Vec<FederationNode>> {
        sqlx::query("SELECT * FROM federation_nodes ORDER BY relation DESC, id")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(node_from_row)
            .collect()
    }

    pub async fn federation_node(&self, id: &str) -> Result<FederationNode> {
        node_from_row(&self.row_by_id("federation_nodes", "federation node", id).await?)
    }

    pub async fn federation_parent(&self) -> Result<Option<FederationNode>> {
        sqlx::query("SELECT * FROM federation_nodes WHERE relation = 'parent'")
            .fetch_optional(self.read())
            .await?
            .as_ref()
            .map(node_from_row)
            .transpose()
    }

    /// Suspends or resumes a joined node: a suspended node's requests are refused.
    pub async fn set_node_status(
        &self,
        actor: &str,
        id: &str,
        status: NodeStatus,
        reason: &str,
    ) -> Result<FederationNode> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query("UPDATE federation_nodes SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id)
            .execute(tx.conn())
            .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("federation node {id}")));
        }
        tx.record(&format!("federation.node_{}", status.as_str()), id, json!({"reason": reason}));
        tx.commit().await?;
        self.federation_node(id).await
    }

    /// Pins a joined node's next key, in place of `previous_key` (the node
    /// signed the rotation with it). A no-op answering `false` when the
    /// pinned key is no longer `previous_key` (another request moved it on).
    pub async fn rotate_node_key(
        &self,
        actor: &str,
        id: &str,
        previous_key: &str,
        public_key: &str,
    ) -> Result<bool> {
        let mut tx = self.begin(actor).await?;
        let updated = sqlx::query(
            "UPDATE federation_nodes SET public_key = $1, key_rotated_at = $2 WHERE id = $3 AND public_key = $4",
        )
        .bind(public_key)
        .bind(timestamp::now())
        .bind(id)
        .bind(previous_key)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        tx.record(
            "federation.key_rotated",
            id,
            json!({"previous_key": previous_key, "public_key": public_key}),
        );
        tx.commit().await?;
        Ok(true)
    }

    /// Records a rotation of this node's own key (the statement signed by
    /// the key it retires); the ledger entry is written in the same
    /// transaction.
    pub async fn record_key_rotation(&self, actor: &str, rotation: &KeyRotation) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM node_key_rotations")
            .fetch_one(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO node_key_rotations (seq, previous_key, public_key, rotated_at, signature) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(seq)
        .bind(&rotation.previous_key)
        .bind(&rotation.public_key)
        .bind(&rotation.rotated_at)
        .bind(&rotation.signature)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::unique(e, "a rotation from or to this key"))?;
        tx.record(
            "node.key_rotated",
            &rotation.public_key,
            json!({"previous_key": rotation.previous_key, "rotated_at": rotation.rotated_at}),
        );
        tx.commit().await?;
        Ok(())
    }

    /// This node's key rotations, oldest first.
    pub async fn key_rotations(&self) -> Result<Vec<KeyRotation>> {
        let rows =
            sqlx::query("SELECT * FROM node_key_rotations ORDER BY seq").fetch_all(self.read()).await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRotation {
                    previous_key: row.try_get("previous_key")?,
                    public_key: row.try_get("public_key")?,
                    rotated_at: row.try_get("rotated_at")?,
                    signature: row.try_get("signature")?,
                })
            })
            .collect()
    }

    /// Remembers the nonce of an accepted signed request; a nonce seen before
    /// from the same node is a replay. Nonces older than `forget_before`
    /// (outside the signature window, so refused by their age anyway) are
    /// dropped. Replay bookkeeping, not state: it is not in the ledger.
    pub async fn remember_nonce(&self, node_id: &str, nonce: &str, forget_before: &str) -> Result<()> {
        let mut tx = self.inner.write.begin().await?;
        sqlx::query("DELETE FROM federation_nonces WHERE seen_at < $1")
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO federation_nonces (node_id, nonce, seen_at) VALUES ($1, $2, $3)")
            .bind(node_id)
            .bind(nonce)
            .bind(timestamp::now())
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::unique(e, "") {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("this signed request was already received".into())
                }
                other => other,
            })?;
        tx.commit().await
    }

    /// Up to `limit` outbox changes after sequence `after`, in order; this
    /// node's own changes carry `local` as their home.
    pub async fn outbox_after(&self, after: u64, limit: u32, local: &HomeNode) -> Result<Vec<CascadeChange>> {
        let rows = sqlx::query("SELECT * FROM federation_outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after as i64)
            .bind(i64::from(limit))
            .fetch_all(self.read())
            .await?;
        rows.iter()
            .map(|row| {
                let seq = row.try_get::<i64, _>("seq")? as u64;
                let home = match row.try_get::<Option<String>, _>("home_node")? {
                    Some(id) => HomeNode {
                        id,
                        name: row.try_get::<Option<String>, _>("home_name")?.unwrap_or_default(),
                        region: row.try_get::<Option<String>, _>("home_region")?.unwrap_or_default(),
                    },
                    None => local.clone(),
                };
                Ok(CascadeChange {
                    seq,
                    home,
                    home_seq: row.try_get::<Option<i64>, _>("home_seq")?.map_or(seq, |s| s as u64),
                    code: row.try_get("code")?,
                    action: CascadeAction::parse(&row.try_get::<String, _>("action")?)?,
                    entry: parse_document(row.try_get("document")?)?,
                    provider_name: row.try_get("provider_name")?,
                })
            })
            .collect()
    }

    /// Resolves when a commit in this process has put changes into the
    /// outbox since the last call (changes another process made are found
    /// by polling).
    pub async fn outbox_changed(&self) {
        self.inner.outbox.notified().await
    }

    /// How many outbox changes come after sequence `after`. Sequences are
    /// gap-free (a rolled-back change gives its sequence back), so this is
    /// the counter minus `after`, without reading the outbox.
    pub async fn outbox_backlog(&self, after: u64) -> Result<u64> {
        let row = sqlx::query("SELECT last_seq FROM federation_sequence WHERE id = 1")
            .fetch_one(self.read())
            .await?;
        Ok((row.try_get::<i64, _>("last_seq")? as u64).saturating_sub(after))
    }

    /// Records that the parent acknowledged the outbox up to `seq`.
    pub async fn acknowledge_outbox(
        &self,
        parent_id: &str,
        first: u64,
        seq: u64,
        applied: u64,
    ) -> Result<()> {
        let now = timestamp::now();
        let mut tx = self.begin(&format!("node:{parent_id}")).await?;
        sqlx::query(
            "UPDATE federation_nodes SET synced_seq = $1, last_sync_at = $2, last_seen_at = $2 \
             WHERE id = $3 AND synced_seq < $1",
        )
        .bind(seq as i64)
        .bind(&now)
        .bind(parent_id)
        .execute(tx.conn())
        .await?;
        tx.record(
            "federation.catalog_sent",
            parent_id,
            json!({"from_seq": first, "to_seq": seq, "applied": applied}),
        );
        tx.commit().await.map(drop)
    }

    /// Applies a batch received from child `from`, in one transaction: each
    /// change newer than what is held replaces it (and, with `relay`, enters
    /// this node's outbox to travel further up); older or equal ones are
    /// skipped. The child's sync position and reported backlog are updated.
    pub async fn apply_cascade(
        &self,
        from: &str,
        changes: &[CascadeChange],
        reported_backlog: u64,
        relay: bool,
    ) -> Result<AppliedBatch> {
        let now = timestamp::now();
        let mut tx = self.begin(&format!("node:{from}")).await?;
        let mut batch = AppliedBatch::default();
        let mut relayed = Vec::new();
        batch.acked_seq = changes.iter().map(|c| c.seq).max().unwrap_or(0);
        let documents = changes
            .iter()
            .map(|change| change.entry.as_ref().map(serde_json::to_string).transpose())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))?;
        // A few statements of many rows each rather than one per change. A
        // statement holds each entry at most once (an upsert may not touch a
        // row twice), so a second change of an entry starts the next one.
        let numbered = self.backend().numbered_params();
        let mut start = 0;
        while start < changes.len() {
            let mut keys = std::collections::HashSet::new();
            let end = start
                + changes[start..]
                    .iter()
                    .take(chunk_len(changes.len() - start))
                    .take_while(|c| keys.insert((c.home.id.as_str(), c.code.as_str())))
                    .count();
            // One statement decides and writes: a change replaces the held
            // one only when its home sequence is newer; RETURNING names the
            // rows it wrote.
            let sql = format!(
                "{} ON CONFLICT (home_node, code) DO UPDATE SET home_name = excluded.home_name, \
                 home_region = excluded.home_region, home_seq = excluded.home_seq, via_node = excluded.via_node, \
                 action = excluded.action, document = excluded.document, provider_name = excluded.provider_name, \
                 updated_at = excluded.updated_at WHERE federated_entries.home_seq < excluded.home_seq \
                 AND federated_entries.via_node = excluded.via_node RETURNING home_node, code",
                values_sql(
                    "INSERT INTO federated_entries (home_node, code, home_name, home_region, home_seq, via_node, \
                     action, document, provider_name, updated_at) VALUES",
                    10,
                    end - start,
                    numbered,
                )
            );
            let mut query = sqlx::query(&sql);
            for (change, document) in changes[start..end].iter().zip(&documents[start..end]) {
                query = query
                    .bind(&change.home.id)
                    .bind(&change.code)
                    .bind(&change.home.name)
                    .bind(&change.home.region)
                    .bind(change.home_seq as i64)
                    .bind(from)
                    .bind(change.action.as_str())
                    .bind(document)
                    .bind(&change.provider_name)
                    .bind(&now);
            }
            let written = query
                .fetch_all(tx.conn())
                .await?
                .iter()
                .map(|row| Ok((row.try_get::<String, _>("home_node")?, row.try_get::<String, _>("code")?)))
                .collect::<Result<std::collections::HashSet<_>>>()?;
            for (change, document) in changes[start..end].iter().zip(&documents[start..end]) {
                if written.contains(&(change.home.id.clone(), change.code.clone())) {
                    batch.applied.push(change.clone());
                    relayed.push(document.clone());
                } else {
                    batch.skipped += 1;
                }
            }
            start = end;
        }
        if relay && !batch.applied.is_empty() {
            tx.outbox_written();
            let first = reserve_outbox_seqs(&mut tx, batch.applied.len() as u64).await?;
            let mut rest: &[_] = &batch.applied.iter().zip(&relayed).zip(first..).collect::<Vec<_>>();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
                let sql = values_sql(
                    "INSERT INTO federation_outbox (seq, home_node, home_name, home_region, home_seq, code, \
                     action, document, provider_name, created_at) VALUES",
                    10,
                    chunk.len(),
                    numbered,
                );
                let mut query = sqlx::query(&sql);
                for ((change, document), seq) in chunk {
                    query = query
                        .bind(*seq as i64)
                        .bind(&change.home.id)
                        .bind(&change.home.name)
                        .bind(&change.home.region)
                        .bind(change.home_seq as i64)
                        .bind(&change.code)
                        .bind(change.action.as_str())
                        .bind(*document)
                        .bind(&change.provider_name)
                        .bind(&now);
                }
                query.execute(tx.conn()).await?;
                rest = tail;
            }
        }
        let updated = sqlx::query(
            "UPDATE federation_nodes SET synced_seq = CASE WHEN synced_seq < $1 THEN $1 ELSE synced_seq END, \
             last_sync_at = $2, last_seen_at = $2, reported_backlog = $3 WHERE id = $4 AND relation = 'child'",
        )
        .bind(batch.acked_seq as i64)
        .bind(&now)
        .bind(reported_backlog as i64)
        .bind(from)
        .execute(tx.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("child node {from}")));
        }
        tx.record(
            "federation.catalog_received",
            from,
            json!({
                "from_seq": changes.first().map(|c| c.seq),
                "to_seq": batch.acked_seq,
                "applied": batch.applied.iter().map(|c| json!({
                    "home": c.home.id, "code": c.code, "home_seq": c.home_seq, "action": c.action,
                })).collect::<Vec<_>>(),
                "skipped": batch.skipped,
            }),
        );
        tx.commit().await?;
        Ok(batch)
    }

    /// Every descendant entry currently published, for the search projection.
    pub async fn federated_entries(&self) -> Result<Vec<FederatedEntry>> {
        sqlx::query("SELECT * FROM federated_entries WHERE action = 'publish' ORDER BY home_node, code")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(federated_from_row)
            .collect()
    }

    /// A descendant's entry as this node last received it.
    pub async fn federated_entry(&self, home_node: &str, code: &str) -> Result<FederatedEntry> {
        let row = sqlx::query(
            "SELECT * FROM federated_entries WHERE home_node = $1 AND code = $2 AND action = 'publish'",
        )
        .bind(home_node)
        .bind(code)
        .fetch_optional(self.read())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("catalog entry {code} of node {home_node}")))?;
        federated_from_row(&row)
    }

    /// How many published entries each descendant node has here.
    pub async fn federated_counts(&self) -> Result<Vec<(String, u64)>> {
        sqlx::query(
            "SELECT home_node, COUNT(*) AS n FROM federated_entries WHERE action = 'publish' \
             GROUP BY home_node ORDER BY home_node",
        )
        .fetch_all(self.read())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("home_node")?, row.try_get::<i64, _>("n")? as u64)))
        .collect()
    }

    /// How many published entries arrived through each child.
    pub async fn federated_counts_by_child(&self) -> Result<Vec<(String, u64)>> {
        sqlx::query(
            "SELECT via_node, COUNT(*) AS n FROM federated_entries WHERE action = 'publish' GROUP BY via_node",
        )
        .fetch_all(self.read())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("via_node")?, row.try_get::<i64, _>("n")? as u64)))
        .collect()
    }

    /// The child through which `node` is reached, when it is below one:
    /// as the children reported their subtrees, else as its entries arrived.
    pub async fn route_via(&self, node: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT via_node FROM federation_descendants WHERE id = $1 \
             UNION ALL SELECT via_node FROM federated_entries WHERE home_node = $1 LIMIT 1",
        )
        .bind(node)
        .fetch_optional(self.read())
        .await?;
        Ok(row.map(|row| row.try_get("via_node")).transpose()?)
    }

    /// Every node below this node's children, as they reported them.
    pub async fn descendants(&self) -> Result<Vec<Descendant>> {
        let rows = sqlx::query("SELECT * FROM federation_descendants ORDER BY parent_id, id")
            .fetch_all(self.read())
            .await?;
        rows.iter().map(descendant_from_row).collect()
    }

    /// Replaces what is known of the subtree below child `via` with what it
    /// reported; recorded in the ledger when it changed.
    pub async fn report_descendants(&self, via: &str, reported: &[Descendant]) -> Result<()> {
        let rows = sqlx::query("SELECT * FROM federation_descendants WHERE via_node = $1")
            .bind(via)
            .fetch_all(self.read())
            .await?;
        let mut held = rows.iter().map(descendant_from_row).collect::<Result<Vec<_>>>()?;
        let mut wanted = reported.to_vec();
        held.sort_by(|a, b| a.id.cmp(&b.id));
        wanted.sort_by(|a, b| a.id.cmp(&b.id));
        if held == wanted {
            return Ok(());
        }
        let now = timestamp::now();
        let mut tx = self.begin(&format!("node:{via}")).await?;
        sqlx::query("DELETE FROM federation_descendants WHERE via_node = $1")
            .bind(via)
            .execute(tx.conn())
            .await?;
        for node in &wanted {
            sqlx::query(
                "INSERT INTO federation_descendants (id, via_node, parent_id, name, level, region, reported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&node.id)
            .bind(via)
            .bind(&node.parent_id)
            .bind(&node.name)
            .bind(&node.level)
            .bind(&node.region)
            .bind(&now)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::unique(e, &format!("descendant {} (reported through another child)", node.id)))?;
        }
        tx.record("federation.descendants_reported", via, json!({"descendants": wanted}));
        tx.commit().await.map(drop)
    }

    /// Records an application sent to another node (after it accepted it).
    pub async fn record_remote_application(&self, application: &RemoteApplication) -> Result<()> {
        let mut tx = self.begin(&application.actor).await?;
        sqlx::query(
            "INSERT INTO remote_applications (id, home_node, consumer_department_id, actor, request, remote_ids, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&application.id)
        .bind(&application.home_node)
        .bind(&application.consumer_department_id)
        .bind(&application.actor)
        .bind(application.request.to_string())
        .bind(serde_json::to_string(&application.remote_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(&application.created_at)
        .execute(tx.conn())
        .await?;
        tx.record("federation.application_sent", &application.id, json!(application));
        tx.commit().await.map(drop)
    }

    /// Applications a department sent to other nodes, newest first.
    pub async fn remote_applications(&self, department_id: &str) -> Result<Vec<RemoteApplication>> {
        sqlx::query(
            "SELECT * FROM remote_applications WHERE consumer_department_id = $1 ORDER BY created_at DESC",
        )
        .bind(department_id)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(remote_application_from_row)
        .collect()
    }

    pub async fn remote_application(&self, id: &str) -> Result<RemoteApplication> {
        remote_application_from_row(&self.row_by_id("remote_applications", "remote application", id).await?)
    }

    /// Keeps the parent's cosigned checkpoint of this node's ledger.
    pub async fn record_parent_cosignature(&self, parent_id: &str, cosigned: &str, size: u64) -> Result<()> {
        let mut tx = self.begin(&format!("node:{parent_id}")).await?;
        sqlx::query("UPDATE federation_nodes SET cosigned_checkpoint = $1, last_seen_at = $2 WHERE id = $3")
            .bind(cosigned)
            .bind(timestamp::now())
            .bind(parent_id)
            .execute(tx.conn())
            .await?;
        tx.record("federation.checkpoint_cosigned", parent_id, json!({"size": size, "checkpoint": cosigned}));
        tx.commit().await.map(drop)
    }

    /// Clears a child's witness alarm once an operator has looked into it,
    /// and forgets the checkpoint last cosigned for the child's log
    /// (`origin`), so that the history it presents now is cosigned from
    /// here on. The alarm and the forgotten checkpoint go into the ledger
    /// entry: the evidence stays.
    pub async fn clear_witness_alarm(
        &self,
        actor: &str,
        child_id: &str,
        origin: &str,
        reason: &str,
    ) -> Result<FederationNode> {
        let mut tx = self.begin(actor).await?;
        let alarm: Option<String> = sqlx::query("SELECT witness_alarm FROM federation_nodes WHERE id = $1")
            .bind(child_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("federation node {child_id}")))?
            .try_get("witness_alarm")?;
        let Some(alarm) = alarm else {
            return Err(StoreError::Conflict(format!("node {child_id} has no witness alarm")));
        };
        let forgotten: Option<String> =
            sqlx::query("SELECT checkpoint FROM ledger_witnessed WHERE origin = $1")
                .bind(origin)
                .fetch_optional(tx.conn())
                .await?
                .map(|row| row.try_get("checkpoint"))
                .transpose()?;
        sqlx::query("DELETE FROM ledger_witnessed WHERE origin = $1").bind(origin).execute(tx.conn()).await?;
        sqlx::query("UPDATE federation_nodes SET witness_alarm = NULL WHERE id = $1")
            .bind(child_id)
            .execute(tx.conn())
            .await?;
        tx.record(
            "federation.witness_alarm_cleared",
            child_id,
            json!({"reason": reason, "alarm": alarm, "forgotten_checkpoint": forgotten}),
        );
        tx.commit().await?;
        self.federation_node(child_id).await
    }

    /// Flags a child whose ledger history is inconsistent with what this node
    /// cosigned; the flag stays until an operator has looked into it.
    pub async fn flag_witness_alarm(&self, child_id: &str, reason: &str) -> Result<()> {
        let mut tx = self.begin(&format!("node:{child_id}")).await?;
        sqlx::query("UPDATE federation_nodes SET witness_alarm = $1 WHERE id = $2")
            .bind(reason)
            .bind(child_id)
            .execute(tx.conn())
            .await?;
        tx.record("federation.witness_refused", child_id, json!({"reason": reason}));
        tx.commit().await.map(drop)
    }
}

async fn insert_node(
    tx: &mut WriteTx<'_>,
    relation: NodeRelation,
    node: &NewFederationNode,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO federation_nodes (id, relation, name, level, region, url, public_key, status, joined_at, \
         last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)",
    )
    .bind(&node.id)
    .bind(relation.as_str())
    .bind(&node.name)
    .bind(&node.level)
    .bind(&node.region)
    .bind(&node.url)
    .bind(&node.public_key)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::unique(e, &format!("federation node {}", node.id)))?;
    Ok(())
}

fn federated_from_row(row: &sqlx::any::AnyRow) -> Result<FederatedEntry> {
    let entry = parse_document(row.try_get("document")?)?
        .ok_or_else(|| StoreError::Corrupt("published federated entry without a document".into()))?;
    Ok(FederatedEntry {
        home: HomeNode {
            id: row.try_get("home_node")?,
            name: row.try_get("home_name")?,
            region: row.try_get("home_region")?,
        },
        entry,
        provider_name: row.try_get::<Option<String>, _>("provider_name")?.unwrap_or_default(),
        via_node: row.try_get("via_node")?,
    })
}

fn remote_application_from_row(row: &sqlx::any::AnyRow) -> Result<RemoteApplication> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("remote application: {e}"));
    Ok(RemoteApplication {
        id: row.try_get("id")?,
        home_node: row.try_get("home_node")?,
        consumer_department_id: row.try_get("consumer_department_id")?,
        actor: row.try_get("actor")?,
        request: serde_json::from_str(&row.try_get::<String, _>("request")?).map_err(corrupt)?,
        remote_ids: serde_json::from_str(&row.try_get::<String, _>("remote_ids")?).map_err(corrupt)?,
        created_at: row.try_get("created_at")?,
    })
}

fn descendant_from_row(row: &sqlx::any::AnyRow) -> Result<Descendant> {
    Ok(Descendant {
        id: row.try_get("id")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        level: row.try_get("level")?,
        region: row.try_get("region")?,
    })
}
