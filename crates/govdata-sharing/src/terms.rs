//! What a consumer asks for ([`ApplyRequest`], one-stop over several
//! entries) and what a grant allows ([`GrantTerms`]), with the checks that
//! tie both to the catalog entry: items that exist, share types that allow
//! sharing, delivery modes the entry offers.

use std::collections::{BTreeMap, BTreeSet};

use govdata_model::catalog::{CatalogEntry, GradeLevel, InfoItem, SensitivityRules, ShareMode, ShareType};
use govdata_model::FieldError;
use serde::{Deserialize, Serialize};

use crate::masking::MaskRule;

/// Most entries in one one-stop application.
pub const MAX_ENTRIES_PER_APPLICATION: usize = 20;
/// Longest grant, in days.
pub const MAX_DURATION_DAYS: u32 = 3 * 366;

/// How the consumer receives the data.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// 查询: rows by entity key.
    Lookup,
    /// 核验: match / mismatch per field; no data returned.
    Verify,
    /// 批量: the granted table, streamed as CSV or NDJSON.
    Batch,
    /// 订阅: the granted table's changes.
    Subscription,
}

impl DeliveryMode {
    /// The entry's share modes (共享方式) that carry this delivery.
    fn carried_by(self) -> &'static [ShareMode] {
        match self {
            DeliveryMode::Lookup | DeliveryMode::Verify => &[ShareMode::Api],
            DeliveryMode::Batch => &[ShareMode::Table, ShareMode::File],
            DeliveryMode::Subscription => &[ShareMode::Table],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Lookup => "lookup",
            DeliveryMode::Verify => "verify",
            DeliveryMode::Batch => "batch",
            DeliveryMode::Subscription => "subscription",
        }
    }
}

/// Rows whose `item` starts with one of `prefixes`: e.g. a region code
/// item limited to the consumer's prefecture (`["3301"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub item: String,
    pub prefixes: Vec<String>,
}

/// One entry of a one-stop application.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryWanted {
    pub entry_code: String,
    /// Information items wanted, by name.
    pub items: Vec<String>,
    /// The scope: only these rows.
    #[serde(default)]
    pub row_filter: Option<RowFilter>,
}

/// Highest gateway rate a grant may allow, in calls per second.
pub const MAX_RATE_PER_SECOND: u32 = 100_000;

/// A share application (共享申请) for one or more catalog entries.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub entries: Vec<EntryWanted>,
    /// What the data is for (使用用途).
    pub purpose: String,
    /// The statutory duty the use rests on (申请依据).
    pub legal_basis: String,
    /// How long the grant should last.
    pub duration_days: u32,
    pub delivery: Vec<DeliveryMode>,
    /// Most gateway calls per day (China Standard Time); none for no limit.
    #[serde(default)]
    pub daily_quota: Option<u64>,
    /// Most gateway calls per second; none for no limit.
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

/// What one application asks of one entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationRequest {
    pub items: Vec<String>,
    pub row_filter: Option<RowFilter>,
    pub purpose: String,
    pub legal_basis: String,
    pub duration_days: u32,
    pub delivery: Vec<DeliveryMode>,
    pub daily_quota: Option<u64>,
    /// Absent in applications stored before rate limits existed.
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

/// What a grant allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GrantTerms {
    pub items: Vec<String>,
    /// The rule for every granted item.
    pub masking: BTreeMap<String, MaskRule>,
    pub row_filter: Option<RowFilter>,
    pub purpose: String,
    pub legal_basis: String,
    pub delivery: Vec<DeliveryMode>,
    pub daily_quota: Option<u64>,
    /// Absent in grants made before rate limits existed.
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

/// Checks a required free-text field: trimmed, non-empty, at most `max`
/// characters, no control characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// An item's share type: its own, else the entry's.
pub fn item_share_type(entry: &CatalogEntry, item: &InfoItem) -> ShareType {
    item.share_type.unwrap_or(entry.metadata.share_type)
}

fn find_item<'e>(entry: &'e CatalogEntry, field: &str, name: &str) -> Result<&'e InfoItem, FieldError> {
    entry
        .metadata
        .items
        .iter()
        .find(|item| item.name == name)
        .ok_or_else(|| FieldError::new(field, format!("entry {} has no item '{name}'", entry.code)))
}

