//! Ingest a persons CSV (20 columns) into a Delta table through the real job
//! pipeline — connector, conform with citizen-ID checks, delta-rs commit —
//! and, on the same file in the same run, DuckDB converting it to Parquet
//! and PostgreSQL `COPY` loading it into a table.
//!
//! Each contender runs in its own process so that its peak memory (VmHWM) is
//! its own. Output: one JSON object per line (bench/README.md).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use govdata_lake::ingest::{ingest, IngestPlan, Source};
use govdata_lake::mapping::{ColumnMapping, EntityKind, ItemMapping};
use govdata_lake::read::{Lake, BATCH_SIZE};
use govdata_lake::source::file::{FileFormat, FileSource};
use govdata_lake::storage::LakeStorage;
use govdata_lake::table::WriteMode;
use govdata_model::catalog::{InfoItem, ItemType};
use govdata_model::validate::id_check_char;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Data rows in the generated CSV.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Working directory (the CSV, the Delta table, the Parquet file).
    #[arg(long, default_value = "target/bench-lake")]
    dir: PathBuf,
    /// PostgreSQL to COPY into (a scratch table is created and dropped);
    /// skipped when absent.
    #[arg(long, env = "BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip DuckDB (needs `pip install duckdb`).
    #[arg(long)]
    skip_duckdb: bool,
    /// Internal: run one contender in this process.
    #[arg(long, hide = true)]
    contender: Option<String>,
}

/// Column name, item name, item type, length.
const COLUMNS: [(&str, &str, ItemType, Option<u32>); 20] = [
    ("id_number", "公民身份号码", ItemType::Character, Some(18)),
    ("name", "姓名", ItemType::Character, Some(50)),
    ("gender", "性别", ItemType::Character, Some(2)),
    ("birth_date", "出生日期", ItemType::Date, Some(8)),
    ("ethnicity", "民族", ItemType::Character, Some(20)),
    ("region_code", "户籍地行政区划代码", ItemType::Character, Some(6)),
    ("address", "住址", ItemType::Character, Some(200)),
    ("mobile_phone", "手机号码", ItemType::Character, Some(11)),
    ("email", "电子邮箱", ItemType::Character, Some(100)),
    ("education", "学历", ItemType::Character, Some(20)),
    ("marital_status", "婚姻状况", ItemType::Character, Some(10)),
    ("occupation", "职业", ItemType::Character, Some(50)),
    ("employer", "工作单位", ItemType::Character, Some(200)),
    ("monthly_income", "月收入", ItemType::Currency, Some(12)),
    ("height_cm", "身高", ItemType::Integer, Some(3)),
    ("weight_kg", "体重", ItemType::Float, Some(5)),
    ("registered_on", "登记日期", ItemType::Date, Some(8)),
    ("updated_at", "更新时间", ItemType::DateTime, Some(14)),
    ("is_resident", "是否常住", ItemType::Logical, Some(1)),
    ("remark", "备注", ItemType::Memo, None),
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let csv = args.dir.join(format!("persons-{}.csv", args.rows));
    match args.contender.as_deref() {
        Some("govdata") => return contender_govdata(&args.dir, &csv),
        Some("postgres_copy") => {
            return contender_postgres(&csv, args.postgres_url.as_deref().context("no URL")?)
        }
        Some(other) => bail!("unknown contender {other}"),
        None => {}
    }
    if !csv.exists() {
        eprintln!("generating {} rows into {}", args.rows, csv.display());
        generate(&csv, args.rows)?;
    }
    let bytes = std::fs::metadata(&csv)?.len();
    emit("csv_bytes", bytes as f64, "bytes", json!({}));
    let mut rates = Vec::new();
    rates.push(("govdata", run_child(&args, "govdata")?));
    if !args.skip_duckdb {
        rates.push(("duckdb", run_duckdb(&args.dir, &csv)?));
    }
    if args.postgres_url.is_some() {
        rates.push(("postgres_copy", run_child(&args, "postgres_copy")?));
    }
    let govdata = rates[0].1;
    for (name, rate) in &rates[1..] {
        emit(&format!("ratio_govdata_to_{name}"), govdata / rate, "ratio", json!({}));
    }
    Ok(())
}

