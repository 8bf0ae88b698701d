//! Bulk import and export of catalog entries: Excel (xlsx, the form
//! departments fill in), CSV and JSON, with a report naming the row, column
//! and reason of every problem found (parsing never stops at the first).
//!
//! # The tabular layout (xlsx and CSV)
//!
//! One row per information item (信息项); the entry-level columns are filled on
//! the first row of an entry and left blank on its further item rows, which is
//! how the paper form (with merged cells) reads. Import also accepts the
//! entry-level values repeated on every item row (what a database export or a
//! sorted sheet gives): a row continues the current entry when its
//! 信息资源名称 is blank or the same, and every other entry-level value on it is
//! blank or the same as on the entry's first row. A different 信息资源名称
//! starts the next entry. Blank rows are skipped.
//!
//! The header row is the first row (of the first worksheet) holding a
//! 信息资源名称 cell, so a title row above it is fine. Headers match after
//! trimming, dropping `*` marks and anything from an opening parenthesis
//! (`长度（字符）` is `长度`); unknown columns (序号, 备注, the exported
//! 信息资源代码) are ignored. The columns, required ones marked ✱:
//!
//! | header | field | values |
//! |---|---|---|
//! | 分类 ✱ | `classification` | 分类码 of 3, 6 or 9 digits, e.g. `301002` |
//! | 信息资源名称 ✱ | `name` | |
//! | 摘要 ✱ | `summary` | |
//! | 关键字 | `keywords` | separated by `；` `;` `，` `,` `、` or line breaks |
//! | 提供方部门标识 | `provider.department_id` | blank: the importing department |
//! | 提供方统一社会信用代码 ✱ | `provider.uscc` | |
//! | 格式分类 ✱ | `format_class` | 电子文件 电子表格 数据库 图形图像 流媒体 自描述格式 其他 |
//! | 格式类型 ✱ | `format_type` | e.g. `mysql`, `xlsx` |
//! | 共享类型 ✱ | `share_type` | 无条件共享 有条件共享 不予共享 |
//! | 共享条件, 不予共享依据 | `share_condition`, `legal_basis` | |
//! | 共享方式 | `share_modes` | 库表 接口 文件, several separated as keywords |
//! | 开放类型 ✱ | `open_type` | 无条件开放 有条件开放 不予开放 |
//! | 开放条件 | `open_condition` | |
//! | 更新周期 ✱ | `update_cycle` | 实时 每日 每周 每月 每季度 每半年 每年 不定期 |
//! | 关联资源代码 | `related_codes` | resource codes, separated as keywords |
//! | 所属信息系统 | `system_id` | |
//! | 关联数据资源 | `resources` | `库表:id`, `接口:id`, `文件:id`, separated as keywords |
//! | 信息项名称 ✱ | `items[].name` | |
//! | 数据类型 ✱ | `items[].type_code` | `C`, `字符型` or `C/字符型` (C N Y D T L M G B I F) |
//! | 长度, 小数位 | `items[].length`, `items[].scale` | whole numbers |
//! | 数据元标识, 信息项描述 | `items[].data_element`, `items[].description` | |
//! | 敏感类别 | `items[].sensitivity` | e.g. 身份证件号码, 姓名, 联系方式 |
//! | 分级 | `items[].grade` | 核心, 重要, 一般, 一般3级 (also 核心数据, 重要数据, 一般数据3级) |
//! | 信息项共享类型, 信息项共享条件, 信息项不予共享依据 | `items[].share_type`, … | when the item differs from the entry |
//!
//! Every closed vocabulary also accepts the JSON code (`conditional`,
//! `daily`, `core`, `general:3`) and the English label. CSV may be UTF-8 (with
//! or without BOM) or GB18030/GBK, which is what Chinese office software saves;
//! export writes UTF-8 with a BOM, which Excel opens correctly.
//!
//! JSON is an array of [`EntryDraft`]; errors name the array position (1-based)
//! as the row and the field path as the column.
//!
//! # Import semantics
//!
//! [`Catalog::import`] validates the whole file first: parsing, the
//! registration rules (own department, its USCC, the coding rule), the
//! automatic checks of submission ([`Catalog::check`]: required fields, share
//! rules, items, grades, duplicates against live entries) and duplicates
//! within the file. If any row has an error nothing is imported and the full
//! report is returned (all-or-nothing per file).
//!
//! Otherwise each entry is registered as a draft, in file order, each in its
//! own transaction. Re-running the same file is idempotent: an entry whose
//! department already has a draft with the same name and exactly the same
//! metadata is skipped (reported in `skipped`), so if the process dies
//! mid-way, importing the file again registers only what is missing.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use govdata_model::catalog::{
    CatalogEntry, Classification, EntryDraft, EntryStatus, FormatClass, Grade, GradeLevel, InfoItem,
    ItemType, OpenType, Provider, ResourceCode, ResourceKind, ResourceLink, SensitivityCategory, ShareMode,
    ShareType, UpdateCycle,
};
use govdata_model::{ApiError, ErrorCode};
use govdata_store::CatalogFilter;
use serde::{Deserialize, Serialize};

