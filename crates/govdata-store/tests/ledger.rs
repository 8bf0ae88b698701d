//! The ledger's persistence on both backends: proofs from the store verify
//! against signed checkpoints, group commit assigns gap-free indices under
//! load, survives a failed batch and carries on after another process's
//! appends, entries page and filter (through the
//! filter index and its unindexed tail, which verification checks), witness
//! state refuses stale decisions.
//!
//! PostgreSQL runs need `TEST_POSTGRES_URL` (a server URL whose user may
//! create databases); each test gets a fresh database. Without it the
//! PostgreSQL variants are skipped, unless `TEST_REQUIRE_POSTGRES=1`.

use std::collections::BTreeSet;
use std::time::Duration;

use govdata_ledger::ed25519_dalek::SigningKey;
use govdata_ledger::hash::{leaf_hash, HashAlg};
use govdata_ledger::note::Checkpoint;
use govdata_ledger::{verify_consistency, verify_inclusion};
use govdata_model::{ApiError as _, ErrorCode};
use govdata_store::{EntryFilter, LedgerConfig, LedgerRecord, NewDepartment, Store, StoreError};
use serde_json::json;
use sqlx::Connection;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if govdata_store::testing::postgres_available() {
                    super::$scenario(super::Backend::Postgres).await
                }
            }
        }
    )*};
}

on_both_backends!(
    proofs_verify_against_checkpoints,
    group_commit_is_gap_free_under_load,
    failed_batch_leaves_the_frontier_usable,
    two_processes_append_to_one_log,
    entries_page_and_filter,
    checkpoints_are_made_only_when_the_tree_grew,
    witness_state_refuses_stale_decisions,
);

/// A store on a fresh database, and the URL to reach that database directly.
struct TestStore {
    store: Store,
    url: String,
    _dir: tempfile::TempDir,
}

impl TestStore {
    async fn open(backend: Backend, hash: HashAlg) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => Store::sqlite_url(dir.path()),
            Backend::Postgres => govdata_store::testing::fresh_postgres_database().await.expect("checked"),
        };
        let store = Store::open(&url, LedgerConfig { node_id: "node-test".into(), hash }).await.unwrap();
        TestStore { store, url, _dir: dir }
    }

    /// A connection that bypasses the store, as a tamperer or a fault would.
    async fn raw(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.url).await.unwrap()
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn access(actor: &str, kind: &str, subject: &str) -> LedgerRecord {
    LedgerRecord {
        actor: actor.into(),
        kind: kind.into(),
        subject: subject.into(),
        payload: json!({"q": subject}),
    }
}

/// A state change (a new department named and coded `name`): its entry
/// goes through the change's own transaction, not the group committer.
async fn change_state(store: &Store, name: &str) {
    store
        .create_department(
            "user:admin",
            NewDepartment { name: name.into(), uscc: name.into(), region: "440000".into() },
        )
        .await
        .unwrap();
}

fn field_of(err: &StoreError) -> Option<&str> {
    match err {
        StoreError::Invalid(e) => Some(e.field.as_str()),
        _ => None,
    }
}

