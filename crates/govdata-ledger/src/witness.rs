//! Witness cosignatures, <https://c2sp.org/tlog-cosignature> v1 (Ed25519).
//!
//! A witness (here: a node's parent) cosigns a child's checkpoint only after
//! checking that it is consistent with the last checkpoint it cosigned for
//! that log, so a child can never present two different histories.
//!
//! * Signed message: `"cosignature/v1\ntime <unix seconds>\n"` followed by
//!   the checkpoint body (all its lines, with the final newline).
//! * Signature line: `— <witness name> base64(key id ‖ u64 big-endian
//!   timestamp ‖ 64-byte Ed25519 signature)`, the key id computed with type
//!   byte `0x04` ([`KeyType::CosignatureV1`]).
//!
//! Cosignature lines are ordinary note signature lines: append them to the
//! log's signed checkpoint ([`crate::note::add_signatures`]) and clients
//! that know the witness key verify them with [`crate::note::open_note`].

use ed25519_dalek::{Signer as _, SigningKey};

use crate::hash::{Hash, HashAlg};
use crate::note::{
    check_body, key_id, open_note_detailed, signature_line_raw, Checkpoint, KeyType, NoteError, VerifierKey,
};
use crate::tree::{verify_consistency, VerifyError};

/// The message a v1 cosignature signs.
pub fn cosignature_message(checkpoint_body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{checkpoint_body}")
}

/// Cosign a checkpoint body at `time` (Unix seconds, at most 2^63-1): returns
/// the signature line, with its trailing newline.
///
/// This only signs; [`check_and_cosign`] decides whether to.
pub fn cosign(
    checkpoint_body: &str,
    witness_name: &str,
    key: &SigningKey,
    time: u64,
) -> Result<String, NoteError> {
    if !crate::note::is_valid_key_name(witness_name) {
        return Err(NoteError::BadKeyName(witness_name.to_owned()));
    }
    check_body(checkpoint_body)?;
    if time > i64::MAX as u64 {
        return Err(NoteError::Malformed("cosignature time exceeds 2^63-1"));
    }
    let id = key_id(witness_name, KeyType::CosignatureV1, &key.verifying_key());
    let sig = key.sign(cosignature_message(checkpoint_body, time).as_bytes());
    let mut raw = Vec::with_capacity(8 + 64);
    raw.extend_from_slice(&time.to_be_bytes());
    raw.extend_from_slice(&sig.to_bytes());
    Ok(signature_line_raw(witness_name, id, &raw))
}

/// Verify one cosignature line (with or without its trailing newline) on a
/// checkpoint body against a witness key of type
/// [`KeyType::CosignatureV1`]; returns the cosignature's timestamp.
pub fn verify_cosignature(
    checkpoint_body: &str,
    line: &str,
    witness: &VerifierKey,
) -> Result<u64, NoteError> {
    if witness.key_type() != KeyType::CosignatureV1 {
        return Err(NoteError::BadVerifierKey("not a cosignature/v1 key"));
    }
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.contains('\n') {
        return Err(NoteError::Malformed("more than one signature line"));
    }
    let note = format!("{checkpoint_body}\n{line}\n");
    let opened = open_note_detailed(&note, std::slice::from_ref(witness))?;
    if opened.body != checkpoint_body {
        return Err(NoteError::Malformed("checkpoint body holds a blank line"));
    }
    opened.verified.first().and_then(|s| s.timestamp).ok_or(NoteError::NoKnownSignature)
}