use crate::{Caller, Catalog, CatalogError, Result};

/// A file format of import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Xlsx,
    Csv,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// The format a Content-Type names, if any.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
            "text/csv" | "application/csv" => Some(Format::Csv),
            "application/json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// One problem: the 1-based row of the sheet or CSV file (for JSON, the
/// position in the array; 0 for the file as a whole), the column header (for
/// JSON, the field path) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub row: u32,
    pub column: Option<String>,
    pub reason: String,
}

/// What was read from a file and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Non-blank data rows (JSON: array elements).
    pub rows_read: u32,
    /// Entries found in them.
    pub entries: u32,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    fn error(&mut self, row: u32, column: Option<&str>, reason: impl Into<String>) {
        self.errors.push(RowError { row, column: column.map(str::to_owned), reason: reason.into() });
    }
}

/// An entry read from a file, with the rows it came from.
#[derive(Debug, Clone)]
pub struct ParsedEntry {
    pub draft: EntryDraft,
    /// The entry's first row.
    pub row: u32,
    /// The row of each item, in order.
    pub item_rows: Vec<u32>,
    tabular: bool,
}

impl ParsedEntry {
    /// Where a field path of the draft (`items[2].length`) sits in the file.
    fn locate(&self, field: &str) -> (u32, Option<String>) {
        if !self.tabular {
            return (self.row, Some(field.to_owned()));
        }
        if let Some(rest) = field.strip_prefix("items[") {
            let (index, rest) = rest.split_once(']').unwrap_or((rest, ""));
            let row = index.parse::<usize>().ok().and_then(|i| self.item_rows.get(i)).copied();
            let name = rest.trim_start_matches('.');
            let name = name.split(['.', '[']).next().unwrap_or("");
            let column = COLUMNS
                .iter()
                .find(|c| c.item && c.field == name)
                .or_else(|| COLUMNS.iter().find(|c| c.col == Col::ItemName));
            return (row.unwrap_or(self.row), column.map(|c| c.header.to_owned()));
        }
        let head = field.split('[').next().unwrap_or(field);
        let head = if head.starts_with("provider.") { head } else { head.split('.').next().unwrap_or(head) };
        let column = match head {
            "items" => COLUMNS.iter().find(|c| c.col == Col::ItemName),
            _ => COLUMNS.iter().find(|c| !c.item && c.field == head),
        };
        (self.row, Some(column.map_or(field, |c| c.header).to_owned()))
    }
}

/// The entries of a file, and the report of reading it. Entries with errors
/// are not in `entries`.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    pub entries: Vec<ParsedEntry>,
    pub report: ImportReport,
}

/// The result of an import (or of its dry run).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportOutcome {
    /// Codes of the entries registered, in file order; empty on a dry run or on errors.
    pub imported: Vec<ResourceCode>,
    /// Entries already registered by an earlier import of the same rows.
    pub skipped: Vec<ResourceCode>,
    pub report: ImportReport,
}

/// Writing an export failed.
#[derive(Debug, thiserror::Error)]
#[error("export failed: {0}")]
pub struct ExportError(String);

impl ApiError for ExportError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Internal
    }

    fn public_message(&self) -> String {
        "the export could not be written".into()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Classification,
    Name,
    Summary,
    Keywords,
    DepartmentId,
    Uscc,
    FormatClass,
    FormatType,
    ShareType,
    ShareCondition,
    LegalBasis,
    ShareModes,
    OpenType,
    OpenCondition,
    UpdateCycle,
    RelatedCodes,
    SystemId,
    Resources,
    ItemName,
    ItemType,
    Length,
    Scale,
    DataElement,
    Description,
    Sensitivity,
    Grade,
    ItemShareType,
    ItemShareCondition,
    ItemLegalBasis,
}

struct Column {
    col: Col,
    header: &'static str,
    /// The draft's field (for items: the item's).
    field: &'static str,
    item: bool,
    required: bool,
}

const fn column(col: Col, header: &'static str, field: &'static str, item: bool, required: bool) -> Column {
    Column { col, header, field, item, required }
}

