//! Subscription latency: how soon a consumer learns of a change, side by
//! side in one run.
//!
//! - govdata push: the demo's 人社 grant on the national hub's 人口基础库
//!   gets a webhook (a receiver in this process); each round, 公安's
//!   provider uploads a file renaming `--changed` persons, an upsert job
//!   merges it into the Delta table, and the receiver notes when the
//!   signed call with those changes arrives. Measured from the job's commit
//!   (its `finished_at`) to the call, and from the upload to the call.
//! - govdata pull: a consumer long-polling `…/changes?wait_seconds=30`
//!   from the last cursor, measured the same way.
//! - The alternative without a change feed (what existing harvesters do):
//!   export the granted table and diff it against the previous export. Its
//!   latency is the polling period plus this time; measured here is the
//!   time of one export and diff, the least any poll costs.
//!
//! Needs a release build of `govdata` (`cargo build --release -p govdata-cli`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use clap::Parser;
use govdata_bench_support::start_demo;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    /// The govdata binary (a release build).
    #[arg(long, default_value = "target/release/govdata")]
    govdata: PathBuf,
    /// Persons in the demo's population base library.
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// Changes measured.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Persons renamed per change.
    #[arg(long, default_value_t = 100)]
    changed: usize,
    /// First of the ports used (the demo's four nodes).
    #[arg(long, default_value_t = 18580)]
    port: u16,
}

/// A webhook call as received: when, and how many changes it carried.
struct Call {
    at: SystemTime,
    changes: usize,
}

/// A receiver on a loopback port that answers 200 and reports each call.
async fn receiver() -> anyhow::Result<(String, mpsc::UnboundedReceiver<Call>)> {
    let (sender, calls) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let sender = sender.clone();
            async move {
                let at = SystemTime::now();
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let changes = body["changes"].as_array().map_or(0, Vec::len);
                let _ = sender.send(Call { at, changes });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, calls))
}

fn since(at: SystemTime, from: SystemTime) -> f64 {
    at.duration_since(from).unwrap_or_default().as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn metric(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        json!({"bench": "subscription", "metric": name, "value": (value * 100.0).round() / 100.0, "unit": unit})
    );
}

