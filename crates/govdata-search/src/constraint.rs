//! What a search matches, as one bitset per segment: the query words'
//! matches ANDed with the constraints (who may see a document, the
//! selected facet values). Counting and faceting walk these bits; ranking
//! scores the documents in them ([`crate::rank`]).
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

use std::fmt;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::postings::TermInfo;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Searcher, SegmentReader, Term};

use crate::doc::Facet;
use crate::facets::{FacetCollector, FacetFruit, CLOSED_FACETS};
use crate::kept::PerSegment;

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
pub(crate) struct TermBits {
    kept: PerSegment<Vec<u64>>,
}

impl Default for TermBits {
    fn default() -> Self {
        TermBits { kept: PerSegment::new(MAX_KEPT_BYTES) }
    }
}

impl fmt::Debug for TermBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kept, bytes) = self.kept.usage();
        f.debug_struct("TermBits").field("kept", &kept).field("bytes", &bytes).finish()
    }
}

/// A term's documents in one segment, as [`TermBits::lookup`] finds them.
enum TermDocs {
    /// Not in the segment.
    Absent,
    /// Dense: its kept bitset.
    Kept(Arc<Vec<u64>>),
    /// Sparse: where its postings are, to be read per search.
    Sparse(TermInfo),
}

impl TermBits {
    /// Drops the bitsets of segments no longer searched (after a commit).
    pub fn retain_segments(&self, live: &[SegmentId]) {
        self.kept.retain_segments(live);
    }

    /// Looks `term` up once: its kept bitset when it is dense in the
    /// segment (built on first use), else where its postings are.
    fn lookup(&self, reader: &SegmentReader, term: &Term) -> tantivy::Result<TermDocs> {
        let inverted = reader.inverted_index(term.field())?;
        let Some(info) = inverted.get_term_info(term)? else { return Ok(TermDocs::Absent) };
        if info.doc_freq < reader.max_doc() / DENSE_DIVISOR {
            return Ok(TermDocs::Sparse(info));
        }
        let bits = self.kept.get_or_build(reader, term, || {
            let mut bits = vec![0u64; words_for(reader)];
            or_postings(reader, term.field(), &info, &mut bits)?;
            let bytes = bits.len() * 8;
            Ok((bits, bytes))
        })?;
        Ok(TermDocs::Kept(bits))
    }

    /// ORs the documents of `term` into `words`.
    fn or_into(&self, reader: &SegmentReader, term: &Term, words: &mut [u64]) -> tantivy::Result<()> {
        match self.lookup(reader, term)? {
            TermDocs::Absent => {}
            TermDocs::Kept(kept) => words.iter_mut().zip(kept.iter()).for_each(|(w, k)| *w |= k),
            TermDocs::Sparse(info) => or_postings(reader, term.field(), &info, words)?,
        }
        Ok(())
    }
}

/// Words of a bitset over the segment's documents.
fn words_for(reader: &SegmentReader) -> usize {
    reader.max_doc().div_ceil(64) as usize
}

/// ORs the postings at `info` (a term of `field`) into `words`.
fn or_postings(
    reader: &SegmentReader,
    field: Field,
    info: &TermInfo,
    words: &mut [u64],
) -> tantivy::Result<()> {
    for_each_posting(reader, field, info, |doc| words[(doc / 64) as usize] |= 1u64 << (doc % 64))
}

/// Calls `visit` with each document of the postings at `info` (a term of
/// `field`), read a block at a time.
fn for_each_posting(
    reader: &SegmentReader,
    field: Field,
    info: &TermInfo,
    mut visit: impl FnMut(DocId),
) -> tantivy::Result<()> {
    let mut block =
        reader.inverted_index(field)?.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
    while !block.docs().is_empty() {
        block.docs().iter().for_each(|doc| visit(*doc));
        block.advance();
    }
    Ok(())
}

/// How many documents of a segment's `set` hold `term`: a popcount against
/// a dense term's kept bitset, a walk of a sparse term's postings (no
/// bitset built for one count).
pub(crate) fn count_in(
    bits: &TermBits,
    reader: &SegmentReader,
    term: &Term,
    set: &[u64],
) -> tantivy::Result<u64> {
    Ok(match bits.lookup(reader, term)? {
        TermDocs::Absent => 0,
        TermDocs::Kept(kept) => {
            set.iter().zip(kept.iter()).map(|(a, b)| u64::from((a & b).count_ones())).sum()
        }
        TermDocs::Sparse(info) => {
            let mut n = 0;
            for_each_posting(reader, term.field(), &info, |doc| {
                n += (set[(doc / 64) as usize] >> (doc % 64)) & 1
            })?;
            n
        }
    })
}

