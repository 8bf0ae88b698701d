//! The real `govdata` binary as a child process: `init` a data directory,
//! `serve` it on a free port, log in over HTTP.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_govdata");
pub const ADMIN_PASSWORD: &str = "first-admin-pass-1";

pub fn govdata(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--data-dir").arg(dir).env_remove("RUST_LOG");
    command
}

/// A `govdata serve` process; killed when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on a free port and waits for its "listening on" line.
pub fn serve(dir: &Path, database_url: Option<&str>) -> Served {
    let mut command = govdata(dir);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "unexpected first line: {line:?}");
    Served { child, base }
}

/// `govdata init` with the national data authority as first department and
/// [`ADMIN_PASSWORD`] for `admin`.
pub fn init(dir: &Path, database_url: Option<&str>) {
    let mut command = govdata(dir);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command
        .args([
            "init",
            "--department-name",
            "国家数据局",
            "--department-uscc",
            "11100000MB0143028N",
            "--admin-password-file",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{ADMIN_PASSWORD}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "init failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Logs `client` in (its cookie store keeps the session); returns the CSRF token.
pub async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login {username} at {base}");
    response.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned()
}
