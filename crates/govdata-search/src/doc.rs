//! What the caller feeds the index ([`SearchDoc`]), who may see it
//! ([`Visibility`], [`Viewer`]), and its fingerprint.

use std::fmt;

use govdata_model::catalog::{CatalogEntry, EntryStatus, Grade, GradeLevel};
use serde::{Deserialize, Serialize};

use crate::SCHEMA_VERSION;

/// One catalog entry as the index sees it: the stored version that is
/// searchable (see [`pick_searchable_version`]) plus the names the entry
/// itself only holds as ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDoc {
    pub entry: CatalogEntry,
    /// The node that owns the entry (federation: a parent indexes its
    /// children's entries too).
    pub node_id: String,
    pub node_name: String,
    /// GB/T 2260 code of the owning node's region.
    pub region: String,
    /// Display name of the provider department (`entry.metadata.provider`
    /// holds its id).
    pub provider_name: String,
}

/// Identifies one indexed document: an entry of a node. The index holds at
/// most one document per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocKey {
    pub node_id: String,
    /// 信息资源代码.
    pub code: String,
}

impl DocKey {
    pub fn new(node_id: impl Into<String>, code: impl Into<String>) -> Self {
        DocKey { node_id: node_id.into(), code: code.into() }
    }

    /// The form kept in the index's `key` field. The separator (U+001F,
    /// unit separator) cannot occur in a node id or a resource code.
    pub(crate) fn encode(&self) -> String {
        format!("{}\u{1f}{}", self.node_id, self.code)
    }

    pub(crate) fn decode(key: &str) -> Option<DocKey> {
        let (node_id, code) = key.split_once('\u{1f}')?;
        Some(DocKey::new(node_id, code))
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node_id, self.code)
    }
}

/// Who may find an indexed entry. Derived from the entry's status and
/// provider, never passed in, so that the index cannot disagree with the
/// store about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Published: every government user. Anonymous (open-data) viewers see
    /// it only when its open type is not 不予开放.
    Public,
    /// Not yet published (draft, submitted, returned, approved): only the
    /// provider department and the reviewers.
    Department(String),
}

impl SearchDoc {
    pub fn key(&self) -> DocKey {
        DocKey::new(self.node_id.clone(), self.entry.code.to_string())
    }

    /// Who may see the entry; `None` when it is not searchable at all
    /// (superseded, withdrawn, discarded): the index never holds such a
    /// version, and feeding one to [`crate::SearchIndex::upsert`] removes the
    /// entry from the index.
    pub fn visibility(&self) -> Option<Visibility> {
        match self.entry.status {
            EntryStatus::Published => Some(Visibility::Public),
            s if s.is_open() => {
                Some(Visibility::Department(self.entry.metadata.provider.department_id.clone()))
            }
            _ => None,
        }
    }

    /// Whether the open-data public may see the entry once published.
    pub(crate) fn is_open_data(&self) -> bool {
        self.entry.metadata.open_type != govdata_model::catalog::OpenType::NotOpen
    }

    /// What the index remembers of this document to tell whether it is
    /// current: `v{version}-{status}-{updated_at}-{hash}`, where the hash
    /// (64-bit FNV-1a) covers everything indexed — the whole entry, node and
    /// provider names — and the schema version. The readable prefix is for
    /// people reading a drift report; the hash is what catches a change
    /// that kept the version (a provider renamed, a fix applied in place).
    pub fn fingerprint(&self) -> String {
        let mut hash = Fnv1a::new();
        hash.write(&SCHEMA_VERSION.to_le_bytes());
        // Serializing our own types into a Vec cannot fail.
        hash.write(&serde_json::to_vec(self).unwrap_or_default());
        format!(
            "v{}-{}-{}-{:016x}",
            self.entry.version,
            self.entry.status.as_str(),
            self.entry.updated_at.unix_timestamp(),
            hash.finish()
        )
    }
}

/// Which version of an entry the index should hold, given all its stored
/// versions: the published one if there is one (the public keeps seeing it
/// while a revision is in review), otherwise the open (unpublished) one with
/// the highest version number, otherwise none — an entry that is only
/// withdrawn, discarded or superseded versions is not searchable.
///
/// The store's indexer and the reconciler must both use this rule, or the
/// reconciler will see drift that is not there.
pub fn pick_searchable_version(versions: &[CatalogEntry]) -> Option<&CatalogEntry> {
    versions
        .iter()
        .filter(|v| v.status == EntryStatus::Published)
        .max_by_key(|v| v.version)
        .or_else(|| versions.iter().filter(|v| v.status.is_open()).max_by_key(|v| v.version))
}

/// Who is searching. The rule, applied by [`crate::SearchIndex::search`] and
/// by [`Viewer::can_see`] (for endpoints that show one entry):
///
/// - `sees_all_unpublished` (data authority, reviewers): every indexed entry;
/// - otherwise, with a department: every published entry, plus the
///   unpublished entries of that department;
/// - without a department (anonymous, the open-data portal): published
///   entries whose open type is not 不予开放.
///
/// Superseded, withdrawn and discarded versions are never in the index, so
/// nobody finds them, the provider included: its own lists come from the
/// store, not from search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub department_id: Option<String>,
    pub sees_all_unpublished: bool,
}

