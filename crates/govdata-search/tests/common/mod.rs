//! A fixed Chinese catalog for the search tests, and a synthetic one for
//! volume.

#![allow(dead_code)]

use govdata_model::catalog::{
    ActorRef, CatalogEntry, Classification, EntryDraft, EntryStatus, FormatClass, Grade, InfoItem, ItemType,
    OpenType, Provider, ResourceCode, ShareMode, ShareType, TopClass, UpdateCycle,
};
use govdata_search::{Facet, Filters, SearchDoc, Viewer};
use time::{Duration, OffsetDateTime};

pub const ZJ: (&str, &str, &str) = ("n-zj", "浙江省政务数据平台", "330000");
pub const HZ: (&str, &str, &str) = ("n-hz", "杭州市政务数据平台", "330100");

/// Provider departments: id and name.
pub const GA: (&str, &str) = ("d-ga", "省公安厅");
pub const SCJG: (&str, &str) = ("d-scjg", "省市场监督管理局");
pub const ZRZY: (&str, &str) = ("d-zrzy", "省自然资源厅");
pub const RS: (&str, &str) = ("d-rs", "省人力资源和社会保障厅");
pub const MZ: (&str, &str) = ("d-mz", "省民政厅");
pub const WJ: (&str, &str) = ("d-wj", "省卫生健康委员会");
pub const HB: (&str, &str) = ("d-hb", "省生态环境厅");
pub const JY: (&str, &str) = ("d-jy", "杭州市教育局");
pub const SW: (&str, &str) = ("d-sw", "省税务局");
pub const GJJ: (&str, &str) = ("d-gjj", "杭州住房公积金管理中心");
pub const TJ: (&str, &str) = ("d-tj", "省统计局");
pub const DSJ: (&str, &str) = ("d-dsj", "省大数据发展管理局");

/// One entry of the fixed corpus, described compactly.
#[derive(Clone)]
pub struct Spec {
    pub node: (&'static str, &'static str, &'static str),
    pub class: TopClass,
    pub section: u8,
    pub seq: u32,
    pub name: &'static str,
    pub summary: &'static str,
    pub keywords: &'static [&'static str],
    pub items: &'static [&'static str],
    pub dept: (&'static str, &'static str),
    pub status: EntryStatus,
    pub version: u32,
    pub share: ShareType,
    pub open: OpenType,
    pub cycle: UpdateCycle,
    pub format: FormatClass,
    pub grade: Grade,
    /// Days after 2024-01-01 of the last update.
    pub day: i64,
}

const BASE: Spec = Spec {
    node: ZJ,
    class: TopClass::Base,
    section: 1,
    seq: 1,
    name: "",
    summary: "",
    keywords: &[],
    items: &[],
    dept: GA,
    status: EntryStatus::Published,
    version: 1,
    share: ShareType::Conditional,
    open: OpenType::NotOpen,
    cycle: UpdateCycle::Daily,
    format: FormatClass::Database,
    grade: Grade::general(2),
    day: 0,
};

pub fn epoch() -> OffsetDateTime {
    time::macros::datetime!(2024-01-01 08:00 UTC)
}

