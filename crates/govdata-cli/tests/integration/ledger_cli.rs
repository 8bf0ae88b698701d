//! `govdata ledger …` as a real process against a node's data directory.
//!
//! Tamper tests: each builds a ledger of 40 entries with checkpoints at
//! sizes 8, 16, 24, 32 and 40, alters the SQLite database directly (as
//! someone with access to the file would), and expects `ledger verify` to
//! exit non-zero naming the first index where history diverges. Then
//! `prove` output is checked with an RFC 9162 verifier, and `witness` is
//! shown to cosign honest growth and refuse a fork.

use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use govdata_ledger::hash::{from_hex, leaf_hash, proof_from_hex, HashAlg};
use govdata_ledger::note::{Checkpoint, VerifierKey};
use govdata_ledger::tree::Frontier;
use govdata_ledger::verify_inclusion;
use govdata_ledger::witness::verify_cosignature;
use govdata_server::Config;
use govdata_store::{LedgerRecord, NewDepartment};
use serde_json::{json, Value};
use sqlx::{Connection, Row, SqliteConnection};

const CHECKPOINTS: [u64; 5] = [8, 16, 24, 32, 40];

struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    /// A node whose ledger holds `size` entries (state changes and data
    /// accesses) with a checkpoint at each of `checkpoints`.
    async fn build(size: u64, checkpoints: &[u64]) -> Node {
        let node = Node { dir: tempfile::tempdir().unwrap() };
        node.grow(0, size, checkpoints, "reader").await;
        node
    }

    fn config(&self) -> Config {
        Config { data_dir: self.dir.path().to_owned(), ..Config::default() }
    }

    async fn grow(&self, from: u64, to: u64, checkpoints: &[u64], reader: &str) {
        let (store, identity) = govdata_server::open(&self.config()).await.unwrap();
        for i in from..to {
            if i % 10 == 3 {
                let dept = NewDepartment {
                    name: format!("部门{i}"),
                    uscc: format!("U{i}"),
                    region: "440000".into(),
                };
                store.create_department("cli:test", dept).await.unwrap();
            } else {
                let record = LedgerRecord {
                    actor: format!("user:{reader}"),
                    kind: "gateway.read".into(),
                    subject: format!("dataset/{i}"),
                    payload: json!({ "rows": i }),
                };
                store.record_access(record).await.unwrap();
            }
            if checkpoints.contains(&(i + 1)) {
                assert_eq!(store.checkpoint(&identity.key).await.unwrap().size, i + 1);
            }
        }
        store.close().await;
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_govdata"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env("GOVDATA_LOG__FILTER", "warn")
            .output()
            .unwrap()
    }

    async fn db(&self) -> SqliteConnection {
        let path = self.dir.path().join("govdata.db");
        SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap()
    }

    /// Runs `ledger verify`, expecting failure; returns stdout and stderr.
    fn verify_fails(&self) -> String {
        let out = self.run(&["ledger", "verify"]);
        let text = text(&out);
        assert!(!out.status.success(), "verify passed a tampered ledger:\n{text}");
        text
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "command failed:\n{}", text(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn exec(db: &mut SqliteConnection, sql: &str) {
    sqlx::query(sql).execute(&mut *db).await.unwrap();
}

fn assert_diverges_at(output: &str, index: u64, detail: &str) {
    assert!(output.contains(&format!("DIVERGED at entry {index}:")), "expected entry {index}:\n{output}");
    assert!(output.contains(&format!("diverges at entry {index}")), "{output}");
    assert!(output.contains(detail), "expected {detail:?}:\n{output}");
}

#[tokio::test]
async fn clean_ledger_verifies() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let out = stdout(&node.run(&["ledger", "verify"]));
    assert!(out.contains("entries:     40"), "{out}");
    assert!(out.contains("checkpoints: 5 verified, latest at size 40"), "{out}");
    assert!(out.contains("OK:"), "{out}");
}

#[tokio::test]
async fn altered_entry_bytes_are_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "UPDATE ledger_entries SET canonical = CAST(REPLACE(CAST(canonical AS TEXT), 'dataset/12', 'dataset/99') AS BLOB) WHERE idx = 12").await;
    assert_diverges_at(&node.verify_fails(), 12, "stored leaf hash");
}

