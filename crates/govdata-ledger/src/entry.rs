//! Ledger entries and their canonical bytes.
//!
//! # Canonical form, version 1
//!
//! The bytes hashed into the tree (and served base64-encoded as `canonical`
//! by the API) are UTF-8 JSON with exactly these seven members, in this
//! order, and no whitespace anywhere:
//!
//! ```text
//! {"v":1,"node":"…","at":"…","actor":"…","kind":"…","subject":"…","payload_digest":"…"}
//! ```
//!
//! * `v` is the integer `1`.
//! * Strings are escaped as RFC 8785 (JCS) §3.2.2.2 prescribes: `"` → `\"`,
//!   `\` → `\\`, U+0008/9/A/C/D → `\b` `\t` `\n` `\f` `\r`, every other
//!   character below U+0020 → `\u00xx` (lower-case hex); everything else,
//!   including `/`, U+007F and all non-ASCII characters, is written as raw
//!   UTF-8.
//! * `node`: the id of the node whose ledger this is (non-empty).
//! * `at`: UTC time with exactly millisecond precision, `YYYY-MM-DDTHH:MM:SS.sssZ`
//!   (24 characters, a real calendar date, years 0000–9999).
//! * `actor`: who acted (user id, API key id, node id, `system`…; non-empty).
//! * `kind`: what happened, e.g. `user.create`, `gateway.read`: non-empty,
//!   lower-case ASCII letters, digits, `.`, `_` and `-`, starting with a letter.
//! * `subject`: what it happened to (may be empty).
//! * `payload_digest`: lower-case hex (64 digits) of the log's hash algorithm
//!   over the canonical JSON of the event payload (see [`canonical_json`]).
//!
//! [`Entry::parse_canonical`] accepts only bytes that are exactly what
//! [`Entry::canonical_bytes`] produces for a valid entry, so every entry has
//! one and only one byte representation.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::hash::{leaf_hash, Hash, HashAlg};

/// The current (and only) entry format version.
pub const ENTRY_VERSION: u32 = 1;

/// One ledger entry. See the [module docs](self) for the canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Format version; always [`ENTRY_VERSION`].
    pub v: u32,
    /// Node id of the ledger's owner.
    pub node: String,
    /// RFC 3339 UTC with milliseconds: `2024-05-01T08:30:00.123Z`.
    pub at: String,
    /// Who acted.
    pub actor: String,
    /// What happened, e.g. `user.create`, `gateway.read`.
    pub kind: String,
    /// What it happened to (may be empty).
    pub subject: String,
    /// Hex digest of the canonical JSON of the payload ([`payload_digest`]).
    pub payload_digest: String,
}

/// Why bytes or fields are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not JSON of the entry's shape (bad syntax, missing, unknown or
    /// duplicate member, wrong type).
    #[error("entry is not valid entry JSON: {0}")]
    Json(String),
    /// A version this code does not know.
    #[error("unsupported entry version {0}")]
    UnsupportedVersion(u32),
    /// A field breaks its rule.
    #[error("entry field `{field}` is invalid: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Valid entry, but the bytes are not its canonical form (member order,
    /// whitespace, escapes…).
    #[error("entry bytes are not in canonical form")]
    NotCanonical,
}

impl Entry {
    /// A version-1 entry (not validated; see [`Entry::validate`]).
    pub fn new(
        node: impl Into<String>,
        at: impl Into<String>,
        actor: impl Into<String>,
        kind: impl Into<String>,
        subject: impl Into<String>,
        payload_digest: impl Into<String>,
    ) -> Self {
        Entry {
            v: ENTRY_VERSION,
            node: node.into(),
            at: at.into(),
            actor: actor.into(),
            kind: kind.into(),
            subject: subject.into(),
            payload_digest: payload_digest.into(),
        }
    }

    /// Check every field rule of the canonical form.
    pub fn validate(&self) -> Result<(), EntryError> {
        if self.v != ENTRY_VERSION {
            return Err(EntryError::UnsupportedVersion(self.v));
        }
        let invalid = |field, reason| Err(EntryError::Invalid { field, reason });
        if self.node.is_empty() {
            return invalid("node", "must not be empty");
        }
        if parse_timestamp_millis(&self.at).is_none() {
            return invalid("at", "must be UTC with milliseconds: YYYY-MM-DDTHH:MM:SS.sssZ");
        }
        if self.actor.is_empty() {
            return invalid("actor", "must not be empty");
        }
        let kind_ok = self.kind.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
        if !kind_ok {
            return invalid(
                "kind",
                "must be lower-case ASCII letters, digits, '.', '_' or '-', starting with a letter",
            );
        }
        let digest_ok = self.payload_digest.len() == 64
            && self.payload_digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !digest_ok {
            return invalid("payload_digest", "must be 64 lower-case hex digits");
        }
        Ok(())
    }

