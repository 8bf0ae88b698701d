//! Properties of signed notes, checkpoints, cosigning and entries.

use govdata_ledger::ed25519_dalek::SigningKey;
use govdata_ledger::entry::{canonical_json, format_timestamp_millis, Entry};
use govdata_ledger::hash::{leaf_hash, Hash, HashAlg};
use govdata_ledger::note::{open_note, Checkpoint, NoteError, VerifierKey};
use govdata_ledger::payload_digest;
use govdata_ledger::tree::{consistency_proof, Frontier, NodeMap};
use govdata_ledger::witness::{check_and_cosign, verify_cosignature, WitnessError};
use proptest::prelude::*;

fn log_key() -> (SigningKey, VerifierKey) {
    let k = SigningKey::from_bytes(&[11; 32]);
    let v = VerifierKey::ed25519("govdata.example/log", k.verifying_key()).unwrap();
    (k, v)
}

/// Key names, origins: printable, no spaces or '+'.
fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z0-9./_\\-]{1,24}|[一-龥]{1,6}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let (_, v) = log_key();
        let _ = open_note(&s, std::slice::from_ref(&v));
        let _ = Checkpoint::parse(&s);
        let _ = VerifierKey::parse(&s);
        let _ = govdata_ledger::note::parse_signer_key(&s);
        let _ = Entry::parse_canonical(s.as_bytes());
        let _ = govdata_ledger::entry::parse_timestamp_millis(&s);
        let _ = verify_cosignature(&s, &s, &v);
    }

    #[test]
    fn note_like_inputs_never_panic(
        body in "[a-z0-9\n]{0,40}",
        name in "[a-zA-Z0-9 +./\u{2014}]{0,12}",
        sig in "[A-Za-z0-9+/=]{0,120}",
        tail in "[\n\u{2014} a-z]{0,8}",
    ) {
        let (_, v) = log_key();
        let text = format!("{body}\n\u{2014} {name} {sig}\n{tail}");
        let _ = open_note(&text, std::slice::from_ref(&v));
        let text = format!("{body}\n\n\u{2014} {name} {sig}\n");
        let _ = open_note(&text, std::slice::from_ref(&v));
    }

    #[test]
    fn any_single_change_to_a_signed_checkpoint_is_rejected(
        origin in name_strategy(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        pos_seed in any::<usize>(),
        replacement in any::<char>(),
    ) {
        let (k, v) = log_key();
        let cp = Checkpoint::new(origin, size, root);
        let signed = cp.sign("govdata.example/log", &k).unwrap();
        let (back, names) = Checkpoint::open(&signed, std::slice::from_ref(&v)).unwrap();
        prop_assert_eq!(&back, &cp);
        prop_assert_eq!(names, vec!["govdata.example/log".to_owned()]);

        let chars: Vec<char> = signed.chars().collect();
        let pos = pos_seed % chars.len();
        prop_assume!(chars[pos] != replacement);
        let mut altered = chars.clone();
        altered[pos] = replacement;
        let altered: String = altered.into_iter().collect();
        prop_assert!(Checkpoint::open(&altered, std::slice::from_ref(&v)).is_err(), "accepted {:?}", altered);
        // Deleting a character is rejected too.
        let mut shorter = chars;
        shorter.remove(pos);
        let shorter: String = shorter.into_iter().collect();
        prop_assert!(Checkpoint::open(&shorter, std::slice::from_ref(&v)).is_err());
    }

    #[test]
    fn altered_checkpoint_fields_fail(
        origin in name_strategy(),
        size in 0u64..u64::MAX,
        root in any::<[u8; 32]>(),
        bit in 0usize..256,
    ) {
        let (k, v) = log_key();
        let cp = Checkpoint::new(origin.clone(), size, root);
        let signed = cp.sign("govdata.example/log", &k).unwrap();
        let body = cp.body();
        let sigs = &signed[body.len()..];

        let mut bigger = cp.clone();
        bigger.size += 1;
        let mut other_root = cp.clone();
        other_root.root[bit / 8] ^= 1 << (bit % 8);
        let mut other_origin = cp.clone();
        other_origin.origin = format!("{origin}x");
        for altered in [bigger, other_root, other_origin] {
            let forged = format!("{}{}", altered.body(), sigs);
            let err = Checkpoint::open(&forged, std::slice::from_ref(&v)).unwrap_err();
            prop_assert!(matches!(err, NoteError::BadSignature { .. }), "{:?}", err);
        }
    }

    #[test]
    fn cosigning_refuses_exactly_the_inconsistent(
        alg in prop_oneof![Just(HashAlg::Sha256), Just(HashAlg::Sm3)],
        m in 1u64..300,
        grow in 0u64..300,
        changed_seed in any::<u64>(),
    ) {
        let n = m + grow;
        let changed = changed_seed % n; // the leaf the log rewrites
        let witness_key = SigningKey::from_bytes(&[12; 32]);
        let wv = VerifierKey::cosignature_v1("parent.example/w", witness_key.verifying_key()).unwrap();

        let leaf = |i: u64, forked: bool| -> Hash {
            let tag = if forked && i == changed { "forged" } else { "entry" };
            leaf_hash(alg, format!("{tag} {i}").as_bytes())
        };
        let grow_tree = |forked: bool| {
            let mut f = Frontier::new(alg);
            let mut nodes = NodeMap::new();
            let mut root_m = f.root();
            for i in 0..n {
                if i == m {
                    root_m = f.root();
                }
                nodes.extend_stored(f.append(leaf(i, forked)));
            }
            if m == n {
                root_m = f.root();
            }
            (f.root(), root_m, nodes)
        };
        let (_, honest_m, _) = grow_tree(false);
        let (forked_n, _, forked_nodes) = grow_tree(true);

        let last = Checkpoint::new("child.example/log", m, honest_m);
        let new = Checkpoint::new("child.example/log", n, forked_n);
        let proof = consistency_proof(alg, &forked_nodes, m, n).unwrap();
        let result = check_and_cosign(alg, Some(&last), &new, &proof, "parent.example/w", &witness_key, 1_700_000_000);
        if changed < m {
            // History before the last cosigned size was rewritten.
            match result {
                Err(WitnessError::Inconsistent { from, to, .. }) => {
                    prop_assert_eq!((from, to), (m, n));
                }
                Err(WitnessError::RootChanged { size }) => prop_assert_eq!(size, n),
                other => prop_assert!(false, "cosigned a fork: {:?}", other),
            }
        } else {
            // Only entries after the cosigned size differ: that's just growth.
            let line = result.unwrap();
            prop_assert_eq!(verify_cosignature(&new.body(), &line, &wv).unwrap(), 1_700_000_000);
        }
    }

    #[test]
    fn entries_round_trip(
        node in "[a-z0-9-]{1,12}",
        ms in 0i64..253_402_300_799_999,
        actor in any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        kind in "[a-z][a-z0-9_.-]{0,20}",
        subject in any::<String>(),
        payload in any::<Vec<(String, i64)>>(),
    ) {
        let payload: serde_json::Map<String, serde_json::Value> =
            payload.into_iter().map(|(k, v)| (k, v.into())).collect();
        let payload = serde_json::Value::Object(payload);
        let e = Entry::new(node, format_timestamp_millis(ms).unwrap(), actor, kind, subject,
            payload_digest(HashAlg::Sha256, &payload));
        let bytes = e.to_canonical().unwrap();
        prop_assert_eq!(Entry::parse_canonical(&bytes).unwrap(), e.clone());
        // The canonical form is also what serde_json writes for the struct,
        // and it parses back as JSON to the same value.
        prop_assert_eq!(String::from_utf8(bytes.clone()).unwrap(), serde_json::to_string(&e).unwrap());
        // Canonical JSON of a payload parses back to the same value.
        let text = canonical_json(&payload);
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(canonical_json(&reparsed), text);
        // Re-encoding the entry through serde_json::Value (sorted keys) is
        // not canonical and is refused.
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let sorted = canonical_json(&v);
        prop_assert!(Entry::parse_canonical(sorted.as_bytes()).is_err());
    }
}