const COLUMNS: [Column; 29] = [
    column(Col::Classification, "分类", "classification", false, true),
    column(Col::Name, "信息资源名称", "name", false, true),
    column(Col::Summary, "摘要", "summary", false, true),
    column(Col::Keywords, "关键字", "keywords", false, false),
    column(Col::DepartmentId, "提供方部门标识", "provider.department_id", false, false),
    column(Col::Uscc, "提供方统一社会信用代码", "provider.uscc", false, true),
    column(Col::FormatClass, "格式分类", "format_class", false, true),
    column(Col::FormatType, "格式类型", "format_type", false, true),
    column(Col::ShareType, "共享类型", "share_type", false, true),
    column(Col::ShareCondition, "共享条件", "share_condition", false, false),
    column(Col::LegalBasis, "不予共享依据", "legal_basis", false, false),
    column(Col::ShareModes, "共享方式", "share_modes", false, false),
    column(Col::OpenType, "开放类型", "open_type", false, true),
    column(Col::OpenCondition, "开放条件", "open_condition", false, false),
    column(Col::UpdateCycle, "更新周期", "update_cycle", false, true),
    column(Col::RelatedCodes, "关联资源代码", "related_codes", false, false),
    column(Col::SystemId, "所属信息系统", "system_id", false, false),
    column(Col::Resources, "关联数据资源", "resources", false, false),
    column(Col::ItemName, "信息项名称", "name", true, true),
    column(Col::ItemType, "数据类型", "type_code", true, true),
    column(Col::Length, "长度", "length", true, false),
    column(Col::Scale, "小数位", "scale", true, false),
    column(Col::DataElement, "数据元标识", "data_element", true, false),
    column(Col::Description, "信息项描述", "description", true, false),
    column(Col::Sensitivity, "敏感类别", "sensitivity", true, false),
    column(Col::Grade, "分级", "grade", true, false),
    column(Col::ItemShareType, "信息项共享类型", "share_type", true, false),
    column(Col::ItemShareCondition, "信息项共享条件", "share_condition", true, false),
    column(Col::ItemLegalBasis, "信息项不予共享依据", "legal_basis", true, false),
];

/// The export-only first column; ignored on import.
const CODE_HEADER: &str = "信息资源代码";

const SHARE_TYPES: [ShareType; 3] = [ShareType::Unconditional, ShareType::Conditional, ShareType::NotShared];
const SHARE_MODES: [ShareMode; 3] = [ShareMode::Table, ShareMode::Api, ShareMode::File];
const OPEN_TYPES: [OpenType; 3] = [OpenType::Unconditional, OpenType::Conditional, OpenType::NotOpen];
const UPDATE_CYCLES: [UpdateCycle; 8] = [
    UpdateCycle::RealTime,
    UpdateCycle::Daily,
    UpdateCycle::Weekly,
    UpdateCycle::Monthly,
    UpdateCycle::Quarterly,
    UpdateCycle::HalfYearly,
    UpdateCycle::Yearly,
    UpdateCycle::Irregular,
];
const RESOURCE_KINDS: [ResourceKind; 3] = [ResourceKind::Table, ResourceKind::Api, ResourceKind::File];
const SENSITIVITIES: [SensitivityCategory; 14] = [
    SensitivityCategory::IdentityNumber,
    SensitivityCategory::Biometric,
    SensitivityCategory::Religion,
    SensitivityCategory::CriminalRecord,
    SensitivityCategory::Health,
    SensitivityCategory::Financial,
    SensitivityCategory::Location,
    SensitivityCategory::Minor,
    SensitivityCategory::Credential,
    SensitivityCategory::PersonName,
    SensitivityCategory::Contact,
    SensitivityCategory::Address,
    SensitivityCategory::BirthDate,
    SensitivityCategory::OtherPersonal,
];

const LIST_SEPARATORS: [char; 6] = ['；', ';', '，', ',', '、', '\n'];

/// The JSON code of a unit enum variant (`not_shared`).
fn serde_code<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Matches `text` against the Chinese label, the JSON code or the English
/// label of each value.
fn choose<T: Copy + Serialize>(
    text: &str,
    all: &[T],
    zh: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
) -> std::result::Result<T, String> {
    let text = text.trim();
    all.iter()
        .copied()
        .find(|v| {
            zh(*v) == text || serde_code(*v).eq_ignore_ascii_case(text) || en(*v).eq_ignore_ascii_case(text)
        })
        .ok_or_else(|| {
            let labels: Vec<&str> = all.iter().map(|v| zh(*v)).collect();
            format!("{text:?} is not one of {}", labels.join(" "))
        })
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(LIST_SEPARATORS).map(str::trim).filter(|s| !s.is_empty())
}

