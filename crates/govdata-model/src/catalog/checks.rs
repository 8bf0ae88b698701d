//! The automatic checks run on a draft when it is submitted, before a person
//! reviews it. Each finding names the field at fault (the same paths as
//! [`FieldError`], e.g. `items[3].length`) and has a severity: an error
//! blocks submission, a warning is shown to the provider and the reviewer.
//!
//! | check | rule | severity | source |
//! |---|---|---|---|
//! | coding | classification segments within the coding rule | error | 2017 guide §6 |
//! | coding | a new version keeps the entry's classification (the code is stable) | error | issue #3 |
//! | coding | a related code is not the entry's own code; no repeats | error / warning | ours |
//! | required | name, summary, provider department, format type present | error | GB/T 21063.3 core metadata |
//! | required | keywords present; format type known for its class | warning | ours (search, format lists) |
//! | required | producing information system registered ("数据—系统") | warning | guide 102号 四(二)2 (应同时登记) |
//! | share | 有条件共享 → `share_condition`; 不予共享 → `legal_basis` | error | 2017 guide |
//! | share | at least one share mode unless 不予共享 | error | 2017 guide |
//! | share | 有条件开放 → `open_condition` | error | 2017 guide |
//! | share | 不予共享 cannot be opened (无条件 or 有条件开放) | error | ours: what departments may not share, the public may not have |
//! | share | 有条件共享 with 无条件开放 | warning | ours: the public would get freely what departments get on conditions |
//! | share | 核心 data: not 无条件共享, and 不予开放 | error | ours, after 数据安全法 §21 |
//! | share | 重要 data: not 无条件开放 (error); 无条件共享 (warning) | error / warning | ours |
//! | share | an item may not be looser than a 不予共享 entry, nor stricter than a 无条件共享 one (mixed items make the entry 有条件共享) | error | ours |
//! | items | at least one item; names present and unique | error | GB/T 21063.3; ours (diff by name) |
//! | items | length allowed for the type ([`super::entry::ItemType::length_rule`]); scale only for N/Y/F and ≤ length | error | ours, see `length_rule` |
//! | grade | every item graded, with a grade of the scheme | error | issue #3, GB/T 43697 |
//! | sensitivity | an item whose name matches a sensitivity rule has that category and at least the rule's grade | warning | [`super::sensitivity`] |
//! | provider | USCC valid (GB 32100); a failed check character is a warning | error / warning | DESIGN §7 |
//! | duplicate | near-identical name (≥ 0.9) and items (≥ 80 %) of another entry | error | issue #3 |
//! | duplicate | same information system and items (≥ 80 %) of another entry | warning (configurable) | issue #3 (一数一源) |
//!
//! Item overlap is |shared names| / max(|items|, |other items|) after
//! normalization, so a draft that is a small subset of a big entry does not
//! count as a copy, and neither does a big entry that contains a small one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::codes::ResourceCode;
use super::entry::{EntryDraft, EntrySummary, InfoItem, OpenType, ShareType};
use super::grade::{Grade, GradeLevel, GradingScheme};
use super::lifecycle::EntryStatus;
use super::sensitivity::SensitivityRules;
use super::text::{name_similarity, normalize};
use crate::{validate, FieldError};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown, does not block.
    Warning,
    /// Blocks submission.
    Error,
}

impl Severity {
    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::Warning => "警告",
            Severity::Error => "错误",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Which check produced a finding.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// 编码规则.
    Coding,
    /// 必填项.
    Required,
    /// 共享开放属性.
    Share,
    /// 信息项.
    Items,
    /// 分级.
    Grade,
    /// 敏感信息识别.
    Sensitivity,
    /// 提供方代码.
    Provider,
    /// 重复编目.
    Duplicate,
}

impl CheckKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            CheckKind::Coding => "编码规则",
            CheckKind::Required => "必填项",
            CheckKind::Share => "共享开放属性",
            CheckKind::Items => "信息项",
            CheckKind::Grade => "分级",
            CheckKind::Sensitivity => "敏感信息识别",
            CheckKind::Provider => "提供方代码",
            CheckKind::Duplicate => "重复编目",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CheckKind::Coding => "coding rule",
            CheckKind::Required => "required fields",
            CheckKind::Share => "share and open attributes",
            CheckKind::Items => "information items",
            CheckKind::Grade => "grading",
            CheckKind::Sensitivity => "sensitive data",
            CheckKind::Provider => "provider code",
            CheckKind::Duplicate => "duplicate registration",
        }
    }
}