    /// The canonical bytes (see the [module docs](self)). Does not validate;
    /// call [`Entry::validate`] first, or use [`Entry::to_canonical`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(160);
        s.push_str("{\"v\":");
        write!(s, "{}", self.v).expect("writing to a String");
        for (name, value) in [
            ("node", &self.node),
            ("at", &self.at),
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("subject", &self.subject),
            ("payload_digest", &self.payload_digest),
        ] {
            s.push_str(",\"");
            s.push_str(name);
            s.push_str("\":");
            write_json_string(&mut s, value);
        }
        s.push('}');
        s.into_bytes()
    }

    /// Validate, then return the canonical bytes.
    pub fn to_canonical(&self) -> Result<Vec<u8>, EntryError> {
        self.validate()?;
        Ok(self.canonical_bytes())
    }

    /// Parse canonical bytes, rejecting anything that is not exactly the
    /// canonical form of a valid entry.
    pub fn parse_canonical(bytes: &[u8]) -> Result<Entry, EntryError> {
        let entry: Entry = serde_json::from_slice(bytes).map_err(|e| EntryError::Json(e.to_string()))?;
        entry.validate()?;
        if entry.canonical_bytes() != bytes {
            return Err(EntryError::NotCanonical);
        }
        Ok(entry)
    }

    /// The entry's leaf hash under `alg` (of its canonical bytes).
    pub fn leaf_hash(&self, alg: HashAlg) -> Hash {
        leaf_hash(alg, &self.canonical_bytes())
    }
}

/// Write `s` as a JSON string, escaped as RFC 8785 §3.2.2.2 prescribes.
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Copies the runs between escapes whole; every byte that needs one is
    // ASCII, so the cuts fall on character boundaries.
    let mut run = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            byte if byte < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            write!(out, "\\u{byte:04x}").expect("writing to a String");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Canonical JSON of a payload (RFC 8785-like), built explicitly so that no
/// serde_json feature flag (`preserve_order`, `arbitrary_precision`) can
/// change it:
///
/// * no whitespace; object members sorted by the UTF-16 code units of their
///   names (RFC 8785 §3.2.3); arrays keep their order;
/// * strings escaped as in the entry form; `null`, `true`, `false`;
/// * integers that fit `u64`/`i64` printed exactly in decimal (RFC 8785
///   would round those beyond 2^53 through a double: keep such values in
///   strings if other tools must reproduce the digest);
/// * other numbers printed as ECMAScript's `Number.prototype.toString`
///   does (RFC 8785 §3.2.2.3): `4.50` → `4.5`, `1E30` → `1e+30`,
///   `2e-3` → `0.002`, `-0.0` → `0`. The digest covers the `f64` held in
///   the [`Value`](serde_json::Value); note that serde_json's default
///   parser can land one ULP off for long decimal literals (its
///   `float_roundtrip` feature fixes that), so payloads whose digest other
///   tools must reproduce from JSON text are best kept free of such floats.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

/// Hex digest, under the log's `alg`, of [`canonical_json`]`(payload)`: the
/// value for [`Entry::payload_digest`].
pub fn payload_digest(alg: HashAlg, payload: &serde_json::Value) -> String {
    hex::encode(alg.digest(canonical_json(payload).as_bytes()))
}

fn write_canonical(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_canonical(out, v);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        write!(out, "{u}").expect("writing to a String");
    } else if let Some(i) = n.as_i64() {
        write!(out, "{i}").expect("writing to a String");
    } else {
        match n.as_f64() {
            Some(f) => out.push_str(&es_number(f)),
            // Only reachable with `arbitrary_precision` and a literal no f64
            // can hold; keep its text rather than inventing a value.
            None => out.push_str(&n.to_string()),
        }
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double.
fn es_number(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        // -0 prints as 0; JSON cannot carry NaN/Infinity anyway.
        return "0".to_owned();
    }
    let (digits, exp) = shortest_digits(f.abs());
    let k = digits.len() as i32;
    let n = exp + 1; // position of the decimal point
    let mut s = String::new();
    if f < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let e = n - 1;
        s.push('e');
        s.push(if e >= 0 { '+' } else { '-' });
        write!(s, "{}", e.abs()).expect("writing to a String");
    }
    s
}

