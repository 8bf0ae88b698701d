//! C2SP signed notes (<https://c2sp.org/signed-note>) and transparency-log
//! checkpoints (<https://c2sp.org/tlog-checkpoint>).
//!
//! A signed note is a text ending in `\n`, a blank line, then one or more
//! signature lines `— <key name> <base64(4-byte key id ‖ signature)>\n`
//! (U+2014 em dash, space). Notes are UTF-8 with no control character other
//! than `\n`. Key names are non-empty, without Unicode white space or `+`.
//!
//! Key ids are `SHA-256(name ‖ "\n" ‖ type byte ‖ 32-byte Ed25519 public
//! key)[..4]` read big-endian (always SHA-256, whatever the log's tree hash),
//! with type `0x01` for plain Ed25519 note signatures and `0x04` for
//! timestamped witness cosignatures ([`crate::witness`]). Verifier keys are
//! written `<name>+<8 hex digits of key id>+<base64(type ‖ public key)>`;
//! signer keys `PRIVATE+KEY+<name>+<key id>+<base64(type ‖ 32-byte seed)>`
//! (the golang.org/x/mod/sumdb/note forms).
//!
//! A checkpoint is a note whose text is
//!
//! ```text
//! <origin>\n<tree size in decimal>\n<base64 of the root hash>\n[<extension line>\n]*
//! ```
//!
//! Opening a note ([`open_note`]) ignores signatures from unknown keys (a
//! different name *or* key id), verifies every signature from a known key
//! (any failure rejects the whole note), and requires at least one.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::Digest as _;

use crate::hash::Hash;

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of Ed25519 timestamped cosignatures (tlog-cosignature v1).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// The prefix of every signature line: U+2014 EM DASH and a space.
pub const SIG_LINE_PREFIX: &str = "\u{2014} ";

/// More signature lines than this make a note malformed (the spec demands
/// at least 16; golang.org/x/mod/sumdb/note allows 100).
pub const MAX_SIGNATURES: usize = 100;

/// Largest note accepted by [`open_note`], in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Why a note, key or checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note does not follow the signed-note format.
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("signed note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A key name is empty or holds white space or `+`.
    #[error("invalid key name {0:?}")]
    BadKeyName(String),
    /// A verifier key string is malformed or its key id does not match.
    #[error("invalid verifier key: {0}")]
    BadVerifierKey(&'static str),
    /// A signer key string is malformed or its key id does not match.
    #[error("invalid signer key: {0}")]
    BadSignerKey(&'static str),
    /// A signature from a known key failed to verify: the note was forged
    /// or altered.
    #[error("signature by {name:?} does not verify")]
    BadSignature {
        /// The key name on the failing line.
        name: String,
    },
    /// No signature from a known key.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// The note text is not a valid checkpoint.
    #[error("invalid checkpoint: {0}")]
    BadCheckpoint(&'static str),
}

/// What kind of signature a verifier key checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Plain Ed25519 over the note text (type byte `0x01`): log keys.
    Ed25519,
    /// Timestamped Ed25519 cosignature, tlog-cosignature v1 (type `0x04`):
    /// witness keys.
    CosignatureV1,
}

impl KeyType {
    /// The signature type byte.
    pub fn type_byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => SIG_TYPE_ED25519,
            KeyType::CosignatureV1 => SIG_TYPE_COSIGNATURE_V1,
        }
    }

    fn from_type_byte(b: u8) -> Option<Self> {
        match b {
            SIG_TYPE_ED25519 => Some(KeyType::Ed25519),
            SIG_TYPE_COSIGNATURE_V1 => Some(KeyType::CosignatureV1),
            _ => None,
        }
    }
}

/// Whether `name` is a valid key name: non-empty, no Unicode white space,
/// no `+`, no control characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::BadKeyName(name.to_owned()))
    }
}

