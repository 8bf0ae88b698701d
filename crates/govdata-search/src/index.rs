//! [`SearchIndex`]: writing, searching and reconciling the index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, TantivyDocument, Term,
};
use tracing::{debug, info, warn};

use crate::constraint::{allowed_sets, count_sets, narrowed, word_matches, SegmentSets, TermBits};
use crate::doc::{DocKey, Facet, SearchDoc, Viewer};
use crate::facets::{FacetCollector, FacetVocabulary};
use crate::query::{Hit, SearchQuery, SearchResults, Sort};
use crate::rank::{rank, Scoring, TermPeaks, BOUND_MARGIN};
use crate::schema::{
    audience_department, build_schema, to_document, Fields, StoredHit, AUDIENCE_GOVERNMENT,
    AUDIENCE_OPEN_DATA, HIGHLIGHT_FIELDS,
};
use crate::tokenizer::{query_words, JiebaTokenizer, QueryWord, TOKENIZER_NAME};
use crate::{SearchError, SCHEMA_VERSION};

/// Memory the writer may buffer before it flushes a segment (tantivy's
/// minimum is 15 MB per indexing thread).
const WRITER_MEMORY_BYTES: usize = 48_000_000;
/// One indexing thread: the catalog is small next to what tantivy is built
/// for, and the node has other work for its cores.
const WRITER_THREADS: usize = 1;

/// What every commit records as its payload, and `open` checks.
#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    schema_version: u32,
}

/// What [`SearchIndex::reconcile`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconcileReport {
    /// Searchable documents the store says the index should hold.
    pub expected: u64,
    /// Documents the index held before the repair.
    pub indexed_before: u64,
    /// In the store, not in the index: added.
    pub missing: Vec<DocKey>,
    /// In both, with another fingerprint: replaced.
    pub stale: Vec<DocKey>,
    /// In the index, not in the store (or no longer searchable): deleted.
    pub extra: Vec<DocKey>,
}

impl ReconcileReport {
    /// True when the index already matched the store.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty() && self.extra.is_empty()
    }

    /// Number of documents added, replaced or deleted.
    pub fn repaired(&self) -> usize {
        self.missing.len() + self.stale.len() + self.extra.len()
    }
}

/// The catalog search index. Cheap to share (`Arc<SearchIndex>`): searches
/// run concurrently on snapshots; writes are serialized by an internal lock.
/// All methods block (disk I/O, CPU): call them from a blocking pool, not
/// an async task.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: Option<PathBuf>,
    facet_vocabulary: FacetVocabulary,
    term_bits: TermBits,
    term_peaks: TermPeaks,
    /// Where searches run: a fixed pool, fed in arrival order (see
    /// [`SearchIndex::search`]).
    search_pool: rayon::ThreadPool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn search_pool(threads: usize) -> Result<rayon::ThreadPool, SearchError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("search-{i}"))
        .build()
        .map_err(|e| SearchError::Io(std::io::Error::other(e)))
}

fn register_tokenizer(index: &Index) {
    index.tokenizers().register(TOKENIZER_NAME, TextAnalyzer::builder(JiebaTokenizer).build());
}

