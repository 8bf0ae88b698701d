//! Who is calling: a person with a session cookie, or an application with an
//! API key. Extracting a [`Principal`] authenticates the request and, for
//! state-changing browser requests, checks the CSRF token. What a principal
//! may do is decided in [`crate::policy`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use govdata_model::org::Role;
use govdata_model::ErrorCode;
use govdata_store::StoredApiKey;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::HttpError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "govdata_session";
pub const CSRF_COOKIE: &str = "govdata_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
const API_KEY_PREFIX: &str = "gdk_";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// How the caller appears in the ledger: `user:<username>` or `key:<prefix>`.
    pub actor: String,
    pub department_id: String,
    pub roles: Vec<Role>,
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone)]
pub enum PrincipalKind {
    User { id: String, session_hash: String },
    ApiKey { id: String },
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn unauthenticated(message: &str) -> HttpError {
    HttpError::new(ErrorCode::Unauthenticated, message)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| unauthenticated("malformed Authorization header"))?;
            let key = value
                .strip_prefix("Bearer ")
                .ok_or_else(|| unauthenticated("Authorization must be 'Bearer <api key>'"))?;
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|connect| connect.0);
            let client = client_address(peer, &parts.headers, &state.config.server.trusted_proxies);
            let credential = key.trim();
            return if credential.starts_with(ACCESS_TOKEN_PREFIX) {
                access_token_principal(state, credential, client).await
            } else {
                api_key_principal(state, credential, client).await
            };
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .ok_or_else(|| unauthenticated("log in or present an API key"))?
            .value()
            .to_owned();
        let session_hash = sha256_hex(token.as_bytes());
        let session = state
            .store
            .session(&session_hash)
            .await?
            .ok_or_else(|| unauthenticated("session expired or unknown; log in again"))?;
        if session.user.disabled {
            return Err(unauthenticated("account disabled"));
        }
        if !is_safe_method(&parts.method) {
            let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
            if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
                return Err(HttpError::new(
                    ErrorCode::CsrfRejected,
                    format!("state-changing requests need the {CSRF_HEADER} header from login"),
                ));
            }
        }
        Ok(Principal {
            actor: format!("user:{}", session.user.username),
            department_id: session.user.department_id,
            roles: session.user.roles,
            kind: PrincipalKind::User { id: session.user.id, session_hash },
        })
    }
}

/// For endpoints open to the public: no credentials is `None`; credentials
/// that fail are still refused.
impl axum::extract::OptionalFromRequestParts<AppState> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let has_cookie = CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).is_some();
        if !has_cookie && !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await.map(Some)
    }
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// How long a stored API key is used without reading it again. A key
/// revoked through this process is forgotten at once; one revoked through
/// another process sharing the database stops working within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// API keys recently read from the store, by prefix: applications call the
/// gateway at high rates, and a store read per call would be most of its cost.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<CachedKeys>,
}

/// Keys by prefix, and a generation that every forget bumps: a read that
/// raced with a revocation is not stored back.
#[derive(Default)]
struct CachedKeys {
    by_prefix: HashMap<String, (StoredApiKey, Instant)>,
    generation: u64,
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedKeys> {
        self.keys.lock().expect("key cache lock is never poisoned")
    }

    async fn get(
        &self,
        store: &govdata_store::Store,
        prefix: &str,
    ) -> Result<Option<StoredApiKey>, HttpError> {
        let generation = {
            let keys = self.lock();
            if let Some((key, read_at)) = keys.by_prefix.get(prefix) {
                if read_at.elapsed() < KEY_CACHE_TTL {
                    return Ok(Some(key.clone()));
                }
            }
            keys.generation
        };
        let stored = store.api_key_by_prefix(prefix).await?;
        let mut keys = self.lock();
        match &stored {
            Some(key) if keys.generation == generation => {
                keys.by_prefix.insert(prefix.to_owned(), (key.clone(), Instant::now()));
            }
            _ => {
                keys.by_prefix.remove(prefix);
            }
        }
        Ok(stored)
    }

    /// Forgets every key: after a revocation.
    pub fn forget_all(&self) {
        let mut keys = self.lock();
        keys.by_prefix.clear();
        keys.generation += 1;
    }
}

async fn api_key_principal(
    state: &AppState,
    key: &str,
    client: Option<IpAddr>,
) -> Result<Principal, HttpError> {
    let stored = verified_api_key(state, key).await?;
    key_principal(stored, client)
}

/// The stored key whose secret `key` is; every failure is the same
/// "unknown API key", so a caller learns nothing about which part was wrong.
pub async fn verified_api_key(state: &AppState, key: &str) -> Result<StoredApiKey, HttpError> {
    let prefix = api_key_prefix(key).ok_or_else(|| unauthenticated("malformed API key"))?;
    let stored =
        state.api_keys.get(&state.store, prefix).await?.ok_or_else(|| unauthenticated("unknown API key"))?;
    let presented = sha256_hex(key.as_bytes());
    if !bool::from(presented.as_bytes().ct_eq(stored.secret_hash.as_bytes())) {
        return Err(unauthenticated("unknown API key"));
    }
    Ok(stored)
}

