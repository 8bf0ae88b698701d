//! What a search matches, as one bitset per segment: the query words'
//! matches ANDed with the constraints (who may see a document, the
//! selected facet values). Counting and faceting walk these bits; ranking
//! intersects them with the scored text query ([`ConstrainedQuery`]).
//!
//! A word matches through any of its alternatives, an alternative through
//! all of its terms; a constraint is a set of terms a document must hold
//! one of (a department sees `government` or `department:<id>`; two
//! selected regions). All of it is bitset algebra over the terms' posting
//! lists. As clauses of one boolean query, every match had paid a seek into
//! each of the other lists (four for 统一社会信用代码, one more into the
//! dense `government` or `open_data` list), and a union of lists answered
//! a seek by refilling a window from all of them; and the facet counts of
//! a selected facet, counted without its own filter, had evaluated the
//! whole query again. Here the words' matches are computed once per
//! search, and each count ANDs its own constraints into them.
//!
//! The bitsets of dense terms (at least one document in
//! [`DENSE_DIVISOR`]: audiences, closed-vocabulary values, common words)
//! are kept per segment ([`TermBits`]), within [`MAX_KEPT_BYTES`]:
//! segments never change, and building one means reading the whole posting
//! list. Sparse terms are read from their postings per search, which costs
//! their length only.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::query::{
    intersect_scorers, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, Term, TERMINATED};

use crate::facets::{FacetCollector, FacetFruit};

/// A term is dense, and its bitset worth keeping, when at least one
/// document in this many holds it: its bitset is then at most 64 bits per
/// posting, smaller than the posting list's decoded form.
const DENSE_DIVISOR: u32 = 64;

/// Memory the kept bitsets may take: an eighth of a byte per document per
/// term, so at 3 million documents about 340 terms. Past it the cache
/// starts over (the audiences and facet values are rebuilt on the next
/// searches that need them).
const MAX_KEPT_BYTES: usize = 128 << 20;

/// Dense terms' bitsets per segment, built on the first search that needs
/// them.
#[derive(Default)]
pub(crate) struct TermBits {
    kept: Mutex<Kept>,
}

/// Per segment and term: one bit per document; and the bytes they take.
#[derive(Default)]
struct Kept {
    bits: HashMap<(SegmentId, Term), Arc<Vec<u64>>>,
    bytes: usize,
}

impl fmt::Debug for TermBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.lock();
        f.debug_struct("TermBits").field("kept", &kept.bits.len()).field("bytes", &kept.bytes).finish()
    }
}

impl TermBits {
    fn lock(&self) -> MutexGuard<'_, Kept> {
        // Entries are inserted whole; a panic elsewhere leaves the map usable.
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the bitsets of segments no longer searched (after a commit).
    pub fn retain_segments(&self, live: &[SegmentId]) {
        let mut kept = self.lock();
        kept.bits.retain(|(segment, _), _| live.contains(segment));
        kept.bytes = kept.bits.values().map(|b| b.len() * 8).sum();
    }

    /// The kept bitset of `term` when it is dense in the segment (built on
    /// first use), `None` when it is sparse.
    fn dense(&self, reader: &SegmentReader, term: &Term) -> tantivy::Result<Option<Arc<Vec<u64>>>> {
        let inverted = reader.inverted_index(term.field())?;
        let Some(info) = inverted.get_term_info(term)? else { return Ok(None) };
        if info.doc_freq < reader.max_doc() / DENSE_DIVISOR {
            return Ok(None);
        }
        let key = (reader.segment_id(), term.clone());
        if let Some(bits) = self.lock().bits.get(&key) {
            return Ok(Some(bits.clone()));
        }
        let mut bits = vec![0u64; words_for(reader)];
        or_postings(reader, term, &mut bits)?;
        let bits = Arc::new(bits);
        let mut kept = self.lock();
        if kept.bytes + bits.len() * 8 > MAX_KEPT_BYTES {
            kept.bits.clear();
            kept.bytes = 0;
        }
        if kept.bits.insert(key, bits.clone()).is_none() {
            kept.bytes += bits.len() * 8;
        }
        Ok(Some(bits))
    }
}

/// Words of a bitset over the segment's documents.
fn words_for(reader: &SegmentReader) -> usize {
    reader.max_doc().div_ceil(64) as usize
}