pub fn to_doc(s: &Spec) -> SearchDoc {
    let classification = Classification::new(s.class, s.section, None, None);
    let code = ResourceCode::new(classification.clone(), s.seq).expect("valid code");
    let items: Vec<InfoItem> = s
        .items
        .iter()
        .map(|name| {
            let mut item = InfoItem::new(*name, ItemType::Character, Some(64));
            item.grade = Some(s.grade);
            item
        })
        .collect();
    let updated = epoch() + Duration::days(s.day);
    let actor = ActorRef { user_id: format!("u-{}", s.dept.0), department_id: s.dept.0.to_owned() };
    let metadata = EntryDraft {
        classification,
        name: s.name.to_owned(),
        summary: s.summary.to_owned(),
        keywords: s.keywords.iter().map(|k| (*k).to_owned()).collect(),
        provider: Provider { department_id: s.dept.0.to_owned(), uscc: "11330000002482080X".to_owned() },
        format_class: s.format,
        format_type: match s.format {
            FormatClass::Database => "mysql".to_owned(),
            FormatClass::Spreadsheet => "xlsx".to_owned(),
            _ => "pdf".to_owned(),
        },
        items,
        share_type: s.share,
        share_condition: (s.share == ShareType::Conditional).then(|| "用于履行法定职责".to_owned()),
        legal_basis: (s.share == ShareType::NotShared).then(|| "《个人信息保护法》".to_owned()),
        share_modes: if s.share == ShareType::NotShared { vec![] } else { vec![ShareMode::Api] },
        open_type: s.open,
        open_condition: (s.open == OpenType::Conditional).then(|| "申请开放".to_owned()),
        update_cycle: s.cycle,
        related_codes: vec![],
        system_id: Some(format!("sys-{}", s.dept.0)),
        resources: vec![],
    };
    let grade = metadata.grade();
    SearchDoc {
        entry: CatalogEntry {
            code,
            version: s.version,
            status: s.status,
            metadata,
            grade,
            created_by: actor.clone(),
            submitted_by: Some(actor),
            created_at: epoch(),
            updated_at: updated,
            published_on: (s.status == EntryStatus::Published).then(|| updated.date()),
        },
        node_id: s.node.0.to_owned(),
        node_name: s.node.1.to_owned(),
        region: s.node.2.to_owned(),
        provider_name: s.dept.1.to_owned(),
    }
}

