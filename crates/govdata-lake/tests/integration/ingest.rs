//! The job pipeline end to end on a real Delta table: every write mode, the
//! watermark of incremental jobs, reads as of earlier versions, archiving,
//! and failures (a source erroring mid-stream, a dropped column) that leave
//! the table at its previous version — the database cases on a real
//! PostgreSQL (skipped without `TEST_POSTGRES_URL`); the write modes and
//! concurrent commits also on an S3 bucket (skipped without `TEST_S3_URL`).

use std::collections::BTreeMap;
use std::path::Path;

use govdata_lake::arrow::array::{AsArray, RecordBatch};
use govdata_lake::conform::EntityKey;
use govdata_lake::datafusion::prelude::SessionContext;
use govdata_lake::drift::SourceColumn;
use govdata_lake::ingest::{ingest, IngestPlan, IngestReport, Source};
use govdata_lake::mapping::{ColumnMapping, ItemMapping};
use govdata_lake::read::{Lake, BATCH_SIZE};
use govdata_lake::source::file::{FileFormat, FileSource};
use govdata_lake::source::sql::{SqlDialect, SqlRelation, SqlSourceSpec, SqlTable};
use govdata_lake::storage::LakeStorage;
use govdata_lake::table::{AsOf, LakeTable, WriteMode};
use govdata_lake::LakeError;
use govdata_model::catalog::{InfoItem, ItemType};
use object_store::ObjectStoreExt;
use url::Url;

fn items() -> Vec<InfoItem> {
    vec![
        InfoItem::new("编号", ItemType::Character, Some(10)),
        InfoItem { scale: Some(2), ..InfoItem::new("金额", ItemType::Currency, Some(12)) },
        InfoItem::new("更新时间", ItemType::DateTime, Some(14)),
    ]
}

fn mapping() -> ItemMapping {
    let columns = [("编号", "bh"), ("金额", "je"), ("更新时间", "gxsj")];
    let mapping: Vec<ColumnMapping> = columns
        .iter()
        .map(|(item, column)| ColumnMapping {
            item: (*item).into(),
            column: Some((*column).into()),
            absent_reason: None,
        })
        .collect();
    ItemMapping::new(&items(), &mapping).unwrap()
}

fn csv_source(dir: &Path, name: &str, body: &str) -> Source {
    let path = dir.join(name);
    std::fs::write(&path, format!("bh,je,gxsj\n{body}")).unwrap();
    Source::File(FileSource::new(path, FileFormat::from_extension(Path::new("x.csv")).unwrap()))
}

async fn run(
    ctx: &SessionContext,
    table: &LakeTable,
    source: Source,
    mode: &WriteMode,
    previous: Option<&[SourceColumn]>,
) -> Result<IngestReport, LakeError> {
    let mapping = mapping();
    let key: Option<&EntityKey> = None;
    let plan = IngestPlan {
        table,
        mapping: &mapping,
        key,
        mode,
        job_id: "test",
        previous_columns: previous,
        batch_size: BATCH_SIZE,
    };
    ingest(ctx, source, plan).await
}

