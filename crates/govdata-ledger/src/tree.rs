//! Storage-agnostic Merkle tree math (RFC 9162 §2.1).
//!
//! # Vocabulary
//!
//! * A **perfect node** [`NodeId`] `(level, index)` is the root of the perfect
//!   subtree over leaves `[index·2^level, (index+1)·2^level)`. Level 0 is the
//!   leaf hash itself. A perfect node never changes once all its leaves
//!   exist, so it can be stored once and read forever.
//! * Every hash RFC 9162 ever needs (a root, an element of an inclusion or
//!   consistency proof) is the Merkle Tree Hash of a range `[start, end)` of
//!   the form `[i·2^k, min((i+1)·2^k, size))`. When `end - start` is a power
//!   of two the range is a perfect node; otherwise (the ragged right edge of
//!   the tree) its hash is the right fold of the perfect nodes in the binary
//!   decomposition of the range: `H(p0, H(p1, … H(p_{j-1}, p_j)))`. A
//!   [`NodeRef`] names such a range and lists its perfect [`parts`](NodeRef::parts).
//! * The **frontier** ([`Frontier`]) of a tree of size `n` is the list of
//!   perfect nodes in the decomposition of `[0, n)` (one per set bit of `n`,
//!   at most 64). It is all that is needed to append and to compute the root.
//!
//! # How a store uses this module
//!
//! *Append* (the sequencer keeps a [`Frontier`] in memory): for each new
//! leaf, [`Frontier::append`] returns the [`StoredNode`]s that became
//! complete (the leaf at level 0 plus every parent it completed); persist all
//! of them in the same transaction as the leaf. A batch of `N` leaves yields
//! fewer than `2N` rows and needs no reads at all.
//!
//! *Proofs* (one round trip): call [`inclusion_proof_nodes`] /
//! [`consistency_proof_nodes`] / [`root_nodes`], fetch the ids from
//! [`nodes_to_fetch`] with a single `WHERE (level, idx) IN (…)` query, put
//! the rows in a [`NodeMap`] and call [`assemble`] (or [`NodeRef::hash`]).
//! Or implement [`NodeReader`] directly on something and call
//! [`inclusion_proof`] / [`consistency_proof`] / [`root_at`].
//!
//! *Restart*: `Frontier::load(alg, size, &reader)` reads the at most 64
//! nodes named by [`Frontier::needed_nodes`].
//!
//! The verifiers ([`verify_inclusion`], [`verify_consistency`]) are the
//! RFC 9162 §2.1.3.2 / §2.1.4.2 bit-twiddling algorithms and share no code
//! with the generators, so each checks the other.

use std::collections::HashMap;

use crate::hash::{empty_root, leaf_hash, node_hash, Hash, HashAlg};

/// The perfect subtree over leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// A node id.
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The leaf at `index`.
    pub fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// First leaf covered.
    pub fn start(&self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered.
    pub fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The node of `level` whose leaves end just before `end`, if one does:
    /// the inverse of [`NodeId::end`].
    pub fn ending_at(level: u8, end: u64) -> Option<Self> {
        let index = end.checked_shr(u32::from(level))?.checked_sub(1)?;
        (index.checked_add(1)?.checked_shl(u32::from(level)) == Some(end)).then_some(NodeId { level, index })
    }
}

/// A perfect node and its hash: a row for the store's node table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoredNode {
    /// See [`NodeId::level`].
    pub level: u8,
    /// See [`NodeId::index`].
    pub index: u64,
    /// The node's hash (the leaf hash at level 0).
    pub hash: Hash,
}

impl StoredNode {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        NodeId::new(self.level, self.index)
    }
}

/// Reads stored perfect-node hashes.
///
/// `node(level, index)` must return the hash of the perfect subtree over
/// leaves `[index·2^level, (index+1)·2^level)`; level 0 is the leaf hash.
/// The functions here only ever ask for nodes that are complete at the tree
/// size they were given.
pub trait NodeReader {
    /// Why a node could not be read (missing row, database error…).
    type Error;
    /// The hash of node `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A requested node is not in the [`NodeMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored node (level {level}, index {index}) is missing")]
pub struct MissingNode {
    /// Level of the missing node.
    pub level: u8,
    /// Index of the missing node.
    pub index: u64,
}

/// An in-memory set of perfect nodes: the result of one batched fetch, or
/// a whole tree in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeMap {
    nodes: HashMap<NodeId, Hash>,
}