/// `SHA-256(name ‖ "\n" ‖ type ‖ public key)[..4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public_key: &VerifyingKey) -> u32 {
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([key_type.type_byte()]);
    h.update(public_key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A trusted public key: name, key id, type and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier key; the key id is computed.
    pub fn new(name: &str, key_type: KeyType, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(VerifierKey { name: name.to_owned(), key_id: key_id(name, key_type, &key), key_type, key })
    }

    /// A log (plain Ed25519) verifier key.
    pub fn ed25519(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        Self::new(name, KeyType::Ed25519, key)
    }

    /// A witness (cosignature/v1) verifier key.
    pub fn cosignature_v1(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        Self::new(name, KeyType::CosignatureV1, key)
    }

    /// Parse `<name>+<hex key id>+<base64(type ‖ key)>`, checking the id.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let bad = NoteError::BadVerifierKey;
        let (name, rest) = s.split_once('+').ok_or(bad("expected name+id+key"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
        check_name(name)?;
        let id = parse_key_id(id_hex).ok_or(bad("key id must be 8 lower-case hex digits"))?;
        let raw = B64.decode(key_b64).map_err(|_| bad("key is not base64"))?;
        let (&ty, key) = raw.split_first().ok_or(bad("empty key"))?;
        let key_type = KeyType::from_type_byte(ty).ok_or(bad("unsupported signature type"))?;
        let key: [u8; 32] = key.try_into().map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 public key"))?;
        let v = Self::new(name, key_type, key)?;
        if v.key_id != id {
            return Err(bad("key id does not match name and key"));
        }
        Ok(v)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Check one signature (the bytes after the key id) over `body`;
    /// returns the cosignature timestamp for [`KeyType::CosignatureV1`].
    fn verify(&self, body: &str, sig: &[u8]) -> Result<Option<u64>, ()> {
        match self.key_type {
            KeyType::Ed25519 => {
                let sig = Signature::from_slice(sig).map_err(|_| ())?;
                self.key.verify_strict(body.as_bytes(), &sig).map_err(|_| ())?;
                Ok(None)
            }
            KeyType::CosignatureV1 => {
                if sig.len() != 8 + 64 {
                    return Err(());
                }
                let time = u64::from_be_bytes(sig[..8].try_into().expect("8 bytes"));
                if time > i64::MAX as u64 {
                    return Err(());
                }
                let sig = Signature::from_slice(&sig[8..]).map_err(|_| ())?;
                let msg = crate::witness::cosignature_message(body, time);
                self.key.verify_strict(msg.as_bytes(), &sig).map_err(|_| ())?;
                Ok(Some(time))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    /// `<name>+<hex key id>+<base64(type ‖ key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![self.key_type.type_byte()];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn parse_key_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Encode a signer key as `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`.
/// This is a secret: store it like one.
pub fn encode_signer_key(name: &str, key_type: KeyType, key: &SigningKey) -> Result<String, NoteError> {
    check_name(name)?;
    let id = key_id(name, key_type, &key.verifying_key());
    let mut raw = vec![key_type.type_byte()];
    raw.extend_from_slice(&key.to_bytes());
    Ok(format!("PRIVATE+KEY+{name}+{id:08x}+{}", B64.encode(raw)))
}

/// Parse a signer key string (see [`encode_signer_key`]), checking its id.
pub fn parse_signer_key(s: &str) -> Result<(String, KeyType, SigningKey), NoteError> {
    let bad = NoteError::BadSignerKey;
    let rest = s.strip_prefix("PRIVATE+KEY+").ok_or(bad("expected PRIVATE+KEY+ prefix"))?;
    let (name, rest) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
    let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("expected name+id+key"))?;
    check_name(name)?;
    let id = parse_key_id(id_hex).ok_or(bad("key id must be 8 lower-case hex digits"))?;
    let raw = B64.decode(key_b64).map_err(|_| bad("key is not base64"))?;
    let (&ty, seed) = raw.split_first().ok_or(bad("empty key"))?;
    let key_type = KeyType::from_type_byte(ty).ok_or(bad("unsupported signature type"))?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| bad("Ed25519 seed must be 32 bytes"))?;
    let key = SigningKey::from_bytes(&seed);
    if key_id(name, key_type, &key.verifying_key()) != id {
        return Err(bad("key id does not match name and key"));
    }
    Ok((name.to_owned(), key_type, key))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character other than newline"));
    }
    Ok(())
}

pub(crate) fn check_body(body: &str) -> Result<(), NoteError> {
    check_text(body)?;
    if !body.ends_with('\n') {
        return Err(NoteError::Malformed("note text must end with a newline"));
    }
    Ok(())
}

/// Build one signature line `— <name> <base64(key id ‖ sig)>\n`.
pub(crate) fn signature_line_raw(name: &str, key_id: u32, sig: &[u8]) -> String {
    let mut raw = Vec::with_capacity(4 + sig.len());
    raw.extend_from_slice(&key_id.to_be_bytes());
    raw.extend_from_slice(sig);
    format!("{SIG_LINE_PREFIX}{name} {}\n", B64.encode(raw))
}

/// The Ed25519 signature line (with its trailing newline) for `body`.
pub fn signature_line(body: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_name(name)?;
    check_body(body)?;
    let id = key_id(name, KeyType::Ed25519, &key.verifying_key());
    let sig = key.sign(body.as_bytes());
    Ok(signature_line_raw(name, id, &sig.to_bytes()))
}

/// Sign `body` (which must end in `\n`) and return the whole signed note:
/// `body + "\n" + signature line`.
pub fn sign_note(body: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    let line = signature_line(body, name, key)?;
    Ok(format!("{body}\n{line}"))
}

/// Append more signature lines (e.g. witness cosignatures) to a signed note.
pub fn add_signatures<S: AsRef<str>>(note: &str, lines: &[S]) -> String {
    let mut out = note.to_owned();
    for l in lines {
        out.push_str(l.as_ref());
    }
    out
}

/// One verified signature of an opened note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key name.
    pub name: String,
    /// Key id.
    pub key_id: u32,
    /// Kind of key.
    pub key_type: KeyType,
    /// The cosignature's timestamp (Unix seconds), for cosignatures.
    pub timestamp: Option<u64>,
}

/// A signature line from an unknown key (ignored, not verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedSignature {
    /// Key name on the line.
    pub name: String,
    /// Key id on the line.
    pub key_id: u32,
    /// The whole base64 field.
    pub base64: String,
}

/// A note whose signatures have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text (with its final newline, without the blank line).
    pub body: String,
    /// Verified signatures, in order of appearance.
    pub verified: Vec<VerifiedSignature>,
    /// Signatures from unknown keys, in order of appearance.
    pub unverified: Vec<UnverifiedSignature>,
}