fn parse_item_type(text: &str) -> std::result::Result<ItemType, String> {
    let one = |part: &str| {
        let mut chars = part.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => ItemType::from_code(c.to_ascii_uppercase()),
            _ => ItemType::ALL
                .into_iter()
                .find(|t| t.label_zh() == part || t.label_en().eq_ignore_ascii_case(part)),
        }
    };
    let parts: Vec<&str> =
        text.split(['/', ' ', '-', '(', ')', '（', '）', '／']).filter(|p| !p.is_empty()).collect();
    let types: Vec<Option<ItemType>> = parts.iter().map(|p| one(p)).collect();
    match types.first() {
        Some(Some(t)) if types.iter().all(|o| *o == Some(*t)) => Ok(*t),
        _ => Err(format!(
            "{text:?} is not a data type: use a code or label such as C, 字符型 or C/字符型 (C N Y D T L M G B I F)"
        )),
    }
}

fn parse_grade(text: &str) -> std::result::Result<Grade, String> {
    let bad = || format!("{text:?} is not a grade: use 核心, 重要, 一般 or 一般1级–一般4级");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    if ["核心", "核心数据", "core"].contains(&lower.as_str()) {
        return Ok(Grade::CORE);
    }
    if ["重要", "重要数据", "important"].contains(&lower.as_str()) {
        return Ok(Grade::IMPORTANT);
    }
    let rest = ["一般数据", "一般", "general"]
        .iter()
        .find_map(|prefix| lower.strip_prefix(prefix))
        .ok_or_else(bad)?;
    let rest = rest.trim_start_matches([':', '：', '-', '第']).trim_end_matches('级');
    if rest.is_empty() {
        return Ok(Grade { level: GradeLevel::General, sublevel: None });
    }
    let numerals = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let sublevel = match numerals.iter().position(|n| *n == rest) {
        Some(i) => i as u8 + 1,
        None => rest.parse::<u8>().map_err(|_| bad())?,
    };
    Ok(Grade::general(sublevel))
}

fn parse_number(text: &str) -> std::result::Result<u32, String> {
    text.trim().parse::<u32>().map_err(|_| format!("{text:?} is not a whole number"))
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Reads a file into entries and a report.
pub fn parse(format: Format, bytes: &[u8], department_id: &str) -> ParsedFile {
    match format {
        Format::Json => parse_json(bytes),
        Format::Csv => parse_grid(read_csv(bytes), department_id),
        Format::Xlsx => parse_grid(read_xlsx(bytes), department_id),
    }
}

/// Rows with their 1-based numbers, or why the file cannot be read.
type Grid = std::result::Result<Vec<(u32, Vec<String>)>, String>;

fn read_xlsx(bytes: &[u8]) -> Grid {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable Excel (xlsx) workbook: {e}"))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or("the workbook has no worksheet")?
        .map_err(|e| format!("the first worksheet cannot be read: {e}"))?;
    let first = range.start().map_or(0, |(row, _)| row);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let values = cells
                .iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect();
            (first + i as u32 + 1, values)
        })
        .collect())
}

