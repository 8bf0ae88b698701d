//! Bulk import and export of catalog entries over HTTP on both backends: a
//! valid workbook registers drafts, one bad row imports nothing and names
//! the row and column, an export imports back, re-running is idempotent.

use crate::support::{Backend, Session, TestNode, PASSWORD};
use govdata_catalog::transfer::{export_drafts, Format};
use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
    ShareType, TopClass, UpdateCycle,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(import_and_export);

const SAMR_USCC: &str = "11100000000013426B";

fn item(name: &str, type_code: ItemType, length: Option<u32>, grade: Grade) -> InfoItem {
    InfoItem { grade: Some(grade), ..InfoItem::new(name, type_code, length) }
}

fn draft(department_id: &str, name: &str, items: &[&str]) -> EntryDraft {
    EntryDraft {
        classification: Classification::new(TopClass::Department, 1, Some(2), None),
        name: name.into(),
        summary: format!("{name}：市场主体登记的基本信息，供各部门核验使用。"),
        keywords: vec!["企业".into()],
        provider: Provider { department_id: department_id.into(), uscc: SAMR_USCC.into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: items.iter().map(|n| item(n, ItemType::Character, Some(50), Grade::general(1))).collect(),
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api],
        open_type: OpenType::NotOpen,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: None,
        resources: Vec::new(),
    }
}

async fn upload(session: &Session, query: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    session.post_raw(&format!("/api/v1/catalog/import?{query}"), content_type, body).await
}

async fn download(session: &Session, query: &str) -> (StatusCode, String, Vec<u8>) {
    let response =
        session.client.get(format!("{}/api/v1/catalog/export?{query}", session.base)).send().await.unwrap();
    let status = response.status();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, disposition, response.bytes().await.unwrap().to_vec())
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn import_and_export(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let samr = node.department(&admin, "国家市场监督管理总局", SAMR_USCC, "100000").await;
    let other = node.department(&admin, "民政部", "11100000000013039G", "100000").await;
    node.user(&admin, "samr.provider", &samr, &["provider"]).await;
    node.user(&admin, "mca.provider", &other, &["provider"]).await;
    node.user(&admin, "samr.auditor", &samr, &["auditor"]).await;
    let provider = node.login("samr.provider", PASSWORD).await;
    let stranger = node.login("mca.provider", PASSWORD).await;
    let viewer = node.login("samr.auditor", PASSWORD).await;

    let drafts = vec![
        draft(&samr, "企业登记基本信息", &["统一社会信用代码", "企业名称", "成立日期"]),
        draft(&samr, "行政处罚信息", &["处罚决定书文号", "违法行为类型", "处罚内容"]),
    ];
    let xlsx = export_drafts(Format::Xlsx, &drafts).unwrap();

    // One bad row: 422 naming the row and column, and nothing imported.
    let mut bad = drafts.clone();
    bad[1].items[1].length = Some(5000);
    let (status, body) =
        upload(&provider, "format=xlsx", XLSX, export_drafts(Format::Xlsx, &bad).unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["report"]["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["report"]["errors"][0]["row"], 6, "{body}");
    assert_eq!(body["report"]["errors"][0]["column"], "长度", "{body}");
    assert_eq!(body["imported"], json!([]));
    assert_eq!(provider.get("/api/v1/catalog/entries").await.1, json!([]));

    // Only a provider, and only for its own department (checked per row).
    let (status, _) = upload(&viewer, "format=xlsx", XLSX, xlsx.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = upload(&stranger, "format=xlsx", XLSX, xlsx.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["report"]["errors"][0]["column"], "提供方部门标识", "{body}");
    assert_eq!(body["report"]["errors"].as_array().unwrap().len(), 2, "one per entry: {body}");
    // Not a workbook at all.
    let (status, body) = upload(&provider, "format=xlsx", XLSX, b"PK\x03\x04 garbage".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["report"]["errors"][0]["row"], 0, "{body}");
    // Larger than the body limit.
    let (status, body) = upload(&provider, "format=csv", "text/csv", vec![b'a'; 65 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // A dry run of the valid file registers nothing.
    let (status, body) = upload(&provider, "format=xlsx&dry_run=true", XLSX, xlsx.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], json!([]));
    assert_eq!(body["report"]["entries"], 2);
    assert_eq!(body["report"]["rows_read"], 6);

    // The valid workbook: two drafts with codes from the coding rule.
    let (status, body) = upload(&provider, "", XLSX, xlsx.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], json!(["301002/000001", "301002/000002"]), "{body}");
    let (_, listed) = provider.get("/api/v1/catalog/entries").await;
    let mut names: Vec<&str> =
        listed.as_array().unwrap().iter().map(|e| e["metadata"]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["企业登记基本信息", "行政处罚信息"]);
    assert!(listed.as_array().unwrap().iter().all(|e| e["status"] == "draft"));

    // Re-running the same file is idempotent: both already there, nothing new.
    let (status, body) = upload(&provider, "format=xlsx", XLSX, xlsx.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], json!([]));
    assert_eq!(body["skipped"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(provider.get("/api/v1/catalog/entries").await.1.as_array().unwrap().len(), 2);

    // A changed copy of a registered entry is a duplicate, reported on its row.
    let mut copy = drafts[..1].to_vec();
    copy[0].summary.push_str("（修订）");
    let (status, body) =
        upload(&provider, "format=json", "application/json", export_drafts(Format::Json, &copy).unwrap())
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["report"]["errors"][0]["row"], 1, "{body}");

    // Export in every format, then re-import it as a dry run: it passes.
    for (format, content_type) in [("xlsx", XLSX), ("csv", "text/csv"), ("json", "application/json")] {
        let (status, disposition, file) =
            download(&provider, &format!("format={format}&department_id={samr}")).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&file));
        assert_eq!(disposition, format!("attachment; filename=\"catalog.{format}\""));
        let (status, body) = upload(&provider, "dry_run=true", content_type, file).await;
        assert_eq!(status, StatusCode::OK, "{format}: {body}");
        assert_eq!(body["report"]["entries"], 2, "{format}: {body}");
        assert_eq!(body["skipped"].as_array().unwrap().len(), 2, "{format}: {body}");
    }
    // Another department sees none of these unpublished drafts.
    let (status, _, file) = download(&stranger, &format!("format=json&department_id={samr}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&file).unwrap(), json!([]));
    let (status, _, _) = download(&provider, "format=pdf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