impl OpenedNote {
    /// Names of the keys that signed, in order, without repeats.
    pub fn signer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for s in &self.verified {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
        names
    }
}

/// Split a signed note into its text and signature lines, checking the
/// format but no signature.
fn split_note(text: &str) -> Result<(&str, Vec<&str>), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::Malformed("note is too large"));
    }
    check_text(text)?;
    let split = text.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let body = &text[..split + 1];
    let sigs = &text[split + 2..];
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed("signature block must end with a newline"));
    }
    let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures);
    }
    Ok((body, lines))
}

/// Parse one signature line (without newline) into name, key id and
/// signature bytes.
fn parse_sig_line(line: &str) -> Result<(&str, u32, Vec<u8>, &str), NoteError> {
    let rest = line
        .strip_prefix(SIG_LINE_PREFIX)
        .ok_or(NoteError::Malformed("signature line must start with an em dash and a space"))?;
    let (name, b64) =
        rest.split_once(' ').ok_or(NoteError::Malformed("signature line needs a name and a signature"))?;
    if !is_valid_key_name(name) {
        return Err(NoteError::Malformed("invalid key name on a signature line"));
    }
    let raw = B64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
    if raw.len() < 5 {
        return Err(NoteError::Malformed("signature is too short"));
    }
    let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok((name, id, raw[4..].to_vec(), b64))
}

