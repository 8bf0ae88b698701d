//! Data resources over HTTP on both backends: a base library loaded from a
//! GBK-encoded CSV upload with rejected rows, upserts that make new table
//! versions, reads as of an earlier version, a logical resource read in place
//! from a real PostgreSQL table, the person profile joining three sources —
//! and the refusals (other departments, consumers, bad mappings, oversized
//! uploads, wrong source kinds). Once more with the lake in an S3 bucket.

use std::collections::BTreeMap;

use crate::support::data::{
    citizen_id, draft, item, published, resources_path, run_job, MCA_USCC, MOHRSS_USCC, MPS_USCC,
};
use crate::support::{assert_error, Backend, Session, TestNode, PASSWORD};
use govdata_model::catalog::{InfoItem, ItemType};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(resources_load_read_and_refuse);

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn resources_load_read_and_refuse(backend: Backend) {
    resources_scenario(backend, None).await
}

/// The same scenario with the node's lake in an S3 bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_on_an_s3_lake() {
    if let Some(lake) = govdata_store::testing::fresh_s3_prefix() {
        resources_scenario(Backend::Sqlite, Some(lake)).await
    }
}

async fn resources_scenario(backend: Backend, s3_lake: Option<(String, BTreeMap<String, String>)>) {
    let node = TestNode::start_with(backend, |config| {
        config.lake.max_upload_bytes = 64 * 1024;
        if let Some((url, options)) = s3_lake {
            config.lake.url = Some(url);
            config.lake.storage_options = options;
        }
    })
    .await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    let mohrss = node.department(&admin, "人力资源和社会保障部", MOHRSS_USCC, "100000").await;
    let mca = node.department(&admin, "民政部", MCA_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "mohrss.provider", &mohrss, &["provider"]).await;
    node.user(&admin, "mca.provider", &mca, &["provider"]).await;
    node.user(&admin, "mca.consumer", &mca, &["consumer"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let mps_provider = node.login("mps.provider", PASSWORD).await;
    let mohrss_provider = node.login("mohrss.provider", PASSWORD).await;
    let stranger = node.login("mca.provider", PASSWORD).await;
    let consumer = node.login("mca.consumer", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;

    // 人口基础信息: loaded from a GBK CSV upload, upserted by citizen ID.
    let person_items = vec![
        item("公民身份号码", ItemType::Character, Some(18)),
        item("姓名", ItemType::Character, Some(50)),
        item("出生日期", ItemType::Date, Some(8)),
        item("曾用名", ItemType::Character, Some(50)),
    ];
    let persons =
        published(&mps_provider, &reviewer, draft(&mps, MPS_USCC, "人口基础信息", 30, person_items)).await;
    let spec = json!({
        "name": "人口基础库",
        "access": {"kind": "physical", "source": {"upload": {"format": {"kind": "csv"}}},
                   "mode": {"kind": "upsert", "key": ["公民身份号码"]}},
        "mapping": [
            {"item": "公民身份号码", "column": "身份证号"},
            {"item": "姓名", "column": "姓名"},
            {"item": "出生日期", "column": "出生日期"},
            {"item": "曾用名", "absent_reason": "源系统不采集"}
        ],
        "entity_key": {"item": "公民身份号码", "kind": "person"}
    });

    // Refusals at registration: another department, a consumer, bad mappings.
    assert_error(
        &stranger.post(&resources_path(&persons), spec.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &consumer.post(&resources_path(&persons), spec.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let mut unmapped = spec.clone();
    unmapped["mapping"].as_array_mut().unwrap().pop();
    assert_error(
        &mps_provider.post(&resources_path(&persons), unmapped).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("mapping"),
    );
    let mut unknown_item = spec.clone();
    unknown_item["mapping"][1]["item"] = json!("住址");
    assert_error(
        &mps_provider.post(&resources_path(&persons), unknown_item).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("mapping[1].item"),
    );
    let mut bad_key = spec.clone();
    bad_key["access"]["mode"]["key"] = json!(["曾用名"]);
    assert_error(
        &mps_provider.post(&resources_path(&persons), bad_key).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("access.mode.key[0]"),
    );
    let mut bad_schedule = spec.clone();
    bad_schedule["access"]["schedule"] = json!("every night");
    assert_error(
        &mps_provider.post(&resources_path(&persons), bad_schedule).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("access.schedule"),
    );

    let (status, resource) = mps_provider.post(&resources_path(&persons), spec.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{resource}");
    let person_resource = resource["id"].as_str().unwrap().to_owned();

    // A GBK file: 5 good rows, one bad date, one bad ID, one short record.
    let mut csv = String::from("身份证号,姓名,出生日期\n");
    for n in 1..=5 {
        csv.push_str(&format!("{},张{n},1990-01-{:02}\n", citizen_id(n), 1 + n % 28));
    }
    csv.push_str(&format!("{},李错,1990-02-30\n", citizen_id(6)));
    csv.push_str("110101199001011234,王错,1990-01-01\n");
    csv.push_str("只有一列\n");
    let job = run_job(&mps_provider, &person_resource, gbk(&csv)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["rows_written"], 5, "{job}");
    assert_eq!(job["rows_rejected"], 3, "{job}");
    let rejected_rows: Vec<u64> =
        job["reject_sample"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rejected_rows.len(), 3);
    assert!(rejected_rows.contains(&6) && rejected_rows.contains(&7) && rejected_rows.contains(&8), "{job}");
    let first_version = job["table_version"].as_i64().unwrap();

    let (status, preview) =
        mps_provider.get(&format!("/api/v1/resources/{person_resource}/preview?limit=10")).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["columns"], json!(["公民身份号码", "姓名", "出生日期"]));
    assert_eq!(preview["rows"].as_array().unwrap().len(), 5);
    assert!(preview["rows"].as_array().unwrap().iter().any(|r| r["姓名"] == "张1"), "GBK decoded: {preview}");

    // An upsert: one changed name, one new person → a new version; the old one stays readable.
    let update = format!(
        "身份证号,姓名,出生日期\n{},张一改,1990-01-02\n{},赵新,1990-01-09\n",
        citizen_id(1),
        citizen_id(9)
    );
    let job = run_job(&mps_provider, &person_resource, update.into_bytes()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // The entry's listing shows each resource with its latest job.
    let listing = format!("/api/v1/resources?entry_code={}", persons.replace('/', "%2F"));
    let (status, listed) = mps_provider.get(&listing).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["id"], person_resource.as_str());
    assert_eq!(listed[0]["last_job"]["id"], job["id"], "{listed}");
    let (_, profile) = reviewer.get(&format!("/api/v1/resources/{person_resource}/profile")).await;
    assert_eq!(profile["rows"], 6, "{profile}");
    let name = profile["columns"].as_array().unwrap().iter().find(|c| c["name"] == "姓名").unwrap();
    assert_eq!(name["nulls"], 0);
    let (_, old) = mps_provider
        .get(&format!("/api/v1/resources/{person_resource}/preview?limit=100&version={first_version}"))
        .await;
    assert_eq!(old["rows"].as_array().unwrap().len(), 5, "as of the first version: {old}");
    assert!(old["rows"].as_array().unwrap().iter().any(|r| r["姓名"] == "张1"));
    let (_, versions) = mps_provider.get(&format!("/api/v1/resources/{person_resource}/versions")).await;
    assert!(versions.as_array().unwrap().len() >= 2, "{versions}");
    assert_eq!(versions[0]["job_id"], job["id"]);

    // Reads and runs by others are refused; an oversized upload is refused whole.
    for who in [&stranger, &consumer] {
        assert_error(
            &who.get(&format!("/api/v1/resources/{person_resource}/preview")).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        );
    }
    assert_error(
        &stranger.post_raw(&format!("/api/v1/resources/{person_resource}/jobs"), "text/csv", "a,b\n").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &reviewer.post_raw(&format!("/api/v1/resources/{person_resource}/jobs"), "text/csv", "a,b\n").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let big = vec![b'x'; 70 * 1024];
    assert_error(
        &mps_provider.post_raw(&format!("/api/v1/resources/{person_resource}/jobs"), "text/csv", big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    );
    assert_error(
        &mps_provider.post_raw(&format!("/api/v1/resources/{person_resource}/jobs"), "text/csv", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("file"),
    );
    assert_error(
        &mps_provider.get(&format!("/api/v1/resources/{person_resource}/preview?version=99")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("version"),
    );
    let uploads = std::fs::read_dir(node.config.data_dir.join("uploads")).unwrap().count();
    assert_eq!(uploads, 0, "refused and finished uploads leave no file behind");

    // A mapped column missing from a new file stops the job; the table stays as it was.
    let job = run_job(&mps_provider, &person_resource, "身份证号,名字,出生日期\n".as_bytes().to_vec()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["drift"]["items_without_column"].as_array().unwrap().contains(&json!("姓名")), "{job}");
    let (_, after) = reviewer.get(&format!("/api/v1/resources/{person_resource}/profile")).await;
    assert_eq!(after["rows"], 6);

    // 社会保险参保信息 from another department, joined on the citizen ID.
    let insurance_items = vec![
        item("公民身份号码", ItemType::Character, Some(18)),
        item("参保状态", ItemType::Character, Some(10)),
        InfoItem { scale: Some(2), ..item("月缴费基数", ItemType::Currency, Some(12)) },
    ];
    let insurance = published(
        &mohrss_provider,
        &reviewer,
        draft(&mohrss, MOHRSS_USCC, "社会保险参保信息", 31, insurance_items),
    )
    .await;
    let (status, resource) = mohrss_provider
        .post(
            &resources_path(&insurance),
            json!({
                "name": "参保库",
                "access": {"kind": "physical", "source": {"upload": {"format": {"kind": "ndjson"}}},
                           "mode": {"kind": "append"}},
                "mapping": [
                    {"item": "公民身份号码", "column": "sfzh"},
                    {"item": "参保状态", "column": "zt"},
                    {"item": "月缴费基数", "column": "jfjs"}
                ],
                "entity_key": {"item": "公民身份号码", "kind": "person"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resource}");
    let insurance_resource = resource["id"].as_str().unwrap().to_owned();
    let lines = format!(
        "{{\"sfzh\":\"{}\",\"zt\":\"正常参保\",\"jfjs\":\"8000.50\"}}\n{{\"sfzh\":\"{}\",\"zt\":\"暂停缴费\",\"jfjs\":6000}}\n",
        citizen_id(1),
        citizen_id(2)
    );
    let job = run_job(&mohrss_provider, &insurance_resource, lines.into_bytes()).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    // The third source is read in place from a real PostgreSQL table, when one is reachable.
    let mut sources = 2;
    if govdata_store::testing::postgres_available() {
        sources += logical_source(&mps_provider, &reviewer, &mps).await;
    }

    let (status, profile) = reviewer.get(&format!("/api/v1/profiles/person/{}", citizen_id(1))).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    let sections = profile["sections"].as_array().unwrap();
    assert_eq!(sections.len(), sources, "{profile}");
    let values: Vec<&Value> =
        sections.iter().flat_map(|s| s["records"][0].as_array().unwrap().iter()).collect();
    let value = |item: &str| values.iter().find(|v| v["item"] == item).map(|v| v["value"].clone());
    assert_eq!(value("姓名"), Some(json!("张一改")));
    assert_eq!(value("参保状态"), Some(json!("正常参保")));
    // The consumer sees no data, only what it could apply for.
    let (status, withheld) = consumer.get(&format!("/api/v1/profiles/person/{}", citizen_id(1))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(withheld["sections"], json!([]));
    assert_eq!(withheld["withheld"].as_array().unwrap().len(), sources, "{withheld}");
    assert_error(
        &reviewer.get("/api/v1/profiles/person/110101199001011234").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("key"),
    );

    // Every read is in the ledger.
    let (_, entries) = reviewer.get("/api/v1/ledger/entries?kind=lake.entity_profile").await;
    assert!(!entries["entries"].as_array().unwrap().is_empty(), "{entries}");
    let (_, entries) = reviewer.get("/api/v1/ledger/entries?kind=lake.preview").await;
    assert!(entries["entries"].as_array().unwrap().len() >= 2, "{entries}");
}

/// Registers a logical resource over a PostgreSQL table of address records,
/// reads it in place, and checks pushdown; returns 1 (one more source).
async fn logical_source(provider: &Session, reviewer: &Session, department: &str) -> usize {
    let database = govdata_store::testing::fresh_postgres_database().await.expect("PostgreSQL is available");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&database).await.unwrap();
    sqlx::query("CREATE TABLE addresses (sfzh TEXT PRIMARY KEY, dz TEXT NOT NULL, updated DATE NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    for (n, address) in [(1, "北京市东城区景山前街4号"), (2, "北京市东城区东长安街")] {
        sqlx::query("INSERT INTO addresses VALUES ($1, $2, DATE '2026-01-01')")
            .bind(citizen_id(n))
            .bind(address)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let items = vec![
        item("公民身份号码", ItemType::Character, Some(18)),
        item("居住地址", ItemType::Character, Some(200)),
    ];
    let code = published(provider, reviewer, draft(department, MPS_USCC, "居住地址信息", 32, items)).await;
    let (status, resource) = provider
        .post(
            &resources_path(&code),
            json!({
                "name": "居住地址（逻辑接入）",
                "access": {"kind": "logical", "database": {"dialect": "postgres", "url": database,
                           "relation": {"kind": "table", "schema": "public", "table": "addresses"}}},
                "mapping": [{"item": "公民身份号码", "column": "sfzh"}, {"item": "居住地址", "column": "dz"}],
                "entity_key": {"item": "公民身份号码", "kind": "person"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resource}");
    let id = resource["id"].as_str().unwrap();
    let (status, preview) = provider.get(&format!("/api/v1/resources/{id}/preview")).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 2);
    let (status, refused) = provider.get(&format!("/api/v1/resources/{id}/preview?version=1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    1
}

/// A JSON API that holds its answer while `hold` is set, until a permit is
/// added; `arrived` tells that a request is waiting.
async fn held_api(
    hold: std::sync::Arc<std::sync::atomic::AtomicBool>,
    release: std::sync::Arc<tokio::sync::Semaphore>,
    arrived: std::sync::Arc<tokio::sync::Notify>,
) -> String {
    let app = axum::Router::new().route(
        "/records",
        axum::routing::get(move || {
            let (hold, release, arrived) = (hold.clone(), release.clone(), arrived.clone());
            async move {
                if hold.load(std::sync::atomic::Ordering::SeqCst) {
                    arrived.notify_one();
                    release.acquire().await.unwrap().forget();
                }
                axum::Json(json!([{"bh": "A-1", "mc": "第一条"}, {"bh": "A-2", "mc": "第二条"}]))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/records", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn job_status(session: &Session, resource: &str, job: &str) -> String {
    let (_, jobs) = session.get(&format!("/api/v1/resources/{resource}/jobs")).await;
    let job = jobs.as_array().unwrap().iter().find(|j| j["id"] == job).unwrap().clone();
    job["status"].as_str().unwrap().to_owned()
}

/// Jobs of different resources run side by side: an upload is written while
/// a slow API's job is still waiting for its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_different_resources_run_side_by_side() {
    let node = TestNode::start(Backend::Sqlite).await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("mps.provider", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;
    let items =
        || vec![item("编号", ItemType::Character, Some(20)), item("名称", ItemType::Character, Some(50))];
    let mapping = json!([{"item": "编号", "column": "bh"}, {"item": "名称", "column": "mc"}]);

    let hold = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
    let url = held_api(hold.clone(), release.clone(), arrived.clone()).await;
    let slow = published(&provider, &reviewer, draft(&mps, MPS_USCC, "治安登记信息", 40, items())).await;
    let (status, slow_resource) = provider
        .post(
            &resources_path(&slow),
            json!({"name": "治安登记接口", "mapping": mapping,
                   "access": {"kind": "physical", "source": {"http": {"url": url}}, "mode": {"kind": "full"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{slow_resource}");
    let slow_resource = slow_resource["id"].as_str().unwrap().to_owned();
    let quick = published(&provider, &reviewer, draft(&mps, MPS_USCC, "证件挂失信息", 41, items())).await;
    let (status, quick_resource) = provider
        .post(
            &resources_path(&quick),
            json!({"name": "证件挂失上传", "mapping": mapping,
                   "access": {"kind": "physical", "source": {"upload": {"format": {"kind": "csv"}}},
                              "mode": {"kind": "full"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{quick_resource}");
    let quick_resource = quick_resource["id"].as_str().unwrap().to_owned();

    hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let waiting = arrived.notified();
    let (status, slow_job) =
        provider.post_raw(&format!("/api/v1/resources/{slow_resource}/jobs"), "text/plain", Vec::new()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{slow_job}");
    let slow_job = slow_job["id"].as_str().unwrap().to_owned();
    tokio::time::timeout(std::time::Duration::from_secs(60), waiting)
        .await
        .expect("the slow job asked its API");
    assert_eq!(job_status(&provider, &slow_resource, &slow_job).await, "running");
    // A second job of the same resource is refused while one is running.
    let (status, _) =
        provider.post_raw(&format!("/api/v1/resources/{slow_resource}/jobs"), "text/plain", Vec::new()).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let job = run_job(&provider, &quick_resource, "bh,mc\nB-1,挂失一\n".as_bytes().to_vec()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job_status(&provider, &slow_resource, &slow_job).await, "running", "the slow job still waits");

    // The job may ask the API again (its schema, then its pages): answer all.
    hold.store(false, std::sync::atomic::Ordering::SeqCst);
    release.add_permits(1);
    for _ in 0..600 {
        match job_status(&provider, &slow_resource, &slow_job).await.as_str() {
            "running" | "queued" => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            status => {
                assert_eq!(status, "succeeded");
                return;
            }
        }
    }
    panic!("the slow job did not end after its API answered");
}
