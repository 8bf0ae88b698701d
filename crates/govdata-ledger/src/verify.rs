//! Offline verification of a whole stored log (`govdata ledger verify`).
//!
//! Feed every stored entry in index order to a [`LogVerifier`] together
//! with the stored checkpoints; it recomputes each leaf hash and the tree,
//! checks every checkpoint's signature, its stored `(size, root)` against
//! its signed text, and its root against the recomputed tree, and stops at
//! the first [`Divergence`].
//!
//! Positions are ordered as the log grows: a checkpoint of size `s` is
//! checked after entry `s - 1` and before entry `s`, so the divergence
//! reported is always the earliest one in the history.

use crate::entry::{Entry, EntryError};
use crate::hash::{leaf_hash, Hash, HashAlg};
use crate::note::{Checkpoint, NoteError, VerifierKey};
use crate::tree::Frontier;

/// A checkpoint as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size column.
    pub size: u64,
    /// Root hash column.
    pub root: Hash,
    /// The signed note text as served (may include cosignatures).
    pub signed_note: String,
}

/// Where and how the stored history stops being self-consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    /// Entries are not numbered 0, 1, 2… in order (a gap, a duplicate or a
    /// reordering).
    #[error("entry index {index} expected, found {found}")]
    IndexGap {
        /// The index that should have come next.
        index: u64,
        /// The index that came.
        found: u64,
    },
    /// The stored leaf hash is not the hash of the stored canonical bytes.
    #[error(
        "entry {index}: stored leaf hash {} differs from recomputed {}",
        hex::encode(stored),
        hex::encode(computed)
    )]
    LeafHashMismatch {
        /// Entry index.
        index: u64,
        /// Stored leaf hash.
        stored: Hash,
        /// Hash of the stored bytes.
        computed: Hash,
    },
    /// The stored bytes are not a canonical entry.
    #[error("entry {index}: {reason}")]
    MalformedEntry {
        /// Entry index.
        index: u64,
        /// What is wrong with it.
        reason: EntryError,
    },
    /// A checkpoint's note does not verify with the given keys or is not a
    /// checkpoint.
    #[error("checkpoint at size {size}: {reason}")]
    CheckpointInvalid {
        /// The stored size.
        size: u64,
        /// Why.
        reason: NoteError,
    },
    /// A checkpoint's stored size/root (or origin) differ from its signed text.
    #[error("checkpoint at size {size}: stored record differs from its signed text ({field})")]
    CheckpointRecordMismatch {
        /// The stored size.
        size: u64,
        /// `"size"`, `"root"` or `"origin"`.
        field: &'static str,
    },
    /// A signed checkpoint's root is not the root of the stored entries at
    /// its size: history was changed somewhere in `[since, size)`, where
    /// `since` is the size of the last checkpoint that did match.
    #[error("checkpoint at size {size}: signed root {} differs from recomputed {} (entries {since}..{size} changed)", hex::encode(signed), hex::encode(computed))]
    CheckpointRootMismatch {
        /// Checkpoint size.
        size: u64,
        /// Size of the last matching checkpoint (0 if none).
        since: u64,
        /// Root in the checkpoint.
        signed: Hash,
        /// Root of the stored entries.
        computed: Hash,
    },
    /// A checkpoint covers entries that are not stored (truncated log).
    #[error("checkpoint at size {size}, but only {log_size} entries are stored")]
    MissingEntries {
        /// Checkpoint size.
        size: u64,
        /// Number of entries stored.
        log_size: u64,
    },
}

impl Divergence {
    /// The log position where verification stopped: the entry index, or
    /// for checkpoint problems the number of entries checked before it
    /// (the checkpoint's size, or the log size for [`Divergence::MissingEntries`]).
    pub fn index(&self) -> u64 {
        match self {
            Divergence::IndexGap { index, .. }
            | Divergence::LeafHashMismatch { index, .. }
            | Divergence::MalformedEntry { index, .. } => *index,
            Divergence::CheckpointInvalid { size, .. }
            | Divergence::CheckpointRecordMismatch { size, .. }
            | Divergence::CheckpointRootMismatch { size, .. } => *size,
            Divergence::MissingEntries { log_size, .. } => *log_size,
        }
    }
}

