//! The pure core of govdata's tamper-evident ledger (政务区块链): an
//! append-only Merkle log with RFC 9162 hashing, signed checkpoints in the
//! C2SP signed-note format, inclusion and consistency proofs, witness
//! cosignatures and whole-log verification. No I/O and no database: the
//! store persists what this crate computes and feeds it back.
//!
//! # Design
//!
//! **Leaves.** Every state change and data read appends one [`Entry`]. Its
//! canonical bytes ([`Entry::canonical_bytes`], exact form in [`entry`]) are
//! what is hashed: leaf hash `= H(0x00 ‖ bytes)`. The HTTP API serves them
//! as `{index, leaf_hash, canonical, entry}` with `canonical` = base64 of
//! the bytes and `leaf_hash` = hex of the leaf hash, so anyone can recompute
//! it.
//!
//! **Perfect-subtree nodes.** The tree is the RFC 9162 Merkle Tree Hash
//! over the leaves (interior node `= H(0x01 ‖ left ‖ right)`). The store
//! keeps, besides the leaves, the hash of every *perfect* subtree
//! `(level, index)` covering leaves `[index·2^level, (index+1)·2^level)`.
//! Such a node is written exactly once, when its last leaf arrives, and
//! never changes. Every root and every proof element of any tree size is
//! either one perfect node or (on the ragged right edge) a right fold of a
//! few of them ([`tree::NodeRef`]), so proofs for any historical size come
//! from at most ~2·log₂(n) stored rows, fetched in one query
//! ([`tree::inclusion_proof_nodes`], [`tree::consistency_proof_nodes`],
//! [`tree::nodes_to_fetch`], [`tree::assemble`]).
//!
//! **Frontier.** The hashes of the perfect subtrees in the binary
//! decomposition of the tree size (one per set bit, ≤ 64) are enough to
//! append and to compute the root ([`Frontier`]). The sequencer keeps it in
//! memory; after a restart it reloads it from ≤ 64 stored nodes
//! ([`Frontier::needed_nodes`], [`Frontier::load`]).
//!
//! **Why group commit is cheap.** Appending a batch of `N` entries with the
//! in-memory frontier reads nothing and hashes about `2N` times; it yields
//! fewer than `2N` node rows ([`Frontier::append`]) to insert in the same
//! transaction as the entries, and one root to sign as a checkpoint for the
//! whole batch. Cost per entry is O(1) amortised, independent of log size.
//!
//! **Checkpoints and witnesses.** A checkpoint ([`note::Checkpoint`]) is the
//! C2SP tlog-checkpoint body `origin\nsize\nbase64(root)\n`, signed as a
//! C2SP signed note with Ed25519 ([`note`]): signature lines
//! `— <key name> base64(key id ‖ signature)`. A parent node witnesses its
//! children: it cosigns a child's checkpoint (C2SP tlog-cosignature v1,
//! [`witness`]) only if it is consistent with the last one it cosigned, so
//! no node can rewrite its history unnoticed. [`verify`] re-checks a whole
//! stored log offline and names the first divergence.
//!
//! **Hash algorithms.** Everything is parameterised by [`HashAlg`]:
//! SHA-256 or SM3 (GB/T 32905), both 32-byte; the algorithm is a property
//! of the log and travels with it (the caller passes it everywhere; it is
//! not written into checkpoints). With SM3 the API's `leaf_hash` and all
//! proof hashes are SM3. Key ids inside signed notes are SHA-256 as the
//! C2SP specs define them, whatever the log's hash.
//!
//! **Out of scope for now:** SM2 signatures. Checkpoints and cosignatures
//! are Ed25519 only, even in 国密 deployments (SM3 hashing is supported).
//! C2SP reserves signature type byte `0xff` for such extensions.
//!
//! # Example: what the store and server do
//!
//! ```
//! use govdata_ledger::ed25519_dalek::SigningKey;
//! use govdata_ledger::tree::{self, NodeMap, NodeReader};
//! use govdata_ledger::{payload_digest, Checkpoint, Entry, Frontier, HashAlg, VerifierKey};
//!
//! let alg = HashAlg::Sha256;
//! let mut db = NodeMap::new(); // stands in for the node table
//!
//! // Sequencer: append a batch with the in-memory frontier, persist rows.
//! let mut frontier = Frontier::new(alg);
//! for i in 0..5 {
//!     let entry = Entry::new(
//!         "440000",
//!         "2024-05-01T08:30:00.123Z",
//!         "user:1",
//!         "user.create",
//!         format!("user/{i}"),
//!         payload_digest(alg, &serde_json::json!({ "id": i })),
//!     );
//!     let canonical = entry.to_canonical().unwrap(); // store these bytes
//!     let (_leaf_hash, nodes) = frontier.append_bytes(&canonical);
//!     db.extend_stored(nodes); // INSERT … in the same transaction
//! }
//! let key = SigningKey::from_bytes(&[1; 32]);
//! let checkpoint = Checkpoint::new("govdata.example/440000", frontier.size(), frontier.root());
//! let signed = checkpoint.sign("govdata.example/440000", &key).unwrap();
//!
//! // Server: an inclusion proof with one batched fetch.
//! let refs = tree::inclusion_proof_nodes(3, 5).unwrap();
//! let rows: NodeMap = tree::nodes_to_fetch(&refs)
//!     .into_iter()
//!     .map(|id| (id.level, id.index, db.node(id.level, id.index).unwrap()))
//!     .collect(); // SELECT level, idx, hash … WHERE (level, idx) IN (…)
//! let proof = tree::assemble(alg, &refs, &rows).unwrap();
//!
//! // Client: verify the checkpoint, then the proof.
//! let log_key = VerifierKey::ed25519("govdata.example/440000", key.verifying_key()).unwrap();
//! let (cp, _signers) = Checkpoint::open(&signed, &[log_key]).unwrap();
//! let leaf = db.node(0, 3).unwrap();
//! govdata_ledger::verify_inclusion(alg, &leaf, 3, cp.size, &proof, &cp.root).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod entry;
pub mod hash;
pub mod note;
pub mod tree;
pub mod verify;
pub mod witness;

pub use entry::{canonical_json, payload_digest, Entry, EntryError};
pub use hash::{empty_root, leaf_hash, node_hash, Hash, HashAlg};
pub use note::{open_note, sign_note, Checkpoint, NoteError, VerifierKey};
pub use tree::{
    verify_consistency, verify_inclusion, Frontier, NodeId, NodeMap, NodeReader, NodeRef, StoredNode,
    VerifyError,
};
pub use verify::{verify_log, Divergence, LogVerifier, StoredCheckpoint, VerifyReport};
pub use witness::{check_and_cosign, cosign, verify_cosignature, Witness, WitnessError};

/// Re-export of the Ed25519 implementation used for keys, so callers use
/// the same version.
pub use ed25519_dalek;
