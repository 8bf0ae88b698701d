//! A physical resource's Delta table: written once per job in a single
//! commit, read at its latest version or as of an earlier version or time.

use std::sync::Arc;

use deltalake::datafusion::catalog::TableProvider;
use deltalake::datafusion::common::ScalarValue;
use deltalake::datafusion::dataframe::DataFrameWriteOptions;
use deltalake::datafusion::functions_aggregate::expr_fn::max;
use deltalake::datafusion::logical_expr::{col, Expr};
use deltalake::datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::LogStore;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::storage::{child, LakeStorage};
use crate::LakeError;

/// How a job's rows change the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WriteMode {
    /// Replace the table's contents (全量).
    Full,
    /// Add the rows (追加).
    Append,
    /// Insert new keys, replace rows whose key exists (按主键更新).
    Upsert { key: Vec<String> },
    /// Only rows whose watermark item is beyond the table's current maximum
    /// (增量); upserted by `key` when given, appended otherwise.
    Incremental {
        watermark: String,
        #[serde(default)]
        key: Vec<String>,
    },
}

impl WriteMode {
    pub fn label_zh(&self) -> &'static str {
        match self {
            WriteMode::Full => "全量",
            WriteMode::Append => "追加",
            WriteMode::Upsert { .. } => "按主键更新",
            WriteMode::Incremental { .. } => "增量",
        }
    }

    /// The items that identify a row for merging; empty for plain writes.
    pub fn key(&self) -> &[String] {
        match self {
            WriteMode::Upsert { key } | WriteMode::Incremental { key, .. } => key,
            WriteMode::Full | WriteMode::Append => &[],
        }
    }

    /// Every item the mode names, with the field that names it.
    pub fn named_items(&self) -> Vec<(String, &str)> {
        let mut named: Vec<(String, &str)> =
            self.key().iter().enumerate().map(|(i, k)| (format!("mode.key[{i}]"), k.as_str())).collect();
        if let WriteMode::Incremental { watermark, .. } = self {
            named.push(("mode.watermark".to_owned(), watermark.as_str()));
        }
        named
    }
}

/// Which state of the table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsOf {
    #[default]
    Latest,
    Version(u64),
    Time(OffsetDateTime),
}

/// One commit of the table, newest first in [`LakeTable::versions`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TableVersion {
    pub version: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub committed_at: Option<OffsetDateTime>,
    /// Delta operation: WRITE, MERGE, VACUUM START, …
    pub operation: Option<String>,
    /// The aggregation job that made the commit, when a job did.
    pub job_id: Option<String>,
}

/// Commit metadata key naming the job behind a commit.
const JOB_METADATA_KEY: &str = "govdata.job_id";

/// Table property under which Delta records each commit's row changes
/// (change data feed): what subscriptions deliver.
const CHANGE_DATA_FEED: &str = "delta.enableChangeDataFeed";

/// Columns the change data feed adds beside the table's own.
pub const CHANGE_TYPE_COLUMN: &str = "_change_type";
pub const COMMIT_VERSION_COLUMN: &str = "_commit_version";
pub const COMMIT_TIMESTAMP_COLUMN: &str = "_commit_timestamp";

/// A Delta table in a directory of the node's lake.
#[derive(Debug, Clone)]
pub struct LakeTable {
    storage: LakeStorage,
    /// The resource id the table belongs to.
    id: String,
    /// The table's directory, ending in `/`.
    url: Url,
    log: ObjectPath,
}

impl LakeTable {
    pub(crate) fn new(storage: LakeStorage, id: &str) -> Result<LakeTable, LakeError> {
        let url = storage.directory(&format!("tables/{id}/"))?;
        let log = storage.path(&url)?.join("_delta_log");
        Ok(LakeTable { storage, id: id.to_owned(), url, log })
    }

