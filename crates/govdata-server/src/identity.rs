//! The node's identity: an Ed25519 key pair kept in a PKCS#8 PEM file that
//! only the node's user may read, created on first start.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use govdata_model::org::NodeInfo;
use sha2::{Digest, Sha256};

use crate::config::{Config, ConfigError};
use crate::secrets;

#[derive(Clone)]
pub struct NodeIdentity {
    pub key: SigningKey,
    pub info: NodeInfo,
}

impl NodeIdentity {
    /// Loads the node key, creating it (mode 600) when the file does not exist.
    pub fn load_or_create(config: &Config) -> Result<NodeIdentity, ConfigError> {
        let path = config.key_file();
        let key = if path.exists() { load_key(&path)? } else { create_key(&path)? };
        let public = key.verifying_key().to_bytes();
        let id = config
            .node
            .id
            .clone()
            .unwrap_or_else(|| format!("node-{}", &hex::encode(Sha256::digest(public))[..12]));
        let info = NodeInfo {
            id,
            name: config.node.name.clone(),
            level: config.node.level,
            region: config.node.region.clone(),
            parent: config.node.parent_url.clone(),
            public_key: STANDARD.encode(public),
        };
        Ok(NodeIdentity { key, info })
    }
}

fn load_key(path: &Path) -> Result<SigningKey, ConfigError> {
    let pem = secrets::read_secret_file(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| ConfigError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an Ed25519 PKCS#8 key: {e}"),
        ),
    })
}

fn create_key(path: &Path) -> Result<SigningKey, ConfigError> {
    let io = |source| ConfigError::Io { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    secrets::write_secret_file(path, pem.as_bytes()).map_err(io)?;
    tracing::info!(path = %path.display(), "created node key");
    Ok(key)
}
