//! The cascade's exactly-once effect: however batches are resent, repeated
//! or reordered, an ancestor ends up holding, for each entry, the change with
//! the highest home sequence — and relays each applied change exactly once.
//! Join tokens are single-use and bound to a node id; pinned keys move on
//! once per rotation.
//!
//! PostgreSQL runs need `TEST_POSTGRES_URL`; without it they are skipped.

use std::collections::BTreeMap;

use govdata_model::catalog::{
    ActorRef, CatalogEntry, Classification, EntryDraft, EntryStatus, FormatClass, InfoItem, ItemType,
    OpenType, Provider, ResourceCode, ShareMode, ShareType, TopClass, UpdateCycle,
};
use govdata_store::{
    CascadeAction, CascadeChange, EntryFilter, HomeNode, KeyRotation, LedgerConfig, NewFederationNode,
    NewJoinToken, Store, StoreError,
};
use proptest::prelude::*;

const CODES: [&str; 3] = ["108001/000001", "108001/000002", "108001/000003"];

fn home() -> HomeNode {
    HomeNode { id: "police".into(), name: "公安厅平台".into(), region: "440000".into() }
}

/// A published entry whose version records the home sequence that sent it.
fn entry(code: &str, home_seq: u64) -> CatalogEntry {
    let metadata = EntryDraft {
        classification: Classification::new(TopClass::Department, 8, Some(1), None),
        name: format!("信息{home_seq}"),
        summary: "摘要".into(),
        keywords: vec![],
        provider: Provider { department_id: "d".into(), uscc: "11440000006940011E".into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: vec![InfoItem::new("编号", ItemType::Character, Some(20))],
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api],
        open_type: OpenType::Unconditional,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: vec![],
        system_id: None,
        resources: vec![],
    };
    let actor = ActorRef { user_id: "u".into(), department_id: "d".into() };
    let now = time::OffsetDateTime::now_utc();
    CatalogEntry {
        code: code.parse::<ResourceCode>().unwrap(),
        version: home_seq as u32,
        status: EntryStatus::Published,
        grade: metadata.grade(),
        metadata,
        created_by: actor.clone(),
        submitted_by: Some(actor),
        created_at: now,
        updated_at: now,
        published_on: Some(now.date()),
    }
}

fn change(seq: u64, code: usize, home_seq: u64, publish: bool) -> CascadeChange {
    CascadeChange {
        seq,
        home: home(),
        home_seq,
        code: CODES[code].into(),
        action: if publish { CascadeAction::Publish } else { CascadeAction::Withdraw },
        entry: publish.then(|| entry(CODES[code], home_seq)),
        provider_name: publish.then(|| "治安管理局".into()),
    }
}

async fn joined_store(url: &str) -> Store {
    let store = Store::open(
        url,
        LedgerConfig { node_id: "guangdong".into(), hash: govdata_ledger::hash::HashAlg::Sha256 },
    )
    .await
    .unwrap();
    let token = |node_id: &str, region: &str, hash: &str| NewJoinToken {
        node_id: node_id.into(),
        level: "department".into(),
        region: region.into(),
        token_hash: hash.into(),
        expires_at: "2999-01-01T00:00:00.000Z".into(),
    };
    store.create_join_token("cli:test", &token("police", "440000", "hash-1")).await.unwrap();
    let child = NewFederationNode {
        id: "police".into(),
        name: "公安厅平台".into(),
        level: "department".into(),
        region: "440000".into(),
        url: "http://127.0.0.1:1".into(),
        public_key: "AAAA".into(),
    };
    store.join_child("hash-1", child.clone()).await.unwrap();
    // Single use, and bound to the node, level and region it was issued for.
    assert!(matches!(store.join_child("hash-1", child.clone()).await, Err(StoreError::Conflict(_))));
    store.create_join_token("cli:test", &token("other", "440000", "hash-2")).await.unwrap();
    let err = store.join_child("hash-2", child.clone()).await.unwrap_err();
    assert!(err.to_string().contains("not for node police"), "{err}");
    store.create_join_token("cli:test", &token("police", "440100", "hash-3")).await.unwrap();
    let err = store.join_child("hash-3", child).await.unwrap_err();
    assert!(err.to_string().contains("of region 440100, not a department node of region 440000"), "{err}");
    store
}

/// What the ancestor must hold: per entry, the newest change's version, if published.
fn expected(changes: &[CascadeChange]) -> BTreeMap<String, u32> {
    let mut newest: BTreeMap<&str, &CascadeChange> = BTreeMap::new();
    for c in changes {
        if newest.get(c.code.as_str()).is_none_or(|held| held.home_seq < c.home_seq) {
            newest.insert(&c.code, c);
        }
    }
    newest
        .into_iter()
        .filter(|(_, c)| c.action == CascadeAction::Publish)
        .map(|(code, c)| (code.to_owned(), c.home_seq as u32))
        .collect()
}

