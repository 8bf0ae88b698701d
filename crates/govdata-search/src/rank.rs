//! Ranking a search's matches: BM25 computed term by term for exactly the
//! documents to rank, which [`crate::constraint`] has already found.
//!
//! A match's score is the sum, over the query words, of the BM25 scores in
//! `text` of the terms of each alternative of the word the document holds
//! whole (a document holding 社会保险 holds the alternatives 社会保险 and
//! 社会 + 保险, and scores both), plus each whole word's boosted BM25 in the
//! name and the keywords. That is what a boolean query of the same shape
//! scores (a test holds the two together); computing it here, with one
//! cursor per term that only moves forward, costs a skip-list seek per
//! term and ranked document — where the boolean query, sought to sparse
//! documents, refilled a window of thousands of documents of every union
//! per seek.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::Bm25Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, Term};

use crate::constraint::{live_documents, SegmentSets};
use crate::kept::PerSegment;
use crate::query::Sort;

/// What a browse (no words) scores: every document alike, so the newest
/// come first.
const BROWSE_SCORE: Score = 1.0;

/// The weighted terms of one query, for the whole searcher (BM25 statistics
/// are the searcher's, as tantivy's own scorers take them).
pub(crate) struct Scoring<'a> {
    /// Per word, per alternative, its terms.
    words: Vec<Vec<Vec<(Term, Bm25Weight)>>>,
    /// Whole words in boosted fields, their weights boosted.
    boosts: Vec<(Term, Bm25Weight)>,
    peaks: &'a TermPeaks,
}

impl<'a> Scoring<'a> {
    pub fn new(
        searcher: &Searcher,
        words: &[Vec<Vec<Term>>],
        boosts: &[(Term, Score)],
        peaks: &'a TermPeaks,
    ) -> tantivy::Result<Self> {
        let weight = |term: &Term| Bm25Weight::for_terms(searcher, std::slice::from_ref(term));
        let words = words
            .iter()
            .map(|alternatives| {
                alternatives
                    .iter()
                    .map(|terms| terms.iter().map(|t| Ok((t.clone(), weight(t)?))).collect())
                    .collect()
            })
            .collect::<tantivy::Result<_>>()?;
        let boosts = boosts
            .iter()
            .map(|(t, boost)| Ok((t.clone(), weight(t)?.boost_by(*boost))))
            .collect::<tantivy::Result<_>>()?;
        Ok(Scoring { words, boosts, peaks })
    }

    /// The whole words in boosted fields.
    pub fn boosted_terms(&self) -> impl Iterator<Item = &Term> {
        self.boosts.iter().map(|(term, _)| term)
    }

    /// The most a match that holds none of the boosted terms can score:
    /// every term of every alternative at the largest BM25 score it has in
    /// any document.
    pub fn unboosted_ceiling(&self, searcher: &Searcher) -> tantivy::Result<Score> {
        let mut ceiling = 0.0;
        for (term, weight) in self.words.iter().flatten().flatten() {
            let mut max: Score = 0.0;
            for reader in searcher.segment_readers() {
                max = max.max(self.peaks.max_score(reader, term, weight)?);
            }
            ceiling += max;
        }
        Ok(ceiling)
    }