/// Why a witness refused to cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The checkpoint is for another log.
    #[error("checkpoint origin {got:?} is not the witnessed log {expected:?}")]
    OriginMismatch {
        /// Origin of the last cosigned checkpoint.
        expected: String,
        /// Origin of the new one.
        got: String,
    },
    /// The log shrank: it dropped entries it had published.
    #[error("tree size shrank from {last} to {new}")]
    SizeShrank {
        /// Size of the last cosigned checkpoint.
        last: u64,
        /// Size of the new checkpoint.
        new: u64,
    },
    /// Same size, different root: history was rewritten (a fork).
    #[error("root at tree size {size} differs from the cosigned one")]
    RootChanged {
        /// The common size.
        size: u64,
    },
    /// The consistency proof from the last cosigned checkpoint failed.
    #[error("checkpoint of size {to} is not consistent with cosigned size {from}: {reason}")]
    Inconsistent {
        /// Size of the last cosigned checkpoint.
        from: u64,
        /// Size of the new checkpoint.
        to: u64,
        /// What the verifier said.
        reason: VerifyError,
    },
    /// The signed checkpoint itself was rejected (bad log signature,
    /// malformed note or checkpoint, bad witness name or time).
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// Decide whether `new` may be cosigned given `last_cosigned` (the last
/// checkpoint this witness cosigned for the log; `None` on first contact,
/// which is trusted as is) and a consistency proof from `last_cosigned` to
/// `new`, and if so return the cosignature line.
///
/// Refuses when the origin changes, the size shrinks, the root differs at
/// the same size, or the proof does not verify. The caller must have
/// verified the log's signature on `new` (see [`Witness::witness`]) and
/// must persist `new` as the last cosigned checkpoint when this succeeds.
#[allow(clippy::too_many_arguments)]
pub fn check_and_cosign(
    alg: HashAlg,
    last_cosigned: Option<&Checkpoint>,
    new: &Checkpoint,
    consistency_proof: &[Hash],
    witness_name: &str,
    key: &SigningKey,
    time: u64,
) -> Result<String, WitnessError> {
    new.validate()?;
    if let Some(last) = last_cosigned {
        if last.origin != new.origin {
            return Err(WitnessError::OriginMismatch {
                expected: last.origin.clone(),
                got: new.origin.clone(),
            });
        }
        if new.size < last.size {
            return Err(WitnessError::SizeShrank { last: last.size, new: new.size });
        }
        if new.size == last.size && new.root != last.root {
            return Err(WitnessError::RootChanged { size: new.size });
        }
        verify_consistency(alg, last.size, new.size, &last.root, &new.root, consistency_proof)
            .map_err(|reason| WitnessError::Inconsistent { from: last.size, to: new.size, reason })?;
    }
    Ok(cosign(&new.body(), witness_name, key, time)?)
}

/// A witness for one log: its own name and key, and the log's keys and
/// hash algorithm.
#[derive(Debug, Clone)]
pub struct Witness {
    name: String,
    key: SigningKey,
    alg: HashAlg,
    log_keys: Vec<VerifierKey>,
}

impl Witness {
    /// A witness named `name` (a key name) signing with `key`, witnessing a
    /// log that uses `alg` and signs with `log_keys`.
    pub fn new(
        name: &str,
        key: SigningKey,
        alg: HashAlg,
        log_keys: Vec<VerifierKey>,
    ) -> Result<Self, NoteError> {
        if !crate::note::is_valid_key_name(name) {
            return Err(NoteError::BadKeyName(name.to_owned()));
        }
        Ok(Witness { name: name.to_owned(), key, alg, log_keys })
    }