impl NodeMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) one node.
    pub fn insert(&mut self, level: u8, index: u64, hash: Hash) {
        self.nodes.insert(NodeId::new(level, index), hash);
    }

    /// Add stored nodes, e.g. the output of [`Frontier::append`].
    pub fn extend_stored<I: IntoIterator<Item = StoredNode>>(&mut self, nodes: I) {
        for n in nodes {
            self.insert(n.level, n.index, n.hash);
        }
    }

    /// Look one node up.
    pub fn get(&self, level: u8, index: u64) -> Option<&Hash> {
        self.nodes.get(&NodeId::new(level, index))
    }

    /// Number of nodes held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the map holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl NodeReader for NodeMap {
    type Error = MissingNode;
    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        self.get(level, index).copied().ok_or(MissingNode { level, index })
    }
}

impl FromIterator<StoredNode> for NodeMap {
    fn from_iter<I: IntoIterator<Item = StoredNode>>(iter: I) -> Self {
        let mut m = NodeMap::new();
        m.extend_stored(iter);
        m
    }
}

impl FromIterator<(u8, u64, Hash)> for NodeMap {
    fn from_iter<I: IntoIterator<Item = (u8, u64, Hash)>>(iter: I) -> Self {
        let mut m = NodeMap::new();
        for (level, index, hash) in iter {
            m.insert(level, index, hash);
        }
        m
    }
}

/// The Merkle Tree Hash of leaves `[start, end)`, where `start` is aligned
/// to a power of two at least `end - start` (every range RFC 9162 uses is).
///
/// Its hash is the right fold of [`parts`](Self::parts): one perfect node
/// when the range is perfect, several on the ragged right edge of a tree.
/// The empty range (only from [`root_nodes`]`(0)`) hashes to the empty root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeRef {
    start: u64,
    end: u64,
}

impl NodeRef {
    fn new(start: u64, end: u64) -> Self {
        debug_assert!(start <= end);
        // `start` is a multiple of the smallest power of two >= the length.
        debug_assert!(
            start == 0 || start.trailing_zeros() >= 64 - (end - start - 1).leading_zeros(),
            "unaligned range [{start}, {end})"
        );
        NodeRef { start, end }
    }

    /// First leaf covered.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the last leaf covered.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Whether this is a single perfect node.
    pub fn is_perfect(&self) -> bool {
        (self.end - self.start).is_power_of_two()
    }

    /// The perfect nodes whose right fold is this range's hash, left to
    /// right (strictly decreasing levels).
    pub fn parts(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut pos = self.start;
        let size = self.end - self.start;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                out.push(NodeId::new(level, pos >> level));
                pos += 1u64 << level;
            }
        }
        out
    }

    /// The range's hash, reading its parts from `reader`.
    pub fn hash<R: NodeReader>(&self, alg: HashAlg, reader: &R) -> Result<Hash, R::Error> {
        let parts = self.parts();
        let mut iter = parts.iter().rev();
        let Some(last) = iter.next() else {
            return Ok(empty_root(alg));
        };
        let mut acc = reader.node(last.level, last.index)?;
        for p in iter {
            acc = node_hash(alg, &reader.node(p.level, p.index)?, &acc);
        }
        Ok(acc)
    }
}

/// Invalid arguments to a proof generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// Inclusion proof for a leaf that is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: u64,
        /// Requested tree size.
        size: u64,
    },
    /// Consistency proof from a larger tree to a smaller one.
    #[error("cannot prove consistency from tree size {from} to smaller size {to}")]
    BadRange {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
}

/// A proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The request itself is invalid.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The reader failed (e.g. the tree is smaller than the requested size).
    #[error("reading a stored node: {0}")]
    Read(E),
}

/// Largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The ranges of the RFC 9162 §2.1.3.1 inclusion proof `PATH(index, D[0:size])`,
/// in proof order (leaf to root).
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeRef>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // Walk from the root down, collecting siblings; the proof lists them
    // from the bottom up.
    let mut out = Vec::new();
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let k = split_point(end - start);
        if index - start < k {
            out.push(NodeRef::new(start + k, end));
            end = start + k;
        } else {
            out.push(NodeRef::new(start, start + k));
            start += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The ranges of the RFC 9162 §2.1.4.1 consistency proof `PROOF(from, D[0:to])`,
/// in proof order. Empty when `from == to` or `from == 0`.
pub fn consistency_proof_nodes(from: u64, to: u64) -> Result<Vec<NodeRef>, TreeError> {
    if from > to {
        return Err(TreeError::BadRange { from, to });
    }
    let mut out = Vec::new();
    if from == 0 || from == to {
        return Ok(out);
    }
    // SUBPROOF(m, D[start:end], b), iteratively: the recursion only ever
    // continues into one half, emitting the other.
    let (mut m, mut start, mut end, mut b) = (from, 0u64, to, true);
    loop {
        let n = end - start;
        if m == n {
            if !b {
                out.push(NodeRef::new(start, end));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(NodeRef::new(start + k, end));
            end = start + k;
        } else {
            out.push(NodeRef::new(start, start + k));
            start += k;
            m -= k;
            b = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// The range whose hash is the root of the tree of `size` leaves
/// (the empty range for `size == 0`, which hashes to the empty root).
pub fn root_nodes(size: u64) -> NodeRef {
    NodeRef::new(0, size)
}

/// Every distinct perfect node that `refs` need, sorted: fetch these in one
/// query.
pub fn nodes_to_fetch(refs: &[NodeRef]) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = refs.iter().flat_map(|r| r.parts()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Hash each range in `refs` from nodes in `reader` (a proof, in order).
pub fn assemble<R: NodeReader>(alg: HashAlg, refs: &[NodeRef], reader: &R) -> Result<Vec<Hash>, R::Error> {
    refs.iter().map(|r| r.hash(alg, reader)).collect()
}

/// Inclusion proof for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<R: NodeReader>(
    alg: HashAlg,
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    let refs = inclusion_proof_nodes(index, size)?;
    assemble(alg, &refs, reader).map_err(ProofError::Read)
}

/// Consistency proof from the tree of `from` leaves to the tree of `to`.
pub fn consistency_proof<R: NodeReader>(
    alg: HashAlg,
    reader: &R,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    let refs = consistency_proof_nodes(from, to)?;
    assemble(alg, &refs, reader).map_err(ProofError::Read)
}

/// Root of the tree of `size` leaves, from stored nodes.
pub fn root_at<R: NodeReader>(alg: HashAlg, reader: &R, size: u64) -> Result<Hash, R::Error> {
    root_nodes(size).hash(alg, reader)
}

/// The perfect nodes that become complete when leaf `index` is appended
/// (the leaf itself first, then each parent it completes, bottom up). This
/// is exactly the ids of what [`Frontier::append`] returns.
pub fn nodes_completed_by(index: u64) -> Vec<NodeId> {
    let mut out = vec![NodeId::leaf(index)];
    let mut level = 0u8;
    while level < 63 && (index >> level) & 1 == 1 {
        level += 1;
        out.push(NodeId::new(level, index >> level));
    }
    out
}

/// The frontier had the wrong number of hashes for its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a frontier of size {size} needs {expected} node hashes, got {got}")]
pub struct FrontierError {
    /// Tree size.
    pub size: u64,
    /// `size.count_ones()`.
    pub expected: usize,
    /// Number given.
    pub got: usize,
}

/// The right edge of a tree (a "compact range" over `[0, size)`): the hashes
/// of the perfect subtrees in the binary decomposition of `size`, largest
/// first. At most 64 hashes; enough to append leaves and compute the root
/// without reading anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    alg: HashAlg,
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new(alg: HashAlg) -> Self {
        Frontier { alg, size: 0, hashes: Vec::new() }
    }

    /// The nodes to read to rebuild the frontier of a tree of `size` leaves,
    /// in the order [`Frontier::from_nodes`] expects (largest first).
    pub fn needed_nodes(size: u64) -> Vec<NodeId> {
        root_nodes(size).parts()
    }

    /// Rebuild from the hashes of [`Frontier::needed_nodes`]`(size)`, in that
    /// order.
    pub fn from_nodes(alg: HashAlg, size: u64, hashes: &[Hash]) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierError { size, expected, got: hashes.len() });
        }
        Ok(Frontier { alg, size, hashes: hashes.to_vec() })
    }

    /// Rebuild by reading [`Frontier::needed_nodes`]`(size)` from `reader`.
    pub fn load<R: NodeReader>(alg: HashAlg, size: u64, reader: &R) -> Result<Self, R::Error> {
        let hashes = Self::needed_nodes(size)
            .iter()
            .map(|n| reader.node(n.level, n.index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Frontier { alg, size, hashes })
    }

    /// The log's hash algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier nodes with their ids, largest first.
    pub fn nodes(&self) -> Vec<StoredNode> {
        Self::needed_nodes(self.size)
            .into_iter()
            .zip(&self.hashes)
            .map(|(id, hash)| StoredNode { level: id.level, index: id.index, hash: *hash })
            .collect()
    }

    /// Append a leaf hash. Returns the nodes that became complete and must be
    /// stored: the leaf (level 0, index = old size) then each parent it
    /// completed, bottom up.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf: Hash) -> Vec<StoredNode> {
        let index = self.size;
        let new_size = index.checked_add(1).expect("ledger tree is full");
        let mut out = vec![StoredNode { level: 0, index, hash: leaf }];
        let mut hash = leaf;
        let mut level = 0u8;
        while (index >> level) & 1 == 1 {
            let left = self.hashes.pop().expect("frontier holds one hash per set bit");
            hash = node_hash(self.alg, &left, &hash);
            level += 1;
            out.push(StoredNode { level, index: index >> level, hash });
        }
        self.hashes.push(hash);
        self.size = new_size;
        out
    }

    /// Append the entry whose canonical bytes are `canonical`; returns its
    /// leaf hash and the nodes to store.
    pub fn append_bytes(&mut self, canonical: &[u8]) -> (Hash, Vec<StoredNode>) {
        let leaf = leaf_hash(self.alg, canonical);
        (leaf, self.append(leaf))
    }

    /// The root of the tree (the empty root for size 0).
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root(self.alg);
        };
        let mut acc = *last;
        for h in iter {
            acc = node_hash(self.alg, h, &acc);
        }
        acc
    }
}