/// The principal of a verified key (or of a token issued for it): refused
/// once the key is revoked or expired, or from outside its networks.
pub fn key_principal(stored: StoredApiKey, client: Option<IpAddr>) -> Result<Principal, HttpError> {
    if stored.key.revoked_at.is_some() {
        return Err(unauthenticated("API key revoked"));
    }
    if stored.key.expires_at.as_deref().is_some_and(|at| at <= govdata_store::timestamp::now().as_str()) {
        return Err(unauthenticated("API key expired"));
    }
    if !stored.key.allowed_networks.is_empty() {
        let allowed = client.is_some_and(|ip| {
            stored
                .key
                .allowed_networks
                .iter()
                .filter_map(|net| parse_network(net))
                .any(|net| net.contains(&ip))
        });
        if !allowed {
            let from = client.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
            return Err(HttpError::new(
                ErrorCode::Forbidden,
                format!("this API key may not be used from {from}; see its allowed networks"),
            ));
        }
    }
    Ok(Principal {
        actor: format!("key:{}", stored.key.prefix),
        department_id: stored.key.department_id,
        roles: stored.key.roles,
        kind: PrincipalKind::ApiKey { id: stored.key.id },
    })
}

/// OAuth2 access tokens (client credentials, RFC 6749 §4.4) start with this.
pub const ACCESS_TOKEN_PREFIX: &str = "gdt_";

/// An access token for the key `prefix` until `expires` (Unix seconds):
/// `gdt_<key id>_<expires>_<HMAC>`. It holds no secret and no state: the
/// HMAC, keyed from the node key, makes it unforgeable, and every use checks
/// the key itself again, so revoking the key ends its tokens at once.
pub fn issue_access_token(node_key: &ed25519_dalek::SigningKey, prefix: &str, expires: i64) -> String {
    let id = prefix.strip_prefix(API_KEY_PREFIX).unwrap_or(prefix);
    let claims = format!("{id}_{expires}");
    let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token_mac(node_key, &claims));
    format!("{ACCESS_TOKEN_PREFIX}{claims}_{mac}")
}

fn token_mac(node_key: &ed25519_dalek::SigningKey, claims: &str) -> [u8; 32] {
    let key = Sha256::new()
        .chain_update(b"govdata oauth2 access token v1")
        .chain_update(node_key.to_bytes())
        .finalize();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(claims.as_bytes());
    mac.finalize().into_bytes().into()
}

async fn access_token_principal(
    state: &AppState,
    token: &str,
    client: Option<IpAddr>,
) -> Result<Principal, HttpError> {
    let invalid = || unauthenticated("invalid access token; request a new one");
    let rest = token.strip_prefix(ACCESS_TOKEN_PREFIX).ok_or_else(invalid)?;
    // The MAC is base64url and may itself hold "_": split from the left.
    let mut fields = rest.splitn(3, '_');
    let (Some(id), Some(expires), Some(mac)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(invalid());
    };
    let claims = &rest[..id.len() + 1 + expires.len()];
    let presented = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac).map_err(|_| invalid())?;
    if !bool::from(presented.as_slice().ct_eq(&token_mac(&state.node().key, claims))) {
        return Err(invalid());
    }
    let expires: i64 = expires.parse().map_err(|_| invalid())?;
    if expires <= time::OffsetDateTime::now_utc().unix_timestamp() {
        return Err(unauthenticated("access token expired; request a new one"));
    }
    let prefix = format!("{API_KEY_PREFIX}{id}");
    let stored =
        state.api_keys.get(&state.store, &prefix).await?.ok_or_else(|| unauthenticated("unknown API key"))?;
    key_principal(stored, client)
}

/// A network in an API key's allow-list: `10.0.0.0/8`, `2001:db8::/32`, or a
/// single address (a /32 or /128). Host bits are cleared so the stored form is
/// canonical.
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(text.parse::<IpAddr>().ok()?),
    };
    Some(net.trunc())
}

/// One `X-Forwarded-For` hop: an address, or an address with a port as
/// some proxies send it (`203.0.113.5:4711`, `[2001:db8::1]:443`).
fn forwarded_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

/// The address a request comes from: the TCP peer, or — when that peer is one
/// of the trusted reverse proxies — the nearest untrusted hop of
/// `X-Forwarded-For` (read right to left, since a client can forge the left).
pub fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|hop| forwarded_hop(hop.trim()).map(|ip| ip.to_canonical()))
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in forwarded.into_iter().rev() {
        if !trusted(&client) {
            break;
        }
        // A malformed hop from a trusted proxy: the client is unknown.
        client = hop?;
    }
    Some(client)
}

