//! Writes, persistence, schema versioning and the reconciler.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use govdata_model::catalog::EntryStatus;
use govdata_model::{ApiError, ErrorCode};
use govdata_search::{
    pick_searchable_version, DocKey, SearchDoc, SearchError, SearchIndex, SearchQuery, Viewer, SCHEMA_VERSION,
};
use tantivy::schema::Term;

fn reviewer() -> Viewer {
    Viewer::reviewer(DSJ.0)
}

fn find(index: &SearchIndex, q: &str) -> Vec<(String, u32)> {
    let r = index.search(&SearchQuery { size: 100, ..SearchQuery::text(q) }, &reviewer()).unwrap();
    r.items.into_iter().map(|h| (h.name, h.version)).collect()
}

/// Opens the index directory with plain tantivy, behind `SearchIndex`'s
/// back, applies `f` to a writer and commits with the given payload.
fn tamper(dir: &Path, payload: &str, f: impl FnOnce(&tantivy::Index, &tantivy::IndexWriter)) {
    let index = tantivy::Index::open_in_dir(dir).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    f(&index, &writer);
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload(payload);
    prepared.commit().unwrap();
    writer.wait_merging_threads().unwrap();
}

fn current_payload() -> String {
    format!(r#"{{"schema_version":{SCHEMA_VERSION}}}"#)
}

#[test]
fn upsert_replaces_by_node_and_code() {
    let index = SearchIndex::in_memory().unwrap();
    let docs = corpus();
    let mut doc = doc_named(&docs, "婚姻登记信息").clone();
    index.upsert(std::slice::from_ref(&doc)).unwrap();
    assert_eq!(find(&index, "婚姻"), [("婚姻登记信息".to_owned(), 1)]);

    doc.entry.version = 2;
    doc.entry.metadata.name = "婚姻登记信息（2024版）".into();
    index.upsert(std::slice::from_ref(&doc)).unwrap();
    assert_eq!(index.doc_count().unwrap(), 1);
    assert_eq!(find(&index, "婚姻"), [("婚姻登记信息（2024版）".to_owned(), 2)]);

    // The same code on another node is another document.
    let mut other_node = doc.clone();
    other_node.node_id = HZ.0.into();
    index.upsert(&[other_node]).unwrap();
    assert_eq!(index.doc_count().unwrap(), 2);

    // Withdrawing removes it; removing the other node's copy empties the index.
    let mut withdrawn = doc.clone();
    withdrawn.entry.status = EntryStatus::Withdrawn;
    index.upsert(&[withdrawn]).unwrap();
    assert_eq!(index.doc_count().unwrap(), 1);
    index.remove(&[DocKey::new(HZ.0, doc.entry.code.to_string())]).unwrap();
    assert_eq!(index.doc_count().unwrap(), 0);
    index.remove(&[DocKey::new(HZ.0, "no/such")]).unwrap();
}

#[test]
fn last_document_of_a_key_in_a_batch_wins() {
    let index = SearchIndex::in_memory().unwrap();
    let docs = corpus();
    let v1 = doc_named(&docs, "学籍信息").clone();
    let mut v2 = v1.clone();
    v2.entry.version = 2;
    index.upsert(&[v1.clone(), v2.clone()]).unwrap();
    assert_eq!(find(&index, "学籍"), [("学籍信息".to_owned(), 2)]);
    index.upsert(&[v2, v1.clone()]).unwrap();
    assert_eq!(find(&index, "学籍"), [("学籍信息".to_owned(), 1)]);
    let mut gone = v1.clone();
    gone.entry.status = EntryStatus::Discarded;
    index.upsert(&[v1, gone]).unwrap();
    assert_eq!(index.doc_count().unwrap(), 0);
}

#[test]
fn searchable_version_is_the_published_one_else_the_open_one() {
    let docs = corpus();
    let published = doc_named(&docs, "学籍信息").entry.clone();
    let mut draft = published.clone();
    draft.version = 2;
    draft.status = EntryStatus::Draft;
    let mut superseded = published.clone();
    superseded.version = 0;
    superseded.status = EntryStatus::Superseded;
    let versions = [superseded.clone(), published.clone(), draft.clone()];
    assert_eq!(pick_searchable_version(&versions), Some(&published));
    assert_eq!(pick_searchable_version(&[superseded.clone(), draft.clone()]), Some(&draft));
    let mut withdrawn = published.clone();
    withdrawn.status = EntryStatus::Withdrawn;
    assert_eq!(pick_searchable_version(&[superseded, withdrawn]), None);
}

#[test]
fn reopen_from_disk_keeps_documents() {
    let dir = tempfile::tempdir().unwrap();
    let docs = corpus();
    let before = {
        let index = SearchIndex::open(dir.path()).unwrap();
        index.upsert(&docs).unwrap();
        index.fingerprints().unwrap()
    };
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.fingerprints().unwrap(), before);
    assert_eq!(index.doc_count().unwrap(), before.len() as u64);
    assert_eq!(find(&index, "人口基础信息")[0].0, "人口基础信息");
    assert_eq!(index.dir(), Some(dir.path()));
}

