//! Node configuration: one TOML file, every option documented in
//! `docs/configuration.md` and `config/govdata.example.toml`. Layers, last
//! wins: built-in defaults < the file < `GOVDATA_*` environment variables
//! (`__` separates sections: `GOVDATA_SERVER__LISTEN=0.0.0.0:8080`).
//! Secrets can be read from `*_file` paths instead of the file itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use govdata_ledger::hash::HashAlg;
use govdata_model::org::Level;
use govdata_model::{validate, FieldError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its SQLite database, key and files.
    pub data_dir: PathBuf,
    pub node: NodeConfig,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub catalog: CatalogConfig,
    pub lake: LakeConfig,
    pub sharing: govdata_sharing::SharingConfig,
    pub ledger: LedgerConfig,
    pub federation: FederationConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// How often the outbox is checked for changes to send up, in ms
    /// (changes the serving process commits are sent at once).
    pub sync_interval_ms: u64,
    /// Most changes sent to the parent in one signed request.
    pub batch_size: u32,
    /// How often this node's ledger checkpoint is presented to the parent
    /// for cosigning, in seconds.
    pub witness_interval_seconds: u64,
    /// How long a join token stays valid, in hours.
    pub join_token_hours: u32,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            sync_interval_ms: 200,
            batch_size: 1000,
            witness_interval_seconds: 60,
            join_token_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// Where the tables live: unset for `<data_dir>/lake`, or
    /// `s3://bucket/prefix` for an S3-compatible object store.
    pub url: Option<String>,
    /// object_store's S3 settings for `url` (`aws_endpoint`, `aws_region`,
    /// `aws_allow_http`, …). Credentials may come from the environment
    /// instead (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    pub storage_options: BTreeMap<String, String>,
    /// Largest file a provider may upload for an aggregation job; uploads
    /// stream to disk, so this bounds disk, not memory.
    pub max_upload_bytes: u64,
    /// Aggregation jobs run at once (each of a different resource).
    pub max_concurrent_jobs: usize,
}

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            url: None,
            storage_options: BTreeMap::new(),
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            max_concurrent_jobs: govdata_lake::service::DEFAULT_MAX_JOBS,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Working days within which new or changed data must be registered and
    /// published (guide 国办函〔2022〕102号: 20).
    pub registration_days: u32,
    /// Searches run at once; more wait their turn in arrival order. Unset:
    /// one per core, as a search is CPU work.
    pub search_threads: Option<usize>,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig { registration_days: 20, search_threads: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Stable identifier of this node in the federation; defaults to a
    /// fingerprint of its public key.
    #[serde(deserialize_with = "text_or_number::option")]
    pub id: Option<String>,
    #[serde(deserialize_with = "text_or_number::required")]
    pub name: String,
    pub level: Level,
    /// GB/T 2260 code of the area served; `100000` for the national hub.
    #[serde(deserialize_with = "text_or_number::required")]
    pub region: String,
    /// Base URL of the parent node; none at the national hub.
    pub parent_url: Option<String>,
    /// The URL other nodes reach this one at; defaults to `http://<server.listen>`.
    pub public_url: Option<String>,
    /// The node's Ed25519 private key (PKCS#8 PEM); created on first start.
    /// Defaults to `<data_dir>/node.key`.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed when checking an
    /// API key's allowed networks; from anyone else the TCP peer counts.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://…` to use PostgreSQL; empty for the embedded SQLite database.
    pub url: Option<String>,
    /// A file holding the URL (it carries a password).
    pub url_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_ttl_minutes: u32,
    /// Failed logins in a row before the account locks.
    pub max_failed_logins: u32,
    pub lockout_minutes: u32,
    pub min_password_length: usize,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Lifetime of an OAuth2 access token (client credentials).
    pub access_token_minutes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// `sha256` (default) or `sm3`; fixed for the life of the ledger.
    pub hash: HashAlg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `govdata_server=debug,info`.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl LogConfig {
    /// Defaults, then the `GOVDATA_LOG__*` variables, for a command that
    /// sets its nodes up itself (the demo) but logs like a node. Other
    /// `GOVDATA_*` variables are not its business and are not checked.
    pub fn from_env() -> Result<LogConfig, ConfigError> {
        let figment = Figment::from(Serialized::defaults(Config::default())).merge(environment());
        Ok(figment.extract_inner("log").map_err(Box::new)?)
    }
}

/// The `GOVDATA_*` variables, `__` separating nested keys
/// (`GOVDATA_LOG__FILTER` is `log.filter`).
fn environment() -> Env {
    Env::prefixed("GOVDATA_").split("__")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("govdata-data"),
            node: NodeConfig::default(),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            catalog: CatalogConfig::default(),
            lake: LakeConfig::default(),
            sharing: govdata_sharing::SharingConfig::default(),
            ledger: LedgerConfig::default(),
            federation: FederationConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            id: None,
            name: "政务数据共享平台".to_owned(),
            level: Level::National,
            region: NATIONAL_REGION.to_owned(),
            parent_url: None,
            public_url: None,
            key_file: None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: ([127, 0, 0, 1], 8080).into(),
            max_body_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_minutes: 8 * 60,
            max_failed_logins: 5,
            lockout_minutes: 15,
            min_password_length: 10,
            secure_cookies: false,
            access_token_minutes: 60,
        }
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig { hash: HashAlg::Sha256 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { filter: "info".to_owned(), format: LogFormat::Text }
    }
}