fn emit(metric: &str, value: f64, unit: &str, context: serde_json::Value) {
    let mut line = json!({"bench": "lake", "metric": metric, "value": value, "unit": unit});
    if let (Some(line), Some(context)) = (line.as_object_mut(), context.as_object()) {
        line.extend(context.clone());
    }
    println!("{line}");
}

/// Runs a contender in a child process; returns its rows/s.
fn run_child(args: &Args, contender: &str) -> anyhow::Result<f64> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["--rows", &args.rows.to_string(), "--dir"]).arg(&args.dir).args(["--contender", contender]);
    if let Some(url) = &args.postgres_url {
        command.args(["--postgres-url", url]);
    }
    let output = command.output()?;
    if !output.status.success() {
        bail!("{contender} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    report(contender, &result, args.rows)
}

fn report(contender: &str, result: &serde_json::Value, rows: u64) -> anyhow::Result<f64> {
    let seconds = result["seconds"].as_f64().context("seconds")?;
    let rate = rows as f64 / seconds;
    emit(&format!("{contender}_rows_per_second"), rate, "rows/s", json!({"seconds": seconds}));
    if let Some(peak) = result["peak_rss_bytes"].as_f64() {
        emit(&format!("{contender}_peak_rss"), peak / 1_048_576.0, "MiB", json!({}));
    }
    if let Some(size) = result["output_bytes"].as_f64() {
        emit(&format!("{contender}_output"), size / 1_048_576.0, "MiB", json!({}));
    }
    Ok(rate)
}

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    let kib: u64 = line.split_whitespace().nth(1).context("VmHWM value")?.parse()?;
    Ok(kib * 1024)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn contender_govdata(dir: &Path, csv: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let items: Vec<InfoItem> = COLUMNS
        .iter()
        .map(|(_, item, type_code, length)| {
            let mut item = InfoItem::new(*item, *type_code, *length);
            if *type_code == ItemType::Currency {
                item.scale = Some(2);
            }
            item
        })
        .collect();
    let mapping: Vec<ColumnMapping> = COLUMNS
        .iter()
        .map(|(column, item, _, _)| ColumnMapping {
            item: (*item).to_owned(),
            column: Some((*column).to_owned()),
            absent_reason: None,
        })
        .collect();
    let mapping = ItemMapping::new(&items, &mapping)?;
    let lake_dir = dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake_dir);
    let lake = Lake::new(LakeStorage::local(&lake_dir)?);
    let table = lake.table("bench")?;
    let key =
        govdata_lake::conform::EntityKey { item: "公民身份号码".to_owned(), kind: EntityKind::Person };
    let started = Instant::now();
    let report = runtime.block_on(async {
        let format = FileFormat::from_extension(csv).context("a .csv file")?;
        let source = Source::File(FileSource::new(csv.to_owned(), format));
        let plan = IngestPlan {
            table: &table,
            mapping: &mapping,
            key: Some(&key),
            mode: &WriteMode::Full,
            job_id: "bench",
            previous_columns: None,
            batch_size: BATCH_SIZE,
        };
        anyhow::Ok(ingest(&lake.session(), source, plan).await?)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.rejects.count == 0, "rows rejected: {:?}", report.rejects.sample);
    println!(
        "{}",
        json!({"seconds": seconds, "rows": report.rows_written, "peak_rss_bytes": peak_rss()?,
               "output_bytes": dir_size(&lake_dir.join("tables").join("bench"))})
    );
    Ok(())
}

fn contender_postgres(csv: &Path, url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let seconds = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let columns = COLUMNS
            .iter()
            .map(|(column, _, type_code, _)| {
                let sql_type = match type_code {
                    ItemType::Date => "DATE",
                    ItemType::DateTime => "TIMESTAMP",
                    ItemType::Currency => "NUMERIC(12,2)",
                    ItemType::Integer => "BIGINT",
                    ItemType::Float => "DOUBLE PRECISION",
                    ItemType::Logical => "BOOLEAN",
                    _ => "TEXT",
                };
                format!("{column} {sql_type}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query("DROP TABLE IF EXISTS bench_persons").execute(&mut conn).await?;
        sqlx::query(&format!("CREATE TABLE bench_persons ({columns})")).execute(&mut conn).await?;
        let started = Instant::now();
        let mut copy =
            conn.copy_in_raw("COPY bench_persons FROM STDIN WITH (FORMAT csv, HEADER true)").await?;
        let mut file = tokio::fs::File::open(csv).await?;
        copy.read_from(&mut file).await?;
        copy.finish().await?;
        let seconds = started.elapsed().as_secs_f64();
        sqlx::query("DROP TABLE bench_persons").execute(&mut conn).await?;
        anyhow::Ok(seconds)
    })?;
    println!("{}", json!({"seconds": seconds}));
    Ok(())
}

/// DuckDB from PyPI, converting the same CSV to Parquet (types inferred).
fn run_duckdb(dir: &Path, csv: &Path) -> anyhow::Result<f64> {
    let parquet = dir.join("duckdb.parquet");
    let script = r#"
import json, resource, sys, time, os
import duckdb
csv, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_csv('{csv}', header=true)) TO '{out}' (FORMAT parquet)")
seconds = time.perf_counter() - started
rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "output_bytes": os.path.getsize(out)}))
"#;
    let output = Command::new("python3").arg("-c").arg(script).arg(csv).arg(&parquet).output()?;
    if !output.status.success() {
        bail!("duckdb failed (pip install duckdb): {}", String::from_utf8_lossy(&output.stderr));
    }
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let rows = result["rows"].as_u64().context("rows")?;
    report("duckdb", &result, rows)
}

