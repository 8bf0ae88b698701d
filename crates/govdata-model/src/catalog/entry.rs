//! The catalog entry: what a provider submits ([`EntryDraft`]) and what the
//! store keeps ([`CatalogEntry`]), with the closed vocabularies of the 2017
//! guide / GB/T 21063.3 core metadata.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::codes::{Classification, ResourceCode};
use super::grade::{highest_grade, Grade};
use super::lifecycle::{ActorRef, EntryStatus};
use super::sensitivity::SensitivityCategory;

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// 信息资源格式分类: the seven format classes of the 2017 guide.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FormatClass {
    /// 电子文件.
    ElectronicFile,
    /// 电子表格.
    Spreadsheet,
    /// 数据库.
    Database,
    /// 图形图像.
    Image,
    /// 流媒体.
    StreamingMedia,
    /// 自描述格式.
    SelfDescribing,
    /// 其他.
    Other,
}

impl FormatClass {
    pub const ALL: [FormatClass; 7] = [
        FormatClass::ElectronicFile,
        FormatClass::Spreadsheet,
        FormatClass::Database,
        FormatClass::Image,
        FormatClass::StreamingMedia,
        FormatClass::SelfDescribing,
        FormatClass::Other,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            FormatClass::ElectronicFile => "电子文件",
            FormatClass::Spreadsheet => "电子表格",
            FormatClass::Database => "数据库",
            FormatClass::Image => "图形图像",
            FormatClass::StreamingMedia => "流媒体",
            FormatClass::SelfDescribing => "自描述格式",
            FormatClass::Other => "其他",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            FormatClass::ElectronicFile => "electronic file",
            FormatClass::Spreadsheet => "spreadsheet",
            FormatClass::Database => "database",
            FormatClass::Image => "graphics and images",
            FormatClass::StreamingMedia => "streaming media",
            FormatClass::SelfDescribing => "self-describing format",
            FormatClass::Other => "other",
        }
    }

    /// Format types usual for the class, lower case. The guide gives
    /// examples (OFD, wps, xls, et, 达梦, mysql, jpg, swf, xml…); the list
    /// adds today's common ones. A type outside it is a warning, not an
    /// error: the list can never be complete. Empty for [`FormatClass::Other`].
    pub fn known_types(self) -> &'static [&'static str] {
        match self {
            FormatClass::ElectronicFile => {
                &["ofd", "pdf", "wps", "doc", "docx", "txt", "rtf", "html", "htm", "odt"]
            }
            FormatClass::Spreadsheet => &["et", "xls", "xlsx", "csv", "ods"],
            FormatClass::Database => &[
                "dm",
                "kingbase",
                "kingbasees",
                "gbase",
                "oscar",
                "opengauss",
                "gaussdb",
                "oceanbase",
                "tidb",
                "mysql",
                "mariadb",
                "oracle",
                "sqlserver",
                "postgresql",
                "db2",
                "sybase",
                "access",
                "dbf",
                "sqlite",
                "hive",
                "mongodb",
                "clickhouse",
                "doris",
            ],
            FormatClass::Image => {
                &["jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "svg", "webp", "dwg", "shp"]
            }
            FormatClass::StreamingMedia => &[
                "mp4", "flv", "avi", "wmv", "mov", "mkv", "mp3", "wav", "rm", "rmvb", "mpg", "mpeg", "swf",
                "m3u8",
            ],
            FormatClass::SelfDescribing => &["xml", "json", "jsonld", "rdf", "geojson", "yaml"],
            FormatClass::Other => &[],
        }
    }
}

/// 信息项数据类型: the type codes of GB/T 21063.3 / the 2017 guide.
/// Serialized as the code letter, which is what other catalog systems
/// exchange.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum ItemType {
    /// C 字符型.
    #[serde(rename = "C")]
    Character,
    /// N 数值型.
    #[serde(rename = "N")]
    Numeric,
    /// Y 货币型.
    #[serde(rename = "Y")]
    Currency,
    /// D 日期型 (YYYYMMDD).
    #[serde(rename = "D")]
    Date,
    /// T 日期时间型 (YYYYMMDDhhmmss).
    #[serde(rename = "T")]
    DateTime,
    /// L 逻辑型.
    #[serde(rename = "L")]
    Logical,
    /// M 备注型.
    #[serde(rename = "M")]
    Memo,
    /// G 通用型 (an embedded object).
    #[serde(rename = "G")]
    General,
    /// B 二进制.
    #[serde(rename = "B")]
    Binary,
    /// I 整数型.
    #[serde(rename = "I")]
    Integer,
    /// F 浮点型.
    #[serde(rename = "F")]
    Float,
}

