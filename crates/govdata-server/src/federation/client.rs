//! Requests to other nodes: signed POSTs ([`super::signature`]) and public GETs.

use std::time::{Duration, SystemTime};

use ed25519_dalek::SigningKey;
use govdata_model::ErrorCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::signature;

/// Why a request to another node failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("node at {url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("node at {url} refused ({status}): {message}")]
    Refused { url: String, status: u16, code: ErrorCode, message: String, field: Option<String> },
    #[error("node at {url} answered something unexpected: {reason}")]
    BadAnswer { url: String, reason: String },
}

#[derive(Deserialize)]
struct ErrorBody {
    code: ErrorCode,
    message: String,
    field: Option<String>,
}

/// A client that signs as this node.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    key: SigningKey,
    node_id: String,
}

impl PeerClient {
    pub fn new(key: &SigningKey, node_id: &str) -> PeerClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a client without custom TLS settings builds");
        PeerClient { http, key: key.clone(), node_id: node_id.to_owned() }
    }

    /// The same client (and connections) signing with `key`, the node key
    /// after a rotation.
    pub fn with_key(&self, key: &SigningKey) -> PeerClient {
        PeerClient { http: self.http.clone(), key: key.clone(), node_id: self.node_id.clone() }
    }

    /// POSTs `body` as JSON to node `recipient` at `base` + `path`, signed
    /// for that node only.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        recipient: &str,
        base: &str,
        path: &str,
        body: &B,
    ) -> Result<R, PeerError> {
        let bytes = serde_json::to_vec(body).map_err(|e| PeerError::BadAnswer {
            url: format!("{}{path}", base.trim_end_matches('/')),
            reason: e.to_string(),
        })?;
        self.post_json(recipient, base, path, bytes).await
    }

    /// POSTs `bytes`, a JSON body already serialized, like [`PeerClient::post`].
    pub async fn post_json<R: DeserializeOwned>(
        &self,
        recipient: &str,
        base: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<R, PeerError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let (path_only, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let signed = signature::sign(
            &self.key,
            &self.node_id,
            recipient,
            "POST",
            path_only,
            query,
            &bytes,
            SystemTime::now(),
        );
        let mut request = self.http.post(&url).header("content-type", "application/json").body(bytes);
        for (name, value) in signed.pairs() {
            request = request.header(name, value);
        }
        answer(&url, request.send().await).await
    }

    /// GETs a public resource of another node.
    pub async fn get<R: DeserializeOwned>(&self, base: &str, path: &str) -> Result<R, PeerError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        answer(&url, self.http.get(&url).send().await).await
    }
}

async fn answer<R: DeserializeOwned>(
    url: &str,
    sent: reqwest::Result<reqwest::Response>,
) -> Result<R, PeerError> {
    let response = sent.map_err(|e| PeerError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| PeerError::Unreachable { url: url.to_owned(), reason: e.to_string() })?;
    if !status.is_success() {
        return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => PeerError::Refused {
                url: url.to_owned(),
                status: status.as_u16(),
                code: body.code,
                message: body.message,
                field: body.field,
            },
            Err(_) => PeerError::Unreachable { url: url.to_owned(), reason: format!("status {status}") },
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| PeerError::BadAnswer { url: url.to_owned(), reason: e.to_string() })
}