/// The region code the national hub uses (not a GB/T 2260 division).
pub const NATIONAL_REGION: &str = govdata_model::validate::divisions::NATIONAL;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    #[error("config {0}")]
    Invalid(FieldError),
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl Config {
    /// The URL other nodes reach this one at.
    pub fn public_url(&self) -> String {
        self.node.public_url.clone().unwrap_or_else(|| format!("http://{}", self.server.listen))
    }

    /// Loads defaults, then `file` if given, then `GOVDATA_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Io {
                    path: file.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment.merge(environment()).extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value and names the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |field: &str, message: String| Err(ConfigError::Invalid(FieldError::new(field, message)));
        if self.node.name.trim().is_empty() {
            return invalid("node.name", "must not be empty".into());
        }
        if self.node.level == Level::National {
            if self.node.region != NATIONAL_REGION {
                return invalid("node.region", format!("the national hub's region is {NATIONAL_REGION}"));
            }
            if self.node.parent_url.is_some() {
                return invalid("node.parent_url", "the national hub has no parent".into());
            }
        } else {
            let check = validate::region(&self.node.region);
            if !check.valid {
                return invalid("node.region", check.errors.join("; "));
            }
        }
        for (field, url) in
            [("node.parent_url", &self.node.parent_url), ("node.public_url", &self.node.public_url)]
        {
            if url.as_ref().is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://"))) {
                return invalid(field, "must be an http:// or https:// URL".into());
            }
        }
        if !(10..=60_000).contains(&self.federation.sync_interval_ms) {
            return invalid("federation.sync_interval_ms", "must be 10 to 60000".into());
        }
        if !(1..=5000).contains(&self.federation.batch_size) {
            return invalid("federation.batch_size", "must be 1 to 5000".into());
        }
        if !(1..=86_400).contains(&self.federation.witness_interval_seconds) {
            return invalid("federation.witness_interval_seconds", "must be 1 to 86400 (a day)".into());
        }
        if !(1..=720).contains(&self.federation.join_token_hours) {
            return invalid("federation.join_token_hours", "must be 1 to 720 (30 days)".into());
        }
        if self.server.max_body_bytes < 1024 {
            return invalid("server.max_body_bytes", "must be at least 1024".into());
        }
        if self.auth.max_failed_logins == 0 {
            return invalid("auth.max_failed_logins", "must be at least 1".into());
        }
        if self.auth.session_ttl_minutes == 0 {
            return invalid("auth.session_ttl_minutes", "must be at least 1".into());
        }
        if !(1..=1440).contains(&self.auth.access_token_minutes) {
            return invalid("auth.access_token_minutes", "must be 1 to 1440 (a day)".into());
        }
        if self.sharing.answer_days == 0 {
            return invalid("sharing.answer_days", "must be at least 1 working day".into());
        }
        if self.lake.max_upload_bytes == 0 {
            return invalid("lake.max_upload_bytes", "must be more than 0".into());
        }
        if !(1..=16).contains(&self.lake.max_concurrent_jobs) {
            return invalid("lake.max_concurrent_jobs", "must be 1 to 16".into());
        }
        if !(1..=250).contains(&self.catalog.registration_days) {
            return invalid("catalog.registration_days", "must be between 1 and 250".into());
        }
        if self.catalog.search_threads.is_some_and(|n| !(1..=256).contains(&n)) {
            return invalid("catalog.search_threads", "must be between 1 and 256".into());
        }
        if self.auth.min_password_length < 8 {
            return invalid("auth.min_password_length", "must be at least 8".into());
        }
        if self.database.url.is_some() && self.database.url_file.is_some() {
            return invalid("database.url_file", "set database.url or database.url_file, not both".into());
        }
        if let Err(e) = tracing_filter_check(&self.log.filter) {
            return invalid("log.filter", e);
        }
        Ok(())
    }

    /// Where the lake keeps its tables: `lake.url`, or `<data_dir>/lake`.
    /// S3 jobs stage their files under `<data_dir>/lake`.
    pub fn lake_storage(&self) -> Result<govdata_lake::storage::LakeStorage, ConfigError> {
        use govdata_lake::storage::LakeStorage;
        use govdata_model::ApiError;
        let local = self.data_dir.join("lake");
        let storage = match &self.lake.url {
            None => LakeStorage::local(&local),
            Some(url) => LakeStorage::s3(url, &self.lake.storage_options, &local),
        };
        storage.map_err(|e| {
            ConfigError::Invalid(FieldError::new(e.field().unwrap_or("lake.url"), e.public_message()))
        })
    }

    /// The database URL: the configured one, the one in `url_file`, or the
    /// embedded SQLite database under `data_dir`.
    pub fn database_url(&self) -> Result<String, ConfigError> {
        if let Some(url) = &self.database.url {
            return Ok(url.clone());
        }
        if let Some(path) = &self.database.url_file {
            let text = crate::secrets::read_secret_file(path)?;
            return Ok(text.trim().to_owned());
        }
        Ok(govdata_store::Store::sqlite_url(&self.data_dir))
    }

    pub fn key_file(&self) -> PathBuf {
        self.node.key_file.clone().unwrap_or_else(|| self.data_dir.join("node.key"))
    }

    /// The effective configuration as TOML, with secrets left out.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.database.url.is_some() {
            shown.database.url = Some("<redacted>".to_owned());
        }
        for (key, value) in &mut shown.lake.storage_options {
            if ["secret", "token", "password", "access_key"].iter().any(|word| key.contains(word)) {
                *value = "<redacted>".to_owned();
            }
        }
        toml::to_string_pretty(&shown).expect("config always serializes")
    }
}

