//! File connectors (helper fills this).
