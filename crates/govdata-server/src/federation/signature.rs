//! RFC 9421 HTTP Message Signatures on node-to-node requests, Ed25519
//! (`alg="ed25519"`), with an RFC 9530 `Content-Digest` of the body.
//!
//! Every request a node sends another covers, under the label `govdata`:
//! `@method`, `@path`, `@query`, `content-digest`, `date` and
//! `govdata-recipient` (the receiving node's id), with the parameters
//! `created`, `keyid` (the sender's node id), `alg` and a random `nonce`.
//! The receiver refuses a request whose digest does not match the body,
//! which does not cover all six, which is addressed to another node (so a
//! request captured on its way to one node cannot be replayed at another,
//! whose nonces are its own), whose `created` or `Date` is outside
//! the window, whose key id is not a joined node (the caller's business:
//! [`Presented::key_id`]), whose signature fails under the pinned key, or
//! whose nonce it has seen (the caller remembers nonces for the window).
//!
//! Structured fields (RFC 8941/9651) are parsed and serialized with `sfv`,
//! and the signature base is built from the serialized inner list the sender
//! sent, as §2.5 asks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sfv::{BareItem, Dictionary, FieldType, InnerList, Item, Key, List, ListEntry, Parameters, Parser};
use sha2::{Digest, Sha256};

/// The signature label this implementation signs and looks for.
pub const LABEL: &str = "govdata";
/// The covered components, in order.
pub const COMPONENTS: [&str; 6] = ["@method", "@path", "@query", "content-digest", "date", RECIPIENT];
/// The header naming the node a request is for.
pub const RECIPIENT: &str = "govdata-recipient";
/// How far `created` and `Date` may be from the receiver's clock.
pub const WINDOW: Duration = Duration::from_secs(300);

/// The headers that carry a signature.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    pub date: String,
    pub content_digest: String,
    pub recipient: String,
    pub signature_input: String,
    pub signature: String,
}

impl SignedHeaders {
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("date", &self.date),
            ("content-digest", &self.content_digest),
            (RECIPIENT, &self.recipient),
            ("signature-input", &self.signature_input),
            ("signature", &self.signature),
        ]
    }
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    #[error("Content-Digest does not match the body")]
    DigestMismatch,
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("unsupported signature algorithm (ed25519 only)")]
    Algorithm,
    #[error("the signature is stale or from the future (created {created}, now {now})")]
    Stale { created: i64, now: i64 },
    #[error("the Date header is outside the accepted window")]
    DateOutOfWindow,
    #[error("the signature does not verify under the pinned key of node {0}")]
    BadSignature(String),
    #[error("the request is addressed to node {named}, not to this node ({this})")]
    WrongRecipient { named: String, this: String },
}

fn content_digest(body: &[u8]) -> String {
    let mut dict = Dictionary::new();
    dict.insert(
        key("sha-256"),
        ListEntry::Item(Item::new(BareItem::ByteSequence(Sha256::digest(body).to_vec()))),
    );
    dict.serialize().unwrap_or_default()
}

fn key(name: &str) -> Key {
    Key::from_string(name.to_owned()).expect("a valid structured-field key")
}

fn string(value: &str) -> BareItem {
    match sfv::String::from_string(value.to_owned()) {
        Ok(s) => BareItem::String(s),
        Err(_) => BareItem::String(sfv::String::from_string(String::new()).expect("empty string is valid")),
    }
}

/// The value of one covered component, or `None` when the request lacks it.
fn component_value(
    name: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, &str)],
) -> Option<String> {
    match name {
        "@method" => Some(method.to_ascii_uppercase()),
        "@path" => Some(if path.is_empty() { "/".to_owned() } else { path.to_owned() }),
        "@query" => Some(format!("?{}", query.unwrap_or_default())),
        header => {
            headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(header)).map(|(_, v)| v.trim().to_owned())
        }
    }
}

