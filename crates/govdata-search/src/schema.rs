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

/// The searchable text fields and their weights. The name weighs most; a
/// match in keywords is a strong signal too (the provider chose them);
/// item names, the provider and the classification come next; the summary,
/// being long, least.
pub(crate) const TEXT_FIELDS: [(&str, f32); 6] = [
    ("name", 5.0),
    ("keywords", 3.0),
    ("items", 2.0),
    ("provider", 1.5),
    ("classification", 1.5),
    ("summary", 1.0),
];

/// Text fields whose matches are highlighted in hits, with the longest
/// fragment (in bytes; a Chinese character is 3) each highlight may have.
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
    /// Text fields, in [`TEXT_FIELDS`] order.
    pub text: Vec<(Field, f32)>,
    /// Per facet: the raw filter field and the fast `value\u{1f}label` column.
    pub facets: Vec<(Facet, Field, Field)>,
    /// JSON of [`StoredHit`]: all a hit needs, in one stored field.
    pub stored: Field,
}

pub(crate) fn facet_filter_field(facet: Facet) -> String {
    format!("f_{}", facet.name())
}

pub(crate) fn facet_count_field(facet: Facet) -> String {
    format!("c_{}", facet.name())
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
    let text = TEXT_FIELDS
        .iter()
        .map(|(name, weight)| (b.add_text_field(name, text_options.clone()), *weight))
        .collect();
    let facets = Facet::ALL
        .iter()
        .map(|f| {
            (
                *f,
                b.add_text_field(&facet_filter_field(*f), STRING),
                b.add_text_field(&facet_count_field(*f), FAST),
            )
        })
        .collect();
    let stored = b.add_bytes_field("stored", STORED);
    let fields = Fields { key, fingerprint, updated_at, audience, text, facets, stored };
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
    let texts: [&str; 6] = [
        &stored.name,
        &stored.keywords,
        &stored.items,
        &stored.provider_name,
        &classification,
        &stored.summary,
    ];
    for ((field, _), text) in fields.text.iter().zip(texts) {
        d.add_text(*field, text);
    }
    for (facet, filter_field, count_field) in &fields.facets {
        let (value, label) = facet.value_and_label(doc);
        d.add_text(*filter_field, &value);
        d.add_text(*count_field, format!("{value}{LABEL_SEPARATOR}{label}"));
    }
    // Serializing our own struct cannot fail.
    d.add_bytes(fields.stored, &serde_json::to_vec(&stored).unwrap_or_default());
    Some(d)
}