/// The fixed corpus: 34 specs, of which 3 are not searchable (withdrawn,
/// discarded, superseded).
pub fn specs() -> Vec<Spec> {
    use EntryStatus::*;
    use TopClass::*;
    vec![
        Spec {
            section: 1,
            seq: 1,
            name: "人口基础信息",
            summary: "全省户籍人口和常住人口的基础信息，包括身份、户籍和居住情况，是人口基础库的核心数据。",
            keywords: &["人口", "户籍", "身份证"],
            items: &["公民身份号码", "姓名", "性别", "民族", "出生日期", "户籍地址"],
            dept: GA,
            grade: Grade::general(4),
            day: 30,
            ..BASE
        },
        Spec {
            section: 1,
            seq: 2,
            name: "流动人口居住登记信息",
            summary: "流动人员居住登记和居住证办理信息。",
            keywords: &["居住证"],
            items: &["公民身份号码", "姓名", "居住地址", "登记日期", "居住证编号"],
            dept: GA,
            grade: Grade::general(4),
            day: 40,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 1,
            name: "法人单位基本信息",
            summary: "各类法人单位的登记基本信息，法人基础库的核心数据。",
            keywords: &["法人", "企业"],
            items: &["统一社会信用代码", "单位名称", "法定代表人", "注册地址", "成立日期"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Conditional,
            cycle: UpdateCycle::RealTime,
            grade: Grade::general(2),
            day: 50,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 2,
            name: "营业执照信息",
            summary: "企业营业执照的核发、变更和注销信息。",
            keywords: &["营业执照", "市场主体"],
            items: &["统一社会信用代码", "营业执照号", "企业名称", "经营范围", "登记机关", "核准日期"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::RealTime,
            grade: Grade::general(1),
            day: 60,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 3,
            name: "个体工商户登记信息",
            summary: "个体工商户的设立、变更、注销登记信息。",
            keywords: &["个体户"],
            items: &["营业执照号", "经营者姓名", "经营场所", "组成形式"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Conditional,
            grade: Grade::general(2),
            day: 70,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 4,
            name: "食品经营许可证信息",
            summary: "食品经营者取得经营许可的信息。",
            keywords: &["食品安全"],
            items: &["许可证编号", "经营者名称", "营业执照号", "经营项目", "有效期至"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Weekly,
            grade: Grade::general(1),
            day: 80,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 5,
            name: "企业年度报告信息",
            summary: "企业按年度报送的年报公示信息。",
            keywords: &["年报"],
            items: &["统一社会信用代码", "企业名称", "从业人数", "资产总额"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Yearly,
            grade: Grade::general(1),
            day: 90,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 6,
            name: "行政处罚信息",
            summary: "市场监管领域作出的行政处罚决定。",
            keywords: &["处罚", "信用"],
            items: &["处罚决定书文号", "当事人名称", "统一社会信用代码", "处罚内容", "处罚日期"],
            dept: SCJG,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            grade: Grade::general(1),
            day: 100,
            ..BASE
        },
        Spec {
            section: 3,
            seq: 1,
            name: "不动产登记信息",
            summary: "不动产首次登记、转移登记和变更登记信息。",
            keywords: &["不动产", "产权"],
            items: &["不动产单元号", "权利人", "不动产权证书号", "坐落", "面积"],
            dept: ZRZY,
            grade: Grade::general(3),
            day: 110,
            ..BASE
        },
        Spec {
            section: 3,
            seq: 2,
            name: "不动产抵押登记信息",
            summary: "不动产抵押权设立、变更和注销登记信息。",
            keywords: &["抵押"],
            items: &["不动产单元号", "抵押权人", "抵押人", "债权数额"],
            dept: ZRZY,
            grade: Grade::general(3),
            day: 120,
            ..BASE
        },
        Spec {
            section: 3,
            seq: 3,
            name: "建设用地规划许可证信息",
            summary: "建设用地规划许可证核发信息。",
            keywords: &["规划"],
            items: &["许可证编号", "用地单位", "用地位置", "用地面积"],
            dept: ZRZY,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Monthly,
            grade: Grade::general(1),
            day: 130,
            ..BASE
        },
        Spec {
            section: 4,
            seq: 1,
            name: "社会保险参保信息",
            summary: "养老、医疗、失业、工伤、生育保险的参保登记和缴费信息。",
            keywords: &["参保", "缴费"],
            items: &["公民身份号码", "姓名", "参保险种", "参保状态", "缴费基数"],
            dept: RS,
            grade: Grade::general(4),
            cycle: UpdateCycle::Monthly,
            day: 140,
            ..BASE
        },
        Spec {
            section: 4,
            seq: 2,
            name: "社会保险待遇发放信息",
            summary: "养老金等社会保险待遇的核定与发放信息。",
            keywords: &["养老金", "待遇"],
            items: &["公民身份号码", "姓名", "待遇类型", "发放金额", "发放月份"],
            dept: RS,
            grade: Grade::general(4),
            cycle: UpdateCycle::Monthly,
            day: 150,
            ..BASE
        },
        Spec {
            section: 5,
            seq: 1,
            name: "婚姻登记信息",
            summary: "结婚登记、离婚登记和补领婚姻登记证信息。",
            keywords: &["结婚", "离婚"],
            items: &["男方姓名", "男方公民身份号码", "女方姓名", "女方公民身份号码", "登记日期", "登记类型"],
            dept: MZ,
            grade: Grade::general(4),
            day: 160,
            ..BASE
        },
        Spec {
            section: 5,
            seq: 2,
            name: "最低生活保障对象信息",
            summary: "城乡最低生活保障对象的认定和救助金发放信息。",
            keywords: &["救助"],
            items: &["公民身份号码", "姓名", "保障人数", "保障金额"],
            dept: MZ,
            node: HZ,
            grade: Grade::general(4),
            cycle: UpdateCycle::Monthly,
            day: 170,
            ..BASE
        },
        Spec {
            section: 6,
            seq: 1,
            name: "出生医学证明信息",
            summary: "医疗机构签发出生医学证明的信息。",
            keywords: &["出生证"],
            items: &["新生儿姓名", "出生日期", "出生地点", "母亲姓名", "母亲公民身份号码", "证明编号"],
            dept: WJ,
            grade: Grade::general(4),
            day: 180,
            ..BASE
        },
        Spec {
            section: 6,
            seq: 2,
            name: "医疗机构执业许可信息",
            summary: "医疗机构设置审批和执业登记信息。",
            keywords: &["医院"],
            items: &["机构名称", "统一社会信用代码", "执业许可证登记号", "诊疗科目"],
            dept: WJ,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Monthly,
            grade: Grade::general(1),
            day: 190,
            ..BASE
        },
        Spec {
            section: 7,
            seq: 1,
            name: "排污许可证信息",
            summary: "排污单位申领排污许可证及执行报告信息。",
            keywords: &["排污", "环保"],
            items: &["许可证编号", "单位名称", "统一社会信用代码", "排放污染物种类", "有效期限"],
            dept: HB,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Monthly,
            grade: Grade::general(1),
            day: 200,
            ..BASE
        },
        Spec {
            section: 8,
            seq: 1,
            name: "学籍信息",
            summary: "中小学学生学籍注册、转学、休学信息。",
            keywords: &["学生"],
            items: &["学籍号", "学生姓名", "公民身份号码", "就读学校", "年级"],
            dept: JY,
            node: HZ,
            grade: Grade::general(3),
            cycle: UpdateCycle::Quarterly,
            day: 210,
            ..BASE
        },
        Spec {
            section: 9,
            seq: 1,
            name: "纳税人信息",
            summary: "纳税人税务登记和纳税信用等级信息。",
            keywords: &["税务登记", "纳税信用"],
            items: &["纳税人识别号", "纳税人名称", "营业执照号", "登记注册类型", "纳税信用等级"],
            dept: SW,
            grade: Grade::general(3),
            cycle: UpdateCycle::Monthly,
            day: 220,
            ..BASE
        },
        Spec {
            section: 10,
            seq: 1,
            name: "住房公积金缴存信息",
            summary: "职工住房公积金的开户、缴存和提取信息。",
            keywords: &["住房公积金"],
            items: &["公民身份号码", "姓名", "缴存单位", "月缴存额", "账户状态"],
            dept: GJJ,
            node: HZ,
            grade: Grade::general(4),
            cycle: UpdateCycle::Monthly,
            day: 230,
            ..BASE
        },
        Spec {
            section: 11,
            seq: 1,
            name: "户籍人口统计数据",
            summary: "按行政区划汇总的年末户籍人口数。",
            keywords: &["统计"],
            items: &["行政区划代码", "年度", "户数", "人口数"],
            dept: TJ,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            cycle: UpdateCycle::Yearly,
            format: FormatClass::Spreadsheet,
            grade: Grade::general(1),
            day: 240,
            ..BASE
        },
        Spec {
            class: Theme,
            section: 1,
            seq: 1,
            name: "自然人综合信息（一人一档）",
            summary: "汇聚公安、人社、民政、卫健等部门数据形成的自然人全生命周期档案。",
            keywords: &["一人一档", "主题库"],
            items: &["公民身份号码", "姓名", "社会保险参保状态", "婚姻状况", "学历"],
            dept: DSJ,
            grade: Grade::IMPORTANT,
            day: 250,
            ..BASE
        },
        Spec {
            class: Theme,
            section: 2,
            seq: 1,
            name: "企业综合信息（一企一档）",
            summary: "汇聚市场监管、税务、人社等部门数据形成的企业档案。",
            keywords: &["一企一档", "主题库"],
            items: &["统一社会信用代码", "企业名称", "营业执照状态", "纳税信用等级", "参保人数"],
            dept: DSJ,
            share: ShareType::Conditional,
            grade: Grade::IMPORTANT,
            day: 260,
            ..BASE
        },
        Spec {
            class: Department,
            section: 1,
            seq: 1,
            name: "危险化学品经营许可证信息<试行>&附件",
            summary: "危险化学品经营许可 <b>不是</b> HTML。",
            keywords: &["危化品"],
            items: &["许可证编号", "企业名称", "经营方式"],
            dept: HB,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            grade: Grade::general(2),
            day: 270,
            ..BASE
        },
        Spec {
            class: Department,
            section: 2,
            seq: 1,
            name: "核心地理信息数据",
            summary: "基础测绘成果中的涉密地理信息。",
            keywords: &["测绘"],
            items: &["图幅号", "比例尺", "坐标系"],
            dept: ZRZY,
            share: ShareType::NotShared,
            open: OpenType::NotOpen,
            format: FormatClass::Image,
            cycle: UpdateCycle::Irregular,
            grade: Grade::CORE,
            day: 280,
            ..BASE
        },
        // Unpublished: only the provider department and reviewers.
        Spec {
            section: 2,
            seq: 7,
            name: "企业迁移登记信息",
            summary: "企业跨区域迁移登记信息（草稿）。",
            items: &["统一社会信用代码", "迁出地", "迁入地", "营业执照号"],
            dept: SCJG,
            status: Draft,
            grade: Grade::general(2),
            day: 290,
            ..BASE
        },
        Spec {
            section: 1,
            seq: 3,
            name: "人口死亡注销信息",
            summary: "死亡人员户口注销信息（待审核）。",
            items: &["公民身份号码", "姓名", "死亡日期", "注销日期"],
            dept: GA,
            status: Submitted,
            grade: Grade::general(4),
            day: 300,
            ..BASE
        },
        Spec {
            section: 2,
            seq: 8,
            name: "营业执照变更信息",
            summary: "营业执照登记事项变更（审核通过，待发布）。",
            items: &["统一社会信用代码", "变更事项", "变更前内容", "变更后内容"],
            dept: SCJG,
            status: Approved,
            share: ShareType::Unconditional,
            open: OpenType::Unconditional,
            grade: Grade::general(1),
            day: 310,
            ..BASE
        },
        Spec {
            section: 6,
            seq: 3,
            name: "死亡医学证明信息",
            summary: "医疗卫生机构出具的死亡医学证明（退回修改）。",
            items: &["死者姓名", "公民身份号码", "死亡日期", "死亡原因"],
            dept: WJ,
            status: Returned,
            grade: Grade::general(4),
            day: 320,
            ..BASE
        },
        Spec {
            section: 4,
            seq: 3,
            name: "工伤认定信息",
            summary: "工伤认定申请和认定结论。",
            keywords: &["工伤"],
            items: &["公民身份号码", "姓名", "用人单位", "认定结论"],
            dept: RS,
            grade: Grade::general(3),
            day: 330,
            ..BASE
        },
        // Not searchable by anyone.
        Spec {
            section: 1,
            seq: 9,
            name: "旧版人口信息",
            summary: "已撤销的旧版人口信息目录。",
            items: &["公民身份号码", "姓名"],
            dept: GA,
            status: Withdrawn,
            day: 340,
            ..BASE
        },
        Spec {
            section: 5,
            seq: 9,
            name: "低保对象名单（作废）",
            summary: "作废的草稿。",
            items: &["姓名"],
            dept: MZ,
            status: Discarded,
            day: 350,
            ..BASE
        },
        Spec {
            section: 8,
            seq: 9,
            name: "学生营养餐信息（旧版本）",
            summary: "被新版本替代。",
            items: &["学生姓名", "营业执照号"],
            dept: JY,
            node: HZ,
            status: Superseded,
            day: 360,
            ..BASE
        },
    ]
}

pub fn corpus() -> Vec<SearchDoc> {
    specs().iter().map(to_doc).collect()
}

pub fn doc_named<'a>(docs: &'a [SearchDoc], name: &str) -> &'a SearchDoc {
    docs.iter().find(|d| d.entry.metadata.name == name).unwrap_or_else(|| panic!("no {name}"))
}

pub fn code_of(docs: &[SearchDoc], name: &str) -> String {
    doc_named(docs, name).entry.code.to_string()
}

/// What a facet filter selects, computed the slow way for comparison.
pub fn matches_filters(doc: &SearchDoc, filters: &Filters, except: Option<Facet>) -> bool {
    Facet::ALL.into_iter().filter(|f| Some(*f) != except).all(|f| {
        let values = filters.values(f);
        values.is_empty() || values.contains(&facet_value(doc, f))
    })
}

pub fn facet_value(doc: &SearchDoc, facet: Facet) -> String {
    let m = &doc.entry.metadata;
    let wire = |v: serde_json::Value| v.as_str().unwrap().to_owned();
    match facet {
        Facet::Provider => m.provider.department_id.clone(),
        Facet::Class => wire(serde_json::to_value(m.classification.class).unwrap()),
        Facet::ShareType => wire(serde_json::to_value(m.share_type).unwrap()),
        Facet::OpenType => wire(serde_json::to_value(m.open_type).unwrap()),
        Facet::Grade => govdata_search::grade_value(doc.entry.grade.as_ref()),
        Facet::UpdateCycle => wire(serde_json::to_value(m.update_cycle).unwrap()),
        Facet::FormatClass => wire(serde_json::to_value(m.format_class).unwrap()),
        Facet::Region => doc.region.clone(),
        Facet::Node => doc.node_id.clone(),
        Facet::Status => doc.entry.status.as_str().to_owned(),
    }
}

pub fn viewers() -> Vec<(&'static str, Viewer)> {
    vec![
        ("anonymous", Viewer::anonymous()),
        ("公安", Viewer::department(GA.0)),
        ("市场监管", Viewer::department(SCJG.0)),
        ("卫健", Viewer::department(WJ.0)),
        ("其他部门", Viewer::department("d-other")),
        ("数据主管部门", Viewer::reviewer(DSJ.0)),
    ]
}

/// `n` synthetic published entries spread over departments, classes and
/// vocabularies, with realistic names and items.
pub fn synthetic(n: usize) -> impl Iterator<Item = SearchDoc> {
    const SUBJECTS: &[&str] = &[
        "人口",
        "法人",
        "不动产",
        "社会保险",
        "婚姻",
        "出生",
        "学籍",
        "纳税",
        "公积金",
        "排污",
        "交通违法",
        "医疗机构",
        "药品",
        "食品",
        "建筑企业",
        "道路运输",
        "殡葬",
        "残疾人",
        "退役军人",
        "农业补贴",
    ];
    const KINDS: &[&str] = &["登记信息", "许可信息", "统计数据", "变更记录", "检查结果", "补贴发放信息"];
    const ITEMS: &[&str] = &[
        "公民身份号码",
        "姓名",
        "统一社会信用代码",
        "营业执照号",
        "登记日期",
        "地址",
        "金额",
        "状态",
        "机构名称",
        "联系电话",
    ];
    const DEPTS: &[(&str, &str)] = &[GA, SCJG, ZRZY, RS, MZ, WJ, HB, JY, SW, GJJ, TJ, DSJ];
    let specs = specs();
    let template = specs[0].clone();
    (0..n).map(move |i| {
        let subject = SUBJECTS[i % SUBJECTS.len()];
        let kind = KINDS[(i / SUBJECTS.len()) % KINDS.len()];
        let dept = DEPTS[i % DEPTS.len()];
        let spec = Spec {
            node: if i % 3 == 0 { HZ } else { ZJ },
            class: [TopClass::Base, TopClass::Theme, TopClass::Department][i % 3],
            section: (i % 99 + 1) as u8,
            seq: (i / 99 + 1) as u32,
            dept,
            share: [ShareType::Unconditional, ShareType::Conditional][i % 2],
            open: [OpenType::Unconditional, OpenType::Conditional, OpenType::NotOpen][i % 3],
            cycle: [UpdateCycle::Daily, UpdateCycle::Monthly, UpdateCycle::Yearly][i % 3],
            grade: Grade::general((i % 4 + 1) as u8),
            day: (i % 1000) as i64,
            ..template.clone()
        };
        let mut doc = to_doc(&spec);
        let m = &mut doc.entry.metadata;
        m.name = format!("{subject}{kind}（第{i}批）");
        m.summary = format!("{}提供的{subject}{kind}。", dept.1);
        m.keywords = vec![subject.to_owned()];
        m.items = (0..5)
            .map(|k| {
                let mut item = InfoItem::new(ITEMS[(i + k * 3) % ITEMS.len()], ItemType::Character, Some(64));
                item.grade = Some(spec.grade);
                item
            })
            .collect();
        doc
    })
}
