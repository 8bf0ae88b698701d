//! The demo catalog: realistic entries for every provider department, made
//! from department × subject × aspect (distinct names and item sets, so the
//! one-data-one-source check passes), and driven through the real catalog
//! service into every lifecycle state: drafts, submissions under review,
//! returned entries, published entries (some at version 2, superseding
//! version 1, some with a version 2 in review), and withdrawals.

use std::collections::BTreeMap;

use govdata_catalog::{Caller, Catalog};
use govdata_model::catalog::{
    Action, ActorContext, Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType,
    Provider, ResourceCode, ReturnReason, ShareMode, ShareType, TopClass, UpdateCycle,
};
use govdata_model::org::{Department, User};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A provider department of the demo, with what the generator needs.
pub struct ProviderDepartment<'a> {
    pub department: &'a Department,
    pub slug: &'a str,
    pub provider: &'a User,
    pub system_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatalogCounts {
    /// Entries with a published version.
    pub published: usize,
    /// Latest-version status → number of entries.
    pub by_status: BTreeMap<String, usize>,
}

type ItemSpec = (&'static str, ItemType, Option<u32>, Grade);

const G1: Grade = Grade::general(1);
const G2: Grade = Grade::general(2);
const G3: Grade = Grade::general(3);

/// The key items and subjects of each kind of department, and the base
/// library (项 of class 1) its subjects belong to, if any.
fn department_profile(slug: &str) -> Option<(Vec<ItemSpec>, &'static [&'static str], Option<u8>)> {
    let person = vec![
        ("公民身份号码", ItemType::Character, Some(18), G3),
        ("姓名", ItemType::Character, Some(50), G3),
    ];
    let company = vec![
        ("统一社会信用代码", ItemType::Character, Some(18), G1),
        ("市场主体名称", ItemType::Character, Some(200), G1),
    ];
    Some(match slug {
        "gongan" => (
            person,
            &[
                "常住人口",
                "流动人口",
                "户籍迁移",
                "居民身份证",
                "出入境证件",
                "机动车",
                "驾驶人",
                "交通违法",
                "治安案件",
                "消防检查",
            ],
            Some(1),
        ),
        "minzheng" => (
            person,
            &[
                "婚姻登记",
                "低保对象",
                "特困人员",
                "社会组织",
                "殡葬服务",
                "养老机构",
                "残疾人补贴",
                "儿童福利",
                "地名",
                "慈善组织",
            ],
            None,
        ),
        "shichang" => (
            company,
            &[
                "企业登记",
                "个体工商户",
                "农民专业合作社",
                "经营异常名录",
                "严重违法失信",
                "食品生产许可",
                "特种设备",
                "计量器具",
                "商标质押",
                "广告监测",
            ],
            Some(2),
        ),
        "renshe" => (
            person,
            &[
                "养老保险参保",
                "失业保险",
                "工伤保险",
                "社会保障卡",
                "就业登记",
                "职业资格证书",
                "技能等级认定",
                "劳动用工备案",
                "欠薪线索",
                "人事考试",
            ],
            None,
        ),
        "weijian" => (
            person,
            &[
                "出生医学证明",
                "医师执业注册",
                "护士执业注册",
                "医疗机构执业许可",
                "预防接种",
                "死亡医学证明",
                "传染病报告",
                "母婴保健",
                "健康体检",
                "职业病诊断",
            ],
            None,
        ),
        "ziran" => (
            vec![
                ("不动产单元号", ItemType::Character, Some(28), G2),
                ("权利人名称", ItemType::Character, Some(100), G2),
            ],
            &[
                "不动产登记",
                "土地供应",
                "建设用地规划许可",
                "矿业权",
                "地质灾害隐患点",
                "耕地保护",
                "测绘资质",
                "国土空间规划",
                "林权",
                "海域使用权",
            ],
            Some(3),
        ),
        "shengtai" => (
            company,
            &[
                "排污许可",
                "环境影响评价",
                "空气质量监测",
                "水质监测",
                "危险废物经营许可",
                "环境行政处罚",
                "辐射安全许可",
                "重点排污单位",
                "土壤污染状况",
                "碳排放配额",
            ],
            None,
        ),
        "shuiwu" => (
            vec![
                ("纳税人识别号", ItemType::Character, Some(20), G2),
                ("纳税人名称", ItemType::Character, Some(200), G2),
            ],
            &[
                "纳税人登记",
                "纳税信用等级",
                "发票开具",
                "欠税公告",
                "重大税收违法失信",
                "出口退税",
                "个人所得税",
                "税务行政处罚",
                "增值税申报",
                "社保费缴纳",
            ],
            None,
        ),
        "jiaoyu" => (
            vec![
                ("学籍号", ItemType::Character, Some(19), G2),
                ("学生姓名", ItemType::Character, Some(50), G3),
            ],
            &[
                "学籍",
                "学历证书",
                "学位证书",
                "教师资格",
                "学校办学许可",
                "学生资助",
                "招生录取",
                "义务教育入学",
                "校外培训机构",
                "教育经费",
            ],
            None,
        ),
        _ => return None,
    })
}