#[test]
fn another_schema_version_requires_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        index.upsert(&corpus()).unwrap();
    }
    tamper(dir.path(), r#"{"schema_version":0}"#, |_, _| {});
    let err = SearchIndex::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, SearchError::RebuildRequired { found: Some(0), expected: SCHEMA_VERSION }),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::Unavailable);

    // A commit without our payload (another program) is refused too.
    tamper(dir.path(), "", |_, _| {});
    assert!(matches!(SearchIndex::open(dir.path()), Err(SearchError::RebuildRequired { found: None, .. })));

    // recreate refuses a directory that is not an index.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("precious.txt"), "keep me").unwrap();
    assert!(SearchIndex::recreate(other.path()).is_err());
    assert!(other.path().join("precious.txt").exists());

    let index = SearchIndex::recreate(dir.path()).unwrap();
    assert_eq!(index.doc_count().unwrap(), 0);
    let n = index.rebuild(corpus()).unwrap();
    assert_eq!(n as u64, index.doc_count().unwrap());
    drop(index);
    assert!(SearchIndex::open(dir.path()).is_ok());
}

#[test]
fn rebuild_gives_the_same_fingerprints_as_upserts() {
    let docs = corpus();
    let incremental = SearchIndex::in_memory().unwrap();
    for chunk in docs.chunks(5) {
        incremental.upsert(chunk).unwrap();
    }
    let rebuilt = SearchIndex::in_memory().unwrap();
    rebuilt.upsert(&docs[..3]).unwrap();
    let n = rebuilt.rebuild(docs.clone()).unwrap();
    assert_eq!(rebuilt.fingerprints().unwrap(), incremental.fingerprints().unwrap());
    assert_eq!(n, docs.iter().filter(|d| d.visibility().is_some()).count());
    // Rebuilding drops what the new set does not have.
    assert_eq!(rebuilt.rebuild(docs[..2].to_vec()).unwrap(), 2);
    assert_eq!(rebuilt.doc_count().unwrap(), 2);
}

#[test]
fn reconcile_repairs_exactly_the_drift() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = corpus();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        index.upsert(&store).unwrap();
        let report = index.reconcile(store.clone()).unwrap();
        assert!(report.is_clean(), "{report:?}");
    }

    // Behind the index's back: delete two documents with a raw writer.
    let deleted =
        [DocKey::new(ZJ.0, code_of(&store, "人口基础信息")), DocKey::new(HZ.0, code_of(&store, "学籍信息"))];
    tamper(dir.path(), &current_payload(), |index, writer| {
        let key = index.schema().get_field("key").unwrap();
        for k in &deleted {
            writer.delete_term(Term::from_field_text(key, &format!("{}\u{1f}{}", k.node_id, k.code)));
        }
    });
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(find(&index, "人口基础信息").iter().filter(|(n, _)| n == "人口基础信息").count(), 0);

    // The store moved on without the index: a new version of one entry, an
    // entry withdrawn, and an entry the store no longer has at all.
    let changed = {
        let d = store.iter_mut().find(|d| d.entry.metadata.name == "营业执照信息").unwrap();
        d.entry.version = 2;
        d.key()
    };
    let withdrawn = {
        let d = store.iter_mut().find(|d| d.entry.metadata.name == "排污许可证信息").unwrap();
        d.entry.status = EntryStatus::Withdrawn;
        d.key()
    };
    let dropped = {
        let i = store.iter().position(|d| d.entry.metadata.name == "纳税人信息").unwrap();
        store.remove(i).key()
    };
    // A provider renamed: same version, other indexed content.
    let renamed = {
        let d = store.iter_mut().find(|d| d.entry.metadata.name == "不动产登记信息").unwrap();
        d.provider_name = "省自然资源厅（更名）".into();
        d.key()
    };

    let report = index.reconcile(store.clone()).unwrap();
    let mut missing = deleted.to_vec();
    missing.sort();
    assert_eq!(report.missing, missing);
    assert_eq!(report.stale, {
        let mut v = vec![changed, renamed];
        v.sort();
        v
    });
    assert_eq!(report.extra, {
        let mut v = vec![withdrawn, dropped];
        v.sort();
        v
    });
    assert_eq!(report.repaired(), 6);
    let searchable = store.iter().filter(|d| d.visibility().is_some()).count() as u64;
    assert_eq!(report.expected, searchable);

    // Repaired: the index now holds exactly the store's fingerprints.
    let want: std::collections::BTreeMap<(String, String), String> = store
        .iter()
        .filter(|d| d.visibility().is_some())
        .map(|d| ((d.node_id.clone(), d.entry.code.to_string()), d.fingerprint()))
        .collect();
    assert_eq!(index.fingerprints().unwrap(), want);
    assert_eq!(find(&index, "人口基础信息")[0].0, "人口基础信息");
    assert!(find(&index, "排污许可证").is_empty());
    assert_eq!(find(&index, "营业执照信息")[0], ("营业执照信息".to_owned(), 2));

    // A second run finds nothing.
    let again = index.reconcile(store.clone()).unwrap();
    assert!(again.is_clean(), "{again:?}");
    assert_eq!(again.indexed_before, searchable);

    // And survives a restart.
    drop(index);
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(index.reconcile(store).unwrap().is_clean());
}