    /// The key clients use to verify this witness's cosignatures.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey::cosignature_v1(&self.name, self.key.verifying_key()).expect("name was validated")
    }

    /// Verify the log's signature on `signed_checkpoint`, then
    /// [`check_and_cosign`]. Returns the new checkpoint (to persist as the
    /// last cosigned one) and the cosignature line.
    pub fn witness(
        &self,
        last_cosigned: Option<&Checkpoint>,
        signed_checkpoint: &str,
        consistency_proof: &[Hash],
        time: u64,
    ) -> Result<(Checkpoint, String), WitnessError> {
        let (new, _) = Checkpoint::open(signed_checkpoint, &self.log_keys)?;
        let line =
            check_and_cosign(self.alg, last_cosigned, &new, consistency_proof, &self.name, &self.key, time)?;
        Ok((new, line))
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;

    use super::*;
    use crate::note::{add_signatures, open_note};
    use crate::tree::{consistency_proof, Frontier, NodeMap};

    #[test]
    fn reference_cosignature_vector() {
        // Produced by github.com/transparency-dev/formats/note (cosignature/v1).
        let vkey = "vec.example/cosigv10+c12688da+BLMSTPoQj0PojM8eKiPf9xUT8g6b0OuMyvYb5sSu9JH5";
        let note_b64 = "dmVjLmV4YW1wbGUvY29zaWd2MTAKNDIKQ3NVWWFwR0dQbzRka01nSUFVcW9tL1hhamo3aDJmQjJNUEEzajJqeHEyST0KCuKAlCB2ZWMuZXhhbXBsZS9jb3NpZ3YxMCB3U2FJMmdBQUFBQnFiTDVRM0hqYlRDSmVxTWczdG1wZFlHQWcwNWlqVGk3azBweXJlSlNVTG10djNnK3lYSCtHL0tvODdKRytRa0xGNmFmOStHVlZObEVJZ2Y2VDBidzB3UXlNRHc9PQo=";
        let note = String::from_utf8(B64.decode(note_b64).unwrap()).unwrap();
        let v = VerifierKey::parse(vkey).unwrap();
        assert_eq!(v.key_type(), KeyType::CosignatureV1);
        assert_eq!(v.to_string(), vkey);
        let opened = open_note_detailed(&note, std::slice::from_ref(&v)).unwrap();
        assert_eq!(opened.body, "vec.example/cosigv10\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
        let ts = opened.verified[0].timestamp.unwrap();
        assert!(ts > 1_600_000_000);
        let line = &note[opened.body.len() + 1..];
        assert_eq!(verify_cosignature(&opened.body, line, &v).unwrap(), ts);
        // Altered body fails.
        let altered = note.replace("\n42\n", "\n43\n");
        assert!(matches!(open_note(&altered, &[v]), Err(NoteError::BadSignature { .. })));
    }

    #[test]
    fn cosign_and_verify() {
        let wk = SigningKey::from_bytes(&[9; 32]);
        let v = VerifierKey::cosignature_v1("parent.example/w", wk.verifying_key()).unwrap();
        let body = Checkpoint::new("child.example/log", 3, [1; 32]).body();
        let line = cosign(&body, "parent.example/w", &wk, 1_679_315_147).unwrap();
        assert!(line.starts_with("\u{2014} parent.example/w "));
        assert_eq!(verify_cosignature(&body, &line, &v).unwrap(), 1_679_315_147);
        // Timestamp is inside the signed bytes.
        let raw = B64.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        assert_eq!(u64::from_be_bytes(raw[4..12].try_into().unwrap()), 1_679_315_147);
        let mut tampered = raw.clone();
        tampered[11] ^= 1;
        let tampered_line = format!("\u{2014} parent.example/w {}\n", B64.encode(tampered));
        assert!(verify_cosignature(&body, &tampered_line, &v).is_err());
        // Another body fails.
        let other = Checkpoint::new("child.example/log", 4, [1; 32]).body();
        assert!(verify_cosignature(&other, &line, &v).is_err());
        // A plain Ed25519 key of the same name does not check cosignatures.
        let plain = VerifierKey::ed25519("parent.example/w", wk.verifying_key()).unwrap();
        assert!(verify_cosignature(&body, &line, &plain).is_err());
        assert!(cosign(&body, "parent.example/w", &wk, 1 << 63).is_err());
        assert!(cosign(&body, "bad name", &wk, 1).is_err());
    }

    fn grow(f: &mut Frontier, nodes: &mut NodeMap, n: u64, tag: u8) {
        for i in 0..n {
            let leaf = crate::hash::leaf_hash(f.alg(), &[tag, i as u8, (i >> 8) as u8]);
            nodes.extend_stored(f.append(leaf));
        }
    }

    #[test]
    fn witness_flow_accepts_growth_and_refuses_forks() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            let log_key = SigningKey::from_bytes(&[1; 32]);
            let log_v = VerifierKey::ed25519("child.example/log", log_key.verifying_key()).unwrap();
            let w =
                Witness::new("parent.example/w", SigningKey::from_bytes(&[2; 32]), alg, vec![log_v.clone()])
                    .unwrap();
            let origin = "child.example/log";

            let mut f = Frontier::new(alg);
            let mut nodes = NodeMap::new();
            grow(&mut f, &mut nodes, 5, 0);
            let cp5 = Checkpoint::new(origin, 5, f.root());
            let signed5 = cp5.sign(origin, &log_key).unwrap();
            let (got5, line5) = w.witness(None, &signed5, &[], 100).unwrap();
            assert_eq!(got5, cp5);
            let full = add_signatures(&signed5, &[&line5]);
            let (_, names) = open_note(&full, &[log_v.clone(), w.verifier_key()]).unwrap();
            assert_eq!(names, vec![origin.to_owned(), "parent.example/w".to_owned()]);

            // Honest growth 5 -> 13.
            let mut honest = f.clone();
            let mut honest_nodes = nodes.clone();
            grow(&mut honest, &mut honest_nodes, 8, 0);
            let cp13 = Checkpoint::new(origin, 13, honest.root());
            let proof = consistency_proof(alg, &honest_nodes, 5, 13).unwrap();
            let signed13 = cp13.sign(origin, &log_key).unwrap();
            let (got13, _) = w.witness(Some(&cp5), &signed13, &proof, 101).unwrap();
            assert_eq!(got13, cp13);
            // Re-cosigning the same checkpoint is fine.
            w.witness(Some(&cp13), &signed13, &[], 102).unwrap();

            // Fork: rewrite leaf 2 and grow to 13.
            let mut forked = Frontier::new(alg);
            let mut forked_nodes = NodeMap::new();
            grow(&mut forked, &mut forked_nodes, 2, 0);
            grow(&mut forked, &mut forked_nodes, 11, 7);
            let cp_fork = Checkpoint::new(origin, 13, forked.root());
            let fork_proof = consistency_proof(alg, &forked_nodes, 5, 13).unwrap();
            let signed_fork = cp_fork.sign(origin, &log_key).unwrap();
            let err = w.witness(Some(&cp5), &signed_fork, &fork_proof, 103).unwrap_err();
            assert!(matches!(err, WitnessError::Inconsistent { from: 5, to: 13, .. }), "{err:?}");
            // The honest proof does not rescue the forked root either.
            assert!(matches!(
                w.witness(Some(&cp5), &signed_fork, &proof, 103),
                Err(WitnessError::Inconsistent { .. })
            ));
            // Same size, other root.
            assert_eq!(
                w.witness(Some(&cp13), &signed_fork, &[], 104).unwrap_err(),
                WitnessError::RootChanged { size: 13 }
            );
            // Shrinking.
            assert_eq!(
                w.witness(Some(&cp13), &signed5, &[], 105).unwrap_err(),
                WitnessError::SizeShrank { last: 13, new: 5 }
            );
            // Other origin.
            let other = Checkpoint::new("other.example/log", 13, honest.root());
            let err = check_and_cosign(alg, Some(&cp5), &other, &proof, "w", &w.key, 1).unwrap_err();
            assert!(matches!(err, WitnessError::OriginMismatch { .. }));
            // Unsigned or wrongly signed checkpoint.
            let stranger = SigningKey::from_bytes(&[3; 32]);
            let signed_by_stranger = cp13.sign("stranger.example", &stranger).unwrap();
            assert_eq!(
                w.witness(Some(&cp5), &signed_by_stranger, &proof, 106).unwrap_err(),
                WitnessError::Note(NoteError::NoKnownSignature)
            );
            let tampered = signed13.replace("\n13\n", "\n14\n");
            assert!(matches!(
                w.witness(Some(&cp5), &tampered, &proof, 106).unwrap_err(),
                WitnessError::Note(NoteError::BadSignature { .. })
            ));
        }
    }
}