async fn proofs_verify_against_checkpoints(backend: Backend) {
    for hash in [HashAlg::Sha256, HashAlg::Sm3] {
        if matches!(backend, Backend::Postgres) && hash == HashAlg::Sm3 {
            continue;
        }
        let t = TestStore::open(backend, hash).await;
        let store = &t.store;
        let key = key();
        let log_key = store.ledger_verifier_key(&key.verifying_key());
        let mut checkpoints = vec![store.checkpoint(&key).await.unwrap()];
        assert_eq!(checkpoints[0].size, 0);
        // Entries from both paths: state changes (WriteTx) and accesses.
        for i in 0..45u32 {
            if i % 9 == 0 {
                change_state(store, &format!("部门{i}")).await;
            } else {
                store
                    .record_access(access("user:reader", "gateway.read", &format!("dataset/{i}")))
                    .await
                    .unwrap();
            }
            checkpoints.push(store.checkpoint(&key).await.unwrap());
        }
        let size = store.ledger_size().await.unwrap();
        assert_eq!(size, 45);
        let leaves: Vec<_> = leaf_hashes(store, size).await;
        for cp in &checkpoints {
            let (opened, _) = Checkpoint::open(&cp.note, std::slice::from_ref(&log_key)).unwrap();
            assert_eq!((opened.size, opened.root), (cp.size, cp.root));
            assert_eq!(opened.origin, "govdata/node-test");
            assert_eq!(store.ledger_root(cp.size).await.unwrap(), cp.root);
            for (index, leaf) in leaves.iter().enumerate().take(cp.size as usize) {
                let proof = store.inclusion_proof(index as u64, cp.size).await.unwrap();
                verify_inclusion(hash, leaf, index as u64, cp.size, &proof, &cp.root)
                    .unwrap_or_else(|e| panic!("inclusion {index} in {}: {e}", cp.size));
            }
            for newer in checkpoints.iter().filter(|n| n.size >= cp.size) {
                let proof = store.consistency_proof(cp.size, newer.size).await.unwrap();
                verify_consistency(hash, cp.size, newer.size, &cp.root, &newer.root, &proof)
                    .unwrap_or_else(|e| panic!("consistency {} -> {}: {e}", cp.size, newer.size));
            }
        }
        // Out-of-range requests name the parameter at fault.
        let err = store.inclusion_proof(0, size + 1).await.unwrap_err();
        assert_eq!((err.code(), field_of(&err)), (ErrorCode::InvalidInput, Some("size")));
        let err = store.inclusion_proof(size, size).await.unwrap_err();
        assert_eq!(field_of(&err), Some("index"));
        let err = store.consistency_proof(5, 4).await.unwrap_err();
        assert_eq!(field_of(&err), Some("from"));
        let err = store.consistency_proof(1, size + 1).await.unwrap_err();
        assert_eq!(field_of(&err), Some("to"));
        let report = store.audit_ledger(&[key.verifying_key()], |_| {}).await.unwrap().unwrap();
        assert_eq!((report.size, report.checkpoints), (45, 46));
        assert_eq!(report.root, checkpoints.last().unwrap().root);
    }
}

/// Every entry's leaf hash, checked against its canonical bytes.
async fn leaf_hashes(store: &Store, size: u64) -> Vec<[u8; 32]> {
    let mut leaves = Vec::new();
    for index in 0..size {
        let e = store.ledger_entry(index).await.unwrap();
        assert_eq!(e.leaf_hash, leaf_hash(store.ledger_hash(), &e.canonical));
        leaves.push(e.leaf_hash);
    }
    leaves
}

async fn group_commit_is_gap_free_under_load(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    let key = key();
    t.store.record_access(access("user:warmup", "gateway.read", "x")).await.unwrap();
    let start = t.store.ledger_size().await.unwrap();
    let writers: Vec<_> = (0..64)
        .map(|w| {
            let store = t.store.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..25 {
                    let actor = format!("key:w{w}");
                    got.push(
                        store
                            .record_access(access(&actor, "gateway.read", &format!("row/{i}")))
                            .await
                            .unwrap(),
                    );
                }
                got
            })
        })
        .collect();
    // State changes interleave with the batches on the same frontier.
    for i in 0..5 {
        change_state(&t.store, &format!("d{i}")).await;
    }
    let mut indices = BTreeSet::new();
    for writer in writers {
        for index in writer.await.unwrap() {
            assert!(indices.insert(index), "index {index} given twice");
        }
    }
    let end = t.store.ledger_size().await.unwrap();
    assert_eq!(end, start + 64 * 25 + 5);
    // The access indices and the five state changes fill the range exactly.
    assert_eq!(indices.len(), 64 * 25);
    assert!(indices.iter().all(|i| (start..end).contains(i)));
    let cp = t.store.checkpoint(&key).await.unwrap();
    assert_eq!(cp.size, end);
    let report = t.store.audit_ledger(&[key.verifying_key()], |_| {}).await.unwrap().unwrap();
    assert_eq!(report.root, cp.root);
    // Concurrent entries shared their commits.
    let commits = t.store.ledger_group_commits();
    assert_eq!(commits.entries, 1 + 64 * 25);
    assert!(commits.batches < commits.entries, "{commits:?}");
}

