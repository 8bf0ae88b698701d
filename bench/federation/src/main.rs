//! The catalog cascade through a real federation of three `govdata`
//! processes (release build, default configuration): a national node, a
//! provincial node under it and a department node under that.
//!
//! - **Latency**: an entry is registered, submitted, approved and published
//!   at the department node over its API; from the moment the publish call
//!   returns (committed) until the national node answers the entry (two
//!   hops: outbox → signed batch → apply + search projection + relay →
//!   signed batch → apply + search projection), polled every 2 ms. Reported
//!   per sample as p50/p99, and the first hop alone (department → province).
//! - **Catch-up**: the provincial node is stopped; a backlog of N published
//!   changes is written straight into the department node's outbox (the
//!   bench seeds it in one transaction: registering N entries through the
//!   API would take longer than the transfer itself); then the province and
//!   the department node start, and the time until the national node holds
//!   all N is measured. Side by side, the ceiling: the same N changes applied
//!   in-process to a fresh store (`Store::apply_cascade` in batches of the
//!   same size — no network, signatures, relay hop or search projection).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use govdata_bench_support::Running;
use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
    ShareType, TopClass, UpdateCycle,
};
use govdata_store::{
    CascadeAction, CascadeChange, HomeNode, LedgerConfig, NewFederationNode, NewJoinToken, Store,
};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// The govdata binary (a release build).
    #[arg(long, default_value = "target/release/govdata")]
    govdata: PathBuf,
    /// Entries published one by one for the latency samples.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Changes in the catch-up backlog.
    #[arg(long, default_value_t = 100_000)]
    backlog: usize,
    /// Changes per batch (the nodes' default `federation.batch_size`).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

const PASSWORD: &str = "bench-admin-pass-1";
const USCC: &str = "11100000MB0143028R";
const PROVIDER_USCC: &str = "11440000006940011E";

struct Node {
    id: &'static str,
    level: String,
    region: String,
    dir: PathBuf,
    port: u16,
    binary: PathBuf,
}

