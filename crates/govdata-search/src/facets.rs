//! Facet counting: a collector over the fast `value\u{1f}label` columns.
//!
//! Each segment counts term ordinals in a plain vector (no hashing per
//! document), reading a single-valued column's ordinal straight by
//! document id (a block at a time in unscored passes); ordinals become
//! strings once per segment at harvest, in one walk of the dictionary, and
//! the segments' counts are summed by string. Exact, unlike a top-k terms
//! aggregation with per-segment cut-offs.

use std::collections::BTreeMap;

use std::sync::Arc;
use tantivy::collector::{Collector, SegmentCollector};

use tantivy::columnar::{ColumnIndex, ColumnValues, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::doc::Facet;
use crate::schema::facet_count_field;

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
    columns: Vec<FacetColumn>,
    /// Scratch for [`SegmentCollector::collect_block`].
    block: Vec<Option<u64>>,
}

/// One facet's column in one segment and its counts by term ordinal.
struct FacetColumn {
    facet: Facet,
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
        let mut columns = Vec::with_capacity(self.facets.len());
        for facet in &self.facets {
            let column = reader.fast_fields().str(&facet_count_field(*facet))?;
            let n = column.as_ref().map_or(0, |c| c.num_terms());
            let single = column
                .as_ref()
                .filter(|c| matches!(c.ords().index, ColumnIndex::Full))
                .map(|c| c.ords().values.clone());
            columns.push(FacetColumn { facet: *facet, column, single, counts: vec![0u64; n] });
        }
        Ok(FacetSegmentCollector { columns, block: Vec::new() })
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
        let mut fruit = FacetFruit::new();
        for FacetColumn { facet, column, counts, .. } in self.columns {
            let mut by_value = BTreeMap::new();
            if let Some(column) = column {
                // The counted ordinals, ascending, turned into strings in one
                // walk of the dictionary (a lookup per ordinal would decode
                // its block from the start each time).
                let ords: Vec<u64> =
                    counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(ord, _)| ord as u64).collect();
                let mut terms = Vec::with_capacity(ords.len());
                // A dictionary read failure would be a corrupt index; the
                // values are then missing from the counts, and the
                // reconciler's full read reports the corruption.
                // The terms found are those of the first ordinals, in order.
                let _complete = column
                    .dictionary()
                    .sorted_ords_to_term_cb(&ords, |bytes| {
                        terms.push(String::from_utf8_lossy(bytes).into_owned())
                    })
                    .unwrap_or(false);
                for (ord, term) in ords.iter().zip(terms) {
                    by_value.insert(term, counts[*ord as usize]);
                }
            }
            fruit.insert(facet, by_value);
        }
        fruit
    }
}