/// One problem found in a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub check: CheckKind,
    pub severity: Severity,
    /// Field path in the draft, e.g. `items[3].length`.
    pub field: String,
    pub message: String,
    /// The other entry, for duplicate findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_code: Option<ResourceCode>,
}

impl Finding {
    fn new(
        check: CheckKind,
        severity: Severity,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding { check, severity, field: field.into(), message: message.into(), related_code: None }
    }

    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(self.field.clone(), self.message.clone())
    }
}

/// All findings for a draft, in the order the checks ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// True when nothing blocks submission.
    pub fn passed(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Warning)
    }

    /// Findings on one field.
    pub fn on<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.field == field)
    }

    /// The blocking findings as field errors, for a 422 response.
    pub fn field_errors(&self) -> Vec<FieldError> {
        self.errors().map(Finding::to_field_error).collect()
    }

    fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn error(&mut self, check: CheckKind, field: impl Into<String>, message: impl Into<String>) {
        self.push(Finding::new(check, Severity::Error, field, message));
    }

    fn warn(&mut self, check: CheckKind, field: impl Into<String>, message: impl Into<String>) {
        self.push(Finding::new(check, Severity::Warning, field, message));
    }
}

/// Thresholds of the duplicate check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateConfig {
    /// Share of item names two entries must have in common (0–1).
    pub item_overlap: f64,
    /// Name similarity for "near-identical" (0–1): the better of normalized
    /// edit similarity and character-bigram Jaccard.
    pub name_similarity: f64,
    /// Severity of "same system, overlapping items" with a different name.
    pub same_system_severity: Severity,
}

impl Default for DuplicateConfig {
    fn default() -> Self {
        DuplicateConfig { item_overlap: 0.8, name_similarity: 0.9, same_system_severity: Severity::Warning }
    }
}

static DEFAULT_GRADING: LazyLock<GradingScheme> = LazyLock::new(GradingScheme::gb_t_43697);
static DEFAULT_SENSITIVITY: LazyLock<SensitivityRules> = LazyLock::new(SensitivityRules::default);

/// What the checks need besides the draft.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// Existing entries to check for duplicates (the store may pass only
    /// candidates, e.g. the same provider's entries and a name search).
    pub existing: &'a [EntrySummary],
    /// The entry's code when the draft is a new version of it; its own
    /// versions are not duplicates, and its classification is fixed.
    pub own_code: Option<&'a ResourceCode>,
    pub grading: &'a GradingScheme,
    pub sensitivity: &'a SensitivityRules,
    pub duplicates: DuplicateConfig,
}

impl<'a> CheckContext<'a> {
    /// The default scheme (GB/T 43697), default sensitivity rules and thresholds.
    pub fn new(existing: &'a [EntrySummary]) -> Self {
        CheckContext {
            existing,
            own_code: None,
            grading: &DEFAULT_GRADING,
            sensitivity: &DEFAULT_SENSITIVITY,
            duplicates: DuplicateConfig::default(),
        }
    }

