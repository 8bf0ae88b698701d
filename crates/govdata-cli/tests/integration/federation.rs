//! A federation of real `govdata` processes on loopback: a national node,
//! two provincial nodes and a department node under Guangdong, joined with
//! join tokens through the CLI. Catalog changes at the department node reach
//! the national search; a provincial node stopped while changes are made
//! catches up exactly once; tampered, replayed, stale, unknown and suspended
//! senders are refused; a node rotates its key in place and its parent
//! follows; parents cosign checkpoints and flag a rewritten history.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use govdata_ledger::ed25519_dalek::pkcs8::DecodePrivateKey;
use govdata_ledger::ed25519_dalek::SigningKey;
use govdata_ledger::note::VerifierKey;
use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
    ShareType, TopClass, UpdateCycle,
};
use govdata_server::federation::signature;
use govdata_server::identity::{self, public_key};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{login, Served, ADMIN_PASSWORD, BIN};

const USCC: &str = "11100000MB0143028N";

/// One node: its directory, config file and port.
struct Node {
    id: &'static str,
    level: String,
    region: String,
    dir: PathBuf,
    port: u16,
}

impl Node {
    fn new(root: &Path, id: &'static str, level: &str, region: &str, parent: Option<&Node>) -> Node {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let parent_url = parent.map(|p| format!("parent_url = \"{}\"\n", p.url())).unwrap_or_default();
        std::fs::write(
            dir.join("govdata.toml"),
            format!(
                "data_dir = \"{}\"\n[node]\nid = \"{id}\"\nname = \"{id} 平台\"\nlevel = \"{level}\"\nregion = \"{region}\"\n\
                 {parent_url}[server]\nlisten = \"127.0.0.1:{port}\"\n\
                 [federation]\nsync_interval_ms = 50\nwitness_interval_seconds = 1\n",
                dir.display()
            ),
        )
        .unwrap();
        let node = Node { id, level: level.to_owned(), region: region.to_owned(), dir, port };
        node.init();
        node
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--config").arg(self.dir.join("govdata.toml")).env_remove("RUST_LOG");
        command
    }

    fn init(&self) {
        let mut child = self
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
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{ADMIN_PASSWORD}\n").as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "init {}: {}", self.id, String::from_utf8_lossy(&output.stderr));
    }

