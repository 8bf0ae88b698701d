//! Subscriptions (订阅) over HTTP on both backends: a grant's row changes by
//! pull (cursor pages that neither skip nor repeat, long polling) and by
//! push to a webhook that fails once and is retried with the same signed
//! message; the grant's row filter and masking hold for changes too; every
//! page is in the ledger. Refused: bad cursors and limits, another
//! department, a grant without subscription delivery, bad webhook
//! addresses, and everything after a revocation (which also closes the
//! webhook).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use govdata_sharing::subscription::sign_webhook;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::sharing::{approve, consumer_key, gateway_entries, gateway_path, persons_csv, population};
use crate::support::data::{citizen_id, run_job, MCA_USCC, MOHRSS_USCC, MPS_USCC};
use crate::support::{assert_error, Backend, Session, TestNode, PASSWORD};

on_both_backends!(pull_and_push_subscriptions);

/// One webhook call as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A consumer's webhook receiver on a loopback port: it answers 500 to the
/// first call and 200 to the others.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let calls: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
                let mut calls = seen.lock().unwrap();
                calls.push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body,
                });
                if calls.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

/// Waits until `done` holds for the subscription, up to a minute.
async fn wait_for(session: &Session, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let (status, view) = session.get(&format!("/api/v1/gateway/subscriptions/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        if done(&view) {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("subscription {id} did not get there");
}

/// Every page from `cursor` on, `limit` at a time; the changes and the end cursor.
async fn pull_all(key: &Session, grant: &str, cursor: &str, limit: u32) -> (Vec<Value>, String) {
    let mut cursor = cursor.to_owned();
    let mut changes = Vec::new();
    loop {
        let (status, page) =
            key.get(&format!("{}?cursor={cursor}&limit={limit}", gateway_path(grant, "changes"))).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["changes"].as_array().unwrap().len() <= limit as usize, "{page}");
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            return (changes, cursor);
        }
    }
}

fn names(changes: &[Value]) -> Vec<String> {
    changes.iter().map(|c| format!("{}:{}", c["op"].as_str().unwrap(), c["row"]["姓名"])).collect()
}

