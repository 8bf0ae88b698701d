//! Facet counting: a collector over the fast count columns
//! ([`COUNT_COLUMNS`]), each of which packs one or more facets'
//! `value\u{1f}label` pairs.
//!
//! Each segment counts term ordinals of the columns it needs in a plain
//! vector (no hashing per document), reading a single-valued column's
//! ordinal straight by document id (a block at a time in unscored passes);
//! ordinals become strings once per segment at harvest, in one walk of the
//! dictionary, are unpacked into their facets, and the segments' counts are
//! summed by string. Exact, unlike a top-k terms aggregation with
//! per-segment cut-offs.

use std::collections::BTreeMap;

use std::sync::Arc;
use tantivy::collector::{Collector, SegmentCollector};

use tantivy::columnar::{ColumnIndex, ColumnValues, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::doc::Facet;
use crate::schema::{COUNT_COLUMNS, FACET_SEPARATOR};

/// Per facet: `value\u{1f}label` → number of matching documents.
pub(crate) type FacetFruit = BTreeMap<Facet, BTreeMap<String, u64>>;

pub(crate) struct FacetCollector {
    facets: Vec<Facet>,
}

impl FacetCollector {
    pub fn new(facets: Vec<Facet>) -> Self {
        FacetCollector { facets }
    }
}

pub(crate) struct FacetSegmentCollector {
    /// The facets counted; other facets packed in the same columns are not.
    wanted: Vec<Facet>,
    columns: Vec<FacetColumn>,
    /// Scratch for [`SegmentCollector::collect_block`].
    block: Vec<Option<u64>>,
}

/// One count column in one segment and its counts by term ordinal.
struct FacetColumn {
    /// The facets the column packs, in its order.
    packed: &'static [Facet],
    column: Option<StrColumn>,
    /// The ordinals when every document has exactly one value (what
    /// [`crate::schema::to_document`] writes): read straight by document id.
    single: Option<Arc<dyn ColumnValues<u64>>>,
    counts: Vec<u64>,
}

impl Collector for FacetCollector {
    type Fruit = FacetFruit;
    type Child = FacetSegmentCollector;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let mut columns = Vec::with_capacity(COUNT_COLUMNS.len());
        for (name, packed) in COUNT_COLUMNS {
            if !packed.iter().any(|f| self.facets.contains(f)) {
                continue;
            }
            let column = reader.fast_fields().str(name)?;
            let n = column.as_ref().map_or(0, |c| c.num_terms());
            let single = column
                .as_ref()
                .filter(|c| matches!(c.ords().index, ColumnIndex::Full))
                .map(|c| c.ords().values.clone());
            columns.push(FacetColumn { packed, column, single, counts: vec![0u64; n] });
        }
        Ok(FacetSegmentCollector { wanted: self.facets.clone(), columns, block: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut merged: FacetFruit = self.facets.iter().map(|f| (*f, BTreeMap::new())).collect();
        for fruit in segment_fruits {
            for (facet, counts) in fruit {
                let into = merged.entry(facet).or_default();
                for (value, n) in counts {
                    *into.entry(value).or_default() += n;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for c in &mut self.columns {
            if let Some(values) = &c.single {
                c.counts[values.get_val(doc) as usize] += 1;
            } else if let Some(column) = &c.column {
                for ord in column.term_ords(doc) {
                    c.counts[ord as usize] += 1;
                }
            }
        }
    }

    /// The unscored passes (facets with a selection) hand over blocks of
    /// documents: read each column's ordinals for the whole block at once.
    fn collect_block(&mut self, docs: &[DocId]) {
        for c in &mut self.columns {
            if let Some(values) = &c.single {
                self.block.clear();
                self.block.resize(docs.len(), None);
                values.get_vals_opt(docs, &mut self.block);
                for ord in self.block.iter().flatten() {
                    c.counts[*ord as usize] += 1;
                }
            } else if let Some(column) = &c.column {
                for doc in docs {
                    for ord in column.term_ords(*doc) {
                        c.counts[ord as usize] += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut fruit: FacetFruit = self.wanted.iter().map(|f| (*f, BTreeMap::new())).collect();
        for FacetColumn { packed, column, counts, .. } in self.columns {
            if let Some(column) = column {
                // The counted ordinals, ascending, turned into strings in one
                // walk of the dictionary (a lookup per ordinal would decode
                // its block from the start each time).
                let ords: Vec<u64> =
                    counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(ord, _)| ord as u64).collect();
                // A dictionary read failure would be a corrupt index; the
                // values are then missing from the counts, and the
                // reconciler's full read reports the corruption.
                let mut counted = ords.iter().map(|ord| counts[*ord as usize]);
                let _complete = column
                    .dictionary()
                    .sorted_ords_to_term_cb(&ords, |bytes| {
                        let n = counted.next().unwrap_or(0);
                        let term = String::from_utf8_lossy(bytes);
                        for (facet, value) in packed.iter().zip(term.split(FACET_SEPARATOR)) {
                            if let Some(by_value) = fruit.get_mut(facet) {
                                add_count(by_value, value, n);
                            }
                        }
                    })
                    .unwrap_or(false);
            }
        }
        fruit
    }
}

/// Adds `n` to `value`'s count, allocating its key only the first time:
/// a segment has thousands of distinct packed values, most of which share
/// their facets' values.
fn add_count(counts: &mut BTreeMap<String, u64>, value: &str, n: u64) {
    match counts.get_mut(value) {
        Some(count) => *count += n,
        None => {
            counts.insert(value.to_owned(), n);
        }
    }
}
