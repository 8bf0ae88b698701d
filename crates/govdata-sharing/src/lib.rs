//! Sharing (数据共享): a consumer department applies once for data another
//! department holds, the provider decides (refusing only on a legal
//! ground), the authority also decides for 重要/核心 data, and an approved
//! application becomes a grant. The gateway then serves exactly what the
//! grant allows — granted items only, rows inside its filter, masked as
//! granted — and writes an audit record for every call before answering.
//!
//! - [`terms`]: the application request and grant terms, checked against
//!   the catalog entry (items, share types, delivery modes).
//! - [`masking`]: per-field masking rules and their defaults.
//! - [`service`]: applications (one-stop, automatic approval of 无条件共享
//!   data, provider and authority decisions, deadlines on the working-day
//!   calendar with escalation), grants (revocation, renewal).
//! - [`gateway`]: lookup by entity key, verification (核验), batch export.
//! - [`subscription`]: a grant's row changes by pull (cursor) or push
//!   (signed webhook calls with retries).
//! - [`workflow`]: demands (需求) and objections (异议).
//! - [`usage`]: gateway usage per grant and day, and daily quotas.
//!
//! Invariants:
//! - No grant, no data: every gateway call loads the grant from the store
//!   and checks department, revocation, expiry, delivery mode and quota
//!   before reading; a batch export re-checks before each batch, so a
//!   revocation stops a running stream; a webhook delivery re-reads the
//!   grant from the store before each page.
//! - An item the grant does not name is never read from the table.
//! - Every gateway call, refused or served, is in the ledger before the
//!   answer leaves; when the record cannot be written the call fails.

pub mod gateway;
mod index;
pub mod masking;
pub mod report;
pub mod service;
pub mod subscription;
pub mod terms;
pub mod usage;
pub mod workflow;

pub use service::{Sharing, SharingConfig, SharingError};
