//! The tabular and JSON layouts of catalog import/export: round trips, every
//! malformed file giving a clear error, wrong values reported by row and
//! column, GBK CSV.

use std::io::Write;

use govdata_catalog::transfer::{export_drafts, parse, Format, ParsedFile, RowError};
use govdata_model::catalog::{
    Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider, ResourceKind,
    ResourceLink, SensitivityCategory, ShareMode, ShareType, TopClass, UpdateCycle,
};

const DEPARTMENT: &str = "dept-1";
const USCC: &str = "11100000000013426B";

fn item(name: &str, type_code: ItemType, length: Option<u32>, grade: Grade) -> InfoItem {
    InfoItem { grade: Some(grade), ..InfoItem::new(name, type_code, length) }
}

fn draft(name: &str) -> EntryDraft {
    EntryDraft {
        classification: Classification::new(TopClass::Department, 1, Some(2), None),
        name: name.into(),
        summary: "市场主体登记的基本信息，含名称、统一社会信用代码、法定代表人和成立日期。".into(),
        keywords: vec!["企业".into(), "营业执照".into()],
        provider: Provider { department_id: DEPARTMENT.into(), uscc: USCC.into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: vec![
            item("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1)),
            item("企业名称", ItemType::Character, Some(200), Grade::general(1)),
            item("成立日期", ItemType::Date, Some(8), Grade::general(1)),
        ],
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api, ShareMode::Table],
        open_type: OpenType::NotOpen,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: None,
        resources: Vec::new(),
    }
}

/// A draft that sets every field the layout has.
fn full_draft() -> EntryDraft {
    let mut d = draft("法定代表人信息");
    d.classification = Classification::new(TopClass::Base, 2, Some(1), Some(3));
    d.share_type = ShareType::Conditional;
    d.share_condition = Some("仅用于市场监管执法".into());
    d.open_type = OpenType::Conditional;
    d.open_condition = Some("经申请审核".into());
    d.update_cycle = UpdateCycle::HalfYearly;
    d.related_codes = vec!["301002/000001".parse().unwrap()];
    d.system_id = Some("sys-42".into());
    d.resources = vec![
        ResourceLink { kind: ResourceKind::Table, id: "t_legal_rep".into() },
        ResourceLink { kind: ResourceKind::Api, id: "api-7".into() },
    ];
    d.items.push(InfoItem {
        name: "法定代表人身份证号".into(),
        type_code: ItemType::Character,
        length: Some(18),
        scale: None,
        data_element: Some("DE00001".into()),
        description: Some("公民身份号码".into()),
        sensitivity: Some(SensitivityCategory::IdentityNumber),
        grade: Some(Grade::IMPORTANT),
        share_type: Some(ShareType::NotShared),
        share_condition: None,
        legal_basis: Some("《个人信息保护法》第二十八条".into()),
    });
    d.items.push(InfoItem {
        scale: Some(2),
        share_type: Some(ShareType::Conditional),
        share_condition: Some("税务部门".into()),
        ..item("注册资本", ItemType::Numeric, Some(18), Grade::general(2))
    });
    d
}

fn drafts(parsed: &ParsedFile) -> Vec<EntryDraft> {
    parsed.entries.iter().map(|e| e.draft.clone()).collect()
}

fn has_error(errors: &[RowError], row: u32, column: &str) -> bool {
    errors.iter().any(|e| e.row == row && e.column.as_deref() == Some(column))
}

#[test]
fn export_then_import_gives_equal_drafts_in_every_format() {
    let originals =
        vec![draft("企业登记基本信息"), full_draft(), EntryDraft { items: Vec::new(), ..draft("空") }];
    for format in [Format::Xlsx, Format::Csv, Format::Json] {
        let file = export_drafts(format, &originals).unwrap();
        let parsed = parse(format, &file, "someone-else");
        assert_eq!(parsed.report.errors, [], "{format:?}");
        assert_eq!(drafts(&parsed), originals, "{format:?}");
        assert_eq!(parsed.report.entries, 3, "{format:?}");
    }
    let parsed = parse(Format::Xlsx, &export_drafts(Format::Xlsx, &originals).unwrap(), "x");
    assert_eq!(parsed.report.rows_read, 3 + 5 + 1);
    assert_eq!(parsed.entries[1].row, 5, "header, 3 items of the first entry, then the second");
    assert_eq!(parsed.entries[1].item_rows, [5, 6, 7, 8, 9]);
}

#[test]
fn random_bytes_and_a_zip_that_is_not_xlsx_are_refused_clearly() {
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let parsed = parse(Format::Xlsx, &random, DEPARTMENT);
    assert!(parsed.entries.is_empty());
    assert_eq!(parsed.report.errors.len(), 1);
    assert_eq!(parsed.report.errors[0].row, 0);
    assert!(parsed.report.errors[0].reason.contains("xlsx"), "{:?}", parsed.report.errors);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("hello.txt", options).unwrap();
    zip.write_all(b"not a workbook").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let parsed = parse(Format::Xlsx, &bytes, DEPARTMENT);
    assert!(parsed.entries.is_empty());
    assert_eq!(parsed.report.errors[0].row, 0, "{:?}", parsed.report.errors);
    assert!(parsed.report.errors[0].reason.contains("xlsx"), "{:?}", parsed.report.errors);

    for format in [Format::Csv, Format::Json] {
        let parsed = parse(format, &random, DEPARTMENT);
        assert!(parsed.entries.is_empty(), "{format:?}");
        assert!(!parsed.report.errors.is_empty(), "{format:?}");
    }
}

#[test]
fn a_sheet_without_the_required_columns_names_each_missing_one() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "政务信息资源目录登记表").unwrap();
    for (c, header) in ["序号", "信息资源名称", "*摘要", "信息项名称"].iter().enumerate() {
        sheet.write_string(1, c as u16, *header).unwrap();
    }
    sheet.write_string(2, 1, "企业登记基本信息").unwrap();
    let parsed = parse(Format::Xlsx, &workbook.save_to_buffer().unwrap(), DEPARTMENT);
    assert!(parsed.entries.is_empty());
    let missing: Vec<&str> = parsed.report.errors.iter().filter_map(|e| e.column.as_deref()).collect();
    assert_eq!(
        missing,
        [
            "分类",
            "提供方统一社会信用代码",
            "格式分类",
            "格式类型",
            "共享类型",
            "开放类型",
            "更新周期",
            "数据类型"
        ]
    );
    assert!(parsed.report.errors.iter().all(|e| e.row == 2 && e.reason.contains("missing")));

    let parsed = parse(Format::Csv, "名称,摘要\n甲,乙\n".as_bytes(), DEPARTMENT);
    assert_eq!(parsed.report.errors.len(), 1);
    assert!(parsed.report.errors[0].reason.contains("信息资源名称"));
}

