//! HTTP scenarios against nodes served in-process, on SQLite and on
//! PostgreSQL. One test binary for all of them: each binary links DataFusion
//! and delta-rs, so separate binaries would multiply link time and disk.

#[macro_use]
mod support;

mod api;
mod catalog;
mod catalog_transfer;
mod fuzz;
mod ledger_api;
mod resources;
mod sharing;
mod subscriptions;
