//! What a search asks ([`SearchQuery`], [`Filters`]) and what it answers
//! ([`SearchResults`], [`Hit`], [`FacetCount`]).

use std::collections::BTreeMap;

use govdata_model::catalog::{EntryStatus, Grade, OpenType, ShareType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::doc::Facet;
use crate::SearchError;

/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Deepest result reachable by paging (`page * size`): deep paging costs
/// memory and time and nobody reads result 10,001; narrow with filters.
pub const MAX_RESULT_WINDOW: u32 = 10_000;
/// Longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most values listed per facet (the most frequent first).
pub const MAX_FACET_VALUES: usize = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first; ties (and a browse without `q`) newest first.
    #[default]
    Relevance,
    /// Most recently updated first; ties best match first.
    Recent,
}

/// Facet filters. Several values of one facet are alternatives (OR);
/// different facets must all hold (AND). Values are the facet values of
/// [`SearchResults::facets`] (enum values as the API spells them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Filters {
    /// Provider department ids.
    pub provider: Vec<String>,
    /// `base`, `theme`, `department`.
    pub class: Vec<String>,
    pub share_type: Vec<String>,
    pub open_type: Vec<String>,
    /// `core`, `important`, `general_1`…`general_4`, `general`, `ungraded`.
    pub grade: Vec<String>,
    pub update_cycle: Vec<String>,
    pub format_class: Vec<String>,
    /// Region codes (GB/T 2260) of the owning node.
    pub region: Vec<String>,
    /// Owning node ids.
    pub node: Vec<String>,
    pub status: Vec<String>,
}

impl Filters {
    pub fn values(&self, facet: Facet) -> &[String] {
        match facet {
            Facet::Provider => &self.provider,
            Facet::Class => &self.class,
            Facet::ShareType => &self.share_type,
            Facet::OpenType => &self.open_type,
            Facet::Grade => &self.grade,
            Facet::UpdateCycle => &self.update_cycle,
            Facet::FormatClass => &self.format_class,
            Facet::Region => &self.region,
            Facet::Node => &self.node,
            Facet::Status => &self.status,
        }
    }

    pub fn values_mut(&mut self, facet: Facet) -> &mut Vec<String> {
        match facet {
            Facet::Provider => &mut self.provider,
            Facet::Class => &mut self.class,
            Facet::ShareType => &mut self.share_type,
            Facet::OpenType => &mut self.open_type,
            Facet::Grade => &mut self.grade,
            Facet::UpdateCycle => &mut self.update_cycle,
            Facet::FormatClass => &mut self.format_class,
            Facet::Region => &mut self.region,
            Facet::Node => &mut self.node,
            Facet::Status => &mut self.status,
        }
    }

    /// Facets with at least one value selected.
    pub fn active(&self) -> impl Iterator<Item = Facet> + '_ {
        Facet::ALL.into_iter().filter(|f| !self.values(*f).is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SearchQuery {
    /// Free text; empty lists everything the viewer may see (browse).
    pub q: String,
    /// 1-based.
    pub page: u32,
    /// 1–100.
    pub size: u32,
    pub sort: Sort,
    pub filters: Filters,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            q: String::new(),
            page: 1,
            size: 20,
            sort: Sort::Relevance,
            filters: Filters::default(),
        }
    }
}

impl SearchQuery {
    /// A first page of 20 for `q`, best match first.
    pub fn text(q: impl Into<String>) -> Self {
        SearchQuery { q: q.into(), ..SearchQuery::default() }
    }

    pub fn validate(&self) -> Result<(), SearchError> {
        let invalid = |field, message: String| Err(SearchError::InvalidQuery { field, message });
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return invalid("q", format!("at most {MAX_QUERY_CHARS} characters"));
        }
        if self.page == 0 {
            return invalid("page", "pages start at 1".to_owned());
        }
        if self.size == 0 || self.size > MAX_PAGE_SIZE {
            return invalid("size", format!("must be 1-{MAX_PAGE_SIZE}"));
        }
        if u64::from(self.page) * u64::from(self.size) > u64::from(MAX_RESULT_WINDOW) {
            return invalid(
                "page",
                format!("page * size must be at most {MAX_RESULT_WINDOW}; narrow the search with filters"),
            );
        }
        Ok(())
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    /// 信息资源代码.
    pub code: String,
    pub version: u32,
    pub name: String,
    pub summary: String,
    /// Provider department id.
    pub provider_id: String,
    pub provider_name: String,
    pub node_id: String,
    pub node_name: String,
    pub status: EntryStatus,
    pub share_type: ShareType,
    pub open_type: OpenType,
    #[serde(default)]
    pub grade: Option<Grade>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Relevance score (BM25 with field weights); higher is better. Only
    /// comparable within one result list.
    pub score: f32,
    /// Per matched field (`name`, `summary`, `keywords`, `items`,
    /// `provider`): a fragment with the matches wrapped in `<mark>…</mark>`
    /// and everything else HTML-escaped (`&`, `<`, `>`), safe to insert as
    /// element content. Fields without a match are absent.
    pub highlights: BTreeMap<String, String>,
}

/// How many results have one value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetCount {
    /// What to pass back as filter value.
    pub value: String,
    /// What to show (a department's or node's name, the Chinese label of an
    /// enum value).
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Matching entries the viewer may see, over all pages.
    pub total: u64,
    pub items: Vec<Hit>,
    /// Per facet name, value counts over the matching entries the viewer may
    /// see, with every filter applied except the facet's own (so a selected
    /// facet still shows its alternatives). Most frequent first, at most
    /// [`MAX_FACET_VALUES`] each.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
}