#[tokio::test]
async fn altered_payload_is_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    exec(&mut node.db().await, "UPDATE ledger_entries SET payload = '{\"rows\":0}' WHERE idx = 17").await;
    assert_diverges_at(&node.verify_fails(), 17, "payload");
}

/// Rewrites entry `index` consistently: new bytes, their leaf hash, and the
/// actor that filters search by.
async fn rewrite_entry(db: &mut SqliteConnection, index: i64) {
    let row = sqlx::query("SELECT canonical FROM ledger_entries WHERE idx = $1")
        .bind(index)
        .fetch_one(&mut *db)
        .await
        .unwrap();
    let canonical: Vec<u8> = row.get("canonical");
    let forged = String::from_utf8(canonical).unwrap().replace("user:reader", "user:nobody").into_bytes();
    sqlx::query("UPDATE ledger_entries SET canonical = $1, leaf_hash = $2 WHERE idx = $3")
        .bind(&forged)
        .bind(leaf_hash(HashAlg::Sha256, &forged).to_vec())
        .bind(index)
        .execute(&mut *db)
        .await
        .unwrap();
    sqlx::query("UPDATE ledger_entries SET actor = 'user:nobody' WHERE idx = $1")
        .bind(index)
        .execute(&mut *db)
        .await
        .unwrap();
}

#[tokio::test]
async fn consistently_rewritten_entry_is_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    rewrite_entry(&mut db, 12).await;
    // The tree node over entries 12..13 still holds the original hash.
    assert_diverges_at(&node.verify_fails(), 12, "tree node (level 1, index 6) over entries 12..13");

    // Rebuild every stored tree node too: only the signed checkpoints are
    // left to catch it, and they bound the change to entries 8..16.
    let mut frontier = Frontier::new(HashAlg::Sha256);
    let mut nodes = Vec::new();
    for row in
        sqlx::query("SELECT leaf_hash FROM ledger_entries ORDER BY idx").fetch_all(&mut db).await.unwrap()
    {
        let leaf: Vec<u8> = row.get("leaf_hash");
        nodes.extend(frontier.append(leaf.try_into().unwrap()).into_iter().filter(|n| n.level > 0));
    }
    exec(&mut db, "DELETE FROM ledger_nodes").await;
    for n in nodes {
        sqlx::query("INSERT INTO ledger_nodes (leaf_end, level, hash) VALUES ($1, $2, $3)")
            .bind(n.id().end() as i64)
            .bind(i64::from(n.level))
            .bind(n.hash.to_vec())
            .execute(&mut db)
            .await
            .unwrap();
    }
    assert_diverges_at(&node.verify_fails(), 8, "checkpoint at size 16: signed root");
}

#[tokio::test]
async fn deleted_entry_is_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    exec(&mut node.db().await, "DELETE FROM ledger_entries WHERE idx = 20").await;
    assert_diverges_at(&node.verify_fails(), 20, "entry 20 is missing");
}

#[tokio::test]
async fn swapped_entries_are_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    // Move 21 aside, 20 into 21's place, then 21 into 20's.
    exec(&mut db, "UPDATE ledger_entries SET idx = -1 WHERE idx = 21").await;
    exec(&mut db, "UPDATE ledger_entries SET idx = 21 WHERE idx = 20").await;
    exec(&mut db, "UPDATE ledger_entries SET idx = 20 WHERE idx = -1").await;
    assert_diverges_at(&node.verify_fails(), 20, "over entries 20..21");
}

#[tokio::test]
async fn inserted_entries_are_detected() {
    // In the middle: later entries shifted up to make room.
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "UPDATE ledger_entries SET idx = idx + 1000 WHERE idx >= 10").await;
    exec(&mut db, "UPDATE ledger_entries SET idx = idx - 999 WHERE idx >= 1000").await;
    exec(&mut db, "INSERT INTO ledger_entries SELECT 10, leaf_hash, canonical, payload, kind, actor, subject, at FROM ledger_entries WHERE idx = 4").await;
    assert_diverges_at(&node.verify_fails(), 10, "over entries 10..11");

    // At the end, behind the head's back.
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "INSERT INTO ledger_entries SELECT 40, leaf_hash, canonical, payload, kind, actor, subject, at FROM ledger_entries WHERE idx = 4").await;
    assert_diverges_at(&node.verify_fails(), 40, "the ledger head says 40 entries but 41 are stored");
}