    /// The table's location (a `file://` or `s3://` URL).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The table as last committed, or an unloaded handle while no job has
    /// committed one. (Loading a table that has no log yet is an error that
    /// delta-rs logs, though here it only means "not written yet".)
    async fn open(&self) -> Result<DeltaTable, LakeError> {
        if self.storage.has_any(&self.log).await? {
            Ok(self.storage.builder(&self.url)?.load().await?)
        } else {
            self.open_unloaded()
        }
    }

    fn open_unloaded(&self) -> Result<DeltaTable, LakeError> {
        Ok(self.storage.builder(&self.url)?.build()?)
    }

    /// The table at `as_of`; `None` while no job has written it yet.
    pub async fn load(&self, as_of: AsOf) -> Result<Option<DeltaTable>, LakeError> {
        let mut table = self.open().await?;
        if table.version().is_none() {
            return Ok(None);
        }
        match as_of {
            AsOf::Latest => {}
            AsOf::Version(version) => {
                let latest = table.version().unwrap_or(0);
                if version > latest {
                    return Err(LakeError::invalid(
                        "version",
                        format!("the table has no version {version}; the latest is {latest}"),
                    ));
                }
                table.load_version(version).await.map_err(|e| match e {
                    DeltaTableError::InvalidVersion(_) | DeltaTableError::NotATable(_) => LakeError::invalid(
                        "version",
                        format!("version {version} is no longer in the table's log"),
                    ),
                    other => LakeError::Delta(other),
                })?
            }
            AsOf::Time(at) => {
                let millis = (at.unix_timestamp_nanos() / 1_000_000) as i64;
                let datetime = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis)
                    .ok_or_else(|| LakeError::invalid("as_of", "time out of range"))?;
                table.load_with_datetime(datetime).await.map_err(|e| match e {
                    DeltaTableError::InvalidDateTimeString { .. } | DeltaTableError::InvalidVersion(_) => {
                        LakeError::invalid("as_of", "the table did not exist yet at that time")
                    }
                    other => LakeError::Delta(other),
                })?;
            }
        }
        Ok(Some(table))
    }

    /// A DataFusion provider over the table at `as_of`.
    pub async fn provider(&self, as_of: AsOf) -> Result<Option<Arc<dyn TableProvider>>, LakeError> {
        match self.load(as_of).await? {
            Some(table) => Ok(Some(table.table_provider().await?)),
            None => Ok(None),
        }
    }

    /// Writes `input` in one commit and returns the new version. A failure
    /// anywhere before the commit leaves the table as it was: Delta makes the
    /// new files visible only through the commit.
    pub async fn write(
        &self,
        ctx: &SessionContext,
        input: DataFrame,
        mode: &WriteMode,
        job_id: &str,
    ) -> Result<u64, LakeError> {
        let mut table = self.open().await?;
        let commit = CommitProperties::default()
            .with_metadata([(JOB_METADATA_KEY.to_owned(), serde_json::Value::from(job_id))]);
        // Tables written before changes were recorded start recording now,
        // in a commit of its own.
        if table.version().is_some() && !records_changes(&table) {
            table = table
                .set_tbl_properties()
                .with_properties([(CHANGE_DATA_FEED.to_owned(), "true".to_owned())].into())
                .with_commit_properties(commit.clone())
                .await?;
        }
        let state = Arc::new(ctx.state());
        let key = mode.key();
        let written = if key.is_empty() || table.version().is_none() {
            let save_mode = match mode {
                WriteMode::Full => SaveMode::Overwrite,
                _ => SaveMode::Append,
            };
            table
                .write(Vec::new())
                .with_input_plan(input.logical_plan().clone())
                .with_save_mode(save_mode)
                .with_configuration([(CHANGE_DATA_FEED, Some("true"))])
                .with_session_state(state)
                .with_commit_properties(commit)
                .await?
        } else {
            // A merge reads its source more than once: stage the job's rows
            // in a Parquet file first (streamed, so memory stays bounded).
            let staging = self.storage.staging_file(&self.id, job_id)?;
            let staging_url = staging.to_string_lossy().into_owned();
            let staged = async {
                input
                    .write_parquet(
                        &staging_url,
                        DataFrameWriteOptions::new().with_single_file_output(true),
                        None,
                    )
                    .await?;
                ctx.read_parquet(staging_url.as_str(), ParquetReadOptions::default()).await
            }
            .await;
            let merged = match staged {
                Ok(source) => Self::merge(table, source, key, commit, state).await,
                Err(error) => Err(error.into()),
            };
            if staging.exists() {
                std::fs::remove_file(&staging)?;
            }
            merged?
        };
        written.version().ok_or_else(|| LakeError::Delta(DeltaTableError::NotInitialized))
    }

    /// Upserts `input` by `key`: matched rows are replaced, new keys inserted.
    async fn merge(
        table: DeltaTable,
        input: DataFrame,
        key: &[String],
        commit: CommitProperties,
        state: Arc<deltalake::datafusion::execution::SessionState>,
    ) -> Result<DeltaTable, LakeError> {
        let columns: Vec<String> = input.schema().fields().iter().map(|f| f.name().clone()).collect();
        let predicate = key
            .iter()
            .map(|k| col(format!("target.{}", quote(k))).eq(col(format!("source.{}", quote(k)))))
            .reduce(Expr::and)
            .ok_or_else(|| LakeError::invalid("mode.key", "an upsert needs at least one key item"))?;
        let (table, _metrics) = table
            .merge(input, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_session_state(state)
            .with_commit_properties(commit)
            .when_matched_update(|update| {
                columns.iter().fold(update, |u, c| {
                    u.update(format!("target.{}", quote(c)), col(format!("source.{}", quote(c))))
                })
            })?
            .when_not_matched_insert(|insert| {
                columns.iter().fold(insert, |i, c| {
                    i.set(format!("target.{}", quote(c)), col(format!("source.{}", quote(c))))
                })
            })?
            .await?;
        Ok(table)
    }

    /// The largest value of `column` in the latest version, for incremental
    /// jobs; `None` for an empty or unwritten table.
    pub async fn max_value(
        &self,
        ctx: &SessionContext,
        column: &str,
    ) -> Result<Option<ScalarValue>, LakeError> {
        let Some(provider) = self.provider(AsOf::Latest).await? else {
            return Ok(None);
        };
        let batches = ctx
            .read_table(provider)?
            .aggregate(vec![], vec![max(col(quote(column))).alias("m")])?
            .collect()
            .await?;
        let Some(batch) = batches.first().filter(|b| b.num_rows() == 1) else {
            return Ok(None);
        };
        let value = ScalarValue::try_from_array(batch.column(0), 0)?;
        Ok((!value.is_null()).then_some(value))
    }

    /// The latest committed version, read from the log's listing only (no
    /// snapshot is loaded); `None` while no job has written the table.
    pub async fn latest_version(&self) -> Result<Option<u64>, LakeError> {
        if !self.storage.has_any(&self.log).await? {
            return Ok(None);
        }
        Ok(Some(self.open_unloaded()?.log_store().get_latest_version(0).await?))
    }

    /// The row changes of commit `version`: the table's columns with
    /// [`CHANGE_TYPE_COLUMN`] (`insert`, `delete`, `update_preimage`,
    /// `update_postimage`), [`COMMIT_VERSION_COLUMN`] and
    /// [`COMMIT_TIMESTAMP_COLUMN`]. Read in one partition, so the rows come
    /// in the same order on every read and a reader can resume at an offset.
    pub async fn changes(&self, version: u64) -> Result<DataFrame, LakeError> {
        let table = self.load(AsOf::Version(version)).await?.ok_or_else(|| {
            LakeError::invalid("version", format!("the table has no version {version} yet"))
        })?;
        if !records_changes(&table) {
            return Err(LakeError::invalid(
                "version",
                format!("version {version} was written before the table recorded its changes"),
            ));
        }
        let changes = table.scan_cdf().with_starting_version(version).with_ending_version(version);
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        Ok(ctx.read_table(Arc::new(DeltaCdfTableProvider::try_new(changes)?))?)
    }

    /// Commits, newest first (Delta keeps 30 days of history by default).
    pub async fn versions(&self) -> Result<Vec<TableVersion>, LakeError> {
        let Some(table) = self.load(AsOf::Latest).await? else {
            return Ok(Vec::new());
        };
        let latest = table.version().unwrap_or(0);
        let infos: Vec<_> = table.history(None).try_collect().await?;
        Ok(infos
            .into_iter()
            .enumerate()
            .map(|(i, info)| TableVersion {
                version: latest.saturating_sub(i as u64),
                committed_at: info.timestamp.and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                }),
                operation: info.operation.clone(),
                job_id: info.info.get(JOB_METADATA_KEY).and_then(|v| v.as_str()).map(str::to_owned),
            })
            .collect())
    }
}

