//! The catalog (数据目录) domain model: pure types and rules, no I/O. The
//! store, the catalog service, search and the API are built on these.
//!
//! # The model
//!
//! A provider department describes one data resource in an [`EntryDraft`]:
//! the core metadata of the 2017 guide (《政务信息资源目录编制指南（试行）》,
//! 发改高技〔2017〕1272号) and GB/T 21063.3 (政务信息资源目录体系 第3部分:
//! 核心元数据):
//!
//! | metadata | field | notes |
//! |---|---|---|
//! | 信息资源分类 (类/项/目/细目) | `classification` | [`Classification`]; 类 is base / theme / department |
//! | 信息资源名称, 摘要 | `name`, `summary` | plus `keywords` for search |
//! | 信息资源提供方, 提供方代码 | `provider` | department id + USCC (GB 32100) |
//! | 信息资源格式 | `format_class`, `format_type` | the guide's 7 classes ([`FormatClass`]) |
//! | 信息项 | `items` | name, type code C/N/Y/D/T/L/M/G/B/I/F ([`ItemType`]), length, 数据元, sensitivity, grade |
//! | 共享属性 | `share_type`, `share_condition`, `legal_basis`, `share_modes` | per entry, and per item when it differs |
//! | 开放属性 | `open_type`, `open_condition` | |
//! | 更新周期 | `update_cycle` | [`UpdateCycle`] |
//! | 关联资源代码 | `related_codes` | [`ResourceCode`]s |
//! | 发布日期 | [`CatalogEntry::published_on`] | set on publication |
//! | "数据—系统" | `system_id` | the producing 政务信息系统 (guide 国办函〔2022〕102号 四(二)2) |
//! | "目录—数据" | `resources` | typed links to the table / API / file holding the data |
//!
//! The stored [`CatalogEntry`] adds what the provider does not write: the
//! resource code, the version number, the lifecycle status, the derived grade,
//! who created and submitted it, and timestamps.
//!
//! # Where each rule comes from
//!
//! - **Coding rule** ([`codes`]): 信息资源代码 = 分类码 + "/" + 顺序码. The 2017
//!   guide fixes 类 (1 digit), 项 (2), 目 (3); it leaves 细目 and the 顺序码
//!   open, and we fix them at 3 and 6 digits so codes parse and sort as text.
//!   The code is assigned once ([`next_resource_code`]) and every later version
//!   keeps it.
//! - **Lifecycle** ([`lifecycle`]): draft → submitted → approved → published,
//!   or returned with per-field reasons and revised; a published entry gets
//!   version n+1 as a new draft and is superseded when it is published; a
//!   published entry can be withdrawn. The data authority reviews (guide
//!   102号 四(二)1–2: 各地区各部门政务数据主管部门负责…目录的审核, 将审核不通过的目录退回纠正);
//!   nobody reviews their own entry (issue #3).
//! - **Automatic checks** ([`checks`]): the guide's instruction to check catalogs
//!   against the code rules and metadata specification, "一数一源" and the
//!   "数据—系统" link, plus our consistency rules between share type, open
//!   type and grade; the table in [`checks`] lists each rule and its source.
//! - **Grading** ([`grade`]): GB/T 43697-2024 levels 核心 / 重要 / 一般, 一般
//!   subdivided 1–4 by a configurable scheme; an entry takes the highest grade
//!   of its items (就高从严).
//! - **Sensitivity suggestions** ([`sensitivity`]): configurable name rules after
//!   the Personal Information Protection Law art. 28 and GB/T 35273.
//! - **Version diff** ([`diff`]): leaf fields by path, items by name.
//! - **Deadlines**: registration and updates within 20 working days (guide
//!   102号 四(二)3) are counted on [`crate::calendar`].

pub mod checks;
pub mod codes;
pub mod diff;
pub mod entry;
pub mod grade;
pub mod lifecycle;
pub mod sensitivity;
mod text;

pub use checks::{
    check_draft, find_duplicates, item_overlap, CheckContext, CheckKind, CheckReport, DuplicateConfig,
    Finding, Severity,
};
pub use codes::{next_resource_code, Classification, ResourceCode, TopClass};
pub use diff::{diff_drafts, diff_versions, EntryDiff, FieldChange, ItemChange};
pub use entry::{
    CatalogEntry, EntryDraft, EntrySummary, FormatClass, InfoItem, ItemType, LengthRule, OpenType, Provider,
    ResourceKind, ResourceLink, ShareMode, ShareType, UpdateCycle,
};
pub use grade::{highest_grade, Grade, GradeLevel, GradingScheme};
pub use lifecycle::{
    transition, Action, ActionKind, ActorContext, ActorRef, EntryStatus, HistoryStep, ReturnReason,
    Transition, TransitionError, VersionState,
};
pub use sensitivity::{SensitivityCategory, SensitivityRule, SensitivityRules, SensitivitySuggestion};
pub use text::{name_similarity, normalize};