/// `编号 → 金额 (in fen)` of the table at `as_of`, sorted.
async fn contents(ctx: &SessionContext, table: &LakeTable, as_of: AsOf) -> Vec<(String, i128)> {
    let provider = table.provider(as_of).await.unwrap().unwrap();
    let batches: Vec<RecordBatch> = ctx.read_table(provider).unwrap().collect().await.unwrap();
    let mut rows = Vec::new();
    for batch in batches {
        // Delta scans may give text as Utf8View.
        let ids = govdata_lake::arrow::compute::cast(
            batch.column(0),
            &govdata_lake::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let ids = ids.as_string::<i32>();
        let amounts = batch.column(1).as_primitive::<govdata_lake::arrow::datatypes::Decimal128Type>();
        for i in 0..batch.num_rows() {
            rows.push((ids.value(i).to_owned(), amounts.value(i)));
        }
    }
    rows.sort();
    rows
}

fn pairs(rows: &[(&str, i128)]) -> Vec<(String, i128)> {
    rows.iter().map(|(id, amount)| ((*id).to_owned(), *amount)).collect()
}

fn local_lake(dir: &Path) -> Lake {
    Lake::new(LakeStorage::local(&dir.join("lake")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_mode_and_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    every_write_mode_on(local_lake(dir.path()), dir.path(), &BTreeMap::new()).await;
}

/// A lake under a fresh prefix of the test bucket, staging in `dir`, and the
/// settings that reach it; `None` when S3 tests are skipped.
async fn s3_lake(dir: &Path) -> Option<(Lake, BTreeMap<String, String>)> {
    let (url, options) = govdata_store::testing::fresh_s3_prefix()?;
    let lake = Lake::new(LakeStorage::s3(&url, &options, &dir.join("scratch")).unwrap());
    lake.storage().check().await.unwrap();
    Some((lake, options))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_mode_and_the_watermark_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    if let Some((lake, options)) = s3_lake(dir.path()).await {
        every_write_mode_on(lake, dir.path(), &options).await;
    }
}

/// Full, append, upsert and incremental jobs, time travel, history and
/// archiving on `lake`; `options` reach the lake's store.
async fn every_write_mode_on(lake: Lake, dir: &Path, options: &BTreeMap<String, String>) {
    let table = lake.table("t1").unwrap();
    let ctx = lake.session();

    let full = run(
        &ctx,
        &table,
        csv_source(
            dir,
            "a.csv",
            "a,1.00,2026-01-01 08:00:00\nb,2.00,2026-01-02 08:00:00\nc,3,2026-01-03 08:00:00\n",
        ),
        &WriteMode::Full,
        None,
    )
    .await
    .unwrap();
    assert_eq!((full.rows_read, full.rows_written, full.version), (3, 3, 0));
    assert_eq!(contents(&ctx, &table, AsOf::Latest).await, pairs(&[("a", 100), ("b", 200), ("c", 300)]));

    let append =
        run(&ctx, &table, csv_source(dir, "b.csv", "d,4.00,2026-01-04 08:00:00\n"), &WriteMode::Append, None)
            .await
            .unwrap();
    assert_eq!(append.version, 1);

    let upsert = WriteMode::Upsert { key: vec!["编号".into()] };
    let merged = run(
        &ctx,
        &table,
        csv_source(dir, "c.csv", "b,20.00,2026-01-05 08:00:00\ne,5.00,2026-01-05 09:00:00\n"),
        &upsert,
        None,
    )
    .await
    .unwrap();
    assert_eq!(merged.version, 2);
    assert_eq!(
        contents(&ctx, &table, AsOf::Latest).await,
        pairs(&[("a", 100), ("b", 2000), ("c", 300), ("d", 400), ("e", 500)])
    );

    // Only rows after the table's latest 更新时间 (2026-01-05 09:00) are taken.
    let incremental = WriteMode::Incremental { watermark: "更新时间".into(), key: vec!["编号".into()] };
    let report = run(
        &ctx,
        &table,
        csv_source(
            dir,
            "d.csv",
            "a,999.00,2026-01-01 08:00:00\nc,30.00,2026-01-06 08:00:00\nf,6.00,2026-01-05 09:00:01\ne,0.01,2026-01-05 09:00:00\n",
        ),
        &incremental,
        None,
    )
    .await
    .unwrap();
    assert_eq!((report.rows_read, report.rows_written), (4, 2), "{report:?}");
    assert_eq!(
        contents(&ctx, &table, AsOf::Latest).await,
        pairs(&[("a", 100), ("b", 2000), ("c", 3000), ("d", 400), ("e", 500), ("f", 600)])
    );

    // Time travel: every version still reads as it was.
    assert_eq!(contents(&ctx, &table, AsOf::Version(0)).await, pairs(&[("a", 100), ("b", 200), ("c", 300)]));
    assert_eq!(contents(&ctx, &table, AsOf::Version(1)).await.len(), 4);
    let versions = table.versions().await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1, 0]);
    assert!(versions.iter().all(|v| v.job_id.as_deref() == Some("test")));
    let missing = table.load(AsOf::Version(9)).await.unwrap_err();
    assert_eq!(govdata_model::ApiError::field(&missing), Some("version"));

    // Archiving with no retention moves every file only old versions need.
    let archived = table.archive(std::time::Duration::ZERO).await.unwrap();
    assert!(archived.archived_files > 0, "{archived:?}");
    assert_eq!(
        contents(&ctx, &table, AsOf::Latest).await.len(),
        6,
        "the latest version is untouched by archiving"
    );
    let location = archived.location.as_deref().expect("archived somewhere");
    assert!(location.starts_with(table.url().as_str().split("/tables/").next().unwrap()), "{location}");
    let manifest_url = Url::parse(location).unwrap().join("manifest.json").unwrap();
    let (store, path) = object_store::parse_url_opts(&manifest_url, options).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.get(&path).await.unwrap().bytes().await.unwrap()).unwrap();
    assert_eq!(manifest["files"].as_array().unwrap().len(), archived.archived_files, "{manifest}");
    for file in manifest["files"].as_array().unwrap() {
        let archived_file = Url::parse(location).unwrap().join(file.as_str().unwrap()).unwrap();
        let (store, path) = object_store::parse_url_opts(&archived_file, options).unwrap();
        assert!(store.head(&path).await.unwrap().size > 0, "{archived_file}");
    }
}