#[tokio::test]
async fn truncated_log_is_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "DELETE FROM ledger_entries WHERE idx >= 30").await;
    exec(&mut db, "UPDATE ledger_head SET size = 30").await;
    assert_diverges_at(&node.verify_fails(), 30, "checkpoint at size 32, but only 30 entries are stored");

    // Rows gone but head left alone, no checkpoint beyond: the head tells.
    let node = Node::build(40, &[8]).await;
    exec(&mut node.db().await, "DELETE FROM ledger_entries WHERE idx >= 30").await;
    assert_diverges_at(&node.verify_fails(), 30, "the ledger head says 40 entries but 30 are stored");
}

#[tokio::test]
async fn forged_checkpoint_is_detected() {
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    let row =
        sqlx::query("SELECT note FROM ledger_checkpoints WHERE size = 24").fetch_one(&mut db).await.unwrap();
    let note: String = row.get("note");
    let mut lines: Vec<&str> = note.split('\n').collect();
    let forged_root = BASE64.encode([0u8; 32]);
    lines[2] = &forged_root;
    sqlx::query("UPDATE ledger_checkpoints SET note = $1, root = $2 WHERE size = 24")
        .bind(lines.join("\n"))
        .bind(vec![0u8; 32])
        .execute(&mut db)
        .await
        .unwrap();
    assert_diverges_at(&node.verify_fails(), 24, "checkpoint at size 24: signature by");
}

#[tokio::test]
async fn replayed_checkpoint_rows_are_detected() {
    // The note signed at size 16 replayed as the row for size 24.
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "UPDATE ledger_checkpoints SET note = (SELECT note FROM ledger_checkpoints WHERE size = 16), root = (SELECT root FROM ledger_checkpoints WHERE size = 16) WHERE size = 24").await;
    assert_diverges_at(&node.verify_fails(), 24, "stored record differs from its signed text (size)");

    // A row whose root column no longer matches its signed note.
    let node = Node::build(40, &CHECKPOINTS).await;
    let mut db = node.db().await;
    exec(&mut db, "UPDATE ledger_checkpoints SET root = (SELECT root FROM ledger_checkpoints WHERE size = 8) WHERE size = 32").await;
    assert_diverges_at(&node.verify_fails(), 32, "stored record differs from its signed text (root)");
}

#[tokio::test]
async fn prove_emits_a_verifiable_proof() {
    let node = Node::build(40, &CHECKPOINTS).await;
    for (args, size) in
        [(vec!["ledger", "prove", "13"], 40), (vec!["ledger", "prove", "13", "--size", "16"], 16)]
    {
        let proof: Value = serde_json::from_str(&stdout(&node.run(&args))).unwrap();
        let log_key = VerifierKey::parse(proof["log"]["verifier_key"].as_str().unwrap()).unwrap();
        let (checkpoint, _) =
            Checkpoint::open(proof["checkpoint"].as_str().unwrap(), std::slice::from_ref(&log_key)).unwrap();
        assert_eq!(checkpoint.size, size);
        let canonical = BASE64.decode(proof["entry"]["canonical"].as_str().unwrap()).unwrap();
        let leaf = leaf_hash(HashAlg::Sha256, &canonical);
        assert_eq!(leaf, from_hex(proof["entry"]["leaf_hash"].as_str().unwrap()).unwrap());
        let hashes: Vec<String> = serde_json::from_value(proof["inclusion_proof"]["hashes"].clone()).unwrap();
        assert_eq!(proof["inclusion_proof"]["size"], size);
        verify_inclusion(
            HashAlg::Sha256,
            &leaf,
            13,
            size,
            &proof_from_hex(&hashes).unwrap(),
            &checkpoint.root,
        )
        .unwrap();
    }
    let out = node.run(&["ledger", "prove", "13", "--size", "17"]);
    assert!(
        !out.status.success() && text(&out).contains("no checkpoint was made at size 17"),
        "{}",
        text(&out)
    );
    let out = node.run(&["ledger", "prove", "40"]);
    assert!(!out.status.success(), "{}", text(&out));
    let note = stdout(&node.run(&["ledger", "checkpoint"]));
    assert!(note.starts_with("govdata/node-") && note.contains("\n40\n"), "{note}");
}

