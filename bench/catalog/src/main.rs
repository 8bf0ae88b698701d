//! The catalog at national scale (issue #3): bulk registration through the
//! catalog service, a full rebuild of the search index (tantivy + jieba),
//! and Chinese searches with facets at 16 concurrent clients — beside
//! PostgreSQL full-text search over the same documents (character bigrams
//! in a weighted `tsvector` with a GIN index, facet columns with B-tree
//! indexes), in the same run.
//!
//! Phases:
//!
//! 1. **Registration** (`--register` entries, default 20,000): drafts of one
//!    node's departments imported as JSON files (one per department, 500
//!    entries each) through `Catalog::import` — validation, the automatic
//!    checks with duplicates against every live entry, one transaction with
//!    its ledger entry per entry, and the search projection of the file —
//!    on the embedded SQLite store, as the serving node does it.
//! 2. **Index build**: `--entries` documents of a federation's catalog
//!    (every province and prefecture-level city a node) streamed into
//!    `SearchIndex::rebuild` on disk; then the time until tantivy's
//!    background merges settle, and the index size.
//! 3. **PostgreSQL**: the same documents (regenerated from the same seed)
//!    `COPY`ed into one table, then its GIN and B-tree indexes built.
//! 4. **Search**: a fixed mix of Chinese queries with facet filters, as the
//!    anonymous public and as a department, `--clients` threads each running
//!    `--rounds` queries, against `SearchIndex::search` and then PostgreSQL.
//!
//! Output: one JSON object per line (bench/README.md).

mod gen;
mod pg;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use govdata_catalog::transfer::Format;
use govdata_catalog::{Caller, Catalog, NodeLabel};
use govdata_model::catalog::{ActorContext, EntryDraft};
use govdata_model::org::Role;
use govdata_search::{Filters, SearchIndex, SearchQuery, Viewer};
use govdata_store::{LedgerConfig, NewDepartment, Store};
use serde_json::json;

use gen::{Generator, World};

/// The allocator of the `govdata` binary, so searches and registration run
/// as they do there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Catalog entries in the index (and in PostgreSQL).
    #[arg(long, default_value_t = 3_000_000)]
    entries: u64,
    /// Entries registered through the catalog service (bulk import).
    #[arg(long, default_value_t = 20_000)]
    register: u64,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Queries per client (after one warm-up pass of the mix).
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Parent of the working directory; the run's directory under it is
    /// deleted at the end.
    #[arg(long, default_value = "/work/bench-catalog-data")]
    dir: PathBuf,
    /// PostgreSQL to compare with (a scratch table is created and dropped).
    /// Without it the bench starts the local cluster (`pg_ctlcluster 15
    /// main`), creates a scratch role and database, and removes them after.
    #[arg(long, env = "BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    #[arg(long)]
    skip_postgres: bool,
    /// Keep the working directory.
    #[arg(long)]
    keep: bool,
    #[arg(long, default_value_t = 20_261_126)]
    seed: u64,
    /// Search the index an earlier run kept (`--keep`, same `--seed` and
    /// `--entries`) instead of registering and building: for repeating
    /// the search phase alone.
    #[arg(long)]
    index: Option<PathBuf>,
    /// Run only the queries of the mix whose label contains this (for
    /// profiling one query).
    #[arg(long)]
    only: Option<String>,
}

pub fn emit(metric: &str, value: f64, unit: &str, extra: serde_json::Value) {
    let mut line = json!({"bench": "catalog", "metric": metric, "value": value, "unit": unit});
    if let (Some(obj), serde_json::Value::Object(more)) = (line.as_object_mut(), extra) {
        obj.extend(more);
    }
    println!("{line}");
}

pub fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if meta.is_file() {
        return meta.len();
    }
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries.flatten().map(|e| dir_size(&e.path())).sum()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = args.dir.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    eprintln!("working directory {}", work.display());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = run(&args, &work, &runtime);
    if !args.keep {
        if let Err(e) = std::fs::remove_dir_all(&work) {
            eprintln!("could not remove {}: {e}", work.display());
        }
        let _ = std::fs::remove_dir(&args.dir);
    }
    result
}