/// Four jobs appending to one S3 table at once: each commit is a
/// conditional put, so a job that loses the race commits at the next
/// version instead of overwriting the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_on_s3_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some((lake, _)) = s3_lake(dir.path()).await else {
        return;
    };
    let ctx = lake.session();
    let table = lake.table("t4").unwrap();
    let first = csv_source(dir.path(), "first.csv", "a,1.00,2026-01-01 08:00:00\n");
    run(&ctx, &table, first, &WriteMode::Full, None).await.unwrap();
    let jobs = (1..=4).map(|n| {
        let (lake, dir) = (lake.clone(), dir.path().to_owned());
        tokio::spawn(async move {
            let ctx = lake.session();
            let table = lake.table("t4").unwrap();
            let source = csv_source(&dir, &format!("{n}.csv"), &format!("w{n},{n}.00,2026-01-02 08:00:00\n"));
            run(&ctx, &table, source, &WriteMode::Append, None).await.unwrap().version
        })
    });
    let mut versions: Vec<u64> =
        futures::future::join_all(jobs).await.into_iter().map(Result::unwrap).collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let rows = contents(&ctx, &table, AsOf::Latest).await;
    assert_eq!(rows, pairs(&[("a", 100), ("w1", 100), ("w2", 200), ("w3", 300), ("w4", 400)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_counted_and_a_mapped_column_lost_stops_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    let table = lake.table("t2").unwrap();
    let ctx = lake.session();
    let report = run(
        &ctx,
        &table,
        csv_source(
            dir.path(),
            "a.csv",
            "a,1.00,2026-01-01 08:00:00\nb,not money,2026-01-01 08:00:00\nlong-id-over-ten,1,2026-01-01\n",
        ),
        &WriteMode::Full,
        None,
    )
    .await
    .unwrap();
    assert_eq!((report.rows_written, report.rejects.count), (1, 2));
    let rows: Vec<(u64, Option<&str>)> =
        report.rejects.sample.iter().map(|r| (r.row, r.column.as_deref())).collect();
    assert_eq!(rows, vec![(2, Some("金额")), (3, Some("编号"))]);

    let path = dir.path().join("renamed.csv");
    std::fs::write(&path, "bh,amount,gxsj\nz,1,2026-01-01\n").unwrap();
    let source = Source::File(FileSource::new(path, FileFormat::from_extension(Path::new("x.csv")).unwrap()));
    let error = run(&ctx, &table, source, &WriteMode::Full, Some(&report.source_columns)).await.unwrap_err();
    let LakeError::SchemaDrift(drift) = &error else { panic!("{error}") };
    assert_eq!(drift.items_without_column, vec!["金额".to_owned()]);
    assert_eq!(drift.added[0].name, "amount");
    assert_eq!(table.load(AsOf::Latest).await.unwrap().unwrap().version(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failing_mid_stream_leaves_the_previous_version() {
    let Some(url) = govdata_store::testing::fresh_postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    let table = lake.table("t3").unwrap();
    let ctx = lake.session();
    let query = |sql: &str| SqlSourceSpec {
        dialect: SqlDialect::Postgres,
        url: url.clone(),
        relation: SqlRelation::Query { sql: sql.to_owned() },
    };
    let good = SqlTable::connect(&query(
        "SELECT id::text AS bh, (id * 1.5)::numeric(12,2) AS je, TIMESTAMP '2026-01-01' + id * INTERVAL '1 minute' AS gxsj \
         FROM generate_series(1, 20000) AS id",
    ))
    .await
    .unwrap();
    let report = run(&ctx, &table, Source::Sql(good), &WriteMode::Full, None).await.unwrap();
    assert_eq!(report.rows_written, 20_000);

    // Division by zero at row 15,000: batches before it were already streamed.
    let failing = SqlTable::connect(&query(
        "SELECT id::text AS bh, (100 / (id - 15000))::numeric(12,2) AS je, TIMESTAMP '2026-02-01' AS gxsj \
         FROM generate_series(1, 30000) AS id",
    ))
    .await
    .unwrap();
    let error = run(&ctx, &table, Source::Sql(failing), &WriteMode::Full, None).await.unwrap_err();
    assert!(error.to_string().contains("division by zero"), "{error}");
    let latest = table.load(AsOf::Latest).await.unwrap().unwrap();
    assert_eq!(latest.version(), Some(0), "the failed job committed nothing");
    let provider = table.provider(AsOf::Latest).await.unwrap().unwrap();
    let count = ctx.read_table(provider).unwrap().count().await.unwrap();
    assert_eq!(count, 20_000);

    // Incremental from the database: the watermark filter reaches the source.
    let incremental = WriteMode::Incremental { watermark: "更新时间".into(), key: vec!["编号".into()] };
    let more = SqlTable::connect(&query(
        "SELECT id::text AS bh, 1.00::numeric(12,2) AS je, TIMESTAMP '2026-01-01' + id * INTERVAL '1 minute' AS gxsj \
         FROM generate_series(19990, 20010) AS id",
    ))
    .await
    .unwrap();
    let report = run(&ctx, &table, Source::Sql(more), &incremental, None).await.unwrap();
    assert_eq!(report.rows_written, 10, "{report:?}");
    assert_eq!(report.rows_read, 10, "rows at or below the watermark never left the database: {report:?}");
    let provider = table.provider(AsOf::Latest).await.unwrap().unwrap();
    assert_eq!(ctx.read_table(provider).unwrap().count().await.unwrap(), 20_010);
}