/// ORs `term`'s postings into `words`, a block at a time.
fn or_postings(reader: &SegmentReader, term: &Term, words: &mut [u64]) -> tantivy::Result<()> {
    let inverted = reader.inverted_index(term.field())?;
    let Some(mut block) = inverted.read_block_postings(term, IndexRecordOption::Basic)? else {
        return Ok(());
    };
    while !block.docs().is_empty() {
        for doc in block.docs() {
            words[(doc / 64) as usize] |= 1u64 << (doc % 64);
        }
        block.advance();
    }
    Ok(())
}

/// The documents of a segment that hold one of `terms`: a dense term's
/// kept bitset itself when it is the only one.
fn any_of(bits: &TermBits, reader: &SegmentReader, terms: &[Term]) -> tantivy::Result<Arc<Vec<u64>>> {
    if let [term] = terms {
        if let Some(kept) = bits.dense(reader, term)? {
            return Ok(kept);
        }
    }
    let mut words = vec![0u64; words_for(reader)];
    for term in terms {
        match bits.dense(reader, term)? {
            Some(kept) => words.iter_mut().zip(kept.iter()).for_each(|(w, k)| *w |= k),
            None => or_postings(reader, term, &mut words)?,
        }
    }
    Ok(Arc::new(words))
}

/// The documents of a segment that satisfy every constraint, or `None`
/// when there are no constraints.
fn constraint_bits(
    bits: &TermBits,
    reader: &SegmentReader,
    constraints: &[Vec<Term>],
) -> tantivy::Result<Option<Arc<Vec<u64>>>> {
    let mut all: Option<Arc<Vec<u64>>> = None;
    for terms in constraints {
        all = Some(and(all, any_of(bits, reader, terms)?));
    }
    Ok(all)
}

/// `so_far` (when there is one) ANDed with `more`.
fn and(so_far: Option<Arc<Vec<u64>>>, more: Arc<Vec<u64>>) -> Arc<Vec<u64>> {
    match so_far {
        None => more,
        Some(so_far) => {
            let mut both = Arc::unwrap_or_clone(so_far);
            both.iter_mut().zip(more.iter()).for_each(|(a, b)| *a &= b);
            Arc::new(both)
        }
    }
}

/// Per segment, the documents the query words match as bitsets (`None`
/// for no words: every document). A word is its alternatives ORed, an
/// alternative its terms ANDed — what the text query matches, computed
/// from the terms' bitsets (the dense ones kept) instead of by walking and
/// seeking posting lists, so that counting and faceting every match costs
/// a walk of bits.
pub(crate) fn word_matches(
    bits: &TermBits,
    searcher: &Searcher,
    words: &[Vec<Vec<Term>>],
) -> tantivy::Result<Vec<Option<Arc<Vec<u64>>>>> {
    searcher
        .segment_readers()
        .iter()
        .map(|reader| {
            let mut all: Option<Arc<Vec<u64>>> = None;
            for alternatives in words {
                let mut any: Option<Vec<u64>> = None;
                for terms in alternatives {
                    let mut alternative = None;
                    for term in terms {
                        alternative =
                            Some(and(alternative, any_of(bits, reader, std::slice::from_ref(term))?));
                    }
                    let Some(alternative) = alternative else { continue };
                    match &mut any {
                        None => any = Some(Arc::unwrap_or_clone(alternative)),
                        Some(any) => any.iter_mut().zip(alternative.iter()).for_each(|(a, b)| *a |= b),
                    }
                }
                let any = any.unwrap_or_else(|| vec![0; words_for(reader)]);
                all = Some(and(all, Arc::new(any)));
            }
            Ok(all)
        })
        .collect()
}

/// Per segment of one searcher, in its order: a set of documents (deleted
/// ones included; whoever walks a set skips them).
pub(crate) type SegmentSets = Vec<Arc<Vec<u64>>>;

/// Per segment, the documents the words matched (`matched`, from
/// [`word_matches`]) that satisfy every constraint: exactly the documents
/// a search returns, before deletes.
pub(crate) fn allowed_sets(
    bits: &TermBits,
    searcher: &Searcher,
    matched: &[Option<Arc<Vec<u64>>>],
    constraints: &[Vec<Term>],
) -> tantivy::Result<SegmentSets> {
    searcher
        .segment_readers()
        .iter()
        .zip(matched)
        .map(|(reader, words)| {
            Ok(match (words.clone(), constraint_bits(bits, reader, constraints)?) {
                (words, Some(allowed)) => and(words, allowed),
                (Some(words), None) => words,
                (None, None) => DocBits::all(reader.max_doc()).words,
            })
        })
        .collect()
}