/// Writes a deterministic persons CSV with valid citizen IDs.
fn generate(path: &Path, rows: u64) -> anyhow::Result<()> {
    const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"];
    const GIVEN: [&str; 8] = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋"];
    const EDUCATION: [&str; 4] = ["本科", "硕士", "高中", "大专"];
    let tmp = path.with_extension("csv.tmp");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    writeln!(out, "{}", header.join(","))?;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for n in 0..rows {
        let r = next();
        let year = 1950 + r % 55;
        let month = 1 + (r >> 8) % 12;
        let day = 1 + (r >> 12) % 28;
        let first17 = format!("110101{year:04}{month:02}{day:02}{:03}", n % 1000);
        let id = format!("{first17}{}", id_check_char(&first17));
        let name = format!("{}{}", SURNAMES[(r >> 16) as usize % 8], GIVEN[(r >> 20) as usize % 8]);
        writeln!(
            out,
            "{id},{name},{},{year:04}-{month:02}-{day:02},汉族,110101,北京市东城区某街道{}号,1{:010},user{n}@example.cn,{},{},职员,某某单位{},{}.{:02},{},{}.{},2020-{:02}-{:02},2026-01-01 08:{:02}:{:02},{},",
            if r % 2 == 0 { "男" } else { "女" },
            r % 500,
            r % 10_000_000_000,
            EDUCATION[(r >> 24) as usize % 4],
            if r % 3 == 0 { "已婚" } else { "未婚" },
            r % 1000,
            3000 + r % 30_000,
            r % 100,
            150 + r % 50,
            45 + r % 50,
            r % 10,
            month,
            day,
            r % 60,
            (r >> 6) % 60,
            if r % 5 == 0 { "false" } else { "true" },
        )?;
    }
    out.flush()?;
    out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