/// Decodes CSV text: UTF-8 (a BOM is dropped), otherwise GB18030 (a superset of GBK).
pub fn decode_csv(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

fn read_csv(bytes: &[u8]) -> Grid {
    let text = decode_csv(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("not a readable CSV file: {e}"))?;
        let line = record.position().map_or(rows.len() as u64 + 1, |p| p.line());
        rows.push((u32::try_from(line).unwrap_or(u32::MAX), record.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

fn normalize_header(text: &str) -> String {
    let text = text.split(['(', '（']).next().unwrap_or("");
    text.chars().filter(|c| !c.is_whitespace() && !['*', '＊', '✱'].contains(c)).collect()
}

/// One data row, read through the header positions.
#[derive(Clone, Copy)]
struct Row<'a> {
    number: u32,
    cells: &'a [String],
    positions: &'a HashMap<Col, usize>,
}

impl Row<'_> {
    fn get(&self, col: Col) -> &str {
        self.positions.get(&col).and_then(|i| self.cells.get(*i)).map_or("", |s| s.trim())
    }
}

fn header(col: Col) -> &'static str {
    COLUMNS.iter().find(|c| c.col == col).map_or("", |c| c.header)
}

fn parse_grid(grid: Grid, department_id: &str) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let rows = match grid {
        Ok(rows) => rows,
        Err(reason) => {
            parsed.report.error(0, None, reason);
            return parsed;
        }
    };
    let name_header = header(Col::Name);
    let Some(header_index) =
        rows.iter().take(20).position(|(_, cells)| cells.iter().any(|c| normalize_header(c) == name_header))
    else {
        parsed.report.error(
            0,
            None,
            format!("no header row: expected a row with the column headers, among them {name_header}"),
        );
        return parsed;
    };
    let (header_row, header_cells) = &rows[header_index];
    let mut positions = HashMap::new();
    for (i, cell) in header_cells.iter().enumerate() {
        let text = normalize_header(cell);
        if let Some(column) = COLUMNS.iter().find(|c| c.header == text) {
            if positions.insert(column.col, i).is_some() {
                parsed.report.error(*header_row, Some(column.header), "the column appears twice");
            }
        }
    }
    for column in COLUMNS.iter().filter(|c| c.required && !positions.contains_key(&c.col)) {
        parsed.report.error(*header_row, Some(column.header), "required column is missing");
    }
    if !parsed.report.errors.is_empty() {
        return parsed;
    }
    // Group the data rows into entries: (first row, item rows).
    let mut groups: Vec<(Row, Vec<Row>)> = Vec::new();
    for (number, cells) in &rows[header_index + 1..] {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        parsed.report.rows_read += 1;
        let row = Row { number: *number, cells, positions: &positions };
        for column in &COLUMNS {
            if row.get(column.col).contains('\0') {
                parsed.report.error(row.number, Some(column.header), "must not contain NUL characters");
            }
        }
        let continues = groups.last().is_some_and(|(first, _)| {
            let name = row.get(Col::Name);
            name.is_empty() || name == first.get(Col::Name)
        });
        let has_item = COLUMNS.iter().any(|c| c.item && !row.get(c.col).is_empty());
        if continues {
            let (first, items) = groups.last_mut().expect("continues only after a first row");
            for column in COLUMNS.iter().filter(|c| !c.item) {
                let value = row.get(column.col);
                if !value.is_empty() && value != first.get(column.col) {
                    parsed.report.error(
                        row.number,
                        Some(column.header),
                        format!(
                            "differs from row {}, the first row of this entry: leave it blank or repeat the same value",
                            first.number
                        ),
                    );
                }
            }
            if has_item {
                items.push(row);
            }
        } else {
            groups.push((row, if has_item { vec![row] } else { Vec::new() }));
        }
    }
    parsed.report.entries = groups.len() as u32;
    let drafts: Vec<Option<EntryDraft>> = groups
        .iter()
        .map(|(first, items)| entry_from_rows(first, items, department_id, &mut parsed.report))
        .collect();
    for (i, ((first, items), draft)) in groups.iter().zip(drafts).enumerate() {
        // An entry is kept only when none of its rows, item or not, has an error.
        let end = groups.get(i + 1).map_or(u32::MAX, |(next, _)| next.number);
        let clean = !parsed.report.errors.iter().any(|e| (first.number..end).contains(&e.row));
        if let (true, Some(draft)) = (clean, draft) {
            parsed.entries.push(ParsedEntry {
                draft,
                row: first.number,
                item_rows: items.iter().map(|r| r.number).collect(),
                tabular: true,
            });
        }
    }
    parsed
}

/// The value, or `None` with the reason reported at `row`, `col`.
fn take<T>(
    report: &mut ImportReport,
    row: u32,
    col: Col,
    value: std::result::Result<T, String>,
) -> Option<T> {
    value.map_err(|reason| report.error(row, Some(header(col)), reason)).ok()
}