/// Each set ANDed with the documents that hold one of `terms`.
pub(crate) fn narrowed(
    bits: &TermBits,
    searcher: &Searcher,
    sets: &SegmentSets,
    terms: &[Term],
) -> tantivy::Result<SegmentSets> {
    searcher
        .segment_readers()
        .iter()
        .zip(sets)
        .map(|(reader, set)| Ok(and(Some(set.clone()), any_of(bits, reader, terms)?)))
        .collect()
}

/// The number of live documents in `sets` and their facet counts: the
/// sets' bits are walked and handed to the facet collector a block at a
/// time.
pub(crate) fn count_sets(
    searcher: &Searcher,
    sets: &SegmentSets,
    facets: &FacetCollector<'_>,
) -> tantivy::Result<(u64, FacetFruit)> {
    const BLOCK: usize = 1024;
    let mut total = 0u64;
    let mut fruits = Vec::with_capacity(sets.len());
    let mut block: Vec<DocId> = Vec::with_capacity(BLOCK);
    for (ordinal, (reader, set)) in searcher.segment_readers().iter().zip(sets).enumerate() {
        let mut counts = facets.for_segment(ordinal as u32, reader)?;
        let alive = reader.alive_bitset();
        for (index, word) in set.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let doc = index as DocId * 64 + rest.trailing_zeros();
                rest &= rest - 1;
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    block.push(doc);
                }
            }
            if block.len() >= BLOCK - 64 {
                total += block.len() as u64;
                counts.collect_block(&block);
                block.clear();
            }
        }
        total += block.len() as u64;
        counts.collect_block(&block);
        block.clear();
        fruits.push(counts.harvest());
    }
    Ok((total, facets.merge_fruits(fruits)?))
}

/// The text query (scored; every document alike for a browse) restricted
/// to a set of documents per segment ([`allowed_sets`]). The sets do not
/// score, so the ranking is the text's.
#[derive(Clone)]
pub(crate) struct ConstrainedQuery {
    text: Option<Arc<dyn Query>>,
    allowed: Arc<HashMap<SegmentId, Arc<Vec<u64>>>>,
}

impl fmt::Debug for ConstrainedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConstrainedQuery").field("text", &self.text).finish_non_exhaustive()
    }
}

impl ConstrainedQuery {
    /// `sets` are per segment of `searcher`, the one to search.
    pub fn new(text: Option<Arc<dyn Query>>, searcher: &Searcher, sets: &SegmentSets) -> Self {
        let allowed =
            searcher.segment_readers().iter().map(|r| r.segment_id()).zip(sets.iter().cloned()).collect();
        ConstrainedQuery { text, allowed: Arc::new(allowed) }
    }
}

impl Query for ConstrainedQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let text = self.text.as_ref().map(|q| q.weight(enable_scoring)).transpose()?;
        Ok(Box::new(ConstrainedWeight { text, allowed: self.allowed.clone() }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        if let Some(text) = &self.text {
            text.query_terms(visitor);
        }
    }
}

struct ConstrainedWeight {
    text: Option<Box<dyn Weight>>,
    allowed: Arc<HashMap<SegmentId, Arc<Vec<u64>>>>,
}

/// How much sparser than the text's matches the allowed documents must be
/// for the intersection to walk them and seek the text: a seek into the
/// text's posting lists costs several times a bit test.
const SPARSE_FACTOR: u64 = 8;

/// What a browse scores: every document alike, so newest first decides.
const BROWSE_SCORE: Score = 1.0;