fn run(args: &Args, work: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let world = World::new(args.seed);
    eprintln!(
        "world: {} nodes, {} departments; {} entries to index",
        world.nodes.len(),
        world.departments.len(),
        args.entries
    );

    let index = match &args.index {
        Some(dir) => Arc::new(SearchIndex::open(dir)?),
        None => build(args, work, runtime, &world)?,
    };
    let mut mix = pg::query_mix(&world);
    if let Some(only) = &args.only {
        mix.retain(|q| q.label.contains(only.as_str()));
        if mix.is_empty() {
            bail!("no query of the mix has {only:?} in its label");
        }
    }

    // PostgreSQL load.
    let pg = if args.skip_postgres {
        None
    } else {
        let pg = runtime.block_on(pg::Postgres::prepare(args.postgres_url.clone()))?;
        let loaded = runtime.block_on(pg.load(&world, args.seed ^ 1, args.entries));
        match loaded {
            Ok(()) => Some(pg),
            Err(e) => {
                runtime.block_on(pg.cleanup());
                return Err(e);
            }
        }
    };

    let result = (|| -> anyhow::Result<()> {
        // Searches: govdata.
        eprintln!("search mix: {} queries, {} clients x {} rounds", mix.len(), args.clients, args.rounds);
        let mut totals = Vec::new();
        for q in &mix {
            let r = index.search(&q.query, &q.viewer)?;
            totals.push(r.total);
        }
        // One client alone: what each query costs without queueing.
        let mut alone = Vec::new();
        for q in &mix {
            let t = Instant::now();
            index.search(&q.query, &q.viewer)?;
            alone.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (lat, wall) = run_clients(args.clients, args.rounds, mix.len(), |i| {
            index.search(&mix[i].query, &mix[i].viewer).map(|_| ()).map_err(anyhow::Error::from)
        })?;
        let gov = Stats::of(&lat, wall);
        gov.emit("govdata");

        if let Some(pg) = &pg {
            let pg_totals = runtime.block_on(pg.warm(&mix))?;
            let pg_alone = runtime.block_on(pg.alone(&mix))?;
            eprintln!(
                "{:<60} {:>9} {:>9} {:>9} {:>9}",
                "query (one client alone)", "govdata", "postgres", "gov ms", "pg ms"
            );
            for (i, q) in mix.iter().enumerate() {
                eprintln!(
                    "{:<60} {:>9} {:>9} {:>9.1} {:>9.1}",
                    q.label, totals[i], pg_totals[i], alone[i], pg_alone[i]
                );
            }
            let sum: f64 = alone.iter().sum();
            let pg_sum: f64 = pg_alone.iter().sum();
            emit(
                "search_alone_mean_ms_govdata",
                sum / mix.len() as f64,
                "ms",
                json!({"note": "one client, each query of the mix once"}),
            );
            emit(
                "search_alone_mean_ms_postgres",
                pg_sum / mix.len() as f64,
                "ms",
                json!({"note": "one client, each query of the mix once"}),
            );
            let (lat, wall) = runtime.block_on(pg.run_clients(&mix, args.clients, args.rounds))?;
            let pgs = Stats::of(&lat, wall);
            pgs.emit("postgres");
            emit("search_p50_ratio_postgres_over_govdata", pgs.p50 / gov.p50, "ratio", json!({}));
            emit("search_p99_ratio_postgres_over_govdata", pgs.p99 / gov.p99, "ratio", json!({}));
            emit("search_qps_ratio_govdata_over_postgres", gov.qps / pgs.qps, "ratio", json!({}));
        } else {
            for (i, q) in mix.iter().enumerate() {
                eprintln!("{:<60} {:>9} {:>9.1} ms", q.label, totals[i], alone[i]);
            }
        }
        Ok(())
    })();
    if let Some(pg) = pg {
        runtime.block_on(pg.cleanup());
    }
    result
}

/// Registration (when `--register` is not 0), then the index build, its
/// merges and size.
fn build(
    args: &Args,
    work: &Path,
    runtime: &tokio::runtime::Runtime,
    world: &World,
) -> anyhow::Result<Arc<SearchIndex>> {
    if args.register > 0 {
        runtime.block_on(registration(args, work, world))?;
    }
    // Generation alone, so that its share of the build time is known.
    let sample = 50_000.min(args.entries.max(1));
    let start = Instant::now();
    let mut generator = Generator::new(world, args.seed ^ 1);
    let mut json_bytes = 0u64;
    for i in 0..sample {
        let doc = generator.next_doc();
        if i % 10 == 0 {
            json_bytes += serde_json::to_vec(&doc.entry).map(|v| v.len() as u64).unwrap_or(0) * 10;
        }
    }
    let gen_rate = sample as f64 / start.elapsed().as_secs_f64();
    emit("generate_docs_per_s", gen_rate.round(), "docs/s", json!({"sample": sample}));
    emit(
        "entry_json_bytes_avg",
        (json_bytes as f64 / sample as f64).round(),
        "bytes",
        json!({"note": "CatalogEntry JSON as the store keeps each version"}),
    );
    drop(generator);

    // Index build.
    let index_dir = work.join("search");
    let index = Arc::new(SearchIndex::open(&index_dir)?);
    let (tx, rx) = std::sync::mpsc::sync_channel(4096);
    let (entries, seed) = (args.entries, args.seed);
    let (indexed, build_s, items_total) = std::thread::scope(|s| -> anyhow::Result<(usize, f64, u64)> {
        let producer = s.spawn(move || {
            let mut generator = Generator::new(world, seed ^ 1);
            for _ in 0..entries {
                if tx.send(generator.next_doc()).is_err() {
                    break;
                }
            }
            generator.items_total
        });
        let start = Instant::now();
        let indexed = index.rebuild(rx)?;
        let build_s = start.elapsed().as_secs_f64();
        let items = producer.join().map_err(|_| anyhow::anyhow!("generator panicked"))?;
        Ok((indexed, build_s, items))
    })?;
    emit("items_total", items_total as f64, "items", json!({"entries": entries}));
    emit("items_per_entry", items_total as f64 / entries.max(1) as f64, "items", json!({}));
    emit("index_docs", indexed as f64, "docs", json!({"note": "searchable versions, one per entry"}));
    emit("index_build_s", build_s, "s", json!({"docs_per_s": (indexed as f64 / build_s).round()}));
    eprintln!("index built: {indexed} docs in {build_s:.1} s; waiting for merges to settle");
    let (settle_s, segments) = wait_for_merges(&index_dir);
    let index_bytes = dir_size(&index_dir);
    emit("index_merge_settle_s", settle_s, "s", json!({"segments": segments}));
    // The reader reloads on the next commit (any catalog change on a live
    // node); make one, so that searches see the merged segments.
    index.remove(&[govdata_search::DocKey::new("bench", "no-such-entry")])?;
    emit("index_bytes", index_bytes as f64, "bytes", json!({"mib": index_bytes / (1 << 20)}));
    Ok(index)
}

/// Waits until tantivy's background merges after the commit have settled:
/// no file of the index directory created, grown or deleted for 30 s (at
/// most 20 min). Returns the seconds until the last change and the number
/// of segments then.
fn wait_for_merges(dir: &Path) -> (f64, usize) {
    let start = Instant::now();
    let snapshot = || -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            e.metadata().map(|m| m.len()).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    let mut last = snapshot();
    let mut changed_at = Instant::now();
    let mut settled_at = Duration::ZERO;
    while changed_at.elapsed() < Duration::from_secs(30) && start.elapsed() < Duration::from_secs(1200) {
        std::thread::sleep(Duration::from_secs(2));
        let now = snapshot();
        if now != last {
            last = now;
            changed_at = Instant::now();
            settled_at = start.elapsed();
        }
    }
    let text = std::fs::read_to_string(dir.join("meta.json")).unwrap_or_default();
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let segments = meta["segments"].as_array().map_or(0, Vec::len);
    (settled_at.as_secs_f64(), segments)
}

/// `clients` threads; client c runs queries c, c+1, … of the mix (mod its
/// length), `rounds` of them. Returns every latency and the wall time.
fn run_clients(
    clients: usize,
    rounds: usize,
    mix_len: usize,
    query: impl Fn(usize) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let start = Instant::now();
    let per_client: Vec<anyhow::Result<Vec<Duration>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let query = &query;
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(rounds);
                    for r in 0..rounds {
                        let t = Instant::now();
                        query((c + r) % mix_len)?;
                        lat.push(t.elapsed());
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("client panicked"))).collect()
    });
    let wall = start.elapsed();
    let mut all = Vec::new();
    for lat in per_client {
        all.extend(lat?);
    }
    Ok((all, wall))
}