/// The result of a clean verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries verified.
    pub size: u64,
    /// Root of the whole stored log.
    pub root: Hash,
    /// Number of checkpoints verified.
    pub checkpoints: usize,
    /// The largest verified checkpoint.
    pub latest_checkpoint: Option<Checkpoint>,
}

/// Streaming whole-log verifier; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct LogVerifier {
    keys: Vec<VerifierKey>,
    origin: Option<String>,
    checkpoints: Vec<StoredCheckpoint>,
    next_checkpoint: usize,
    frontier: Frontier,
    last_good: u64,
    latest: Option<Checkpoint>,
}

impl LogVerifier {
    /// A verifier for a log using `alg`, whose checkpoints must be signed by
    /// one of `keys`. Checkpoints may come in any order.
    pub fn new(alg: HashAlg, keys: Vec<VerifierKey>, mut checkpoints: Vec<StoredCheckpoint>) -> Self {
        checkpoints.sort_by_key(|c| c.size);
        LogVerifier {
            keys,
            origin: None,
            checkpoints,
            next_checkpoint: 0,
            frontier: Frontier::new(alg),
            last_good: 0,
            latest: None,
        }
    }

    /// Also require every checkpoint's origin line to be `origin`.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Number of entries accepted so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    fn check_due_checkpoints(&mut self) -> Result<(), Divergence> {
        let size = self.frontier.size();
        while let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            if cp.size != size {
                break;
            }
            let (parsed, _) = Checkpoint::open(&cp.signed_note, &self.keys)
                .map_err(|reason| Divergence::CheckpointInvalid { size: cp.size, reason })?;
            let mismatch = |field| Divergence::CheckpointRecordMismatch { size: cp.size, field };
            if parsed.size != cp.size {
                return Err(mismatch("size"));
            }
            if parsed.root != cp.root {
                return Err(mismatch("root"));
            }
            if self.origin.as_ref().is_some_and(|o| *o != parsed.origin) {
                return Err(mismatch("origin"));
            }
            let computed = self.frontier.root();
            if parsed.root != computed {
                return Err(Divergence::CheckpointRootMismatch {
                    size: cp.size,
                    since: self.last_good,
                    signed: parsed.root,
                    computed,
                });
            }
            self.last_good = size;
            self.latest = Some(parsed);
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Check the next stored entry. Stop at the first error: the verifier's
    /// state is unspecified after one.
    pub fn push(&mut self, index: u64, canonical: &[u8], stored_leaf: &Hash) -> Result<(), Divergence> {
        self.check_due_checkpoints()?;
        let expected = self.frontier.size();
        if index != expected {
            return Err(Divergence::IndexGap { index: expected, found: index });
        }
        let computed = leaf_hash(self.frontier.alg(), canonical);
        if computed != *stored_leaf {
            return Err(Divergence::LeafHashMismatch { index, stored: *stored_leaf, computed });
        }
        Entry::parse_canonical(canonical).map_err(|reason| Divergence::MalformedEntry { index, reason })?;
        self.frontier.append(computed);
        Ok(())
    }

    /// Check the checkpoints at the final size and that none lies beyond it.
    pub fn finish(mut self) -> Result<VerifyReport, Divergence> {
        self.check_due_checkpoints()?;
        if let Some(cp) = self.checkpoints.get(self.next_checkpoint) {
            return Err(Divergence::MissingEntries { size: cp.size, log_size: self.frontier.size() });
        }
        Ok(VerifyReport {
            size: self.frontier.size(),
            root: self.frontier.root(),
            checkpoints: self.next_checkpoint,
            latest_checkpoint: self.latest,
        })
    }
}