/// Open a signed note with full detail (see [`open_note`]).
pub fn open_note_detailed(text: &str, keys: &[VerifierKey]) -> Result<OpenedNote, NoteError> {
    let (body, lines) = split_note(text)?;
    let mut opened = OpenedNote { body: body.to_owned(), verified: Vec::new(), unverified: Vec::new() };
    for line in lines {
        let (name, id, sig, b64) = parse_sig_line(line)?;
        let candidates: Vec<&VerifierKey> =
            keys.iter().filter(|k| k.name == name && k.key_id == id).collect();
        if candidates.is_empty() {
            opened.unverified.push(UnverifiedSignature {
                name: name.to_owned(),
                key_id: id,
                base64: b64.to_owned(),
            });
            continue;
        }
        let verified = candidates.iter().find_map(|k| k.verify(body, &sig).ok().map(|ts| (k.key_type, ts)));
        match verified {
            Some((key_type, timestamp)) => opened.verified.push(VerifiedSignature {
                name: name.to_owned(),
                key_id: id,
                key_type,
                timestamp,
            }),
            None => return Err(NoteError::BadSignature { name: name.to_owned() }),
        }
    }
    if opened.verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(opened)
}

/// Open a signed note: returns its text and the names of the known keys
/// that signed it. Signatures from unknown keys are ignored; every
/// signature from a known key must verify; at least one must exist.
pub fn open_note(text: &str, keys: &[VerifierKey]) -> Result<(String, Vec<String>), NoteError> {
    let opened = open_note_detailed(text, keys)?;
    let names = opened.signer_names();
    Ok((opened.body, names))
}