/// Writes `text` into a file under the parent's directory and returns its path.
fn file(parent: &Node, name: &str, text: &str) -> String {
    let path = parent.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn consistency_proof_file(child: &Node, from: u64, to: u64) -> String {
    let (store, _) = govdata_server::open(&child.config()).await.unwrap();
    let hashes = store.consistency_proof(from, to).await.unwrap();
    store.close().await;
    json!({ "from": from, "to": to, "hashes": govdata_ledger::hash::proof_to_hex(&hashes) }).to_string()
}

fn checkpoint_note(child: &Node) -> String {
    stdout(&child.run(&["ledger", "checkpoint"]))
}

#[tokio::test]
async fn witness_cosigns_growth_and_refuses_a_fork() {
    let parent = Node::build(2, &[]).await;
    let child = Node::build(8, &[8]).await;
    let child_keys: Value = serde_json::from_str(&stdout(&child.run(&["ledger", "key"]))).unwrap();
    let log_key = child_keys["verifier_key"].as_str().unwrap().to_owned();
    let parent_keys: Value = serde_json::from_str(&stdout(&parent.run(&["ledger", "key"]))).unwrap();
    let witness_key = VerifierKey::parse(parent_keys["witness_key"].as_str().unwrap()).unwrap();
    let witness = |args: &[&str]| {
        let mut all = vec!["ledger", "witness", "--log-key", &log_key];
        all.extend_from_slice(args);
        parent.run(&all)
    };

    // First contact is trusted as is.
    let note8 = checkpoint_note(&child);
    let cp8 = file(&parent, "cp8", &note8);
    let line = stdout(&witness(&["--checkpoint", &cp8]));
    let body8 = &note8[..note8.find("\n\n").unwrap() + 1];
    verify_cosignature(body8, &line, &witness_key).unwrap();

    // Honest growth with its consistency proof.
    child.grow(8, 16, &[16], "reader").await;
    let cp16 = file(&parent, "cp16", &checkpoint_note(&child));
    let proof = file(&parent, "p8-16", &consistency_proof_file(&child, 8, 16).await);
    stdout(&witness(&["--checkpoint", &cp16, "--proof", &proof]));

    // A fork: the same key signing another history.
    let forked = Node { dir: tempfile::tempdir().unwrap() };
    std::fs::copy(child.dir.path().join("node.key"), forked.dir.path().join("node.key")).unwrap();
    forked.grow(0, 40, &[40], "forger").await;
    let fork_note = checkpoint_note(&forked);
    assert!(fork_note.contains("\n40\n"), "{fork_note}");
    let fork_cp = file(&parent, "fork", &fork_note);
    let fork_proof = file(&parent, "pfork", &consistency_proof_file(&forked, 16, 40).await);
    let out = witness(&["--checkpoint", &fork_cp, "--proof", &fork_proof]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("REFUSED: checkpoint of size 40 is not consistent with cosigned size 16"),
        "{}",
        text(&out)
    );

    // Going back to an older checkpoint is refused too.
    let out = witness(&["--checkpoint", &cp8]);
    assert!(text(&out).contains("REFUSED: tree size shrank from 16 to 8"), "{}", text(&out));
    // A proof for other sizes is named as such.
    let out = witness(&["--checkpoint", &fork_cp, "--proof", &proof]);
    assert!(text(&out).contains("last cosigned size 16"), "{}", text(&out));

    // Cosigning was recorded in the parent's own ledger.
    let (store, _) = govdata_server::open(&parent.config()).await.unwrap();
    let witnessed = store.witnessed(child_keys["origin"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(witnessed.checkpoint.size, 16);
    store.close().await;
}