impl RowFilter {
    pub(crate) fn validate(&self, field: &str, entry: &CatalogEntry) -> Result<(), FieldError> {
        find_item(entry, &format!("{field}.item"), &self.item)?;
        if self.prefixes.is_empty() || self.prefixes.len() > 100 {
            return Err(FieldError::new(format!("{field}.prefixes"), "give 1 to 100 prefixes"));
        }
        for (i, prefix) in self.prefixes.iter().enumerate() {
            if prefix.is_empty() || prefix.len() > 32 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(FieldError::new(
                    format!("{field}.prefixes[{i}]"),
                    "a prefix is 1 to 32 letters or digits",
                ));
            }
        }
        Ok(())
    }
}

impl ApplyRequest {
    /// Checks the parts that do not depend on an entry.
    pub fn validate_common(&self) -> Result<(), FieldError> {
        if self.entries.is_empty() || self.entries.len() > MAX_ENTRIES_PER_APPLICATION {
            return Err(FieldError::new(
                "entries",
                format!("apply for 1 to {MAX_ENTRIES_PER_APPLICATION} entries at once"),
            ));
        }
        let mut codes = BTreeSet::new();
        for (i, wanted) in self.entries.iter().enumerate() {
            if !codes.insert(wanted.entry_code.trim()) {
                return Err(FieldError::new(format!("entries[{i}].entry_code"), "entry listed twice"));
            }
        }
        text("purpose", &self.purpose, 500)?;
        text("legal_basis", &self.legal_basis, 500)?;
        if self.duration_days == 0 || self.duration_days > MAX_DURATION_DAYS {
            return Err(FieldError::new("duration_days", format!("must be 1 to {MAX_DURATION_DAYS}")));
        }
        if self.delivery.is_empty() {
            return Err(FieldError::new("delivery", "name at least one delivery mode"));
        }
        if self.daily_quota == Some(0) {
            return Err(FieldError::new("daily_quota", "must be at least 1, or absent for no limit"));
        }
        if self.rate_per_second.is_some_and(|rate| rate == 0 || rate > MAX_RATE_PER_SECOND) {
            return Err(FieldError::new(
                "rate_per_second",
                format!("must be 1 to {MAX_RATE_PER_SECOND}, or absent for no limit"),
            ));
        }
        Ok(())
    }

    /// Checks entry `index` of the request against the entry's published
    /// version; returns what is stored for it. 不予共享 data refuses the
    /// application, showing its legal basis.
    pub fn for_entry(&self, index: usize, entry: &CatalogEntry) -> Result<ApplicationRequest, FieldError> {
        let wanted = &self.entries[index];
        let at = |rest: &str| format!("entries[{index}].{rest}");
        if entry.metadata.share_type == ShareType::NotShared {
            return Err(FieldError::new(
                at("entry_code"),
                format!(
                    "{} is 不予共享 (not shared): {}",
                    entry.code,
                    entry.metadata.legal_basis.as_deref().unwrap_or("no legal basis recorded")
                ),
            ));
        }
        if wanted.items.is_empty() {
            return Err(FieldError::new(at("items"), "name at least one information item"));
        }
        let mut seen = BTreeSet::new();
        for (j, name) in wanted.items.iter().enumerate() {
            let field = at(&format!("items[{j}]"));
            let item = find_item(entry, &field, name)?;
            if !seen.insert(name.as_str()) {
                return Err(FieldError::new(field, "item listed twice"));
            }
            if item_share_type(entry, item) == ShareType::NotShared {
                return Err(FieldError::new(
                    field,
                    format!(
                        "'{name}' is 不予共享 (not shared): {}",
                        item.legal_basis
                            .as_deref()
                            .or(entry.metadata.legal_basis.as_deref())
                            .unwrap_or("no legal basis recorded")
                    ),
                ));
            }
        }
        if let Some(filter) = &wanted.row_filter {
            filter.validate(&at("row_filter"), entry)?;
        }
        for (k, mode) in self.delivery.iter().enumerate() {
            if !mode.carried_by().iter().any(|m| entry.metadata.share_modes.contains(m)) {
                return Err(FieldError::new(
                    format!("delivery[{k}]"),
                    format!(
                        "{} does not offer {} delivery (its share modes do not include it)",
                        entry.code,
                        mode.as_str()
                    ),
                ));
            }
        }
        let mut delivery = self.delivery.clone();
        delivery.sort();
        delivery.dedup();
        Ok(ApplicationRequest {
            items: wanted.items.clone(),
            row_filter: wanted.row_filter.clone(),
            purpose: self.purpose.trim().to_owned(),
            legal_basis: self.legal_basis.trim().to_owned(),
            duration_days: self.duration_days,
            delivery,
            daily_quota: self.daily_quota,
            rate_per_second: self.rate_per_second,
        })
    }
}