    fn serve(&self) -> Served {
        let mut child =
            self.command().arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.contains(&self.url()), "{}: {line:?}", self.id);
        Served { child, base: self.url() }
    }

    /// Runs a CLI command against this node; returns stdout, asserting success.
    fn run(&self, args: &[&str]) -> String {
        let output = self.command().args(args).output().unwrap();
        assert!(output.status.success(), "{} {args:?}: {}", self.id, String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    fn join(&self, parent: &Node) {
        let token: Value = serde_json::from_str(&parent.run(&self.join_token_args())).unwrap();
        let out = self.run(&["federation", "join", "--token", token["token"].as_str().unwrap()]);
        assert!(out.contains(parent.id), "{out}");
    }

    /// The CLI arguments that issue a join token for this node.
    fn join_token_args(&self) -> [&str; 8] {
        ["federation", "join-token", "--node-id", self.id, "--level", &self.level, "--region", &self.region]
    }

    fn key(&self) -> SigningKey {
        SigningKey::from_pkcs8_pem(&std::fs::read_to_string(self.dir.join("node.key")).unwrap()).unwrap()
    }
}

/// Puts `key` where a node keeps it, as the node writes its keys.
fn write_key(path: &Path, key: &SigningKey) {
    let _ = std::fs::remove_file(path);
    identity::write_key(path, key).unwrap();
}

async fn key_history(node: &Node) -> Value {
    reqwest::get(format!("{}/api/v1/federation/keys", node.url())).await.unwrap().json().await.unwrap()
}

/// Polls `check` until it holds, for at most 30 seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(30), "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn search_codes(base: &str, home: &str) -> Vec<String> {
    let page: Value = reqwest::get(format!("{base}/api/v1/catalog/search?node={home}&size=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut codes: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page["total"].as_u64().unwrap() as usize, codes.len(), "{page}");
    codes.sort();
    codes
}

/// The department node's catalog, driven through the CLI as its users.
struct Catalog<'a> {
    node: &'a Node,
    department_id: String,
    draft_file: PathBuf,
}

impl<'a> Catalog<'a> {
    fn new(node: &'a Node) -> Catalog<'a> {
        let department: Value = serde_json::from_str(&node.run(&[
            "department",
            "create",
            "--name",
            "广东省公安厅治安管理局",
            "--uscc",
            "11440000006940011E",
            "--region",
            "440000",
        ]))
        .unwrap();
        let department_id = department["id"].as_str().unwrap().to_owned();
        let departments: Value = serde_json::from_str(&node.run(&["department", "list"])).unwrap();
        let authority = departments.as_array().unwrap().iter().find(|d| d["name"] == "数据主管部门").unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let password = node.dir.join("password");
        std::fs::write(&password, "catalog-user-pass-1").unwrap();
        for (username, department, role) in [
            ("police.provider", department_id.as_str(), "provider"),
            ("reviewer", authority.as_str(), "authority"),
        ] {
            node.run(&[
                "user",
                "create",
                "--username",
                username,
                "--display-name",
                username,
                "--department",
                department,
                "--roles",
                role,
                "--password-file",
                password.to_str().unwrap(),
            ]);
        }
        Catalog { draft_file: node.dir.join("draft.json"), node, department_id }
    }

    /// Registers, submits, approves and publishes an entry; returns its code.
    fn publish(&self, name: &str) -> String {
        let draft = EntryDraft {
            classification: Classification::new(TopClass::Department, 8, Some(1), None),
            name: name.into(),
            summary: format!("{name}，供政务部门依法共享。"),
            keywords: vec!["人口".into()],
            provider: Provider {
                department_id: self.department_id.clone(),
                uscc: "11440000006940011E".into(),
            },
            format_class: FormatClass::Database,
            format_type: "postgresql".into(),
            items: vec![
                InfoItem {
                    grade: Some(Grade::general(2)),
                    ..InfoItem::new(format!("{name}编号"), ItemType::Character, Some(32))
                },
                InfoItem {
                    grade: Some(Grade::general(2)),
                    ..InfoItem::new(format!("{name}日期"), ItemType::Date, None)
                },
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
        std::fs::write(&self.draft_file, serde_json::to_string(&draft).unwrap()).unwrap();
        let out = self.node.run(&[
            "catalog",
            "register",
            "--file",
            self.draft_file.to_str().unwrap(),
            "--as",
            "police.provider",
        ]);
        let code = serde_json::from_str::<Value>(&out).unwrap()["code"].as_str().unwrap().to_owned();
        self.act(
            &code,
            &[
                ("police.provider", r#"{"action":"submit"}"#),
                ("reviewer", r#"{"action":"approve"}"#),
                ("reviewer", r#"{"action":"publish"}"#),
            ],
        );
        code
    }

    fn act(&self, code: &str, steps: &[(&str, &str)]) {
        for (user, action) in steps {
            self.node.run(&["catalog", "act", code, action, "--as", user]);
        }
    }

    fn new_version(&self, code: &str) {
        self.act(
            code,
            &[
                ("police.provider", r#"{"action":"new_version"}"#),
                ("police.provider", r#"{"action":"submit"}"#),
                ("reviewer", r#"{"action":"approve"}"#),
                ("reviewer", r#"{"action":"publish"}"#),
            ],
        );
    }

    fn withdraw(&self, code: &str) {
        self.act(code, &[("reviewer", r#"{"action":"withdraw","reason":"数据已停止采集"}"#)]);
    }
}

/// Sends a signed request as `key_id` with `key`, with the body optionally
/// swapped after signing and the clock optionally moved.
/// Why `child` could not join `parent` with a token the parent issued for
/// `[node id, level, region]`.
fn refused_join(child: &Node, parent: &Node, token_for: [&str; 3]) -> String {
    let [node_id, level, region] = token_for;
    let args = ["federation", "join-token", "--node-id", node_id, "--level", level, "--region", region];
    let token: Value = serde_json::from_str(&parent.run(&args)).unwrap();
    let refused = child
        .command()
        .args(["federation", "join", "--parent-url", &parent.url(), "--token"])
        .arg(token["token"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(!refused.status.success(), "{child:?} joined {parent:?}", child = child.id, parent = parent.id);
    String::from_utf8_lossy(&refused.stderr).into_owned()
}

/// Signs as `key_id` for guangdong, the node every forgery is sent to.
async fn send_signed(
    base: &str,
    path: &str,
    key_id: &str,
    key: &SigningKey,
    signed_body: &[u8],
    sent_body: &[u8],
    at: SystemTime,
) -> (StatusCode, Value, signature::SignedHeaders) {
    let headers = signature::sign(key, key_id, "guangdong", "POST", path, None, signed_body, at);
    let (status, body) = replay(base, path, &headers, sent_body).await;
    (status, body, headers)
}

async fn replay(
    base: &str,
    path: &str,
    headers: &signature::SignedHeaders,
    body: &[u8],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers.pairs() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn admin_client(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let csrf = login(&client, base, "admin", ADMIN_PASSWORD).await;
    (client, csrf)
}

async fn topology(base: &str) -> Value {
    let (client, _) = admin_client(base).await;
    client.get(format!("{base}/api/v1/federation/nodes")).send().await.unwrap().json().await.unwrap()
}

fn child<'v>(topology: &'v Value, id: &str) -> &'v Value {
    topology["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {topology}"))
}

#[tokio::test]
async fn a_federation_cascades_catches_up_refuses_forgeries_and_witnesses() {
    let root = tempfile::tempdir().unwrap();
    let national = Node::new(root.path(), "national", "national", "100000", None);
    let guangdong = Node::new(root.path(), "guangdong", "provincial", "440000", Some(&national));
    let zhejiang = Node::new(root.path(), "zhejiang", "provincial", "330000", Some(&national));
    let police = Node::new(root.path(), "police", "department", "440000", Some(&guangdong));
    let _national_served = national.serve();
    let guangdong_served = guangdong.serve();
    let _zhejiang_served = zhejiang.serve();
    let mut police_served = police.serve();
    guangdong.join(&national);
    zhejiang.join(&national);
    police.join(&guangdong);
    let info: Value =
        reqwest::get(format!("{}/api/v1/node", police.url())).await.unwrap().json().await.unwrap();
    assert_eq!(info["parent"], guangdong.url());

    // A join token is single-use, and only for the node, level and region it
    // was issued for.
    let refused = refused_join(&police, &national, ["somewhere", "provincial", "440000"]);
    assert!(refused.contains("not for node police"), "{refused}");
    // A token for police as a node of 广州 (440100) does not let it join as 广东 (440000).
    let refused = refused_join(&police, &national, ["police", "department", "440100"]);
    assert!(refused.contains("of region 440100"), "{refused}");
    // Nor is a token issued for a region outside the issuer's own.
    let outside = guangdong
        .command()
        .args(["federation", "join-token", "--node-id", "hz", "--level", "city", "--region", "330100"])
        .output()
        .unwrap();
    assert!(!outside.status.success());
    assert!(
        String::from_utf8_lossy(&outside.stderr).contains("not inside this node's region"),
        "{outside:?}"
    );

    // Published at the department node → searchable at the national node, with its home.
    let catalog = Catalog::new(&police);
    let first = catalog.publish("出入境证件签发信息");
    eventually("the entry reaches the national search", || async {
        search_codes(&national.url(), "police").await == vec![first.clone()]
    })
    .await;
    let hit: Value =
        reqwest::get(format!("{}/api/v1/catalog/search?q=出入境证件&node=police", national.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(hit["items"][0]["node_name"], "police 平台", "{hit}");
    let entry_url = |base: &str, code: &str| {
        format!("{base}/api/v1/federation/entries/police/{}", code.replace('/', "%2F"))
    };
    let held: Value = reqwest::get(entry_url(&national.url(), &first)).await.unwrap().json().await.unwrap();
    assert_eq!(held["home"]["region"], "440000");
    assert_eq!(held["via_node"], "guangdong");
    assert_eq!(held["provider_name"], "广东省公安厅治安管理局");
    assert_eq!(held["entry"]["version"], 1);

    // A new published version replaces the held one; a withdrawal removes it everywhere.
    catalog.new_version(&first);
    eventually("version 2 reaches the national node", || async {
        let held: Value =
            reqwest::get(entry_url(&national.url(), &first)).await.unwrap().json().await.unwrap();
        held["entry"]["version"] == 2
    })
    .await;
    catalog.withdraw(&first);
    eventually("the withdrawal reaches the national node", || async {
        search_codes(&national.url(), "police").await.is_empty()
    })
    .await;
    assert_eq!(
        reqwest::get(entry_url(&national.url(), &first)).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(search_codes(&guangdong.url(), "police").await.is_empty());

    // The provincial node is down while changes are made; when it returns,
    // everything arrives once.
    drop(guangdong_served);
    let mut published = Vec::new();
    for name in ["户籍迁移信息", "居住证信息", "流动人口登记信息", "犯罪记录查询信息"]
    {
        published.push(catalog.publish(name));
    }
    catalog.withdraw(&published[1]);
    let removed = published.remove(1);
    catalog.new_version(&published[0]);
    published.sort();
    let police_topology = topology(&police.url()).await;
    assert_eq!(
        child(&police_topology, "guangdong")["backlog"],
        6,
        "four publications, a withdrawal and a new version: {police_topology}"
    );
    let _guangdong_served = guangdong.serve();
    eventually("the backlog arrives at the national node", || async {
        search_codes(&national.url(), "police").await == published
    })
    .await;
    assert!(!search_codes(&national.url(), "police").await.contains(&removed));
    eventually("the department node sees its backlog acknowledged", || async {
        child(&topology(&police.url()).await, "guangdong")["backlog"] == 0
    })
    .await;
    let national_topology = topology(&national.url()).await;
    let guangdong_row = child(&national_topology, "guangdong");
    assert_eq!(guangdong_row["entries"], 3, "{national_topology}");
    assert!(national_topology["federated_entries"]
        .as_array()
        .unwrap()
        .contains(&json!({"node_id": "police", "entries": 3})));

    // Forged, altered, replayed, stale and unknown-node messages are refused.
    let path = "/api/v1/federation/catalog";
    let empty = br#"{"changes":[],"backlog":0}"#;
    let police_key = police.key();
    let (status, body, valid) =
        send_signed(&guangdong.url(), path, "police", &police_key, empty, empty, SystemTime::now()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "authenticated, then the empty batch is refused: {body}"
    );
    assert_eq!(body["field"], "changes");
    let (status, body) = replay(&guangdong.url(), path, &valid, empty).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("replayed"), "{body}");
    let altered = br#"{"changes":[],"backlog":1}"#;
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "police", &police_key, empty, altered, SystemTime::now()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("Content-Digest"), "{body}");
    let stale = SystemTime::now() - Duration::from_secs(600);
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "police", &police_key, empty, empty, stale).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("stale"), "{body}");
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "stranger", &stranger, empty, empty, SystemTime::now()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("has not joined"), "{body}");
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "police", &stranger, empty, empty, SystemTime::now()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a joined id with another key: {body}");
    // A message signed for another node is refused here, even with a fresh nonce.
    let for_national =
        signature::sign(&police_key, "police", "national", "POST", path, None, empty, SystemTime::now());
    let (status, body) = replay(&guangdong.url(), path, &for_national, empty).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("addressed to node national"), "{body}");
    // A child may not speak for entries outside its subtree.
    let foreign = json!({"changes": [{"seq": 1, "home": {"id": "zhejiang", "name": "x", "region": "330000"}, "home_seq": 1,
        "code": "501/000001", "action": "withdraw", "entry": null, "provider_name": null}], "backlog": 0});
    let foreign = serde_json::to_vec(&foreign).unwrap();
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "police", &police_key, &foreign, &foreign, SystemTime::now())
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "changes[0]");
    // Nor claim its parent's parent, or a node of another province, as below it.
    for (claimed, region) in [("national", "440100"), ("zhejiang-city", "330100")] {
        let claim = json!({"checkpoint": "x", "hash": "sha256",
            "descendants": [{"id": claimed, "parent_id": "police", "name": "x", "level": "city", "region": region}]});
        let claim = serde_json::to_vec(&claim).unwrap();
        let checkpoints = "/api/v1/federation/checkpoints";
        let (status, body, _) = send_signed(
            &guangdong.url(),
            checkpoints,
            "police",
            &police_key,
            &claim,
            &claim,
            SystemTime::now(),
        )
        .await;
        assert_eq!(
            (status, &body["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!("descendants[0]")),
            "{body}"
        );
    }

    // A suspended child is refused until resumed; nothing is lost meanwhile.
    let (admin, csrf) = admin_client(&guangdong.url()).await;
    let suspend = |status: &'static str| {
        admin
            .post(format!("{}/api/v1/federation/nodes/police/status", guangdong.url()))
            .header("x-csrf-token", &csrf)
            .json(&json!({"status": status, "reason": "密钥核查"}))
            .send()
    };
    assert_eq!(suspend("suspended").await.unwrap().status(), StatusCode::OK);
    let (status, _, _) =
        send_signed(&guangdong.url(), path, "police", &police_key, empty, empty, SystemTime::now()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let late = catalog.publish("境外人员住宿登记信息");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!search_codes(&guangdong.url(), "police").await.contains(&late));
    assert_eq!(suspend("active").await.unwrap().status(), StatusCode::OK);
    eventually("the change made while suspended arrives", || async {
        search_codes(&national.url(), "police").await.contains(&late)
    })
    .await;

    // The parent cosigns the child's checkpoints; the cosignature verifies
    // under the parent's witness key.
    let witness_url = format!("{}/api/v1/federation/witness", police.url());
    eventually("guangdong cosigns a police checkpoint", || async {
        let witnessed: Value = reqwest::get(&witness_url).await.unwrap().json().await.unwrap();
        witnessed["checkpoint"].is_string()
    })
    .await;
    let witnessed: Value = reqwest::get(&witness_url).await.unwrap().json().await.unwrap();
    let note = witnessed["checkpoint"].as_str().unwrap();
    let witness_key = VerifierKey::parse(witnessed["witness_key"].as_str().unwrap()).unwrap();
    let (body, signatures) = note.split_once("\n\n").unwrap();
    let cosignature = signatures.lines().find(|l| l.starts_with("— govdata/guangdong ")).unwrap();
    govdata_ledger::witness::verify_cosignature(&format!("{body}\n"), cosignature, &witness_key).unwrap();
    let keys: Value =
        reqwest::get(format!("{}/api/v1/ledger/key", guangdong.url())).await.unwrap().json().await.unwrap();
    assert_eq!(keys["witness_key"], witnessed["witness_key"]);

    // Key rotation in place: police rotates its key; guangdong follows
    // police's key history from the pinned key at police's next request.
    let retired = police.key();
    let (police_admin, police_csrf) = admin_client(&police.url()).await;
    let rotate_url = format!("{}/api/v1/federation/keys/rotate", police.url());
    let anonymous = reqwest::Client::new().post(&rotate_url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let response = police_admin.post(&rotate_url).header("x-csrf-token", &police_csrf).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let rotation: Value = response.json().await.unwrap();
    assert_eq!(rotation["previous_key"], public_key(&retired));
    assert_eq!(rotation["public_key"], public_key(&police.key()), "the key file holds the next key");
    let history = key_history(&police).await;
    assert_eq!(
        (&history["public_key"], history["rotations"].as_array().unwrap().len()),
        (&rotation["public_key"], 1)
    );
    let after_rotation = catalog.publish("出入境人员查控信息");
    eventually("a change signed with the next key reaches the national node", || async {
        search_codes(&national.url(), "police").await.contains(&after_rotation)
    })
    .await;
    let pinned = child(&topology(&guangdong.url()).await, "police").clone();
    assert_eq!(pinned["public_key"], rotation["public_key"], "{pinned}");
    assert!(pinned["key_rotated_at"].is_string(), "{pinned}");
    let (status, body, _) =
        send_signed(&guangdong.url(), path, "police", &retired, empty, empty, SystemTime::now()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the retired key no longer speaks for police: {body}");
    // Police's ledger holds checkpoints signed by both keys, and verifies.
    let verified = police.run(&["ledger", "verify"]);
    assert!(verified.contains("OK:"), "{verified}");

    // A rotation a crash interrupted after its commit (the next key not yet
    // renamed into place) is finished at the next start; a next key whose
    // rotation was never committed is discarded.
    drop(police_served);
    let committed = police.key();
    let next_file = police.dir.join("node.key.next");
    write_key(&next_file, &committed);
    write_key(&police.dir.join("node.key"), &retired);
    police_served = police.serve();
    assert_eq!(key_history(&police).await["public_key"], public_key(&committed));
    assert_eq!(police.key().to_bytes(), committed.to_bytes());
    assert!(!next_file.exists());
    drop(police_served);
    write_key(&next_file, &SigningKey::from_bytes(&[7; 32]));
    police_served = police.serve();
    assert!(!next_file.exists());
    assert_eq!(key_history(&police).await["public_key"], public_key(&committed));

    // The department node loses its history (a restore from nothing, same
    // key); when it presents its new, shorter ledger, its parent refuses to
    // cosign and flags it.
    drop(police_served);
    for file in std::fs::read_dir(&police.dir).unwrap() {
        let path = file.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("govdata.db") {
            std::fs::remove_file(path).unwrap();
        }
    }
    police.init();
    let _police_served = police.serve();
    police.join(&guangdong);
    eventually("guangdong flags the rewritten history", || async {
        child(&topology(&guangdong.url()).await, "police")["witness_alarm"].is_string()
    })
    .await;
    let alarm =
        child(&topology(&guangdong.url()).await, "police")["witness_alarm"].as_str().unwrap().to_owned();
    // Shorter than the cosigned tree, or as long with another root: which
    // depends on how far the restored node got before presenting.
    assert!(alarm.contains("shrank") || alarm.contains("differs from the cosigned"), "{alarm}");

    // Once looked into, an administrator clears the alarm with what was
    // found; the parent then cosigns the history the child has now.
    let (admin, csrf) = admin_client(&guangdong.url()).await;
    let clear = |reason: &'static str| {
        admin
            .post(format!("{}/api/v1/federation/nodes/police/witness-alarm/clear", guangdong.url()))
            .header("x-csrf-token", &csrf)
            .json(&json!({"reason": reason}))
            .send()
    };
    assert_eq!(clear(" ").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clear("治安局节点重装后核对无误，按现有账本重新见证").await.unwrap().status(), StatusCode::OK);
    assert!(child(&topology(&guangdong.url()).await, "police")["witness_alarm"].is_null());
    assert_eq!(clear("again").await.unwrap().status(), StatusCode::CONFLICT);
    eventually("guangdong cosigns the restored police ledger", || async {
        let witnessed: Value = reqwest::get(&witness_url).await.unwrap().json().await.unwrap();
        witnessed["checkpoint"].is_string()
    })
    .await;
}