async fn held(store: &Store) -> BTreeMap<String, u32> {
    store
        .federated_entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.entry.code.to_string(), e.entry.version))
        .collect()
}

async fn resent_batches_change_nothing(url: String) {
    let store = joined_store(&url).await;
    let batch =
        vec![change(1, 0, 1, true), change(2, 1, 2, true), change(3, 0, 3, true), change(4, 1, 4, false)];
    let first = store.apply_cascade("police", &batch, 0, true).await.unwrap();
    assert_eq!((first.applied.len(), first.skipped, first.acked_seq), (4, 0, 4));
    let again = store.apply_cascade("police", &batch, 0, true).await.unwrap();
    assert_eq!((again.applied.len(), again.skipped, again.acked_seq), (0, 4, 4));
    assert_eq!(held(&store).await, BTreeMap::from([(CODES[0].to_owned(), 3)]));
    // Each applied change was relayed once, in order, under its home sequence.
    let relayed = store.outbox_after(0, 100, &home()).await.unwrap();
    assert_eq!(relayed.iter().map(|c| c.home_seq).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(relayed.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    // A batch from a node that never joined is refused whole.
    assert!(matches!(store.apply_cascade("stranger", &batch, 0, true).await, Err(StoreError::NotFound(_))));
    store.close().await;
}

#[tokio::test]
async fn resent_batches_change_nothing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    resent_batches_change_nothing(Store::sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn resent_batches_change_nothing_postgres() {
    if let Some(url) = govdata_store::testing::fresh_postgres_database().await {
        resent_batches_change_nothing(url).await;
    }
}

/// A peer's pinned key moves on only from the key it replaces (two
/// requests following the same rotation pin it once); this node's own
/// rotations keep their order, and each is in the ledger.
async fn keys_move_on_once(url: String) {
    let store = joined_store(&url).await;
    assert!(store.rotate_node_key("node:police", "police", "AAAA", "BBBB").await.unwrap());
    assert!(!store.rotate_node_key("node:police", "police", "AAAA", "CCCC").await.unwrap());
    assert_eq!(store.federation_node("police").await.unwrap().public_key, "BBBB");

    let rotation = |previous: &str, next: &str| KeyRotation {
        previous_key: previous.into(),
        public_key: next.into(),
        rotated_at: "2026-11-26T00:00:00.000Z".into(),
        signature: "c2ln".into(),
    };
    store.record_key_rotation("user:admin", &rotation("K1", "K2")).await.unwrap();
    store.record_key_rotation("user:admin", &rotation("K2", "K3")).await.unwrap();
    let err = store.record_key_rotation("user:admin", &rotation("K2", "K4")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "a key has one successor: {err}");
    let keys: Vec<String> = store.key_rotations().await.unwrap().into_iter().map(|r| r.public_key).collect();
    assert_eq!(keys, ["K2", "K3"]);
    for (kind, count) in [("federation.key_rotated", 1), ("node.key_rotated", 2)] {
        let filter = EntryFilter { kind: Some(kind.into()), ..EntryFilter::default() };
        assert_eq!(store.ledger_entries(&filter).await.unwrap().entries.len(), count, "{kind}");
    }
    store.close().await;
}

#[tokio::test]
async fn keys_move_on_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    keys_move_on_once(Store::sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn keys_move_on_once_postgres() {
    if let Some(url) = govdata_store::testing::fresh_postgres_database().await {
        keys_move_on_once(url).await;
    }
}

/// Changes of three entries, each with a distinct home sequence.
fn changes() -> impl Strategy<Value = Vec<CascadeChange>> {
    prop::collection::vec((0..CODES.len(), any::<bool>()), 1..20).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (code, publish))| change(i as u64 + 1, code, i as u64 + 1, publish))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Deliveries in any order, with any part sent again, converge on the
    /// newest change per entry, and relay each change at most once.
    #[test]
    fn any_delivery_order_converges(changes in changes(), order in prop::collection::vec(any::<prop::sample::Index>(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = joined_store(&Store::sqlite_url(dir.path())).await;
            let mut deliveries: Vec<CascadeChange> = order.iter().map(|i| changes[i.index(changes.len())].clone()).collect();
            deliveries.extend(changes.iter().cloned());
            for batch in deliveries.chunks(3) {
                store.apply_cascade("police", batch, 0, true).await.unwrap();
            }
            prop_assert_eq!(held(&store).await, expected(&changes));
            let relayed = store.outbox_after(0, 1000, &home()).await.unwrap();
            let mut relayed_seqs: Vec<u64> = relayed.iter().map(|c| c.home_seq).collect();
            relayed_seqs.sort_unstable();
            prop_assert!(relayed_seqs.windows(2).all(|w| w[0] != w[1]), "a change was relayed twice");
            store.close().await;
            Ok(())
        })?;
    }
}