impl Viewer {
    /// The anonymous public: open data only.
    pub fn anonymous() -> Self {
        Viewer { department_id: None, sees_all_unpublished: false }
    }

    /// A government user of `department_id`.
    pub fn department(department_id: impl Into<String>) -> Self {
        Viewer { department_id: Some(department_id.into()), sees_all_unpublished: false }
    }

    /// The data authority or a reviewer.
    pub fn reviewer(department_id: impl Into<String>) -> Self {
        Viewer { department_id: Some(department_id.into()), sees_all_unpublished: true }
    }

    pub fn can_see(&self, doc: &SearchDoc) -> bool {
        match doc.visibility() {
            None => false,
            Some(_) if self.sees_all_unpublished => true,
            Some(Visibility::Public) => self.department_id.is_some() || doc.is_open_data(),
            Some(Visibility::Department(d)) => self.department_id.as_deref() == Some(d.as_str()),
        }
    }
}

/// The facets of a search: each is also a filter of the same name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    /// Provider department id (label: its name).
    Provider,
    /// 类: base / theme / department.
    Class,
    ShareType,
    OpenType,
    /// Grade: `core`, `important`, `general_1`…`general_4`, `general`, `ungraded`.
    Grade,
    UpdateCycle,
    FormatClass,
    /// Region code of the owning node.
    Region,
    /// Owning node id (label: its name).
    Node,
    /// Lifecycle status; useful to reviewers (only `published` for others,
    /// plus their own department's drafts).
    Status,
}

impl Facet {
    pub const ALL: [Facet; 10] = [
        Facet::Provider,
        Facet::Class,
        Facet::ShareType,
        Facet::OpenType,
        Facet::Grade,
        Facet::UpdateCycle,
        Facet::FormatClass,
        Facet::Region,
        Facet::Node,
        Facet::Status,
    ];

    /// The name used as facet key, filter parameter and index field suffix.
    pub fn name(self) -> &'static str {
        match self {
            Facet::Provider => "provider",
            Facet::Class => "class",
            Facet::ShareType => "share_type",
            Facet::OpenType => "open_type",
            Facet::Grade => "grade",
            Facet::UpdateCycle => "update_cycle",
            Facet::FormatClass => "format_class",
            Facet::Region => "region",
            Facet::Node => "node",
            Facet::Status => "status",
        }
    }

    /// The facet's value for a document and its display label.
    pub(crate) fn value_and_label(self, doc: &SearchDoc) -> (String, String) {
        let m = &doc.entry.metadata;
        match self {
            Facet::Provider => (m.provider.department_id.clone(), doc.provider_name.clone()),
            Facet::Class => {
                let class = m.classification.class;
                (wire(&class), class.label_zh().to_owned())
            }
            Facet::ShareType => (wire(&m.share_type), m.share_type.label_zh().to_owned()),
            Facet::OpenType => (wire(&m.open_type), m.open_type.label_zh().to_owned()),
            Facet::Grade => (grade_value(doc.entry.grade.as_ref()), grade_label(doc.entry.grade.as_ref())),
            Facet::UpdateCycle => (wire(&m.update_cycle), m.update_cycle.label_zh().to_owned()),
            Facet::FormatClass => (wire(&m.format_class), m.format_class.label_zh().to_owned()),
            Facet::Region => (doc.region.clone(), doc.region.clone()),
            Facet::Node => (doc.node_id.clone(), doc.node_name.clone()),
            Facet::Status => (doc.entry.status.as_str().to_owned(), doc.entry.status.label_zh().to_owned()),
        }
    }
}

/// The string a closed vocabulary value has on the wire (its serde name),
/// so that filter values are the API's enum values.
pub(crate) fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The grade facet value: `core`, `important`, `general_<n>`, `general`, `ungraded`.
pub fn grade_value(grade: Option<&Grade>) -> String {
    match grade {
        None => "ungraded".to_owned(),
        Some(Grade { level: GradeLevel::General, sublevel: Some(n) }) => format!("general_{n}"),
        Some(Grade { level, .. }) => wire(level),
    }
}

fn grade_label(grade: Option<&Grade>) -> String {
    grade.map(Grade::label_zh).unwrap_or_else(|| "未分级".to_owned())
}

/// 64-bit FNV-1a: stable across Rust releases and platforms (unlike
/// `DefaultHasher`), which a fingerprint kept on disk needs.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        let mut h = Fnv1a::new();
        h.write(b"");
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv1a::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn doc_key_round_trips() {
        let key = DocKey::new("node-1", "101002/000017");
        assert_eq!(DocKey::decode(&key.encode()), Some(key));
        assert_eq!(DocKey::decode("no separator"), None);
    }

    #[test]
    fn grade_values() {
        assert_eq!(grade_value(None), "ungraded");
        assert_eq!(grade_value(Some(&Grade::general(3))), "general_3");
        assert_eq!(grade_value(Some(&Grade::IMPORTANT)), "important");
        assert_eq!(grade_value(Some(&Grade::CORE)), "core");
    }
}
