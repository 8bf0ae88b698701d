//! The real `govdata` binary, started as a process and driven over HTTP:
//! `init` + `serve` on SQLite and PostgreSQL, the fixed API points, `config
//! check`, the demo federation, and a kill -9 in the middle of writes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{govdata, init, login, serve, Served, ADMIN_PASSWORD, BIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;

async fn fixed_points_and_login(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), database_url);
    let node = serve(dir.path(), database_url);
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let get = |path: &str| client.get(format!("{}{path}", node.base)).send();

    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    let info: Value = get("/api/v1/node").await.unwrap().json().await.unwrap();
    for field in ["id", "name", "level", "region", "public_key"] {
        assert!(info[field].is_string(), "node.{field}: {info}");
    }
    assert!(info["parent"].is_null());
    assert_eq!(info["level"], "national");
    let openapi: Value = get("/api/v1/openapi.json").await.unwrap().json().await.unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    assert!(openapi["paths"]["/api/v1/validate/id-number"]["post"].is_object());

    let validate = |kind: &str, value: &str| {
        let request =
            client.post(format!("{}/api/v1/validate/{kind}", node.base)).json(&json!({"value": value}));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let check = validate("id-number", "11010519491231002x").await;
    assert_eq!(check["valid"], true);
    assert_eq!(check["normalized"], "11010519491231002X");
    let check = validate("uscc", "91350100M000100Y42").await;
    assert_eq!(check["valid"], true);
    assert!(!check["warnings"].as_array().unwrap().is_empty(), "{check}");

    let csrf = login(&client, &node.base, "admin", ADMIN_PASSWORD).await;
    let created = client
        .post(format!("{}/api/v1/departments", node.base))
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "公安部", "uscc": "11100000000013338W", "region": "100000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("govdata_http_requests_total") && metrics.contains("route=\"/api/v1/departments\""),
        "{metrics}"
    );
    assert!(metrics.contains("govdata_ledger_group_commits_total"), "{metrics}");
}

#[tokio::test]
async fn sqlite_node_serves_the_fixed_points() {
    fixed_points_and_login(None).await;
}

#[tokio::test]
async fn postgres_node_serves_the_fixed_points() {
    if let Some(url) = govdata_store::testing::fresh_postgres_database().await {
        fixed_points_and_login(Some(&url)).await;
    }
}

#[test]
fn config_check_names_the_wrong_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("govdata.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\nmax_body_bytes = 10\n").unwrap();
    let output = govdata(dir.path()).arg("--config").arg(&file).args(["config", "check"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("server.max_body_bytes"));

    std::fs::write(&file, "[node]\nlevle = \"national\"\n").unwrap();
    let output = govdata(dir.path()).arg("--config").arg(&file).args(["config", "check"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("levle"));

    // Environment variables override the file.
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let output = govdata(dir.path())
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .env("GOVDATA_SERVER__LISTEN", "127.0.0.1:7777")
        .env("GOVDATA_NODE__LEVEL", "provincial")
        .env("GOVDATA_NODE__REGION", "440000")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("127.0.0.1:7777") && shown.contains("provincial"), "{shown}");

    // A secret file others can read is refused.
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "postgres://u:p@localhost/db").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let output = govdata(dir.path())
            .args(["department", "list"])
            .env("GOVDATA_DATABASE__URL_FILE", &secret)
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("chmod 600"));
    }
}

/// Four free consecutive ports for the demo federation.
fn free_port_block() -> u16 {
    for _ in 0..50 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port > 65000 {
            continue;
        }
        let rest: Vec<_> =
            (1..4).filter_map(|i| std::net::TcpListener::bind(("127.0.0.1", port + i)).ok()).collect();
        if rest.len() == 3 {
            return port;
        }
    }
    panic!("no four consecutive free ports");
}

#[tokio::test]
async fn demo_federation_on_sqlite_serves_every_seeded_account() {
    demo_federation(None).await;
}

