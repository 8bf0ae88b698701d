//! The demo's base and theme libraries: the synthetic persons and enterprises
//! go into base-library Delta tables through the same upload connector and
//! job runner a department would use, next to more sources for each (social
//! insurance for persons; business licences, tax credit, land-use rights and
//! yearly business figures for enterprises), so the person and enterprise
//! profiles join several sources from the first start. The five base
//! libraries of the guide — 人口, 法人, 自然资源, 经济, 电子证照 — are all
//! there on a node whose departments provide them.

use std::path::{Path, PathBuf};

use govdata_catalog::{Caller, Catalog};
use govdata_lake::mapping::{ColumnMapping, EntityKind};
use govdata_lake::resource::{Access, EntityKeySpec, ResourceSpec, SourceSpec};
use govdata_lake::service::{JobInput, Resources};
use govdata_lake::source::file::FileFormat;
use govdata_lake::table::WriteMode;
use govdata_model::catalog::{
    Action, Classification, EntryDraft, FormatClass, Grade, InfoItem, ItemType, OpenType, Provider,
    ShareMode, ShareType, TopClass, UpdateCycle,
};
use govdata_store::JobStatus;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::demo_catalog::ProviderDepartment;
use crate::synth::{write_csv, Enterprise, Person};

/// One base or theme library table the demo loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoLibrary {
    pub library: String,
    pub entry_code: String,
    pub resource_id: String,
    pub rows_written: u64,
}

/// An item: name, type, length, grade, and the CSV column that holds it.
type Column = (&'static str, ItemType, Option<u32>, Grade, &'static str);

const PERSON_COLUMNS: &[Column] = &[
    ("公民身份号码", ItemType::Character, Some(18), Grade::general(4), "id_number"),
    ("姓名", ItemType::Character, Some(50), Grade::general(3), "name"),
    ("性别", ItemType::Character, Some(2), Grade::general(2), "gender"),
    ("出生日期", ItemType::Date, Some(8), Grade::general(3), "birth_date"),
    ("民族", ItemType::Character, Some(20), Grade::general(3), "ethnicity"),
    ("户籍地行政区划代码", ItemType::Character, Some(6), Grade::general(2), "region_code"),
    ("住址", ItemType::Character, Some(200), Grade::general(3), "address"),
    ("手机号码", ItemType::Character, Some(11), Grade::general(3), "mobile_phone"),
];

const INSURANCE_COLUMNS: &[Column] = &[
    ("公民身份号码", ItemType::Character, Some(18), Grade::general(4), "id_number"),
    ("参保险种", ItemType::Character, Some(30), Grade::general(2), "insurance"),
    ("参保状态", ItemType::Character, Some(10), Grade::general(2), "status"),
    ("参保日期", ItemType::Date, Some(8), Grade::general(2), "since"),
    ("月缴费基数", ItemType::Currency, Some(12), Grade::general(3), "base_amount"),
];

