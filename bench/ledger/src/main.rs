//! `govdata-bench-ledger`: what the ledger costs, next to what the machine
//! can physically do. See README.md beside this crate for how to run it and
//! docs/PERFORMANCE.md for results.
//!
//! Prints one JSON line per measurement on stdout,
//! `{"bench":"ledger","metric":…,"value":…,"unit":…,…context}`, and
//! progress on stderr.
//!
//! 1. Physical limits: SHA-256 (and SM3) hashes/s of 200-byte inputs; fsyncs/s
//!    of a small file in the benchmark directory.
//! 2. Durable appends/s through `Store::record_access` (group commit) with N
//!    concurrent writers on SQLite (WAL, synchronous=FULL), each writer
//!    waiting for its append to commit before the next; the same on tmpfs
//!    (fsync costs nothing there) to separate fsync from CPU; the CPU cost of
//!    building and hashing one entry.
//! 3. Inclusion and consistency proof latency through the store at several
//!    sizes of a large log generated directly into the tables.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::Parser;
use govdata_ledger::entry::{canonical_json, format_timestamp_millis, Entry};
use govdata_ledger::hash::HashAlg;
use govdata_ledger::tree::{self, Frontier, StoredNode};
use govdata_ledger::{verify_consistency, verify_inclusion};
use govdata_store::{LedgerConfig, LedgerRecord, Store};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::{Connection, SqliteConnection};

#[derive(Parser)]
#[command(
    about = "Ledger benchmark: durable appends/s and proof latency, beside raw SHA-256 and fsync rates"
)]
struct Args {
    /// Working directory for the databases (on the disk to measure).
    #[arg(long, default_value = "target/bench-ledger")]
    dir: PathBuf,
    /// Concurrent writers for the main append measurement.
    #[arg(long, default_value_t = 64)]
    writers: usize,
    /// Seconds per append measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// A fsync-free directory (tmpfs) for the CPU-bound append run; `none`
    /// (or any path that is not a directory) skips it.
    #[arg(long, default_value = "/dev/shm")]
    tmpfs: PathBuf,
    /// Entries in the generated log for proof latency; 0 skips it. An
    /// existing log of this size in `dir` is reused.
    #[arg(long, default_value_t = 100_000_000)]
    proof_size: u64,
    /// Proofs of each kind per measured size.
    #[arg(long, default_value_t = 2000)]
    proofs: usize,
}

fn emit(metric: &str, value: f64, unit: &str, context: Value) {
    let mut line = json!({ "bench": "ledger", "metric": metric, "value": value, "unit": unit });
    if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), context) {
        line.extend(extra);
    }
    println!("{line}");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

const HASH: HashAlg = HashAlg::Sha256;

fn config() -> LedgerConfig {
    LedgerConfig { node_id: "bench".into(), hash: HASH }
}

/// The allocator of the `govdata` binary, so the store runs as it does there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("ledger bench in {} on {cores} cores", args.dir.display());

    for (alg, threads) in [(HashAlg::Sha256, 1), (HashAlg::Sha256, cores), (HashAlg::Sm3, 1)] {
        let rate = hash_rate(alg, threads, Duration::from_secs(2));
        emit(&format!("raw_{alg}_rate"), rate, "hashes/s", json!({ "input_bytes": 200, "threads": threads }));
    }
    let fsyncs = fsync_rate(&args.dir, Duration::from_secs(3))?;
    emit("raw_fsync_rate", fsyncs, "fsyncs/s", json!({ "write_bytes": 100 }));
    emit(
        "entry_cpu_cost",
        entry_cpu_ns(),
        "ns/entry",
        json!({ "what": "canonical payload + digest + entry bytes + leaf and node hashes" }),
    );

    let disk = appends(&args.dir, "disk", args.writers, args.seconds).await?;
    emit("ratio_to_target", disk / 100_000.0, "ratio", json!({ "target_appends_per_s": 100_000 }));
    emit(
        "ratio_to_tessera",
        disk / 2_900.0,
        "ratio",
        json!({ "tessera_appends_per_s": "1600-2900 (12-core VM)" }),
    );
    if args.tmpfs.is_dir() {
        let dir = args.tmpfs.join(format!("govdata-bench-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let result = appends(&dir, "tmpfs", args.writers, args.seconds).await;
        std::fs::remove_dir_all(&dir)?;
        result?;
    }
    appends(&args.dir, "disk", args.writers * 16, args.seconds).await?;

    if args.proof_size > 0 {
        let db = large_log(&args.dir, args.proof_size).await?;
        proof_latency(&db, args.proof_size, args.proofs).await?;
    }
    Ok(())
}

/// Hashes/s of 200-byte inputs on `threads` threads.
fn hash_rate(alg: HashAlg, threads: usize, time: Duration) -> f64 {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut input = [t as u8; 200];
                    let mut n = 0u64;
                    let start = Instant::now();
                    while start.elapsed() < time {
                        for _ in 0..1000 {
                            let h = alg.digest(&input);
                            input[..32].copy_from_slice(&h);
                        }
                        n += 1000;
                    }
                    n as f64 / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("hash thread")).sum()
    })
}