/// Two stores on one database, as two processes (a node and the CLI): each
/// keeps its own frontier, and each append after the other's starts from
/// the committed log, by either path.
async fn two_processes_append_to_one_log(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    let other = Store::open(&t.url, LedgerConfig { node_id: "node-test".into(), hash: HashAlg::Sha256 })
        .await
        .unwrap();
    let key = key();
    let mut expected = Vec::new();
    for round in 0..3 {
        for (store, who) in [(&t.store, "a"), (&other, "b")] {
            let index =
                store.record_access(access(&format!("user:{who}"), "gateway.read", "r")).await.unwrap();
            expected.push(index);
            change_state(store, &format!("{who}{round}")).await;
        }
    }
    // Each access landed right after the other store's state change.
    assert_eq!(expected, [0, 2, 4, 6, 8, 10]);
    assert_eq!(t.store.ledger_size().await.unwrap(), 12);
    let cp = t.store.checkpoint(&key).await.unwrap();
    let report = other.audit_ledger(&[key.verifying_key()], |_| {}).await.unwrap().unwrap();
    assert_eq!(report.root, cp.root);
}

async fn failed_batch_leaves_the_frontier_usable(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    let key = key();
    for i in 0..6 {
        t.store.record_access(access("user:a", "gateway.read", &format!("s{i}"))).await.unwrap();
    }
    let before = t.store.checkpoint(&key).await.unwrap();
    // A row in the way of the next index makes every batch fail.
    let mut conn = t.raw().await;
    sqlx::query(
        "INSERT INTO ledger_entries (idx, leaf_hash, canonical, payload, kind, actor, subject, at) \
         VALUES ($1, $2, $3, '{}', 'x', 'x', 'x', 'x')",
    )
    .bind(before.size as i64)
    .bind(vec![0u8; 32])
    .bind(b"x".to_vec())
    .execute(&mut conn)
    .await
    .unwrap();
    let callers: Vec<_> = (0..8)
        .map(|i| {
            let store = t.store.clone();
            tokio::spawn(async move {
                store.record_access(access("user:b", "gateway.read", &format!("f{i}"))).await
            })
        })
        .collect();
    for caller in callers {
        let err = caller.await.unwrap().unwrap_err();
        assert!(matches!(err, StoreError::BatchFailed(_)), "{err:?}");
    }
    assert_eq!(t.store.ledger_size().await.unwrap(), before.size);
    sqlx::query("DELETE FROM ledger_entries WHERE idx = $1")
        .bind(before.size as i64)
        .execute(&mut conn)
        .await
        .unwrap();
    // Both append paths carry on from the last committed state.
    let index = t.store.record_access(access("user:b", "gateway.read", "after")).await.unwrap();
    assert_eq!(index, before.size);
    change_state(&t.store, "after").await;
    let after = t.store.checkpoint(&key).await.unwrap();
    assert_eq!(after.size, before.size + 2);
    let proof = t.store.consistency_proof(before.size, after.size).await.unwrap();
    verify_consistency(HashAlg::Sha256, before.size, after.size, &before.root, &after.root, &proof).unwrap();
    t.store.audit_ledger(&[key.verifying_key()], |_| {}).await.unwrap().unwrap();
    // A record that breaks the entry rules fails alone, before any batch.
    let err = t.store.record_access(access("", "gateway.read", "x")).await.unwrap_err();
    assert_eq!(field_of(&err), Some("actor"));
    let err = t.store.record_access(access("user:a", "Bad Kind", "x")).await.unwrap_err();
    assert_eq!(field_of(&err), Some("kind"));
}

