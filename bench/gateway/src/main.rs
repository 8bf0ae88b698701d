//! Gateway lookups by entity key, side by side in one run with wrk:
//!
//! - govdata: `POST /api/v1/gateway/grants/{grant}/lookup` on the demo's
//!   national hub with the demo consumer application's API key — key check,
//!   grant check, the in-memory key index, masking, and a ledger entry
//!   committed before each answer;
//! - a bare axum handler on the same machine that parses the same body and
//!   answers a JSON body of the same shape: the ceiling;
//! - Datasette (from PyPI) serving the same persons as a SQLite table with an
//!   index on the ID column, as a JSON API without masking or audit (and
//!   without its row count and facet suggestions, `_nocount=1&_nofacet=1`):
//!   what a department would otherwise put up quickly.
//!
//! Verify (核验) is measured the same way: govdata's
//! `POST /api/v1/gateway/grants/{grant}/verify` with each person's true name
//! and birth date (match or mismatch per value, no data returned, one ledger
//! entry per call), against a bare axum handler answering the same shape.
//! Datasette has no verify: a department serving rows would return them.
//!
//! Also measured: the index's build time and memory (the first lookup after
//! start builds it), and the ledger's growth during the govdata run (one
//! entry per call).
//!
//! Needs `wrk` (Debian package) and `datasette` (pip) on the PATH, and a
//! release build of `govdata` (`cargo build --release -p govdata-cli`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use govdata_bench_support::{start_demo, Running};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// The govdata binary (a release build).
    #[arg(long, default_value = "target/release/govdata")]
    govdata: PathBuf,
    /// Persons in the demo's population base library.
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// Seconds of load per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// First of the ports used (demo: 4 ports, Datasette: 1).
    #[arg(long, default_value_t = 18480)]
    port: u16,
    /// Keep the demo nodes' stores on this PostgreSQL server (a database
    /// name to derive theirs from, e.g. `postgres://…/gwbench`; each run
    /// needs names not yet used) instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
}

/// Each line of the keys file is a person's ID, name and birth date,
/// tab-separated.
const SCRIPT: &str = r#"
local people = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
  local id, name, born = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)")
  people[#people + 1] = {id = id, name = name, born = born}
end
local mode = os.getenv("MODE")
local auth = os.getenv("AUTH")
request = function()
  local person = people[math.random(#people)]
  if mode == "datasette" then
    return wrk.format("GET", "/persons/persons.json?_shape=array&_nocount=1&_nofacet=1&_nosuggest=1&id_number=" .. person.id)
  end
  local headers = {["Content-Type"] = "application/json"}
  if auth then headers["Authorization"] = auth end
  if mode:find("verify") then
    return wrk.format("POST", nil, headers, '{"key":"' .. person.id .. '","values":{"姓名":"' .. person.name
      .. '","出生日期":"' .. person.born .. '"}}')
  end
  return wrk.format("POST", nil, headers, '{"keys":["' .. person.id .. '"]}')
end
"#;

struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn millis(text: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        bail!("unknown latency unit in {text:?}")
    };
    Ok(number.parse::<f64>()? * factor)
}

fn wrk(args: &Args, dir: &Path, url: &str, mode: &str, auth: Option<&str>) -> anyhow::Result<Measured> {
    let mut command = Command::new("wrk");
    command
        .args(["-t", &args.threads.to_string(), "-c", &args.connections.to_string()])
        .args(["-d", &format!("{}s", args.seconds), "--latency", "-s"])
        .arg(dir.join("lookup.lua"))
        .arg(url)
        .env("KEYS_FILE", dir.join("keys.txt"))
        .env("MODE", mode);
    if let Some(auth) = auth {
        command.env("AUTH", auth);
    }
    let output = command.output().context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{mode}:\n{text}");
    let mut measured = Measured { rps: 0.0, p50_ms: 0.0, p99_ms: 0.0, errors: 0 };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => measured.rps = value.parse()?,
            ["50%", value] => measured.p50_ms = millis(value)?,
            ["99%", value] => measured.p99_ms = millis(value)?,
            ["Non-2xx", "or", "3xx", "responses:", value] => measured.errors = value.parse()?,
            ["Socket", "errors:", ..] => measured.errors += 1,
            _ => {}
        }
    }
    if measured.rps == 0.0 {
        bail!("wrk printed no rate for {mode}: {text}");
    }
    Ok(measured)
}