/// A required value of the entry's first row, parsed.
fn required<T>(
    first: &Row,
    col: Col,
    report: &mut ImportReport,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Option<T> {
    match first.get(col) {
        "" => take(report, first.number, col, Err("required".into())),
        text => take(report, first.number, col, parse(text)),
    }
}

fn entry_from_rows(
    first: &Row,
    items: &[Row],
    department_id: &str,
    report: &mut ImportReport,
) -> Option<EntryDraft> {
    let row = first.number;
    let classification = required(first, Col::Classification, report, |text| {
        Classification::parse(text).map_err(|e| e.message)
    });
    let format_class = required(first, Col::FormatClass, report, |text| {
        choose(text, &FormatClass::ALL, FormatClass::label_zh, FormatClass::label_en)
    });
    let share_type = required(first, Col::ShareType, report, |text| {
        choose(text, &SHARE_TYPES, ShareType::label_zh, ShareType::label_en)
    });
    let open_type = required(first, Col::OpenType, report, |text| {
        choose(text, &OPEN_TYPES, OpenType::label_zh, OpenType::label_en)
    });
    let update_cycle = required(first, Col::UpdateCycle, report, |text| {
        choose(text, &UPDATE_CYCLES, UpdateCycle::label_zh, UpdateCycle::label_en)
    });
    let share_modes: Vec<ShareMode> = split_list(first.get(Col::ShareModes))
        .filter_map(|m| {
            let mode = choose(m, &SHARE_MODES, ShareMode::label_zh, ShareMode::label_en);
            take(report, row, Col::ShareModes, mode)
        })
        .collect();
    let related_codes: Vec<ResourceCode> = split_list(first.get(Col::RelatedCodes))
        .filter_map(|c| {
            let code = c.parse::<ResourceCode>().map_err(|e| format!("{c:?}: {}", e.message));
            take(report, row, Col::RelatedCodes, code)
        })
        .collect();
    let resources: Vec<ResourceLink> = split_list(first.get(Col::Resources))
        .filter_map(|link| {
            let parsed = match link.split_once([':', '：']) {
                Some((kind, id)) => {
                    choose(kind, &RESOURCE_KINDS, ResourceKind::label_zh, ResourceKind::label_en)
                        .map(|kind| ResourceLink { kind, id: id.trim().to_owned() })
                }
                None => Err(format!("{link:?} is not a link: write 库表:id, 接口:id or 文件:id")),
            };
            take(report, row, Col::Resources, parsed)
        })
        .collect();
    let items: Vec<Option<InfoItem>> = items.iter().map(|r| item_from_row(r, report)).collect();
    let draft = EntryDraft {
        classification: classification?,
        name: first.get(Col::Name).to_owned(),
        summary: first.get(Col::Summary).to_owned(),
        keywords: split_list(first.get(Col::Keywords)).map(str::to_owned).collect(),
        provider: Provider {
            department_id: optional(first.get(Col::DepartmentId)).unwrap_or_else(|| department_id.to_owned()),
            uscc: first.get(Col::Uscc).to_owned(),
        },
        format_class: format_class?,
        format_type: first.get(Col::FormatType).to_owned(),
        items: items.into_iter().collect::<Option<Vec<_>>>()?,
        share_type: share_type?,
        share_condition: optional(first.get(Col::ShareCondition)),
        legal_basis: optional(first.get(Col::LegalBasis)),
        share_modes,
        open_type: open_type?,
        open_condition: optional(first.get(Col::OpenCondition)),
        update_cycle: update_cycle?,
        related_codes,
        system_id: optional(first.get(Col::SystemId)),
        resources,
    };
    Some(draft)
}

fn item_from_row(row: &Row, report: &mut ImportReport) -> Option<InfoItem> {
    let errors_before = report.errors.len();
    let number = row.number;
    let optional_with = |col: Col| optional(row.get(col));
    let type_code = required(row, Col::ItemType, report, parse_item_type);
    let length = optional_with(Col::Length).and_then(|t| take(report, number, Col::Length, parse_number(&t)));
    let scale = optional_with(Col::Scale).and_then(|t| take(report, number, Col::Scale, parse_number(&t)));
    let sensitivity = optional_with(Col::Sensitivity).and_then(|t| {
        let category =
            choose(&t, &SENSITIVITIES, SensitivityCategory::label_zh, SensitivityCategory::label_en);
        take(report, number, Col::Sensitivity, category)
    });
    let grade = optional_with(Col::Grade).and_then(|t| take(report, number, Col::Grade, parse_grade(&t)));
    let share_type = optional_with(Col::ItemShareType).and_then(|t| {
        let share = choose(&t, &SHARE_TYPES, ShareType::label_zh, ShareType::label_en);
        take(report, number, Col::ItemShareType, share)
    });
    let item = InfoItem {
        name: row.get(Col::ItemName).to_owned(),
        type_code: type_code?,
        length,
        scale,
        data_element: optional_with(Col::DataElement),
        description: optional_with(Col::Description),
        sensitivity,
        grade,
        share_type,
        share_condition: optional_with(Col::ItemShareCondition),
        legal_basis: optional_with(Col::ItemLegalBasis),
    };
    (report.errors.len() == errors_before).then_some(item)
}

fn parse_json(bytes: &[u8]) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let values: Vec<serde_json::Value> = match serde_json::from_slice(bytes) {
        Ok(values) => values,
        Err(e) => {
            parsed.report.error(0, None, format!("not a JSON array of catalog entries: {e}"));
            return parsed;
        }
    };
    parsed.report.rows_read = values.len() as u32;
    parsed.report.entries = values.len() as u32;
    for (i, value) in values.into_iter().enumerate() {
        let row = i as u32 + 1;
        if value.to_string().contains("\\u0000") {
            parsed.report.error(row, None, "must not contain NUL characters");
            continue;
        }
        match serde_path_to_error::deserialize::<_, EntryDraft>(value) {
            Ok(draft) => {
                parsed.entries.push(ParsedEntry { draft, row, item_rows: Vec::new(), tabular: false })
            }
            Err(e) => {
                let path = e.path().to_string();
                parsed.report.error(row, Some(path.as_str()).filter(|p| *p != "."), e.inner().to_string());
            }
        }
    }
    parsed
}