async fn entries_page_and_filter(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    // Runs of four entries, so that these few fill some.
    let mut conn = t.raw().await;
    sqlx::query("UPDATE ledger_filter_head SET run_size = 4").execute(&mut conn).await.unwrap();
    for i in 0..10 {
        let actor = if i % 2 == 0 { "user:even" } else { "user:odd" };
        let kind = if i < 5 { "gateway.read" } else { "file.download" };
        t.store.record_access(access(actor, kind, &format!("s{}", i % 3))).await.unwrap();
    }
    let all = t.store.ledger_entries(&EntryFilter::default()).await.unwrap();
    assert_eq!((all.from, all.to, all.entries.len(), all.next), (0, 10, 10, None));
    let e = &all.entries[3];
    assert_eq!((e.index, e.entry.actor.as_str(), e.entry.subject.as_str()), (3, "user:odd", "s0"));
    assert_eq!(e.payload, json!({"q": "s0"}));
    assert_eq!(e.entry.node, "node-test");
    assert_eq!(e.entry.payload_digest, govdata_ledger::payload_digest(HashAlg::Sha256, &json!({"q": "s0"})));

    let mut filter = EntryFilter { limit: Some(3), ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = t.store.ledger_entries(&filter).await.unwrap();
        seen.extend(page.entries.iter().map(|e| e.index));
        match page.next {
            Some(next) => filter.from = next,
            None => break,
        }
    }
    assert_eq!(seen, (0..10).collect::<Vec<_>>());

    let odd = EntryFilter { actor: Some("user:odd".into()), ..Default::default() };
    let got: Vec<u64> = t.store.ledger_entries(&odd).await.unwrap().entries.iter().map(|e| e.index).collect();
    assert_eq!(got, [1, 3, 5, 7, 9]);
    let filter = EntryFilter {
        from: 2,
        to: Some(9),
        kind: Some("file.download".into()),
        subject: Some("s0".into()),
        ..Default::default()
    };
    let got: Vec<u64> =
        t.store.ledger_entries(&filter).await.unwrap().entries.iter().map(|e| e.index).collect();
    assert_eq!(got, [6]);

    let store = &t.store;
    let bad = |f: EntryFilter| async move { store.ledger_entries(&f).await.unwrap_err() };
    assert_eq!(field_of(&bad(EntryFilter { to: Some(11), ..Default::default() }).await), Some("to"));
    assert_eq!(
        field_of(&bad(EntryFilter { from: 6, to: Some(5), ..Default::default() }).await),
        Some("from")
    );
    assert_eq!(field_of(&bad(EntryFilter { limit: Some(0), ..Default::default() }).await), Some("limit"));
    assert!(matches!(t.store.ledger_entry(10).await.unwrap_err(), StoreError::NotFound(_)));

    // Filters answer the same whether the filter index has caught up (here
    // forced) or the entries are still in the unindexed tail, and across
    // the boundary between the two.
    let listed = |filter: EntryFilter| async move {
        store.ledger_entries(&filter).await.unwrap().entries.iter().map(|e| e.index).collect::<Vec<u64>>()
    };
    store.index_ledger_filter().await.unwrap();
    assert_eq!(listed(odd.clone()).await, [1, 3, 5, 7, 9]);
    store.record_access(access("user:odd", "gateway.read", "s0")).await.unwrap();
    store.record_access(access("user:even", "gateway.read", "s0")).await.unwrap();
    assert_eq!(listed(odd.clone()).await, [1, 3, 5, 7, 9, 10]);
    let s0 = EntryFilter { subject: Some("s0".into()), limit: Some(4), ..Default::default() };
    let page = store.ledger_entries(&s0).await.unwrap();
    assert_eq!(
        (page.entries.iter().map(|e| e.index).collect::<Vec<_>>(), page.next),
        (vec![0, 3, 6, 9], Some(10))
    );
    assert_eq!(listed(EntryFilter { from: 10, ..s0 }).await, [10, 11]);

    // The index is derived, and verification checks every run of it
    // against the entries.
    store.index_ledger_filter().await.unwrap();
    let keys = [key().verifying_key()];
    store.checkpoint(&key()).await.unwrap();
    store.audit_ledger(&keys, |_| {}).await.unwrap().unwrap();
    let tampers: [(&str, Option<Vec<u8>>, u64); 3] = [
        ("DELETE FROM ledger_filter_runs WHERE term = 'actor:user:odd' AND run = 4", None, 4),
        (
            "UPDATE ledger_filter_runs SET postings = $1 WHERE term = 'subject:s0' AND run = 0",
            Some(vec![0, 3, 1]),
            0,
        ),
        (
            "INSERT INTO ledger_filter_runs (term, run, postings) VALUES ('kind:forged', 8, $1)",
            Some(vec![1]),
            8,
        ),
    ];
    for (tamper, postings, run) in tampers {
        let mut query = sqlx::query(tamper);
        if let Some(postings) = postings {
            query = query.bind(postings);
        }
        query.execute(&mut conn).await.unwrap();
        let finding = store.audit_ledger(&keys, |_| {}).await.unwrap().unwrap_err();
        assert_eq!(finding.index(), run, "{tamper}: {finding}");
        assert!(finding.to_string().contains("filter index's run"), "{finding}");
        // Rebuilt from the log, the index verifies again.
        sqlx::query("DELETE FROM ledger_filter_runs").execute(&mut conn).await.unwrap();
        sqlx::query("UPDATE ledger_filter_head SET upto = 0").execute(&mut conn).await.unwrap();
        store.index_ledger_filter().await.unwrap();
        store.audit_ledger(&keys, |_| {}).await.unwrap().unwrap();
    }
    sqlx::query("UPDATE ledger_entries SET subject = 's1' WHERE idx = 6").execute(&mut conn).await.unwrap();
    let finding = store.audit_ledger(&keys, |_| {}).await.unwrap().unwrap_err();
    assert_eq!(finding.index(), 6, "{finding}");
    assert!(finding.to_string().contains("stored for filtering"), "{finding}");
}