async fn pull_and_push_subscriptions(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    let mohrss = node.department(&admin, "人力资源和社会保障部", MOHRSS_USCC, "100000").await;
    let mca = node.department(&admin, "民政部", MCA_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "mohrss.consumer", &mohrss, &["consumer"]).await;
    node.user(&admin, "mca.consumer", &mca, &["consumer"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("mps.provider", PASSWORD).await;
    let consumer = node.login("mohrss.consumer", PASSWORD).await;
    let stranger = node.login("mca.consumer", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;
    let upsert = json!({"kind": "upsert", "key": ["公民身份号码"]});
    let (persons, resource) = population(&provider, &reviewer, &mps, 30, upsert).await;

    // Beijing's rows only (20 of 30), three items, by subscription.
    let apply = |delivery: Value| {
        json!({"entries": [{"entry_code": persons, "items": ["公民身份号码", "姓名", "户籍地区划"],
                            "row_filter": {"item": "户籍地区划", "prefixes": ["110101"]}}],
               "purpose": "参保人员变动同步", "legal_basis": "《社会保险法》", "duration_days": 30,
               "delivery": delivery})
    };
    let (status, made) = consumer.post("/api/v1/sharing/applications", apply(json!(["subscription"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let grant = approve(&provider, &consumer, &made).await;
    let key = consumer_key(&node, &consumer).await;

    // The whole history, in one page and in pages of 7: the same 20 inserts.
    let (status, page) = key.get(&format!("{}?cursor=beginning", gateway_path(&grant, "changes"))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((page["cursor"].as_str(), page["next_cursor"].as_str()), (Some("0.0"), Some("1.0")));
    assert_eq!(page["has_more"], false);
    let all = page["changes"].as_array().unwrap().clone();
    assert_eq!(all.len(), 20, "{page}");
    let id_masking = page["masking"]["公民身份号码"].as_str().unwrap().to_owned();
    for change in &all {
        assert_eq!((change["op"].as_str(), change["version"].as_u64()), (Some("insert"), Some(0)));
        let row = change["row"].as_object().unwrap();
        let keys: BTreeSet<&str> = row.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["公民身份号码", "姓名", "户籍地区划"]));
        assert_eq!(row["户籍地区划"], "110101", "outside the grant's rows: {change}");
        if id_masking != "clear" {
            assert!((1..=30).all(|n| row["公民身份号码"] != citizen_id(n).as_str()), "unmasked: {change}");
        }
    }
    let (paged, end) = pull_all(&key, &grant, "beginning", 7).await;
    assert_eq!(end, "1.0");
    assert_eq!(names(&paged), names(&all), "pages skipped or repeated a change");
    let (status, now) = key.get(&format!("{}?cursor=now", gateway_path(&grant, "changes"))).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!((now["changes"].as_array().unwrap().len(), now["next_cursor"].as_str()), (0, Some("1.0")));

    // Push: a webhook from now on.
    let (url, calls) = receiver().await;
    let (status, subscription) = key
        .post(
            &format!("/api/v1/gateway/grants/{grant}/subscriptions"),
            json!({"url": url, "batch_size": 100}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{subscription}");
    let secret = subscription["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let subscription = subscription["id"].as_str().unwrap().to_owned();
    assert_eq!(subscription.len(), 36);

    // Persons 1–5 are renamed: four of them are in Beijing.
    let job = run_job(&provider, &resource, persons_csv(5, "李").into_bytes()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let view = wait_for(&consumer, &subscription, |v| v["cursor"] == "2.0").await;
    assert_eq!((view["failures"].as_u64(), view["delivered_rows"].as_u64()), (Some(0), Some(8)), "{view}");
    let deliveries = view["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{view}");
    assert_eq!(
        (deliveries[1]["status_code"].as_u64(), deliveries[0]["status_code"].as_u64()),
        (Some(500), Some(200))
    );
    assert!(deliveries[1]["error"].as_str().unwrap().contains("500"));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, calls[1].id, "a retry is the same message");
    for call in &calls {
        let expected = sign_webhook(&secret, &call.id, &call.timestamp, &call.body).unwrap();
        assert_eq!(call.signature, format!("v1,{expected}"));
    }
    let pushed: Value = serde_json::from_str(&calls[1].body).unwrap();
    assert_eq!((pushed["cursor"].as_str(), pushed["next_cursor"].as_str()), (Some("1.0"), Some("2.0")));
    let pushed = pushed["changes"].as_array().unwrap().clone();
    let ops: BTreeSet<_> = pushed.iter().map(|c| c["op"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ops, ["update_postimage", "update_preimage"].iter().map(|s| s.to_string()).collect());
    assert_eq!(pushed.len(), 8, "{pushed:?}");
    // Pull sees what push delivered.
    let (pulled, _) = pull_all(&key, &grant, "1.0", 3).await;
    assert_eq!(names(&pulled), names(&pushed));

    // Long polling: a waiting pull answers with the next commit's changes.
    let waiting = {
        let key = key.clone();
        let path = format!("{}?cursor=2.0&wait_seconds=30", gateway_path(&grant, "changes"));
        tokio::spawn(async move { key.get(&path).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = run_job(
        &provider,
        &resource,
        format!("sfzh,xm,csrq,qh,dh\n{},王新,2001-02-03,110101,13800000000\n", citizen_id(31)).into_bytes(),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (status, woke) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{woke}");
    assert_eq!(woke["changes"][0]["op"], "insert", "{woke}");
    assert_eq!(woke["next_cursor"], "3.0");

    // Refusals.
    let changes = gateway_path(&grant, "changes");
    for (query, field) in [
        ("cursor=abc", "cursor"),
        ("cursor=9.0", "cursor"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("wait_seconds=31", "wait_seconds"),
    ] {
        assert_error(
            &key.get(&format!("{changes}?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some(field),
        );
    }
    assert_error(&stranger.get(&changes).await, StatusCode::FORBIDDEN, "forbidden", None);
    let (_, made) = consumer.post("/api/v1/sharing/applications", apply(json!(["batch"]))).await;
    let batch_only = approve(&provider, &consumer, &made).await;
    let (status, body) = key.get(&gateway_path(&batch_only, "changes")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("subscription"), "{body}");
    let subscriptions = format!("/api/v1/gateway/grants/{grant}/subscriptions");
    for (body, field) in [
        (json!({"url": "ftp://receiver/hook"}), "url"),
        (json!({"url": "https://user:secret@receiver/hook"}), "url"),
        (json!({"url": "receiver"}), "url"),
        (json!({"url": url, "batch_size": 0}), "batch_size"),
        (json!({"url": url, "cursor": "soon"}), "cursor"),
    ] {
        assert_error(
            &key.post(&subscriptions, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some(field),
        );
    }
    assert_error(
        &stranger.post(&subscriptions, json!({"url": url})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    // The provider sees who subscribes to its data; a third department does not.
    let (status, listed) = provider.get(&format!("/api/v1/gateway/subscriptions?grant_id={grant}")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");
    assert_error(
        &stranger.get(&format!("/api/v1/gateway/subscriptions/{subscription}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &provider.delete(&format!("/api/v1/gateway/subscriptions/{subscription}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // A second webhook, ended by its consumer.
    let (_, second) = key.post(&subscriptions, json!({"url": url, "cursor": "beginning"})).await;
    let second = second["id"].as_str().unwrap().to_owned();
    let (status, ended) = consumer.delete(&format!("/api/v1/gateway/subscriptions/{second}")).await;
    assert_eq!((status, ended["status"].as_str()), (StatusCode::OK, Some("closed")), "{ended}");
    assert_error(
        &consumer.delete(&format!("/api/v1/gateway/subscriptions/{second}")).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    // A revocation closes the webhook and ends pulls.
    let (status, revoked) =
        provider.post(&format!("/api/v1/sharing/grants/{grant}/revoke"), json!({"reason": "停止同步"})).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let closed = wait_for(&consumer, &subscription, |v| v["status"] == "closed").await;
    assert!(closed["closed_reason"].as_str().unwrap().contains("停止同步"), "{closed}");
    assert_error(&key.get(&changes).await, StatusCode::FORBIDDEN, "forbidden", None);

    // The ledger has every page: pulls as gateway calls, pushes before they left.
    let audited = gateway_entries(&node).await;
    let pushes: Vec<_> = audited
        .iter()
        .filter(|e| e["kind"] == "gateway.subscription" && e["payload"]["outcome"] == "sending")
        .collect();
    let pushed: Vec<_> =
        pushes.iter().map(|e| (e["payload"]["cursor"].clone(), e["payload"]["rows"].clone())).collect();
    // One entry per attempt: the failed one, its retry, the long poll's insert.
    assert_eq!(pushed, [(json!("1.0"), json!(8)), (json!("1.0"), json!(8)), (json!("2.0"), json!(1))]);
    assert!(pushes.iter().all(|e| e["payload"]["subscription"] == subscription.as_str()));
    let refused = audited
        .iter()
        .filter(|e| e["kind"] == "gateway.subscription" && e["payload"]["outcome"] == "refused")
        .count();
    assert!(refused >= 7, "refused pulls are audited too: {refused}");
    let kinds: BTreeSet<String> = node
        .store
        .ledger_entries(&govdata_store::EntryFilter { from: 0, ..Default::default() })
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.entry.kind)
        .filter(|kind| kind.starts_with("subscription."))
        .collect();
    assert_eq!(
        kinds,
        ["subscription.close", "subscription.create", "subscription.deliver"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