/// Whether the table records its changes (as of its loaded version).
fn records_changes(table: &DeltaTable) -> bool {
    table.snapshot().is_ok_and(|snapshot| {
        snapshot
            .metadata()
            .configuration()
            .get(CHANGE_DATA_FEED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

/// What archiving moved out of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ArchiveReport {
    /// Data files of versions older than the retention period, copied to the
    /// archive and removed from the table.
    pub archived_files: usize,
    pub archived_bytes: u64,
    /// Files no commit refers to (left by failed or killed jobs), removed.
    pub removed_orphans: usize,
    /// The table version the archive was taken at.
    pub version: Option<u64>,
    /// Where the archived files and their `manifest.json` went (a `file://`
    /// or `s3://` URL); `None` when nothing was archived.
    pub location: Option<String>,
}

impl LakeTable {
    /// 归档: data files that only versions older than `retention` need are
    /// copied to the lake's `archive/<id>/<time>-v<version>/` (with a
    /// manifest naming them) and then removed from the table, with files of
    /// interrupted jobs. Reads as of those older versions fail afterwards;
    /// the archive keeps their data.
    pub async fn archive(&self, retention: std::time::Duration) -> Result<ArchiveReport, LakeError> {
        let Some(table) = self.load(AsOf::Latest).await? else {
            return Ok(ArchiveReport::default());
        };
        let version = table.version();
        let retention = chrono::Duration::from_std(retention)
            .map_err(|_| LakeError::invalid("retention_days", "retention out of range"))?;
        let (table, expired) = table
            .vacuum()
            .with_retention_period(retention)
            .with_mode(VacuumMode::Lite)
            .with_enforce_retention_duration(false)
            .with_dry_run(true)
            .await?;
        let mut report = ArchiveReport { version, ..ArchiveReport::default() };
        if !expired.files_deleted.is_empty() {
            let stamp = OffsetDateTime::now_utc().unix_timestamp();
            let target_url =
                self.storage.directory(&format!("archive/{}/{stamp}-v{}/", self.id, version.unwrap_or(0)))?;
            let target = self.storage.path(&target_url)?;
            let source = self.storage.path(&self.url)?;
            for file in &expired.files_deleted {
                report.archived_bytes +=
                    self.storage.copy(&child(&source, file), &child(&target, file)).await?;
            }
            report.archived_files = expired.files_deleted.len();
            let manifest = serde_json::json!({"table_version": version, "files": expired.files_deleted});
            self.storage
                .put(&target.clone().join("manifest.json"), manifest.to_string().into_bytes())
                .await?;
            report.location = Some(target_url.to_string());
        }
        let (_, removed) = table
            .vacuum()
            .with_retention_period(retention)
            .with_mode(VacuumMode::Full)
            .with_enforce_retention_duration(false)
            .await?;
        report.removed_orphans = removed.files_deleted.len().saturating_sub(report.archived_files);
        Ok(report)
    }
}

/// Quotes an identifier for DataFusion's SQL-style column references, so
/// Chinese names and names with dots refer to one column.
pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