fn payload_json() -> String {
    // Serializing a one-field struct cannot fail.
    serde_json::to_string(&CommitPayload { schema_version: SCHEMA_VERSION }).unwrap_or_default()
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (and the directory) when there
    /// is none. The directory must be the index's own. Fails with
    /// [`SearchError::RebuildRequired`] when the index there was written
    /// with another schema version; then [`SearchIndex::recreate`] and
    /// [`SearchIndex::rebuild`].
    ///
    /// One process per directory: tantivy locks it for the writer.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = build_schema();
        let exists = dir.join("meta.json").exists();
        let index = if exists {
            let index = Index::open_in_dir(dir)?;
            let found = index
                .load_metas()?
                .payload
                .and_then(|p| serde_json::from_str::<CommitPayload>(&p).ok())
                .map(|p| p.schema_version);
            if found != Some(SCHEMA_VERSION) || index.schema() != schema {
                return Err(SearchError::RebuildRequired { found, expected: SCHEMA_VERSION });
            }
            index
        } else {
            Index::create_in_dir(dir, schema)?
        };
        let this = Self::from_index(index, fields, Some(dir.to_path_buf()))?;
        if !exists {
            this.commit(&mut this.lock_writer())?;
            info!(dir = %dir.display(), schema_version = SCHEMA_VERSION, "created search index");
        }
        Ok(this)
    }

    /// Deletes whatever index is in `dir` and creates an empty one, to be
    /// filled by [`SearchIndex::rebuild`]. For a schema change or a
    /// corrupt index: the store has everything the index held.
    ///
    /// Refuses a directory that is neither empty nor a tantivy index, so
    /// that a misconfigured path cannot delete other data.
    pub fn recreate(dir: &Path) -> Result<Self, SearchError> {
        if dir.exists() {
            let empty = std::fs::read_dir(dir)?.next().is_none();
            if !empty && !dir.join("meta.json").exists() {
                return Err(SearchError::Io(std::io::Error::other(format!(
                    "{} is not a search index directory; not deleting it",
                    dir.display()
                ))));
            }
            warn!(dir = %dir.display(), "deleting the search index to recreate it");
            std::fs::remove_dir_all(dir)?;
        }
        Self::open(dir)
    }

    /// An index in memory, for tests and tools.
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = build_schema();
        let index = Index::create_in_ram(schema);
        let this = Self::from_index(index, fields, None)?;
        this.commit(&mut this.lock_writer())?;
        Ok(this)
    }

    fn from_index(index: Index, fields: Fields, dir: Option<PathBuf>) -> Result<Self, SearchError> {
        register_tokenizer(&index);
        let writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)?;
        // Manual reload: every commit below reloads before returning, so a
        // caller that wrote reads its write; searches in flight keep the
        // snapshot (`Searcher`) they started with, so concurrent searches
        // never see a half-applied batch.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            dir,
            facet_vocabulary: FacetVocabulary::default(),
            term_bits: TermBits::default(),
            term_peaks: TermPeaks::default(),
            search_pool: search_pool(std::thread::available_parallelism().map_or(1, |n| n.get()))?,
        })
    }

    /// Runs at most `threads` searches at once (by default one per core).
    pub fn with_search_threads(mut self, threads: usize) -> Result<Self, SearchError> {
        self.search_pool = search_pool(threads)?;
        Ok(self)
    }

    fn lock_writer(&self) -> MutexGuard<'_, IndexWriter> {
        // A panic while holding the lock leaves uncommitted operations at
        // worst; the next commit or rollback settles them.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn commit(&self, writer: &mut IndexWriter) -> Result<(), SearchError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload_json());
        prepared.commit()?;
        self.reader.reload()?;
        let live: Vec<_> = self.reader.searcher().segment_readers().iter().map(|r| r.segment_id()).collect();
        self.facet_vocabulary.retain_segments(&live);
        self.term_bits.retain_segments(&live);
        self.term_peaks.retain_segments(&live);
        Ok(())
    }

    /// Applies `f` to the writer and commits; on error, rolls back so that a
    /// batch applies whole or not at all.
    fn write<T>(
        &self,
        f: impl FnOnce(&IndexWriter, &Fields) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        let mut writer = self.lock_writer();
        let result = f(&writer, &self.fields).and_then(|t| self.commit(&mut writer).map(|()| t));
        if result.is_err() {
            if let Err(e) = writer.rollback() {
                warn!(error = %e, "search index rollback failed");
            }
        }
        result
    }

    fn key_term(&self, key: &DocKey) -> Term {
        Term::from_field_text(self.fields.key, &key.encode())
    }

    /// Adds or replaces documents, one commit for the whole batch (callers
    /// batch: a commit costs an fsync and a segment). A document replaces
    /// the one with the same node and code. One that is not searchable
    /// (superseded, withdrawn, discarded) removes its key from the index.
    /// When a key occurs more than once, the last one wins.
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.write(|writer, fields| {
            for doc in docs {
                writer.delete_term(self.key_term(&doc.key()));
                if let Some(d) = to_document(fields, doc) {
                    writer.add_document(d)?;
                }
            }
            Ok(())
        })?;
        debug!(docs = docs.len(), "search index upsert");
        Ok(())
    }

    /// Removes entries by key, one commit; absent keys are ignored.
    pub fn remove(&self, keys: &[DocKey]) -> Result<(), SearchError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write(|writer, _| {
            for key in keys {
                writer.delete_term(self.key_term(key));
            }
            Ok(())
        })
    }

    /// Number of documents in the index.
    pub fn doc_count(&self) -> Result<u64, SearchError> {
        Ok(self.reader.searcher().num_docs())
    }

    /// The directory of an on-disk index.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// What the index holds: (node id, code) → fingerprint, read from the
    /// fast columns of every live document.
    pub fn fingerprints(&self) -> Result<BTreeMap<(String, String), String>, SearchError> {
        Ok(self
            .fingerprints_by_key(&self.reader.searcher())?
            .into_iter()
            .map(|(k, fp)| ((k.node_id, k.code), fp))
            .collect())
    }

    fn fingerprints_by_key(&self, searcher: &Searcher) -> Result<BTreeMap<DocKey, String>, SearchError> {
        let mut out = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let fast = segment.fast_fields();
            let (Some(keys), Some(fps)) = (fast.str("key")?, fast.str("fingerprint")?) else {
                continue;
            };
            let (mut key, mut fp) = (String::new(), String::new());
            for doc in segment.doc_ids_alive() {
                let (Some(k), Some(f)) = (keys.term_ords(doc).next(), fps.term_ords(doc).next()) else {
                    return Err(SearchError::Corrupt(format!("document {doc} without key or fingerprint")));
                };
                key.clear();
                fp.clear();
                keys.ord_to_str(k, &mut key)?;
                fps.ord_to_str(f, &mut fp)?;
                let key = DocKey::decode(&key).ok_or_else(|| SearchError::Corrupt(format!("key {key:?}")))?;
                if out.insert(key.clone(), fp.clone()).is_some() {
                    return Err(SearchError::Corrupt(format!("{key} indexed twice")));
                }
            }
        }
        Ok(out)
    }

    /// Drops every document and indexes `all`, in one commit: searches see
    /// the old index until the new one is complete. Returns the number of
    /// documents indexed (searchable versions, one per key).
    pub fn rebuild(&self, all: impl IntoIterator<Item = SearchDoc>) -> Result<usize, SearchError> {
        let start = std::time::Instant::now();
        self.write(|writer, fields| {
            writer.delete_all_documents()?;
            for doc in all {
                // Deletes apply to earlier operations of the same batch, so
                // a repeated key keeps only its last document.
                writer.delete_term(self.key_term(&doc.key()));
                if let Some(d) = to_document(fields, &doc) {
                    writer.add_document(d)?;
                }
            }
            Ok(())
        })?;
        let count = self.doc_count()?;
        info!(docs = count, elapsed_ms = start.elapsed().as_millis() as u64, "rebuilt search index");
        Ok(count as usize)
    }

    /// Compares the index with what the store says it should hold and
    /// repairs the difference in one commit: adds what is missing, replaces
    /// what is stale (another fingerprint), deletes what is extra. `expected`
    /// is one [`SearchDoc`] per entry, chosen by
    /// [`crate::pick_searchable_version`]; versions that are not searchable
    /// count as absent. Any repair is logged as a warning: drift means a
    /// write path missed the index, which is a bug to find.
    ///
    /// Holds the write lock throughout, so upserts wait; the caller takes
    /// the store snapshot after it has applied the events it knows of (see
    /// the crate docs).
    pub fn reconcile(
        &self,
        expected: impl IntoIterator<Item = SearchDoc>,
    ) -> Result<ReconcileReport, SearchError> {
        let start = std::time::Instant::now();
        let mut writer = self.lock_writer();
        // Every commit reloads the reader, and we hold the writer: this
        // snapshot is the index's committed state.
        self.reader.reload()?;
        let indexed = self.fingerprints_by_key(&self.reader.searcher())?;

        // Per expected key: its fingerprint, and the document when the index
        // needs it (missing or stale), so memory grows with the drift only.
        let mut wanted: BTreeMap<DocKey, (String, Option<SearchDoc>)> = BTreeMap::new();
        for doc in expected {
            let key = doc.key();
            if doc.visibility().is_none() {
                wanted.remove(&key);
                continue;
            }
            let fp = doc.fingerprint();
            let doc = (indexed.get(&key) != Some(&fp)).then_some(doc);
            wanted.insert(key, (fp, doc));
        }

        let mut report = ReconcileReport {
            expected: wanted.len() as u64,
            indexed_before: indexed.len() as u64,
            ..ReconcileReport::default()
        };
        let mut to_add = Vec::new();
        for (key, (fp, doc)) in wanted.iter_mut() {
            match indexed.get(key) {
                None => report.missing.push(key.clone()),
                Some(have) if have != fp => report.stale.push(key.clone()),
                Some(_) => continue,
            }
            if let Some(doc) = doc.take() {
                to_add.push(doc);
            }
        }
        let wanted_keys: BTreeSet<&DocKey> = wanted.keys().collect();
        report.extra = indexed.keys().filter(|k| !wanted_keys.contains(k)).cloned().collect();

        if !report.is_clean() {
            let result = (|| {
                for key in report.stale.iter().chain(&report.extra) {
                    writer.delete_term(self.key_term(key));
                }
                for doc in &to_add {
                    if let Some(d) = to_document(&self.fields, doc) {
                        writer.add_document(d)?;
                    }
                }
                self.commit(&mut writer)
            })();
            if let Err(e) = result {
                if let Err(rollback) = writer.rollback() {
                    warn!(error = %rollback, "search index rollback failed");
                }
                return Err(e);
            }
            warn!(
                missing = report.missing.len(),
                stale = report.stale.len(),
                extra = report.extra.len(),
                first = ?report.missing.iter().chain(&report.stale).chain(&report.extra).take(10).collect::<Vec<_>>(),
                "search index drift repaired: the index did not match the store"
            );
        } else {
            info!(
                docs = report.expected,
                elapsed_ms = start.elapsed().as_millis() as u64,
                "search index matches the store"
            );
        }
        Ok(report)
    }

    /// Searches as `viewer`: only entries the viewer may see are counted,
    /// listed or faceted.
    ///
    /// The search runs on the index's search pool, in arrival order, and
    /// the caller waits for it. A search is CPU work on data in memory:
    /// with more of them running than cores, the cores are shared between
    /// them and each — the dearest most of all — takes as long as all of
    /// them together. Queued instead, a search waits for those before it
    /// and then runs alone on its core: the latency is bounded by the
    /// queue ahead plus its own cost, and the pool's threads go from one
    /// search to the next without a wake-up. Elasticsearch's fixed
    /// `search` thread pool does the same.
    pub fn search(&self, query: &SearchQuery, viewer: &Viewer) -> Result<SearchResults, SearchError> {
        query.validate()?;
        self.search_pool.install(|| self.run_search(query, viewer))
    }

    fn run_search(&self, query: &SearchQuery, viewer: &Viewer) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let words = query_words(&query.q);
        let visibility = self.visibility_terms(viewer);
        let filters: Vec<(Facet, Vec<Term>)> =
            query.filters.active().map(|f| (f, self.filter_terms(f, query.filters.values(f)))).collect();
        let constraints = |except: Option<Facet>| -> Vec<Vec<Term>> {
            visibility
                .iter()
                .cloned()
                .chain(filters.iter().filter(|(f, _)| Some(*f) != except).map(|(_, terms)| terms.clone()))
                .collect()
        };

        // Counts from bitsets: the words' matches once, then per count
        // (the total and the facets without a selected value; each facet
        // with one, with every filter but its own) the constraints ANDed in.
        let word_terms: Vec<Vec<Vec<Term>>> = words
            .iter()
            .map(|w| {
                w.alternatives
                    .iter()
                    .map(|terms| terms.iter().map(|t| Term::from_field_text(self.fields.text, t)).collect())
                    .collect()
            })
            .collect();
        let matched = word_matches(&self.term_bits, &searcher, &word_terms)?;
        let allowed =
            |except: Option<Facet>| allowed_sets(&self.term_bits, &searcher, &matched, &constraints(except));
        let (selected, unselected): (Vec<Facet>, Vec<Facet>) =
            Facet::ALL.into_iter().partition(|f| !query.filters.values(*f).is_empty());
        let count = |sets: &SegmentSets, facets: Vec<Facet>| {
            count_sets(&self.term_bits, &searcher, sets, &FacetCollector::new(facets, &self.facet_vocabulary))
        };
        let results = allowed(None)?;
        let (total, mut fruit) = count(&results, unselected)?;
        for facet in selected {
            fruit.extend(count(&allowed(Some(facet))?, vec![facet])?.1);
        }

        let offset = ((query.page - 1) * query.size) as usize;
        let scoring = (!words.is_empty())
            .then(|| Scoring::new(&searcher, &word_terms, &self.boost_terms(&words), &self.term_peaks))
            .transpose()?;
        let best =
            self.best(&searcher, scoring.as_ref(), &results, query.sort, offset + query.size as usize)?;
        let hits = best.into_iter().skip(offset);

        // Highlights mark the whole words; a hit that matched only through
        // parts of a word gets the parts marked instead.
        let (whole, parts) = if words.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let all_terms = words.iter().flat_map(|w| w.alternatives.iter().flatten());
            (
                self.snippet_generators(&searcher, whole_words(&words))?,
                self.snippet_generators(&searcher, all_terms)?,
            )
        };
        let mut items = Vec::with_capacity(hits.len());
        for (score, addr) in hits {
            items.push(self.hit(&searcher, addr, score, [&whole, &parts])?);
        }
        Ok(SearchResults { total, items, facets: self.facet_vocabulary.facet_counts(fruit) })
    }

    /// The best `limit` matches, best first, with their scores.
    ///
    /// By relevance, first among the matches that hold a whole query word
    /// in a boosted field (name, keywords) — usually a small part of them:
    /// any other match scores at most the sum of its words' terms' largest
    /// BM25 scores, so when the last of those found scores above that, they
    /// are the best of all and the other matches need no scoring. Otherwise
    /// every match is scored.
    fn best(
        &self,
        searcher: &Searcher,
        scoring: Option<&Scoring>,
        results: &SegmentSets,
        sort: Sort,
        limit: usize,
    ) -> Result<Vec<(Score, DocAddress)>, SearchError> {
        if let (Sort::Relevance, Some(scoring)) = (sort, scoring) {
            let boosted: Vec<Term> = scoring.boosted_terms().cloned().collect();
            let hits = rank(
                searcher,
                Some(scoring),
                &narrowed(&self.term_bits, searcher, results, &boosted)?,
                sort,
                limit,
            )?;
            let ceiling = scoring.unboosted_ceiling(searcher)?;
            // Scores and the ceiling are sums of f32 in different orders.
            if hits.len() == limit && hits.last().is_some_and(|(score, _)| *score > ceiling * BOUND_MARGIN) {
                return Ok(hits);
            }
        }
        Ok(rank(searcher, scoring, results, sort, limit)?)
    }

    /// What ranks a match higher: each whole word (or its abbreviation) in
    /// a boosted field (name, keywords), with the field's weight.
    fn boost_terms(&self, words: &[QueryWord]) -> Vec<(Term, Score)> {
        whole_words(words)
            .flat_map(|word| {
                self.fields
                    .boosted
                    .iter()
                    .map(move |(field, boost)| (Term::from_field_text(*field, word), *boost))
            })
            .collect()
    }

    /// The audience terms a document must have one of; `None` when the
    /// viewer sees every indexed document.
    fn visibility_terms(&self, viewer: &Viewer) -> Option<Vec<Term>> {
        if viewer.sees_all_unpublished {
            return None;
        }
        let terms = match &viewer.department_id {
            Some(dept) => vec![AUDIENCE_GOVERNMENT.to_owned(), audience_department(dept)],
            None => vec![AUDIENCE_OPEN_DATA.to_owned()],
        };
        Some(terms.iter().map(|t| Term::from_field_text(self.fields.audience, t)).collect())
    }

    fn filter_terms(&self, facet: Facet, values: &[String]) -> Vec<Term> {
        let field = self.fields.filters.iter().find(|(f, _)| *f == facet).map(|(_, field)| *field);
        let field = field.expect("every facet has a filter field");
        values.iter().map(|v| Term::from_field_text(field, v)).collect()
    }

    /// A highlighter per highlighted field for `terms`, each weighted by
    /// its rarity (as tantivy's own generator does); terms no document
    /// holds are left out.
    fn snippet_generators<'t>(
        &self,
        searcher: &Searcher,
        terms: impl IntoIterator<Item = &'t String>,
    ) -> Result<Vec<(&'static str, SnippetGenerator)>, SearchError> {
        let mut weighted = BTreeMap::new();
        for term in terms {
            let doc_freq = searcher.doc_freq(&Term::from_field_text(self.fields.text, term))?;
            if doc_freq > 0 {
                weighted.insert(term.clone(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        let tokenizer = self.index.tokenizer_for_field(self.fields.text)?;
        Ok(HIGHLIGHT_FIELDS
            .iter()
            .map(|(name, max_bytes)| {
                let generator =
                    SnippetGenerator::new(weighted.clone(), tokenizer.clone(), self.fields.text, *max_bytes);
                (*name, generator)
            })
            .collect())
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: Score,
        generator_sets: [&[(&'static str, SnippetGenerator)]; 2],
    ) -> Result<Hit, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let bytes = doc
            .get_first(self.fields.stored)
            .and_then(|v| tantivy::schema::Value::as_bytes(&v))
            .ok_or_else(|| SearchError::Corrupt("document without stored data".to_owned()))?;
        let s: StoredHit = serde_json::from_slice(bytes).map_err(|e| SearchError::Corrupt(e.to_string()))?;
        let mut highlights = BTreeMap::new();
        for generators in generator_sets {
            for (name, generator) in generators {
                let text = match *name {
                    "name" => &s.name,
                    "summary" => &s.summary,
                    "keywords" => &s.keywords,
                    "items" => &s.items,
                    _ => &s.provider_name,
                };
                let mut snippet = generator.snippet(text);
                if !snippet.highlighted().is_empty() {
                    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                    // Adjacent words marked as one: `<mark>统一社会信用代码</mark>`.
                    // The text between is escaped, so it cannot contain the tags.
                    highlights.insert((*name).to_owned(), snippet.to_html().replace("</mark><mark>", ""));
                }
            }
            if !highlights.is_empty() {
                break;
            }
        }
        Ok(Hit {
            code: s.code,
            version: s.version,
            name: s.name,
            summary: s.summary,
            provider_id: s.provider_id,
            provider_name: s.provider_name,
            node_id: s.node_id,
            node_name: s.node_name,
            status: s.status,
            share_type: s.share_type,
            open_type: s.open_type,
            grade: s.grade,
            updated_at: s.updated_at,
            score,
            highlights,
        })
    }
}

/// The whole words of a query (and their abbreviations), without the
/// parts: what ranks a name or keyword match higher, and what highlights
/// mark first, so that `社保` marks `社会保险` and not every `社会` and `保险`.
fn whole_words(words: &[QueryWord]) -> impl Iterator<Item = &String> {
    words.iter().flat_map(|w| w.alternatives.iter().filter(|a| a.len() == 1)).map(|a| &a[0])
}