const ENTERPRISE_COLUMNS: &[Column] = &[
    ("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1), "uscc"),
    ("企业名称", ItemType::Character, Some(200), Grade::general(1), "name"),
    ("法定代表人", ItemType::Character, Some(50), Grade::general(2), "legal_representative"),
    ("注册资本（万元）", ItemType::Numeric, Some(12), Grade::general(1), "registered_capital"),
    ("成立日期", ItemType::Date, Some(8), Grade::general(1), "established_date"),
    ("住所行政区划代码", ItemType::Character, Some(6), Grade::general(1), "region_code"),
    ("住所", ItemType::Character, Some(200), Grade::general(1), "address"),
    ("行业", ItemType::Character, Some(50), Grade::general(1), "industry"),
    ("登记状态", ItemType::Character, Some(10), Grade::general(1), "status"),
];

const TAX_COLUMNS: &[Column] = &[
    ("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1), "uscc"),
    ("纳税信用等级", ItemType::Character, Some(2), Grade::general(2), "credit_level"),
    ("评价年度", ItemType::Integer, Some(4), Grade::general(1), "year"),
];

#[derive(Serialize)]
struct Insurance<'a> {
    id_number: &'a str,
    insurance: &'static str,
    status: &'static str,
    since: String,
    base_amount: String,
}

const LICENCE_COLUMNS: &[Column] = &[
    ("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1), "uscc"),
    ("证照编号", ItemType::Character, Some(32), Grade::general(1), "licence_number"),
    ("证照名称", ItemType::Character, Some(50), Grade::general(1), "licence_name"),
    ("发证机关", ItemType::Character, Some(100), Grade::general(1), "issuer"),
    ("发证日期", ItemType::Date, Some(8), Grade::general(1), "issued_on"),
    ("有效期至", ItemType::Character, Some(10), Grade::general(1), "valid_until"),
];

#[derive(Serialize)]
struct Licence<'a> {
    uscc: &'a str,
    licence_number: String,
    licence_name: &'static str,
    issuer: String,
    issued_on: &'a str,
    valid_until: &'static str,
}

/// 自然资源基础库: state-owned construction land-use rights (国有建设用地使用权)
/// by real-estate unit number (不动产单元号, 28 characters), linked to the
/// right holder.
const LAND_COLUMNS: &[Column] = &[
    ("不动产单元号", ItemType::Character, Some(28), Grade::general(1), "unit_number"),
    ("权利人统一社会信用代码", ItemType::Character, Some(18), Grade::general(1), "holder_uscc"),
    ("坐落", ItemType::Character, Some(200), Grade::general(1), "location"),
    ("宗地面积（平方米）", ItemType::Numeric, Some(14), Grade::general(1), "area"),
    ("土地用途", ItemType::Character, Some(20), Grade::general(1), "land_use"),
    ("权利类型", ItemType::Character, Some(30), Grade::general(1), "right_type"),
    ("使用期限至", ItemType::Date, Some(8), Grade::general(1), "term_until"),
    ("登记日期", ItemType::Date, Some(8), Grade::general(1), "registered_on"),
];

#[derive(Serialize)]
struct LandRight<'a> {
    unit_number: String,
    holder_uscc: &'a str,
    location: String,
    area: String,
    land_use: &'static str,
    right_type: &'static str,
    term_until: String,
    registered_on: &'a str,
}

/// 经济基础库: each enterprise's figures for the year, from its tax returns.
const ECONOMY_COLUMNS: &[Column] = &[
    ("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1), "uscc"),
    ("统计年度", ItemType::Integer, Some(4), Grade::general(1), "year"),
    ("营业收入（万元）", ItemType::Numeric, Some(14), Grade::general(2), "revenue"),
    ("利润总额（万元）", ItemType::Numeric, Some(14), Grade::general(2), "profit"),
    ("纳税总额（万元）", ItemType::Numeric, Some(14), Grade::general(2), "tax_paid"),
    ("从业人数", ItemType::Integer, Some(8), Grade::general(1), "employees"),
];

#[derive(Serialize)]
struct BusinessFigures<'a> {
    uscc: &'a str,
    year: u32,
    revenue: String,
    profit: String,
    tax_paid: String,
    employees: u32,
}

#[derive(Serialize)]
struct TaxCredit<'a> {
    uscc: &'a str,
    credit_level: &'static str,
    year: u32,
}

/// What one library needs: who provides it and how it is cataloged.
struct LibraryPlan<'a> {
    library: &'static str,
    slug: &'static str,
    name: &'static str,
    summary: &'static str,
    classification: Classification,
    /// The first column is the row key (upserts replace by it); this item
    /// names the entity the rows are about.
    columns: &'static [Column],
    entity_item: &'static str,
    entity: EntityKind,
    file: &'a Path,
}