/// Split Rust's `LowerExp` output (`d.ddde±x`) into its digits and exponent.
fn split_sci(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp always has an 'e'");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    (mantissa.chars().filter(|c| *c != '.').collect(), exp)
}

/// The shortest decimal digits `d` and exponent `e` with
/// `d[0].d[1..] × 10^e` reading back as `a` (finite, positive), breaking a
/// tie between two equally close shortest candidates towards the even last
/// digit as ECMAScript requires (Rust's formatter rounds such ties up).
fn shortest_digits(a: f64) -> (String, i32) {
    let (digits, exp) = split_sci(&format!("{a:e}"));
    let k = digits.len();
    // A tie is only possible when the exact value of `a` has k+1
    // significant digits ending in 5. Every finite double's exact decimal
    // expansion has fewer than 800 significant digits.
    let (exact, exact_exp) = split_sci(&format!("{a:.800e}"));
    let exact = exact.trim_end_matches('0');
    if exact.len() != k + 1 || !exact.ends_with('5') {
        return (digits, exp);
    }
    let reads_back = |d: &str, e: i32| {
        let text = format!("{d}e{}", e - (d.len() as i32 - 1));
        text.parse::<f64>() == Ok(a)
    };
    let lower = exact[..k].to_owned();
    // lower + 1 in the last place, with carry.
    let mut upper: Vec<u8> = lower.clone().into_bytes();
    let mut upper_exp = exact_exp;
    let mut i = upper.len();
    loop {
        if i == 0 {
            upper.insert(0, b'1');
            upper_exp += 1;
            break;
        }
        i -= 1;
        if upper[i] == b'9' {
            upper[i] = b'0';
        } else {
            upper[i] += 1;
            break;
        }
    }
    let upper = String::from_utf8(upper).expect("ASCII digits");
    let upper = upper.trim_end_matches('0').to_owned();
    let candidates: Vec<(String, i32)> = [(lower, exact_exp), (upper, upper_exp)]
        .into_iter()
        .filter(|(d, e)| d.len() == k && reads_back(d, *e))
        .collect();
    let even = |d: &str| d.as_bytes()[d.len() - 1].is_multiple_of(2);
    match candidates.as_slice() {
        [a, b] => {
            if even(&a.0) {
                a.clone()
            } else {
                b.clone()
            }
        }
        _ => (digits, exp),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Format Unix milliseconds as the entry timestamp form
/// `YYYY-MM-DDTHH:MM:SS.sssZ`; `None` outside years 0000–9999.
pub fn format_timestamp_millis(unix_millis: i64) -> Option<String> {
    let days = unix_millis.div_euclid(86_400_000);
    let ms_of_day = unix_millis.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let (hh, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (mm, rest) = (rest / 60_000, rest % 60_000);
    let (ss, ms) = (rest / 1000, rest % 1000);
    Some(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z"))
}

/// Parse the entry timestamp form back to Unix milliseconds; `None` unless
/// the text is exactly `YYYY-MM-DDTHH:MM:SS.sssZ` with a real date and time
/// (no leap seconds).
pub fn parse_timestamp_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &b[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mi, ss, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || d < 1 || hh > 23 || mi > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if civil_from_days(days) != (y, mo, d) {
        return None; // e.g. 02-30
    }
    Some(days * 86_400_000 + hh * 3_600_000 + mi * 60_000 + ss * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Entry {
        Entry::new(
            "gd-440000",
            "2024-05-01T08:30:00.123Z",
            "user:42",
            "gateway.read",
            "catalog/440000-0001",
            payload_digest(HashAlg::Sha256, &json!({"rows": 10, "fields": ["name", "id"]})),
        )
    }

    #[test]
    fn canonical_form_is_exact() {
        let e = Entry::new(
            "n1",
            "2024-05-01T08:30:00.123Z",
            "a\"b\\c/d",
            "user.create",
            "姓名\n\u{1}\u{7f}",
            "ab".repeat(32),
        );
        let got = String::from_utf8(e.to_canonical().unwrap()).unwrap();
        let want = format!(
            "{{\"v\":1,\"node\":\"n1\",\"at\":\"2024-05-01T08:30:00.123Z\",\"actor\":\"a\\\"b\\\\c/d\",\"kind\":\"user.create\",\"subject\":\"姓名\\n\\u0001\u{7f}\",\"payload_digest\":\"{}\"}}",
            "ab".repeat(32)
        );
        assert_eq!(got, want);
        // Same as serde_json's own compact output for this struct.
        assert_eq!(got, serde_json::to_string(&e).unwrap());
        assert_eq!(Entry::parse_canonical(got.as_bytes()).unwrap(), e);
    }

    #[test]
    fn round_trip_and_leaf_hash() {
        let e = sample();
        let bytes = e.to_canonical().unwrap();
        let back = Entry::parse_canonical(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.leaf_hash(HashAlg::Sha256), leaf_hash(HashAlg::Sha256, &bytes));
        assert_ne!(e.leaf_hash(HashAlg::Sha256), e.leaf_hash(HashAlg::Sm3));
    }

    #[test]
    fn non_canonical_inputs_are_rejected() {
        let e = sample();
        let canon = String::from_utf8(e.canonical_bytes()).unwrap();
        // Pretty-printed / whitespace.
        let pretty = serde_json::to_string_pretty(&e).unwrap();
        assert_eq!(Entry::parse_canonical(pretty.as_bytes()), Err(EntryError::NotCanonical));
        let spaced = canon.replacen(':', ": ", 1);
        assert_eq!(Entry::parse_canonical(spaced.as_bytes()), Err(EntryError::NotCanonical));
        let trailing = format!("{canon}\n");
        assert_eq!(Entry::parse_canonical(trailing.as_bytes()), Err(EntryError::NotCanonical));
        // Member order.
        let v: serde_json::Value = serde_json::from_str(&canon).unwrap();
        let sorted = canonical_json(&v); // keys sorted: not the entry order
        assert_eq!(Entry::parse_canonical(sorted.as_bytes()), Err(EntryError::NotCanonical));
        // Unnecessary escape.
        let escaped = canon.replacen("\"n", "\"\\u006e", 1);
        assert!(escaped != canon);
        assert_eq!(Entry::parse_canonical(escaped.as_bytes()), Err(EntryError::NotCanonical));
        // Unknown, missing and duplicate members.
        let extra = canon.replacen("{", "{\"x\":1,", 1);
        assert!(matches!(Entry::parse_canonical(extra.as_bytes()), Err(EntryError::Json(_))));
        let missing = canon.replacen("\"v\":1,", "", 1);
        assert!(matches!(Entry::parse_canonical(missing.as_bytes()), Err(EntryError::Json(_))));
        let dup = canon.replacen("\"v\":1,", "\"v\":1,\"v\":1,", 1);
        assert!(matches!(Entry::parse_canonical(dup.as_bytes()), Err(EntryError::Json(_))));
        // Other versions and bad fields.
        let v2 = canon.replacen("\"v\":1", "\"v\":2", 1);
        assert_eq!(Entry::parse_canonical(v2.as_bytes()), Err(EntryError::UnsupportedVersion(2)));
        let v10 = canon.replacen("\"v\":1", "\"v\":1.0", 1);
        assert!(matches!(Entry::parse_canonical(v10.as_bytes()), Err(EntryError::Json(_))));
        assert!(Entry::parse_canonical(b"").is_err());
        assert!(Entry::parse_canonical(b"\xff").is_err());
    }

    #[test]
    fn field_rules() {
        let ok = sample();
        assert!(ok.validate().is_ok());
        let bad = |f: fn(&mut Entry)| {
            let mut e = ok.clone();
            f(&mut e);
            e.validate().unwrap_err()
        };
        assert!(matches!(bad(|e| e.node.clear()), EntryError::Invalid { field: "node", .. }));
        assert!(matches!(bad(|e| e.actor.clear()), EntryError::Invalid { field: "actor", .. }));
        for at in [
            "2024-05-01T08:30:00Z",
            "2024-05-01T08:30:00.123+00:00",
            "2024-05-01 08:30:00.123Z",
            "2024-02-30T08:30:00.123Z",
            "2024-05-01T24:00:00.000Z",
            "2024-05-01T08:30:60.000Z",
            "2024-05-01t08:30:00.123z",
        ] {
            let mut e = ok.clone();
            e.at = at.into();
            assert!(matches!(e.validate(), Err(EntryError::Invalid { field: "at", .. })), "{at}");
        }
        for kind in ["", "User.create", "1user", "user create", "用户"] {
            let mut e = ok.clone();
            e.kind = kind.into();
            assert!(matches!(e.validate(), Err(EntryError::Invalid { field: "kind", .. })), "{kind}");
        }
        for d in ["", "AB".repeat(32).as_str(), "ab".repeat(31).as_str(), "zz".repeat(32).as_str()] {
            let mut e = ok.clone();
            e.payload_digest = d.into();
            assert!(matches!(e.validate(), Err(EntryError::Invalid { field: "payload_digest", .. })));
        }
        let mut e = ok.clone();
        e.subject.clear();
        assert!(e.validate().is_ok(), "subject may be empty");
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp_millis(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp_millis(1_714_552_200_123).unwrap(), "2024-05-01T08:30:00.123Z");
        assert_eq!(format_timestamp_millis(951_782_400_000).unwrap(), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_timestamp_millis(-1).unwrap(), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_timestamp_millis(i64::MAX), None);
        for ms in [0i64, 1, 951_782_400_000, 1_714_552_200_123, -62_167_219_200_000, 253_402_300_799_999] {
            let s = format_timestamp_millis(ms).unwrap();
            assert_eq!(parse_timestamp_millis(&s), Some(ms), "{s}");
        }
        assert_eq!(parse_timestamp_millis("2023-02-29T00:00:00.000Z"), None);
        assert_eq!(parse_timestamp_millis("2024-02-29T00:00:00.000Z"), Some(1_709_164_800_000));
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn canonical_json_sorts_and_normalises() {
        // RFC 8785 §3.2.2.3 / appendix examples.
        // The numbers are built from Rust literals (exactly rounded):
        // serde_json's default parser may be one ULP off for long decimals
        // unless its `float_roundtrip` feature is on.
        let mut v: serde_json::Value = serde_json::from_str(
            r#"{"numbers":[],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#,
        )
        .unwrap();
        let numbers =
            json!([333333333.33333329_f64, 1E30_f64, 4.50_f64, 2e-3_f64, 0.000000000000000000000000001_f64]);
        v["numbers"] = numbers;
        assert_eq!(
            canonical_json(&v),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
        // RFC 8785 §3.2.3 sorting by UTF-16 code units.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh", "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{80}": "Control", "\u{f6}": "Latin Small Letter O With Diaeresis"});
        assert_eq!(
            canonical_json(&v),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        // Numbers.
        for (input, want) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("1.0", "1"),
            ("100", "100"),
            ("1e2", "100"),
            ("-1.5", "-1.5"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("5e-324", "5e-324"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
        ] {
            let v: serde_json::Value = serde_json::from_str(input).unwrap();
            assert_eq!(canonical_json(&v), want, "{input}");
        }
        let big = json!(123456789012345678901234_f64);
        assert_eq!(canonical_json(&big), "1.2345678901234569e+23");
        assert_eq!(canonical_json(&json!(-1e-7_f64)), "-1e-7");
        assert_eq!(canonical_json(&json!(f64::MAX)), "1.7976931348623157e+308");
        // Exact ties between two shortest candidates go to the even digit
        // (ECMAScript; Rust's own formatter rounds them up).
        assert_eq!(canonical_json(&json!(812066929573949.25_f64)), "812066929573949.2");
        assert_eq!(canonical_json(&json!(-145124809443366.125_f64)), "-145124809443366.12");
    }

    #[test]
    fn payload_digest_is_order_independent() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[1,2,{"y":null,"x":"s"}]}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "a" : [1, 2.0, {"x":"s","y":null}], "b": 1 }"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":[1,2,{"x":"s","y":null}],"b":1}"#);
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            assert_eq!(payload_digest(alg, &a), payload_digest(alg, &b));
            assert_eq!(payload_digest(alg, &a).len(), 64);
        }
        assert_eq!(payload_digest(HashAlg::Sha256, &json!({})), hex::encode(HashAlg::Sha256.digest(b"{}")));
    }
}