const HEADER: &str =
    "分类,信息资源名称,摘要,关键字,提供方统一社会信用代码,格式分类,格式类型,共享类型,共享条件,\
不予共享依据,共享方式,开放类型,开放条件,更新周期,信息项名称,数据类型,长度,小数位,分级";

#[test]
fn wrong_values_are_reported_by_row_and_column_without_stopping() {
    let csv = format!(
        "{HEADER}\n\
         301002,企业登记基本信息,摘要,企业,{USCC},数据库,mysql,部分共享,,,接口,不予开放,,每日,企业名称,C,200,,一般1级\n\
         ,,,,,,,,,,,,,,成立日期,X型,8,,一般1级\n\
         ,,,,,,,,,,,,,,注册资本,N,十八,2,特别重要\n\
         ,企业登记基本信息,,,,电子表格,,,,,,,,,备注,M,,,一般1级\n\
         30100,第二个资源,摘要,,{USCC},数据库,mysql,无条件共享,,,文件,不予开放,,每两天,名称,C,10,,一般1级\n\
         301002,第三个资源,摘要,,{USCC},数据库,mysql,有条件共享,仅执法,,库表,不予开放,,每月,名称,字符型,10,,重要\n"
    );
    let parsed = parse(Format::Csv, csv.as_bytes(), DEPARTMENT);
    let errors = &parsed.report.errors;
    for (row, column) in [
        (2, "共享类型"),
        (3, "数据类型"),
        (4, "长度"),
        (4, "分级"),
        (5, "格式分类"),
        (6, "分类"),
        (6, "更新周期"),
    ] {
        assert!(has_error(errors, row, column), "row {row} {column}: {errors:#?}");
    }
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert!(errors.iter().find(|e| e.row == 5).unwrap().reason.contains("row 2"));
    assert_eq!(parsed.report.rows_read, 6);
    assert_eq!(parsed.report.entries, 3);
    // Only the entry without errors is kept.
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(parsed.entries[0].draft.name, "第三个资源");
    assert_eq!(parsed.entries[0].draft.items[0].grade, Some(Grade::IMPORTANT));
}