/// A transparency-log checkpoint: the body of a signed note.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Unique name of the log, e.g. `govdata.example/440000`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash at `size`.
    pub root: Hash,
    /// Optional extension lines (non-empty, without newline); normally none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Checkpoint { origin: origin.into(), size, root, extensions: Vec::new() }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` then extension lines.
    pub fn body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parse a checkpoint note text (not a signed note: see [`Checkpoint::open`]).
    pub fn parse(body: &str) -> Result<Self, NoteError> {
        let bad = NoteError::BadCheckpoint;
        check_text(body).map_err(|_| bad("control character other than newline"))?;
        let text = body.strip_suffix('\n').ok_or(bad("must end with a newline"))?;
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or(bad("empty origin"))?;
        let size = lines.next().ok_or(bad("missing tree size"))?;
        let root = lines.next().ok_or(bad("missing root hash"))?;
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !size_ok {
            return Err(bad("tree size must be decimal without leading zeros"));
        }
        let size: u64 = size.parse().map_err(|_| bad("tree size out of range"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(bad("root hash must be base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }

    /// Check that [`Checkpoint::body`] parses back to this checkpoint.
    pub fn validate(&self) -> Result<(), NoteError> {
        if Checkpoint::parse(&self.body())? != *self {
            return Err(NoteError::BadCheckpoint("origin or extension line holds a newline"));
        }
        Ok(())
    }

    /// Sign as the log: the complete signed note.
    pub fn sign(&self, name: &str, key: &SigningKey) -> Result<String, NoteError> {
        self.validate()?;
        sign_note(&self.body(), name, key)
    }

    /// Open a signed checkpoint: verify (see [`open_note`]) then parse.
    /// Returns the checkpoint and the names of the known keys that signed.
    pub fn open(text: &str, keys: &[VerifierKey]) -> Result<(Checkpoint, Vec<String>), NoteError> {
        let (body, names) = open_note(text, keys)?;
        Ok((Checkpoint::parse(&body)?, names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key and note of golang.org/x/mod/sumdb/note.
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn go_note() -> String {
        format!("{GO_TEXT}\n{GO_SIG}")
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn reference_vector_sign_and_open() {
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.key_type(), KeyType::Ed25519);
        assert_eq!(v.to_string(), GO_VKEY);

        let (name, ty, sk) = parse_signer_key(GO_SKEY).unwrap();
        assert_eq!((name.as_str(), ty), ("PeterNeumann", KeyType::Ed25519));
        assert_eq!(sk.verifying_key(), *v.verifying_key());
        assert_eq!(encode_signer_key(&name, ty, &sk).unwrap(), GO_SKEY);

        // Ed25519 is deterministic: byte-for-byte the reference note.
        assert_eq!(sign_note(GO_TEXT, "PeterNeumann", &sk).unwrap(), go_note());
        let (body, names) = open_note(&go_note(), &[v]).unwrap();
        assert_eq!(body, GO_TEXT);
        assert_eq!(names, vec!["PeterNeumann".to_owned()]);
    }

    #[test]
    fn reference_bad_notes_are_malformed() {
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        let bad = [
            GO_TEXT.to_owned(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", GO_SIG.trim_end_matches('\n')),
            format!("\u{1}{GO_TEXT}\n{GO_SIG}"),
            format!("{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{GO_TEXT}\n{GO_SIG}Unexpected line.\n"),
            format!("{GO_TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{GO_TEXT}\n\u{2014} PeterNeumann !!!\n"),
            format!("{GO_TEXT}\n\u{2014} PeterNeumann AAAA\n"),
            format!("{GO_TEXT}\r\n{GO_SIG}"),
        ];
        for b in &bad {
            let err = open_note(b, std::slice::from_ref(&v)).unwrap_err();
            assert!(matches!(err, NoteError::Malformed(_)), "{b:?}: {err:?}");
        }
        let many = format!("{GO_TEXT}\n{}", GO_SIG.repeat(MAX_SIGNATURES + 1));
        assert_eq!(open_note(&many, std::slice::from_ref(&v)), Err(NoteError::TooManySignatures));
        let ok_many = format!("{GO_TEXT}\n{}", GO_SIG.repeat(MAX_SIGNATURES));
        assert!(open_note(&ok_many, &[v]).is_ok());
    }

    #[test]
    fn bad_verifier_keys() {
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3",
            "",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
        // Every strict prefix of the key is rejected.
        for i in 0..GO_VKEY.len() {
            assert!(VerifierKey::parse(&GO_VKEY[..i]).is_err());
        }
        assert!(parse_signer_key(&GO_SKEY.replace("c74f20a3", "c74f20a4")).is_err());
        assert!(parse_signer_key(GO_VKEY).is_err());
    }

    #[test]
    fn unknown_keys_ignored_known_must_verify() {
        let (k1, k2) = (key(1), key(2));
        let v1 = VerifierKey::ed25519("log.example/a", k1.verifying_key()).unwrap();
        let v2 = VerifierKey::ed25519("log.example/b", k2.verifying_key()).unwrap();
        let body = "hello\n";
        let l1 = signature_line(body, "log.example/a", &k1).unwrap();
        let l2 = signature_line(body, "log.example/b", &k2).unwrap();
        let note = format!("{body}\n{l1}{l2}");

        assert_eq!(open_note(&note, std::slice::from_ref(&v1)).unwrap().1, vec!["log.example/a".to_owned()]);
        assert_eq!(
            open_note(&note, &[v2.clone(), v1.clone()]).unwrap().1,
            vec!["log.example/a".to_owned(), "log.example/b".to_owned()]
        );
        let detailed = open_note_detailed(&note, std::slice::from_ref(&v2)).unwrap();
        assert_eq!(detailed.unverified.len(), 1);
        assert_eq!(detailed.unverified[0].name, "log.example/a");
        assert_eq!(open_note(&note, &[]), Err(NoteError::NoKnownSignature));

        // Same name, other key: unknown (id differs), so ignored.
        let impostor = VerifierKey::ed25519("log.example/a", key(3).verifying_key()).unwrap();
        assert_eq!(open_note(&note, &[impostor]), Err(NoteError::NoKnownSignature));

        // A known key's bad signature rejects the note even if another verifies.
        let forged = note.replace(body, "hellO\n");
        assert!(matches!(open_note(&forged, &[v1.clone(), v2.clone()]), Err(NoteError::BadSignature { .. })));
        let mut sig_bytes = B64.decode(l2.trim_end().rsplit(' ').next().unwrap()).unwrap();
        sig_bytes[10] ^= 1;
        let l2_bad = format!("{SIG_LINE_PREFIX}log.example/b {}\n", B64.encode(&sig_bytes));
        let note_bad = format!("{body}\n{l1}{l2_bad}");
        assert_eq!(
            open_note(&note_bad, &[v1.clone(), v2.clone()]),
            Err(NoteError::BadSignature { name: "log.example/b".into() })
        );
        assert!(open_note(&note_bad, &[v1]).is_ok());
    }

    #[test]
    fn body_with_blank_lines() {
        let k = key(4);
        let v = VerifierKey::ed25519("n", k.verifying_key()).unwrap();
        let body = "a\n\nb\n";
        let note = sign_note(body, "n", &k).unwrap();
        assert_eq!(open_note(&note, &[v]).unwrap().0, body);
        assert!(sign_note("no newline", "n", &k).is_err());
        assert!(sign_note("x\n", "bad name", &k).is_err());
        assert!(sign_note("tab\there\n", "n", &k).is_err());
    }

    #[test]
    fn checkpoint_round_trip_and_tamper() {
        let k = key(5);
        let v = VerifierKey::ed25519("govdata.example/440000", k.verifying_key()).unwrap();
        let cp = Checkpoint::new("govdata.example/440000", 20852163, [7u8; 32]);
        assert_eq!(cp.body(), format!("govdata.example/440000\n20852163\n{}\n", B64.encode([7u8; 32])));
        let signed = cp.sign("govdata.example/440000", &k).unwrap();
        let (back, names) = Checkpoint::open(&signed, std::slice::from_ref(&v)).unwrap();
        assert_eq!(back, cp);
        assert_eq!(names, vec!["govdata.example/440000".to_owned()]);

        let mut other_root = cp.clone();
        other_root.root[0] ^= 1;
        let mut other_origin = cp.clone();
        other_origin.origin.push('x');
        for altered in [
            signed.replace("\n20852163\n", "\n20852164\n"),
            signed.replace(&cp.body(), &other_root.body()),
            signed.replace(&cp.body(), &other_origin.body()),
        ] {
            assert_ne!(altered, signed);
            assert!(matches!(
                Checkpoint::open(&altered, std::slice::from_ref(&v)),
                Err(NoteError::BadSignature { .. })
            ));
        }

        let mut ext = cp.clone();
        ext.extensions.push("Timestamp: 1".into());
        let signed_ext = ext.sign("govdata.example/440000", &k).unwrap();
        assert_eq!(Checkpoint::open(&signed_ext, &[v]).unwrap().0, ext);
    }

    #[test]
    fn checkpoint_parse_rules() {
        let root = B64.encode([1u8; 32]);
        assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
        for bad in [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1\n{}\n", B64.encode([1u8; 31])),
            "o\n1\nnot base64!\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
            "o\n1\n".to_owned(),
            format!("o\r\n1\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let cp = Checkpoint::new("bad\norigin", 1, [0; 32]);
        assert!(cp.sign("n", &key(1)).is_err());
        assert!(Checkpoint::new("", 1, [0; 32]).validate().is_err());
    }
}