/// The lookup prefix of a key `gdk_<8 hex>_<secret>`.
fn api_key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() >= 32)
        .then(|| &key[..API_KEY_PREFIX.len() + 8])
}

/// A new API key: `(whole key shown once, lookup prefix, stored hash)`.
pub fn generate_api_key() -> (String, String, String) {
    let mut id = [0u8; 4];
    rand::thread_rng().fill_bytes(&mut id);
    let prefix = format!("{API_KEY_PREFIX}{}", hex::encode(id));
    let key = format!("{prefix}_{}", random_token());
    let hash = sha256_hex(key.as_bytes());
    (key, prefix, hash)
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Argon2id hash in PHC form. CPU-heavy: run it off the async runtime.
pub async fn hash_password(password: String) -> Result<String, HttpError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|_| HttpError::new(ErrorCode::Internal, "internal error"))?
    .map_err(|_| HttpError::new(ErrorCode::Internal, "internal error"))
}

/// Verifies against a stored hash, or against a fixed dummy when the user does
/// not exist, so both cases take the same time.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        PasswordHash::new(&stored)
            .map(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Argon2id of a random password nobody knows, made once per process.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_token().as_bytes(), &salt)
            .expect("argon2 with default parameters hashes any input")
            .to_string()
    })
}

/// Password rules: long enough, letters and digits, not the username.
pub fn check_password(password: &str, username: &str, min_len: usize) -> Result<(), HttpError> {
    let len = password.chars().count();
    if len < min_len {
        return Err(HttpError::invalid("password", format!("must be at least {min_len} characters")));
    }
    if len > 1024 {
        return Err(HttpError::invalid("password", "must be at most 1024 characters"));
    }
    if !password.chars().any(|c| c.is_alphabetic()) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(HttpError::invalid("password", "must contain letters and digits"));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(HttpError::invalid("password", "must differ from the username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_parse_to_their_prefix() {
        let (key, prefix, hash) = generate_api_key();
        assert_eq!(api_key_prefix(&key), Some(prefix.as_str()));
        assert_eq!(hash, sha256_hex(key.as_bytes()));
        assert_eq!(api_key_prefix("gdk_zzzzzzzz_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(api_key_prefix("gdk_0123abcd_short"), None);
        assert_eq!(api_key_prefix("bearer"), None);
    }

    #[test]
    fn password_rules() {
        assert!(check_password("short1", "u", 10).is_err());
        assert!(check_password("onlyletterslong", "u", 10).is_err());
        assert!(check_password("letters1234", "u", 10).is_ok());
        assert!(check_password("Letters1234", "letters1234", 10).is_err());
    }

    #[test]
    fn networks_parse_to_canonical_form() {
        assert_eq!(parse_network("10.1.2.3/8").map(|n| n.to_string()), Some("10.0.0.0/8".into()));
        assert_eq!(parse_network(" 192.0.2.7 ").map(|n| n.to_string()), Some("192.0.2.7/32".into()));
        assert_eq!(parse_network("2001:db8::1/32").map(|n| n.to_string()), Some("2001:db8::/32".into()));
        assert_eq!(parse_network("10.0.0.0/33"), None);
        assert_eq!(parse_network("localhost"), None);
    }

    fn client(peer: &str, forwarded: Option<&str>, proxies: &[IpNet]) -> Option<IpAddr> {
        let mut headers = HeaderMap::new();
        if let Some(value) = forwarded {
            headers.insert("x-forwarded-for", value.parse().expect("header value"));
        }
        client_address(Some(peer.parse().expect("socket address")), &headers, proxies)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = [parse_network("10.0.0.0/8").expect("network")];
        let ip = |text: &str| Some(text.parse::<IpAddr>().expect("address"));
        // From an untrusted peer the header is ignored.
        assert_eq!(client("198.51.100.9:5000", Some("10.9.9.9"), &proxies), ip("198.51.100.9"));
        // Through a trusted proxy the nearest untrusted hop counts, not a forged left-most one.
        assert_eq!(
            client("10.0.0.2:5000", Some("6.6.6.6, 203.0.113.5, 10.0.0.7"), &proxies),
            ip("203.0.113.5")
        );
        // A garbled hop behind a trusted proxy leaves the client unknown.
        assert_eq!(client("10.0.0.2:5000", Some("not-an-ip"), &proxies), None);
        // IPv4-mapped IPv6 peers are compared as IPv4.
        assert_eq!(client("[::ffff:192.0.2.1]:80", None, &proxies), ip("192.0.2.1"));
        // Hops with a port, as some proxies write them.
        assert_eq!(client("10.0.0.2:5000", Some("203.0.113.5:4711"), &proxies), ip("203.0.113.5"));
        assert_eq!(client("10.0.0.2:5000", Some("[2001:db8::1]:443"), &proxies), ip("2001:db8::1"));
    }
}