fn report(metric: &str, measured: &Measured, args: &Args) {
    for (name, value, unit) in [
        ("throughput", measured.rps.round(), "requests/s"),
        ("p50", measured.p50_ms, "ms"),
        ("p99", measured.p99_ms, "ms"),
        ("errors", measured.errors as f64, "responses"),
    ] {
        println!(
            "{}",
            json!({"bench": "gateway", "metric": format!("{metric}_{name}"), "value": value, "unit": unit,
                   "connections": args.connections, "seconds": args.seconds})
        );
    }
}

/// The bare ceiling: parses the lookup or verify body and answers a body of
/// the same shape as the gateway's, with nothing looked up. Answers the base
/// URL; `lookup` and `verify` are under it.
async fn bare_server() -> anyhow::Result<String> {
    async fn lookup(axum::Json(body): axum::Json<Value>) -> axum::Json<Value> {
        let key = body["keys"][0].as_str().unwrap_or_default().to_owned();
        axum::Json(json!({
            "grant_id": "00000000-0000-0000-0000-000000000000",
            "items": ["公民身份号码", "姓名", "出生日期", "户籍地行政区划代码"],
            "masking": {"公民身份号码": "id_number", "姓名": "name", "出生日期": "year", "户籍地行政区划代码": "clear"},
            "results": [{"key": key, "rows": [{"公民身份号码": "110101********0012", "姓名": "张*",
                                               "出生日期": "1990", "户籍地行政区划代码": "110101"}]}]
        }))
    }
    async fn verify(axum::Json(body): axum::Json<Value>) -> axum::Json<Value> {
        let fields: serde_json::Map<String, Value> = body["values"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(item, _)| (item.clone(), json!("match")))
            .collect();
        axum::Json(
            json!({"grant_id": "00000000-0000-0000-0000-000000000000", "found": true, "fields": fields}),
        )
    }
    let app = axum::Router::new()
        .route("/lookup", axum::routing::post(lookup))
        .route("/verify", axum::routing::post(verify));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn ledger_size(base: &str) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("{base}/api/v1/ledger/checkpoint")).await?.text().await?;
    Ok(text.lines().nth(1).context("checkpoint size line")?.parse()?)
}

fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on port {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("lookup.lua"), SCRIPT)?;

    let (_demo, credentials) = start_demo(
        &args.govdata,
        dir.path(),
        args.port,
        args.persons,
        "warn,govdata_sharing=info",
        args.database_url.as_deref(),
    )?;
    let node = &credentials["nodes"][0];
    let base = node["url"].as_str().context("node url")?.to_owned();
    let key = node["api_keys"][0]["key"].as_str().context("api key")?.to_owned();
    let grant = node["sharing"]["grants"]
        .as_array()
        .context("grants")?
        .iter()
        .find(|g| g["state"] == "active" && g["consumer"] == "renshe")
        .context("the demo's active grant")?["grant_id"]
        .as_str()
        .context("grant id")?
        .to_owned();
    let persons_csv = PathBuf::from(node["base_library"][0]["path"].as_str().context("persons file")?);
    let mut keys = std::fs::File::create(dir.path().join("keys.txt"))?;
    let mut reader = csv::Reader::from_path(&persons_csv)?;
    let header = reader.headers()?.clone();
    let column = |name: &str| header.iter().position(|h| h == name).with_context(|| format!("column {name}"));
    let (id_column, name_column, born_column) =
        (column("id_number")?, column("name")?, column("birth_date")?);
    let mut people = Vec::new();
    for record in reader.records() {
        let record = record?;
        people.push([&record[id_column], &record[name_column], &record[born_column]].map(str::to_owned));
    }
    for person in &people {
        writeln!(keys, "{}", person.join("\t"))?;
    }
    let ids: Vec<&str> = people.iter().map(|[id, ..]| id.as_str()).collect();
    let lookup_url = format!("{base}/api/v1/gateway/grants/{grant}/lookup");
    let verify_url = format!("{base}/api/v1/gateway/grants/{grant}/verify");
    let client = reqwest::Client::new();

    // The first lookup builds the index: its time, and the memory it holds
    // as the node logs it (table in Arrow, hash map, columns rendered as
    // text and JSON).
    let started = Instant::now();
    let first = client.post(&lookup_url).bearer_auth(&key).json(&json!({"keys": [ids[0]]})).send().await?;
    anyhow::ensure!(first.status().is_success(), "first lookup: {}", first.text().await?);
    let build = started.elapsed();
    let log = std::fs::read_to_string(dir.path().join("demo.log"))?;
    let built = log.lines().find(|l| l.contains("indexed entry data")).context("no index log line")?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let start = built.find(&format!("{name}=")).with_context(|| format!("{name} in {built}"))?;
        let value: String =
            built[start + name.len() + 1..].chars().take_while(char::is_ascii_digit).collect();
        Ok(value.parse()?)
    };
    let started = Instant::now();
    client.post(&lookup_url).bearer_auth(&key).json(&json!({"keys": [ids[1]]})).send().await?;
    let warm = started.elapsed();
    for (metric, value, unit) in [
        ("index_first_lookup", build.as_secs_f64() * 1e3, "ms"),
        ("index_warm_lookup", warm.as_secs_f64() * 1e3, "ms"),
        ("index_build", field("millis")?, "ms"),
        ("index_table_memory", field("table_kib")? / 1024.0, "MiB"),
        ("index_map_memory", field("index_kib")? / 1024.0, "MiB"),
        ("index_rendered_memory", field("rendered_kib")? / 1024.0, "MiB"),
        ("index_rows", ids.len() as f64, "rows"),
    ] {
        println!("{}", json!({"bench": "gateway", "metric": metric, "value": value, "unit": unit}));
    }

    eprintln!("building the Datasette database");
    let database = dir.path().join("persons.db");
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[2])\n\
             rows = csv.reader(open(sys.argv[1], encoding='utf-8'))\n\
             header = next(rows)\n\
             db.execute('CREATE TABLE persons (' + ', '.join(f'\"{h}\" TEXT' for h in header) + ')')\n\
             db.executemany('INSERT INTO persons VALUES (' + ', '.join('?' for _ in header) + ')', rows)\n\
             db.execute('CREATE INDEX persons_id ON persons (id_number)')\n\
             db.commit()\n",
        )
        .arg(&persons_csv)
        .arg(&database)
        .status()?;
    anyhow::ensure!(status.success(), "building the SQLite database failed");
    let datasette_port = args.port + 4;
    let _datasette = Running(
        Command::new("datasette")
            .arg("serve")
            .arg(&database)
            .args(["--port", &datasette_port.to_string(), "--setting", "num_sql_threads", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting datasette (pip install datasette)")?,
    );
    wait_for_port(datasette_port)?;
    let datasette_url = format!("http://127.0.0.1:{datasette_port}/");

    // The ceiling first: after govdata's run its nodes still have
    // background work to catch up on (the ledger's filter index,
    // checkpoints), which would take cores from whatever ran next.
    let bare_url = bare_server().await?;
    let bare = wrk(&args, dir.path(), &format!("{bare_url}/lookup"), "bare", None)?;
    let bare_verify = wrk(&args, dir.path(), &format!("{bare_url}/verify"), "bare_verify", None)?;
    let auth = format!("Bearer {key}");
    let ledger_before = ledger_size(&base).await?;
    let govdata = wrk(&args, dir.path(), &lookup_url, "govdata", Some(&auth))?;
    let ledger_growth = ledger_size(&base).await? - ledger_before;
    check_verify(&client, &verify_url, &key, &people[0]).await?;
    let govdata_verify = wrk(&args, dir.path(), &verify_url, "govdata_verify", Some(&auth))?;
    let datasette = wrk(&args, dir.path(), &datasette_url, "datasette", None)?;
    report("govdata_lookup", &govdata, &args);
    report("bare_axum", &bare, &args);
    report("datasette", &datasette, &args);
    report("govdata_verify", &govdata_verify, &args);
    report("bare_axum_verify", &bare_verify, &args);
    let requests = govdata.rps * args.seconds as f64;
    for (metric, value, unit) in [
        ("govdata_vs_bare_axum", govdata.rps / bare.rps, "ratio"),
        ("govdata_vs_datasette", govdata.rps / datasette.rps, "ratio"),
        ("govdata_verify_vs_bare_axum", govdata_verify.rps / bare_verify.rps, "ratio"),
        ("ledger_entries_per_request", ledger_growth as f64 / requests, "ratio"),
    ] {
        println!(
            "{}",
            json!({"bench": "gateway", "metric": metric, "value": (value * 1000.0).round() / 1000.0, "unit": unit})
        );
    }
    Ok(())
}

/// One verify with a person's true values must match on both, and one with a
/// wrong name must not: the run measures real comparisons.
async fn check_verify(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    [id, name, born]: &[String; 3],
) -> anyhow::Result<()> {
    for (claimed, expected) in [(name.as_str(), "match"), ("不是此人", "mismatch")] {
        let body = json!({"key": id, "values": {"姓名": claimed, "出生日期": born}});
        let answer: Value =
            client.post(url).bearer_auth(key).json(&body).send().await?.error_for_status()?.json().await?;
        anyhow::ensure!(
            answer["found"] == true
                && answer["fields"]["姓名"] == expected
                && answer["fields"]["出生日期"] == "match",
            "verify of {id} as {claimed}: {answer}"
        );
    }
    Ok(())
}