/// Writes drafts in a format, the tabular ones in the layout of this module.
pub fn export_drafts(format: Format, drafts: &[EntryDraft]) -> std::result::Result<Vec<u8>, ExportError> {
    let rows: Vec<(Option<&ResourceCode>, &EntryDraft)> = drafts.iter().map(|d| (None, d)).collect();
    write(format, &rows)
}

/// Writes entries' metadata; the tabular formats add their resource code in a
/// first column, which import ignores.
pub fn export_entries(format: Format, entries: &[CatalogEntry]) -> std::result::Result<Vec<u8>, ExportError> {
    let rows: Vec<(Option<&ResourceCode>, &EntryDraft)> =
        entries.iter().map(|e| (Some(&e.code), &e.metadata)).collect();
    write(format, &rows)
}

fn join<T>(values: &[T], show: impl Fn(&T) -> String) -> String {
    values.iter().map(show).collect::<Vec<_>>().join("；")
}

fn entry_cell(col: Col, draft: &EntryDraft) -> String {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    match col {
        Col::Classification => draft.classification.code(),
        Col::Name => draft.name.clone(),
        Col::Summary => draft.summary.clone(),
        Col::Keywords => draft.keywords.join("；"),
        Col::DepartmentId => draft.provider.department_id.clone(),
        Col::Uscc => draft.provider.uscc.clone(),
        Col::FormatClass => draft.format_class.label_zh().to_owned(),
        Col::FormatType => draft.format_type.clone(),
        Col::ShareType => draft.share_type.label_zh().to_owned(),
        Col::ShareCondition => text(&draft.share_condition),
        Col::LegalBasis => text(&draft.legal_basis),
        Col::ShareModes => join(&draft.share_modes, |m| m.label_zh().to_owned()),
        Col::OpenType => draft.open_type.label_zh().to_owned(),
        Col::OpenCondition => text(&draft.open_condition),
        Col::UpdateCycle => draft.update_cycle.label_zh().to_owned(),
        Col::RelatedCodes => join(&draft.related_codes, ResourceCode::to_string),
        Col::SystemId => text(&draft.system_id),
        Col::Resources => join(&draft.resources, |r| format!("{}:{}", r.kind.label_zh(), r.id)),
        _ => String::new(),
    }
}

fn item_cell(col: Col, item: &InfoItem) -> String {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    match col {
        Col::ItemName => item.name.clone(),
        Col::ItemType => format!("{}/{}", item.type_code.code(), item.type_code.label_zh()),
        Col::Length => number(item.length),
        Col::Scale => number(item.scale),
        Col::DataElement => text(&item.data_element),
        Col::Description => text(&item.description),
        Col::Sensitivity => item.sensitivity.map(|s| s.label_zh().to_owned()).unwrap_or_default(),
        Col::Grade => item.grade.map(|g| g.label_zh()).unwrap_or_default(),
        Col::ItemShareType => item.share_type.map(|s| s.label_zh().to_owned()).unwrap_or_default(),
        Col::ItemShareCondition => text(&item.share_condition),
        Col::ItemLegalBasis => text(&item.legal_basis),
        _ => String::new(),
    }
}

/// The header and the rows of the tabular layout.
fn table(rows: &[(Option<&ResourceCode>, &EntryDraft)]) -> Vec<Vec<String>> {
    let with_code = rows.iter().any(|(code, _)| code.is_some());
    let mut table = Vec::new();
    let mut head: Vec<String> = COLUMNS.iter().map(|c| c.header.to_owned()).collect();
    if with_code {
        head.insert(0, CODE_HEADER.to_owned());
    }
    table.push(head);
    for (code, draft) in rows {
        let items: Vec<Option<&InfoItem>> =
            if draft.items.is_empty() { vec![None] } else { draft.items.iter().map(Some).collect() };
        for (i, item) in items.into_iter().enumerate() {
            let mut row: Vec<String> = COLUMNS
                .iter()
                .map(|c| match (c.item, item) {
                    (false, _) if i == 0 => entry_cell(c.col, draft),
                    (true, Some(item)) => item_cell(c.col, item),
                    _ => String::new(),
                })
                .collect();
            if with_code {
                row.insert(
                    0,
                    if i == 0 { code.map(ToString::to_string).unwrap_or_default() } else { String::new() },
                );
            }
            table.push(row);
        }
    }
    table
}

fn write(
    format: Format,
    rows: &[(Option<&ResourceCode>, &EntryDraft)],
) -> std::result::Result<Vec<u8>, ExportError> {
    match format {
        Format::Json => {
            let drafts: Vec<&EntryDraft> = rows.iter().map(|(_, d)| *d).collect();
            serde_json::to_vec_pretty(&drafts).map_err(|e| ExportError(e.to_string()))
        }
        Format::Csv => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            let mut writer = csv::Writer::from_writer(&mut out);
            for row in table(rows) {
                writer.write_record(&row).map_err(|e| ExportError(e.to_string()))?;
            }
            writer.flush().map_err(|e| ExportError(e.to_string()))?;
            drop(writer);
            Ok(out)
        }
        Format::Xlsx => write_xlsx(&table(rows)).map_err(|e| ExportError(e.to_string())),
    }
}