    pub fn with_own_code(mut self, code: &'a ResourceCode) -> Self {
        self.own_code = Some(code);
        self
    }
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn blank_opt(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(blank)
}

/// Runs every check on `draft`.
pub fn check_draft(draft: &EntryDraft, ctx: &CheckContext<'_>) -> CheckReport {
    let mut report = CheckReport::default();
    check_coding(draft, ctx, &mut report);
    check_required(draft, &mut report);
    check_share(draft, &mut report);
    check_items(draft, ctx, &mut report);
    check_provider(draft, &mut report);
    report.findings.extend(find_duplicates(draft, ctx.existing, ctx.own_code, &ctx.duplicates));
    report
}

fn check_coding(draft: &EntryDraft, ctx: &CheckContext<'_>, report: &mut CheckReport) {
    if let Err(e) = draft.classification.validate() {
        report.error(CheckKind::Coding, e.field, e.message);
    } else if let Some(code) = ctx.own_code {
        if code.classification() != &draft.classification {
            report.error(
                CheckKind::Coding,
                "classification",
                format!(
                    "the entry's code {code} is stable: a new version keeps 分类码 {}, not {}",
                    code.classification(),
                    draft.classification
                ),
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (i, related) in draft.related_codes.iter().enumerate() {
        let field = format!("related_codes[{i}]");
        if Some(related) == ctx.own_code {
            report.error(CheckKind::Coding, field, "an entry cannot be related to itself");
        } else if !seen.insert(related) {
            report.warn(CheckKind::Coding, field, format!("{related} is listed more than once"));
        }
    }
}

fn check_required(draft: &EntryDraft, report: &mut CheckReport) {
    for (field, value, what) in [
        ("name", &draft.name, "信息资源名称 (name)"),
        ("summary", &draft.summary, "信息资源摘要 (summary)"),
        ("provider.department_id", &draft.provider.department_id, "the provider department"),
        ("format_type", &draft.format_type, "信息资源格式 type (e.g. xlsx, mysql)"),
    ] {
        if blank(value) {
            report.error(CheckKind::Required, field, format!("{what} is required"));
        }
    }
    let format_type = draft.format_type.trim().to_lowercase();
    let known = draft.format_class.known_types();
    if !format_type.is_empty() && !known.is_empty() && !known.contains(&format_type.as_str()) {
        report.warn(
            CheckKind::Required,
            "format_type",
            format!("{format_type:?} is not a usual type for {}", draft.format_class.label_zh()),
        );
    }
    if draft.keywords.is_empty() {
        report.warn(CheckKind::Required, "keywords", "no keywords: search will match only name and summary");
    }
    for (i, keyword) in draft.keywords.iter().enumerate() {
        if blank(keyword) {
            report.error(CheckKind::Required, format!("keywords[{i}]"), "keyword is empty");
        }
    }
    match &draft.system_id {
        None => report.warn(
            CheckKind::Required,
            "system_id",
            "no producing information system: register it to establish the 数据—系统 link",
        ),
        Some(id) if blank(id) => report.error(CheckKind::Required, "system_id", "system id is empty"),
        Some(_) => {}
    }
    let mut seen = BTreeSet::new();
    for (i, link) in draft.resources.iter().enumerate() {
        let field = format!("resources[{i}].id");
        if blank(&link.id) {
            report.error(CheckKind::Required, field, "resource id is empty");
        } else if !seen.insert((link.kind, link.id.trim())) {
            report.warn(CheckKind::Required, field, "resource is linked more than once");
        }
    }
}

/// Strictness order of share types: 无条件 < 有条件 < 不予.
fn strictness(share: ShareType) -> u8 {
    match share {
        ShareType::Unconditional => 0,
        ShareType::Conditional => 1,
        ShareType::NotShared => 2,
    }
}

/// The condition / legal basis a share type requires, for the entry
/// (`prefix` "") or an item (`prefix` "items[i].").
fn check_share_requirements(
    report: &mut CheckReport,
    prefix: &str,
    share: ShareType,
    condition: &Option<String>,
    legal_basis: &Option<String>,
) {
    match share {
        ShareType::Conditional if blank_opt(condition) => report.error(
            CheckKind::Share,
            format!("{prefix}share_condition"),
            "有条件共享 needs the sharing condition (共享条件)",
        ),
        ShareType::NotShared if blank_opt(legal_basis) => report.error(
            CheckKind::Share,
            format!("{prefix}legal_basis"),
            "不予共享 needs its legal basis: the law or regulation that forbids sharing",
        ),
        _ => {}
    }
    if share != ShareType::Conditional && !blank_opt(condition) {
        report.warn(
            CheckKind::Share,
            format!("{prefix}share_condition"),
            format!("a sharing condition is ignored for {}", share.label_zh()),
        );
    }
    if share != ShareType::NotShared && !blank_opt(legal_basis) {
        report.warn(
            CheckKind::Share,
            format!("{prefix}legal_basis"),
            format!("a legal basis for not sharing is ignored for {}", share.label_zh()),
        );
    }
}

fn check_share(draft: &EntryDraft, report: &mut CheckReport) {
    let share = draft.share_type;
    check_share_requirements(report, "", share, &draft.share_condition, &draft.legal_basis);

    if share == ShareType::NotShared {
        if !draft.share_modes.is_empty() {
            report.warn(CheckKind::Share, "share_modes", "share modes are ignored for 不予共享");
        }
    } else if draft.share_modes.is_empty() {
        report.error(CheckKind::Share, "share_modes", "name at least one share mode (库表, 接口 or 文件)");
    }
    let mut seen = BTreeSet::new();
    for (i, mode) in draft.share_modes.iter().enumerate() {
        if !seen.insert(mode) {
            report.warn(
                CheckKind::Share,
                format!("share_modes[{i}]"),
                format!("{} is listed twice", mode.label_zh()),
            );
        }
    }

    let open = draft.open_type;
    if open == OpenType::Conditional && blank_opt(&draft.open_condition) {
        report.error(CheckKind::Share, "open_condition", "有条件开放 needs the opening condition (开放条件)");
    }
    if open != OpenType::Conditional && !blank_opt(&draft.open_condition) {
        report.warn(
            CheckKind::Share,
            "open_condition",
            format!("an opening condition is ignored for {}", open.label_zh()),
        );
    }
    match (share, open) {
        (ShareType::NotShared, OpenType::Unconditional | OpenType::Conditional) => report.error(
            CheckKind::Share,
            "open_type",
            "an entry that is 不予共享 cannot be opened to the public: use 不予开放",
        ),
        (ShareType::Conditional, OpenType::Unconditional) => report.warn(
            CheckKind::Share,
            "open_type",
            "无条件开放 with 有条件共享: the public would get freely what departments get only on \
             conditions; consider 无条件共享 or 有条件开放",
        ),
        _ => {}
    }

    if let Some(grade) = draft.grade() {
        check_grade_against_share(grade, share, open, report);
    }

    for (i, item) in draft.items.iter().enumerate() {
        let Some(item_share) = item.share_type else {
            if item.share_condition.is_some() || item.legal_basis.is_some() {
                report.warn(
                    CheckKind::Share,
                    format!("items[{i}].share_type"),
                    "a condition or legal basis on an item needs the item's own share_type",
                );
            }
            continue;
        };
        let prefix = format!("items[{i}].");
        check_share_requirements(report, &prefix, item_share, &item.share_condition, &item.legal_basis);
        let field = format!("items[{i}].share_type");
        if share == ShareType::NotShared && strictness(item_share) < strictness(share) {
            report.error(
                CheckKind::Share,
                field,
                format!("the entry is 不予共享, so no item can be {}", item_share.label_zh()),
            );
        } else if share == ShareType::Unconditional && strictness(item_share) > strictness(share) {
            report.error(
                CheckKind::Share,
                field,
                format!(
                    "item is {} but the entry is 无条件共享: an entry with restricted items is 有条件共享",
                    item_share.label_zh()
                ),
            );
        }
    }
}

fn check_grade_against_share(grade: Grade, share: ShareType, open: OpenType, report: &mut CheckReport) {
    match grade.level {
        GradeLevel::Core => {
            if share == ShareType::Unconditional {
                report.error(CheckKind::Share, "share_type", "核心数据 cannot be 无条件共享");
            }
            if open != OpenType::NotOpen {
                report.error(CheckKind::Share, "open_type", "核心数据 cannot be opened: use 不予开放");
            }
        }
        GradeLevel::Important => {
            if open == OpenType::Unconditional {
                report.error(CheckKind::Share, "open_type", "重要数据 cannot be 无条件开放");
            }
            if share == ShareType::Unconditional {
                report.warn(
                    CheckKind::Share,
                    "share_type",
                    "重要数据 shared without conditions: check that 无条件共享 is intended",
                );
            }
        }
        GradeLevel::General => {}
    }
}

fn check_items(draft: &EntryDraft, ctx: &CheckContext<'_>, report: &mut CheckReport) {
    if draft.items.is_empty() {
        report.error(CheckKind::Items, "items", "an entry needs at least one information item (信息项)");
    }
    let mut first_index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in draft.items.iter().enumerate() {
        let name = normalize(&item.name);
        if name.is_empty() {
            report.error(CheckKind::Items, format!("items[{i}].name"), "item name is required");
        } else if let Some(first) = first_index.get(&name) {
            report.error(
                CheckKind::Items,
                format!("items[{i}].name"),
                format!("{:?} repeats the name of items[{first}]", item.name),
            );
        } else {
            first_index.insert(name, i);
        }
        check_item_length(i, item, report);
        if item.data_element.as_deref().is_some_and(blank) {
            report.error(CheckKind::Items, format!("items[{i}].data_element"), "data element id is empty");
        }
        check_item_grade(i, item, ctx, report);
    }
}

fn check_item_length(i: usize, item: &InfoItem, report: &mut CheckReport) {
    let rule = item.type_code.length_rule();
    let type_name = format!("{} ({})", item.type_code.code(), item.type_code.label_zh());
    match item.length {
        None if rule.required => {
            report.error(
                CheckKind::Items,
                format!("items[{i}].length"),
                format!("{type_name} needs a length"),
            );
        }
        Some(length) if length < rule.min || length > rule.max => {
            let allowed = if rule.min == rule.max {
                format!("exactly {}", rule.min)
            } else if rule.max == u32::MAX {
                format!("at least {}", rule.min)
            } else {
                format!("{}-{}", rule.min, rule.max)
            };
            report.error(
                CheckKind::Items,
                format!("items[{i}].length"),
                format!("length of a {type_name} item must be {allowed}, got {length}"),
            );
        }
        _ => {}
    }
    if let Some(scale) = item.scale {
        if !rule.scale_allowed {
            report.error(
                CheckKind::Items,
                format!("items[{i}].scale"),
                format!("{type_name} has no decimal places; scale applies to N, Y and F"),
            );
        } else if item.length.is_some_and(|length| scale > length) {
            report.error(CheckKind::Items, format!("items[{i}].scale"), "scale cannot exceed length");
        }
    }
}

fn check_item_grade(i: usize, item: &InfoItem, ctx: &CheckContext<'_>, report: &mut CheckReport) {
    let suggestion = ctx.sensitivity.suggest(&item.name);
    match &item.grade {
        None => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!("; suggested at least {}", ctx.grading.label_zh(&s.min_grade)))
                .unwrap_or_default();
            report.error(
                CheckKind::Grade,
                format!("items[{i}].grade"),
                format!("every item needs a grade{hint}"),
            );
        }
        Some(grade) => {
            if let Err(message) = ctx.grading.check(grade) {
                report.error(CheckKind::Grade, format!("items[{i}].grade"), message);
            } else if let Some(s) = suggestion.as_ref().filter(|s| *grade < s.min_grade) {
                report.warn(
                    CheckKind::Sensitivity,
                    format!("items[{i}].grade"),
                    format!(
                        "{:?} looks like {} ({}): suggested at least {}, got {}",
                        item.name,
                        s.category.label_zh(),
                        s.reason,
                        ctx.grading.label_zh(&s.min_grade),
                        ctx.grading.label_zh(grade)
                    ),
                );
            }
        }
    }
    if let (Some(s), None) = (&suggestion, item.sensitivity) {
        report.warn(
            CheckKind::Sensitivity,
            format!("items[{i}].sensitivity"),
            format!(
                "{:?} looks like {}: set its sensitivity to {}",
                item.name,
                s.category.label_zh(),
                serde_json::to_value(s.category)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        );
    }
}

fn check_provider(draft: &EntryDraft, report: &mut CheckReport) {
    let check = validate::uscc(&draft.provider.uscc);
    for error in check.errors {
        report.error(CheckKind::Provider, "provider.uscc", format!("provider USCC: {error}"));
    }
    for warning in check.warnings {
        report.warn(CheckKind::Provider, "provider.uscc", format!("provider USCC: {warning}"));
    }
}

fn name_set<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names.into_iter().map(|n| normalize(n)).filter(|n| !n.is_empty()).collect()
}

/// Shared item names / the larger of the two sets, after normalization; 0
/// when either side has no items.
pub fn item_overlap(a: &[String], b: &[String]) -> f64 {
    overlap(&name_set(a), &name_set(b))
}

fn overlap(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let larger = a.len().max(b.len());
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(b).count() as f64 / larger as f64
}

/// The duplicate check alone: findings naming each existing entry the draft
/// duplicates. Skips the entry's own versions (`own_code`) and entries that
/// are withdrawn, discarded or superseded.
pub fn find_duplicates(
    draft: &EntryDraft,
    existing: &[EntrySummary],
    own_code: Option<&ResourceCode>,
    config: &DuplicateConfig,
) -> Vec<Finding> {
    let items = name_set(draft.items.iter().map(|i| &i.name));
    let system = draft.system_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut reported = BTreeSet::new();
    let mut findings = Vec::new();
    for other in existing {
        if Some(&other.code) == own_code
            || matches!(
                other.status,
                EntryStatus::Withdrawn | EntryStatus::Discarded | EntryStatus::Superseded
            )
            || reported.contains(&other.code)
        {
            continue;
        }
        let shared = overlap(&items, &name_set(&other.item_names));
        if shared < config.item_overlap {
            continue;
        }
        let similarity = name_similarity(&draft.name, &other.name);
        let same_system = system.is_some() && system == other.system_id.as_deref().map(str::trim);
        let finding = if similarity >= config.name_similarity {
            Finding::new(
                CheckKind::Duplicate,
                Severity::Error,
                "name",
                format!(
                    "duplicates {} 《{}》: names {:.0}% alike and {:.0}% of items shared",
                    other.code,
                    other.name,
                    similarity * 100.0,
                    shared * 100.0
                ),
            )
        } else if same_system {
            Finding::new(
                CheckKind::Duplicate,
                config.same_system_severity,
                "items",
                format!(
                    "{:.0}% of items are shared with {} 《{}》 from the same information system: one \
                     data, one source (一数一源) — extend that entry instead?",
                    shared * 100.0,
                    other.code,
                    other.name
                ),
            )
        } else {
            continue;
        };
        reported.insert(other.code.clone());
        findings.push(Finding { related_code: Some(other.code.clone()), ..finding });
    }
    findings
}