/// What lengths an item type allows. `length` counts characters for C,
/// digits (precision) for N/Y/I/F, and is the fixed width of the stored text
/// form for D/T/L. M, G and B hold variable-size content: a length, when
/// given, is only an upper bound in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LengthRule {
    pub required: bool,
    pub min: u32,
    pub max: u32,
    /// Whether decimal places (`scale`) may be given.
    pub scale_allowed: bool,
}

impl ItemType {
    pub const ALL: [ItemType; 11] = [
        ItemType::Character,
        ItemType::Numeric,
        ItemType::Currency,
        ItemType::Date,
        ItemType::DateTime,
        ItemType::Logical,
        ItemType::Memo,
        ItemType::General,
        ItemType::Binary,
        ItemType::Integer,
        ItemType::Float,
    ];

    pub fn code(self) -> char {
        match self {
            ItemType::Character => 'C',
            ItemType::Numeric => 'N',
            ItemType::Currency => 'Y',
            ItemType::Date => 'D',
            ItemType::DateTime => 'T',
            ItemType::Logical => 'L',
            ItemType::Memo => 'M',
            ItemType::General => 'G',
            ItemType::Binary => 'B',
            ItemType::Integer => 'I',
            ItemType::Float => 'F',
        }
    }

    pub fn from_code(code: char) -> Option<Self> {
        ItemType::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ItemType::Character => "字符型",
            ItemType::Numeric => "数值型",
            ItemType::Currency => "货币型",
            ItemType::Date => "日期型",
            ItemType::DateTime => "日期时间型",
            ItemType::Logical => "逻辑型",
            ItemType::Memo => "备注型",
            ItemType::General => "通用型",
            ItemType::Binary => "二进制",
            ItemType::Integer => "整数型",
            ItemType::Float => "浮点型",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ItemType::Character => "character",
            ItemType::Numeric => "numeric",
            ItemType::Currency => "currency",
            ItemType::Date => "date",
            ItemType::DateTime => "date and time",
            ItemType::Logical => "logical",
            ItemType::Memo => "memo",
            ItemType::General => "general (object)",
            ItemType::Binary => "binary",
            ItemType::Integer => "integer",
            ItemType::Float => "floating point",
        }
    }

    /// The length rule of the type. Our choices where the guide gives no
    /// numbers: C up to 4000 characters (longer text is M); N, Y, F up to 38
    /// digits (the widest DECIMAL of common databases); I up to 19 digits
    /// (64-bit); D exactly 8, T exactly 14, L exactly 1 (their text forms).
    pub fn length_rule(self) -> LengthRule {
        let rule = |required, min, max, scale_allowed| LengthRule { required, min, max, scale_allowed };
        match self {
            ItemType::Character => rule(true, 1, 4000, false),
            ItemType::Numeric => rule(true, 1, 38, true),
            ItemType::Currency => rule(false, 1, 38, true),
            ItemType::Float => rule(false, 1, 38, true),
            ItemType::Integer => rule(false, 1, 19, false),
            ItemType::Date => rule(false, 8, 8, false),
            ItemType::DateTime => rule(false, 14, 14, false),
            ItemType::Logical => rule(false, 1, 1, false),
            ItemType::Memo | ItemType::General | ItemType::Binary => rule(false, 1, u32::MAX, false),
        }
    }
}

/// 共享类型.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ShareType {
    /// 无条件共享: any government department may have it.
    Unconditional,
    /// 有条件共享: on conditions the provider states (共享条件).
    Conditional,
    /// 不予共享: not shared, on a stated legal basis.
    NotShared,
}

impl ShareType {
    pub fn label_zh(self) -> &'static str {
        match self {
            ShareType::Unconditional => "无条件共享",
            ShareType::Conditional => "有条件共享",
            ShareType::NotShared => "不予共享",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ShareType::Unconditional => "shared without conditions",
            ShareType::Conditional => "shared on conditions",
            ShareType::NotShared => "not shared",
        }
    }
}

/// 共享方式: how a consumer gets the data. An entry may offer several.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ShareMode {
    /// 库表: table exchange.
    Table,
    /// 接口: API.
    Api,
    /// 文件: file download.
    File,
}

