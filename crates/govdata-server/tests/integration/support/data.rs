//! Catalog entries and base-library data for scenarios that need published
//! entries with loaded resources.

use std::time::Duration;

use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
    ShareType, TopClass, UpdateCycle,
};
use govdata_model::validate::id_check_char;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::Session;

pub const MPS_USCC: &str = "11100000000013127A";
pub const MOHRSS_USCC: &str = "11100000000013332X";
pub const MCA_USCC: &str = "11100000000013039G";

pub fn item(name: &str, type_code: ItemType, length: Option<u32>) -> InfoItem {
    InfoItem { grade: Some(Grade::general(2)), ..InfoItem::new(name, type_code, length) }
}

pub fn draft(department_id: &str, uscc: &str, name: &str, project: u16, items: Vec<InfoItem>) -> EntryDraft {
    EntryDraft {
        classification: Classification::new(TopClass::Base, 1, Some(project), None),
        name: name.into(),
        summary: format!("{name}，用于数据资源和归集测试，覆盖全部测试人员。"),
        keywords: vec!["人口".into()],
        provider: Provider { department_id: department_id.into(), uscc: uscc.into() },
        format_class: FormatClass::Database,
        format_type: "delta".into(),
        items,
        share_type: ShareType::Conditional,
        share_condition: Some("仅限依法履职使用".into()),
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

/// Registers, submits, approves and publishes an entry; returns its code.
pub async fn published(provider: &Session, reviewer: &Session, draft: EntryDraft) -> String {
    let (status, entry) =
        provider.post("/api/v1/catalog/entries", serde_json::to_value(draft).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let code = entry["code"].as_str().unwrap().to_owned();
    let actions = format!("/api/v1/catalog/entries/{}/actions", code.replace('/', "%2F"));
    for (who, action) in [(provider, "submit"), (reviewer, "approve"), (reviewer, "publish")] {
        let (status, body) = who.post(&actions, json!({"action": action})).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    code
}

pub fn resources_path(code: &str) -> String {
    format!("/api/v1/catalog/entries/{}/resources", code.replace('/', "%2F"))
}

/// A valid citizen ID for a sequence number (Beijing Dongcheng, born 1990).
pub fn citizen_id(n: u32) -> String {
    let first17 = format!("110101199001{:02}{:03}", 1 + n % 28, n % 1000);
    format!("{first17}{}", id_check_char(&first17))
}

/// Runs a job and waits for it to end; returns the finished job.
pub async fn run_job(session: &Session, id: &str, body: Vec<u8>) -> Value {
    let (status, job) = session.post_raw(&format!("/api/v1/resources/{id}/jobs"), "text/csv", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    for _ in 0..600 {
        let (_, jobs) = session.get(&format!("/api/v1/resources/{id}/jobs")).await;
        let job = jobs.as_array().unwrap().iter().find(|j| j["id"] == job_id.as_str()).unwrap().clone();
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {job_id} did not end");
}
