//! HTTP scenarios against a node served in-process, on SQLite and on
//! PostgreSQL: organisation, sessions, roles, API keys, and every refusal.

use crate::support::{assert_error, Backend, Session, TestNode, ADMIN_PASSWORD, PASSWORD};
use govdata_model::org::Role;
use govdata_store::NewApiKey;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    organisation_and_sessions,
    csrf_is_required_for_cookie_writes,
    lockout_after_repeated_failures,
    three_role_separation,
    api_keys_and_their_refusals,
    every_change_is_in_the_ledger,
    malformed_requests_name_the_field,
);

async fn organisation_and_sessions(backend: Backend) {
    let node = TestNode::start(backend).await;
    let anonymous = node.anonymous();
    assert_error(
        &anonymous.get("/api/v1/departments").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );
    let admin = node.admin().await;
    let (status, body) = admin
        .post(
            "/api/v1/departments",
            json!({"name": "广东省公安厅", "uscc": "11440000006940011E", "region": "44"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["department"]["region"], "440000");
    let police = body["department"]["id"].as_str().unwrap().to_owned();
    // A well-formed code whose check character fails is accepted with a warning.
    let (status, body) = admin
        .post(
            "/api/v1/departments",
            json!({"name": "广东省民政厅", "uscc": "11440000006940012E", "region": "440000"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body["warnings"].as_array().unwrap().is_empty(), "{body}");
    assert_error(
        &admin.post("/api/v1/departments", json!({"name": "x", "uscc": "ABC", "region": "440000"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("uscc"),
    );
    assert_error(
        &admin
            .post(
                "/api/v1/departments",
                json!({"name": "x", "uscc": "11440000006940011E", "region": "999999"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("region"),
    );
    assert_error(
        &admin
            .post(
                "/api/v1/departments",
                json!({"name": "广东省公安厅", "uscc": "11440000006940011E", "region": "440000"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );
    let (status, departments) = admin.get("/api/v1/departments").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(departments.as_array().unwrap().len(), 3);
    assert_error(
        &admin.get("/api/v1/departments/no-such-id").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );

    node.user(&admin, "gongan.provider", &police, &["provider"]).await;
    let provider = node.login("gongan.provider", PASSWORD).await;
    let (status, me) = provider.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["actor"], "user:gongan.provider");
    assert_eq!(me["roles"], json!(["provider"]));
    // Wrong role: a provider may not create departments, but may register its own systems.
    assert_error(
        &provider
            .post("/api/v1/departments", json!({"name": "y", "uscc": "11440000006940011E", "region": "44"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (status, system) =
        provider.post("/api/v1/systems", json!({"department_id": police, "name": "人口信息管理系统"})).await;
    assert_eq!(status, StatusCode::CREATED, "{system}");
    assert_error(
        &provider
            .post("/api/v1/systems", json!({"department_id": node.authority_department, "name": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let (_, systems) = provider.get(&format!("/api/v1/systems?department_id={police}")).await;
    assert_eq!(systems.as_array().unwrap().len(), 1);
    assert_error(&provider.get("/api/v1/users").await, StatusCode::FORBIDDEN, "forbidden", None);

    // Logging out ends the session for good.
    let (status, _) = provider.call(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&provider.get("/api/v1/auth/me").await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    // A disabled account can no longer log in, and its sessions end.
    let again = node.login("gongan.provider", PASSWORD).await;
    let user_id = me["user"]["id"].as_str().unwrap();
    let (status, _) =
        admin.put(&format!("/api/v1/users/{user_id}/disabled"), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(&again.get("/api/v1/auth/me").await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert_error(
        &anonymous
            .post("/api/v1/auth/login", json!({"username": "gongan.provider", "password": PASSWORD}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );
}

async fn csrf_is_required_for_cookie_writes(backend: Backend) {
    let node = TestNode::start(backend).await;
    let mut admin = node.admin().await;
    let token = admin.csrf.take();
    let body = json!({"name": "a", "uscc": "11440000006940011E", "region": "44"});
    assert_error(
        &admin.post("/api/v1/departments", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf_rejected",
        None,
    );
    admin.csrf = Some("forged".into());
    assert_error(
        &admin.post("/api/v1/departments", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf_rejected",
        None,
    );
    // Reads need no token; writes with the right one pass.
    assert_eq!(admin.get("/api/v1/departments").await.0, StatusCode::OK);
    admin.csrf = token;
    assert_eq!(admin.post("/api/v1/departments", body).await.0, StatusCode::CREATED);
}

async fn lockout_after_repeated_failures(backend: Backend) {
    let node = TestNode::start_with(backend, |c| c.auth.max_failed_logins = 3).await;
    let admin = node.admin().await;
    let user_id = node.user(&admin, "minzheng.consumer", &node.authority_department, &["consumer"]).await;
    let anonymous = node.anonymous();
    let wrong = json!({"username": "minzheng.consumer", "password": "wrong-password-9"});
    for _ in 0..2 {
        assert_error(
            &anonymous.post("/api/v1/auth/login", wrong.clone()).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
        );
    }
    assert_error(
        &anonymous.post("/api/v1/auth/login", wrong).await,
        StatusCode::LOCKED,
        "account_locked",
        None,
    );
    // Locked: even the right password is refused.
    let right = json!({"username": "minzheng.consumer", "password": PASSWORD});
    assert_error(
        &anonymous.post("/api/v1/auth/login", right.clone()).await,
        StatusCode::LOCKED,
        "account_locked",
        None,
    );
    // An unknown user gets the same answer as a wrong password, and locks nothing.
    assert_error(
        &anonymous.post("/api/v1/auth/login", json!({"username": "nobody", "password": "x"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );
    // The auditor may not unlock; the security administrator may.
    node.user(&admin, "auditor", &node.authority_department, &["auditor"]).await;
    node.user(&admin, "secadmin", &node.authority_department, &["security_admin"]).await;
    let auditor = node.login("auditor", PASSWORD).await;
    assert_error(
        &auditor.call(Method::POST, &format!("/api/v1/users/{user_id}/unlock"), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let secadmin = node.login("secadmin", PASSWORD).await;
    let (status, user) = secadmin.call(Method::POST, &format!("/api/v1/users/{user_id}/unlock"), None).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert!(user["locked_until"].is_null());
    assert_eq!(anonymous.post("/api/v1/auth/login", right).await.0, StatusCode::OK);
}

async fn three_role_separation(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let dept = node.authority_department.clone();
    let two_admin_roles = json!({"username": "both", "display_name": "b", "department_id": dept,
                                 "roles": ["admin", "auditor"], "password": PASSWORD});
    assert_error(
        &admin.post("/api/v1/users", two_admin_roles).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("roles"),
    );
    let user_id = node.user(&admin, "secadmin", &dept, &["security_admin"]).await;
    // The system administrator may not assign roles; the security administrator may,
    // but not a second administrative role.
    assert_error(
        &admin.put(&format!("/api/v1/users/{user_id}/roles"), json!({"roles": ["auditor"]})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let secadmin = node.login("secadmin", PASSWORD).await;
    assert_error(
        &secadmin
            .put(&format!("/api/v1/users/{user_id}/roles"), json!({"roles": ["security_admin", "auditor"]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("roles"),
    );
    assert_error(
        &secadmin.put(&format!("/api/v1/users/{user_id}/roles"), json!({"roles": ["root"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("roles[0]"),
    );
    let (status, user) = secadmin
        .put(&format!("/api/v1/users/{user_id}/roles"), json!({"roles": ["security_admin", "analyst"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["roles"], json!(["security_admin", "analyst"]));
    // The store refuses the combination too, whoever asks.
    let err =
        node.store.set_user_roles("test", &user_id, &[Role::Admin, Role::SecurityAdmin]).await.unwrap_err();
    assert!(err.to_string().contains("three-role separation"), "{err}");
}

async fn api_keys_and_their_refusals(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let renshe = node.department(&admin, "人力资源和社会保障部", "11100000000013127R", "100000").await;
    let minzheng = node.department(&admin, "民政部", "11100000000013039G", "100000").await;
    node.user(&admin, "renshe.consumer", &renshe, &["consumer"]).await;
    node.user(&admin, "minzheng.consumer", &minzheng, &["consumer"]).await;
    let consumer = node.login("renshe.consumer", PASSWORD).await;

    let (status, created) =
        consumer.post("/api/v1/api-keys", json!({"name": "资格认证应用", "roles": ["consumer"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let key_id = created["key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["key"]["department_id"], renshe.as_str());
    // The secret is shown once: listings carry only the prefix.
    let (_, keys) = consumer.get("/api/v1/api-keys").await;
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(!keys.to_string().contains(&secret));

    let app = Session::with_key(&node.base, &secret);
    let (status, me) = app.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["department_id"], renshe.as_str());
    assert_eq!(me["api_key_id"], key_id.as_str());
    // An API key needs no CSRF token, but carries only its own roles.
    assert_error(
        &app.post("/api/v1/departments", json!({"name": "z", "uscc": "11440000006940011E", "region": "44"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // OAuth2 client credentials: the key's id and the rest of it exchanged
    // for a bearer token that acts as the key.
    let (client_id, rest) = secret.split_at("gdk_00000000".len());
    let client_secret = rest.strip_prefix('_').expect("gdk_<id>_<secret>");
    let token_url = format!("{}/api/v1/oauth/token", node.base);
    let http = node.anonymous().client;
    let form = |body: String| {
        http.post(&token_url).header("content-type", "application/x-www-form-urlencoded").body(body).send()
    };
    let response =
        form(format!("grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued: serde_json::Value = response.json().await.unwrap();
    assert_eq!((issued["token_type"].as_str(), issued["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
    assert_eq!(issued["scope"], "consumer");
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let by_token = Session::with_key(&node.base, &token);
    let (status, me) = by_token.get("/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["api_key_id"], key_id.as_str());
    let basic = http
        .post(&token_url)
        .basic_auth(client_id, Some(client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK, "HTTP Basic client authentication");
    for (body, status, error) in [
        (format!("grant_type=client_credentials&client_id={client_id}&client_secret=wrong"), 401, "invalid_client"),
        (format!("grant_type=password&client_id={client_id}&client_secret={client_secret}"), 400, "unsupported_grant_type"),
        (format!("client_id={client_id}&client_secret={client_secret}"), 400, "invalid_request"),
        (format!("grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}&scope=provider"), 400, "invalid_scope"),
        ("grant_type=client_credentials".to_owned(), 401, "invalid_client"),
    ] {
        let refused = form(body.clone()).await.unwrap();
        assert_eq!(refused.status().as_u16(), status, "{body}");
        let answer: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(answer["error"], error, "{body}: {answer}");
        assert!(answer["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let json_body =
        http.post(&token_url).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST, "the token endpoint takes a form");
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_error(
        &Session::with_key(&node.base, &forged).get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );
    let longer = token.replacen("_17", "_27", 1);
    assert_error(
        &Session::with_key(&node.base, &longer).get("/api/v1/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    );

    // Escalation and other departments are refused.
    assert_error(
        &consumer.post("/api/v1/api-keys", json!({"name": "x", "roles": ["provider"]})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &consumer
            .post("/api/v1/api-keys", json!({"name": "x", "roles": ["consumer"], "department_id": minzheng}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    let other = node.login("minzheng.consumer", PASSWORD).await;
    assert_error(
        &other.get(&format!("/api/v1/api-keys?department_id={renshe}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );
    assert_error(
        &other.delete(&format!("/api/v1/api-keys/{key_id}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    );

    // Allowed networks: a key used from outside them is refused.
    assert_error(
        &consumer
            .post(
                "/api/v1/api-keys",
                json!({"name": "x", "roles": ["consumer"], "allowed_networks": ["10.0.0.0/33"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("allowed_networks[0]"),
    );
    for (networks, allowed) in
        [(json!(["10.0.0.0/8", "192.168.1.7"]), false), (json!(["10.0.0.0/8", "127.0.0.1"]), true)]
    {
        let (status, created) = consumer
            .post(
                "/api/v1/api-keys",
                json!({"name": "内网应用", "roles": ["consumer"], "allowed_networks": networks}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let limited = Session::with_key(&node.base, created["secret"].as_str().unwrap());
        let answer = limited.get("/api/v1/auth/me").await;
        if allowed {
            assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
        } else {
            assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", None);
            assert!(answer.1["message"].as_str().unwrap().contains("127.0.0.1"), "{}", answer.1);
        }
    }

    // Revocation takes effect with the next request.
    let (status, revoked) = consumer.delete(&format!("/api/v1/api-keys/{key_id}")).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let refused = app.get("/api/v1/auth/me").await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert!(refused.1["message"].as_str().unwrap().contains("revoked"));
    let refused = by_token.get("/api/v1/auth/me").await;
    assert!(
        refused.1["message"].as_str().unwrap().contains("revoked"),
        "the key's tokens end with it: {}",
        refused.1
    );
    assert_error(
        &consumer.delete(&format!("/api/v1/api-keys/{key_id}")).await,
        StatusCode::CONFLICT,
        "conflict",
        None,
    );

    // An expired key is refused.
    let (whole, prefix, hash) = govdata_server::auth::generate_api_key();
    node.store
        .create_api_key(
            "test",
            NewApiKey {
                name: "old".into(),
                prefix,
                secret_hash: hash,
                department_id: renshe.clone(),
                roles: vec![Role::Consumer],
                expires_at: Some("2020-01-01T00:00:00.000Z".into()),
                allowed_networks: Vec::new(),
            },
        )
        .await
        .unwrap();
    let expired = Session::with_key(&node.base, &whole).get("/api/v1/auth/me").await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert!(expired.1["message"].as_str().unwrap().contains("expired"));

    // Malformed, unknown and tampered keys.
    for bad in ["nonsense", "gdk_00000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &format!("{secret}x")]
    {
        assert_error(
            &Session::with_key(&node.base, bad).get("/api/v1/auth/me").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
        );
    }
    let basic = node
        .anonymous()
        .client
        .get(format!("{}/api/v1/auth/me", node.base))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

    // The security administrator manages any department's keys.
    node.user(&admin, "secadmin", &node.authority_department, &["security_admin"]).await;
    let secadmin = node.login("secadmin", PASSWORD).await;
    let (status, _) = secadmin
        .post(
            "/api/v1/api-keys",
            json!({"name": "批量核验", "roles": ["consumer"], "department_id": minzheng, "expires_in_days": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_error(
        &secadmin
            .post("/api/v1/api-keys", json!({"name": "x", "roles": ["consumer"], "expires_in_days": 0}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("expires_in_days"),
    );
}

async fn every_change_is_in_the_ledger(backend: Backend) {
    let node = TestNode::start(backend).await;
    let before = node.store.ledger_size().await.unwrap();
    let admin = node.admin().await;
    let dept = node.department(&admin, "自然资源部", "11100000MB0166937C", "100000").await;
    node.user(&admin, "ziran.provider", &dept, &["provider"]).await;
    let anonymous = node.anonymous();
    anonymous
        .post("/api/v1/auth/login", json!({"username": "ziran.provider", "password": "bad-password-1"}))
        .await;
    // login, department, user, failed login: four entries, none for reads.
    admin.get("/api/v1/departments").await;
    assert_eq!(node.store.ledger_size().await.unwrap(), before + 4);
    let size = node.store.ledger_size().await.unwrap();
    let root = node.store.ledger_root(size).await.unwrap();
    assert_ne!(root, node.store.ledger_root(size - 1).await.unwrap());
    assert_eq!(
        admin.post("/api/v1/auth/login", json!({"username": "admin", "password": ADMIN_PASSWORD})).await.0,
        StatusCode::OK
    );
    assert_eq!(node.store.ledger_size().await.unwrap(), size + 1);
    // The root of an earlier size does not change as the log grows.
    assert_eq!(node.store.ledger_root(size).await.unwrap(), root);
}

async fn malformed_requests_name_the_field(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let raw = |body: &'static str, content_type: &'static str| {
        admin.post_raw("/api/v1/departments", content_type, body)
    };
    assert_error(&raw("{\"name\": ", "application/json").await, StatusCode::BAD_REQUEST, "bad_request", None);
    assert_error(
        &raw("name=x", "application/x-www-form-urlencoded").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        None,
    );
    assert_error(
        &raw(
            r#"{"name": "a", "uscc": "11440000006940011E", "region": "44", "extra": 1}"#,
            "application/json",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("extra"),
    );
    assert_error(
        &raw(r#"{"name": 7, "uscc": "11440000006940011E", "region": "44"}"#, "application/json").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("name"),
    );
    assert_error(
        &raw(r#"{"name": "a", "region": "44"}"#, "application/json").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("uscc"),
    );
    assert_error(
        &raw(r#"{"name": "  ", "uscc": "11440000006940011E", "region": "44"}"#, "application/json").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("name"),
    );
    let huge = format!(r#"{{"name": "{}", "uscc": "x", "region": "44"}}"#, "长".repeat(40_000));
    let (status, body) = admin.post_raw("/api/v1/departments", "application/json", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
    assert_error(&admin.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(
        &admin.call(Method::PATCH, "/api/v1/departments", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
    );
    assert_error(
        &admin.get("/api/v1/systems?department=x").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("department"),
    );
}

#[tokio::test]
async fn identifier_checks_and_regions_are_open_to_anyone() {
    let node = TestNode::start(Backend::Sqlite).await;
    let anyone = node.anonymous();
    let (status, body) = anyone.post("/api/v1/validate/id-number", json!({"value": "110105491231002"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["normalized"].as_str().unwrap().len(), 18);
    assert!(!body["warnings"].as_array().unwrap().is_empty(), "15-digit numbers are converted: {body}");
    let (_, body) = anyone.post("/api/v1/validate/id-number", json!({"value": "110105194912310021"})).await;
    assert_eq!(body["valid"], false);
    assert!(body["normalized"].is_null());
    let (_, body) = anyone.post("/api/v1/validate/region", json!({"value": "4403"})).await;
    assert_eq!(body, json!({"valid": true, "normalized": "440300", "warnings": [], "errors": []}));
    let (_, body) = anyone.post("/api/v1/validate/mobile-phone", json!({"value": "+86 138-0013-8000"})).await;
    assert_eq!(body["normalized"], "13800138000");
    let (_, body) = anyone.post("/api/v1/validate/email", json!({"value": "not an address"})).await;
    assert_eq!(body["valid"], false);
    assert_error(
        &anyone.post("/api/v1/validate/uscc", json!({"code": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        Some("code"),
    );

    let (status, provinces) = anyone.get("/api/v1/regions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(provinces.as_array().unwrap().len(), 31);
    let (_, cities) = anyone.get("/api/v1/regions?parent=44").await;
    assert!(cities.as_array().unwrap().iter().any(|c| c["name"] == "深圳市"));
    let (_, nanshan) = anyone.get("/api/v1/regions/440305").await;
    assert_eq!(nanshan["full_name"], "广东省深圳市南山区");
    assert_eq!(nanshan["parent"], "440300");
    assert_error(&anyone.get("/api/v1/regions/999999").await, StatusCode::NOT_FOUND, "not_found", None);
}
