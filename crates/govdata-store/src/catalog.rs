//! Catalog persistence. The store keeps entries, versions and history and
//! applies a change atomically with its ledger entry; the rules (which
//! change is legal, what a version becomes) live in `govdata-catalog`.

use govdata_model::catalog::{
    CatalogEntry, Classification, EntryStatus, EntrySummary, HistoryStep, ResourceCode,
};
use std::collections::BTreeMap;

use serde_json::json;
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError, WriteTx};

/// The entry as a whole: who provides it and which versions matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogHead {
    pub code: ResourceCode,
    pub provider_department_id: String,
    pub latest_version: u32,
    pub published_version: Option<u32>,
}

/// What one catalog step changes, applied in one transaction.
#[derive(Debug, Clone)]
pub struct CatalogChange {
    /// Ledger kind, e.g. `catalog.submit`.
    pub kind: String,
    pub code: ResourceCode,
    /// Versions rewritten, each with the status it must still have (so two
    /// reviewers cannot both act on one submission).
    pub updates: Vec<(CatalogEntry, EntryStatus)>,
    /// A new version (a revision of a published entry).
    pub new_version: Option<CatalogEntry>,
    /// Set the published version (`Some(None)` clears it: withdrawn).
    pub published_version: Option<Option<u32>>,
    pub history: Option<HistoryStep>,
}

/// Which versions a listing returns.
#[derive(Debug, Clone, Default)]
pub struct CatalogFilter {
    pub status: Option<EntryStatus>,
    pub provider_department_id: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

fn document(entry: &CatalogEntry) -> Result<String> {
    serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))
}

fn summary(entry: &CatalogEntry) -> Result<String> {
    serde_json::to_string(&entry.summary()).map_err(|e| StoreError::Corrupt(format!("catalog summary: {e}")))
}

/// The values statistics group by, as stable snake_case codes.
fn facts(entry: &CatalogEntry) -> [String; 6] {
    let code = |value: serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    let metadata = &entry.metadata;
    let grade = match entry.grade {
        Some(grade) => match grade.sublevel {
            Some(sublevel) => format!("{}_{sublevel}", code(json!(grade.level))),
            None => code(json!(grade.level)),
        },
        None => "ungraded".to_owned(),
    };
    [
        code(json!(metadata.classification.class)),
        code(json!(metadata.share_type)),
        code(json!(metadata.open_type)),
        grade,
        code(json!(metadata.update_cycle)),
        code(json!(metadata.format_class)),
    ]
}

/// The columns [`facts`] fills, in its order.
const FACT_COLUMNS: [&str; 6] =
    ["top_class", "share_type", "open_type", "grade", "update_cycle", "format_class"];

fn parse_entry(row: &sqlx::any::AnyRow) -> Result<CatalogEntry> {
    let text: String = row.try_get("document")?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("catalog entry document: {e}")))
}

/// The next catalog change number; the row lock it takes holds until the
/// transaction ends, so numbers become visible in the order they were taken.
async fn next_change_number(tx: &mut WriteTx<'_>) -> Result<i64> {
    Ok(sqlx::query("UPDATE catalog_change_head SET last = last + 1 WHERE id = 1 RETURNING last")
        .fetch_one(tx.conn())
        .await?
        .try_get("last")?)
}

async fn insert_version(tx: &mut WriteTx<'_>, entry: &CatalogEntry) -> Result<()> {
    let change = next_change_number(tx).await?;
    sqlx::query(
        "INSERT INTO catalog_versions (code, version, status, name, document, summary, updated_at, \
         top_class, share_type, open_type, grade, update_cycle, format_class, change_number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(entry.code.to_string())
    .bind(i64::from(entry.version))
    .bind(entry.status.as_str())
    .bind(&entry.metadata.name)
    .bind(document(entry)?)
    .bind(summary(entry)?)
    .bind(timestamp::now())
    .bind_all(facts(entry))
    .bind(change)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Binds several text values in order.
trait BindAll<'q> {
    fn bind_all(self, values: [String; 6]) -> Self;
}

impl<'q> BindAll<'q> for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    fn bind_all(self, values: [String; 6]) -> Self {
        values.into_iter().fold(self, |query, value| query.bind(value))
    }
}

async fn append_history(tx: &mut WriteTx<'_>, code: &str, step: &HistoryStep) -> Result<()> {
    let step = serde_json::to_string(step).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO catalog_history (code, seq, step) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM catalog_history WHERE code = $1), $2)",
    )
    .bind(code)
    .bind(step)
    .execute(tx.conn())
    .await?;
    Ok(())
}

