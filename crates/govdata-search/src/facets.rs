//! Facet counting: a collector over the fast `value\u{1f}label` columns.
//!
//! Each segment counts term ordinals in a plain vector (no hashing per
//! document); ordinals become strings once per segment at harvest, and the
//! segments' counts are summed by string. Exact, unlike a top-k terms
//! aggregation with per-segment cut-offs.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
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
    columns: Vec<(Facet, Option<StrColumn>, Vec<u64>)>,
}

impl Collector for FacetCollector {
    type Fruit = FacetFruit;
    type Child = FacetSegmentCollector;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let mut columns = Vec::with_capacity(self.facets.len());
        for facet in &self.facets {
            let column = reader.fast_fields().str(&facet_count_field(*facet))?;
            let n = column.as_ref().map_or(0, |c| c.num_terms());
            columns.push((*facet, column, vec![0u64; n]));
        }
        Ok(FacetSegmentCollector { columns })
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
        for (_, column, counts) in &mut self.columns {
            if let Some(column) = column {
                for ord in column.term_ords(doc) {
                    counts[ord as usize] += 1;
                }
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut fruit = FacetFruit::new();
        for (facet, column, counts) in self.columns {
            let mut by_value = BTreeMap::new();
            if let Some(column) = column {
                let mut text = String::new();
                for (ord, n) in counts.into_iter().enumerate() {
                    if n == 0 {
                        continue;
                    }
                    text.clear();
                    // A dictionary read failure would be a corrupt index; the
                    // value is then missing from the counts, and the
                    // reconciler's full read reports the corruption.
                    if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                        by_value.insert(text.clone(), n);
                    }
                }
            }
            fruit.insert(facet, by_value);
        }
        fruit
    }
}