/// Verify a whole log in one call: `entries` yields `(index, canonical
/// bytes, stored leaf hash)` in stored order.
pub fn verify_log<I, B>(
    alg: HashAlg,
    entries: I,
    checkpoints: Vec<StoredCheckpoint>,
    keys: Vec<VerifierKey>,
    origin: Option<&str>,
) -> Result<VerifyReport, Divergence>
where
    I: IntoIterator<Item = (u64, B, Hash)>,
    B: AsRef<[u8]>,
{
    let mut v = LogVerifier::new(alg, keys, checkpoints);
    if let Some(o) = origin {
        v = v.with_origin(o);
    }
    for (index, bytes, leaf) in entries {
        v.push(index, bytes.as_ref(), &leaf)?;
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::entry::{format_timestamp_millis, payload_digest};

    const ORIGIN: &str = "govdata.example/440000";

    struct Fixture {
        alg: HashAlg,
        entries: Vec<(u64, Vec<u8>, Hash)>,
        checkpoints: Vec<StoredCheckpoint>,
        key: SigningKey,
    }

    impl Fixture {
        fn new(alg: HashAlg, n: u64, checkpoint_sizes: &[u64]) -> Self {
            let key = SigningKey::from_bytes(&[42; 32]);
            let mut f = Frontier::new(alg);
            let mut entries = Vec::new();
            let mut checkpoints = Vec::new();
            for i in 0..=n {
                if checkpoint_sizes.contains(&i) {
                    let cp = Checkpoint::new(ORIGIN, i, f.root());
                    checkpoints.push(StoredCheckpoint {
                        size: i,
                        root: cp.root,
                        signed_note: cp.sign(ORIGIN, &key).unwrap(),
                    });
                }
                if i == n {
                    break;
                }
                let e = Entry::new(
                    "440000",
                    format_timestamp_millis(1_700_000_000_000 + i as i64).unwrap(),
                    "user:1",
                    "user.create",
                    format!("user/{i}"),
                    payload_digest(alg, &serde_json::json!({ "i": i })),
                );
                let bytes = e.to_canonical().unwrap();
                let (leaf, _) = f.append_bytes(&bytes);
                entries.push((i, bytes, leaf));
            }
            Fixture { alg, entries, checkpoints, key }
        }

        fn keys(&self) -> Vec<VerifierKey> {
            vec![VerifierKey::ed25519(ORIGIN, self.key.verifying_key()).unwrap()]
        }

        fn run(&self) -> Result<VerifyReport, Divergence> {
            verify_log(
                self.alg,
                self.entries.iter().map(|(i, b, h)| (*i, b.as_slice(), *h)),
                self.checkpoints.clone(),
                self.keys(),
                Some(ORIGIN),
            )
        }
    }

    #[test]
    fn clean_log_verifies() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            let fx = Fixture::new(alg, 40, &[0, 1, 7, 8, 33, 40]);
            let report = fx.run().unwrap();
            assert_eq!(report.size, 40);
            assert_eq!(report.checkpoints, 6);
            assert_eq!(report.latest_checkpoint.unwrap().size, 40);
            assert_eq!(report.root, fx.checkpoints.last().unwrap().root);
        }
        let empty = Fixture::new(HashAlg::Sha256, 0, &[0]);
        assert_eq!(empty.run().unwrap().size, 0);
    }

    #[test]
    fn first_divergence_is_reported() {
        let base = Fixture::new(HashAlg::Sha256, 40, &[8, 20, 40]);

        // Canonical bytes altered, stored leaf hash left alone.
        let mut fx = clone(&base);
        fx.entries[12].1[10] ^= 1;
        assert!(matches!(fx.run(), Err(Divergence::LeafHashMismatch { index: 12, .. })));

        // Bytes and leaf hash rewritten consistently: caught by the next
        // checkpoint, localised after the last good one.
        let mut fx = clone(&base);
        let e = Entry::parse_canonical(&fx.entries[12].1).unwrap();
        let mut forged = e.clone();
        forged.actor = "user:2".into();
        let bytes = forged.to_canonical().unwrap();
        fx.entries[12].2 = leaf_hash(fx.alg, &bytes);
        fx.entries[12].1 = bytes;
        let err = fx.run().unwrap_err();
        assert!(matches!(err, Divergence::CheckpointRootMismatch { size: 20, since: 8, .. }), "{err:?}");
        assert_eq!(err.index(), 20);

        // Gap, duplicate and reorder.
        let mut fx = clone(&base);
        fx.entries.remove(5);
        assert_eq!(fx.run().unwrap_err(), Divergence::IndexGap { index: 5, found: 6 });
        let mut fx = clone(&base);
        fx.entries.swap(3, 4);
        assert_eq!(fx.run().unwrap_err(), Divergence::IndexGap { index: 3, found: 4 });
        let mut fx = clone(&base);
        let dup = fx.entries[2].clone();
        fx.entries.insert(3, dup);
        assert_eq!(fx.run().unwrap_err(), Divergence::IndexGap { index: 3, found: 2 });

        // Non-canonical bytes with a matching leaf hash.
        let mut fx = clone(&base);
        let mut bytes = fx.entries[30].1.clone();
        bytes.push(b'\n');
        fx.entries[30].2 = leaf_hash(fx.alg, &bytes);
        fx.entries[30].1 = bytes;
        assert!(matches!(
            fx.run(),
            Err(Divergence::MalformedEntry { index: 30, reason: EntryError::NotCanonical })
        ));

        // Truncated log.
        let mut fx = clone(&base);
        fx.entries.truncate(35);
        assert_eq!(fx.run().unwrap_err(), Divergence::MissingEntries { size: 40, log_size: 35 });

        // Stored checkpoint row altered, signed text not.
        let mut fx = clone(&base);
        fx.checkpoints[1].root[0] ^= 1;
        assert_eq!(fx.run().unwrap_err(), Divergence::CheckpointRecordMismatch { size: 20, field: "root" });
        let mut fx = clone(&base);
        fx.checkpoints[1].size = 21;
        assert!(matches!(
            fx.run().unwrap_err(),
            Divergence::CheckpointRecordMismatch { size: 21, field: "size" }
        ));

        // Signed text altered (root replaced in the body): bad signature.
        let mut fx = clone(&base);
        let cp = Checkpoint::parse(
            fx.checkpoints[1].signed_note.split_once("\n\n").map(|(b, _)| format!("{b}\n")).unwrap().as_str(),
        )
        .unwrap();
        let mut altered = cp.clone();
        altered.root = [0; 32];
        fx.checkpoints[1].signed_note = fx.checkpoints[1].signed_note.replace(&cp.body(), &altered.body());
        fx.checkpoints[1].root = altered.root;
        assert!(matches!(
            fx.run().unwrap_err(),
            Divergence::CheckpointInvalid { size: 20, reason: NoteError::BadSignature { .. } }
        ));

        // Signed by someone else entirely.
        let mut fx = clone(&base);
        let other = SigningKey::from_bytes(&[7; 32]);
        fx.checkpoints[0].signed_note = cp.sign(ORIGIN, &other).unwrap();
        assert!(matches!(
            fx.run().unwrap_err(),
            Divergence::CheckpointInvalid { size: 8, reason: NoteError::NoKnownSignature }
        ));

        // Wrong origin.
        let fx = clone(&base);
        let err = verify_log(
            fx.alg,
            fx.entries.iter().map(|(i, b, h)| (*i, b.clone(), *h)),
            fx.checkpoints.clone(),
            fx.keys(),
            Some("someone.else/log"),
        )
        .unwrap_err();
        assert_eq!(err, Divergence::CheckpointRecordMismatch { size: 8, field: "origin" });

        // The earliest problem wins: a bad entry 3 before a bad checkpoint 20.
        let mut fx = clone(&base);
        fx.checkpoints[1].root[0] ^= 1;
        fx.entries[3].2[0] ^= 1;
        assert_eq!(fx.run().unwrap_err().index(), 3);
    }

    fn clone(f: &Fixture) -> Fixture {
        Fixture {
            alg: f.alg,
            entries: f.entries.clone(),
            checkpoints: f.checkpoints.clone(),
            key: f.key.clone(),
        }
    }
}
