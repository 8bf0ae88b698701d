//! The index schema and how a [`SearchDoc`] becomes a tantivy document.

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;
use time::OffsetDateTime;

use govdata_model::catalog::{EntryStatus, Grade, OpenType, ShareType};

use crate::doc::{Facet, SearchDoc, Visibility};
use crate::tokenizer::TOKENIZER_NAME;

/// The field every query word is matched in: all of a document's text
/// (name, keywords, item names, provider, classification, summary), so a
/// word is one posting list to intersect, not one per field. Its BM25
/// score is the base of the ranking.
pub(crate) const TEXT_FIELD: &str = "text";

/// Fields indexed a second time on their own, and how much a whole query
/// word found there adds (times its BM25 score in the field): the name
/// weighs most; keywords are a strong signal too (the provider chose them).
pub(crate) const BOOSTED_FIELDS: [(&str, f32); 2] = [("name", 4.0), ("keywords", 2.0)];

/// The parts of a hit that get highlights, with the longest fragment (in
/// bytes; a Chinese character is 3) each highlight may have.
pub(crate) const HIGHLIGHT_FIELDS: [(&str, usize); 5] =
    [("name", 600), ("summary", 240), ("keywords", 240), ("items", 240), ("provider", 240)];

/// Audience terms: who a document is shown to (see [`crate::Viewer`]).
pub(crate) const AUDIENCE_GOVERNMENT: &str = "government";
pub(crate) const AUDIENCE_OPEN_DATA: &str = "open_data";
pub(crate) fn audience_department(department_id: &str) -> String {
    format!("department:{department_id}")
}

/// Separates a facet value from its label in the facet count columns.
pub(crate) const LABEL_SEPARATOR: char = '\u{1f}';
/// Separates the facets packed into one count column.
pub(crate) const FACET_SEPARATOR: char = '\u{1e}';

/// The fast columns facet counts read, and the facets each one packs. A
/// search counts every matching document's facets, so each column read
/// per document counts: the closed-vocabulary facets share one column
/// (a few thousand distinct combinations per segment), and the node and
/// its region ride with the provider, which belongs to one node (as many
/// combinations as providers).
pub(crate) const COUNT_COLUMNS: [(&str, &[Facet]); 2] = [
    ("c_provider", &[Facet::Provider, Facet::Node, Facet::Region]),
    (
        "c_attributes",
        &[
            Facet::Class,
            Facet::ShareType,
            Facet::OpenType,
            Facet::Grade,
            Facet::UpdateCycle,
            Facet::FormatClass,
            Facet::Status,
        ],
    ),
];

#[derive(Clone)]
pub(crate) struct Fields {
    /// `node\u{1f}code`: the document's identity (raw, fast).
    pub key: Field,
    /// [`SearchDoc::fingerprint`] (fast only).
    pub fingerprint: Field,
    /// Unix time in microseconds of `updated_at` (fast: recency sort).
    pub updated_at: Field,
    /// Who may see it: `government`, `open_data`, `department:<id>`.
    pub audience: Field,
    /// [`TEXT_FIELD`]: what queries match.
    pub text: Field,
    /// [`BOOSTED_FIELDS`], in order, with their boosts.
    pub boosted: Vec<(Field, f32)>,
    /// Per facet: the raw filter field.
    pub filters: Vec<(Facet, Field)>,
    /// The fast count columns, in [`COUNT_COLUMNS`] order.
    pub count_columns: Vec<Field>,
    /// JSON of [`StoredHit`]: all a hit needs, in one stored field.
    pub stored: Field,
}

pub(crate) fn facet_filter_field(facet: Facet) -> String {
    format!("f_{}", facet.name())
}

pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let key = b.add_text_field("key", STRING | FAST);
    let fingerprint = b.add_text_field("fingerprint", FAST);
    let updated_at = b.add_i64_field("updated_at", FAST | INDEXED);
    let audience = b.add_text_field("audience", STRING);
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(true),
    );
    let text = b.add_text_field(TEXT_FIELD, text_options.clone());
    let boosted = BOOSTED_FIELDS
        .iter()
        .map(|(name, boost)| (b.add_text_field(name, text_options.clone()), *boost))
        .collect();
    let filters =
        Facet::ALL.iter().map(|f| (*f, b.add_text_field(&facet_filter_field(*f), STRING))).collect();
    let count_columns = COUNT_COLUMNS.iter().map(|(name, _)| b.add_text_field(name, FAST)).collect();
    let stored = b.add_bytes_field("stored", STORED);
    let fields =
        Fields { key, fingerprint, updated_at, audience, text, boosted, filters, count_columns, stored };
    (b.build(), fields)
}

/// What a hit shows, kept in the index as one JSON blob: the hit's fields
/// plus the texts that highlights are cut from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredHit {
    pub code: String,
    pub version: u32,
    pub name: String,
    pub summary: String,
    pub keywords: String,
    pub items: String,
    pub provider_id: String,
    pub provider_name: String,
    pub node_id: String,
    pub node_name: String,
    pub status: EntryStatus,
    pub share_type: ShareType,
    pub open_type: OpenType,
    pub grade: Option<Grade>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Joins list-valued texts (keywords, item names) for indexing and
/// highlighting alike, so highlight offsets match what was indexed.
fn join(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let mut out = String::new();
    for v in values {
        if !out.is_empty() {
            out.push('、');
        }
        out.push_str(v.as_ref());
    }
    out
}

/// The tantivy document for a searchable [`SearchDoc`]; `None` when the
/// version is not searchable ([`SearchDoc::visibility`] is `None`).
pub(crate) fn to_document(fields: &Fields, doc: &SearchDoc) -> Option<TantivyDocument> {
    let visibility = doc.visibility()?;
    let entry = &doc.entry;
    let m = &entry.metadata;
    let stored = StoredHit {
        code: entry.code.to_string(),
        version: entry.version,
        name: m.name.clone(),
        summary: m.summary.clone(),
        keywords: join(&m.keywords),
        items: join(m.items.iter().map(|i| &i.name)),
        provider_id: m.provider.department_id.clone(),
        provider_name: doc.provider_name.clone(),
        node_id: doc.node_id.clone(),
        node_name: doc.node_name.clone(),
        status: entry.status,
        share_type: m.share_type,
        open_type: m.open_type,
        grade: entry.grade,
        updated_at: entry.updated_at,
    };
    let classification =
        format!("{} {} {}", m.classification.class.label_zh(), m.classification.code(), stored.code);

    let mut d = TantivyDocument::new();
    d.add_text(fields.key, doc.key().encode());
    d.add_text(fields.fingerprint, doc.fingerprint());
    d.add_i64(fields.updated_at, (entry.updated_at.unix_timestamp_nanos() / 1_000) as i64);
    match &visibility {
        Visibility::Public => {
            d.add_text(fields.audience, AUDIENCE_GOVERNMENT);
            if doc.is_open_data() {
                d.add_text(fields.audience, AUDIENCE_OPEN_DATA);
            }
        }
        Visibility::Department(dept) => d.add_text(fields.audience, audience_department(dept)),
    }
    for text in [
        &stored.name,
        &stored.keywords,
        &stored.items,
        &stored.provider_name,
        &classification,
        &stored.summary,
    ] {
        d.add_text(fields.text, text);
    }
    for ((field, _), text) in fields.boosted.iter().zip([&stored.name, &stored.keywords]) {
        d.add_text(*field, text);
    }
    for (facet, filter_field) in &fields.filters {
        d.add_text(*filter_field, facet.value_and_label(doc).0);
    }
    for ((_, packed), count_field) in COUNT_COLUMNS.iter().zip(&fields.count_columns) {
        let mut column = String::new();
        for facet in *packed {
            if !column.is_empty() {
                column.push(FACET_SEPARATOR);
            }
            let (value, label) = facet.value_and_label(doc);
            column.push_str(&value);
            column.push(LABEL_SEPARATOR);
            column.push_str(&label);
        }
        d.add_text(*count_field, column);
    }
    // Serializing our own struct cannot fail.
    d.add_bytes(fields.stored, &serde_json::to_vec(&stored).unwrap_or_default());
    Some(d)
}
