//! The ledger's fixed HTTP endpoints (DESIGN.md §9) on both backends: what
//! they return, who may call them, and how bad parameters are refused.

use std::time::{Duration, Instant};

use crate::support::{assert_error, Backend, Session, TestNode, PASSWORD};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use govdata_ledger::hash::{from_hex, leaf_hash, proof_from_hex, HashAlg};
use govdata_ledger::note::{Checkpoint, VerifierKey};
use govdata_ledger::{verify_consistency, verify_inclusion};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    public_checkpoint_key_and_proofs,
    entries_are_for_auditors,
    checkpoints_are_made_in_the_background
);

/// The signed checkpoint text, checked for its content type.
async fn checkpoint_text(session: &Session) -> String {
    let response = session.send(reqwest::Method::GET, "/api/v1/ledger/checkpoint", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    response.text().await.unwrap()
}

/// A 4xx error that names `param`: in `field`, or, for a malformed or
/// unknown query parameter (which the query extractor reports under the
/// field `query`), at the start of the message.
fn assert_names_parameter(got: &(StatusCode, Value), status: StatusCode, param: &str) {
    let code = if status == StatusCode::BAD_REQUEST { "bad_request" } else { "invalid_input" };
    assert_error(got, status, code, None);
    let named = got.1["field"] == param
        || got.1["message"].as_str().is_some_and(|m| m.starts_with(&format!("{param}: ")));
    assert!(named, "{param} not named: {}", got.1);
}

fn hashes(body: &Value) -> Vec<[u8; 32]> {
    let hex: Vec<String> = serde_json::from_value(body["hashes"].clone()).unwrap();
    proof_from_hex(&hex).unwrap()
}

async fn public_checkpoint_key_and_proofs(backend: Backend) {
    let node = TestNode::start(backend).await;
    let anonymous = node.anonymous();
    let (status, keys) = anonymous.get("/api/v1/ledger/key").await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let origin = keys["origin"].as_str().unwrap();
    assert!(origin.starts_with("govdata/node-"), "{origin}");
    assert_eq!(keys["hash"], "sha256");
    let log_key = VerifierKey::parse(keys["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(log_key.name(), origin);
    VerifierKey::parse(keys["witness_key"].as_str().unwrap()).unwrap();

    let (old, _) =
        Checkpoint::open(&checkpoint_text(&anonymous).await, std::slice::from_ref(&log_key)).unwrap();
    assert_eq!(old.origin, origin);
    assert_eq!(old.size, node.store.ledger_size().await.unwrap());

    let admin = node.admin().await;
    for name in ["audit.one", "audit.two", "audit.three"] {
        node.user(&admin, name, &node.authority_department, &["auditor"]).await;
    }
    let note = checkpoint_text(&anonymous).await;
    let (new, _) = Checkpoint::open(&note, std::slice::from_ref(&log_key)).unwrap();
    assert!(new.size >= old.size + 4, "{} -> {}", old.size, new.size);
    // Asking again without growth returns the same signed note.
    assert_eq!(checkpoint_text(&anonymous).await, note);

    let auditor = node.login("audit.one", PASSWORD).await;
    for index in 0..new.size {
        let (status, entry) = auditor.get(&format!("/api/v1/ledger/entries/{index}")).await;
        assert_eq!(status, StatusCode::OK, "{entry}");
        let canonical = BASE64.decode(entry["canonical"].as_str().unwrap()).unwrap();
        let leaf = from_hex(entry["leaf_hash"].as_str().unwrap()).unwrap();
        assert_eq!(leaf, leaf_hash(HashAlg::Sha256, &canonical));
        let (status, proof) =
            anonymous.get(&format!("/api/v1/ledger/proof/inclusion?index={index}&size={}", new.size)).await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        assert_eq!((proof["index"].as_u64(), proof["size"].as_u64()), (Some(index), Some(new.size)));
        verify_inclusion(HashAlg::Sha256, &leaf, index, new.size, &hashes(&proof), &new.root).unwrap();
    }
    let (status, proof) =
        anonymous.get(&format!("/api/v1/ledger/proof/consistency?from={}&to={}", old.size, new.size)).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!((proof["from"].as_u64(), proof["to"].as_u64()), (Some(old.size), Some(new.size)));
    verify_consistency(HashAlg::Sha256, old.size, new.size, &old.root, &new.root, &hashes(&proof)).unwrap();

    // Bad parameters name themselves: malformed or missing is 400, out of range 422.
    let size = node.store.ledger_size().await.unwrap();
    let cases = [
        (format!("inclusion?index={size}&size={size}"), StatusCode::UNPROCESSABLE_ENTITY, "index"),
        (format!("inclusion?index=0&size={}", size + 1), StatusCode::UNPROCESSABLE_ENTITY, "size"),
        ("inclusion?index=0".to_owned(), StatusCode::BAD_REQUEST, "size"),
        ("inclusion?index=x&size=1".to_owned(), StatusCode::BAD_REQUEST, "index"),
        ("inclusion?index=0&size=1&extra=1".to_owned(), StatusCode::BAD_REQUEST, "extra"),
        ("consistency?from=3&to=2".to_owned(), StatusCode::UNPROCESSABLE_ENTITY, "from"),
        (format!("consistency?from=1&to={}", size + 1), StatusCode::UNPROCESSABLE_ENTITY, "to"),
        ("consistency?from=-1&to=2".to_owned(), StatusCode::BAD_REQUEST, "from"),
    ];
    for (query, status, param) in cases {
        let got = anonymous.get(&format!("/api/v1/ledger/proof/{query}")).await;
        assert_names_parameter(&got, status, param);
    }

    let (_, openapi) = anonymous.get("/api/v1/openapi.json").await;
    for path in ["checkpoint", "key", "entries", "entries/{index}", "proof/inclusion", "proof/consistency"] {
        assert!(openapi["paths"][format!("/api/v1/ledger/{path}")].is_object(), "{path} not documented");
    }
}

async fn entries_are_for_auditors(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let dept = &node.authority_department;
    node.user(&admin, "auditor1", dept, &["auditor"]).await;
    node.user(&admin, "authority1", dept, &["authority"]).await;
    node.user(&admin, "consumer1", dept, &["consumer"]).await;

    assert_error(
        &node.anonymous().get("/api/v1/ledger/entries").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );
    let consumer = node.login("consumer1", PASSWORD).await;
    assert_error(&consumer.get("/api/v1/ledger/entries").await, StatusCode::FORBIDDEN, "forbidden", None);
    assert_error(&consumer.get("/api/v1/ledger/entries/0").await, StatusCode::FORBIDDEN, "forbidden", None);
    // Three-role separation: the system administrator does not read the audit trail.
    assert_error(&admin.get("/api/v1/ledger/entries").await, StatusCode::FORBIDDEN, "forbidden", None);
    let authority = node.login("authority1", PASSWORD).await;
    assert_eq!(authority.get("/api/v1/ledger/entries?limit=1").await.0, StatusCode::OK);

    let auditor = node.login("auditor1", PASSWORD).await;
    let size = node.store.ledger_size().await.unwrap();
    let (status, page) = auditor.get(&format!("/api/v1/ledger/entries?from=1&to={size}&limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (page["from"].as_u64(), page["to"].as_u64(), page["next"].as_u64()),
        (Some(1), Some(size), Some(3))
    );
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(e["index"], 1);
    assert_eq!(e["leaf_hash"].as_str().unwrap().len(), 64);
    let canonical = BASE64.decode(e["canonical"].as_str().unwrap()).unwrap();
    let decoded: Value = serde_json::from_slice(&canonical).unwrap();
    assert_eq!(decoded, e["entry"]);
    for field in ["v", "node", "at", "actor", "kind", "subject", "payload_digest"] {
        assert!(!e["entry"][field].is_null(), "entry.{field} missing: {e}");
    }
    assert_eq!(
        e["entry"]["payload_digest"],
        govdata_ledger::payload_digest(HashAlg::Sha256, &e["payload"]).as_str()
    );

    let (_, mine) = auditor.get("/api/v1/ledger/entries?actor=user:admin").await;
    let mine = mine["entries"].as_array().unwrap();
    assert!(mine.len() >= 4, "{mine:?}");
    assert!(mine.iter().all(|e| e["entry"]["actor"] == "user:admin"));
    let (_, users) = auditor.get("/api/v1/ledger/entries?kind=user.create").await;
    assert!(users["entries"].as_array().unwrap().iter().all(|e| e["entry"]["kind"] == "user.create"));
    assert_eq!(users["entries"].as_array().unwrap().len(), 4);

    // The auditor's reads are in the ledger too.
    let (_, reads) = auditor.get("/api/v1/ledger/entries?kind=ledger.read&actor=user:auditor1").await;
    let reads = reads["entries"].as_array().unwrap();
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert_eq!(reads[0]["payload"]["returned"], 2);

    let end = node.store.ledger_size().await.unwrap();
    assert_error(
        &auditor.get(&format!("/api/v1/ledger/entries/{}", end + 10)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &auditor.get("/api/v1/ledger/entries/abc").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        None,
    );
    let too_far = format!("/api/v1/ledger/entries?to={}", end + 10);
    assert_error(&auditor.get(&too_far).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("to"));
    let backwards = "/api/v1/ledger/entries?from=3&to=2";
    assert_error(
        &auditor.get(backwards).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("from"),
    );
    let big = "/api/v1/ledger/entries?limit=1001";
    assert_error(&auditor.get(big).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("limit"));
    assert_names_parameter(
        &auditor.get("/api/v1/ledger/entries?user=x").await,
        StatusCode::BAD_REQUEST,
        "user",
    );
}

async fn checkpoints_are_made_in_the_background(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    node.user(&admin, "bg.auditor", &node.authority_department, &["auditor"]).await;
    let size = node.store.ledger_size().await.unwrap();
    // Nobody asks for a checkpoint: the serving node signs one within a second or so.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let latest = node.store.latest_checkpoint().await.unwrap().map(|cp| cp.size);
        if latest >= Some(size) {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint at size {size} yet: {latest:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