/// fsync()s/s after appending 100 bytes to a file, as a WAL commit does.
fn fsync_rate(dir: &Path, time: Duration) -> anyhow::Result<f64> {
    let path = dir.join("fsync-probe");
    let file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < time {
        file.write_at(&[n as u8; 100], (n % 10_000) * 100)?;
        file.sync_all()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

/// A gateway read as the ledger records it (about 200 bytes of payload).
fn access_record(writer: usize, i: u64) -> LedgerRecord {
    LedgerRecord {
        actor: format!("key:gdk_{writer:04x}"),
        kind: "gateway.read".into(),
        subject: format!("catalog/440000-{:06}", i % 1000),
        payload: json!({
            "fields": ["name", "id_number", "address", "phone"],
            "filter": "region_code = '440300'",
            "masking": {"id_number": "first6last4", "phone": "3-4"},
            "rows": 20,
            "request": format!("{writer:04x}-{i:016x}"),
        }),
    }
}

/// CPU per entry of what an append computes: payload canonical JSON and
/// digest, entry bytes, leaf hash and the nodes it completes.
fn entry_cpu_ns() -> f64 {
    let records: Vec<LedgerRecord> = (0..200_000).map(|i| access_record(i % 64, i as u64)).collect();
    let mut frontier = Frontier::new(HASH);
    let start = Instant::now();
    let mut nodes = 0usize;
    for r in &records {
        let payload = canonical_json(&r.payload);
        let digest = hex::encode(HASH.digest(payload.as_bytes()));
        let entry = Entry::new("bench", "2026-01-01T00:00:00.000Z", &r.actor, &r.kind, &r.subject, digest);
        nodes += frontier.append_bytes(&entry.canonical_bytes()).1.len();
    }
    let ns = start.elapsed().as_nanos() as f64 / records.len() as f64;
    assert!(nodes > records.len());
    ns
}

/// Durable appends/s with `writers` concurrent writers; returns the rate.
async fn appends(dir: &Path, storage: &str, writers: usize, seconds: u64) -> anyhow::Result<f64> {
    let db_dir = dir.join(format!("appends-{storage}-{writers}"));
    let _ = std::fs::remove_dir_all(&db_dir);
    std::fs::create_dir_all(&db_dir)?;
    let store = Store::open(&Store::sqlite_url(&db_dir), config()).await?;
    eprintln!("appends: {writers} writers on {storage} for {seconds}s");
    // Warm up the committer, the prepared statements and the WAL file.
    run_writers(&store, writers, Duration::from_millis(500)).await?;
    let before = store.ledger_size().await?;
    let (latencies, elapsed) = run_writers(&store, writers, Duration::from_secs(seconds)).await?;
    let count = latencies.len() as u64;
    ensure!(store.ledger_size().await? == before + count, "every acknowledged append is in the ledger");
    let rate = count as f64 / elapsed;
    let context = json!({ "writers": writers, "storage": storage, "appends": count, "seconds": elapsed });
    emit("durable_appends_per_s", rate, "appends/s", context.clone());
    emit("append_latency_p50", percentile(&latencies, 0.50), "ms", context.clone());
    emit("append_latency_p99", percentile(&latencies, 0.99), "ms", context);
    store.close().await;
    std::fs::remove_dir_all(&db_dir)?;
    Ok(rate)
}

/// Runs `writers` tasks appending one entry at a time until `time` is up;
/// returns every append's latency (ms, sorted) and the elapsed seconds.
async fn run_writers(store: &Store, writers: usize, time: Duration) -> anyhow::Result<(Vec<f64>, f64)> {
    let start = Instant::now();
    let deadline = start + time;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let record = access_record(w, i);
                    let t = Instant::now();
                    store.record_access(record).await?;
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                    i += 1;
                }
                Ok::<_, govdata_store::StoreError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((all, elapsed))
}

/// Entries generated and inserted per transaction.
const GEN_CHUNK: u64 = 1 << 16;
const GEN_ROWS_PER_INSERT: usize = 512;

struct GenChunk {
    first: u64,
    entries: Vec<(Vec<u8>, [u8; 32], String)>,
    nodes: Vec<StoredNode>,
}

/// The directory of a generated log of `size` entries (made if missing):
/// real canonical entries, leaf hashes and tree nodes written straight into
/// the store's tables, as many appends would have left them.
async fn large_log(dir: &Path, size: u64) -> anyhow::Result<PathBuf> {
    let db_dir = dir.join(format!("log-{size}"));
    let url = Store::sqlite_url(&db_dir);
    if db_dir.join("govdata.db").exists() {
        let store = Store::open(&url, config()).await?;
        let existing = store.ledger_size().await?;
        store.close().await;
        if existing == size {
            eprintln!("reusing the log of {size} entries in {}", db_dir.display());
            return Ok(db_dir);
        }
        std::fs::remove_dir_all(&db_dir)?;
    }
    std::fs::create_dir_all(&db_dir)?;
    Store::open(&url, config()).await?.close().await;
    let mut conn = SqliteConnection::connect(&url).await?;
    // A one-off bulk load: no journal, no fsync; the filter index
    // (actor/kind/subject) is left empty and marked complete (below)
    // because proofs never read it and building it over 10^8 rows would
    // dominate the load.
    for pragma in [
        "PRAGMA journal_mode = DELETE",
        "PRAGMA journal_mode = OFF",
        "PRAGMA synchronous = OFF",
        "PRAGMA cache_size = -1000000",
    ] {
        sqlx::query(pragma).execute(&mut conn).await?;
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<GenChunk>(4);
    let producer = std::thread::spawn(move || generate(size, &sender));
    let start = Instant::now();
    let mut written = 0u64;
    while let Some(chunk) = receiver.recv().await {
        let mut tx = conn.begin().await?;
        for rows in chunk.entries.chunks(GEN_ROWS_PER_INSERT).enumerate() {
            let (n, rows) = rows;
            let first = chunk.first + (n * GEN_ROWS_PER_INSERT) as u64;
            let mut sql = String::from(
                "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) VALUES ",
            );
            sql.push_str(
                &vec!["(?, ?, ?, '{}', 'gateway.read', 'key:gdk_0001', ?, ?)"; rows.len()].join(", "),
            );
            let mut query = sqlx::query(&sql);
            for (k, (canonical, leaf, subject)) in rows.iter().enumerate() {
                query = query
                    .bind((first + k as u64) as i64)
                    .bind(leaf.as_slice())
                    .bind(canonical.as_slice())
                    .bind(subject.as_str())
                    .bind("2026-01-01T00:00:00.000Z");
            }
            query.execute(&mut *tx).await?;
        }
        for nodes in chunk.nodes.chunks(GEN_ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO ledger_nodes (leaf_end, level, hash) VALUES {}",
                vec!["(?, ?, ?)"; nodes.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for n in nodes {
                query = query.bind(n.id().end() as i64).bind(i64::from(n.level)).bind(n.hash.as_slice());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        written += chunk.entries.len() as u64;
        if written % (1 << 22) < GEN_CHUNK {
            let rate = written as f64 / start.elapsed().as_secs_f64();
            eprintln!("generated {written} of {size} entries ({rate:.0}/s)");
        }
    }
    producer.join().expect("generator thread")?;
    ensure!(written == size, "generated {written} entries, wanted {size}");
    sqlx::query("UPDATE ledger_head SET size = ?").bind(size as i64).execute(&mut conn).await?;
    sqlx::query("UPDATE ledger_filter_head SET upto = ?").bind(size as i64).execute(&mut conn).await?;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
    conn.close().await?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(db_dir.join("govdata.db"))?.len();
    emit(
        "log_generation_rate",
        size as f64 / seconds,
        "entries/s",
        json!({ "size": size, "seconds": seconds, "db_bytes": bytes }),
    );
    Ok(db_dir)
}

/// Builds the rows of `size` entries in order and sends them in chunks.
fn generate(size: u64, sender: &tokio::sync::mpsc::Sender<GenChunk>) -> anyhow::Result<()> {
    let digest = hex::encode(HASH.digest(canonical_json(&json!({})).as_bytes()));
    let mut frontier = Frontier::new(HASH);
    let base = 1_767_225_600_000i64; // 2026-01-01
    let mut first = 0;
    while first < size {
        let end = (first + GEN_CHUNK).min(size);
        let mut chunk =
            GenChunk { first, entries: Vec::with_capacity((end - first) as usize), nodes: Vec::new() };
        for i in first..end {
            let subject = format!("catalog/440000-{:06}", i % 1000);
            let at = format_timestamp_millis(base + (i / 1000) as i64).context("timestamp")?;
            let entry =
                Entry::new("bench", at, "key:gdk_0001", "gateway.read", subject.as_str(), digest.as_str());
            let canonical = entry.canonical_bytes();
            let (leaf, completed) = frontier.append_bytes(&canonical);
            chunk.nodes.extend(completed.into_iter().filter(|n| n.level > 0));
            chunk.entries.push((canonical, leaf, subject));
        }
        if sender.blocking_send(chunk).is_err() {
            anyhow::bail!("the writer stopped");
        }
        first = end;
    }
    Ok(())
}

/// p50/p99 latency of inclusion and consistency proofs through the store at
/// sizes 2^20, 2^24 and `size` (those that fit), checking a sample of them.
async fn proof_latency(db_dir: &Path, size: u64, proofs: usize) -> anyhow::Result<()> {
    let store = Store::open(&Store::sqlite_url(db_dir), config()).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(6962);
    let mut sizes: Vec<u64> = [1 << 20, 1 << 24, size].into_iter().filter(|s| *s <= size).collect();
    sizes.dedup();
    for s in sizes {
        let root = store.ledger_root(s).await?;
        let mut latencies = Vec::with_capacity(proofs);
        let mut rows = 0usize;
        for k in 0..proofs {
            let index = rng.gen_range(0..s);
            let t = Instant::now();
            let proof = store.inclusion_proof(index, s).await?;
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
            rows += tree::nodes_to_fetch(&tree::inclusion_proof_nodes(index, s)?).len();
            if k % 100 == 0 {
                let leaf = store.ledger_entry(index).await?.leaf_hash;
                verify_inclusion(HASH, &leaf, index, s, &proof, &root)?;
            }
        }
        report_proofs("inclusion", s, latencies, rows as f64 / proofs as f64);
        let mut latencies = Vec::with_capacity(proofs);
        let mut rows = 0usize;
        for k in 0..proofs {
            let from = rng.gen_range(1..s);
            let t = Instant::now();
            let proof = store.consistency_proof(from, s).await?;
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
            rows += tree::nodes_to_fetch(&tree::consistency_proof_nodes(from, s)?).len();
            if k % 100 == 0 {
                verify_consistency(HASH, from, s, &store.ledger_root(from).await?, &root, &proof)?;
            }
        }
        report_proofs("consistency", s, latencies, rows as f64 / proofs as f64);
    }
    store.close().await;
    Ok(())
}

fn report_proofs(kind: &str, size: u64, mut latencies: Vec<f64>, rows: f64) {
    latencies.sort_by(f64::total_cmp);
    let context = json!({ "size": size, "proofs": latencies.len(), "rows_read_mean": rows });
    emit(&format!("{kind}_proof_p50"), percentile(&latencies, 0.50), "ms", context.clone());
    emit(&format!("{kind}_proof_p99"), percentile(&latencies, 0.99), "ms", context);
}