/// The documents of a segment that hold one of `terms`: a dense term's
/// kept bitset itself when it is the only one.
fn any_of(bits: &TermBits, reader: &SegmentReader, terms: &[Term]) -> tantivy::Result<Arc<Vec<u64>>> {
    if let [term] = terms {
        if let TermDocs::Kept(kept) = bits.lookup(reader, term)? {
            return Ok(kept);
        }
    }
    let mut words = vec![0u64; words_for(reader)];
    for term in terms {
        bits.or_into(reader, term, &mut words)?;
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
                (None, None) => every_document(reader.max_doc()),
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

/// A set holding at least one document of a segment in this many has its
/// closed-vocabulary facets counted by value, not by column.
const DENSE_SET_DIVISOR: u64 = 8;

/// The number of live documents in `sets` and their facet counts: the
/// sets' bits are walked and handed to the facet collector a block at a
/// time; in a segment without deletes where the set is dense, the
/// closed-vocabulary facets are counted by value instead
/// ([`FacetCollector::count_by_values`]), and the total is the set's size.
pub(crate) fn count_sets(
    bits: &TermBits,
    searcher: &Searcher,
    sets: &SegmentSets,
    facets: &FacetCollector<'_>,
) -> tantivy::Result<(u64, FacetFruit)> {
    const BLOCK: usize = 1024;
    let mut total = 0u64;
    let mut fruits = Vec::with_capacity(sets.len());
    let mut block: Vec<DocId> = Vec::with_capacity(BLOCK);
    for (ordinal, (reader, set)) in searcher.segment_readers().iter().zip(sets).enumerate() {
        let size: u64 = set.iter().map(|w| u64::from(w.count_ones())).sum();
        let by_value =
            reader.num_deleted_docs() == 0 && size * DENSE_SET_DIVISOR >= u64::from(reader.max_doc());
        let (closed, by_column): (Vec<Facet>, Vec<Facet>) =
            facets.facets().iter().partition(|f| by_value && CLOSED_FACETS.contains(f));
        let mut fruit = FacetFruit::new();
        for facet in closed {
            fruit.insert(facet, facets.count_by_values(reader, set, facet, bits)?);
        }
        if by_value {
            total += size;
        }
        if !by_value || !by_column.is_empty() {
            let mut counts = facets.of(by_column).for_segment(ordinal as u32, reader)?;
            let mut walked = 0;
            for doc in live_documents(reader, set) {
                block.push(doc);
                if block.len() == BLOCK {
                    walked += block.len() as u64;
                    counts.collect_block(&block);
                    block.clear();
                }
            }
            walked += block.len() as u64;
            counts.collect_block(&block);
            block.clear();
            if !by_value {
                total += walked;
            }
            fruit.extend(counts.harvest());
        }
        fruits.push(fruit);
    }
    Ok((total, facets.merge_fruits(fruits)?))
}

/// The documents of a segment's set that are not deleted, in order.
pub(crate) fn live_documents<'a>(
    reader: &'a SegmentReader,
    set: &'a [u64],
) -> impl Iterator<Item = DocId> + 'a {
    let alive = reader.alive_bitset();
    set.iter()
        .enumerate()
        .flat_map(|(index, word)| {
            let mut rest = *word;
            std::iter::from_fn(move || {
                let bit = (rest != 0).then(|| rest.trailing_zeros())?;
                rest &= rest - 1;
                Some(index as DocId * 64 + bit)
            })
        })
        .filter(move |doc| alive.is_none_or(|a| a.is_alive(*doc)))
}