impl Weight for ConstrainedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        // A segment the sets were not made for (another searcher's) has
        // nothing allowed.
        let Some(allowed) = self.allowed.get(&reader.segment_id()) else { return Ok(Box::new(EmptyScorer)) };
        let allowed = DocBits::new(allowed.clone());
        Ok(match &self.text {
            Some(text) => {
                let text = text.scorer(reader, boost)?;
                // Walking the text and testing a bit per match is cheapest
                // unless far fewer documents are allowed than the text
                // matches (a provider, a region, the matches with a word in
                // their name): then the intersection walks the bits and
                // seeks the text.
                if u64::from(allowed.len) * SPARSE_FACTOR < text.cost() {
                    intersect_scorers(vec![text, Box::new(ConstScorer::new(allowed, 0.0))], reader.max_doc())
                } else {
                    Box::new(Filtered::new(text, allowed.words))
                }
            }
            None => Box::new(ConstScorer::new(allowed, BROWSE_SCORE * boost)),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        match &self.text {
            Some(text) => text.explain(reader, doc),
            None => Ok(Explanation::new("browse", BROWSE_SCORE)),
        }
    }
}

/// A scorer's documents that are set in a bitset, with the scorer's scores.
struct Filtered {
    inner: Box<dyn Scorer>,
    allowed: Arc<Vec<u64>>,
}

impl Filtered {
    fn new(inner: Box<dyn Scorer>, allowed: Arc<Vec<u64>>) -> Self {
        let mut filtered = Filtered { inner, allowed };
        let first = filtered.inner.doc();
        filtered.skip_disallowed(first);
        filtered
    }

    fn allows(&self, doc: DocId) -> bool {
        self.allowed.get((doc / 64) as usize).is_some_and(|w| w >> (doc % 64) & 1 == 1)
    }

    /// From `doc` (the inner scorer's), advances to the first allowed one.
    fn skip_disallowed(&mut self, mut doc: DocId) -> DocId {
        while doc != TERMINATED && !self.allows(doc) {
            doc = self.inner.advance();
        }
        doc
    }
}