/// Subjects whose data the demo grades 重要 (important data).
const IMPORTANT: &[&str] =
    &["出入境证件", "治安案件", "传染病报告", "矿业权", "重大税收违法失信", "碳排放配额"];

/// An aspect of a subject: its name suffix and its own items.
type Aspect = (&'static str, &'static [(&'static str, ItemType, Option<u32>)]);

const ASPECTS: &[Aspect] = &[
    (
        "基本信息",
        &[
            ("登记日期", ItemType::Date, Some(8)),
            ("登记机关", ItemType::Character, Some(100)),
            ("当前状态", ItemType::Character, Some(20)),
        ],
    ),
    (
        "变更信息",
        &[
            ("变更事项", ItemType::Character, Some(100)),
            ("变更前内容", ItemType::Memo, None),
            ("变更后内容", ItemType::Memo, None),
            ("变更日期", ItemType::Date, Some(8)),
        ],
    ),
    ("注销信息", &[("注销日期", ItemType::Date, Some(8)), ("注销原因", ItemType::Character, Some(200))]),
    (
        "审批结果",
        &[
            ("审批事项", ItemType::Character, Some(200)),
            ("审批结论", ItemType::Character, Some(20)),
            ("审批日期", ItemType::Date, Some(8)),
        ],
    ),
    (
        "电子证照",
        &[
            ("证照编号", ItemType::Character, Some(64)),
            ("证照名称", ItemType::Character, Some(100)),
            ("发证日期", ItemType::Date, Some(8)),
            ("有效期至", ItemType::Date, Some(8)),
        ],
    ),
    (
        "统计汇总",
        &[
            ("统计期", ItemType::Character, Some(10)),
            ("行政区划代码", ItemType::Character, Some(6)),
            ("数量", ItemType::Integer, None),
        ],
    ),
    ("年度报告", &[("报告年度", ItemType::Character, Some(4)), ("报送日期", ItemType::Date, Some(8))]),
    (
        "监督检查",
        &[
            ("检查日期", ItemType::Date, Some(8)),
            ("检查结果", ItemType::Character, Some(100)),
            ("检查机关", ItemType::Character, Some(100)),
        ],
    ),
    (
        "行政处罚",
        &[
            ("处罚决定书文号", ItemType::Character, Some(64)),
            ("处罚内容", ItemType::Memo, None),
            ("处罚日期", ItemType::Date, Some(8)),
        ],
    ),
    ("信用评价", &[("评价等级", ItemType::Character, Some(10)), ("评价日期", ItemType::Date, Some(8))]),
    (
        "办件记录",
        &[
            ("办件编号", ItemType::Character, Some(64)),
            ("受理日期", ItemType::Date, Some(8)),
            ("办结日期", ItemType::Date, Some(8)),
        ],
    ),
    ("核验结果", &[("核验事项", ItemType::Character, Some(100)), ("核验结论", ItemType::Logical, Some(1))]),
    ("历史档案", &[("档案号", ItemType::Character, Some(64)), ("归档日期", ItemType::Date, Some(8))]),
    ("服务评价", &[("评价内容", ItemType::Memo, None), ("满意度", ItemType::Integer, None)]),
    (
        "地理位置",
        &[
            ("经度", ItemType::Float, None),
            ("纬度", ItemType::Float, None),
            ("详细地址", ItemType::Character, Some(200)),
        ],
    ),
];

const CYCLES: &[UpdateCycle] = &[
    UpdateCycle::RealTime,
    UpdateCycle::Daily,
    UpdateCycle::Daily,
    UpdateCycle::Weekly,
    UpdateCycle::Monthly,
    UpdateCycle::Monthly,
    UpdateCycle::Quarterly,
    UpdateCycle::Yearly,
    UpdateCycle::Irregular,
];

const LEGAL_BASES: &[&str] = &[
    "《中华人民共和国个人信息保护法》第十三条、第二十八条",
    "《中华人民共和国保守国家秘密法》第十三条",
    "《中华人民共和国数据安全法》第二十一条",
];

fn draft(
    rng: &mut ChaCha8Rng,
    provider: &ProviderDepartment<'_>,
    index: (usize, usize),
    profile: &(Vec<ItemSpec>, &'static [&'static str], Option<u8>),
    department_number: u8,
) -> EntryDraft {
    let (keys, subjects, base_section) = profile;
    let (subject_index, aspect_index) = index;
    let subject = subjects[subject_index];
    let (aspect, aspect_items) = ASPECTS[aspect_index];
    let important = IMPORTANT.contains(&subject);
    let subject_grade = if important { Grade::IMPORTANT } else { G1 };
    let mut items: Vec<InfoItem> = keys
        .iter()
        .map(|(name, type_code, length, grade)| InfoItem {
            grade: Some(*grade),
            ..InfoItem::new(*name, *type_code, *length)
        })
        .collect();
    items.push(InfoItem {
        grade: Some(subject_grade),
        ..InfoItem::new(format!("{subject}业务编号"), ItemType::Character, Some(32))
    });
    items.extend(aspect_items.iter().map(|(name, type_code, length)| InfoItem {
        grade: Some(G1),
        ..InfoItem::new(*name, *type_code, *length)
    }));
    let classification = match (base_section, aspect) {
        (_, "电子证照") => Classification::new(TopClass::Base, 5, Some(subject_index as u16 + 1), None),
        (Some(section), _) => {
            Classification::new(TopClass::Base, *section, Some(subject_index as u16 + 1), None)
        }
        (None, _) => {
            Classification::new(TopClass::Department, department_number, Some(subject_index as u16 + 1), None)
        }
    };
    let personal = items.iter().any(|i| i.grade.is_some_and(|g| g >= G3));
    let (share_type, share_condition, legal_basis) = match (important, rng.gen_range(0..20)) {
        (_, 0..=1) => {
            (ShareType::NotShared, None, Some(LEGAL_BASES.choose(rng).expect("non-empty").to_string()))
        }
        (true, _) | (_, 2..=8) => (
            ShareType::Conditional,
            Some(format!("仅限依法履行{subject}相关职责的部门使用，不得转授他人").to_owned()),
            None,
        ),
        _ => (ShareType::Unconditional, None, None),
    };
    let (open_type, open_condition) = match (share_type, important || personal, rng.gen_range(0..10)) {
        (ShareType::Unconditional, false, 0..=3) => (OpenType::Unconditional, None),
        (ShareType::NotShared, _, _) | (_, true, _) => (OpenType::NotOpen, None),
        (_, false, 4..=6) => (OpenType::Conditional, Some("经实名认证并签署数据使用协议后开放".to_owned())),
        _ => (OpenType::NotOpen, None),
    };
    let (format_class, format_type) = *[
        (FormatClass::Database, "mysql"),
        (FormatClass::Database, "postgresql"),
        (FormatClass::Spreadsheet, "xlsx"),
        (FormatClass::ElectronicFile, "pdf"),
    ]
    .choose(rng)
    .expect("non-empty");
    let share_modes = match share_type {
        ShareType::NotShared => Vec::new(),
        _ => [vec![ShareMode::Api], vec![ShareMode::Api, ShareMode::Table], vec![ShareMode::File]]
            .choose(rng)
            .expect("non-empty")
            .clone(),
    };
    let update_cycle = *CYCLES.choose(rng).expect("non-empty");
    let name = format!("{subject}{aspect}");
    EntryDraft {
        classification,
        summary: format!(
            "{}掌握的{name}，{}更新，供各级政务部门依法共享使用。",
            provider.department.name,
            update_cycle.label_zh()
        ),
        keywords: vec![subject.to_owned(), aspect.to_owned()],
        name,
        provider: Provider {
            department_id: provider.department.id.clone(),
            uscc: provider.department.uscc.clone(),
        },
        format_class,
        format_type: format_type.to_owned(),
        items,
        share_type,
        share_condition,
        legal_basis,
        share_modes,
        open_type,
        open_condition,
        update_cycle,
        related_codes: Vec::new(),
        system_id: provider.system_id.clone(),
        resources: Vec::new(),
    }
}

pub(crate) fn caller(user: &User) -> Caller {
    Caller {
        actor: "demo:seed".to_owned(),
        context: ActorContext::new(user.id.clone(), user.department_id.clone(), &user.roles),
    }
}

/// Seeds about `entries` entries across `providers`; returns the counts.
pub async fn seed(
    catalog: &Catalog,
    providers: &[ProviderDepartment<'_>],
    authority: &User,
    entries: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<CatalogCounts> {
    let reviewer = caller(authority);
    let profiles: Vec<_> =
        providers.iter().filter_map(|p| department_profile(p.slug).map(|profile| (p, profile))).collect();
    anyhow::ensure!(!profiles.is_empty(), "no demo department has a catalog profile");
    let mut counts = CatalogCounts::default();
    let mut made = 0;
    'outer: for aspect_index in 0..ASPECTS.len() {
        for subject_index in 0..10 {
            for (number, (provider, profile)) in profiles.iter().enumerate() {
                if made == entries {
                    break 'outer;
                }
                let owner = caller(provider.provider);
                let draft = draft(rng, provider, (subject_index, aspect_index), profile, number as u8 + 1);
                let entry = catalog.register(&owner, draft.clone()).await?;
                let status = drive(catalog, &owner, &reviewer, &entry.code, draft, made).await?;
                if matches!(
                    status,
                    "published" | "published_v2" | "revision_in_review" | "withdrawn_after_publishing"
                ) {
                    counts.published += usize::from(status != "withdrawn_after_publishing");
                }
                *counts.by_status.entry(status.to_owned()).or_default() += 1;
                made += 1;
            }
        }
    }
    Ok(counts)
}

/// Takes one registered entry to the state its position calls for; returns that state's name.
async fn drive(
    catalog: &Catalog,
    owner: &Caller,
    reviewer: &Caller,
    code: &ResourceCode,
    draft: EntryDraft,
    position: usize,
) -> anyhow::Result<&'static str> {
    let step = |caller: &Caller, action: Action| {
        let (caller, code) = (caller.clone(), code.clone());
        async move { catalog.act(&caller, &code, None, action).await }
    };
    let state = match position % 20 {
        0 => "draft",
        1 => "submitted",
        2 => "returned",
        3 => "withdrawn_after_publishing",
        4 => "revision_in_review",
        5 | 6 => "published_v2",
        _ => "published",
    };
    if state == "draft" {
        return Ok(state);
    }
    step(owner, Action::Submit).await?;
    match state {
        "submitted" => return Ok(state),
        "returned" => {
            let reasons = vec![ReturnReason {
                field: "summary".into(),
                reason: "摘要未说明数据覆盖范围和时间跨度".into(),
            }];
            step(reviewer, Action::Return { reasons }).await?;
            return Ok(state);
        }
        _ => {}
    }
    step(reviewer, Action::Approve { comment: None }).await?;
    step(reviewer, Action::Publish).await?;
    match state {
        "withdrawn_after_publishing" => {
            step(owner, Action::Withdraw { reason: "该数据已整合至新的目录条目".into() }).await?;
        }
        "revision_in_review" | "published_v2" => {
            step(owner, Action::NewVersion).await?;
            let mut revised = draft;
            revised.keywords.push("修订".into());
            revised.summary.push_str("本版本补充了数据来源说明。");
            catalog.edit(owner, code, revised).await?;
            step(owner, Action::Submit).await?;
            if state == "published_v2" {
                step(reviewer, Action::Approve { comment: Some("同意发布新版本".into()) }).await?;
                step(reviewer, Action::Publish).await?;
            }
        }
        _ => {}
    }
    Ok(state)
}
