//! The node's identity: an Ed25519 key pair kept in a PKCS#8 PEM file that
//! only the node's user may read, created on first start, and the node id,
//! which stays when the key is rotated (`federation::keys`).

use std::path::{Path, PathBuf};

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
        let id = match &config.node.id {
            Some(id) => id.clone(),
            None => derived_id(config, &key)?,
        };
        let info = NodeInfo {
            id,
            name: config.node.name.clone(),
            level: config.node.level,
            region: config.node.region.clone(),
            parent: config.node.parent_url.clone(),
            public_key: public_key(&key),
        };
        Ok(NodeIdentity { key, info })
    }

    /// The same node under its next key.
    pub fn with_key(&self, key: SigningKey) -> NodeIdentity {
        NodeIdentity { info: NodeInfo { public_key: public_key(&key), ..self.info.clone() }, key }
    }
}

/// Base64 of the raw public key, as nodes pin and publish it.
pub fn public_key(key: &SigningKey) -> String {
    STANDARD.encode(key.verifying_key().to_bytes())
}

/// Without `node.id`, the id is a fingerprint of the first key, kept in
/// `<data_dir>/node.id` so that it survives rotations of the key.
fn derived_id(config: &Config, key: &SigningKey) -> Result<String, ConfigError> {
    let path = config.data_dir.join("node.id");
    let io = |source| ConfigError::Io { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(id) => Ok(id.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = format!("node-{}", &hex::encode(Sha256::digest(key.verifying_key().to_bytes()))[..12]);
            std::fs::write(&path, format!("{id}\n")).map_err(io)?;
            Ok(id)
        }
        Err(e) => Err(io(e)),
    }
}

/// Where a rotation writes the next key before it is committed.
pub fn next_key_file(config: &Config) -> PathBuf {
    let mut path = config.key_file().into_os_string();
    path.push(".next");
    PathBuf::from(path)
}

/// Writes `key` to `path` (mode 600, synced); `path` must not exist.
pub fn write_key(path: &Path, key: &SigningKey) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    secrets::write_secret_file(path, pem.as_bytes()).map_err(io)
}

/// Makes the key at `next` the node key (one rename, then the directory
/// synced): the retired key is gone.
pub fn promote_next_key(config: &Config) -> Result<(), ConfigError> {
    let (next, path) = (next_key_file(config), config.key_file());
    let io = |source| ConfigError::Io { path: path.clone(), source };
    std::fs::rename(&next, &path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

/// The key a rotation left at `next`, if any.
pub fn load_next_key(config: &Config) -> Result<Option<SigningKey>, ConfigError> {
    let next = next_key_file(config);
    if next.exists() {
        load_key(&next).map(Some)
    } else {
        Ok(None)
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
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    write_key(path, &key)?;
    tracing::info!(path = %path.display(), "created node key");
    Ok(key)
}