impl ShareMode {
    pub fn label_zh(self) -> &'static str {
        match self {
            ShareMode::Table => "库表",
            ShareMode::Api => "接口",
            ShareMode::File => "文件",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ShareMode::Table => "table",
            ShareMode::Api => "API",
            ShareMode::File => "file",
        }
    }
}

/// 开放属性: whether and how the entry is opened to the public.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OpenType {
    /// 无条件开放.
    Unconditional,
    /// 有条件开放: on stated conditions (开放条件).
    Conditional,
    /// 不予开放.
    NotOpen,
}

impl OpenType {
    pub fn label_zh(self) -> &'static str {
        match self {
            OpenType::Unconditional => "无条件开放",
            OpenType::Conditional => "有条件开放",
            OpenType::NotOpen => "不予开放",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            OpenType::Unconditional => "open without conditions",
            OpenType::Conditional => "open on conditions",
            OpenType::NotOpen => "not open",
        }
    }
}

/// 更新周期.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UpdateCycle {
    RealTime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
    Irregular,
}

impl UpdateCycle {
    pub fn label_zh(self) -> &'static str {
        match self {
            UpdateCycle::RealTime => "实时",
            UpdateCycle::Daily => "每日",
            UpdateCycle::Weekly => "每周",
            UpdateCycle::Monthly => "每月",
            UpdateCycle::Quarterly => "每季度",
            UpdateCycle::HalfYearly => "每半年",
            UpdateCycle::Yearly => "每年",
            UpdateCycle::Irregular => "不定期",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            UpdateCycle::RealTime => "real time",
            UpdateCycle::Daily => "daily",
            UpdateCycle::Weekly => "weekly",
            UpdateCycle::Monthly => "monthly",
            UpdateCycle::Quarterly => "quarterly",
            UpdateCycle::HalfYearly => "half-yearly",
            UpdateCycle::Yearly => "yearly",
            UpdateCycle::Irregular => "irregular",
        }
    }
}

/// Kind of the resource a "catalog—data" link points at.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Table,
    Api,
    File,
}

impl ResourceKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            ResourceKind::Table => "库表",
            ResourceKind::Api => "接口",
            ResourceKind::File => "文件",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ResourceKind::Table => "table",
            ResourceKind::Api => "API",
            ResourceKind::File => "file",
        }
    }
}

/// "目录—数据" link: the table, API or file that holds the entry's data.
/// The id is opaque here; the resource registry that issues it comes later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceLink {
    pub kind: ResourceKind,
    pub id: String,
}

/// 信息资源提供方: the department and its code (统一社会信用代码, the
/// 提供方代码 of the core metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub department_id: String,
    /// GB 32100 unified social credit code.
    pub uscc: String,
}

/// 信息项: one field of the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoItem {
    /// 信息项名称; unique within the entry (after normalization), since
    /// versions are compared item by item by name.
    pub name: String,
    pub type_code: ItemType,
    /// See [`ItemType::length_rule`].
    #[serde(default)]
    pub length: Option<u32>,
    /// Decimal places, for N, Y and F; at most `length`.
    #[serde(default)]
    pub scale: Option<u32>,
    /// Identifier of the 数据元 (data element) the item follows, e.g. a
    /// GB/T 19488 / 数据元目录 identifier.
    #[serde(default)]
    pub data_element: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Personal or sensitive data category, if any.
    #[serde(default)]
    pub sensitivity: Option<SensitivityCategory>,
    /// 分级: required at submission.
    #[serde(default)]
    pub grade: Option<Grade>,
    /// Item-level 共享类型 when it differs from the entry's.
    #[serde(default)]
    pub share_type: Option<ShareType>,
    /// Required when the item-level share type is 有条件共享.
    #[serde(default)]
    pub share_condition: Option<String>,
    /// Required when the item-level share type is 不予共享.
    #[serde(default)]
    pub legal_basis: Option<String>,
}

impl InfoItem {
    /// An item with just a name, type and length; everything else unset.
    pub fn new(name: impl Into<String>, type_code: ItemType, length: Option<u32>) -> Self {
        InfoItem {
            name: name.into(),
            type_code,
            length,
            scale: None,
            data_element: None,
            description: None,
            sensitivity: None,
            grade: None,
            share_type: None,
            share_condition: None,
            legal_basis: None,
        }
    }
}