/// Environment variables arrive untyped, and figment reads `440000` as a
/// number: accept numbers where the config wants text.
mod text_or_number {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Plain(String),
        Unsigned(u64),
        Signed(i64),
    }

    impl From<Text> for String {
        fn from(value: Text) -> String {
            match value {
                Text::Plain(s) => s,
                Text::Unsigned(n) => n.to_string(),
                Text::Signed(n) => n.to_string(),
            }
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Text::deserialize(deserializer).map(String::from)
    }

    pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Option::<Text>::deserialize(deserializer).map(|v| v.map(String::from))
    }
}

fn tracing_filter_check(filter: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::try_new(filter).map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_keys_are_refused() {
        Config::default().validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("govdata.toml");
        std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
        let err = Config::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn a_provincial_node_needs_a_real_region() {
        let mut config = Config::default();
        config.node.level = Level::Provincial;
        config.node.region = "999999".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("node.region"), "{err}");
        config.node.region = "440000".into();
        config.validate().unwrap();
    }

    #[test]
    fn search_threads_are_bounded() {
        let mut config = Config::default();
        config.catalog.search_threads = Some(0);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("catalog.search_threads"), "{err}");
        config.catalog.search_threads = Some(4);
        config.validate().unwrap();
    }

    #[test]
    fn the_documented_example_is_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/govdata.example.toml");
        let loaded = Config::load(Some(&example)).unwrap();
        assert_eq!(loaded.to_redacted_toml(), Config::default().to_redacted_toml());
    }

    #[test]
    fn an_s3_lake_is_checked_and_its_secrets_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        config.lake.url = Some("s3://govdata-lake/node".into());
        config.lake.storage_options.insert("aws_access_key_id".into(), "govdata".into());
        config.lake.storage_options.insert("aws_secret_access_key".into(), "hunter2".into());
        config.lake.storage_options.insert("aws_endpoint".into(), "http://127.0.0.1:9000".into());
        assert_eq!(config.lake_storage().unwrap().root().as_str(), "s3://govdata-lake/node/");
        let shown = config.to_redacted_toml();
        assert!(!shown.contains("hunter2") && shown.contains("127.0.0.1:9000"), "{shown}");

        config.lake.storage_options.insert("aws_endpiont".into(), "x".into());
        let err = config.lake_storage().unwrap_err().to_string();
        assert!(err.contains("lake.storage_options.aws_endpiont"), "{err}");
        config.lake.url = Some("https://govdata-lake/node".into());
        let err = config.lake_storage().unwrap_err().to_string();
        assert!(err.contains("lake.url"), "{err}");
    }

    #[test]
    fn numeric_looking_text_is_read_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("govdata.toml");
        std::fs::write(&file, "[node]\nlevel = \"provincial\"\nregion = 440000\nid = 44\n").unwrap();
        let config = Config::load(Some(&file)).unwrap();
        assert_eq!(config.node.region, "440000");
        assert_eq!(config.node.id.as_deref(), Some("44"));
    }
}