/// Why a proof did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The newer tree is smaller than the older one.
    #[error("tree size went down from {from} to {to}")]
    SizeDecreased {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
    /// The proof has more hashes than the sizes allow.
    #[error("proof is too long")]
    ProofTooLong,
    /// The proof has fewer hashes than the sizes need.
    #[error("proof is too short")]
    ProofTooShort,
    /// A non-trivial consistency proof was empty.
    #[error("consistency proof is empty")]
    EmptyProof,
    /// A trivial proof (equal sizes, or from the empty tree) was not empty.
    #[error("proof must be empty for these sizes")]
    ProofNotEmpty,
    /// The proof leads to a different (new) root.
    #[error("computed root does not match the expected root")]
    RootMismatch,
    /// The consistency proof leads to a different old root.
    #[error("computed old root does not match the expected old root")]
    OldRootMismatch,
}

/// Recompute the root from an inclusion proof (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(
    alg: HashAlg,
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(alg, p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(alg, &r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    Ok(r)
}

/// Verify that `leaf` is at `index` in the tree of `size` leaves with root
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    alg: HashAlg,
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion_proof(alg, leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Verify that the tree of `from` leaves with root `from_root` is a prefix
/// of the tree of `to` leaves with root `to_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots; `from == 0` needs an
/// empty proof and `from_root` equal to the empty root.
pub fn verify_consistency(
    alg: HashAlg,
    from: u64,
    to: u64,
    from_root: &Hash,
    to_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if from > to {
        return Err(VerifyError::SizeDecreased { from, to });
    }
    if from == to || from == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::ProofNotEmpty);
        }
        if from == 0 && *from_root != empty_root(alg) {
            return Err(VerifyError::OldRootMismatch);
        }
        if from == to && from_root != to_root {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::EmptyProof);
    }
    // Step 2: if `from` is a power of two its root is the proof's implicit
    // first element.
    let (first, rest): (&Hash, &[Hash]) =
        if from.is_power_of_two() { (from_root, proof) } else { (&proof[0], &proof[1..]) };
    let (mut fn_, mut sn) = (from - 1, to - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(alg, c, &fr);
            sr = node_hash(alg, c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(alg, &sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if fr != *from_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *to_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}
