//! The lake's connectors and ingestion against real files, HTTP servers,
//! PostgreSQL and MariaDB. One test binary, so DataFusion is linked once.

mod file_source;
mod http_source;
mod ingest;
mod sql_source;
