//! Requests/s and latency of `GET /api/v1/auth/me` with an API key (key
//! lookup, constant-time hash check, expiry and revocation check, JSON out)
//! against a bare axum handler returning a JSON body of the same size: the
//! ceiling on this machine. Both servers get the same load generator in the
//! same run.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use govdata_model::org::Role;
use govdata_server::Config;
use govdata_store::{NewApiKey, NewDepartment};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Seconds of load per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
}

struct Measured {
    requests: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

/// Closed-loop load: `connections` workers, each sending its next request
/// when the previous answer arrives.
async fn load(url: &str, bearer: Option<&str>, args: &Args) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, url, bearer) = (client.clone(), url.to_owned(), bearer.map(str::to_owned));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let mut request = client.get(&url);
                if let Some(key) = &bearer {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await?;
                anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
                response.bytes().await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Measured { requests: latencies.len() as u64, elapsed, p50: at(0.5), p99: at(0.99) })
}

fn report(metric: &str, measured: &Measured, args: &Args) -> f64 {
    let rps = measured.requests as f64 / measured.elapsed.as_secs_f64();
    let line = |name: &str, value: f64, unit: &str| {
        println!(
            "{}",
            json!({"bench": "auth", "metric": format!("{metric}_{name}"), "value": value, "unit": unit,
                   "connections": args.connections, "seconds": args.seconds})
        );
    };
    line("throughput", rps.round(), "requests/s");
    line("p50", measured.p50.as_secs_f64() * 1e3, "ms");
    line("p99", measured.p99.as_secs_f64() * 1e3, "ms");
    rps
}

async fn bare_server() -> anyhow::Result<String> {
    let body = json!({"actor": "key:gdk_00000000", "department_id": "00000000-0000-0000-0000-000000000000",
                      "roles": ["consumer"], "user": null, "api_key_id": "00000000-0000-0000-0000-000000000000"});
    let app = axum::Router::new().route("/me", axum::routing::get(move || async move { axum::Json(body) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/me", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn govdata_server(dir: &std::path::Path) -> anyhow::Result<(String, String)> {
    let config = Config { data_dir: dir.to_owned(), ..Config::default() };
    let (store, node) = govdata_server::open(&config).await?;
    let department = store
        .create_department(
            "bench",
            NewDepartment {
                name: "人力资源和社会保障部".into(),
                uscc: "11100000000013127R".into(),
                region: "100000".into(),
            },
        )
        .await?;
    let (key, prefix, secret_hash) = govdata_server::auth::generate_api_key();
    store
        .create_api_key(
            "bench",
            NewApiKey {
                name: "bench".into(),
                prefix,
                secret_hash,
                department_id: department.id,
                roles: vec![Role::Consumer],
                expires_at: None,
                allowed_networks: Vec::new(),
            },
        )
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/auth/me", listener.local_addr()?);
    tokio::spawn(govdata_server::serve(listener, store, node, config, std::future::pending()));
    Ok((url, key))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let bare_url = bare_server().await?;
    let (govdata_url, key) = govdata_server(dir.path()).await.context("starting the govdata node")?;
    eprintln!("warming up");
    load(&bare_url, None, &Args { seconds: 1, connections: args.connections }).await?;
    load(&govdata_url, Some(&key), &Args { seconds: 1, connections: args.connections }).await?;
    let bare = report("bare_axum", &load(&bare_url, None, &args).await?, &args);
    let govdata = report("api_key_me", &load(&govdata_url, Some(&key), &args).await?, &args);
    println!(
        "{}",
        json!({"bench": "auth", "metric": "api_key_me_vs_bare_axum", "value": (govdata / bare * 1000.0).round() / 1000.0, "unit": "ratio"})
    );
    Ok(())
}
