//! The tree math against RFC 6962/9162 test vectors and against a naive
//! recursive implementation written straight from the RFC's definitions.

use std::sync::OnceLock;

use govdata_ledger::hash::{empty_root, from_hex, leaf_hash, node_hash, to_hex, Hash, HashAlg};
use govdata_ledger::tree::{
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, nodes_completed_by,
    nodes_to_fetch, root_at, verify_consistency, verify_inclusion, Frontier, NodeId, NodeMap, NodeReader,
    VerifyError,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Naive RFC 9162 §2.1 definitions.

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
fn mth(alg: HashAlg, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(alg),
        1 => leaves[0],
        n => {
            let k = k_of(n);
            node_hash(alg, &mth(alg, &leaves[..k]), &mth(alg, &leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
fn path(alg: HashAlg, m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n == 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(alg, m, &leaves[..k]);
        p.push(mth(alg, &leaves[k..]));
        p
    } else {
        let mut p = path(alg, m - k, &leaves[k..]);
        p.push(mth(alg, &leaves[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b).
fn subproof(alg: HashAlg, m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(alg, leaves)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(alg, m, &leaves[..k], b);
        p.push(mth(alg, &leaves[k..]));
        p
    } else {
        let mut p = subproof(alg, m - k, &leaves[k..], false);
        p.push(mth(alg, &leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) for 0 < m < n.
fn naive_consistency(alg: HashAlg, m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(alg, m, leaves, true)
}

// ---------------------------------------------------------------------------
// A stored tree, built the way the store builds it: Frontier::append output.

struct Stored {
    leaves: Vec<Hash>,
    nodes: NodeMap,
    /// Frontier after i appends, for every i.
    roots: Vec<Hash>,
}

fn build(alg: HashAlg, leaves: Vec<Hash>) -> Stored {
    let mut f = Frontier::new(alg);
    let mut nodes = NodeMap::new();
    let mut roots = vec![f.root()];
    for (i, leaf) in leaves.iter().enumerate() {
        let stored = f.append(*leaf);
        let ids: Vec<_> = stored.iter().map(|s| s.id()).collect();
        assert_eq!(ids, nodes_completed_by(i as u64));
        nodes.extend_stored(stored);
        roots.push(f.root());
    }
    Stored { leaves, nodes, roots }
}

const BIG: usize = 2100;

fn big(alg: HashAlg) -> &'static Stored {
    static SHA: OnceLock<Stored> = OnceLock::new();
    static SM3: OnceLock<Stored> = OnceLock::new();
    let cell = match alg {
        HashAlg::Sha256 => &SHA,
        HashAlg::Sm3 => &SM3,
    };
    cell.get_or_init(|| {
        let leaves = (0..BIG as u32).map(|i| leaf_hash(alg, format!("entry {i}").as_bytes())).collect();
        build(alg, leaves)
    })
}

// ---------------------------------------------------------------------------
// RFC 6962 / Certificate Transparency vectors.

fn ct_leaves() -> Vec<Hash> {
    let data: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    data.iter().map(|d| leaf_hash(HashAlg::Sha256, d)).collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn hx(v: &[&str]) -> Vec<Hash> {
    v.iter().map(|s| from_hex(s).unwrap()).collect()
}

#[test]
fn ct_roots() {
    let alg = HashAlg::Sha256;
    let leaves = ct_leaves();
    let t = build(alg, leaves.clone());
    for (n, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(to_hex(&mth(alg, &leaves[..n])), *want, "naive size {n}");
        assert_eq!(to_hex(&t.roots[n]), *want, "frontier size {n}");
        assert_eq!(to_hex(&root_at(alg, &t.nodes, n as u64).unwrap()), *want, "stored size {n}");
        let reloaded = Frontier::load(alg, n as u64, &t.nodes).unwrap();
        assert_eq!(to_hex(&reloaded.root()), *want, "reloaded size {n}");
    }
}

#[test]
fn ct_inclusion_vectors() {
    let alg = HashAlg::Sha256;
    let leaves = ct_leaves();
    let t = build(alg, leaves.clone());
    let cases: [(u64, u64, Vec<Hash>); 2] = [
        (
            0,
            8,
            hx(&[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]),
        ),
        (
            5,
            8,
            hx(&[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]),
        ),
    ];
    for (index, size, want) in cases {
        assert_eq!(path(alg, index as usize, &leaves[..size as usize]), want);
        assert_eq!(inclusion_proof(alg, &t.nodes, index, size).unwrap(), want);
        let root = from_hex(CT_ROOTS[size as usize]).unwrap();
        verify_inclusion(alg, &leaves[index as usize], index, size, &want, &root).unwrap();
    }
    // A one-leaf tree has an empty proof; the root is the leaf hash.
    assert!(inclusion_proof(alg, &t.nodes, 0, 1).unwrap().is_empty());
    verify_inclusion(alg, &leaves[0], 0, 1, &[], &leaves[0]).unwrap();
}

#[test]
fn ct_consistency_vectors() {
    let alg = HashAlg::Sha256;
    let leaves = ct_leaves();
    let t = build(alg, leaves.clone());
    let cases: [(u64, u64, Vec<Hash>); 3] = [
        (
            2,
            8,
            hx(&[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]),
        ),
        (
            6,
            8,
            hx(&[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]),
        ),
        (
            2,
            5,
            hx(&[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]),
        ),
    ];
    for (from, to, want) in cases {
        assert_eq!(naive_consistency(alg, from as usize, &leaves[..to as usize]), want);
        assert_eq!(consistency_proof(alg, &t.nodes, from, to).unwrap(), want);
        let (r1, r2) = (from_hex(CT_ROOTS[from as usize]).unwrap(), from_hex(CT_ROOTS[to as usize]).unwrap());
        verify_consistency(alg, from, to, &r1, &r2, &want).unwrap();
    }
}

#[test]
fn degenerate_cases() {
    let alg = HashAlg::Sha256;
    let t = big(alg);
    let (r4, r5) = (t.roots[4], t.roots[5]);
    let e = empty_root(alg);
    assert_eq!(verify_consistency(alg, 4, 4, &r4, &r4, &[]), Ok(()));
    assert_eq!(verify_consistency(alg, 4, 4, &r4, &r5, &[]), Err(VerifyError::RootMismatch));
    assert_eq!(verify_consistency(alg, 4, 4, &r4, &r4, &[r4]), Err(VerifyError::ProofNotEmpty));
    assert_eq!(verify_consistency(alg, 0, 8, &e, &t.roots[8], &[]), Ok(()));
    assert_eq!(verify_consistency(alg, 0, 0, &e, &e, &[]), Ok(()));
    assert_eq!(verify_consistency(alg, 0, 8, &r4, &t.roots[8], &[]), Err(VerifyError::OldRootMismatch));
    assert_eq!(
        verify_consistency(alg, 5, 4, &r5, &r4, &[]),
        Err(VerifyError::SizeDecreased { from: 5, to: 4 })
    );
    assert_eq!(verify_consistency(alg, 4, 5, &r4, &r5, &[]), Err(VerifyError::EmptyProof));
    assert!(consistency_proof_nodes(5, 4).is_err());
    assert!(consistency_proof_nodes(0, 4).unwrap().is_empty());
    assert!(consistency_proof_nodes(4, 4).unwrap().is_empty());
    assert!(inclusion_proof_nodes(4, 4).is_err());
    assert!(inclusion_proof_nodes(0, 0).is_err());
    assert_eq!(
        verify_inclusion(alg, &t.leaves[0], 4, 4, &[], &r4),
        Err(VerifyError::IndexOutOfRange { index: 4, size: 4 })
    );
    // Proofs for sizes beyond the stored tree cannot be assembled.
    let n = BIG as u64;
    assert!(inclusion_proof(alg, &t.nodes, 0, n + 1).is_err());
    assert!(consistency_proof(alg, &t.nodes, 3, n + 1).is_err());
    assert!(root_at(alg, &t.nodes, n + 1).is_err());
    // Too long / too short.
    let p = inclusion_proof(alg, &t.nodes, 3, 10).unwrap();
    let mut longer = p.clone();
    longer.push(r4);
    assert_eq!(
        verify_inclusion(alg, &t.leaves[3], 3, 10, &longer, &t.roots[10]),
        Err(VerifyError::ProofTooLong)
    );
    assert_eq!(
        verify_inclusion(alg, &t.leaves[3], 3, 10, &p[..p.len() - 1], &t.roots[10]),
        Err(VerifyError::ProofTooShort)
    );
}

#[test]
fn exhaustive_small_trees_match_naive() {
    for alg in [HashAlg::Sha256, HashAlg::Sm3] {
        let t = big(alg);
        for n in 1..=70usize {
            let leaves = &t.leaves[..n];
            let root = mth(alg, leaves);
            assert_eq!(t.roots[n], root);
            for i in 0..n {
                let p = inclusion_proof(alg, &t.nodes, i as u64, n as u64).unwrap();
                assert_eq!(p, path(alg, i, leaves), "inclusion {i}/{n}");
                verify_inclusion(alg, &leaves[i], i as u64, n as u64, &p, &root).unwrap();
            }
            for m in 1..n {
                let p = consistency_proof(alg, &t.nodes, m as u64, n as u64).unwrap();
                assert_eq!(p, naive_consistency(alg, m, leaves), "consistency {m}->{n}");
                verify_consistency(alg, m as u64, n as u64, &t.roots[m], &root, &p).unwrap();
            }
        }
    }
}

#[test]
fn proof_node_fetch_is_small() {
    // Every proof of a 2^40-leaf tree needs few stored rows.
    let n = (1u64 << 40) - 12345;
    for i in [0, 1, n / 2, n - 2, n - 1] {
        let refs = inclusion_proof_nodes(i, n).unwrap();
        assert!(refs.len() <= 40);
        assert!(nodes_to_fetch(&refs).len() <= 80);
        assert!(refs.iter().filter(|r| !r.is_perfect()).count() <= 1);
    }
    let refs = consistency_proof_nodes(n / 3, n).unwrap();
    assert!(nodes_to_fetch(&refs).len() <= 2 * 64);
    assert_eq!(Frontier::needed_nodes(n).len(), n.count_ones() as usize);
}

/// A reader that counts its calls, to check `assemble` reads each part once.
struct Counting<'a>(&'a NodeMap, std::cell::Cell<usize>);

impl NodeReader for Counting<'_> {
    type Error = <NodeMap as NodeReader>::Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.1.set(self.1.get() + 1);
        self.0.node(level, index)
    }
}

#[test]
fn batch_fetch_covers_assembly() {
    let alg = HashAlg::Sha256;
    let t = big(alg);
    for (i, n) in [(0u64, 1000u64), (999, 1000), (517, 1337), (2047, 2049)] {
        let refs = inclusion_proof_nodes(i, n).unwrap();
        // Fetch exactly the listed rows into a fresh map, then assemble.
        let fetched: NodeMap = nodes_to_fetch(&refs)
            .into_iter()
            .map(|id| (id.level, id.index, t.nodes.node(id.level, id.index).unwrap()))
            .collect();
        let counting = Counting(&fetched, std::cell::Cell::new(0));
        let proof = govdata_ledger::tree::assemble(alg, &refs, &counting).unwrap();
        assert_eq!(proof, path(alg, i as usize, &t.leaves[..n as usize]));
        let total_parts: usize = refs.iter().map(|r| r.parts().len()).sum();
        assert_eq!(counting.1.get(), total_parts);
    }
}

// ---------------------------------------------------------------------------
// Properties over random sizes up to ~2000.

fn alg_strategy() -> impl Strategy<Value = HashAlg> {
    prop_oneof![Just(HashAlg::Sha256), Just(HashAlg::Sm3)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        alg in alg_strategy(),
        n in 1usize..=2000,
        seed in any::<u64>(),
        flip_byte in 0usize..32,
        flip_bit in 0u8..8,
    ) {
        let t = big(alg);
        let leaves = &t.leaves[..n];
        let root = mth(alg, leaves);
        prop_assert_eq!(root_at(alg, &t.nodes, n as u64).unwrap(), root);
        let i = (seed % n as u64) as usize;
        let proof = inclusion_proof(alg, &t.nodes, i as u64, n as u64).unwrap();
        prop_assert_eq!(&proof, &path(alg, i, leaves));
        prop_assert!(verify_inclusion(alg, &leaves[i], i as u64, n as u64, &proof, &root).is_ok());

        // Flipping any bit of any proof hash breaks it.
        for k in 0..proof.len() {
            let mut bad = proof.clone();
            bad[k][flip_byte] ^= 1 << flip_bit;
            prop_assert!(verify_inclusion(alg, &leaves[i], i as u64, n as u64, &bad, &root).is_err());
        }
        // Another leaf, or the same leaf claimed at another index, fails.
        if n > 1 {
            let j = (i + 1 + (seed as usize / n) % (n - 1)) % n;
            prop_assert_ne!(i, j);
            prop_assert!(verify_inclusion(alg, &leaves[j], i as u64, n as u64, &proof, &root).is_err());
            prop_assert!(verify_inclusion(alg, &leaves[i], j as u64, n as u64, &proof, &root).is_err());
        }
        // The proof does not fit the root of another size. (RFC 9162 proofs
        // do not bind the size on their own: the signed checkpoint does.)
        for n2 in [n - 1, n + 1, n + 7] {
            if n2 > i && n2 <= BIG {
                prop_assert!(verify_inclusion(alg, &leaves[i], i as u64, n2 as u64, &proof, &t.roots[n2]).is_err());
            }
        }
        // The flipped leaf itself fails.
        let mut leaf = leaves[i];
        leaf[flip_byte] ^= 1 << flip_bit;
        prop_assert!(verify_inclusion(alg, &leaf, i as u64, n as u64, &proof, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        alg in alg_strategy(),
        n in 2usize..=2000,
        seed in any::<u64>(),
        flip_byte in 0usize..32,
        flip_bit in 0u8..8,
    ) {
        let t = big(alg);
        let leaves = &t.leaves[..n];
        let m = 1 + (seed % (n as u64 - 1)) as usize;
        let (r1, r2) = (mth(alg, &leaves[..m]), mth(alg, leaves));
        let proof = consistency_proof(alg, &t.nodes, m as u64, n as u64).unwrap();
        prop_assert_eq!(&proof, &naive_consistency(alg, m, leaves));
        prop_assert!(verify_consistency(alg, m as u64, n as u64, &r1, &r2, &proof).is_ok());

        for k in 0..proof.len() {
            let mut bad = proof.clone();
            bad[k][flip_byte] ^= 1 << flip_bit;
            prop_assert!(verify_consistency(alg, m as u64, n as u64, &r1, &r2, &bad).is_err());
        }
        // Wrong roots.
        let mut bad_r1 = r1;
        bad_r1[flip_byte] ^= 1 << flip_bit;
        prop_assert!(verify_consistency(alg, m as u64, n as u64, &bad_r1, &r2, &proof).is_err());
        let mut bad_r2 = r2;
        bad_r2[flip_byte] ^= 1 << flip_bit;
        prop_assert!(verify_consistency(alg, m as u64, n as u64, &r1, &bad_r2, &proof).is_err());
        // Other sizes, with their true roots.
        for (m2, n2) in [(m + 1, n), (m - 1, n), (m, n + 1), (m, n - 1)] {
            if (m2, n2) != (m, n) && m2 >= 1 && m2 < n2 && n2 <= BIG {
                prop_assert!(
                    verify_consistency(alg, m2 as u64, n2 as u64, &t.roots[m2], &t.roots[n2], &proof).is_err(),
                    "proof {}->{} accepted for {}->{}", m, n, m2, n2
                );
            }
        }
        // Dropping or adding an element fails.
        prop_assert!(verify_consistency(alg, m as u64, n as u64, &r1, &r2, &proof[..proof.len() - 1]).is_err());
        let mut longer = proof.clone();
        longer.push(r1);
        prop_assert!(verify_consistency(alg, m as u64, n as u64, &r1, &r2, &longer).is_err());
    }

    #[test]
    fn frontier_rebuilt_from_stored_nodes_matches(
        alg in alg_strategy(),
        n in 0usize..=2000,
        extra in 0usize..40,
    ) {
        let t = big(alg);
        let naive = mth(alg, &t.leaves[..n]);
        prop_assert_eq!(t.roots[n], naive);
        let mut loaded = Frontier::load(alg, n as u64, &t.nodes).unwrap();
        prop_assert_eq!(loaded.root(), naive);
        prop_assert_eq!(loaded.size(), n as u64);
        let hashes: Vec<Hash> = Frontier::needed_nodes(n as u64)
            .iter()
            .map(|id| t.nodes.node(id.level, id.index).unwrap())
            .collect();
        let from_nodes = Frontier::from_nodes(alg, n as u64, &hashes).unwrap();
        prop_assert_eq!(&from_nodes, &loaded);
        prop_assert_eq!(
            from_nodes.nodes().iter().map(|s| s.id()).collect::<Vec<_>>(),
            Frontier::needed_nodes(n as u64)
        );
        // Appending to the reloaded frontier produces exactly the stored nodes.
        for i in n..(n + extra).min(BIG) {
            let produced = loaded.append(t.leaves[i]);
            for s in produced {
                prop_assert_eq!(t.nodes.node(s.level, s.index).unwrap(), s.hash);
            }
            prop_assert_eq!(loaded.root(), t.roots[i + 1]);
        }
        let next = n as u64 + 1;
        prop_assert_eq!(
            Frontier::from_nodes(alg, next, &hashes).is_err(),
            next.count_ones() as usize != hashes.len()
        );
    }

    #[test]
    fn a_node_is_found_again_by_where_it_ends(level in 0u8..63, index in 0u64..(1 << 20), end in 0u64..(1 << 40)) {
        let node = NodeId::new(level, index >> (level / 3));
        prop_assert_eq!(NodeId::ending_at(node.level, node.end()), Some(node));
        // Only an end on the level's boundaries names a node.
        let found = NodeId::ending_at(level, end);
        prop_assert_eq!(found.is_some(), end > 0 && end % (1u64 << level) == 0);
        if let Some(found) = found {
            prop_assert_eq!(found.end(), end);
        }
    }
}