impl DocSet for Filtered {
    fn advance(&mut self) -> DocId {
        let doc = self.inner.advance();
        self.skip_disallowed(doc)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.inner.seek(target);
        self.skip_disallowed(doc)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for Filtered {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

/// A bitset of a segment's documents as a [`DocSet`], positioned on its
/// first document when made.
pub(crate) struct DocBits {
    words: Arc<Vec<u64>>,
    /// Index of the word being walked.
    word: usize,
    /// Its bits not yet returned.
    rest: u64,
    doc: DocId,
    len: u32,
}

impl DocBits {
    fn new(words: Arc<Vec<u64>>) -> Self {
        let len = words.iter().map(|w| w.count_ones()).sum();
        let rest = words.first().copied().unwrap_or(0);
        let mut bits = DocBits { words, word: 0, rest, doc: 0, len };
        bits.next_set();
        bits
    }

    /// Every document below `max_doc`.
    fn all(max_doc: DocId) -> Self {
        let mut words = vec![u64::MAX; max_doc.div_ceil(64) as usize];
        if let (Some(last), tail @ 1..) = (words.last_mut(), max_doc % 64) {
            *last = (1u64 << tail) - 1;
        }
        DocBits::new(Arc::new(words))
    }

    /// Moves to the lowest set bit of `rest` or of a later word.
    fn next_set(&mut self) -> DocId {
        loop {
            if self.rest != 0 {
                let bit = self.rest.trailing_zeros();
                self.rest &= self.rest - 1;
                self.doc = self.word as u32 * 64 + bit;
                return self.doc;
            }
            self.word += 1;
            match self.words.get(self.word) {
                Some(w) => self.rest = *w,
                None => {
                    self.doc = TERMINATED;
                    return TERMINATED;
                }
            }
        }
    }
}

impl DocSet for DocBits {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.next_set()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let word = (target / 64) as usize;
        if word >= self.words.len() {
            self.doc = TERMINATED;
            return TERMINATED;
        }
        if word > self.word {
            self.word = word;
            self.rest = self.words[word];
        }
        self.rest &= u64::MAX << (target % 64);
        self.next_set()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn words_of(docs: &[DocId], max_doc: DocId) -> Vec<u64> {
        let mut words = vec![0u64; max_doc.div_ceil(64) as usize];
        for d in docs {
            words[(d / 64) as usize] |= 1 << (d % 64);
        }
        words
    }

    proptest! {
        /// Walking and seeking a bitset give the same documents as a sorted
        /// list: every seek lands on the first document at or after its target.
        #[test]
        fn doc_bits_walk_and_seek_like_a_sorted_list(
            docs in proptest::collection::btree_set(0u32..1000, 0..200),
            targets in proptest::collection::vec(0u32..1100, 0..30),
        ) {
            let docs: Vec<DocId> = docs.into_iter().collect();
            let mut walked = Vec::new();
            let mut bits = DocBits::new(Arc::new(words_of(&docs, 1000)));
            prop_assert_eq!(bits.size_hint() as usize, docs.len());
            while bits.doc() != TERMINATED {
                walked.push(bits.doc());
                bits.advance();
            }
            prop_assert_eq!(&walked, &docs);

            let mut targets = targets;
            targets.sort_unstable();
            let mut bits = DocBits::new(Arc::new(words_of(&docs, 1000)));
            for t in targets {
                let before = bits.doc();
                let expected =
                    if before >= t { before } else { docs.iter().copied().find(|d| *d >= t).unwrap_or(TERMINATED) };
                let got = bits.seek(t);
                prop_assert_eq!(got, expected);
            }
        }
    }

    /// The documents a query matches, by segment-independent number.
    fn matches(index: &tantivy::Index, query: &dyn Query) -> Vec<u32> {
        let searcher = index.reader().expect("reader").searcher();
        let mut docs: Vec<u32> = searcher
            .search(query, &tantivy::collector::DocSetCollector)
            .expect("search")
            .into_iter()
            .map(|a| a.doc_id)
            .collect();
        docs.sort_unstable();
        docs
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A constrained query matches what the same constraints as boolean
        /// clauses match, whether the text or the bits drive (a rare
        /// audience makes the bits far sparser than the text).
        #[test]
        fn constraints_match_like_boolean_clauses(
            docs in proptest::collection::vec((0usize..3, 0usize..40), 1..800),
            constraints in proptest::collection::vec(proptest::collection::btree_set(0usize..4, 1..3), 0..3),
            with_text in any::<bool>(),
        ) {
            use tantivy::query::{BooleanQuery, Occur, TermQuery};
            use tantivy::schema::{Schema, STRING};
            let mut schema = Schema::builder();
            let word = schema.add_text_field("word", STRING);
            let audience = schema.add_text_field("audience", STRING);
            let index = tantivy::Index::create_in_ram(schema.build());
            let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("writer");
            // Audience 0 is rare (one document in 40), the others common.
            for (w, a) in &docs {
                let a = if *a == 0 { 0 } else { 1 + a % 3 };
                writer.add_document(tantivy::doc!(word => format!("w{w}"), audience => format!("a{a}"))).expect("add");
            }
            writer.commit().expect("commit");
            let term = |field, prefix: &str, n: usize| Term::from_field_text(field, &format!("{prefix}{n}"));
            let text: Option<Arc<dyn Query>> =
                with_text.then(|| Arc::new(TermQuery::new(term(word, "w", 0), IndexRecordOption::Basic)) as Arc<dyn Query>);
            let constraint_terms: Vec<Vec<Term>> =
                constraints.iter().map(|c| c.iter().map(|a| term(audience, "a", *a)).collect()).collect();

            let searcher = index.reader().expect("reader").searcher();
            let bits = TermBits::default();
            let words: Vec<Vec<Vec<Term>>> =
                if with_text { vec![vec![vec![term(word, "w", 0)]]] } else { Vec::new() };
            let sets = allowed_sets(&bits, &searcher, &word_matches(&bits, &searcher, &words).expect("words"), &constraint_terms)
                .expect("sets");
            let constrained = ConstrainedQuery::new(text.clone(), &searcher, &sets);
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Must,
                text.map_or_else(|| Box::new(tantivy::query::AllQuery) as Box<dyn Query>, |t| t.box_clone()),
            )];
            for terms in &constraint_terms {
                let any = terms
                    .iter()
                    .map(|t| (Occur::Should, Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)) as Box<dyn Query>))
                    .collect();
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
            prop_assert_eq!(matches(&index, &constrained), matches(&index, &BooleanQuery::new(clauses)));
        }
    }

    #[test]
    fn every_document_stops_at_max_doc() {
        let mut bits = DocBits::all(70);
        let mut n = 0;
        while bits.doc() != TERMINATED {
            n += 1;
            bits.advance();
        }
        assert_eq!(n, 70);
    }
}