impl Store {
    /// Registers a new entry: assigns the next resource code of its
    /// classification (the coding rule's 顺序码) and stores version 1 built
    /// by `build` from that code.
    pub async fn create_catalog_entry(
        &self,
        actor: &str,
        classification: &Classification,
        build: impl FnOnce(ResourceCode) -> Result<(CatalogEntry, HistoryStep)>,
    ) -> Result<CatalogEntry> {
        let mut tx = self.begin(actor).await?;
        let sequence: i64 = sqlx::query(
            "INSERT INTO catalog_sequences (classification, last_sequence) VALUES ($1, 1) \
             ON CONFLICT (classification) DO UPDATE SET last_sequence = catalog_sequences.last_sequence + 1 \
             RETURNING last_sequence",
        )
        .bind(classification.code())
        .fetch_one(tx.conn())
        .await?
        .try_get("last_sequence")?;
        let code = ResourceCode::new(classification.clone(), sequence as u32)?;
        let (entry, step) = build(code.clone())?;
        sqlx::query(
            "INSERT INTO catalog_entries (code, provider_department_id, latest_version, published_version, created_at) \
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(code.to_string())
        .bind(&entry.metadata.provider.department_id)
        .bind(i64::from(entry.version))
        .bind(timestamp::now())
        .execute(tx.conn())
        .await?;
        insert_version(&mut tx, &entry).await?;
        append_history(&mut tx, &code.to_string(), &step).await?;
        tx.record("catalog.create", &code.to_string(), json!({"entry": entry, "step": step}));
        tx.commit().await?;
        Ok(entry)
    }

    /// Applies one catalog step atomically, with its ledger entry.
    pub async fn apply_catalog_change(&self, actor: &str, change: CatalogChange) -> Result<()> {
        let code = change.code.to_string();
        let mut tx = self.begin(actor).await?;
        for (entry, expected) in &change.updates {
            let change_number = next_change_number(&mut tx).await?;
            let updated = sqlx::query(
                "UPDATE catalog_versions SET status = $1, name = $2, document = $3, summary = $8, updated_at = $4, \
                 top_class = $9, share_type = $10, open_type = $11, grade = $12, update_cycle = $13, \
                 format_class = $14, change_number = $15 WHERE code = $5 AND version = $6 AND status = $7",
            )
            .bind(entry.status.as_str())
            .bind(&entry.metadata.name)
            .bind(document(entry)?)
            .bind(timestamp::now())
            .bind(&code)
            .bind(i64::from(entry.version))
            .bind(expected.as_str())
            .bind(summary(entry)?)
            .bind_all(facts(entry))
            .bind(change_number)
            .execute(tx.conn())
            .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "version {} of {code} is no longer {}; reload it and try again",
                    entry.version,
                    expected.as_str()
                )));
            }
        }
        if let Some(entry) = &change.new_version {
            insert_version(&mut tx, entry).await?;
            sqlx::query("UPDATE catalog_entries SET latest_version = $1 WHERE code = $2")
                .bind(i64::from(entry.version))
                .bind(&code)
                .execute(tx.conn())
                .await?;
        }
        if let Some(published) = change.published_version {
            sqlx::query("UPDATE catalog_entries SET published_version = $1 WHERE code = $2")
                .bind(published.map(i64::from))
                .bind(&code)
                .execute(tx.conn())
                .await?;
            let entry = published.map(|version| {
                change
                    .updates
                    .iter()
                    .map(|(entry, _)| entry)
                    .chain(&change.new_version)
                    .find(|entry| entry.version == version)
                    .ok_or_else(|| {
                        StoreError::Conflict(format!("version {version} of {code} is not in this change"))
                    })
            });
            crate::federation::enqueue_local(&mut tx, &code, entry.transpose()?).await?;
        }
        if let Some(step) = &change.history {
            append_history(&mut tx, &code, step).await?;
        }
        let versions: Vec<_> = change.updates.iter().map(|(e, _)| (e.version, e.status)).collect();
        tx.record(
            &change.kind,
            &code,
            json!({"step": change.history, "versions": versions, "new_version": change.new_version}),
        );
        tx.commit().await.map(drop)
    }

    pub async fn catalog_head(&self, code: &ResourceCode) -> Result<CatalogHead> {
        let row = sqlx::query("SELECT * FROM catalog_entries WHERE code = $1")
            .bind(code.to_string())
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("catalog entry {code}")))?;
        Ok(CatalogHead {
            code: code.clone(),
            provider_department_id: row.try_get("provider_department_id")?,
            latest_version: row.try_get::<i64, _>("latest_version")? as u32,
            published_version: row.try_get::<Option<i64>, _>("published_version")?.map(|v| v as u32),
        })
    }

    pub async fn catalog_version(&self, code: &ResourceCode, version: u32) -> Result<CatalogEntry> {
        let row = sqlx::query("SELECT document FROM catalog_versions WHERE code = $1 AND version = $2")
            .bind(code.to_string())
            .bind(i64::from(version))
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("version {version} of catalog entry {code}")))?;
        parse_entry(&row)
    }

    /// Every version of an entry, oldest first.
    pub async fn catalog_versions(&self, code: &ResourceCode) -> Result<Vec<CatalogEntry>> {
        sqlx::query("SELECT document FROM catalog_versions WHERE code = $1 ORDER BY version")
            .bind(code.to_string())
            .fetch_all(self.read())
            .await?
            .iter()
            .map(parse_entry)
            .collect()
    }

    /// Who did what to an entry, in order.
    pub async fn catalog_history(&self, code: &ResourceCode) -> Result<Vec<HistoryStep>> {
        sqlx::query("SELECT step FROM catalog_history WHERE code = $1 ORDER BY seq")
            .bind(code.to_string())
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|row| {
                let text: String = row.try_get("step")?;
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("catalog history: {e}")))
            })
            .collect()
    }

    /// Latest versions, newest first, filtered.
    pub async fn catalog_entries(&self, filter: &CatalogFilter) -> Result<Vec<CatalogEntry>> {
        sqlx::query(
            "SELECT v.document AS document FROM catalog_versions v \
             JOIN catalog_entries e ON e.code = v.code AND e.latest_version = v.version \
             WHERE ($1 IS NULL OR v.status = $1) AND ($2 IS NULL OR e.provider_department_id = $2) \
             ORDER BY v.updated_at DESC, v.code LIMIT $3 OFFSET $4",
        )
        .bind(filter.status.map(EntryStatus::as_str))
        .bind(filter.provider_department_id.as_deref())
        .bind(i64::from(filter.limit))
        .bind(i64::from(filter.offset))
        .fetch_all(self.read())
        .await?
        .iter()
        .map(parse_entry)
        .collect()
    }

    /// Every resource code in the catalog.
    pub async fn catalog_codes(&self) -> Result<Vec<ResourceCode>> {
        sqlx::query("SELECT code FROM catalog_entries ORDER BY code")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|row| {
                let text: String = row.try_get("code")?;
                text.parse().map_err(|e: govdata_model::FieldError| StoreError::Corrupt(e.message))
            })
            .collect()
    }

    /// Counts of published entries by each fact, by provider department, and
    /// of latest versions by status: the one ledger's statistics.
    pub async fn catalog_counts(&self) -> Result<BTreeMap<String, BTreeMap<String, u64>>> {
        let published = "FROM catalog_versions v JOIN catalog_entries e \
                         ON e.code = v.code AND e.published_version = v.version";
        let mut queries: Vec<(String, String)> = FACT_COLUMNS
            .iter()
            .map(|c| (c.to_string(), format!("SELECT v.{c} AS k, COUNT(*) AS n {published} GROUP BY v.{c}")))
            .collect();
        queries.push((
            "provider".into(),
            format!("SELECT e.provider_department_id AS k, COUNT(*) AS n {published} GROUP BY e.provider_department_id"),
        ));
        queries.push((
            "status".into(),
            "SELECT v.status AS k, COUNT(*) AS n FROM catalog_versions v JOIN catalog_entries e \
             ON e.code = v.code AND e.latest_version = v.version GROUP BY v.status"
                .into(),
        ));
        let mut counts = BTreeMap::new();
        for (name, sql) in queries {
            let mut groups = BTreeMap::new();
            for row in sqlx::query(&sql).fetch_all(self.read()).await? {
                groups.insert(row.try_get::<String, _>("k")?, row.try_get::<i64, _>("n")? as u64);
            }
            counts.insert(name, groups);
        }
        Ok(counts)
    }

    /// The summary of every catalog version written after change number
    /// `after` (whatever its status now), with the number of its last write,
    /// in that order: what the duplicate check ("one data, one source")
    /// needs to bring its in-memory view of the live entries up to date.
    /// Pass -1 for every version.
    pub async fn catalog_summaries_since(&self, after: i64) -> Result<Vec<(i64, EntrySummary)>> {
        sqlx::query(
            "SELECT change_number, summary FROM catalog_versions WHERE change_number > $1 ORDER BY change_number",
        )
        .bind(after)
        .fetch_all(self.read())
        .await?
        .iter()
        .map(|row| {
            let text: String = row.try_get("summary")?;
            let summary = serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("catalog summary: {e}")))?;
            Ok((row.try_get("change_number")?, summary))
        })
        .collect()
    }
}
