//! The catalog lifecycle over HTTP on both backends: registration, automatic
//! checks, review by the data authority, versions and diffs, withdrawal —
//! and every refusal the issue names.

use crate::support::{assert_error, Backend, Session, TestNode, PASSWORD};
use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
    ShareType, TopClass, UpdateCycle,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(catalog_lifecycle_with_every_refusal);

const SAMR_USCC: &str = "11100000000013426B";

fn item(name: &str, type_code: ItemType, length: Option<u32>, grade: Grade) -> InfoItem {
    InfoItem { grade: Some(grade), ..InfoItem::new(name, type_code, length) }
}

fn draft(department_id: &str, name: &str) -> EntryDraft {
    EntryDraft {
        classification: Classification::new(TopClass::Department, 1, Some(2), None),
        name: name.into(),
        summary: "市场主体登记的基本信息，含名称、统一社会信用代码、法定代表人、成立日期和注册资本。".into(),
        keywords: vec!["企业".into(), "营业执照".into()],
        provider: Provider { department_id: department_id.into(), uscc: SAMR_USCC.into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: vec![
            item("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1)),
            item("企业名称", ItemType::Character, Some(200), Grade::general(1)),
            item("法定代表人姓名", ItemType::Character, Some(50), Grade::general(3)),
            item("成立日期", ItemType::Date, Some(8), Grade::general(1)),
        ],
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api, ShareMode::Table],
        open_type: OpenType::NotOpen,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: None,
        resources: Vec::new(),
    }
}

fn path(code: &str) -> String {
    format!("/api/v1/catalog/entries/{}", code.replace('/', "%2F"))
}

async fn act(session: &Session, code: &str, action: Value) -> (StatusCode, Value) {
    session.post(&format!("{}/actions", path(code)), action).await
}

async fn catalog_lifecycle_with_every_refusal(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let samr = node.department(&admin, "国家市场监督管理总局", SAMR_USCC, "100000").await;
    let other = node.department(&admin, "民政部", "11100000000013039G", "100000").await;
    node.user(&admin, "samr.provider", &samr, &["provider"]).await;
    node.user(&admin, "samr.reviewer", &samr, &["provider", "authority"]).await;
    node.user(&admin, "mca.provider", &other, &["provider"]).await;
    node.user(&admin, "reviewer", &node.authority_department, &["authority"]).await;
    let provider = node.login("samr.provider", PASSWORD).await;
    let stranger = node.login("mca.provider", PASSWORD).await;
    let reviewer = node.login("reviewer", PASSWORD).await;
    let own_reviewer = node.login("samr.reviewer", PASSWORD).await;

    // Registration: only for one's own department, with its real USCC.
    let body = serde_json::to_value(draft(&samr, "企业登记基本信息")).unwrap();
    let (status, entry) = provider.post("/api/v1/catalog/entries", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let code = entry["code"].as_str().unwrap().to_owned();
    assert_eq!(code, "301002/000001", "分类码/顺序码 from the coding rule");
    assert_eq!(entry["status"], "draft");
    assert_error(
        &stranger.post("/api/v1/catalog/entries", body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let mut wrong_uscc = body.clone();
    wrong_uscc["provider"]["uscc"] = json!("11100000000013039G");
    assert_error(
        &provider.post("/api/v1/catalog/entries", wrong_uscc).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("provider.uscc"),
    );
    let mut bad_type = body.clone();
    bad_type["items"][1]["type_code"] = json!("Z");
    assert_error(
        &provider.post("/api/v1/catalog/entries", bad_type).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("items[1].type_code"),
    );
    assert_error(
        &provider.get("/api/v1/catalog/entries/not-a-code").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("code"),
    );

    // Unpublished entries are invisible to other departments, and not theirs to edit.
    assert_error(&stranger.get(&path(&code)).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&stranger.put(&path(&code), body.clone()).await, StatusCode::FORBIDDEN, "forbidden", None);
    let (_, listed) = stranger.get("/api/v1/catalog/entries").await;
    assert_eq!(listed, json!([]));
    let (status, found) = stranger.get("/api/v1/catalog/search?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["total"], 0, "a draft is not searchable by other departments: {found}");
    let (_, found) = provider.get("/api/v1/catalog/search?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7").await;
    assert_eq!(found["items"][0]["code"], code.as_str(), "the provider finds its own draft: {found}");

    // Inline checks: a stored entry's draft duplicates itself unless the
    // check is told which entry is being edited.
    let duplicates_of = |report: &Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["related_code"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, report) = provider.post("/api/v1/catalog/check", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(
        duplicates_of(&report).contains(&code),
        "a new registration like this one is a duplicate: {report}"
    );
    let (_, report) = provider
        .post(&format!("/api/v1/catalog/check?code={}", code.replace('/', "%2F")), body.clone())
        .await;
    assert!(!duplicates_of(&report).contains(&code), "the edited entry is not its own duplicate: {report}");
    // Another department's unpublished entry is still a duplicate (一数一源),
    // but its code and name are not the caller's to read; a reviewer's are.
    let theirs = serde_json::to_value(draft(&other, "企业登记基本信息")).unwrap();
    let (_, report) = stranger.post("/api/v1/catalog/check", theirs.clone()).await;
    let duplicate = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "duplicate");
    assert!(duplicate.is_some_and(|f| f.get("related_code").is_none()), "{report}");
    assert!(!report.to_string().contains(&code), "{report}");
    let (_, reviewed) = reviewer.post("/api/v1/catalog/check", theirs).await;
    assert!(duplicates_of(&reviewed).contains(&code), "{reviewed}");
    assert_error(
        &provider.post("/api/v1/catalog/check?code=nonsense", body.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("code"),
    );

    // No publishing without review.
    let publish = json!({"action": "publish"});
    assert_error(&act(&provider, &code, publish.clone()).await, StatusCode::CONFLICT, "conflict", None);
    assert_error(&act(&reviewer, &code, publish.clone()).await, StatusCode::CONFLICT, "conflict", None);

    // 不予共享 needs its legal basis: the automatic checks refuse the submission.
    let mut not_shared = draft(&samr, "企业登记基本信息");
    not_shared.share_type = ShareType::NotShared;
    not_shared.share_modes.clear();
    let (status, _) = provider.put(&path(&code), serde_json::to_value(&not_shared).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let refused = act(&provider, &code, json!({"action": "submit"})).await;
    assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", Some("legal_basis"));

    // Fixed and submitted; the provider department may not review its own entry.
    provider.put(&path(&code), body.clone()).await;
    let (status, outcome) = act(&provider, &code, json!({"action": "submit"})).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["entry"]["status"], "submitted");
    assert!(outcome["checks"]["findings"].is_array());
    assert_error(
        &act(&own_reviewer, &code, json!({"action": "approve"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // Returned with per-field reasons, revised, resubmitted, approved, published.
    let (status, returned) = act(
        &reviewer,
        &code,
        json!({"action": "return", "reasons": [{"field": "summary", "reason": "摘要需说明数据范围"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{returned}");
    assert_eq!(returned["entry"]["status"], "returned");
    let mut revised = body.clone();
    revised["summary"] = json!("全国市场主体登记的基本信息，覆盖企业和个体工商户。");
    assert_eq!(provider.put(&path(&code), revised.clone()).await.0, StatusCode::OK);
    assert_error(
        &act(&provider, &code, json!({"action": "submit"})).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    assert_eq!(act(&provider, &code, json!({"action": "revise"})).await.0, StatusCode::OK);
    assert_eq!(act(&provider, &code, json!({"action": "submit"})).await.0, StatusCode::OK);
    assert_eq!(act(&reviewer, &code, json!({"action": "approve"})).await.0, StatusCode::OK);
    // Approved, but only the authority publishes.
    assert_error(&act(&provider, &code, publish.clone()).await, StatusCode::FORBIDDEN, "forbidden", None);
    let (status, published) = act(&reviewer, &code, publish.clone()).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["entry"]["status"], "published");
    assert!(published["entry"]["published_on"].is_string());

    // Published: searchable by every department (营业执照 is a keyword), with facets and highlights;
    // not by the public, since the entry is 不予开放.
    let (_, found) = stranger.get("/api/v1/catalog/search?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["code"], code.as_str());
    assert!(found["facets"]["share_type"].is_array(), "{found}");
    let (_, found) = node.anonymous().get("/api/v1/catalog/search?q=%E4%BC%81%E4%B8%9A").await;
    assert_eq!(found["total"], 0, "{found}");
    assert_error(
        &stranger.get("/api/v1/catalog/search?size=1000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("size"),
    );

    // Published: everyone sees it, with who did what and why.
    let (status, view) = stranger.get(&path(&code)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["entry"]["version"], 1);
    let actions: Vec<&str> =
        view["history"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert!(
        actions.ends_with(&["submit", "return", "revise", "submit", "approve", "publish"]),
        "{actions:?}"
    );
    let reasons =
        &view["history"].as_array().unwrap().iter().find(|s| s["action"] == "return").unwrap()["reasons"];
    assert_eq!(reasons[0]["field"], "summary");

    // Version 2: drafted from the published one, reviewed, published; version 1 superseded.
    let (status, second) = act(&provider, &code, json!({"action": "new_version"})).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["entry"]["version"], 2);
    let mut renamed = revised.clone();
    renamed["name"] = json!("市场主体登记基本信息");
    assert_eq!(provider.put(&path(&code), renamed).await.0, StatusCode::OK);
    assert_eq!(act(&provider, &code, json!({"action": "submit"})).await.0, StatusCode::OK);
    // While version 2 is under review, readers outside still get version 1.
    assert_eq!(stranger.get(&path(&code)).await.1["entry"]["version"], 1);
    assert_eq!(act(&reviewer, &code, json!({"action": "approve"})).await.0, StatusCode::OK);
    assert_eq!(act(&reviewer, &code, publish.clone()).await.0, StatusCode::OK);
    let (_, view) = stranger.get(&path(&code)).await;
    assert_eq!(view["entry"]["version"], 2);
    assert_eq!(
        view["versions"],
        json!([{"version": 1, "status": "superseded"}, {"version": 2, "status": "published"}])
    );
    let (status, diff) = stranger.get(&format!("{}/diff?from=1&to=2", path(&code))).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(
        diff["fields"],
        json!([{"field": "name", "old": "企业登记基本信息", "new": "市场主体登记基本信息"}])
    );

    // The one ledger's statistics count published entries; statuses are for reviewers.
    let (status, stats) = stranger.get("/api/v1/catalog/stats").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["published"], 1);
    assert_eq!(stats["by"]["provider"], json!([{"key": samr, "label": "国家市场监督管理总局", "count": 1}]));
    assert_eq!(stats["by"]["share_type"][0]["label"], "无条件共享");
    assert_eq!(stats["by"]["grade"][0]["key"], "general_3");
    assert!(stats["by"].get("status").is_none() && stats["overdue"].is_null(), "{stats}");
    let (_, stats) = reviewer.get("/api/v1/catalog/stats").await;
    assert_eq!(stats["by"]["status"][0]["key"], "published");
    assert_eq!(stats["overdue"], 0);

    // One data, one source: a near-identical second entry is refused at submission, naming the first.
    let (status, copy) = provider
        .post(
            "/api/v1/catalog/entries",
            serde_json::to_value(draft(&samr, "市场主体登记基本信息表")).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let copy_code = copy["code"].as_str().unwrap();
    assert_eq!(copy_code, "301002/000002");
    let refused = act(&provider, copy_code, json!({"action": "submit"})).await;
    assert_eq!(refused.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.1);
    assert!(refused.1["message"].as_str().unwrap().contains(&code), "{}", refused.1);

    // Withdrawal needs a reason, and hides the entry from other departments.
    assert_error(
        &act(&provider, &code, json!({"action": "withdraw", "reason": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("reason"),
    );
    let (status, withdrawn) =
        act(&provider, &code, json!({"action": "withdraw", "reason": "数据已并入市场主体库"})).await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_error(&stranger.get(&path(&code)).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(provider.get(&path(&code)).await.1["entry"]["status"], "withdrawn");
    let (_, found) = stranger.get("/api/v1/catalog/search?q=%E5%B8%82%E5%9C%BA%E4%B8%BB%E4%BD%93").await;
    assert!(found["items"].as_array().unwrap().iter().all(|hit| hit["code"] != code.as_str()), "{found}");

    // Each step is in the ledger.
    let (_, overdue) = reviewer.get("/api/v1/catalog/overdue").await;
    assert_eq!(overdue, json!([]), "nothing is past its 20 working days yet");
    let size = node.store.ledger_size().await.unwrap();
    let mut kinds = Vec::new();
    for index in 0..size {
        kinds.push(node.store.ledger_entry(index).await.unwrap().entry.kind);
    }
    for kind in [
        "catalog.create",
        "catalog.edit",
        "catalog.submit",
        "catalog.return",
        "catalog.approve",
        "catalog.publish",
        "catalog.new_version",
        "catalog.withdraw",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing from the ledger: {kinds:?}");
    }
}

/// An upgrade that changes the search schema finds the old index on disk:
/// the node recreates it (its reconciler then refills it from the store)
/// instead of refusing to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_index_of_another_schema_version_is_recreated() {
    use govdata_search::{SearchError, SearchIndex, SCHEMA_VERSION};
    use govdata_server::{state::catalog_service, Config};

    let dir = tempfile::tempdir().unwrap();
    let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
    let (store, node) = govdata_server::open(&config).await.unwrap();
    drop(catalog_service(&store, &config, &node).unwrap());

    let meta = dir.path().join("search").join("meta.json");
    let current = std::fs::read_to_string(&meta).unwrap();
    let older = current.replace(
        &format!(r#"\"schema_version\":{SCHEMA_VERSION}"#),
        &format!(r#"\"schema_version\":{}"#, SCHEMA_VERSION - 1),
    );
    assert_ne!(older, current, "the commit payload names the schema version");
    std::fs::write(&meta, older).unwrap();
    assert!(matches!(
        SearchIndex::open(&dir.path().join("search")),
        Err(SearchError::RebuildRequired { .. })
    ));

    let catalog = catalog_service(&store, &config, &node).unwrap();
    assert!(catalog.reconcile().await.unwrap().is_clean());
    assert!(std::fs::read_to_string(&meta)
        .unwrap()
        .contains(&format!(r#"\"schema_version\":{SCHEMA_VERSION}"#)));
}
