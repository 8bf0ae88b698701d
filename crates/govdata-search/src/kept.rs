//! [`PerSegment`]: what a search derives from one term in one segment and
//! keeps for the next searches — segments never change, so it stays true
//! until a commit leaves the segment behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::index::SegmentId;
use tantivy::{SegmentReader, Term};

/// Values per (segment, term), within a budget in the caller's units (the
/// cost of each value is the caller's to say); past it the cache starts
/// over.
pub(crate) struct PerSegment<T> {
    budget: usize,
    kept: Mutex<Kept<T>>,
}

struct Kept<T> {
    values: HashMap<(SegmentId, Term), (Arc<T>, usize)>,
    used: usize,
}

impl<T> PerSegment<T> {
    pub fn new(budget: usize) -> Self {
        PerSegment { budget, kept: Mutex::new(Kept { values: HashMap::new(), used: 0 }) }
    }

    fn lock(&self) -> MutexGuard<'_, Kept<T>> {
        // Entries are inserted whole; a panic elsewhere leaves the map usable.
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value kept for `term` in the reader's segment, or the one `build`
    /// makes (with its cost), which is then kept.
    pub fn get_or_build(
        &self,
        reader: &SegmentReader,
        term: &Term,
        build: impl FnOnce() -> tantivy::Result<(T, usize)>,
    ) -> tantivy::Result<Arc<T>> {
        let key = (reader.segment_id(), term.clone());
        if let Some((value, _)) = self.lock().values.get(&key) {
            return Ok(value.clone());
        }
        let (value, cost) = build()?;
        let value = Arc::new(value);
        let mut kept = self.lock();
        if kept.used + cost > self.budget {
            kept.values.clear();
            kept.used = 0;
        }
        if let Some((_, replaced)) = kept.values.insert(key, (value.clone(), cost)) {
            kept.used -= replaced;
        }
        kept.used += cost;
        Ok(value)
    }

    /// Drops the values of segments no longer searched (after a commit).
    pub fn retain_segments(&self, live: &[SegmentId]) {
        let mut kept = self.lock();
        kept.values.retain(|(segment, _), _| live.contains(segment));
        kept.used = kept.values.values().map(|(_, cost)| cost).sum();
    }

    /// How many values are kept, and their cost.
    pub fn usage(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.values.len(), kept.used)
    }
}
