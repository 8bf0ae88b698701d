//! The real binary killed with SIGKILL in the middle of an aggregation job:
//! after a restart the job is marked failed, its upload is gone, and the
//! table is exactly at its previous version.

use std::time::Duration;

use crate::support::{init, serve, ADMIN_PASSWORD};
use govdata_model::catalog::{Classification, TopClass};
use govdata_model::validate::id_check_char;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "user-password-1";

/// A logged-in client and its CSRF token.
struct Caller {
    client: Client,
    csrf: String,
    base: String,
}

impl Caller {
    async fn login(base: &str, username: &str, password: &str) -> Caller {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let csrf = crate::support::login(&client, base, username, password).await;
        Caller { client, csrf, base: base.to_owned() }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn upload(&self, resource: &str, body: Vec<u8>) -> Value {
        let response = self
            .client
            .post(format!("{}/api/v1/resources/{resource}/jobs", self.base))
            .header("x-csrf-token", &self.csrf)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    async fn job(&self, resource: &str, id: &str) -> Value {
        let jobs = self.get(&format!("/api/v1/resources/{resource}/jobs")).await;
        jobs.as_array().unwrap().iter().find(|j| j["id"] == id).unwrap().clone()
    }
}

fn persons_csv(rows: u32) -> Vec<u8> {
    let mut csv = String::from("sfzh,xm\n");
    for n in 0..rows {
        let first17 = format!("11010119{:02}0101{:03}", 50 + n / 1000 % 50, n % 1000);
        csv.push_str(&format!("{first17}{},姓名{n}\n", id_check_char(&first17)));
    }
    csv.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ingestion_leaves_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), None);
    let node = serve(dir.path(), None);
    let admin = Caller::login(&node.base, "admin", ADMIN_PASSWORD).await;
    let department = admin
        .post(
            "/api/v1/departments",
            json!({"name": "公安部", "uscc": "11100000000013127A", "region": "100000"}),
        )
        .await;
    let department = department["department"]["id"].as_str().unwrap().to_owned();
    let departments = admin.get("/api/v1/departments").await;
    let authority_department =
        departments.as_array().unwrap().iter().find(|d| d["name"] == "国家数据局").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    for (username, dept, role) in [
        ("provider", department.as_str(), "provider"),
        ("reviewer", authority_department.as_str(), "authority"),
    ] {
        admin
            .post(
                "/api/v1/users",
                json!({"username": username, "display_name": username, "department_id": dept,
                       "roles": [role], "password": PASSWORD}),
            )
            .await;
    }
    let provider = Caller::login(&node.base, "provider", PASSWORD).await;
    let reviewer = Caller::login(&node.base, "reviewer", PASSWORD).await;
    let entry = provider
        .post(
            "/api/v1/catalog/entries",
            json!({
                "classification": Classification::new(TopClass::Base, 1, Some(9), None),
                "name": "人口基础信息", "summary": "全员人口基础信息，用于中断恢复测试的人口数据。",
                "keywords": ["人口"],
                "provider": {"department_id": department, "uscc": "11100000000013127A"},
                "format_class": "database", "format_type": "delta",
                "items": [
                    {"name": "公民身份号码", "type_code": "C", "length": 18, "grade": {"level": "general", "sublevel": 4}},
                    {"name": "姓名", "type_code": "C", "length": 50, "grade": {"level": "general", "sublevel": 3}}
                ],
                "share_type": "conditional", "share_condition": "依法履职", "share_modes": ["api"],
                "open_type": "not_open", "update_cycle": "daily"
            }),
        )
        .await;
    let code = entry["code"].as_str().unwrap().replace('/', "%2F");
    for (who, action) in [(&provider, "submit"), (&reviewer, "approve"), (&reviewer, "publish")] {
        who.post(&format!("/api/v1/catalog/entries/{code}/actions"), json!({"action": action})).await;
    }
    let resource = provider
        .post(
            &format!("/api/v1/catalog/entries/{code}/resources"),
            json!({
                "name": "人口基础库",
                "access": {"kind": "physical", "source": {"upload": {"format": {"kind": "csv"}}}, "mode": {"kind": "full"}},
                "mapping": [{"item": "公民身份号码", "column": "sfzh"}, {"item": "姓名", "column": "xm"}],
                "entity_key": {"item": "公民身份号码", "kind": "person"}
            }),
        )
        .await;
    let resource = resource["id"].as_str().unwrap().to_owned();

    // Version 0: 1,000 persons.
    let first = provider.upload(&resource, persons_csv(1_000)).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let done = loop {
        let job = provider.job(&resource, &first_id).await;
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["rows_written"], 1_000);

    // A full replacement with far more rows, killed while it runs.
    let second = provider.upload(&resource, persons_csv(3_000_000)).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    loop {
        let job = provider.job(&resource, &second_id).await;
        assert_ne!(job["status"], "succeeded", "the job finished before it could be killed; make it bigger");
        if job["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut node = node;
    node.child.kill().unwrap();
    node.child.wait().unwrap();

    let node = serve(dir.path(), None);
    let provider = Caller::login(&node.base, "provider", PASSWORD).await;
    let job = loop {
        let job = provider.job(&resource, &second_id).await;
        if job["status"] != "running" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("interrupted"), "{job}");
    let profile = provider.get(&format!("/api/v1/resources/{resource}/profile")).await;
    assert_eq!(profile["rows"], 1_000, "the table is at its previous version: {profile}");
    let versions = provider.get(&format!("/api/v1/resources/{resource}/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    assert_eq!(versions[0]["job_id"], first_id.as_str());
    let uploads = std::fs::read_dir(dir.path().join("uploads")).unwrap().count();
    assert_eq!(uploads, 0, "the interrupted job's upload is removed");
}
