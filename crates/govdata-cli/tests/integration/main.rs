//! The `govdata` binary as a real process: serving, demo, the ledger
//! commands, and ingestion killed mid-way. One test binary, so DataFusion is
//! linked once.

mod support;

mod binary;
mod federation;
mod lake;
mod ledger_cli;
