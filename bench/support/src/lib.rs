//! What the benchmark scenarios share: a child process that is stopped when
//! its handle goes, and `govdata demo` started and read.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};
use serde_json::Value;

/// Kills a child process when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Seeds and serves the demo federation with `persons` persons from
/// `govdata` in `dir/demo` (log in `dir/demo.log`, filtered by
/// `log_filter`), on ports from `port`, its nodes' stores on the PostgreSQL
/// server of `database_url` if given (`govdata demo --database-url`);
/// answers once it is ready, with `demo-credentials.json`.
pub fn start_demo(
    govdata: &Path,
    dir: &Path,
    port: u16,
    persons: u64,
    log_filter: &str,
    database_url: Option<&str>,
) -> anyhow::Result<(Running, Value)> {
    eprintln!("seeding the demo federation ({persons} persons)");
    let mut command = Command::new(govdata);
    command
        .args(["demo", "--data-dir"])
        .arg(dir.join("demo"))
        .args(["--port", &port.to_string(), "--persons", &persons.to_string()])
        .args(["--catalog-entries", "40"]);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut demo = command
        .env("GOVDATA_LOG__FILTER", log_filter)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("demo.log"))?)
        .spawn()
        .with_context(|| format!("starting {}", govdata.display()))?;
    let stdout = BufReader::new(demo.stdout.take().context("demo stdout")?);
    let running = Running(demo);
    if !stdout.lines().map_while(Result::ok).any(|line| line == "ready") {
        bail!("the demo never said ready");
    }
    let credentials =
        serde_json::from_str(&std::fs::read_to_string(dir.join("demo/demo-credentials.json"))?)?;
    Ok((running, credentials))
}
