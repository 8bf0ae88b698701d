//! Rows a source yields that cannot be written: counted, and a sample kept
//! with row number and reason, so a provider can fix the source.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// How many rejected rows a job keeps as examples.
pub const REJECT_SAMPLE_SIZE: usize = 20;

/// One rejected row. `row` is the 1-based row number in the source (for files,
/// the data row after the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    pub row: u64,
    pub column: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rejects {
    pub count: u64,
    pub sample: Vec<RejectedRow>,
}

/// Shared by a connector and the conform step of one job.
#[derive(Debug, Clone, Default)]
pub struct RejectSink(Arc<Mutex<Rejects>>);

impl RejectSink {
    pub fn reject(&self, row: u64, column: Option<&str>, reason: impl Into<String>) {
        let mut rejects = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rejects.count += 1;
        if rejects.sample.len() < REJECT_SAMPLE_SIZE {
            rejects.sample.push(RejectedRow {
                row,
                column: column.map(str::to_owned),
                reason: reason.into(),
            });
        }
    }

    pub fn snapshot(&self) -> Rejects {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}
