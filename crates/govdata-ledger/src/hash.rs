//! RFC 9162 §2.1.1 hashing, parameterised by the hash algorithm of the log.
//!
//! * leaf hash `= H(0x00 ‖ entry bytes)`
//! * interior node hash `= H(0x01 ‖ left ‖ right)`
//! * the root of the empty tree `= H("")`
//!
//! Both supported algorithms (SHA-256 and the Chinese national standard SM3,
//! GB/T 32905-2016) produce 32-byte digests, so a [`Hash`] is always
//! `[u8; 32]` and every other module is algorithm-agnostic: the algorithm is
//! chosen once per log and passed along as a [`HashAlg`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// A 32-byte digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The hash algorithm a log uses for every leaf, node and payload digest.
///
/// Serialised (serde, [`Display`](fmt::Display), [`FromStr`]) as `"sha256"`
/// or `"sm3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlg {
    /// SHA-256 (FIPS 180-4); what RFC 6962/9162 and C2SP tooling assume.
    Sha256,
    /// SM3 (GB/T 32905-2016), for 国密 deployments.
    Sm3,
}

impl HashAlg {
    /// The stable lower-case name (`"sha256"` / `"sm3"`).
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sm3 => "sm3",
        }
    }

    /// Digest of the concatenation of `parts`.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Hash {
        match self {
            HashAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            HashAlg::Sm3 => {
                let mut h = sm3::Sm3::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    /// Digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Hash {
        self.digest_parts(&[bytes])
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown hash algorithm name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash algorithm {0:?} (expected \"sha256\" or \"sm3\")")]
pub struct UnknownHashAlg(pub String);

impl FromStr for HashAlg {
    type Err = UnknownHashAlg;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(HashAlg::Sha256),
            "sm3" => Ok(HashAlg::Sm3),
            other => Err(UnknownHashAlg(other.to_owned())),
        }
    }
}

/// RFC 9162 leaf hash: `H(0x00 ‖ bytes)`.
pub fn leaf_hash(alg: HashAlg, bytes: &[u8]) -> Hash {
    alg.digest_parts(&[&[0x00], bytes])
}

/// RFC 9162 interior node hash: `H(0x01 ‖ left ‖ right)`.
pub fn node_hash(alg: HashAlg, left: &Hash, right: &Hash) -> Hash {
    alg.digest_parts(&[&[0x01], left, right])
}

/// Root of the empty tree: `H("")`.
pub fn empty_root(alg: HashAlg) -> Hash {
    alg.digest(&[])
}

/// Lower-case hex of a hash (the form used in the HTTP API).
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// Error for a string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a 32-byte hex hash: {0:?}")]
pub struct BadHex(pub String);

/// Parse 64 hex digits (either case) into a [`Hash`].
pub fn from_hex(s: &str) -> Result<Hash, BadHex> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| BadHex(s.chars().take(80).collect()))?;
    Ok(out)
}

/// Hex-encode a proof (RFC 9162 order is kept).
pub fn proof_to_hex(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(to_hex).collect()
}

/// Parse a hex-encoded proof.
pub fn proof_from_hex<S: AsRef<str>>(proof: &[S]) -> Result<Vec<Hash>, BadHex> {
    proof.iter().map(|s| from_hex(s.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_empty_root_and_leaf() {
        assert_eq!(
            to_hex(&empty_root(HashAlg::Sha256)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vector: leaf hash of the empty entry.
        assert_eq!(
            to_hex(&leaf_hash(HashAlg::Sha256, b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            to_hex(&leaf_hash(HashAlg::Sha256, &[0x00])),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
        );
    }

    #[test]
    fn sm3_standard_vectors() {
        // GB/T 32905-2016 example 1.
        assert_eq!(
            to_hex(&HashAlg::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        // GB/T 32905-2016 example 2: "abcd" repeated 16 times.
        assert_eq!(
            to_hex(&HashAlg::Sm3.digest("abcd".repeat(16).as_bytes())),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
        assert_ne!(empty_root(HashAlg::Sm3), empty_root(HashAlg::Sha256));
        assert_eq!(leaf_hash(HashAlg::Sm3, b"x"), HashAlg::Sm3.digest_parts(&[b"\x00", b"x"]));
    }

    #[test]
    fn domain_separation() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            let a = leaf_hash(alg, b"a");
            let b = leaf_hash(alg, b"b");
            let mut concat = Vec::new();
            concat.extend_from_slice(&a);
            concat.extend_from_slice(&b);
            // A leaf whose bytes are two hashes never equals their parent node.
            assert_ne!(leaf_hash(alg, &concat), node_hash(alg, &a, &b));
        }
    }

    #[test]
    fn alg_names_round_trip() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            assert_eq!(alg.as_str().parse::<HashAlg>().unwrap(), alg);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<HashAlg>(&json).unwrap(), alg);
        }
        assert!("SHA256".parse::<HashAlg>().is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = leaf_hash(HashAlg::Sha256, b"hello");
        assert_eq!(from_hex(&to_hex(&h)).unwrap(), h);
        assert_eq!(from_hex(&to_hex(&h).to_uppercase()).unwrap(), h);
        assert!(from_hex("abcd").is_err());
        assert!(from_hex(&"zz".repeat(32)).is_err());
        let p = vec![h, empty_root(HashAlg::Sha256)];
        assert_eq!(proof_from_hex(&proof_to_hex(&p)).unwrap(), p);
    }
}