/// Catalogs, publishes and loads the demo libraries whose provider the node has; returns them.
#[allow(clippy::too_many_arguments)]
pub async fn seed(
    catalog: &Catalog,
    resources: &Resources,
    providers: &[ProviderDepartment<'_>],
    reviewer: &Caller,
    persons: &[Person],
    enterprises: &[Enterprise],
    data_dir: &Path,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<DemoLibrary>> {
    let seed_dir = data_dir.join("seed");
    let uploads = data_dir.join("uploads");
    let insurance_path = seed_dir.join("social-insurance.csv");
    write_csv(&insurance_path, &insurance_rows(persons, rng))?;
    let tax_path = seed_dir.join("tax-credit.csv");
    write_csv(&tax_path, &tax_rows(enterprises, rng))?;
    let licence_path = seed_dir.join("business-licences.csv");
    write_csv(&licence_path, &licence_rows(enterprises))?;
    let land_path = seed_dir.join("land-use-rights.csv");
    write_csv(&land_path, &land_rows(enterprises, rng))?;
    let economy_path = seed_dir.join("business-figures.csv");
    write_csv(&economy_path, &economy_rows(enterprises, rng))?;
    let persons_path = seed_dir.join("persons.csv");
    let enterprises_path = seed_dir.join("enterprises.csv");
    let plans = [
        LibraryPlan {
            library: "人口基础库",
            slug: "gongan",
            name: "人口基础信息",
            summary: "全员人口的身份、户籍和联系方式基础信息，按公民身份号码唯一标识，是一人一档的主干。",
            classification: Classification::new(TopClass::Base, 1, Some(20), None),
            columns: PERSON_COLUMNS,
            entity_item: "公民身份号码",
            entity: EntityKind::Person,
            file: &persons_path,
        },
        LibraryPlan {
            library: "社会保险参保库",
            slug: "renshe",
            name: "社会保险参保信息",
            summary: "城镇职工和城乡居民社会保险的参保险种、状态、参保日期和缴费基数。",
            classification: Classification::new(TopClass::Base, 1, Some(21), None),
            columns: INSURANCE_COLUMNS,
            entity_item: "公民身份号码",
            entity: EntityKind::Person,
            file: &insurance_path,
        },
        LibraryPlan {
            library: "法人基础库",
            slug: "shichang",
            name: "法人单位基础信息",
            summary:
                "市场主体登记的名称、法定代表人、注册资本、住所、行业和登记状态，按统一社会信用代码唯一标识。",
            classification: Classification::new(TopClass::Base, 2, Some(20), None),
            columns: ENTERPRISE_COLUMNS,
            entity_item: "统一社会信用代码",
            entity: EntityKind::Enterprise,
            file: &enterprises_path,
        },
        LibraryPlan {
            library: "电子证照库",
            slug: "shichang",
            name: "营业执照电子证照",
            summary: "市场主体营业执照电子证照的证照编号、名称、发证机关、发证日期和有效期，按统一社会信用代码关联企业。",
            classification: Classification::new(TopClass::Base, 5, Some(20), None),
            columns: LICENCE_COLUMNS,
            entity_item: "统一社会信用代码",
            entity: EntityKind::Enterprise,
            file: &licence_path,
        },
        LibraryPlan {
            library: "纳税信用库",
            slug: "shuiwu",
            name: "纳税信用等级评价结果",
            summary: "税务机关年度纳税信用等级评价结果，按统一社会信用代码关联企业。",
            classification: Classification::new(TopClass::Base, 2, Some(21), None),
            columns: TAX_COLUMNS,
            entity_item: "统一社会信用代码",
            entity: EntityKind::Enterprise,
            file: &tax_path,
        },
        LibraryPlan {
            library: "自然资源基础库",
            slug: "ziran",
            name: "国有建设用地使用权登记信息",
            summary: "不动产登记中的国有建设用地使用权：不动产单元号、权利人、坐落、宗地面积、用途、使用期限和登记日期。",
            classification: Classification::new(TopClass::Base, 3, Some(20), None),
            columns: LAND_COLUMNS,
            entity_item: "权利人统一社会信用代码",
            entity: EntityKind::Enterprise,
            file: &land_path,
        },
        LibraryPlan {
            library: "经济基础库",
            slug: "shuiwu",
            name: "企业年度经营主要指标",
            summary: "根据纳税申报汇总的企业年度营业收入、利润总额、纳税总额和从业人数，按统一社会信用代码关联企业。",
            classification: Classification::new(TopClass::Base, 6, Some(20), None),
            columns: ECONOMY_COLUMNS,
            entity_item: "统一社会信用代码",
            entity: EntityKind::Enterprise,
            file: &economy_path,
        },
    ];
    let mut libraries = Vec::new();
    for plan in plans {
        let Some(provider) = providers.iter().find(|p| p.slug == plan.slug) else { continue };
        libraries.push(load(catalog, resources, provider, reviewer, &plan, &uploads).await?);
    }
    Ok(libraries)
}

async fn load(
    catalog: &Catalog,
    resources: &Resources,
    provider: &ProviderDepartment<'_>,
    reviewer: &Caller,
    plan: &LibraryPlan<'_>,
    uploads: &Path,
) -> anyhow::Result<DemoLibrary> {
    let owner = crate::demo_catalog::caller(provider.provider);
    let items: Vec<InfoItem> = plan
        .columns
        .iter()
        .map(|(name, type_code, length, grade, _)| {
            let mut item = InfoItem::new(*name, *type_code, *length);
            item.grade = Some(*grade);
            // Amounts and areas carry two decimals.
            if matches!(type_code, ItemType::Currency | ItemType::Numeric) {
                item.scale = Some(2);
            }
            item
        })
        .collect();
    let draft = EntryDraft {
        classification: plan.classification.clone(),
        name: plan.name.to_owned(),
        summary: plan.summary.to_owned(),
        keywords: vec![plan.library.to_owned(), "基础库".to_owned()],
        provider: Provider {
            department_id: provider.department.id.clone(),
            uscc: provider.department.uscc.clone(),
        },
        format_class: FormatClass::Database,
        format_type: "delta".to_owned(),
        items,
        share_type: ShareType::Conditional,
        share_condition: Some("仅限依法履行职责的部门按最小必要原则使用".to_owned()),
        legal_basis: None,
        share_modes: vec![ShareMode::Api, ShareMode::Table],
        open_type: OpenType::NotOpen,
        open_condition: None,
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: provider.system_id.clone(),
        resources: Vec::new(),
    };
    let entry = catalog.register(&owner, draft).await?;
    catalog.act(&owner, &entry.code, None, Action::Submit).await?;
    catalog.act(reviewer, &entry.code, None, Action::Approve { comment: None }).await?;
    catalog.act(reviewer, &entry.code, None, Action::Publish).await?;

    let key_item = plan.columns[0].0;
    let spec = ResourceSpec {
        name: format!("{}（{}）", plan.library, plan.name),
        access: Access::Physical {
            source: SourceSpec::Upload {
                format: FileFormat::from_extension(plan.file).expect("a .csv file"),
            },
            mode: WriteMode::Upsert { key: vec![key_item.to_owned()] },
            schedule: None,
        },
        mapping: plan
            .columns
            .iter()
            .map(|(item, _, _, _, column)| ColumnMapping {
                item: (*item).to_owned(),
                column: Some((*column).to_owned()),
                absent_reason: None,
            })
            .collect(),
        entity_key: Some(EntityKeySpec { item: plan.entity_item.to_owned(), kind: plan.entity }),
        retention_days: Some(365),
    };
    let resource = resources.register(&owner, &entry.code.to_string(), spec).await?;
    let upload = upload_copy(uploads, plan.file)?;
    let job = resources.run(&owner, &resource.id, JobInput::Upload(upload)).await?;
    resources.execute(job.clone()).await;
    let done = resources.jobs(&owner, &resource.id, 1).await?;
    let done =
        done.first().filter(|j| j.id == job.id && j.status == JobStatus::Succeeded).ok_or_else(|| {
            anyhow::anyhow!(
                "loading {} failed: {:?}",
                plan.library,
                done.first().and_then(|j| j.error.clone())
            )
        })?;
    Ok(DemoLibrary {
        library: plan.library.to_owned(),
        entry_code: entry.code.to_string(),
        resource_id: resource.id,
        rows_written: done.rows_written.unwrap_or(0),
    })
}

/// Jobs consume their upload; the seed file stays for people to look at.
fn upload_copy(uploads: &Path, file: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(uploads)?;
    let path = uploads.join(format!("{}.upload", uuid::Uuid::new_v4()));
    std::fs::copy(file, &path)?;
    Ok(path)
}

fn insurance_rows<'a>(persons: &'a [Person], rng: &mut ChaCha8Rng) -> Vec<Insurance<'a>> {
    const KINDS: &[&str] = &["企业职工基本养老保险", "城乡居民基本养老保险", "职工基本医疗保险", "失业保险"];
    let mut rows = Vec::new();
    for person in persons.iter().filter(|p| p.birth_date.as_str() < "2008-01-01") {
        if !rng.gen_bool(0.6) {
            continue;
        }
        rows.push(Insurance {
            id_number: &person.id_number,
            insurance: KINDS.choose(rng).expect("non-empty"),
            status: if rng.gen_bool(0.9) { "正常参保" } else { "暂停缴费" },
            since: format!("{}{:02}01", rng.gen_range(2005..2026), rng.gen_range(1..=12)),
            base_amount: format!("{}.00", rng.gen_range(4_000..30_000)),
        });
    }
    rows
}

