//! Sharing over HTTP on both backends: a one-stop application with one
//! entry approved automatically (无条件共享) and one decided by its provider
//! with masking; the gateway (lookup, verify, CSV and NDJSON export) through
//! a consumer application's API key; 重要 data that also needs the
//! authority; and the refusals — 不予共享 data and items, rejections without
//! a legal basis, deciding someone else's application, another
//! department's key, items outside the grant, rows outside its filter,
//! quotas, withdrawal, revocation (also of an export already streaming).
//! Every gateway call, served or refused, must be in the ledger. Demands
//! are routed and answered; objections are responded to and ruled, and an
//! upheld objection to a rejection reopens the application.

use futures::StreamExt;
use govdata_model::catalog::{Grade, ItemType, ShareMode, ShareType};
use govdata_store::EntryFilter;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::data::{
    citizen_id, draft, item, published, resources_path, run_job, MCA_USCC, MOHRSS_USCC, MPS_USCC,
};
use crate::support::{assert_error, Backend, Session, TestNode, PASSWORD};

on_both_backends!(applications_grants_and_the_gateway, demands_and_objections);

const CIVIL_USCC: &str = "11100000000013040X";

fn application_path(id: &str, action: &str) -> String {
    format!("/api/v1/sharing/applications/{id}/{action}")
}

pub(crate) fn gateway_path(grant: &str, call: &str) -> String {
    format!("/api/v1/gateway/grants/{grant}/{call}")
}