/// The same federation with every node's store on PostgreSQL, one database
/// per node named after the given URL's.
#[tokio::test]
async fn demo_federation_on_postgres_serves_every_seeded_account() {
    let Some(url) = govdata_store::testing::fresh_postgres_database().await else { return };
    demo_federation(Some(&url)).await;
    let name = govdata_store::postgres_server::database_name(&url).unwrap();
    for node in ["national", "guangdong", "zhejiang", "guangdong_police"] {
        let node_url =
            govdata_store::postgres_server::with_database(&url, &format!("{name}_{node}")).unwrap();
        let mut conn = sqlx::PgConnection::connect(&node_url).await.unwrap();
        let departments: i64 =
            sqlx::query_scalar("SELECT count(*) FROM departments").fetch_one(&mut conn).await.unwrap();
        assert!(departments > 0, "{node} seeded on PostgreSQL");
    }
}

#[test]
fn demo_names_a_wrong_database_url() {
    let dir = tempfile::tempdir().unwrap();
    for (url, said) in [
        ("postgres://127.0.0.1:1", "names no database"),
        ("sqlite://demo.db", "must start with postgres:"),
        ("postgres://127.0.0.1:1/Demo-Nodes", "database name 'Demo-Nodes_national'"),
    ] {
        let output = Command::new(BIN)
            .args(["demo", "--data-dir"])
            .arg(dir.path())
            .args(["--database-url", url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(said), "{url}: {stderr}");
    }
}

async fn demo_federation(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port_block();
    let mut command = Command::new(BIN);
    command.args(["demo", "--data-dir"]).arg(dir.path()).args([
        "--port",
        &port.to_string(),
        "--persons",
        "3000",
        "--enterprises",
        "600",
        "--catalog-entries",
        "80",
    ]);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout.lines().map(|l| l.unwrap()).any(|l| l == "ready");
    let served = Served { child, base: String::new() };
    assert!(ready, "the demo never said ready");

    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap())
            .unwrap();
    let nodes = credentials["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    let mut roles_seen = std::collections::BTreeSet::new();
    for node in nodes {
        let base = node["url"].as_str().unwrap();
        let info: Value = reqwest::get(format!("{base}/api/v1/node")).await.unwrap().json().await.unwrap();
        assert_eq!(info["level"], node["level"]);
        assert_eq!(info["region"], node["region"]);
        match node["level"].as_str().unwrap() {
            "provincial" => assert_eq!(info["parent"], format!("http://127.0.0.1:{port}")),
            "department" => assert_eq!(info["parent"], nodes[1]["url"]),
            _ => assert_eq!(info["parent"], Value::Null),
        }
        for user in node["users"].as_array().unwrap() {
            let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
            login(&client, base, user["username"].as_str().unwrap(), user["password"].as_str().unwrap())
                .await;
            for role in user["roles"].as_array().unwrap() {
                roles_seen.insert(role.as_str().unwrap().to_owned());
            }
        }
        // The seeded catalog is served: every latest version that is published is listed.
        let counts = &node["catalog"]["by_status"];
        let consumer =
            node["users"].as_array().unwrap().iter().find(|u| u["roles"] == json!(["consumer"])).unwrap();
        let (client, _) = logged_in(node, consumer["username"].as_str().unwrap()).await;
        let listed: Value = client
            .get(format!("{base}/api/v1/catalog/entries?status=published&size=200"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let libraries = node["libraries"].as_array().unwrap().len() as u64;
        let expected =
            counts["published"].as_u64().unwrap() + counts["published_v2"].as_u64().unwrap() + libraries;
        assert_eq!(listed.as_array().unwrap().len() as u64, expected, "{counts}");
        let key = node["api_keys"][0]["key"].as_str().unwrap();
        let me: Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/auth/me"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["roles"], json!(["consumer"]));
        // The base-library files hold valid, region-consistent identities.
        for file in node["base_library"].as_array().unwrap() {
            let text = std::fs::read_to_string(file["path"].as_str().unwrap()).unwrap();
            assert_eq!(text.lines().count() - 1, file["rows"].as_u64().unwrap() as usize);
        }
        if node["level"] == "department" {
            // The department node has its own population library and no sharing scenarios.
            assert_eq!(node["libraries"].as_array().unwrap().len(), 1, "{}", node["libraries"]);
            continue;
        }
        // The base libraries are loaded, and the person profile joins them for the authority.
        let libraries = node["libraries"].as_array().unwrap();
        let names: Vec<&str> = libraries.iter().map(|l| l["library"].as_str().unwrap()).collect();
        // The guide's five base libraries, where the node's departments provide them.
        let expected: &[&str] = match node["id"].as_str().unwrap() {
            "zhejiang" => &["人口基础库", "法人基础库", "经济基础库", "电子证照库"],
            _ => &["人口基础库", "法人基础库", "自然资源基础库", "经济基础库", "电子证照库"],
        };
        assert!(expected.iter().all(|name| names.contains(name)), "{names:?}");
        assert!(libraries.iter().all(|l| l["rows_written"].as_u64().unwrap() > 0), "{libraries:?}");
        let (client, _) = logged_in(node, "authority").await;
        let persons = std::fs::read_to_string(node["base_library"][0]["path"].as_str().unwrap()).unwrap();
        let first_id = persons.lines().nth(1).unwrap().split(',').next().unwrap();
        let profile: Value = client
            .get(format!("{base}/api/v1/profiles/person/{first_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!profile["sections"].as_array().unwrap().is_empty(), "{profile}");
        if node["id"] == "national" {
            // 一企一档 of a land-use right holder joins the land registry with the other libraries.
            let land = std::fs::read_to_string(
                Path::new(node["data_dir"].as_str().unwrap()).join("seed/land-use-rights.csv"),
            )
            .unwrap();
            let holder = land.lines().nth(1).unwrap().split(',').nth(1).unwrap();
            let profile: Value = client
                .get(format!("{base}/api/v1/profiles/enterprise/{holder}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let sources: Vec<&str> = profile["sections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["resource_name"].as_str().unwrap())
                .collect();
            for library in ["法人基础库", "自然资源基础库", "电子证照库"] {
                assert!(sources.iter().any(|s| s.starts_with(library)), "{library} not in {sources:?}");
            }
        }
        // Applications in every state; the demo application's key reads
        // through its active grant, masked.
        assert_eq!(
            node["sharing"]["applications"],
            json!({"approved": 2, "submitted": 2, "rejected": 1, "withdrawn": 1})
        );
        assert_eq!(node["sharing"]["objections"], json!({"open": 1, "upheld": 1, "dismissed": 1}));
        assert_eq!(node["sharing"]["demands"], json!({"open": 1, "will_provide": 1, "cannot_provide": 1}));
        let grants = node["sharing"]["grants"].as_array().unwrap();
        let grant = grants.iter().find(|g| g["state"] == "active" && g["consumer"] == "renshe").unwrap();
        let answer: Value = reqwest::Client::new()
            .post(format!("{base}/api/v1/gateway/grants/{}/lookup", grant["grant_id"].as_str().unwrap()))
            .bearer_auth(key)
            .json(&json!({"keys": [first_id]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let row = &answer["results"][0]["rows"][0];
        assert!(row["公民身份号码"].as_str().unwrap().contains("********"), "{answer}");
        assert!(row["姓名"].as_str().unwrap().ends_with('*'), "{answer}");
        if node["region"] == "440000" {
            let persons = std::fs::read_to_string(node["base_library"][0]["path"].as_str().unwrap()).unwrap();
            assert!(
                persons.lines().skip(1).all(|row| row.starts_with("44")),
                "provincial rows stay in the province"
            );
        }
    }
    assert_eq!(roles_seen.len(), 7, "every role has a demo account: {roles_seen:?}");
    assert_eq!(nodes[0]["base_library"][0]["rows"], 3000);
    // The children joined their parents, and the national search shows every node's entries.
    let national = &nodes[0];
    let (client, _) = logged_in(national, "authority").await;
    let base = national["url"].as_str().unwrap();
    let started = std::time::Instant::now();
    loop {
        let page: Value = client
            .get(format!("{base}/api/v1/catalog/search?size=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let homes: std::collections::BTreeSet<&str> =
            page["facets"]["node"].as_array().unwrap().iter().map(|f| f["value"].as_str().unwrap()).collect();
        if homes.len() == 4 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "national search: {homes:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    cross_node_application(nodes).await;
    data_return(nodes).await;
    drop(served);
}

/// The national hub returns its population library to Guangdong and to the
/// police node below it (数据回流): each reads only its own region's rows
/// through the hub's gateway.
async fn data_return(nodes: &[Value]) {
    use reqwest::Method;
    let (national, guangdong, police) = (&nodes[0], &nodes[1], &nodes[3]);
    let national_url = national["url"].as_str().unwrap();
    let population =
        national["libraries"].as_array().unwrap().iter().find(|l| l["library"] == "人口基础库").unwrap();
    let authority = logged_in(national, "authority").await;
    let returns = format!("{national_url}/api/v1/federation/returns");
    let body = |node: &str, region_item: &str| {
        json!({"node": node, "entry_code": population["entry_code"], "items": ["公民身份号码", "姓名", "户籍地行政区划代码"],
               "region_item": region_item, "legal_basis": "《政务数据共享管理办法》数据回流条款", "duration_days": 365})
    };
    let (status, refused) =
        call(&authority, Method::POST, returns.clone(), Some(body("guangdong", "籍贯"))).await;
    assert_eq!(
        (status, &refused["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("region_item")),
        "{refused}"
    );
    let (status, refused) =
        call(&authority, Method::POST, returns.clone(), Some(body("xinjiang", "户籍地行政区划代码"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let consumer = logged_in(national, "renshe.consumer").await;
    let (status, _) =
        call(&consumer, Method::POST, returns.clone(), Some(body("guangdong", "户籍地行政区划代码"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let persons = std::fs::read_to_string(national["base_library"][0]["path"].as_str().unwrap()).unwrap();
    let person_in = |prefix: &str| {
        persons
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_owned())
            .find(|id| id.starts_with(prefix))
            .unwrap()
    };
    let (cantonese, zhejiang_person) = (person_in("44"), person_in("33"));
    for node in [guangdong, police] {
        let id = node["id"].as_str().unwrap();
        let (status, made) =
            call(&authority, Method::POST, returns.clone(), Some(body(id, "户籍地行政区划代码"))).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made[0]["status"], "approved", "{made}");
        let local = logged_in(node, "authority").await;
        let base = node["url"].as_str().unwrap();
        let (status, grants) =
            call(&local, Method::GET, format!("{base}/api/v1/federation/returns/national"), None).await;
        assert_eq!(status, StatusCode::OK, "{grants}");
        let grant = &grants.as_array().unwrap()[0];
        assert_eq!(grant["terms"]["row_filter"]["prefixes"], json!(["44"]), "{grant}");
        let lookup =
            format!("{base}/api/v1/federation/returns/national/{}/lookup", grant["id"].as_str().unwrap());
        let (status, answer) =
            call(&local, Method::POST, lookup, Some(json!({"keys": [cantonese, zhejiang_person]}))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            answer["results"][0]["rows"].as_array().unwrap().len(),
            1,
            "a Guangdong resident: {answer}"
        );
        assert!(
            answer["results"][1]["rows"].as_array().unwrap().is_empty(),
            "not a Guangdong resident: {answer}"
        );
    }
}

fn user<'v>(node: &'v Value, username: &str) -> &'v Value {
    node["users"].as_array().unwrap().iter().find(|u| u["username"] == username).unwrap()
}

async fn logged_in(node: &Value, username: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let csrf = login(
        &client,
        node["url"].as_str().unwrap(),
        username,
        user(node, username)["password"].as_str().unwrap(),
    )
    .await;
    (client, csrf)
}

async fn call(
    who: &(reqwest::Client, String),
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = who.0.request(method, url).header("x-csrf-token", &who.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A consumer at the department node under Guangdong applies for Zhejiang's
/// population base library: the application travels police → guangdong →
/// national → zhejiang, is decided there by Zhejiang's provider, and the
/// consumer reads through Zhejiang's gateway, masked, from its own node.
async fn cross_node_application(nodes: &[Value]) {
    use reqwest::Method;
    let (police, zhejiang) = (&nodes[3], &nodes[2]);
    let police_url = police["url"].as_str().unwrap();
    let zhejiang_url = zhejiang["url"].as_str().unwrap();
    let population =
        zhejiang["libraries"].as_array().unwrap().iter().find(|l| l["library"] == "人口基础库").unwrap();
    let consumer = logged_in(police, "gongan.consumer").await;
    let application = json!({
        "home_node": "zhejiang",
        "application": {
            "entries": [{"entry_code": population["entry_code"], "items": ["公民身份号码", "姓名"]}],
            "purpose": "核查在粤浙江籍人员户籍信息", "legal_basis": "《中华人民共和国居民身份证法》第十五条",
            "duration_days": 180, "delivery": ["lookup", "subscription"]
        }
    });
    let (status, sent) = call(
        &consumer,
        Method::POST,
        format!("{police_url}/api/v1/federation/applications"),
        Some(application.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let remote_id = sent["at_home"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["application"]["remote_ids"], json!([remote_id]));
    // Zhejiang's provider sees it, from a department of another node, and decides.
    let provider = logged_in(zhejiang, "gongan.provider").await;
    let (_, seen) =
        call(&provider, Method::GET, format!("{zhejiang_url}/api/v1/sharing/applications/{remote_id}"), None)
            .await;
    assert_eq!(seen["status"], "submitted", "{seen}");
    assert!(
        seen["created_by"].as_str().unwrap().starts_with("node:guangdong-police/user:gongan.consumer"),
        "{seen}"
    );
    let (status, decided) = call(
        &provider,
        Method::POST,
        format!("{zhejiang_url}/api/v1/sharing/applications/{remote_id}/decision"),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    if decided["status"] == "awaiting_authority" {
        let authority = logged_in(zhejiang, "authority").await;
        let url = format!("{zhejiang_url}/api/v1/sharing/applications/{remote_id}/decision");
        let (status, decided) =
            call(&authority, Method::POST, url, Some(json!({"decision": "approve"}))).await;
        assert_eq!(status, StatusCode::OK, "{decided}");
    }
    // The consumer follows it from its own node, finds the grant, and reads.
    let local_id = sent["application"]["id"].as_str().unwrap();
    let (_, followed) =
        call(&consumer, Method::GET, format!("{police_url}/api/v1/federation/applications/{local_id}"), None)
            .await;
    assert_eq!(followed["at_home"][0]["status"], "approved", "{followed}");
    let (_, grants) =
        call(&consumer, Method::GET, format!("{police_url}/api/v1/federation/grants/zhejiang"), None).await;
    let grant_id =
        grants.as_array().unwrap().iter().find(|g| g["application_id"] == remote_id.as_str()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let persons = std::fs::read_to_string(zhejiang["base_library"][0]["path"].as_str().unwrap()).unwrap();
    let person = persons.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    let lookup = format!("{police_url}/api/v1/federation/grants/zhejiang/{grant_id}/lookup");
    let (status, answer) =
        call(&consumer, Method::POST, lookup.clone(), Some(json!({"keys": [person]}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = &answer["results"][0]["rows"][0];
    assert!(row["公民身份号码"].as_str().unwrap().contains("********"), "{answer}");
    assert_eq!(row.as_object().unwrap().len(), 2, "only the granted items: {answer}");
    // Items outside the grant are refused by Zhejiang's gateway.
    let (status, refused) =
        call(&consumer, Method::POST, lookup.clone(), Some(json!({"keys": [person], "items": ["出生日期"]})))
            .await;
    assert_eq!((status, &refused["field"]), (StatusCode::FORBIDDEN, &json!("items[0]")), "{refused}");
    // Another department of the same node holds no grant; a provider may not use other nodes.
    let (status, _) = call(
        &logged_in(police, "authority").await,
        Method::POST,
        lookup.clone(),
        Some(json!({"keys": [person]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &logged_in(police, "gongan.provider").await,
        Method::POST,
        lookup,
        Some(json!({"keys": [person]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, unknown) = call(
        &consumer,
        Method::POST,
        format!("{police_url}/api/v1/federation/applications"),
        Some(json!({"home_node": "xinjiang", "application": application["application"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    cross_node_subscription(&consumer, police_url, zhejiang, &grant_id).await;
    // Both ledgers record the reads.
    for (node, kind) in [
        (zhejiang, "gateway.lookup"),
        (police, "federation.remote_lookup"),
        (zhejiang, "gateway.subscription"),
        (police, "federation.remote_changes"),
    ] {
        let auditor = logged_in(node, "auditor").await;
        let url =
            format!("{}/api/v1/ledger/entries?kind={kind}&subject={grant_id}", node["url"].as_str().unwrap());
        let (status, page) = call(&auditor, Method::GET, url, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let text = page.to_string();
        assert!(text.contains(&grant_id), "{kind} at {}: {text}", node["id"]);
    }
}

/// The same consumer follows the changes of its Zhejiang grant from its own
/// node: pages by cursor, and a webhook Zhejiang calls directly.
async fn cross_node_subscription(
    consumer: &(reqwest::Client, String),
    police_url: &str,
    zhejiang: &Value,
    grant_id: &str,
) {
    use reqwest::Method;
    let changes = format!("{police_url}/api/v1/federation/grants/zhejiang/{grant_id}/changes");
    let (status, page) =
        call(consumer, Method::GET, format!("{changes}?cursor=beginning&limit=3"), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["changes"].as_array().unwrap().len(), 3, "{page}");
    let row = page["changes"][0]["row"].as_object().unwrap();
    assert_eq!(row.len(), 2, "only the granted items: {page}");
    assert!(row["公民身份号码"].as_str().unwrap().contains("********"), "{page}");
    let next_cursor = page["next_cursor"].as_str().unwrap();
    let (status, next) =
        call(consumer, Method::GET, format!("{changes}?cursor={next_cursor}&limit=3"), None).await;
    assert_eq!((status, &next["cursor"]), (StatusCode::OK, &page["next_cursor"]), "{next}");
    assert_ne!(next["changes"][0], page["changes"][0], "pages move on");
    let (status, refused) = call(consumer, Method::GET, format!("{changes}?cursor=later"), None).await;
    assert_eq!(
        (status, &refused["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("cursor")),
        "{refused}"
    );

    let (url, received) = one_webhook_call();
    let subscriptions = format!("{police_url}/api/v1/federation/grants/zhejiang/{grant_id}/subscriptions");
    let (status, made) = call(
        consumer,
        Method::POST,
        subscriptions,
        Some(json!({"url": url, "cursor": "beginning", "batch_size": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"), "{made}");
    let (headers, body) = received.recv_timeout(Duration::from_secs(30)).expect("Zhejiang calls the webhook");
    assert!(headers.contains("webhook-signature: v1,"), "{headers}");
    let delivered: Value = serde_json::from_str(&body).unwrap();
    let row = delivered["changes"][0]["row"].as_object().unwrap();
    assert_eq!(row.len(), 2, "{body}");
    assert!(row["公民身份号码"].as_str().unwrap().contains("********"), "{body}");

    let id = made["id"].as_str().unwrap();
    let listing = format!("{police_url}/api/v1/federation/subscriptions/zhejiang?grant_id={grant_id}");
    let (status, listed) = call(consumer, Method::GET, listing, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");
    // Zhejiang's provider sees it, made for the department of another node.
    let provider = logged_in(zhejiang, "gongan.provider").await;
    let zhejiang_url = zhejiang["url"].as_str().unwrap();
    let (_, seen) =
        call(&provider, Method::GET, format!("{zhejiang_url}/api/v1/gateway/subscriptions/{id}"), None).await;
    assert_eq!(seen["created_by"].as_str().unwrap(), "node:guangdong-police/user:gongan.consumer", "{seen}");
    let end = format!("{police_url}/api/v1/federation/subscriptions/zhejiang/{id}");
    let (status, ended) = call(consumer, Method::DELETE, end.clone(), None).await;
    assert_eq!((status, &ended["status"]), (StatusCode::OK, &json!("closed")), "{ended}");
    let (status, again) = call(consumer, Method::DELETE, end, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}

/// A webhook receiver on a free port that answers its first call with 200
/// and hands over that call's header lines and body.
fn one_webhook_call() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut headers = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            headers.push_str(&lower);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        let _ = send.send((headers, String::from_utf8(body).unwrap()));
    });
    (url, receive)
}

#[tokio::test]
async fn kill_9_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), None);
    let node = serve(dir.path(), None);
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let csrf = login(&client, &node.base, "admin", ADMIN_PASSWORD).await;

    // Writers create systems as fast as they can; the process is killed mid-way.
    let departments: Value =
        client.get(format!("{}/api/v1/departments", node.base)).send().await.unwrap().json().await.unwrap();
    let department = departments[0]["id"].as_str().unwrap().to_owned();
    let (acknowledged_tx, mut acknowledged_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (client, base, csrf, department, acknowledged) =
            (client.clone(), node.base.clone(), csrf.clone(), department.clone(), acknowledged_tx.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("系统-{writer}-{i}");
                let sent = client
                    .post(format!("{base}/api/v1/systems"))
                    .header("x-csrf-token", &csrf)
                    .json(&json!({"department_id": department, "name": name}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        acknowledged.send(name).unwrap()
                    }
                    _ => break,
                }
            }
        }));
    }
    drop(acknowledged_tx);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut node = node;
    node.child.kill().unwrap(); // SIGKILL
    node.child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut acknowledged = Vec::new();
    while let Some(name) = acknowledged_rx.recv().await {
        acknowledged.push(name);
    }
    assert!(acknowledged.len() > 10, "the writers made progress: {}", acknowledged.len());

    // After a restart every acknowledged system is there, each with its ledger entry.
    let output = govdata(dir.path()).args(["system", "list"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let systems: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stored: std::collections::HashSet<&str> =
        systems.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    for name in &acknowledged {
        assert!(stored.contains(name.as_str()), "acknowledged {name} was lost");
    }
    let db = format!("sqlite://{}", dir.path().join("govdata.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let (entries, head): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM ledger_entries WHERE kind = 'system.create'), \
         (SELECT size FROM ledger_head) - (SELECT COUNT(*) FROM ledger_entries)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(entries as usize, stored.len(), "one ledger entry per stored system, no more, no less");
    assert_eq!(head, 0, "the ledger head matches its entries");
    // And the node serves again.
    let again = serve(dir.path(), None);
    assert_eq!(reqwest::get(format!("{}/readyz", again.base)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn node_show_matches_the_served_identity() {
    let dir = tempfile::tempdir().unwrap();
    let output = govdata(dir.path()).args(["node", "show"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    init(dir.path(), None);
    let node = serve(dir.path(), None);
    let served: Value =
        reqwest::get(format!("{}/api/v1/node", node.base)).await.unwrap().json().await.unwrap();
    assert_eq!(shown, served, "the key made by `node show` is the one the node serves with");
    use base64::Engine;
    let key =
        base64::engine::general_purpose::STANDARD.decode(served["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(key.len(), 32, "raw Ed25519 public key");
}

/// Runs the binary against `dir`, returning (success, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = govdata(dir).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn catalog_commands_apply_the_catalog_rules() {
    use govdata_model::catalog::{
        Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ShareMode,
        ShareType, TopClass, UpdateCycle,
    };
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), None);
    let (ok, out, err) = run(
        dir.path(),
        &[
            "department",
            "create",
            "--name",
            "国家税务总局",
            "--uscc",
            "11100000000013426B",
            "--region",
            "100000",
        ],
    );
    assert!(ok, "{err}");
    let tax: Value = serde_json::from_str(&out).unwrap();
    let tax_id = tax["id"].as_str().unwrap();
    let departments: Value = serde_json::from_str(&run(dir.path(), &["department", "list"]).1).unwrap();
    let authority_id = departments.as_array().unwrap().iter().find(|d| d["name"] == "国家数据局").unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let password = dir.path().join("password");
    std::fs::write(&password, "catalog-user-pass-1").unwrap();
    let password = password.to_str().unwrap();
    for (username, department, roles) in
        [("tax.provider", tax_id, "provider"), ("reviewer", authority_id.as_str(), "authority")]
    {
        let (ok, _, err) = run(
            dir.path(),
            &[
                "user",
                "create",
                "--username",
                username,
                "--display-name",
                username,
                "--department",
                department,
                "--roles",
                roles,
                "--password-file",
                password,
            ],
        );
        assert!(ok, "{err}");
    }
    let draft = EntryDraft {
        classification: Classification::new(TopClass::Department, 8, Some(1), None),
        name: "纳税人登记信息".into(),
        summary: "纳税人登记的基本信息。".into(),
        keywords: vec!["纳税人".into()],
        provider: Provider { department_id: tax_id.into(), uscc: "11100000000013426B".into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: vec![
            InfoItem {
                grade: Some(Grade::general(2)),
                ..InfoItem::new("纳税人识别号", ItemType::Character, Some(20))
            },
            InfoItem {
                grade: Some(Grade::general(2)),
                ..InfoItem::new("纳税人名称", ItemType::Character, Some(200))
            },
        ],
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
    };
    let file = dir.path().join("draft.json");
    std::fs::write(&file, serde_json::to_string(&draft).unwrap()).unwrap();
    let file = file.to_str().unwrap();
    let (ok, _, _) = run(dir.path(), &["catalog", "check", "--file", file]);
    assert!(ok);
    // The reviewer is not the provider: registering is refused.
    let (ok, _, err) = run(dir.path(), &["catalog", "register", "--file", file, "--as", "reviewer"]);
    assert!(!ok && err.contains("provider role"), "{err}");
    let (ok, out, err) = run(dir.path(), &["catalog", "register", "--file", file, "--as", "tax.provider"]);
    assert!(ok, "{err}");
    let code = serde_json::from_str::<Value>(&out).unwrap()["code"].as_str().unwrap().to_owned();
    for (user, action) in
        [("tax.provider", r#"{"action":"submit"}"#), ("reviewer", r#"{"action":"approve"}"#)]
    {
        let (ok, _, err) = run(dir.path(), &["catalog", "act", &code, action, "--as", user]);
        assert!(ok, "{action}: {err}");
    }
    let (ok, _, err) =
        run(dir.path(), &["catalog", "act", &code, r#"{"action":"publish"}"#, "--as", "tax.provider"]);
    assert!(!ok && err.contains("authority"), "only the authority publishes: {err}");
    let (ok, _, err) =
        run(dir.path(), &["catalog", "act", &code, r#"{"action":"publish"}"#, "--as", "reviewer"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(dir.path(), &["catalog", "show", &code, "--as", "reviewer"]);
    assert!(ok);
    let view: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(view["entry"]["status"], "published");
    let (_, out, _) = run(dir.path(), &["catalog", "list", "--as", "tax.provider", "--status", "published"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().len(), 1);
}