fn tax_rows<'a>(enterprises: &'a [Enterprise], rng: &mut ChaCha8Rng) -> Vec<TaxCredit<'a>> {
    const LEVELS: &[&str] = &["A", "B", "B", "M", "C", "D"];
    let mut rows = Vec::new();
    for enterprise in enterprises {
        if rng.gen_bool(0.7) {
            let credit_level = LEVELS.choose(rng).expect("non-empty");
            rows.push(TaxCredit { uscc: &enterprise.uscc, credit_level, year: 2025 });
        }
    }
    rows
}

/// Land-use rights for about a third of the enterprises, in their region.
fn land_rows<'a>(enterprises: &'a [Enterprise], rng: &mut ChaCha8Rng) -> Vec<LandRight<'a>> {
    const USES: &[(&str, u32)] = &[("工业用地", 50), ("商服用地", 40), ("仓储用地", 50), ("住宅用地", 70)];
    let mut rows = Vec::new();
    for (i, enterprise) in enterprises.iter().enumerate() {
        if !rng.gen_bool(0.35) {
            continue;
        }
        let (land_use, years) = *USES.choose(rng).expect("non-empty");
        let registered: u32 =
            enterprise.established_date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2010);
        let place =
            govdata_model::validate::divisions::full_name(&enterprise.region_code).unwrap_or_default();
        rows.push(LandRight {
            // 行政区划(6) 地籍区(3) 地籍子区(3) 宗地特征码(2) 宗地顺序号(5) 定着物特征码(1) 定着物单元号(8).
            unit_number: format!(
                "{}{:03}{:03}GB{:05}W00000000",
                enterprise.region_code,
                1 + i % 20,
                1 + i % 7,
                i + 1
            ),
            holder_uscc: &enterprise.uscc,
            location: format!(
                "{place}{}路{}号",
                ["科技", "工业", "创业", "滨江", "新城"][i % 5],
                1 + i % 300
            ),
            area: format!("{}.{:02}", rng.gen_range(800..60_000), rng.gen_range(0..100)),
            land_use,
            right_type: "国有建设用地使用权",
            term_until: format!("{}{}", registered + years, &enterprise.established_date[4..]),
            registered_on: &enterprise.established_date,
        });
    }
    rows
}