/// A consumer application's API key for a department's consumer user.
pub(crate) async fn consumer_key(node: &TestNode, consumer: &Session) -> Session {
    let (status, created) =
        consumer.post("/api/v1/api-keys", json!({"name": "社保资格认证", "roles": ["consumer"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    Session::with_key(&node.base, created["secret"].as_str().unwrap())
}

/// 人口基础信息 by 公安部: ID, name, birth date and region are 有条件共享 over
/// the API and as tables; the phone number is 不予共享. Loads `persons`
/// rows: a third in 上海 (310101), the rest in 北京东城 (110101), written
/// with `mode` (a resource write mode). Returns the entry code and the
/// resource id.
pub(crate) async fn population(
    provider: &Session,
    reviewer: &Session,
    mps: &str,
    persons: u32,
    mode: Value,
) -> (String, String) {
    let mut phone = item("联系电话", ItemType::Character, Some(11));
    phone.share_type = Some(ShareType::NotShared);
    phone.legal_basis = Some("《中华人民共和国个人信息保护法》第十三条".into());
    let mut entry = draft(
        mps,
        MPS_USCC,
        "人口基础信息",
        31,
        vec![
            item("公民身份号码", ItemType::Character, Some(18)),
            item("姓名", ItemType::Character, Some(50)),
            item("出生日期", ItemType::Date, Some(8)),
            item("户籍地区划", ItemType::Character, Some(6)),
            phone,
        ],
    );
    entry.share_modes = vec![ShareMode::Api, ShareMode::Table];
    let code = published(provider, reviewer, entry).await;
    let spec = json!({
        "name": "人口基础库",
        "access": {"kind": "physical", "source": {"upload": {"format": {"kind": "csv"}}},
                   "mode": mode},
        "mapping": [
            {"item": "公民身份号码", "column": "sfzh"}, {"item": "姓名", "column": "xm"},
            {"item": "出生日期", "column": "csrq"}, {"item": "户籍地区划", "column": "qh"},
            {"item": "联系电话", "column": "dh"}
        ],
        "entity_key": {"item": "公民身份号码", "kind": "person"}
    });
    let (status, resource) = provider.post(&resources_path(&code), spec).await;
    assert_eq!(status, StatusCode::CREATED, "{resource}");
    let resource = resource["id"].as_str().unwrap().to_owned();
    let job = run_job(provider, &resource, persons_csv(persons, "张").into_bytes()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    (code, resource)
}

/// `persons` rows: a third in 上海 (310101), the rest in 北京东城 (110101),
/// named `surname` + their number.
pub(crate) fn persons_csv(persons: u32, surname: &str) -> String {
    let mut csv = String::from("sfzh,xm,csrq,qh,dh\n");
    for n in 1..=persons {
        let region = if n % 3 == 0 { "310101" } else { "110101" };
        csv.push_str(&format!(
            "{},{surname}{n},1990-01-{:02},{region},1381234{:04}\n",
            citizen_id(n),
            1 + n % 28,
            n % 10_000
        ));
    }
    csv
}

pub(crate) async fn gateway_entries(node: &TestNode) -> Vec<Value> {
    let page = node.store.ledger_entries(&EntryFilter { from: 0, ..EntryFilter::default() }).await.unwrap();
    page.entries
        .into_iter()
        .filter(|e| e.entry.kind.starts_with("gateway."))
        .map(|e| json!({"kind": e.entry.kind, "actor": e.entry.actor, "payload": e.payload}))
        .collect()
}

async fn applications_grants_and_the_gateway(backend: Backend) {
    // On PostgreSQL the gateway indexes nothing, so the same answers are
    // checked on the path that reads the table per call.
    let node = TestNode::start_with(backend, |config| {
        if backend == Backend::Postgres {
            config.sharing.index_max_rows = 0;
        }
    })
    .await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    let mohrss = node.department(&admin, "人力资源和社会保障部", MOHRSS_USCC, "100000").await;
    let mca = node.department(&admin, "民政部", MCA_USCC, "100000").await;
    let civil = node.department(&admin, "国家公务员局", CIVIL_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "mca.provider", &mca, &["provider"]).await;
    node.user(&admin, "civil.provider", &civil, &["provider"]).await;
    node.user(&admin, "mohrss.consumer", &mohrss, &["consumer"]).await;
    node.user(&admin, "mca.consumer", &mca, &["consumer"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("mps.provider", PASSWORD).await;
    let mca_provider = node.login("mca.provider", PASSWORD).await;
    let civil_provider = node.login("civil.provider", PASSWORD).await;
    let consumer = node.login("mohrss.consumer", PASSWORD).await;
    let other_consumer = node.login("mca.consumer", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;

    let (persons, persons_resource) =
        population(&provider, &reviewer, &mps, 9, json!({"kind": "full"})).await;
    // 社会组织名录 by 民政部: 无条件共享, approved without review.
    let mut open_list = draft(
        &mca,
        MCA_USCC,
        "社会组织名录",
        32,
        vec![
            item("统一社会信用代码", ItemType::Character, Some(18)),
            item("社会组织名称", ItemType::Character, Some(100)),
        ],
    );
    open_list.share_type = ShareType::Unconditional;
    open_list.share_condition = None;
    open_list.share_modes = vec![ShareMode::Api, ShareMode::Table];
    let organisations = published(&mca_provider, &reviewer, open_list).await;
    // 公务员登记信息: 重要数据, so the authority decides after the provider.
    let mut important = draft(
        &civil,
        CIVIL_USCC,
        "公务员登记信息",
        33,
        vec![
            item("公民身份号码", ItemType::Character, Some(18)),
            item("职级", ItemType::Character, Some(20)),
        ],
    );
    important.items[1].grade = Some(Grade::IMPORTANT);
    let officials = published(&civil_provider, &reviewer, important).await;
    // 涉密人员名单: 不予共享 as a whole.
    let mut secret = draft(
        &civil,
        CIVIL_USCC,
        "涉密人员名单",
        34,
        vec![item("公民身份号码", ItemType::Character, Some(18))],
    );
    secret.share_type = ShareType::NotShared;
    secret.share_condition = None;
    secret.share_modes = Vec::new();
    secret.legal_basis = Some("《中华人民共和国保守国家秘密法》第三十条".into());
    let secrets = published(&civil_provider, &reviewer, secret).await;

    let wanted = |items: Value| {
        json!({
            "entries": [
                {"entry_code": persons, "items": items,
                 "row_filter": {"item": "户籍地区划", "prefixes": ["1101"]}},
                {"entry_code": organisations, "items": ["统一社会信用代码", "社会组织名称"]}
            ],
            "purpose": "养老保险待遇资格认证",
            "legal_basis": "《社会保险法》第七十二条",
            "duration_days": 365,
            "delivery": ["lookup", "verify", "batch"],
            "daily_quota": 100
        })
    };
    let applications = "/api/v1/sharing/applications";

    // Refusals at application.
    assert_error(
        &provider.post(applications, wanted(json!(["姓名"]))).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &consumer.post(applications, wanted(json!(["姓名", "婚姻状况"]))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("entries[0].items[1]"),
    );
    let not_shared = consumer.post(applications, wanted(json!(["姓名", "联系电话"]))).await;
    assert_error(&not_shared, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("entries[0].items[1]"));
    assert!(not_shared.1["message"].as_str().unwrap().contains("个人信息保护法"), "{}", not_shared.1);
    let whole_entry = consumer
        .post(
            applications,
            json!({"entries": [{"entry_code": secrets, "items": ["公民身份号码"]}], "purpose": "核查",
                   "legal_basis": "职责", "duration_days": 30, "delivery": ["lookup"]}),
        )
        .await;
    assert_error(
        &whole_entry,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("entries[0].entry_code"),
    );
    assert!(whole_entry.1["message"].as_str().unwrap().contains("保守国家秘密法"), "{}", whole_entry.1);
    let mut subscription = wanted(json!(["姓名"]));
    subscription["delivery"] = json!(["subscription"]);
    subscription["entries"].as_array_mut().unwrap().pop();
    subscription["entries"][0]["entry_code"] = json!(officials);
    subscription["entries"][0]["items"] = json!(["职级"]);
    subscription["entries"][0]["row_filter"] = Value::Null;
    assert_error(
        &consumer.post(applications, subscription).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("delivery[0]"),
    );
    let mut no_purpose = wanted(json!(["姓名"]));
    no_purpose["purpose"] = json!("  ");
    assert_error(
        &consumer.post(applications, no_purpose).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("purpose"),
    );

    // One-stop: two applications in one batch; 无条件共享 approved at once.
    let (status, made) =
        consumer.post(applications, wanted(json!(["公民身份号码", "姓名", "出生日期", "户籍地区划"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let made = made.as_array().unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["batch_id"], made[1]["batch_id"]);
    assert_eq!(made[0]["status"], "submitted");
    assert_eq!(made[1]["status"], "approved");
    assert_eq!(made[0]["overdue"], false);
    let application = made[0]["id"].as_str().unwrap().to_owned();

    // Deciding: not the consumer, not another provider, not the authority
    // before the deadline; a rejection needs its legal basis.
    for (who, status) in [
        (&consumer, StatusCode::FORBIDDEN),
        (&mca_provider, StatusCode::FORBIDDEN),
        (&reviewer, StatusCode::FORBIDDEN),
    ] {
        assert_error(
            &who.post(&application_path(&application, "decision"), json!({"decision": "approve"})).await,
            status,
            "forbidden",
            None,
        );
    }
    assert_error(
        &provider.post(&application_path(&application, "decision"), json!({"decision": "reject"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("legal_basis"),
    );
    assert_error(
        &provider
            .post(
                &application_path(&application, "decision"),
                json!({"decision": "approve", "masking": {"联系电话": "clear"}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("masking.联系电话"),
    );
    // A decision narrows the scope asked for; it never widens it.
    assert_error(
        &provider
            .post(
                &application_path(&application, "decision"),
                json!({"decision": "approve", "row_filter": {"item": "户籍地区划", "prefixes": ["3101"]}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("row_filter.prefixes[0]"),
    );
    let (status, approved) = provider
        .post(
            &application_path(&application, "decision"),
            json!({"decision": "approve", "comment": "同意", "masking": {"出生日期": "year"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    let actions: Vec<&str> =
        approved["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "approve"]);
    assert_error(
        &provider.post(&application_path(&application, "decision"), json!({"decision": "approve"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    let (_, grants) = consumer.get("/api/v1/sharing/grants?side=consumer").await;
    let grants = grants.as_array().unwrap();
    assert_eq!(grants.len(), 2, "{grants:?}");
    let grant = grants.iter().find(|g| g["application_id"] == application.as_str()).unwrap();
    assert_eq!(grant["state"], "active");
    assert_eq!(grant["terms"]["masking"]["姓名"], "name");
    assert_eq!(grant["terms"]["masking"]["公民身份号码"], "id_number");
    assert_eq!(grant["terms"]["masking"]["出生日期"], "year");
    assert!(grant.get("mask_key").is_none());
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    let open_grant = grants.iter().find(|g| g["application_id"] != application.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The gateway, through the consumer application's key.
    let app = consumer_key(&node, &consumer).await;
    let inside = citizen_id(1);
    let outside = citizen_id(3);
    let absent = citizen_id(500);
    let (status, found) =
        app.post(&gateway_path(&grant_id, "lookup"), json!({"keys": [inside, outside, absent]})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let row = &results[0]["rows"][0];
    assert_eq!(row["姓名"], "张*");
    assert_eq!(row["出生日期"], "1990");
    assert_eq!(row["公民身份号码"], format!("{}********{}", &inside[..6], &inside[14..]));
    assert_eq!(row["户籍地区划"], "110101");
    assert!(row.get("联系电话").is_none(), "{row}");
    assert_eq!(results[1]["rows"].as_array().unwrap().len(), 0, "a row outside the filter: {found}");
    assert_eq!(results[2]["rows"].as_array().unwrap().len(), 0);
    let rows = results[0]["rows"].to_string();
    assert!(!rows.contains(&inside[6..14]), "raw ID digits leaked: {rows}");
    assert!(!rows.contains("张1"), "raw name leaked: {rows}");

    assert_error(
        &app.post(
            &gateway_path(&grant_id, "lookup"),
            json!({"keys": [inside], "items": ["姓名", "联系电话"]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("items[1]"),
    );
    assert_error(
        &app.post(&gateway_path(&grant_id, "lookup"), json!({"keys": ["110101199001011234"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("keys[0]"),
    );
    // The 无条件共享 grant has no data yet: an empty answer, still audited.
    let (status, empty) =
        app.post(&gateway_path(&open_grant, "lookup"), json!({"keys": ["91110000600037341L"]})).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["results"][0]["rows"].as_array().unwrap().len(), 0);

    // 核验: answers per field, returns nothing of the record.
    let (status, verdict) = app
        .post(
            &gateway_path(&grant_id, "verify"),
            json!({"key": inside, "values": {"姓名": "张1", "出生日期": "1990-01-02", "户籍地区划": "310101"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["found"], true);
    assert_eq!(verdict["fields"], json!({"姓名": "match", "出生日期": "match", "户籍地区划": "mismatch"}));
    let (_, outside_verdict) = app
        .post(&gateway_path(&grant_id, "verify"), json!({"key": outside, "values": {"姓名": "张3"}}))
        .await;
    assert_eq!(outside_verdict["found"], false, "{outside_verdict}");
    assert_error(
        &app.post(
            &gateway_path(&grant_id, "verify"),
            json!({"key": inside, "values": {"联系电话": "13812340001"}}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("values.联系电话"),
    );

    // New data is served once a job has written it.
    let job = run_job(&provider, &persons_resource, persons_csv(9, "李").into_bytes()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, renamed) = app.post(&gateway_path(&grant_id, "lookup"), json!({"keys": [inside]})).await;
    assert_eq!(renamed["results"][0]["rows"][0]["姓名"], "李*", "{renamed}");

    // Batch export: only rows in 110101, masked in both formats.
    let response = app
        .send(reqwest::Method::GET, &format!("{}?format=csv", gateway_path(&grant_id, "export")), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "公民身份号码,姓名,出生日期,户籍地区划");
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    assert!(
        lines[1..].iter().all(|line| line.ends_with(",1990,110101") && line.contains("********")),
        "{csv}"
    );
    assert!(!csv.contains("1381234"), "{csv}");
    let response = app
        .send(
            reqwest::Method::GET,
            &format!("{}?format=ndjson&items=姓名", gateway_path(&grant_id, "export")),
            None,
        )
        .await;
    let ndjson = response.text().await.unwrap();
    let rows: Vec<Value> = ndjson.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert!(rows
        .iter()
        .all(|r| r.as_object().unwrap().len() == 1 && r["姓名"].as_str().unwrap().ends_with('*')));
    let response = app
        .send(reqwest::Method::GET, &format!("{}?format=parquet", gateway_path(&grant_id, "export")), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/vnd.apache.parquet");
    let file = response.bytes().await.unwrap();
    let reader = govdata_lake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let columns: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(columns, ["公民身份号码", "姓名", "出生日期", "户籍地区划"]);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 6);
    let ids = govdata_lake::arrow::compute::cast(
        batches[0].column(0),
        &govdata_lake::arrow::datatypes::DataType::Utf8,
    )
    .unwrap();
    let ids = ids.as_any().downcast_ref::<govdata_lake::arrow::array::StringArray>().unwrap();
    assert!(ids.iter().all(|id| id.unwrap().contains("********")), "masked in Parquet too: {ids:?}");

    // Another department's key, or another department's user, gets nothing.
    let stranger = consumer_key(&node, &other_consumer).await;
    assert_error(
        &stranger.post(&gateway_path(&grant_id, "lookup"), json!({"keys": [inside]})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &other_consumer.get(&format!("/api/v1/sharing/grants/{grant_id}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // Every call above is in the ledger, refusals included.
    let audited = gateway_entries(&node).await;
    let served = audited.iter().filter(|e| e["payload"]["outcome"] == "served").count();
    let refused = audited.iter().filter(|e| e["payload"]["outcome"] == "refused").count();
    assert_eq!((served, refused), (8, 4), "{audited:#?}");
    assert!(audited.iter().all(|e| e["actor"].as_str().unwrap().starts_with("key:")));
    let lookup = audited.iter().find(|e| e["kind"] == "gateway.lookup").unwrap();
    assert_eq!(lookup["payload"]["purpose"], "养老保险待遇资格认证");
    assert_eq!(lookup["payload"]["rows"], 1);
    assert!(!serde_json::to_string(&audited).unwrap().contains("1990-01-02"), "verify values are not kept");

    // Revocation takes effect at once.
    assert_error(
        &consumer.post(&format!("/api/v1/sharing/grants/{grant_id}/revoke"), json!({"reason": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, revoked) = provider
        .post(&format!("/api/v1/sharing/grants/{grant_id}/revoke"), json!({"reason": "用途已结束"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["state"], "revoked");
    let refused = app.post(&gateway_path(&grant_id, "lookup"), json!({"keys": [inside]})).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "forbidden", None);
    assert!(refused.1["message"].as_str().unwrap().contains("用途已结束"), "{}", refused.1);
    assert_error(
        &provider.post(&format!("/api/v1/sharing/grants/{grant_id}/renew"), json!({"days": 30})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    // 重要数据: the provider's approval forwards to the authority.
    let (status, made) = consumer
        .post(
            applications,
            json!({"entries": [{"entry_code": officials, "items": ["公民身份号码", "职级"]}],
                   "purpose": "参保人员身份核对", "legal_basis": "《社会保险法》", "duration_days": 30,
                   "delivery": ["verify"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let forwarded_id = made[0]["id"].as_str().unwrap().to_owned();
    let (status, forwarded) = civil_provider
        .post(
            &application_path(&forwarded_id, "decision"),
            json!({"decision": "approve", "masking": {"职级": "hash"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{forwarded}");
    assert_eq!(forwarded["status"], "awaiting_authority");
    assert_eq!(forwarded["proposed_terms"]["masking"]["职级"], "hash");
    assert_error(
        &civil_provider
            .post(&application_path(&forwarded_id, "decision"), json!({"decision": "approve"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, decided) =
        reviewer.post(&application_path(&forwarded_id, "decision"), json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["status"], "approved");
    let (_, grants) = consumer.get("/api/v1/sharing/grants?side=consumer").await;
    let official_grant = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["application_id"] == forwarded_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(official_grant["terms"]["masking"]["职级"], "hash");
    // An item masked as hash is no verification oracle.
    assert_error(
        &app.post(
            &gateway_path(official_grant["id"].as_str().unwrap(), "verify"),
            json!({"key": inside, "values": {"职级": "一级主任科员"}}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("values.职级"),
    );
    // A verify-only grant does not look up.
    assert_error(
        &app.post(&gateway_path(official_grant["id"].as_str().unwrap(), "lookup"), json!({"keys": [inside]}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // Rejection with its legal basis, and withdrawal; neither can be undone.
    let (_, again) = consumer.post(applications, wanted(json!(["姓名"]))).await;
    let rejected_id = again[0]["id"].as_str().unwrap().to_owned();
    let (status, rejected) = provider
        .post(
            &application_path(&rejected_id, "decision"),
            json!({"decision": "reject", "legal_basis": "《居民身份证法》第六条"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["steps"][1]["legal_basis"], "《居民身份证法》第六条");
    let (_, third) = consumer.post(applications, wanted(json!(["户籍地区划"]))).await;
    let withdrawn_id = third[0]["id"].as_str().unwrap().to_owned();
    assert_error(
        &other_consumer.post(&application_path(&withdrawn_id, "withdraw"), json!({"reason": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, withdrawn) =
        consumer.post(&application_path(&withdrawn_id, "withdraw"), json!({"reason": "需求变更"})).await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_error(
        &provider.post(&application_path(&withdrawn_id, "decision"), json!({"decision": "approve"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    // Listings: the provider sees what it received, others see nothing.
    let (_, received) = provider.get("/api/v1/sharing/applications?side=provider").await;
    assert_eq!(received.as_array().unwrap().len(), 3, "{received}");
    let (_, none) = other_consumer.get("/api/v1/sharing/applications?side=consumer").await;
    assert_eq!(none.as_array().unwrap().len(), 0);

    // The sharing report counts the same applications, and times the answers.
    let (status, report) = provider.get("/api/v1/sharing/report").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let by_status = report["by_status"].as_object().unwrap();
    assert_eq!(by_status.values().map(|n| n.as_u64().unwrap()).sum::<u64>(), 3, "{report}");
    assert_eq!((by_status["rejected"].as_u64(), by_status["withdrawn"].as_u64()), (Some(1), Some(1)));
    assert_eq!(report["answer_times"]["answered"], 2, "approved and rejected, not withdrawn: {report}");
    assert_eq!(report["answer_times"]["within_deadline"], 1.0);
    assert_eq!(report["overdue"], 0);
    // 民政部 counts only what it made or received (its auto-approved 社会组织名录).
    let (_, own) = other_consumer.get("/api/v1/sharing/report").await;
    let (_, listed) = other_consumer.get("/api/v1/sharing/applications").await;
    let counted: u64 = own["by_status"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(counted, listed.as_array().unwrap().len() as u64, "{own}");
    assert_eq!(
        own["by_status"].get("rejected"),
        None,
        "another department's rejection is not counted: {own}"
    );
    assert_error(
        &provider.get("/api/v1/sharing/report?months=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("months"),
    );
    assert_error(
        &other_consumer.get(&format!("/api/v1/sharing/applications/{application}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
}

/// The provider approves the first application of `made`; returns its grant.
pub(crate) async fn approve(provider: &Session, consumer: &Session, made: &Value) -> String {
    let id = made[0]["id"].as_str().unwrap().to_owned();
    let (status, body) =
        provider.post(&application_path(&id, "decision"), json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, grants) = consumer.get("/api/v1/sharing/grants?side=consumer").await;
    grants.as_array().unwrap().iter().find(|g| g["application_id"] == id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A daily quota, usage statistics, and a revocation that stops an export already streaming.
#[tokio::test]
async fn quota_and_revocation_mid_stream() {
    let node = TestNode::start(Backend::Sqlite).await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    let mohrss = node.department(&admin, "人力资源和社会保障部", MOHRSS_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "mohrss.consumer", &mohrss, &["consumer"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("mps.provider", PASSWORD).await;
    let consumer = node.login("mohrss.consumer", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;
    let (persons, _) = population(&provider, &reviewer, &mps, 300_000, json!({"kind": "full"})).await;

    let apply = |quota: u64| {
        json!({"entries": [{"entry_code": persons, "items": ["公民身份号码", "姓名"]}],
               "purpose": "资格认证", "legal_basis": "《社会保险法》", "duration_days": 10,
               "delivery": ["lookup", "batch"], "daily_quota": quota})
    };
    let (_, made) = consumer.post("/api/v1/sharing/applications", apply(2)).await;
    let limited = approve(&provider, &consumer, &made).await;
    let key = citizen_id(1);
    let mut rows = 0;
    for _ in 0..2 {
        let (status, body) = consumer.post(&gateway_path(&limited, "lookup"), json!({"keys": [key]})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        rows += body["results"][0]["rows"].as_array().unwrap().len();
    }
    assert_error(
        &consumer.post(&gateway_path(&limited, "lookup"), json!({"keys": [key]})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        None,
    );
    // Usage statistics, for both sides: served and refused calls, rows.
    for (who, side) in [(&consumer, "consumer"), (&provider, "provider")] {
        let (status, usage) = who.get(&format!("/api/v1/sharing/usage?side={side}&grant_id={limited}")).await;
        assert_eq!(status, StatusCode::OK, "{usage}");
        assert_eq!(usage[0]["calls"], 2, "{usage}");
        assert_eq!(usage[0]["refused"], 1, "{usage}");
        assert_eq!(usage[0]["rows_returned"], rows, "{usage}");
        assert_eq!(usage[0]["days"].as_array().unwrap().len(), 1);
    }
    assert_error(
        &consumer.get("/api/v1/sharing/usage?days=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("days"),
    );

    // The provider may lower the quota and set a rate, never raise them.
    let (_, made) = consumer.post("/api/v1/sharing/applications", apply(1_000)).await;
    let lowered = made[0]["id"].as_str().unwrap().to_owned();
    for (body, field) in [
        (json!({"decision": "approve", "daily_quota": 5_000}), "daily_quota"),
        (json!({"decision": "approve", "rate_per_second": 0}), "rate_per_second"),
    ] {
        assert_error(
            &provider.post(&application_path(&lowered, "decision"), body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some(field),
        );
    }
    let (status, approved) = provider
        .post(
            &application_path(&lowered, "decision"),
            json!({"decision": "approve", "daily_quota": 500, "rate_per_second": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let (_, grants) = consumer.get("/api/v1/sharing/grants?side=consumer").await;
    let granted =
        grants.as_array().unwrap().iter().find(|g| g["application_id"] == lowered.as_str()).unwrap();
    assert_eq!(
        (granted["terms"]["daily_quota"].as_u64(), granted["terms"]["rate_per_second"].as_u64()),
        (Some(500), Some(5))
    );

    // A rate per second: a quick run of calls meets the limit, which names
    // the grant and its rate and counts nothing against a quota.
    let mut by_rate = apply(1_000);
    by_rate["rate_per_second"] = json!(0);
    assert_error(
        &consumer.post("/api/v1/sharing/applications", by_rate.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("rate_per_second"),
    );
    by_rate["rate_per_second"] = json!(2);
    let (_, made) = consumer.post("/api/v1/sharing/applications", by_rate).await;
    let paced = approve(&provider, &consumer, &made).await;
    let (_, grant) = consumer.get(&format!("/api/v1/sharing/grants/{paced}")).await;
    assert_eq!(grant["terms"]["rate_per_second"], 2, "{grant}");
    let mut limited_at = None;
    for call in 0..50 {
        let (status, body) = consumer.post(&gateway_path(&paced, "lookup"), json!({"keys": [key]})).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["code"], "rate_limited");
            assert!(body["message"].as_str().unwrap().contains("2 calls per second"), "{body}");
            limited_at = Some(call);
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert!(
        limited_at.is_some_and(|call| call >= 2),
        "the first two calls pass, a quick run is limited: {limited_at:?}"
    );

    let (_, made) = consumer.post("/api/v1/sharing/applications", apply(10)).await;
    let streaming = approve(&provider, &consumer, &made).await;
    let response = consumer
        .send(reqwest::Method::GET, &format!("{}?format=csv", gateway_path(&streaming, "export")), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let (status, revoked) = provider
        .post(&format!("/api/v1/sharing/grants/{streaming}/revoke"), json!({"reason": "紧急停止"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let mut received = first.len();
    let mut failed = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => received += bytes.len(),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the export ran to its end after revocation ({received} bytes)");
    let audited = gateway_entries(&node).await;
    let export = audited.iter().rev().find(|e| e["kind"] == "gateway.batch").unwrap();
    assert_eq!(export["payload"]["outcome"], "refused", "{export}");
    assert!(export["payload"]["error"]["message"].as_str().unwrap().contains("紧急停止"));
}

async fn demands_and_objections(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let mps = node.department(&admin, "公安部", MPS_USCC, "100000").await;
    let mohrss = node.department(&admin, "人力资源和社会保障部", MOHRSS_USCC, "100000").await;
    let mca = node.department(&admin, "民政部", MCA_USCC, "100000").await;
    node.user(&admin, "mps.provider", &mps, &["provider"]).await;
    node.user(&admin, "mca.provider", &mca, &["provider"]).await;
    node.user(&admin, "mohrss.consumer", &mohrss, &["consumer"]).await;
    node.user(&admin, "mca.consumer", &mca, &["consumer"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("mps.provider", PASSWORD).await;
    let mca_provider = node.login("mca.provider", PASSWORD).await;
    let consumer = node.login("mohrss.consumer", PASSWORD).await;
    let other_consumer = node.login("mca.consumer", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;
    let mut entry = draft(
        &mps,
        MPS_USCC,
        "人口基础信息",
        35,
        vec![
            item("公民身份号码", ItemType::Character, Some(18)),
            item("姓名", ItemType::Character, Some(50)),
        ],
    );
    entry.share_modes = vec![ShareMode::Api];
    let persons = published(&provider, &reviewer, entry).await;
    let other_entry = published(
        &mca_provider,
        &reviewer,
        draft(&mca, MCA_USCC, "婚姻登记信息", 36, vec![item("公民身份号码", ItemType::Character, Some(18))]),
    )
    .await;

    // Demands: routed to the named department or to the entry's provider.
    let demand = |target: Value| {
        let mut body = json!({"description": "需要死亡人员信息用于停发养老金", "items": ["公民身份号码", "死亡日期"],
                              "purpose": "防止冒领养老金", "legal_basis": "《社会保险法》第十八条"});
        body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
        body
    };
    let demands = "/api/v1/sharing/demands";
    for (target, field) in [
        (json!({}), "provider_department_id"),
        (json!({"provider_department_id": mps, "entry_code": persons}), "provider_department_id"),
        (json!({"provider_department_id": mohrss}), "provider_department_id"),
        (json!({"provider_department_id": "no-such-department"}), "provider_department_id"),
    ] {
        assert_error(
            &consumer.post(demands, demand(target)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some(field),
        );
    }
    assert_error(
        &provider.post(demands, demand(json!({"provider_department_id": mca}))).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, stated) = consumer.post(demands, demand(json!({"provider_department_id": mps}))).await;
    assert_eq!(status, StatusCode::CREATED, "{stated}");
    assert_eq!(stated["status"], "open");
    assert_eq!(stated["overdue"], false);
    let demand_id = stated["id"].as_str().unwrap().to_owned();
    let (_, routed) = consumer.post(demands, demand(json!({"entry_code": persons}))).await;
    assert_eq!(routed["provider_department_id"], mps.as_str(), "{routed}");
    let answer = format!("/api/v1/sharing/demands/{demand_id}/answer");
    assert_error(
        &mca_provider.post(&answer, json!({"answer": "will_provide", "entry_code": other_entry})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &provider.post(&answer, json!({"answer": "cannot_provide"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("legal_basis"),
    );
    assert_error(
        &provider.post(&answer, json!({"answer": "will_provide", "entry_code": other_entry})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("entry_code"),
    );
    let (status, answered) = provider
        .post(&answer, json!({"answer": "will_provide", "entry_code": persons, "comment": "已编目"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["status"], "will_provide");
    assert_eq!(answered["answer_entry_code"], persons.as_str());
    assert_error(
        &provider.post(&answer, json!({"answer": "cannot_provide", "legal_basis": "x"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    let (_, listed) = provider.get("/api/v1/sharing/demands?side=provider").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_error(
        &other_consumer.get(&format!("/api/v1/sharing/demands/{demand_id}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // Objections: a rejection is objected to, answered, upheld — and the
    // application is back before the provider.
    let (_, made) = consumer
        .post(
            "/api/v1/sharing/applications",
            json!({"entries": [{"entry_code": persons, "items": ["姓名"]}], "purpose": "资格认证",
                   "legal_basis": "《社会保险法》", "duration_days": 30, "delivery": ["lookup"]}),
        )
        .await;
    let application = made[0]["id"].as_str().unwrap().to_owned();
    let objections = "/api/v1/sharing/objections";
    let objection = json!({"kind": "rejection", "application_id": application, "statement": "拒绝理由不成立：社会保险法明确授权"});
    assert_error(
        &consumer.post(objections, objection.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("application_id"),
    );
    let (status, _) = provider
        .post(
            &application_path(&application, "decision"),
            json!({"decision": "reject", "legal_basis": "《居民身份证法》第六条"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &other_consumer.post(objections, objection.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &consumer.post(objections, json!({"kind": "rejection", "statement": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("application_id"),
    );
    let (status, raised) = consumer.post(objections, objection).await;
    assert_eq!(status, StatusCode::CREATED, "{raised}");
    assert_eq!(raised["status"], "open");
    let objection_id = raised["id"].as_str().unwrap().to_owned();
    let response = format!("/api/v1/sharing/objections/{objection_id}/response");
    assert_error(
        &mca_provider.post(&response, json!({"response": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, responded) = provider.post(&response, json!({"response": "该用途超出最小必要范围"})).await;
    assert_eq!(status, StatusCode::OK, "{responded}");
    assert_error(
        &provider.post(&response, json!({"response": "again"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    let ruling = format!("/api/v1/sharing/objections/{objection_id}/ruling");
    assert_error(
        &provider.post(&ruling, json!({"ruling": "dismissed", "reason": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, ruled) =
        reviewer.post(&ruling, json!({"ruling": "upheld", "reason": "申请依据充分，应予共享"})).await;
    assert_eq!(status, StatusCode::OK, "{ruled}");
    assert_eq!(ruled["status"], "upheld");
    assert_error(
        &reviewer.post(&ruling, json!({"ruling": "dismissed", "reason": "x"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    let (_, reopened) = consumer.get(&format!("/api/v1/sharing/applications/{application}")).await;
    assert_eq!(reopened["status"], "submitted", "{reopened}");
    let actions: Vec<&str> =
        reopened["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "reject", "reopen"]);
    let grant = approve(&provider, &consumer, &json!([{"id": application}])).await;

    // A data problem in granted data, dismissed by the authority.
    assert_error(
        &other_consumer
            .post(objections, json!({"kind": "data_problem", "grant_id": grant, "statement": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, problem) = consumer
        .post(objections, json!({"kind": "data_problem", "grant_id": grant, "statement": "部分姓名为空"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, dismissed) = reviewer
        .post(
            &format!("/api/v1/sharing/objections/{}/ruling", problem["id"].as_str().unwrap()),
            json!({"ruling": "dismissed", "reason": "源数据即为空，已通知治理"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dismissed}");
    assert_eq!(dismissed["status"], "dismissed");
    let (_, listed) = reviewer.get(objections).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}