fn report(name: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    metric(&format!("{name}_p50"), percentile(&values, 0.5), "ms");
    metric(&format!("{name}_p99"), percentile(&values, 0.99), "ms");
    metric(&format!("{name}_max"), *values.last().unwrap_or(&0.0), "ms");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let (_demo, credentials) = start_demo(&args.govdata, dir.path(), args.port, args.persons, "warn", None)?;
    let node = &credentials["nodes"][0];
    let base = node["url"].as_str().context("node url")?.to_owned();
    let key = node["api_keys"][0]["key"].as_str().context("api key")?.to_owned();
    let grant = node["sharing"]["grants"]
        .as_array()
        .context("grants")?
        .iter()
        .find(|g| {
            g["state"] == "active"
                && g["delivery"].as_array().is_some_and(|d| d.contains(&json!("subscription")))
        })
        .context("the demo's subscription grant")?["grant_id"]
        .as_str()
        .context("grant id")?
        .to_owned();
    let resource = node["libraries"]
        .as_array()
        .context("libraries")?
        .iter()
        .find(|l| l["library"] == "人口基础库")
        .context("the population library")?["resource_id"]
        .as_str()
        .context("resource id")?
        .to_owned();
    let persons_csv = PathBuf::from(node["base_library"][0]["path"].as_str().context("persons file")?);
    let provider = node["users"]
        .as_array()
        .context("users")?
        .iter()
        .find(|u| u["username"] == "gongan.provider")
        .context("the population provider")?;

    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": provider["username"], "password": provider["password"]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let csrf = login["csrf_token"].as_str().context("csrf token")?.to_owned();
    let consumer = reqwest::Client::new();
    let changes_url = format!("{base}/api/v1/gateway/grants/{grant}/changes");

    let (hook, mut calls) = receiver().await?;
    let subscribed: Value = consumer
        .post(format!("{base}/api/v1/gateway/grants/{grant}/subscriptions"))
        .bearer_auth(&key)
        .json(&json!({"url": hook, "cursor": "now", "batch_size": 10_000}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut cursor = subscribed["cursor"].as_str().context("cursor")?.to_owned();

    let mut reader = csv::Reader::from_path(&persons_csv)?;
    let header = reader.headers()?.clone();
    let name_column = header.iter().position(|h| h == "name").context("name column")?;
    let rows: Vec<csv::StringRecord> = reader.records().take(args.changed).collect::<Result<_, _>>()?;

    let (mut pushed, mut pulled, mut upload_to_push, mut jobs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let mut file = csv::Writer::from_writer(Vec::new());
        file.write_record(&header)?;
        for row in &rows {
            let mut row: Vec<String> = row.iter().map(str::to_owned).collect();
            row[name_column] = format!("{}{round}", &row[name_column]);
            file.write_record(&row)?;
        }
        let file = file.into_inner()?;
        // A long poll waiting from the last cursor.
        let poll = {
            let (consumer, url, key, cursor) =
                (consumer.clone(), changes_url.clone(), key.clone(), cursor.clone());
            tokio::spawn(async move {
                let page: Value = consumer
                    .get(format!("{url}?cursor={cursor}&limit=10000&wait_seconds=30"))
                    .bearer_auth(&key)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                anyhow::Ok((SystemTime::now(), page))
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let uploaded = SystemTime::now();
        let started = Instant::now();
        let job: Value = client
            .post(format!("{base}/api/v1/resources/{resource}/jobs"))
            .header("x-csrf-token", &csrf)
            .header("content-type", "text/csv")
            .body(file)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let job_id = job["id"].as_str().context("job id")?.to_owned();
        // Every change of this round: one pre-image and one post-image per person.
        let wanted = 2 * rows.len();
        let mut received = 0;
        let mut first_call = None;
        while received < wanted {
            let call = tokio::time::timeout(Duration::from_secs(120), calls.recv())
                .await
                .context("no webhook call within 120 s")?
                .context("receiver stopped")?;
            first_call.get_or_insert(call.at);
            received += call.changes;
        }
        let last_call = SystemTime::now();
        let finished = loop {
            let jobs: Value = client
                .get(format!("{base}/api/v1/resources/{resource}/jobs"))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let job = jobs.as_array().context("jobs")?.iter().find(|j| j["id"] == job_id.as_str()).cloned();
            match job {
                Some(job) if job["status"] == "succeeded" => {
                    let at =
                        OffsetDateTime::parse(job["finished_at"].as_str().context("finished_at")?, &Rfc3339)?;
                    break SystemTime::from(at);
                }
                Some(job) if job["status"] == "failed" => bail!("round {round}: the job failed: {job}"),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let (polled_at, page) = poll.await??;
        anyhow::ensure!(
            !page["changes"].as_array().is_none_or(Vec::is_empty),
            "round {round}: the long poll got nothing"
        );
        cursor = page["next_cursor"].as_str().context("next cursor")?.to_owned();
        pushed.push(since(last_call, finished));
        pulled.push(since(polled_at, finished));
        upload_to_push.push(since(last_call, uploaded));
        jobs.push(since(finished, uploaded));
        eprintln!(
            "round {round}: job {:.0} ms, commit→push {:.0} ms (first call {:.0} ms), commit→pull {:.0} ms ({:?} since upload)",
            since(finished, uploaded),
            since(last_call, finished),
            since(first_call.unwrap_or(last_call), finished),
            since(polled_at, finished),
            started.elapsed()
        );
    }
    report("commit_to_webhook", pushed.clone());
    report("commit_to_long_poll", pulled);
    report("upload_to_webhook", upload_to_push);
    report("job", jobs);

    // The alternative: export the whole granted table and diff it.
    let export = |previous: Option<HashSet<String>>| {
        let (consumer, key, base, grant) = (consumer.clone(), key.clone(), base.clone(), grant.clone());
        async move {
            let started = Instant::now();
            let body = consumer
                .get(format!("{base}/api/v1/gateway/grants/{grant}/export?format=csv"))
                .bearer_auth(&key)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            let lines: HashSet<String> = body.lines().map(str::to_owned).collect();
            let changed = previous.map_or(0, |previous| lines.symmetric_difference(&previous).count());
            anyhow::Ok((started.elapsed().as_secs_f64() * 1e3, lines, changed))
        }
    };
    let (_, first, _) = export(None).await?;
    let (export_ms, _, _) = export(Some(first)).await?;
    metric("export_and_diff", export_ms, "ms");
    pushed.sort_by(f64::total_cmp);
    metric("export_and_diff_vs_webhook_p50", export_ms / percentile(&pushed, 0.5), "ratio");
    Ok(())
}