/// Every document of a segment below `max_doc`.
fn every_document(max_doc: DocId) -> Arc<Vec<u64>> {
    let mut words = vec![u64::MAX; max_doc.div_ceil(64) as usize];
    if let (Some(last), tail @ 1..) = (words.last_mut(), max_doc % 64) {
        *last = (1u64 << tail) - 1;
    }
    Arc::new(words)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, TermQuery};
    use tantivy::schema::{Schema, STRING};

    use super::*;

    /// The live documents of `sets`, by segment and document.
    fn members(searcher: &Searcher, sets: &SegmentSets) -> Vec<(u32, DocId)> {
        let mut out = Vec::new();
        for (ordinal, (reader, set)) in searcher.segment_readers().iter().zip(sets).enumerate() {
            for doc in 0..reader.max_doc() {
                let set_bit = set[(doc / 64) as usize] >> (doc % 64) & 1 == 1;
                if set_bit && reader.alive_bitset().is_none_or(|a| a.is_alive(doc)) {
                    out.push((ordinal as u32, doc));
                }
            }
        }
        out
    }

    /// What a boolean query of the same shape matches.
    fn matches(searcher: &Searcher, query: &dyn Query) -> Vec<(u32, DocId)> {
        let mut docs: Vec<(u32, DocId)> = searcher
            .search(query, &tantivy::collector::DocSetCollector)
            .expect("search")
            .into_iter()
            .map(|a| (a.segment_ord, a.doc_id))
            .collect();
        docs.sort_unstable();
        docs
    }

    fn any_clause(terms: &[Term]) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            terms
                .iter()
                .map(|t| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)) as Box<dyn Query>,
                    )
                })
                .collect(),
        ))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The sets hold what the words (alternatives ORed, terms ANDed)
        /// and the constraints (terms ORed) as boolean clauses match, over
        /// several segments and with deleted documents; dense and sparse
        /// terms alike (audience 0 and word 3 are rare).
        #[test]
        fn sets_match_like_boolean_clauses(
            docs in proptest::collection::vec((0usize..4, 0usize..4, 0usize..40), 1..600),
            words in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::btree_set(0usize..4, 1..3), 1..3), 0..3),
            constraints in proptest::collection::vec(proptest::collection::btree_set(0usize..4, 1..3), 0..3),
            delete in proptest::option::of(0usize..4),
        ) {
            let mut schema = Schema::builder();
            let word = schema.add_text_field("word", STRING);
            let audience = schema.add_text_field("audience", STRING);
            let index = tantivy::Index::create_in_ram(schema.build());
            let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).expect("writer");
            let term = |field, prefix: &str, n: usize| Term::from_field_text(field, &format!("{prefix}{n}"));
            for (i, (w1, w2, a)) in docs.iter().enumerate() {
                let w1 = if *w1 == 3 && i % 7 != 0 { 0 } else { *w1 };
                let a = if *a == 0 { 0 } else { 1 + a % 3 };
                writer
                    .add_document(tantivy::doc!(
                        word => format!("w{w1}"), word => format!("w{w2}"), audience => format!("a{a}")))
                    .expect("add");
                if i % 200 == 199 {
                    writer.commit().expect("commit");
                }
            }
            writer.commit().expect("commit");
            if let Some(d) = delete {
                writer.delete_term(term(word, "w", d));
                writer.commit().expect("commit");
            }
            let searcher = index.reader().expect("reader").searcher();

            let word_terms: Vec<Vec<Vec<Term>>> = words
                .iter()
                .map(|alts| alts.iter().map(|alt| alt.iter().map(|w| term(word, "w", *w)).collect()).collect())
                .collect();
            let constraint_terms: Vec<Vec<Term>> =
                constraints.iter().map(|c| c.iter().map(|a| term(audience, "a", *a)).collect()).collect();
            let bits = TermBits::default();
            let matched = word_matches(&bits, &searcher, &word_terms).expect("words");
            let sets = allowed_sets(&bits, &searcher, &matched, &constraint_terms).expect("sets");

            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(AllQuery))];
            for alternatives in &word_terms {
                let any: Vec<(Occur, Box<dyn Query>)> = alternatives
                    .iter()
                    .map(|terms| {
                        let all: Vec<(Occur, Box<dyn Query>)> = terms
                            .iter()
                            .map(|t| (Occur::Must, Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)) as Box<dyn Query>))
                            .collect();
                        (Occur::Should, Box::new(BooleanQuery::new(all)) as Box<dyn Query>)
                    })
                    .collect();
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
            for terms in &constraint_terms {
                clauses.push((Occur::Must, any_clause(terms)));
            }
            prop_assert_eq!(members(&searcher, &sets), matches(&searcher, &BooleanQuery::new(clauses)));
        }
    }

    #[test]
    fn every_document_stops_at_max_doc() {
        let words = every_document(70);
        assert_eq!(words.iter().map(|w| w.count_ones()).sum::<u32>(), 70);
    }
}
