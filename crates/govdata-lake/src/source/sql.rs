//! Database connectors (helper fills this).