pub struct Stats {
    p50: f64,
    p99: f64,
    mean: f64,
    max: f64,
    qps: f64,
    n: usize,
}

impl Stats {
    pub fn of(lat: &[Duration], wall: Duration) -> Stats {
        let mut ms: Vec<f64> = lat.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
        Stats {
            p50: at(0.50),
            p99: at(0.99),
            mean: ms.iter().sum::<f64>() / ms.len() as f64,
            max: *ms.last().unwrap_or(&0.0),
            qps: ms.len() as f64 / wall.as_secs_f64(),
            n: ms.len(),
        }
    }

    fn emit(&self, target: &str) {
        let ctx = json!({"target": target, "queries": self.n});
        emit(&format!("search_p50_ms_{target}"), self.p50, "ms", ctx.clone());
        emit(&format!("search_p99_ms_{target}"), self.p99, "ms", ctx.clone());
        emit(&format!("search_mean_ms_{target}"), self.mean, "ms", ctx.clone());
        emit(&format!("search_max_ms_{target}"), self.max, "ms", ctx.clone());
        emit(&format!("search_qps_{target}"), self.qps, "queries/s", ctx);
    }
}

/// One query of the mix.
pub struct MixQuery {
    pub label: String,
    pub query: SearchQuery,
    pub viewer: Viewer,
}