/// The signature base (§2.5) for `params`, the serialized inner list.
fn signature_base(
    params: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<String, SignatureError> {
    let mut base = String::new();
    for name in COMPONENTS {
        let value =
            component_value(name, method, path, query, headers).ok_or(SignatureError::NotCovered(name))?;
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    Ok(base)
}

/// Signs a request for node `recipient`: `path` without the query, `query`
/// without the `?`.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    key_pair: &SigningKey,
    key_id: &str,
    recipient: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    now: SystemTime,
) -> SignedHeaders {
    let date = httpdate::fmt_http_date(now);
    let digest = content_digest(body);
    let created = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let mut params = Parameters::new();
    params.insert(key("created"), BareItem::Integer(sfv::Integer::constant(created)));
    params.insert(key("keyid"), string(key_id));
    params.insert(key("alg"), string("ed25519"));
    params.insert(key("nonce"), string(&uuid::Uuid::new_v4().simple().to_string()));
    let components = COMPONENTS.iter().map(|c| Item::new(string(c))).collect();
    let inner = InnerList::with_params(components, params);
    let serialized = List::from([ListEntry::InnerList(inner.clone())]).serialize().unwrap_or_default();
    let headers = [("content-digest", digest.as_str()), ("date", date.as_str()), (RECIPIENT, recipient)];
    let base =
        signature_base(&serialized, method, path, query, &headers).expect("every component is present");
    let signature = key_pair.sign(base.as_bytes());
    let mut input = Dictionary::new();
    input.insert(key(LABEL), ListEntry::InnerList(inner));
    let mut sig = Dictionary::new();
    sig.insert(key(LABEL), ListEntry::Item(Item::new(BareItem::ByteSequence(signature.to_bytes().to_vec()))));
    SignedHeaders {
        date,
        content_digest: digest,
        recipient: recipient.to_owned(),
        signature_input: input.serialize().unwrap_or_default(),
        signature: sig.serialize().unwrap_or_default(),
    }
}

/// A request whose signature headers parsed and whose digest, coverage and
/// times are right; what is left is the key and the nonce.
#[derive(Debug)]
pub struct Presented {
    key_id: String,
    nonce: String,
    created: i64,
    base: String,
    signature: Signature,
}

impl Presented {
    /// The sender's node id, to look its pinned key up.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The nonce, for replay detection.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    pub fn created(&self) -> i64 {
        self.created
    }

    pub fn verify(&self, key: &VerifyingKey) -> Result<(), SignatureError> {
        key.verify(self.base.as_bytes(), &self.signature)
            .map_err(|_| SignatureError::BadSignature(self.key_id.clone()))
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, SignatureError> {
    headers
        .get(name)
        .ok_or(SignatureError::Missing(name))?
        .to_str()
        .map_err(|_| SignatureError::Malformed(name))
}

fn param_string(params: &Parameters, name: &str) -> Option<String> {
    params.get(name).and_then(|v| v.as_string()).map(|s| s.as_str().to_owned())
}

/// The key id a request claims, read before its body so that unknown
/// senders are turned away without reading it. Proves nothing by itself.
pub fn claimed_key_id(headers: &HeaderMap) -> Option<String> {
    let inputs = Parser::new(headers.get("signature-input")?.to_str().ok()?).parse::<Dictionary>().ok()?;
    match inputs.get(LABEL) {
        Some(ListEntry::InnerList(inner)) => param_string(&inner.params, "keyid"),
        _ => None,
    }
}

/// Checks everything about a signed request that needs no key; `this_node`
/// is the receiver's id, which the request must name.
#[allow(clippy::too_many_arguments)]
pub fn inspect(
    this_node: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Presented, SignatureError> {
    let digest = header(headers, "content-digest")?;
    let digests =
        Parser::new(digest).parse::<Dictionary>().map_err(|_| SignatureError::Malformed("content-digest"))?;
    match digests.get("sha-256") {
        Some(ListEntry::Item(item)) => match item.bare_item.as_byte_sequence() {
            Some(bytes) if bytes == Sha256::digest(body).as_slice() => {}
            Some(_) => return Err(SignatureError::DigestMismatch),
            None => return Err(SignatureError::Malformed("content-digest")),
        },
        _ => return Err(SignatureError::Malformed("content-digest")),
    }
    let inputs = Parser::new(header(headers, "signature-input")?)
        .parse::<Dictionary>()
        .map_err(|_| SignatureError::Malformed("signature-input"))?;
    let Some(ListEntry::InnerList(inner)) = inputs.get(LABEL) else {
        return Err(SignatureError::Missing("signature-input (label govdata)"));
    };
    let covered: Vec<&str> =
        inner.items.iter().filter_map(|i| i.bare_item.as_string()).map(|s| s.as_str()).collect();
    if let Some(missing) = COMPONENTS.iter().find(|c| !covered.contains(c)) {
        return Err(SignatureError::NotCovered(missing));
    }
    if covered.len() != COMPONENTS.len() {
        return Err(SignatureError::Malformed("signature-input"));
    }
    if param_string(&inner.params, "alg").as_deref() != Some("ed25519") {
        return Err(SignatureError::Algorithm);
    }
    let key_id = param_string(&inner.params, "keyid").ok_or(SignatureError::Missing("keyid parameter"))?;
    let nonce = param_string(&inner.params, "nonce").ok_or(SignatureError::Missing("nonce parameter"))?;
    let created = inner
        .params
        .get("created")
        .and_then(|v| v.as_integer())
        .map(i64::from)
        .ok_or(SignatureError::Missing("created parameter"))?;
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    if (now_secs - created).unsigned_abs() > WINDOW.as_secs() {
        return Err(SignatureError::Stale { created, now: now_secs });
    }
    let date = header(headers, "date")?;
    let sent = httpdate::parse_http_date(date).map_err(|_| SignatureError::Malformed("date"))?;
    let skew = now.duration_since(sent).or_else(|e| Ok::<_, ()>(e.duration())).unwrap_or_default();
    if skew > WINDOW {
        return Err(SignatureError::DateOutOfWindow);
    }
    let signatures = Parser::new(header(headers, "signature")?)
        .parse::<Dictionary>()
        .map_err(|_| SignatureError::Malformed("signature"))?;
    let signature = match signatures.get(LABEL) {
        Some(ListEntry::Item(item)) => item
            .bare_item
            .as_byte_sequence()
            .and_then(|b| Signature::from_slice(b).ok())
            .ok_or(SignatureError::Malformed("signature"))?,
        _ => return Err(SignatureError::Missing("signature (label govdata)")),
    };
    let recipient = header(headers, RECIPIENT)?;
    if recipient != this_node {
        return Err(SignatureError::WrongRecipient {
            named: recipient.to_owned(),
            this: this_node.to_owned(),
        });
    }
    let serialized = List::from([ListEntry::InnerList(inner.clone())]).serialize().unwrap_or_default();
    let pairs = [("content-digest", digest), ("date", date), (RECIPIENT, recipient)];
    let base = signature_base(&serialized, method, path, query, &pairs)?;
    Ok(Presented { key_id, nonce, created, base, signature })
}

/// Decodes a pinned key (base64 of the raw 32 bytes).
pub fn verifying_key(public_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = STANDARD.decode(public_key.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn to_map(signed: &SignedHeaders) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in signed.pairs() {
            map.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn signed(now: SystemTime) -> (SigningKey, HeaderMap) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let headers = sign(
            &key,
            "guangdong",
            "national",
            "POST",
            "/api/v1/federation/catalog",
            None,
            b"{\"a\":1}",
            now,
        );
        assert!(headers.signature_input.starts_with(
            "govdata=(\"@method\" \"@path\" \"@query\" \"content-digest\" \"date\" \"govdata-recipient\");created="
        ));
        assert!(headers.content_digest.starts_with("sha-256=:"));
        (key, to_map(&headers))
    }

    #[test]
    fn a_signed_request_verifies_and_names_its_key_and_nonce() {
        let now = SystemTime::now();
        let (key, headers) = signed(now);
        let presented =
            inspect("national", "POST", "/api/v1/federation/catalog", None, &headers, b"{\"a\":1}", now)
                .unwrap();
        assert_eq!(presented.key_id(), "guangdong");
        assert_eq!(presented.nonce().len(), 32);
        presented.verify(&key.verifying_key()).unwrap();
    }

    #[test]
    fn altered_requests_are_refused() {
        let now = SystemTime::now();
        let (key, headers) = signed(now);
        let path = "/api/v1/federation/catalog";
        assert_eq!(
            inspect("national", "POST", path, None, &headers, b"{\"a\":2}", now).unwrap_err(),
            SignatureError::DigestMismatch
        );
        let other_path =
            inspect("national", "POST", "/api/v1/federation/witness", None, &headers, b"{\"a\":1}", now)
                .unwrap();
        assert!(matches!(other_path.verify(&key.verifying_key()), Err(SignatureError::BadSignature(_))));
        let other_query =
            inspect("national", "POST", path, Some("x=1"), &headers, b"{\"a\":1}", now).unwrap();
        assert!(other_query.verify(&key.verifying_key()).is_err());
        let other_key = SigningKey::from_bytes(&[8; 32]).verifying_key();
        let presented = inspect("national", "POST", path, None, &headers, b"{\"a\":1}", now).unwrap();
        assert!(presented.verify(&other_key).is_err());
        let mut no_date = headers.clone();
        no_date.remove("date");
        assert_eq!(
            inspect("national", "POST", path, None, &no_date, b"{\"a\":1}", now).unwrap_err(),
            SignatureError::Missing("date")
        );
    }

    #[test]
    fn stale_and_future_signatures_are_refused() {
        let now = SystemTime::now();
        let (_, headers) = signed(now - Duration::from_secs(301));
        let path = "/api/v1/federation/catalog";
        assert!(matches!(
            inspect("national", "POST", path, None, &headers, b"{\"a\":1}", now),
            Err(SignatureError::Stale { .. })
        ));
        let (_, headers) = signed(now + Duration::from_secs(301));
        assert!(matches!(
            inspect("national", "POST", path, None, &headers, b"{\"a\":1}", now),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn a_signature_that_covers_less_is_refused() {
        let now = SystemTime::now();
        let (_, mut headers) = signed(now);
        let input = headers["signature-input"].to_str().unwrap().replace(" \"date\"", "");
        headers.insert("signature-input", HeaderValue::from_str(&input).unwrap());
        let err =
            inspect("national", "POST", "/api/v1/federation/catalog", None, &headers, b"{\"a\":1}", now)
                .unwrap_err();
        assert_eq!(err, SignatureError::NotCovered("date"));
    }
}