impl Node {
    fn new(
        args: &Args,
        root: &Path,
        id: &'static str,
        level: &str,
        region: &str,
        parent: Option<&Node>,
    ) -> anyhow::Result<Node> {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let parent_url = parent.map(|p| format!("parent_url = \"{}\"\n", p.url())).unwrap_or_default();
        std::fs::write(
            dir.join("govdata.toml"),
            format!(
                "data_dir = \"{}\"\n[node]\nid = \"{id}\"\nname = \"{id}\"\nlevel = \"{level}\"\nregion = \"{region}\"\n\
                 {parent_url}[server]\nlisten = \"127.0.0.1:{port}\"\n[log]\nfilter = \"warn\"\n",
                dir.display()
            ),
        )?;
        let node = Node {
            id,
            level: level.to_owned(),
            region: region.to_owned(),
            dir,
            port,
            binary: args.govdata.clone(),
        };
        let mut init = node
            .command()
            .args([
                "init",
                "--department-name",
                "数据主管部门",
                "--department-uscc",
                USCC,
                "--admin-password-file",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        init.stdin.take().context("stdin")?.write_all(format!("{PASSWORD}\n").as_bytes())?;
        if !init.wait()?.success() {
            bail!("init {id} failed");
        }
        Ok(node)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.arg("--config").arg(self.dir.join("govdata.toml")).env_remove("RUST_LOG");
        command
    }

    fn serve(&self) -> anyhow::Result<Running> {
        let mut child = self.command().arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        if !line.contains("listening") {
            bail!("{} did not start: {line}", self.id);
        }
        Ok(Running(child))
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.command().args(args).output()?;
        if !output.status.success() {
            bail!("{} {args:?}: {}", self.id, String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    fn join(&self, parent: &Node) -> anyhow::Result<()> {
        let args = [
            "federation",
            "join-token",
            "--node-id",
            self.id,
            "--level",
            &self.level,
            "--region",
            &self.region,
        ];
        let token: Value = serde_json::from_str(&parent.run(&args)?)?;
        self.run(&["federation", "join", "--token", token["token"].as_str().context("token")?])?;
        Ok(())
    }
}

async fn logged_in(base: &str, username: &str, password: &str) -> anyhow::Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok((client, answer["csrf_token"].as_str().context("csrf")?.to_owned()))
}

async fn post(client: &(reqwest::Client, String), url: String, body: Value) -> anyhow::Result<Value> {
    let response = client.0.post(url).header("x-csrf-token", &client.1).json(&body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

fn draft(department_id: &str, i: usize) -> anyhow::Result<Value> {
    let grade = Some(Grade::general(2));
    let draft = EntryDraft {
        classification: Classification::new(TopClass::Department, 8, Some(1), None),
        name: format!("基准目录{i}号"),
        summary: "联邦级联基准测试目录，供政务部门依法共享。".into(),
        keywords: vec!["基准".into()],
        provider: Provider { department_id: department_id.into(), uscc: PROVIDER_USCC.into() },
        format_class: FormatClass::Database,
        format_type: "postgresql".into(),
        items: vec![
            InfoItem { grade, ..InfoItem::new(format!("基准{i}编号"), ItemType::Character, Some(32)) },
            InfoItem { grade, ..InfoItem::new(format!("基准{i}日期"), ItemType::Date, None) },
        ],
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api],
        open_type: OpenType::Unconditional,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: None,
        resources: Vec::new(),
    };
    Ok(serde_json::to_value(draft)?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn emit(metric: &str, value: f64, unit: &str, context: Value) {
    let mut line = json!({"bench": "federation", "metric": metric, "value": value, "unit": unit});
    if let (Some(line), Some(context)) = (line.as_object_mut(), context.as_object()) {
        line.extend(context.clone());
    }
    println!("{line}");
}

async fn wait_until(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > limit {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(every).await;
    }
    Ok(())
}

async fn held(client: &reqwest::Client, base: &str, home: &str, code: &str) -> anyhow::Result<bool> {
    let url = format!("{base}/api/v1/federation/entries/{home}/{}", code.replace('/', "%2F"));
    Ok(client.get(url).send().await?.status().is_success())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = tempfile::tempdir()?;
    let national = Node::new(&args, root.path(), "national", "national", "100000", None)?;
    let province = Node::new(&args, root.path(), "guangdong", "provincial", "440000", Some(&national))?;
    let department = Node::new(&args, root.path(), "police", "department", "440000", Some(&province))?;
    let _national_served = national.serve()?;
    let province_served = province.serve()?;
    let department_served = department.serve()?;
    province.join(&national)?;
    department.join(&province)?;

    let made: Value = serde_json::from_str(&department.run(&[
        "department",
        "create",
        "--name",
        "治安管理局",
        "--uscc",
        PROVIDER_USCC,
        "--region",
        "440000",
    ])?)?;
    let department_id = made["id"].as_str().context("department id")?.to_owned();
    let authority: Value = serde_json::from_str(&department.run(&["department", "list"])?)?;
    let authority_id = authority
        .as_array()
        .and_then(|all| all.iter().find(|d| d["name"] == "数据主管部门"))
        .and_then(|d| d["id"].as_str())
        .context("authority department")?
        .to_owned();
    let password_file = department.dir.join("user-password");
    std::fs::write(&password_file, "bench-user-pass-1")?;
    for (username, dept, role) in
        [("provider", department_id.as_str(), "provider"), ("reviewer", authority_id.as_str(), "authority")]
    {
        department.run(&[
            "user",
            "create",
            "--username",
            username,
            "--display-name",
            username,
            "--department",
            dept,
            "--roles",
            role,
            "--password-file",
            password_file.to_str().context("path")?,
        ])?;
    }
    let provider = logged_in(&department.url(), "provider", "bench-user-pass-1").await?;
    let reviewer = logged_in(&department.url(), "reviewer", "bench-user-pass-1").await?;
    let watcher = reqwest::Client::new();

    eprintln!("latency: {} entries published one by one at the department node", args.samples);
    let mut two_hops = Vec::new();
    let mut one_hop = Vec::new();
    let mut template = Value::Null;
    for i in 0..args.samples {
        let base = department.url();
        let entry =
            post(&provider, format!("{base}/api/v1/catalog/entries"), draft(&department_id, i)?).await?;
        let code = entry["code"].as_str().context("code")?.to_owned();
        let act = |code: &str| format!("{base}/api/v1/catalog/entries/{}/actions", code.replace('/', "%2F"));
        post(&provider, act(&code), json!({"action": "submit"})).await?;
        post(&reviewer, act(&code), json!({"action": "approve"})).await?;
        post(&reviewer, act(&code), json!({"action": "publish"})).await?;
        let committed = Instant::now();
        let (mut first, mut second) = (None, None);
        wait_until("the cascade", Duration::from_secs(30), Duration::from_millis(2), async || {
            if first.is_none() && held(&watcher, &province.url(), "police", &code).await? {
                first = Some(committed.elapsed());
            }
            if held(&watcher, &national.url(), "police", &code).await? {
                second = Some(committed.elapsed());
            }
            Ok(second.is_some())
        })
        .await?;
        one_hop.push(first.unwrap_or_default().as_secs_f64() * 1000.0);
        two_hops.push(second.unwrap_or_default().as_secs_f64() * 1000.0);
        if template.is_null() {
            let view: Value = reviewer
                .0
                .get(format!("{base}/api/v1/catalog/entries/{}", code.replace('/', "%2F")))
                .send()
                .await?
                .json()
                .await?;
            template = view["entry"].clone();
        }
    }
    for (metric, samples) in
        [("latency_department_to_national", &mut two_hops), ("latency_department_to_province", &mut one_hop)]
    {
        samples.sort_by(f64::total_cmp);
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            emit(
                &format!("{metric}_{name}"),
                percentile(samples, p),
                "ms",
                json!({"samples": samples.len()}),
            );
        }
    }

    eprintln!("catch-up: a backlog of {} changes while the province is down", args.backlog);
    drop(province_served);
    drop(department_served);
    let changes: Vec<CascadeChange> = (0..args.backlog)
        .map(|i| {
            let mut entry = template.clone();
            entry["code"] = json!(format!("108001/{:06}", 100_000 + i));
            entry["metadata"]["name"] = json!(format!("积压目录{i}号"));
            Ok(CascadeChange {
                seq: 0,
                home: HomeNode { id: "police".into(), name: "police".into(), region: "440000".into() },
                home_seq: 0,
                code: format!("108001/{:06}", 100_000 + i),
                action: CascadeAction::Publish,
                entry: Some(serde_json::from_value(entry)?),
                provider_name: Some("治安管理局".into()),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    seed_outbox(&department.dir, &changes).await?;
    let national_admin = logged_in(&national.url(), "admin", PASSWORD).await?;
    let before = federated(&national_admin.0, &national).await?;
    let _province_served = province.serve()?;
    let province_admin = logged_in(&province.url(), "admin", PASSWORD).await?;
    let province_target = federated(&province_admin.0, &province).await? + args.backlog as u64;
    let started = Instant::now();
    let _department_served = department.serve()?;
    let target = before + args.backlog as u64;
    let mut province_done = None;
    let mut last_report = Instant::now();
    // Polled every 100 ms with one session each: counting is a scan of
    // the descendants' entries, and logging in hashes a password.
    wait_until(
        "the backlog at the national node",
        Duration::from_secs(3600),
        Duration::from_millis(100),
        async || {
            if province_done.is_none() && federated(&province_admin.0, &province).await? >= province_target {
                province_done = Some(started.elapsed().as_secs_f64());
            }
            let now = federated(&national_admin.0, &national).await?;
            if last_report.elapsed() > Duration::from_secs(10) {
                eprintln!(
                    "  {} of {} after {:.0} s",
                    now - before,
                    args.backlog,
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
            Ok(now >= target)
        },
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let rate = args.backlog as f64 / elapsed;
    emit("catch_up_rate", rate, "changes/s", json!({"changes": args.backlog, "seconds": elapsed, "hops": 2}));
    if let Some(seconds) = province_done {
        let first_hop = args.backlog as f64 / seconds;
        emit(
            "catch_up_rate_first_hop",
            first_hop,
            "changes/s",
            json!({"changes": args.backlog, "seconds": seconds}),
        );
    }

    let ceiling = apply_in_process(&changes, args.batch).await?;
    emit(
        "catch_up_ceiling_in_process",
        ceiling,
        "changes/s",
        json!({"changes": args.backlog, "batch": args.batch}),
    );
    emit("catch_up_ratio", rate / ceiling, "ratio", json!({}));
    Ok(())
}

/// Published descendant entries `node` holds.
async fn federated(client: &reqwest::Client, node: &Node) -> anyhow::Result<u64> {
    let topology: Value =
        client.get(format!("{}/api/v1/federation/nodes", node.url())).send().await?.json().await?;
    Ok(topology["federated_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["entries"].as_u64())
        .sum())
}

/// Writes `changes` into the stopped department node's outbox in one transaction.
async fn seed_outbox(dir: &Path, changes: &[CascadeChange]) -> anyhow::Result<()> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&Store::sqlite_url(dir)).await?;
    let mut tx = conn.begin().await?;
    let last: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT last_seq FROM federation_sequence").fetch_one(&mut *tx).await?,
        0,
    )?;
    for (i, change) in changes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO federation_outbox (seq, code, action, document, provider_name, created_at) \
             VALUES ($1, $2, 'publish', $3, $4, '2026-11-26T00:00:00.000Z')",
        )
        .bind(last + 1 + i as i64)
        .bind(&change.code)
        .bind(serde_json::to_string(&change.entry)?)
        .bind(&change.provider_name)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE federation_sequence SET last_seq = $1")
        .bind(last + changes.len() as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The same changes applied directly to a fresh store: the ceiling.
async fn apply_in_process(changes: &[CascadeChange], batch: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        &Store::sqlite_url(dir.path()),
        LedgerConfig { node_id: "national".into(), hash: govdata_ledger::hash::HashAlg::Sha256 },
    )
    .await?;
    let token = NewJoinToken {
        node_id: "guangdong".into(),
        level: "provincial".into(),
        region: "440000".into(),
        token_hash: "h".into(),
        expires_at: "2999-01-01T00:00:00.000Z".into(),
    };
    store.create_join_token("bench", &token).await?;
    let child = NewFederationNode {
        id: "guangdong".into(),
        name: "guangdong".into(),
        level: "provincial".into(),
        region: "440000".into(),
        url: "http://127.0.0.1:1".into(),
        public_key: "AAAA".into(),
    };
    store.join_child("h", child).await?;
    let numbered: Vec<CascadeChange> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| CascadeChange { seq: i as u64 + 1, home_seq: i as u64 + 1, ..c.clone() })
        .collect();
    let started = Instant::now();
    for chunk in numbered.chunks(batch) {
        store.apply_cascade("guangdong", chunk, 0, false).await?;
    }
    let rate = changes.len() as f64 / started.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}