impl MixQuery {
    pub fn new(q: &str, filters: Filters, viewer: Viewer) -> MixQuery {
        let mut label = if q.is_empty() { "(browse)".to_owned() } else { q.to_owned() };
        for facet in filters.active() {
            label.push_str(&format!(" {}={}", facet.name(), filters.values(facet).join("|")));
        }
        if let Some(d) = &viewer.department_id {
            label.push_str(&format!(" as {d}"));
        }
        MixQuery { label, query: SearchQuery { q: q.to_owned(), filters, ..SearchQuery::default() }, viewer }
    }
}

/// Phase 1: drafts of one node's departments imported through the catalog
/// service, department by department, in files of 500.
async fn registration(args: &Args, work: &Path, world: &World) -> anyhow::Result<()> {
    let data = work.join("node");
    std::fs::create_dir_all(&data)?;
    let ledger = LedgerConfig { node_id: "bench-node".into(), hash: govdata_ledger::HashAlg::Sha256 };
    let store = Store::open(&Store::sqlite_url(&data), ledger).await?;
    // The home node: the first province's node (北京市), with its departments.
    let home = 0usize;
    let node = &world.nodes[home];
    let mut departments = Vec::new();
    for &d in &world.by_node[home] {
        let dept = &world.departments[d];
        let stored = store
            .create_department(
                "bench",
                NewDepartment {
                    name: dept.name.clone(),
                    uscc: dept.uscc.clone(),
                    region: node.region.clone(),
                },
            )
            .await?;
        departments.push((stored, dept.kind));
    }
    let index = Arc::new(SearchIndex::open(&data.join("search"))?);
    let catalog = Catalog::new(store.clone(), govdata_model::calendar::WorkingCalendar::china(), 20)
        .with_search(
            index.clone(),
            NodeLabel { id: node.id.clone(), name: node.name.clone(), region: node.region.clone() },
        );

    let mut generator = Generator::new(world, args.seed ^ 2);
    const FILE: usize = 500;
    let mut registered = 0u64;
    let mut rejected = 0u64;
    let mut files = 0u64;
    let mut checkpoints: Vec<(u64, Duration)> = vec![(0, Duration::ZERO)];
    let mut next_combo: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let start_all = Instant::now();
    'outer: loop {
        let before = registered;
        for (dept, kind) in &departments {
            if registered >= args.register {
                break 'outer;
            }
            let n = (FILE as u64).min(args.register - registered) as usize;
            let made = next_combo.entry(dept.id.clone()).or_insert(0usize);
            let mut drafts: Vec<EntryDraft> = (0..n)
                .map(|i| {
                    generator.entry(*kind, home, (&dept.id, &dept.uscc, &dept.name), Some(*made + i)).draft
                })
                .collect();
            *made += n;
            let caller = Caller {
                actor: "bench:import".into(),
                context: ActorContext::new(format!("u-{}", dept.id), dept.id.clone(), &[Role::Provider]),
            };
            let start = Instant::now();
            // All or nothing per file: rows the checks refuse (near
            // duplicates of registered entries) are dropped and the rest
            // imported again, as a department would.
            let outcome = loop {
                let bytes = serde_json::to_vec(&drafts)?;
                let outcome = catalog.import(&caller, Format::Json, &bytes, false).await?;
                if outcome.report.errors.is_empty() {
                    break outcome;
                }
                let mut bad: Vec<usize> = outcome.report.errors.iter().map(|e| e.row as usize).collect();
                bad.sort_unstable();
                bad.dedup();
                if files == 0 && registered == 0 && bad.len() == drafts.len() {
                    bail!("every row refused: {:?}", outcome.report.errors.first());
                }
                rejected += bad.len() as u64;
                for row in bad.iter().rev() {
                    if (1..=drafts.len()).contains(row) {
                        drafts.remove(row - 1);
                    }
                }
                if drafts.is_empty() {
                    break outcome;
                }
            };
            let took = start.elapsed();
            let done = outcome.imported.len() as u64;
            registered += done;
            files += 1;
            let rate = done as f64 / took.as_secs_f64();
            checkpoints.push((registered, start_all.elapsed()));
            if files % 10 == 1 {
                eprintln!("registered {registered} ({rate:.0}/s for the last file of {done}; {rejected} near-duplicates refused)");
            }
        }
        if registered == before {
            bail!("a whole round of files registered nothing");
        }
    }
    let wall = start_all.elapsed();
    emit(
        "register_entries_per_s",
        registered as f64 / wall.as_secs_f64(),
        "entries/s",
        json!({"entries": registered, "files": files, "refused_near_duplicates": rejected, "wall_s": wall.as_secs_f64(), "path": "Catalog::import (JSON), SQLite store, search projection on"}),
    );
    // The rate over the first and the last tenth of the entries: the
    // duplicate check and the summaries each import reads grow with the
    // entries already registered.
    let rate_between = |from: u64, to: u64| {
        let a = checkpoints.iter().find(|(n, _)| *n >= from).copied().unwrap_or((0, Duration::ZERO));
        let b = checkpoints.iter().find(|(n, _)| *n >= to).copied().unwrap_or((registered, wall));
        (b.0 - a.0) as f64 / (b.1 - a.1).as_secs_f64().max(1e-9)
    };
    let tenth = registered / 10;
    emit("register_first_tenth_per_s", rate_between(0, tenth), "entries/s", json!({"up_to": tenth}));
    emit(
        "register_last_tenth_per_s",
        rate_between(registered - tenth, registered),
        "entries/s",
        json!({"from": registered - tenth}),
    );
    store.close().await;
    let store_bytes = dir_size(&data) - dir_size(&data.join("search"));
    emit("register_store_bytes", store_bytes as f64, "bytes", json!({"entries": registered}));
    emit(
        "register_index_bytes",
        dir_size(&data.join("search")) as f64,
        "bytes",
        json!({"entries": registered}),
    );
    drop(catalog);
    drop(index);
    std::fs::remove_dir_all(&data)?;
    Ok(())
}