/// What a provider submits: the core metadata of one resource. It carries no
/// code, version or status; those belong to the stored [`CatalogEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryDraft {
    /// 信息资源分类; fixes the 分类码 part of the code at registration.
    pub classification: Classification,
    /// 信息资源名称.
    pub name: String,
    /// 信息资源摘要.
    pub summary: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub provider: Provider,
    /// 信息资源格式: class.
    pub format_class: FormatClass,
    /// 信息资源格式: type within the class, e.g. "xlsx", "mysql".
    pub format_type: String,
    pub items: Vec<InfoItem>,
    pub share_type: ShareType,
    /// 共享条件: required for 有条件共享.
    #[serde(default)]
    pub share_condition: Option<String>,
    /// 不予共享依据: the law or regulation; required for 不予共享.
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// 共享方式; at least one unless 不予共享.
    #[serde(default)]
    pub share_modes: Vec<ShareMode>,
    pub open_type: OpenType,
    /// 开放条件: required for 有条件开放.
    #[serde(default)]
    pub open_condition: Option<String>,
    pub update_cycle: UpdateCycle,
    /// 关联资源代码.
    #[serde(default)]
    pub related_codes: Vec<ResourceCode>,
    /// "数据—系统": the information system that produces the data.
    #[serde(default)]
    pub system_id: Option<String>,
    /// "目录—数据": the resources that hold the data.
    #[serde(default)]
    pub resources: Vec<ResourceLink>,
}

impl EntryDraft {
    /// The entry's grade: the highest of its items' (就高从严); `None` when
    /// no item is graded yet.
    pub fn grade(&self) -> Option<Grade> {
        highest_grade(self.items.iter().filter_map(|i| i.grade.as_ref()))
    }
}

/// One version of a catalog entry as stored. Every version is kept; the
/// code is shared by all versions of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogEntry {
    pub code: ResourceCode,
    /// 1 for the first registration; n+1 for each revision of a published entry.
    pub version: u32,
    pub status: EntryStatus,
    /// The metadata as the provider wrote it for this version.
    pub metadata: EntryDraft,
    /// Derived: [`EntryDraft::grade`], kept for filtering and policy.
    pub grade: Option<Grade>,
    /// Who created this version.
    pub created_by: ActorRef,
    /// Who last submitted this version; the one who may not approve it.
    #[serde(default)]
    pub submitted_by: Option<ActorRef>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// 发布日期: set when this version is published.
    #[serde(default, with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub published_on: Option<Date>,
}

impl CatalogEntry {
    /// The search/duplicate-check view of this version.
    pub fn summary(&self) -> EntrySummary {
        EntrySummary {
            code: self.code.clone(),
            version: self.version,
            status: self.status,
            name: self.metadata.name.clone(),
            provider_department_id: self.metadata.provider.department_id.clone(),
            system_id: self.metadata.system_id.clone(),
            item_names: self.metadata.items.iter().map(|i| i.name.clone()).collect(),
        }
    }
}

/// What the duplicate check needs to know about an existing entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntrySummary {
    pub code: ResourceCode,
    pub version: u32,
    pub status: EntryStatus,
    pub name: String,
    pub provider_department_id: String,
    #[serde(default)]
    pub system_id: Option<String>,
    pub item_names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_type_codes_round_trip() {
        for t in ItemType::ALL {
            assert_eq!(ItemType::from_code(t.code()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert_eq!(serde_json::from_str::<ItemType>(&json).unwrap(), t);
        }
        assert!(serde_json::from_str::<ItemType>("\"X\"").is_err());
        assert!(serde_json::from_str::<ItemType>("\"c\"").is_err());
    }

    #[test]
    fn length_rules_are_consistent() {
        for t in ItemType::ALL {
            let rule = t.length_rule();
            assert!(rule.min >= 1 && rule.min <= rule.max, "{t:?}");
        }
        assert_eq!(ItemType::Date.length_rule().max, 8);
        assert!(ItemType::Character.length_rule().required);
    }

    #[test]
    fn labels_exist_for_every_variant() {
        for c in FormatClass::ALL {
            assert!(!c.label_zh().is_empty() && !c.label_en().is_empty());
            assert!(c
                .known_types()
                .iter()
                .all(|t| t.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())));
        }
        assert_eq!(ShareType::NotShared.label_zh(), "不予共享");
        assert_eq!(OpenType::Conditional.label_zh(), "有条件开放");
        assert_eq!(UpdateCycle::HalfYearly.label_zh(), "每半年");
        assert_eq!(serde_json::to_value(UpdateCycle::RealTime).unwrap(), "real_time");
        assert_eq!(serde_json::to_value(ShareType::NotShared).unwrap(), "not_shared");
    }
}