    fn segment(&self, reader: &SegmentReader) -> tantivy::Result<SegmentScoring> {
        let alternatives = self.words.iter().flatten();
        let mut terms = Vec::new();
        for (index, alternative) in alternatives.clone().enumerate() {
            for (term, weight) in alternative {
                terms.push((term, weight, Some(index)));
            }
        }
        terms.extend(self.boosts.iter().map(|(term, weight)| (term, weight, None)));
        let mut terms = terms
            .into_iter()
            .map(|(term, weight, alternative)| {
                Ok(ScoredTerm {
                    peak: self.peaks.max_score(reader, term, weight)?,
                    cursor: TermCursor::open(reader, term, weight)?,
                    alternative,
                })
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        terms.sort_by(|a, b| b.peak.total_cmp(&a.peak));
        let mut peaks_after = vec![0.0; terms.len()];
        for i in (0..terms.len().saturating_sub(1)).rev() {
            peaks_after[i] = peaks_after[i + 1] + terms[i + 1].peak;
        }
        Ok(SegmentScoring { terms, peaks_after, alternatives: vec![None; alternatives.count()] })
    }
}

/// Most (segment, term) peaks kept; past it the cache starts over. Each is
/// at most 256 pairs.
const MAX_PEAKS_KEPT: usize = 8192;

/// Per segment and term: where the term's BM25 score can be largest — for
/// each field length (norm id) among its documents, the largest term
/// frequency, without the points another beats on both. BM25 grows with
/// the frequency and falls with the length, so a term's largest score in
/// a segment is at one of these, whatever the statistics of the moment;
/// far below [`Bm25Weight::max_score`], which assumes an unbounded
/// frequency in the shortest field. Built on the first search that needs
/// them, by one walk of the postings.
pub(crate) struct TermPeaks {
    /// (norm id, term frequency) points; each costs 1 of [`MAX_PEAKS_KEPT`].
    kept: PerSegment<Vec<(u8, u32)>>,
}

impl Default for TermPeaks {
    fn default() -> Self {
        TermPeaks { kept: PerSegment::new(MAX_PEAKS_KEPT) }
    }
}

impl TermPeaks {
    /// Drops the peaks of segments no longer searched (after a commit).
    pub fn retain_segments(&self, live: &[SegmentId]) {
        self.kept.retain_segments(live);
    }

    /// The largest score `weight` gives `term` in any document of the
    /// reader's segment.
    fn max_score(&self, reader: &SegmentReader, term: &Term, weight: &Bm25Weight) -> tantivy::Result<Score> {
        let peaks = self.kept.get_or_build(reader, term, || Ok((peaks(reader, term)?, 1)))?;
        Ok(peaks.iter().map(|(norm, frequency)| weight.score(*norm, *frequency)).fold(0.0, Score::max))
    }
}

/// The peaks of `term` in a segment (see [`TermPeaks`]).
fn peaks(reader: &SegmentReader, term: &Term) -> tantivy::Result<Vec<(u8, u32)>> {
    let mut highest = [0u32; 256];
    let inverted = reader.inverted_index(term.field())?;
    if let Some(mut block) = inverted.read_block_postings(term, IndexRecordOption::WithFreqs)? {
        let norms = reader.get_fieldnorms_reader(term.field())?;
        while !block.docs().is_empty() {
            for (doc, frequency) in block.docs().iter().zip(block.freqs()) {
                let norm = &mut highest[norms.fieldnorm_id(*doc) as usize];
                *norm = (*norm).max(*frequency);
            }
            block.advance();
        }
    }
    // Norm ids grow with the length: keep a point only if no shorter field
    // has as high a frequency.
    let mut peaks = Vec::new();
    let mut best_so_far = 0;
    for (norm, frequency) in highest.iter().enumerate() {
        if *frequency > best_so_far {
            best_so_far = *frequency;
            peaks.push((norm as u8, *frequency));
        }
    }
    Ok(peaks)
}

/// One term's postings in one segment, asked for documents in ascending
/// order.
struct TermCursor {
    postings: Option<SegmentPostings>,
    weight: Bm25Weight,
    fieldnorms: FieldNormReader,
}

impl TermCursor {
    fn open(reader: &SegmentReader, term: &Term, weight: &Bm25Weight) -> tantivy::Result<Self> {
        let postings =
            reader.inverted_index(term.field())?.read_postings(term, IndexRecordOption::WithFreqs)?;
        let fieldnorms = reader.get_fieldnorms_reader(term.field())?;
        Ok(TermCursor { postings, weight: weight.clone(), fieldnorms })
    }

    /// The term's BM25 score in `doc`, if `doc` holds it. `doc` never goes
    /// down between calls.
    fn score_at(&mut self, doc: DocId) -> Option<Score> {
        let postings = self.postings.as_mut()?;
        if postings.doc() < doc {
            postings.seek(doc);
        }
        (postings.doc() == doc)
            .then(|| self.weight.score(self.fieldnorms.fieldnorm_id(doc), postings.term_freq()))
    }
}

/// A margin for the bounds: scores and bounds are sums of f32 in
/// different orders.
pub(crate) const BOUND_MARGIN: Score = 1.001;

/// One query's terms in one segment, the largest peak first: a document's
/// score is known to fall short of a floor as soon as what its first terms
/// scored plus the peaks of the rest do, and the cursors of the rest — the
/// commonest terms, whose peaks are lowest and postings longest — need not
/// move to it.
struct SegmentScoring {
    terms: Vec<ScoredTerm>,
    /// Per term, the sum of the peaks of the terms after it.
    peaks_after: Vec<Score>,
    /// Per alternative (of all words), what the document being scored has
    /// scored in it so far; `None` once it lacks one of its terms.
    alternatives: Vec<Option<Score>>,
}

struct ScoredTerm {
    cursor: TermCursor,
    /// Its largest score in the segment ([`TermPeaks`]).
    peak: Score,
    /// The alternative it belongs to; `None` for a boost.
    alternative: Option<usize>,
}

impl SegmentScoring {
    /// The document's score, or `None` when it certainly scores below
    /// `floor`.
    fn score(&mut self, doc: DocId, floor: Score) -> Option<Score> {
        self.alternatives.fill(Some(0.0));
        let mut boosts = 0.0;
        // What the terms so far have scored in alternatives still whole.
        let mut held = 0.0;
        for (term, peaks_after) in self.terms.iter_mut().zip(&self.peaks_after) {
            let score = term.cursor.score_at(doc);
            match (term.alternative, score) {
                (None, score) => {
                    boosts += score.unwrap_or(0.0);
                    held += score.unwrap_or(0.0);
                }
                (Some(alternative), Some(score)) => {
                    if let Some(sum) = &mut self.alternatives[alternative] {
                        *sum += score;
                        held += score;
                    }
                }
                (Some(alternative), None) => {
                    if let Some(sum) = self.alternatives[alternative].take() {
                        held -= sum;
                    }
                }
            }
            if (held + peaks_after) * BOUND_MARGIN < floor {
                return None;
            }
        }
        Some(boosts + self.alternatives.iter().flatten().sum::<Score>())
    }
}

/// The best `limit` documents of `sets` by `sort`, best first, with their
/// scores (every one [`BROWSE_SCORE`] without `scoring`). Deleted
/// documents are skipped; by relevance, ties go to the newest, then to the
/// earlier document.
pub(crate) fn rank(
    searcher: &Searcher,
    scoring: Option<&Scoring>,
    sets: &SegmentSets,
    sort: Sort,
    limit: usize,
) -> tantivy::Result<Vec<(Score, DocAddress)>> {
    let mut best = Best { sort, limit, heap: BinaryHeap::with_capacity(limit + 1) };
    for (ordinal, (reader, set)) in searcher.segment_readers().iter().zip(sets).enumerate() {
        let mut scores = scoring.map(|s| s.segment(reader)).transpose()?;
        let mut score = |doc, floor| scores.as_mut().map_or(Some(BROWSE_SCORE), |s| s.score(doc, floor));
        let updated = reader.fast_fields().i64("updated_at")?;
        let updated_at = |doc| updated.first(doc).unwrap_or(i64::MIN);
        for doc in live_documents(reader, set) {
            let address = DocAddress::new(ordinal as u32, doc);
            match sort {
                Sort::Relevance => {
                    // A document that ties the worst kept may still enter.
                    let floor = best.worst().map_or(Score::NEG_INFINITY, |worst| worst.score);
                    if let Some(score) = score(doc, floor) {
                        if best.may_enter(|worst| score >= worst.score) {
                            best.offer(Candidate { score, updated_at: updated_at(doc), address, sort });
                        }
                    }
                }
                Sort::Recent => {
                    let updated_at = updated_at(doc);
                    if best.may_enter(|worst| updated_at >= worst.updated_at) {
                        let score = score(doc, Score::NEG_INFINITY).unwrap_or(BROWSE_SCORE);
                        best.offer(Candidate { score, updated_at, address, sort });
                    }
                }
            }
        }
    }
    Ok(best.into_sorted())
}

/// A document that may make the list.
#[derive(Clone, Copy)]
struct Candidate {
    score: Score,
    /// Unix microseconds; documents without one sort last.
    updated_at: i64,
    address: DocAddress,
    sort: Sort,
}

impl Ord for Candidate {
    /// Greater is better: by the sort's key, then the other, then the
    /// earlier document.
    fn cmp(&self, other: &Self) -> Ordering {
        let score = self.score.total_cmp(&other.score);
        let updated = self.updated_at.cmp(&other.updated_at);
        let key = match self.sort {
            Sort::Relevance => score.then(updated),
            Sort::Recent => updated.then(score),
        };
        key.then_with(|| other.address.cmp(&self.address))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// The best `limit` candidates so far, the worst on top of the heap.
struct Best {
    sort: Sort,
    limit: usize,
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl Best {
    /// The worst one kept, once the list is full.
    fn worst(&self) -> Option<&Candidate> {
        (self.heap.len() >= self.limit).then(|| self.heap.peek().map(|Reverse(worst)| worst)).flatten()
    }

    /// Whether a document may enter: always while the list is short, else
    /// when `beats_or_ties` the worst one kept.
    fn may_enter(&self, beats_or_ties: impl FnOnce(&Candidate) -> bool) -> bool {
        if self.heap.len() < self.limit {
            return true;
        }
        self.worst().is_some_and(beats_or_ties)
    }

    fn offer(&mut self, candidate: Candidate) {
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(candidate));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if candidate > worst.0 {
                *worst = Reverse(candidate);
            }
        }
    }

    fn into_sorted(self) -> Vec<(Score, DocAddress)> {
        debug_assert!(self.heap.iter().all(|Reverse(c)| c.sort == self.sort));
        // Ascending order of `Reverse` is best first.
        self.heap.into_sorted_vec().into_iter().map(|Reverse(c)| (c.score, c.address)).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
    use tantivy::schema::{Schema, TEXT};

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Every match scores what the boolean query of the same shape
        /// (each word a union of its alternatives, an alternative an
        /// intersection of its terms; the boosts optional) scores.
        #[test]
        fn scores_are_the_boolean_querys(
            docs in proptest::collection::vec(
                (proptest::collection::vec(0usize..5, 1..12), proptest::collection::vec(0usize..5, 0..4)), 1..300),
            words in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::btree_set(0usize..5, 1..3), 1..3), 1..3),
            boosts in proptest::collection::btree_set(0usize..5, 0..3),
        ) {
            let mut schema = Schema::builder();
            let text = schema.add_text_field("text", TEXT);
            let name = schema.add_text_field("name", TEXT);
            let index = tantivy::Index::create_in_ram(schema.build());
            let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("writer");
            let spell = |ws: &[usize]| ws.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" ");
            for (i, (t, n)) in docs.iter().enumerate() {
                writer.add_document(tantivy::doc!(text => spell(t), name => spell(n))).expect("add");
                if i % 100 == 99 {
                    writer.commit().expect("commit");
                }
            }
            writer.commit().expect("commit");
            let searcher = index.reader().expect("reader").searcher();
            let term = |field, n: usize| Term::from_field_text(field, &format!("w{n}"));
            let word_terms: Vec<Vec<Vec<Term>>> = words
                .iter()
                .map(|alts| alts.iter().map(|alt| alt.iter().map(|w| term(text, *w)).collect()).collect())
                .collect();
            let boost_terms: Vec<(Term, Score)> = boosts.iter().map(|w| (term(name, *w), 4.0)).collect();

            let tq = |t: &Term| Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)) as Box<dyn Query>;
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = word_terms
                .iter()
                .map(|alts| {
                    let any = alts
                        .iter()
                        .map(|terms| {
                            let all = terms.iter().map(|t| (Occur::Must, tq(t))).collect();
                            (Occur::Should, Box::new(BooleanQuery::new(all)) as Box<dyn Query>)
                        })
                        .collect();
                    (Occur::Must, Box::new(BooleanQuery::new(any)) as Box<dyn Query>)
                })
                .collect();
            for (t, boost) in &boost_terms {
                clauses.push((Occur::Should, Box::new(BoostQuery::new(tq(t), *boost))));
            }
            let expected = searcher
                .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(docs.len()).order_by_score())
                .expect("search");

            let peaks = TermPeaks::default();
            let scoring = Scoring::new(&searcher, &word_terms, &boost_terms, &peaks).expect("scoring");
            let mut segments: Vec<SegmentScoring> =
                searcher.segment_readers().iter().map(|r| scoring.segment(r).expect("segment")).collect();
            let mut expected: Vec<(DocAddress, Score)> = expected.into_iter().map(|(s, a)| (a, s)).collect();
            expected.sort_by_key(|(a, _)| *a);
            // Without the boosts, no match scores above the ceiling.
            let unboosted = Scoring::new(&searcher, &word_terms, &[], &peaks).expect("scoring");
            let ceiling = unboosted.unboosted_ceiling(&searcher).expect("ceiling");
            let mut unboosted: Vec<SegmentScoring> =
                searcher.segment_readers().iter().map(|r| unboosted.segment(r).expect("segment")).collect();
            // A floor cuts a score short only below it.
            let mut floors: Vec<SegmentScoring> =
                searcher.segment_readers().iter().map(|r| scoring.segment(r).expect("segment")).collect();
            for (i, (address, want)) in expected.into_iter().enumerate() {
                let segment = address.segment_ord as usize;
                let got = segments[segment].score(address.doc_id, Score::NEG_INFINITY).expect("no floor");
                prop_assert!((got - want).abs() <= want.abs() * 1e-5, "{:?}: {} != {}", address, got, want);
                let text_only = unboosted[segment].score(address.doc_id, Score::NEG_INFINITY).expect("no floor");
                prop_assert!(text_only <= ceiling * 1.00001, "{:?}: {} above {}", address, text_only, ceiling);
                let floor = want * [0.5, 0.99, 1.0, 1.01, 2.0][i % 5];
                match floors[segment].score(address.doc_id, floor) {
                    Some(cut) => prop_assert_eq!(cut, got),
                    None => prop_assert!(want < floor, "{:?}: {} cut short by the floor {}", address, want, floor),
                }
            }
        }
    }
}