/// The year's figures for the enterprises still in business.
fn economy_rows<'a>(enterprises: &'a [Enterprise], rng: &mut ChaCha8Rng) -> Vec<BusinessFigures<'a>> {
    enterprises
        .iter()
        .filter(|e| matches!(e.status, "存续" | "在业"))
        .map(|e| {
            let revenue = f64::from(e.registered_capital) * rng.gen_range(0.3..6.0);
            let profit = revenue * rng.gen_range(-0.08..0.18);
            let tax = revenue * rng.gen_range(0.01..0.06);
            BusinessFigures {
                uscc: &e.uscc,
                year: 2025,
                revenue: format!("{revenue:.2}"),
                profit: format!("{profit:.2}"),
                tax_paid: format!("{tax:.2}"),
                employees: rng.gen_range(3..2_000),
            }
        })
        .collect()
}

/// One business licence per enterprise, issued by the market regulator of
/// its region on the day it was established.
fn licence_rows(enterprises: &[Enterprise]) -> Vec<Licence<'_>> {
    enterprises
        .iter()
        .enumerate()
        .map(|(i, e)| Licence {
            uscc: &e.uscc,
            licence_number: format!("{}{:010}", &e.region_code, i + 1),
            licence_name: "营业执照",
            issuer: format!(
                "{}市场监督管理局",
                govdata_model::validate::divisions::full_name(&e.region_code).unwrap_or_default()
            ),
            issued_on: &e.established_date,
            valid_until: "长期",
        })
        .collect()
}
