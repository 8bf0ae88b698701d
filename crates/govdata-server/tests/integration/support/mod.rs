//! A node served in-process on a loopback port, on SQLite or on a fresh
//! PostgreSQL database, driven over real HTTP with reqwest.
//!
//! PostgreSQL runs follow `govdata_store::testing` (skipped without
//! `TEST_POSTGRES_URL`, required with `TEST_REQUIRE_POSTGRES=1`).

pub mod data;

use govdata_model::org::Role;
use govdata_server::config::Config;
use govdata_server::routes::users::UserRequest;
use govdata_store::{NewDepartment, Store};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `scenario` once per backend, as `sqlite` and `postgres` tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if govdata_store::testing::postgres_available() {
                    super::$scenario($crate::support::Backend::Postgres).await
                }
            }
        }
    )*};
}

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

pub struct TestNode {
    pub base: String,
    pub store: Store,
    pub config: Config,
    /// The first department: the data authority.
    pub authority_department: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestNode {
    /// A node with one department and an `admin` account.
    pub async fn start(backend: Backend) -> TestNode {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        config.server.max_body_bytes = 64 * 1024;
        if let Backend::Postgres = backend {
            config.database.url = govdata_store::testing::fresh_postgres_database().await;
        }
        adjust(&mut config);
        config.validate().unwrap();
        let (store, node) = govdata_server::open(&config).await.unwrap();
        let department = store
            .create_department(
                "test",
                NewDepartment {
                    name: "国家数据局".into(),
                    uscc: "11100000MB0143028N".into(),
                    region: "100000".into(),
                },
            )
            .await
            .unwrap();
        let admin = UserRequest {
            username: "admin".into(),
            display_name: "管理员".into(),
            department_id: department.id.clone(),
            roles: vec![Role::Admin],
            password: ADMIN_PASSWORD.into(),
        }
        .validate(10)
        .await
        .unwrap();
        store.create_user("test", admin).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(govdata_server::serve(listener, store.clone(), node, config.clone(), async move {
            let _ = stopped.await;
        }));
        TestNode { base, store, config, authority_department: department.id, _dir: dir, stop: Some(stop) }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Session {
        Session { base: self.base.clone(), client: Client::new(), csrf: None, bearer: None }
    }

    /// Logs in and returns a session carrying its cookie and CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let response = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login {username}: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();
        Session { base: self.base.clone(), client, csrf: Some(csrf), bearer: None }
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a department through the API and returns its id.
    pub async fn department(&self, admin: &Session, name: &str, uscc: &str, region: &str) -> String {
        let (status, body) =
            admin.post("/api/v1/departments", json!({"name": name, "uscc": uscc, "region": region})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["department"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates an account through the API (as `admin`) with password [`PASSWORD`].
    pub async fn user(&self, admin: &Session, username: &str, department: &str, roles: &[&str]) -> String {
        let (status, body) = admin
            .post(
                "/api/v1/users",
                json!({"username": username, "display_name": username, "department_id": department,
                       "roles": roles, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

/// A caller: a cookie session (with CSRF token), an API key, or nobody.
#[derive(Clone)]
pub struct Session {
    pub base: String,
    pub client: Client,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Session {
    pub fn with_key(base: &str, key: &str) -> Session {
        Session { base: base.to_owned(), client: Client::new(), csrf: None, bearer: Some(key.to_owned()) }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(key) = &self.bearer {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        read(self.send(method, path, body).await).await
    }

    /// POSTs a body as it is, with the caller's credentials and this content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(key) = &self.bearer {
            request = request.bearer_auth(key);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }
}

/// The status and the body as JSON (or as a string when it is not JSON).
async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Asserts an error response: status, code and (when given) field.
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    if let Some(field) = field {
        assert_eq!(got.1["field"], field, "{}", got.1);
    }
}
