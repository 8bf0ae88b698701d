//! Catalog search: a tantivy index over the catalog, with jieba word
//! segmentation, facets, highlights and visibility rules, kept honest by a
//! reconciler.
//!
//! # A projection, not a store
//!
//! The store is the single source of truth (DESIGN.md §3). This index holds
//! nothing the store does not: every document is derived from a
//! [`SearchDoc`] the caller builds from stored rows, and the whole index can
//! be thrown away and rebuilt ([`SearchIndex::rebuild`]). It is therefore
//! never backed up, never migrated: a schema change bumps
//! [`SCHEMA_VERSION`], [`SearchIndex::open`] refuses the old index with
//! [`SearchError::RebuildRequired`], and the node recreates and rebuilds it.
//!
//! What is indexed per entry is **one version**, the searchable one
//! ([`pick_searchable_version`]): the published version if there is one,
//! else the open (unpublished) one. Superseded, withdrawn and discarded
//! versions are never indexed.
//!
//! # Who sees what
//!
//! Visibility is derived from the entry, never passed in ([`Visibility`]),
//! and enforced inside the query, so totals, pages and facet counts only
//! ever count what the viewer may see ([`Viewer`]):
//!
//! | entry | anonymous (open data) | government user of dept D | reviewer / data authority |
//! |---|---|---|---|
//! | published, open type 无条件/有条件开放 | yes | yes | yes |
//! | published, 不予开放 | no | yes | yes |
//! | draft / submitted / returned / approved of dept D | no | yes | yes |
//! | the same, of another department | no | no | yes |
//! | superseded / withdrawn / discarded | no | no | no (not indexed) |
//!
//! # Schema ([`SCHEMA_VERSION`] 3)
//!
//! | field | kind | what |
//! |---|---|---|
//! | `key` | raw, fast | `node_id` U+001F `code`: identity; upserts replace by it |
//! | `fingerprint` | fast | [`SearchDoc::fingerprint`]: what the reconciler compares |
//! | `updated_at` | i64 fast | µs since the epoch: recency sort and tie-break |
//! | `audience` | raw, multi | `government`, `open_data`, `department:<id>` |
//! | `text` | jieba text, freqs | all the text: name, keywords, item names, provider, classification, summary; what query words match |
//! | `name` (+4×), `keywords` (+2×) | jieba text, freqs | again on their own: a whole query word found there ranks the entry higher |
//! | `f_<facet>` | raw | filter on a facet value |
//! | `c_provider`, `c_attributes` | fast | facet counts: each packs one or more facets' `value` U+001F `label`, joined by U+001E (`c_provider` the provider, its node and the node's region; `c_attributes` the seven closed-vocabulary facets), so counting reads two columns per match, not ten |
//! | `stored` | stored bytes | JSON of what a hit shows, and the texts highlights are cut from |
//!
//! Facets ([`Facet`]): provider, class, share_type, open_type, grade,
//! update_cycle, format_class, region, node, status. `classification` holds
//! the 类 label, the 分类码 and the resource code, so a code typed into the
//! search box finds its entry. Nothing else is stored: the entry page reads
//! the store.
//!
//! # Text search
//!
//! Documents are segmented with jieba's search mode (every word plus the
//! dictionary 2- and 3-character words inside it, so 人口基础信息 is found
//! by 人口), queries with its default mode (the words a person typed).
//! Punctuation is dropped, Latin letters lower-cased, and function words
//! (的, 和, 与…) dropped from queries. Each query word must match, through
//! the word itself, smaller words that together spell it (for a document
//! segmented differently), or a known abbreviation (社保 ↔ 社会保险, 医保,
//! 公积金, 低保…). Words are matched in the one `text` field, so each is a
//! single term (or the intersection of its parts') and a query is the
//! intersection of those: at 3 million entries a broad word matches
//! hundreds of thousands, and a union over six fields per term cost several
//! times more. The score is the BM25 of the matched terms in `text`, plus
//! 4× the BM25 of a whole word (or its abbreviation) in the name and 2× in
//! the keywords. An empty `q` lists everything visible, newest first.
//!
//! Highlights wrap the matched whole words in `<mark>` (adjacent ones as
//! one) and HTML-escape the rest; a hit that matched only through the parts
//! of a word gets the parts marked.
//!
//! The jieba adapter is our own (60 lines) rather than the `tantivy-jieba`
//! crate: that one matches tantivy 0.27, but keeps punctuation and spaces as
//! tokens, does not lower-case, and uses character offsets as positions.
//!
//! # How a search runs
//!
//! 0. **Its turn**: searches run on the index's own pool, one thread per
//!    core by default (`catalog.search_threads`), in arrival order; the
//!    caller waits. Queued, a search runs alone on its core once its turn
//!    comes, so its latency is the queue ahead plus its own cost — where
//!    sharing the cores with every other search made the dearest ones wait
//!    for all of them.
//! 1. **What matches**, per segment, as bitsets (`constraint.rs`): the
//!    words' matches (a word is its alternatives ORed, an alternative its
//!    terms ANDed), ANDed with the visibility terms and the selected facet
//!    values. Dense terms' bitsets (audiences, closed-vocabulary values,
//!    common words) are kept per segment; sparse ones are read from their
//!    postings.
//! 2. **Counts**: the total and the facets without a selected value walk
//!    those bits, reading the facet columns a block at a time — except that
//!    over a set holding an eighth of a segment or more, the seven
//!    closed-vocabulary facets are counted by value, one popcount of the
//!    set ANDed with each value's documents; each facet with a selected
//!    value is counted over the words' matches ANDed with every filter but
//!    its own (multi-select facets), without evaluating the text again.
//! 3. **The page** (`rank.rs`): the matches are scored term by term —
//!    per word, the BM25 in `text` of every alternative the document holds
//!    whole, plus 4× a whole word's BM25 in the name and 2× in the keywords,
//!    what a boolean query of that shape scores (a test holds the two
//!    together) — with one forward-only cursor per term, and the best kept
//!    in a heap. By relevance, first only the matches that hold a whole
//!    query word in a boosted field: any other match scores at most the sum
//!    of its words' terms' peaks (each term's largest score in any
//!    document, from the largest term frequency per field length, kept per
//!    segment), so when the page found there ends above that sum, it is the
//!    page over all matches and the rest are never scored. Otherwise, and
//!    when sorting by recency, every match is scored. Either way, once the
//!    page is full, a match's terms are scored largest peak first, and it
//!    is dropped as soon as what it has scored plus the peaks of its other
//!    terms falls below the page's last score (MaxScore): the commonest
//!    terms, with the lowest peaks and the longest postings, are mostly
//!    never sought. A proptest holds every score to the boolean query's and
//!    every drop to a score below the floor; another holds short first
//!    pages to the start of long ones.
//! 4. **Highlights** for the page's hits only.
//!
//! # Writes and concurrency
//!
//! One writer (an internal lock), one commit per [`SearchIndex::upsert`]
//! batch: callers batch (the outbox consumer applies what it drained in one
//! call). Each commit reloads the reader before returning (read your
//! writes); a search runs on the snapshot it started with, so it never sees
//! half a batch. All methods block: call them from a blocking pool.
//!
//! # The reconciler contract
//!
//! Index drift — an entry the catalog has but search does not find, or a
//! withdrawn entry still found — is the most common complaint about
//! existing catalog systems. Here it cannot go unnoticed:
//!
//! 1. Every indexed document carries the fingerprint of exactly what was
//!    indexed (entry version, status, timestamp and a hash of all indexed
//!    content, plus the schema version).
//! 2. [`SearchIndex::reconcile`] takes what the store says should be
//!    indexed — one [`SearchDoc`] per entry, chosen with
//!    [`pick_searchable_version`] — and compares fingerprints: missing
//!    documents are added, stale ones replaced, extra ones deleted, in one
//!    commit. The [`ReconcileReport`] names every key repaired; any repair is
//!    logged at `warn` ("search index drift repaired"), since it means a write
//!    path skipped the index. A second run right after reports nothing.
//! 3. The node runs it at start-up and periodically, and exports the report
//!    counts as metrics; an operator can run it on demand. Tests assert that
//!    a clean store-to-index path leaves it clean.
//!
//! The caller must take the store snapshot after applying the index events
//! it knows of, from the task that applies them (the reconciler holds the
//! write lock while it works, but cannot know about events still in
//! flight). A snapshot that raced an event is repaired by the next run.
//!
//! [`SearchIndex::rebuild`] is the blunt instrument: drop everything and
//! index the store again, atomically (searches see the old index until the
//! new one is committed). It yields the same fingerprints as incremental
//! upserts of the same documents.

mod constraint;
mod doc;
mod error;
mod facets;
mod index;
mod kept;
mod query;
mod rank;
mod schema;
mod tokenizer;

pub use doc::{grade_value, pick_searchable_version, DocKey, Facet, SearchDoc, Viewer, Visibility};
pub use error::SearchError;
pub use index::{ReconcileReport, SearchIndex};
pub use query::{
    FacetCount, Filters, Hit, SearchQuery, SearchResults, Sort, MAX_FACET_VALUES, MAX_PAGE_SIZE,
    MAX_QUERY_CHARS, MAX_RESULT_WINDOW,
};

/// Version of the index schema, the tokenizer and the fingerprint. Bump it
/// on any change to what is indexed or how: an index written with another
/// version is refused ([`SearchError::RebuildRequired`]) and rebuilt.
pub const SCHEMA_VERSION: u32 = 3;