async fn checkpoints_are_made_only_when_the_tree_grew(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    let key = key();
    assert_eq!(t.store.latest_checkpoint().await.unwrap(), None);
    t.store.record_access(access("user:a", "gateway.read", "x")).await.unwrap();
    let first = t.store.checkpoint(&key).await.unwrap();
    assert_eq!(t.store.checkpoint(&key).await.unwrap(), first);
    let mut conn = t.raw().await;
    assert_eq!(checkpoint_rows(&mut conn).await, 1);

    let checkpointer = t.store.start_checkpointer(
        {
            let key = key.clone();
            move || key.clone()
        },
        Duration::from_millis(100),
    );
    t.store.record_access(access("user:a", "gateway.read", "y")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.store.latest_checkpoint().await.unwrap().map(|c| c.size) != Some(2) {
        assert!(std::time::Instant::now() < deadline, "the checkpointer did not sign size 2");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(checkpoint_rows(&mut conn).await, 2, "no checkpoint while the tree did not grow");
    // Entries of the last moment are covered when it stops.
    t.store.record_access(access("user:a", "gateway.read", "z")).await.unwrap();
    checkpointer.stop().await;
    assert_eq!(t.store.latest_checkpoint().await.unwrap().unwrap().size, 3);
    assert_eq!(t.store.checkpoint_at(2).await.unwrap().unwrap().size, 2);
    assert_eq!(t.store.checkpoint_at(4).await.unwrap(), None);
}

async fn checkpoint_rows(conn: &mut sqlx::AnyConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ledger_checkpoints").fetch_one(conn).await.unwrap()
}

async fn witness_state_refuses_stale_decisions(backend: Backend) {
    let t = TestStore::open(backend, HashAlg::Sha256).await;
    let origin = "govdata/child";
    assert_eq!(t.store.witnessed(origin).await.unwrap(), None);
    let cp5 = Checkpoint::new(origin, 5, [5; 32]);
    let cp9 = Checkpoint::new(origin, 9, [9; 32]);
    t.store.record_cosigned("cli:op", None, &cp5, "note5", "— w sig5\n").await.unwrap();
    // Someone else recorded first contact meanwhile.
    let err = t.store.record_cosigned("cli:op", None, &cp9, "note9", "— w sig9\n").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let before = t.store.ledger_size().await.unwrap();
    t.store.record_cosigned("cli:op", Some(&cp5), &cp9, "note9", "— w sig9\n").await.unwrap();
    assert_eq!(t.store.ledger_size().await.unwrap(), before + 1, "cosigning is recorded");
    // A decision made against the superseded state is refused.
    let err = t.store.record_cosigned("cli:op", Some(&cp5), &cp9, "note9", "— w sig9\n").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let got = t.store.witnessed(origin).await.unwrap().unwrap();
    assert_eq!((got.checkpoint, got.signed_note.as_str()), (cp9, "note9"));
}
