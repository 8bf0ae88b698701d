//! Throws malformed and random requests at every route listed in the OpenAPI
//! document, as an authenticated administrator (so bodies reach the parsers),
//! and expects an answer below 500 every time: never a 5xx, never a dropped
//! connection. Deterministic: the generator is seeded.

use crate::support::{Backend, TestNode};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{json, Map, Value};

const CASES_PER_ROUTE: usize = 60;

fn random_string(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "",
        "a",
        "广东省",
        "11010519491231002X",
        "440000",
        "'; DROP TABLE users; --",
        "\u{0}",
        "\n",
        "%00",
        "../../etc/passwd",
        "😀",
        "\u{202e}",
        "admin",
        "null",
        "-1",
        "1e309",
        "{}",
        "\"",
        "\\",
    ];
    let count = rng.gen_range(0..4);
    let mut s: String = (0..count).map(|_| *PIECES.choose(rng).unwrap()).collect();
    if rng.gen_bool(0.1) {
        s.push_str(&"长".repeat(rng.gen_range(100..5000)));
    }
    s
}

fn random_value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e300),
        4 => Value::String(random_string(rng)),
        5 => Value::Array((0..rng.gen_range(0..5)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object(
            (0..rng.gen_range(0..5)).map(|_| (random_string(rng), random_value(rng, depth + 1))).collect(),
        ),
    }
}

/// An object with the schema's real property names and random values, so the
/// request gets past "unknown field" into type and rule checks.
fn shaped_value(rng: &mut ChaCha8Rng, properties: &[String]) -> Value {
    let mut object = Map::new();
    for name in properties {
        if rng.gen_bool(0.85) {
            object.insert(name.clone(), random_value(rng, 1));
        }
    }
    Value::Object(object)
}

fn random_body(rng: &mut ChaCha8Rng, properties: &[String]) -> (Vec<u8>, &'static str) {
    let content_type =
        *["application/json", "application/json", "text/plain", "application/x-www-form-urlencoded"]
            .choose(rng)
            .unwrap();
    let body = match rng.gen_range(0..6) {
        0 => Vec::new(),
        1 => (0..rng.gen_range(1..200)).map(|_| rng.gen()).collect(),
        2 => {
            let mut text = serde_json::to_vec(&shaped_value(rng, properties)).unwrap();
            text.truncate(rng.gen_range(0..=text.len()));
            text
        }
        3 => serde_json::to_vec(&random_value(rng, 0)).unwrap(),
        _ => serde_json::to_vec(&shaped_value(rng, properties)).unwrap(),
    };
    (body, content_type)
}

/// The property names of an operation's JSON request body, resolving `$ref`s.
fn body_properties(doc: &Value, operation: &Value) -> Vec<String> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn fill_path(rng: &mut ChaCha8Rng, template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                let value = random_string(rng);
                let encoded: String = value
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                if encoded.is_empty() {
                    "x".to_owned()
                } else {
                    encoded
                }
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

on_both_backends!(no_input_makes_a_server_error);

async fn no_input_makes_a_server_error(backend: Backend) {
    let node = TestNode::start(backend).await;
    let admin = node.admin().await;
    let (_, doc) = admin.get("/api/v1/openapi.json").await;
    let mut rng = ChaCha8Rng::seed_from_u64(20221013);
    let paths = doc["paths"].as_object().expect("the document lists paths");
    assert!(paths.len() >= 20, "every route is documented: {}", paths.len());
    let mut requests = 0;
    for (template, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let properties = body_properties(&doc, operation);
            for _ in 0..CASES_PER_ROUTE {
                let mut url = format!("{}{}", node.base, fill_path(&mut rng, template));
                if rng.gen_bool(0.3) {
                    url.push_str(&format!("?{}={}", random_string(&mut rng).len(), rng.gen::<u32>()));
                }
                let (body, content_type) = random_body(&mut rng, &properties);
                let mut request = admin
                    .client
                    .request(method.clone(), &url)
                    .header("x-csrf-token", admin.csrf.clone().unwrap())
                    .header("content-type", content_type);
                if method != Method::GET {
                    request = request.body(body.clone());
                }
                let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
                let status = response.status();
                let text = response.text().await.unwrap();
                assert!(
                    status.as_u16() < 500,
                    "{method} {url} with {:?} answered {status}: {text}",
                    String::from_utf8_lossy(&body)
                );
                if status.is_client_error() {
                    let error: Value = serde_json::from_str(&text)
                        .unwrap_or_else(|_| panic!("{method} {url}: error body is not JSON: {text}"));
                    assert!(error["code"].is_string() && error["message"].is_string(), "{text}");
                }
                requests += 1;
            }
        }
    }
    // The session survived everything thrown at it (logout is among the routes,
    // so log in again to check the node still serves).
    let admin = node.admin().await;
    assert_eq!(admin.get("/readyz").await.0, reqwest::StatusCode::OK);
    eprintln!("{requests} random requests, none answered 5xx");
}