#[test]
fn reconcile_an_empty_index_adds_everything() {
    let index = SearchIndex::in_memory().unwrap();
    let docs = corpus();
    let report = index.reconcile(docs.clone()).unwrap();
    assert_eq!(report.missing.len() as u64, report.expected);
    assert!(report.stale.is_empty() && report.extra.is_empty());
    let fresh = SearchIndex::in_memory().unwrap();
    fresh.rebuild(docs).unwrap();
    assert_eq!(index.fingerprints().unwrap(), fresh.fingerprints().unwrap());
    // Reconciling against an empty store empties the index.
    let report = index.reconcile(Vec::<SearchDoc>::new()).unwrap();
    assert_eq!(report.extra.len() as u64, report.indexed_before);
    assert_eq!(index.doc_count().unwrap(), 0);
}

#[test]
fn fingerprint_changes_with_indexed_content_only() {
    let docs = corpus();
    let a = doc_named(&docs, "婚姻登记信息").clone();
    assert_eq!(a.fingerprint(), a.clone().fingerprint());
    assert!(a.fingerprint().starts_with("v1-published-"), "{}", a.fingerprint());
    let mut b = a.clone();
    b.entry.metadata.items[0].name = "男方名称".into();
    assert_ne!(a.fingerprint(), b.fingerprint());
    let mut c = a.clone();
    c.node_name = "另一个名字".into();
    assert_ne!(a.fingerprint(), c.fingerprint());
}

#[test]
fn searches_run_while_batches_are_written() {
    let index = Arc::new(SearchIndex::in_memory().unwrap());
    let docs: Vec<SearchDoc> = synthetic(600).collect();
    let writer = {
        let index = Arc::clone(&index);
        let docs = docs.clone();
        std::thread::spawn(move || {
            for chunk in docs.chunks(50) {
                index.upsert(chunk).unwrap();
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let r = index.search(&SearchQuery::text("登记信息"), &Viewer::department(GA.0)).unwrap();
        // Each search sees whole batches, and never fewer than before.
        assert!(r.total >= last);
        last = r.total;
        let b = index.search(&SearchQuery::default(), &reviewer()).unwrap();
        assert_eq!(b.total % 50, 0, "a search saw half a batch");
    }
    writer.join().unwrap();
    assert_eq!(index.doc_count().unwrap(), 600);
}

/// Volume: 10,000 synthetic entries through rebuild and through batched
/// upserts, then a search. No time is asserted; run with `--nocapture` to
/// see it.
#[test]
fn ten_thousand_entries() {
    let index = SearchIndex::in_memory().unwrap();
    let start = Instant::now();
    let n = index.rebuild(synthetic(10_000)).unwrap();
    let rebuilt = start.elapsed();
    assert_eq!(n, 10_000);

    let start = Instant::now();
    let docs: Vec<SearchDoc> = synthetic(10_000).collect();
    for chunk in docs.chunks(1_000) {
        index.upsert(chunk).unwrap();
    }
    let upserted = start.elapsed();
    assert_eq!(index.doc_count().unwrap(), 10_000);

    let start = Instant::now();
    let r = index.search(&SearchQuery::text("不动产 登记"), &Viewer::department(GA.0)).unwrap();
    let searched = start.elapsed();
    assert!(r.total > 0);
    assert!(r.items[0].name.starts_with("不动产登记信息"), "{}", r.items[0].name);
    let start = Instant::now();
    assert!(index.reconcile(docs).unwrap().is_clean());
    let reconciled = start.elapsed();
    println!(
        "10k entries: rebuild {rebuilt:?}, upsert in 10 batches {upserted:?}, search {searched:?}, \
         reconcile {reconciled:?}"
    );
}