impl ApplicationRequest {
    /// Every wanted item is 无条件共享 and the entry is neither 重要 nor 核心:
    /// an application that may be approved without a person.
    pub fn is_unconditional(&self, entry: &CatalogEntry) -> bool {
        !needs_authority(entry)
            && self.items.iter().all(|name| {
                entry
                    .metadata
                    .items
                    .iter()
                    .find(|item| &item.name == name)
                    .is_some_and(|item| item_share_type(entry, item) == ShareType::Unconditional)
            })
    }

    /// The grant terms as asked for: default masking per item (from its
    /// sensitivity), the consumer's scope, quota and rate.
    pub fn terms(&self, entry: &CatalogEntry) -> GrantTerms {
        let sensitivity = SensitivityRules::default();
        let defaults = self
            .items
            .iter()
            .map(|name| {
                let rule = entry
                    .metadata
                    .items
                    .iter()
                    .find(|item| &item.name == name)
                    .map_or(MaskRule::Null, |item| MaskRule::default_for(item, &sensitivity));
                (name.clone(), rule)
            })
            .collect();
        GrantTerms {
            items: self.items.clone(),
            masking: defaults,
            row_filter: self.row_filter.clone(),
            purpose: self.purpose.clone(),
            legal_basis: self.legal_basis.clone(),
            delivery: self.delivery.clone(),
            daily_quota: self.daily_quota,
            rate_per_second: self.rate_per_second,
        }
    }
}

/// What an approver may change in the terms asked for: only ever narrower.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    /// Other masking for some items (of the terms only).
    pub masking: BTreeMap<String, MaskRule>,
    /// A scope inside the current one: on the same item, each prefix
    /// extending one of the current prefixes.
    pub row_filter: Option<RowFilter>,
    /// A daily quota at most the current one.
    pub daily_quota: Option<u64>,
    /// A rate at most the current one.
    pub rate_per_second: Option<u32>,
}

/// `proposed` when it does not exceed `current` (none is unlimited).
fn at_most<T: PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    current: Option<T>,
    proposed: Option<T>,
    zero: T,
) -> Result<Option<T>, FieldError> {
    match (current, proposed) {
        (_, None) => Ok(current),
        (_, Some(value)) if value <= zero => Err(FieldError::new(field, "must be at least 1")),
        (Some(limit), Some(value)) if value > limit => Err(FieldError::new(
            field,
            format!("a decision lowers the {limit} asked for; it does not raise it"),
        )),
        (_, Some(value)) => Ok(Some(value)),
    }
}

impl GrantTerms {
    /// These terms with an approver's changes, each only narrower.
    pub fn narrowed(mut self, entry: &CatalogEntry, narrowing: &Narrowing) -> Result<GrantTerms, FieldError> {
        for (name, rule) in &narrowing.masking {
            if !self.items.contains(name) {
                return Err(FieldError::new(
                    format!("masking.{name}"),
                    "only the items the application asks for are masked",
                ));
            }
            self.masking.insert(name.clone(), *rule);
        }
        self.daily_quota = at_most("daily_quota", self.daily_quota, narrowing.daily_quota, 0)?;
        self.rate_per_second =
            at_most("rate_per_second", self.rate_per_second, narrowing.rate_per_second, 0)?;
        if let Some(filter) = narrowing.row_filter.clone() {
            filter.validate("row_filter", entry)?;
            if let Some(current) = &self.row_filter {
                if filter.item != current.item {
                    return Err(FieldError::new(
                        "row_filter.item",
                        format!("the scope is already limited on '{}'; narrow it on that item", current.item),
                    ));
                }
                for (i, prefix) in filter.prefixes.iter().enumerate() {
                    if !current.prefixes.iter().any(|p| prefix.starts_with(p.as_str())) {
                        return Err(FieldError::new(
                            format!("row_filter.prefixes[{i}]"),
                            "a decision narrows the scope asked for; it does not widen it",
                        ));
                    }
                }
            }
            self.row_filter = Some(filter);
        }
        Ok(self)
    }
}

/// 重要 and 核心 data need the authority's approval after the provider's.
pub fn needs_authority(entry: &CatalogEntry) -> bool {
    entry.grade.is_some_and(|grade| grade.level >= GradeLevel::Important)
}