#[test]
fn labels_codes_and_repeated_entry_values_are_accepted() {
    let csv = format!(
        "{HEADER}\n\
         301002,企业登记基本信息,摘要,企业；执照,{USCC},数据库,mysql,conditional,仅执法,,库表、接口,not_open,,daily,企业名称,c,200,,一般数据3级\n\
         301002,企业登记基本信息,摘要,企业；执照,{USCC},数据库,mysql,conditional,仅执法,,库表、接口,not_open,,daily,成立日期,D/日期型,8,,general:2\n\
         301002,企业登记基本信息,摘要,企业；执照,{USCC},数据库,mysql,conditional,仅执法,,库表、接口,not_open,,daily,注册资本,数值型,18,2,一般三级\n\
         ,,,,,,,,,,,,,,,,,,\n\
         101,第二个资源,摘要,,{USCC},electronic file,pdf,不予共享,,《某条例》,,不予开放,,不定期,正文,M,,,核心\n"
    );
    let parsed = parse(Format::Csv, csv.as_bytes(), DEPARTMENT);
    assert_eq!(parsed.report.errors, []);
    assert_eq!(parsed.report.rows_read, 4, "the blank row is skipped");
    let [first, second] = &drafts(&parsed)[..] else { panic!("two entries expected") };
    assert_eq!(first.keywords, ["企业", "执照"]);
    assert_eq!(first.share_type, ShareType::Conditional);
    assert_eq!(first.share_modes, [ShareMode::Table, ShareMode::Api]);
    assert_eq!(first.provider.department_id, DEPARTMENT);
    let types: Vec<ItemType> = first.items.iter().map(|i| i.type_code).collect();
    assert_eq!(types, [ItemType::Character, ItemType::Date, ItemType::Numeric]);
    let grades: Vec<Option<Grade>> = first.items.iter().map(|i| i.grade).collect();
    assert_eq!(grades, [Some(Grade::general(3)), Some(Grade::general(2)), Some(Grade::general(3))]);
    assert_eq!(first.items[2].scale, Some(2));
    assert_eq!(second.format_class, FormatClass::ElectronicFile);
    assert_eq!(second.legal_basis.as_deref(), Some("《某条例》"));
    assert_eq!(second.items[0].grade, Some(Grade::CORE));
}

#[test]
fn gbk_csv_imports() {
    let original = vec![full_draft()];
    let utf8 = export_drafts(Format::Csv, &original).unwrap();
    let text = std::str::from_utf8(&utf8[3..]).unwrap();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "really not UTF-8");
    let parsed = parse(Format::Csv, &gbk, DEPARTMENT);
    assert_eq!(parsed.report.errors, []);
    assert_eq!(drafts(&parsed), original);
}

#[test]
fn json_errors_name_the_element_and_the_field() {
    let mut bad = serde_json::to_value(vec![draft("甲"), draft("乙")]).unwrap();
    bad[1]["items"][0]["type_code"] = serde_json::json!("Z");
    let parsed = parse(Format::Json, bad.to_string().as_bytes(), DEPARTMENT);
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(parsed.report.errors.len(), 1);
    assert_eq!(parsed.report.errors[0].row, 2);
    assert_eq!(parsed.report.errors[0].column.as_deref(), Some("items[0].type_code"));

    let parsed = parse(Format::Json, b"{\"not\": \"an array\"}", DEPARTMENT);
    assert_eq!(parsed.report.errors[0].row, 0);
}

#[test]
fn nul_characters_are_refused() {
    let csv = format!("{HEADER}\n301002,企业\u{0}登记,摘要,,{USCC},数据库,mysql,无条件共享,,,接口,不予开放,,每日,名称,C,10,,一般1级\n");
    let parsed = parse(Format::Csv, csv.as_bytes(), DEPARTMENT);
    assert!(has_error(&parsed.report.errors, 2, "信息资源名称"), "{:?}", parsed.report.errors);
    assert!(parsed.entries.is_empty());
}