fn write_xlsx(table: &[Vec<String>]) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("信息资源目录")?;
    let bold = CellFormat::new().set_bold();
    let numeric = [header(Col::Length), header(Col::Scale)];
    let head = table.first().cloned().unwrap_or_default();
    for (r, row) in table.iter().enumerate() {
        let r = r as u32;
        for (c, value) in row.iter().enumerate() {
            let c = c as u16;
            if r == 0 {
                sheet.write_string_with_format(r, c, value, &bold)?;
                sheet.set_column_width(c, if value.chars().count() > 6 { 24 } else { 14 })?;
            } else if value.is_empty() {
                continue;
            } else if numeric.contains(&head[c as usize].as_str()) {
                match value.parse::<u32>() {
                    Ok(n) => sheet.write_number(r, c, f64::from(n))?,
                    Err(_) => sheet.write_string(r, c, value)?,
                };
            } else {
                sheet.write_string(r, c, value)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// Normalized name for duplicate detection within a file.
fn name_key(draft: &EntryDraft) -> (String, String) {
    (draft.provider.department_id.clone(), draft.name.chars().filter(|c| !c.is_whitespace()).collect())
}

impl Catalog {
    /// Imports a file of entries as drafts of the caller's department; see
    /// the module docs for the semantics. With `dry_run`, validates only.
    pub async fn import(
        &self,
        caller: &Caller,
        format: Format,
        bytes: &[u8],
        dry_run: bool,
    ) -> Result<ImportOutcome> {
        if !caller.has(govdata_model::org::Role::Provider) {
            return Err(CatalogError::Forbidden("importing catalog entries needs the provider role".into()));
        }
        let own = caller.context.department_id.clone();
        let ParsedFile { entries, mut report } = parse(format, bytes, &own);
        let mut existing: HashMap<(String, String), Vec<CatalogEntry>> = HashMap::new();
        for draft in self
            .store
            .catalog_entries(&CatalogFilter {
                status: Some(EntryStatus::Draft),
                provider_department_id: Some(own.clone()),
                limit: u32::MAX / 2,
                offset: 0,
            })
            .await?
        {
            existing.entry(name_key(&draft.metadata)).or_default().push(draft);
        }
        self.refresh_live_entries().await?;
        let mut seen: HashMap<(String, String), u32> = HashMap::new();
        let mut to_register = Vec::new();
        let mut skipped = Vec::new();
        for entry in entries {
            let locate = |field: &str| entry.locate(field);
            match self.check_provider(caller, &entry.draft).await {
                Ok(()) => {}
                Err(CatalogError::Forbidden(reason)) => {
                    let (row, column) = locate("provider.department_id");
                    report.error(row, column.as_deref(), reason);
                    continue;
                }
                Err(CatalogError::Invalid(e)) => {
                    let (row, column) = locate(&e.field);
                    report.error(row, column.as_deref(), e.message);
                    continue;
                }
                Err(other) => return Err(other),
            }
            let key = name_key(&entry.draft);
            if let Some(first) = seen.get(&key) {
                let (row, column) = locate("name");
                report.error(row, column.as_deref(), format!("the same entry as row {first} of this file"));
                continue;
            }
            seen.insert(key.clone(), entry.row);
            if let Some(done) = existing.get(&key).into_iter().flatten().find(|e| e.metadata == entry.draft) {
                skipped.push(done.code.clone());
                continue;
            }
            let nearby = self.duplicate_candidates(&entry.draft);
            let context = govdata_model::catalog::CheckContext::new(&nearby);
            let mut checks = govdata_model::catalog::check_draft(&entry.draft, &context);
            caller.redact_unseen(&nearby, &mut checks);
            for finding in checks.errors() {
                let (row, column) = locate(&finding.field);
                report.error(row, column.as_deref(), finding.message.clone());
            }
            to_register.push(entry.draft);
        }
        report.errors.sort_by_key(|e| e.row);
        let mut imported = Vec::new();
        if report.errors.is_empty() && !dry_run {
            // Each entry in its own transaction; the search projection of
            // what was registered in one index commit, failure or not.
            let mut failure = None;
            for draft in to_register {
                match self.register_unprojected(caller, draft).await {
                    Ok(entry) => imported.push(entry.code),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            self.project_many(&imported).await;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(ImportOutcome { imported, skipped, report })
    }
}
