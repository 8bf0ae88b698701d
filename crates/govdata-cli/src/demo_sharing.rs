//! The demo's share applications, grants, demands and objections, made
//! through the sharing service as departments would: an active grant behind
//! the demo consumer application's API key, a revoked one; applications
//! pending, rejected (with its legal basis), reopened by an upheld objection
//! and withdrawn; demands open and answered both ways; objections open,
//! upheld and dismissed.

use std::collections::{BTreeMap, HashMap};

use govdata_model::org::User;
use govdata_sharing::service::{DecisionKind, DecisionRequest};
use govdata_sharing::terms::{ApplyRequest, DeliveryMode, EntryWanted, RowFilter};
use govdata_sharing::workflow::{
    DemandAnswerKind, DemandAnswerRequest, DemandRequest, ObjectionKind, ObjectionRequest, RulingKind,
    RulingRequest,
};
use govdata_sharing::Sharing;
use serde::{Deserialize, Serialize};

use crate::demo_catalog::caller;
use crate::demo_lake::DemoLibrary;

/// A grant the demo made, to try at the gateway.
#[derive(Debug, Serialize, Deserialize)]
pub struct DemoGrant {
    pub grant_id: String,
    pub consumer: String,
    pub library: String,
    pub entry_code: String,
    pub items: Vec<String>,
    pub delivery: Vec<DeliveryMode>,
    /// `active` or `revoked`.
    pub state: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DemoSharing {
    /// Applications by status.
    pub applications: BTreeMap<String, usize>,
    pub grants: Vec<DemoGrant>,
    /// Demands by status.
    pub demands: BTreeMap<String, usize>,
    /// Objections by status.
    pub objections: BTreeMap<String, usize>,
}

/// What happens to one application.
enum Outcome {
    Approve,
    ApproveThenRevoke(&'static str),
    Pending,
    Reject(&'static str),
    /// Rejected, objected to, and the objection upheld: back to the provider.
    RejectThenUpheld(&'static str),
    Withdraw(&'static str),
}

struct Scenario {
    consumer: &'static str,
    provider: &'static str,
    library: &'static str,
    items: &'static [&'static str],
    purpose: &'static str,
    legal_basis: &'static str,
    delivery: &'static [DeliveryMode],
    outcome: Outcome,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        consumer: "renshe",
        provider: "gongan",
        library: "人口基础库",
        items: &["公民身份号码", "姓名", "出生日期", "户籍地行政区划代码"],
        purpose: "养老保险待遇领取资格认证",
        legal_basis: "《中华人民共和国社会保险法》第七十二条",
        delivery: &[
            DeliveryMode::Lookup,
            DeliveryMode::Verify,
            DeliveryMode::Batch,
            DeliveryMode::Subscription,
        ],
        outcome: Outcome::Approve,
    },
    Scenario {
        consumer: "minzheng",
        provider: "gongan",
        library: "人口基础库",
        items: &["公民身份号码", "姓名", "住址"],
        purpose: "最低生活保障对象家庭经济状况核对",
        legal_basis: "《社会救助暂行办法》第十一条",
        delivery: &[DeliveryMode::Lookup, DeliveryMode::Verify],
        outcome: Outcome::ApproveThenRevoke("核对工作已结束，按最小必要原则收回授权"),
    },
    Scenario {
        consumer: "renshe",
        provider: "shichang",
        library: "法人基础库",
        items: &["统一社会信用代码", "企业名称", "登记状态"],
        purpose: "用人单位社会保险登记核验",
        legal_basis: "《中华人民共和国社会保险法》第五十七条",
        delivery: &[DeliveryMode::Verify],
        outcome: Outcome::Pending,
    },
    Scenario {
        consumer: "shuiwu",
        provider: "renshe",
        library: "社会保险参保库",
        items: &["公民身份号码", "参保状态", "月缴费基数"],
        purpose: "个人所得税专项附加扣除核查",
        legal_basis: "《中华人民共和国税收征收管理法》第六条",
        delivery: &[DeliveryMode::Batch],
        outcome: Outcome::Reject(
            "《中华人民共和国社会保险法》第八十一条：社会保险信息仅限用于社会保险经办，月缴费基数不予提供",
        ),
    },
    Scenario {
        consumer: "minzheng",
        provider: "renshe",
        library: "社会保险参保库",
        items: &["公民身份号码", "参保状态"],
        purpose: "特困人员认定中的社会保险参保核查",
        legal_basis: "《社会救助暂行办法》第十四条",
        delivery: &[DeliveryMode::Verify],
        outcome: Outcome::RejectThenUpheld("《中华人民共和国社会保险法》第八十一条"),
    },
    Scenario {
        consumer: "weijian",
        provider: "shuiwu",
        library: "纳税信用库",
        items: &["统一社会信用代码", "纳税信用等级"],
        purpose: "医疗机构信用评价",
        legal_basis: "《医疗机构管理条例》第四十条",
        delivery: &[DeliveryMode::Lookup],
        outcome: Outcome::Withdraw("改用公开的信用信息"),
    },
];

/// Makes the applications of [`SCENARIOS`] whose departments the node has,
/// then the demands and objections.
pub async fn seed(
    sharing: &Sharing,
    users: &HashMap<String, User>,
    libraries: &[DemoLibrary],
) -> anyhow::Result<DemoSharing> {
    let mut seeded = DemoSharing::default();
    let authority = &caller(&users["authority"]);
    for scenario in SCENARIOS {
        let (Some(consumer), Some(provider), Some(library)) = (
            users.get(&format!("{}.consumer", scenario.consumer)),
            users.get(&format!("{}.provider", scenario.provider)),
            libraries.iter().find(|l| l.library == scenario.library),
        ) else {
            continue;
        };
        let consumer = caller(consumer);
        let provider = caller(provider);
        let request = ApplyRequest {
            entries: vec![EntryWanted {
                entry_code: library.entry_code.clone(),
                items: scenario.items.iter().map(|item| (*item).to_owned()).collect(),
                row_filter: None::<RowFilter>,
            }],
            purpose: scenario.purpose.to_owned(),
            legal_basis: scenario.legal_basis.to_owned(),
            duration_days: 365,
            delivery: scenario.delivery.to_vec(),
            daily_quota: Some(10_000_000),
            rate_per_second: None,
        };
        let application = sharing.apply(&consumer, request).await?.remove(0);
        let decide = |decision, legal_basis: Option<&str>| DecisionRequest {
            decision,
            comment: None,
            legal_basis: legal_basis.map(str::to_owned),
            masking: BTreeMap::new(),
            row_filter: None,
            daily_quota: None,
            rate_per_second: None,
        };
        let status = match scenario.outcome {
            Outcome::Approve | Outcome::ApproveThenRevoke(_) => {
                sharing.decide(&provider, &application.id, decide(DecisionKind::Approve, None)).await?;
                let grant = sharing
                    .grants(&consumer, Some(govdata_sharing::service::Side::Consumer))
                    .await?
                    .into_iter()
                    .find(|g| g.application_id == application.id)
                    .ok_or_else(|| anyhow::anyhow!("approval made no grant"))?;
                let state = if let Outcome::ApproveThenRevoke(reason) = scenario.outcome {
                    sharing.revoke(&provider, &grant.id, reason).await?;
                    "revoked"
                } else {
                    "active"
                };
                seeded.grants.push(DemoGrant {
                    grant_id: grant.id,
                    consumer: scenario.consumer.to_owned(),
                    library: scenario.library.to_owned(),
                    entry_code: library.entry_code.clone(),
                    items: grant.terms.items,
                    delivery: grant.terms.delivery,
                    state: state.to_owned(),
                });
                "approved"
            }
            Outcome::Pending => "submitted",
            Outcome::Reject(basis) => {
                sharing.decide(&provider, &application.id, decide(DecisionKind::Reject, Some(basis))).await?;
                let objection = ObjectionRequest {
                    kind: ObjectionKind::Rejection,
                    application_id: Some(application.id.clone()),
                    grant_id: None,
                    statement: "税收征收管理法授权税务机关向有关单位了解纳税人情况，拒绝理由不成立".into(),
                };
                let objection = sharing.object(&consumer, objection).await?;
                sharing
                    .respond_objection(
                        &provider,
                        &objection.id,
                        "月缴费基数属于社会保险经办信息，不在授权范围内",
                    )
                    .await?;
                *seeded.objections.entry("open".into()).or_default() += 1;
                "rejected"
            }
            Outcome::RejectThenUpheld(basis) => {
                sharing.decide(&provider, &application.id, decide(DecisionKind::Reject, Some(basis))).await?;
                let objection = ObjectionRequest {
                    kind: ObjectionKind::Rejection,
                    application_id: Some(application.id.clone()),
                    grant_id: None,
                    statement: "特困人员认定依法需要核查参保状态，属于法定职责".into(),
                };
                let objection = sharing.object(&consumer, objection).await?;
                let ruling = RulingRequest {
                    ruling: RulingKind::Upheld,
                    reason: "申请依据《社会救助暂行办法》，用途明确、范围最小，应予共享".into(),
                };
                sharing.rule_objection(authority, &objection.id, ruling).await?;
                *seeded.objections.entry("upheld".into()).or_default() += 1;
                "submitted"
            }
            Outcome::Withdraw(reason) => {
                sharing.withdraw(&consumer, &application.id, reason).await?;
                "withdrawn"
            }
        };
        *seeded.applications.entry(status.to_owned()).or_default() += 1;
    }
    if let Some(grant) = seeded.grants.iter().find(|g| g.state == "active") {
        let consumer = caller(&users[&format!("{}.consumer", grant.consumer)]);
        let problem = ObjectionRequest {
            kind: ObjectionKind::DataProblem,
            application_id: None,
            grant_id: Some(grant.grant_id.clone()),
            statement: "部分人员户籍地行政区划代码与本地社保登记不一致".into(),
        };
        let objection = sharing.object(&consumer, problem).await?;
        let ruling = RulingRequest {
            ruling: RulingKind::Dismissed,
            reason: "经核对，户籍地以公安登记为准，已告知使用方".into(),
        };
        sharing.rule_objection(authority, &objection.id, ruling).await?;
        *seeded.objections.entry("dismissed".into()).or_default() += 1;
    }
    seed_demands(sharing, users, libraries, &mut seeded).await?;
    Ok(seeded)
}

/// A demand to each of three providers: one open, one that will be met by
/// an entry, one that cannot be met, with its legal basis.
async fn seed_demands(
    sharing: &Sharing,
    users: &HashMap<String, User>,
    libraries: &[DemoLibrary],
    seeded: &mut DemoSharing,
) -> anyhow::Result<()> {
    let departments = |slug: &str| users.get(&format!("{slug}.provider")).map(|u| u.department_id.clone());
    let demands: [(&str, &str, &str, Option<DemandAnswerKind>); 3] = [
        ("renshe", "gongan", "死亡人员信息，用于及时停发养老保险待遇", Some(DemandAnswerKind::WillProvide)),
        ("shichang", "shuiwu", "企业欠税公告信息，用于信用监管", None),
        ("weijian", "gongan", "流动人口居住登记明细，用于传染病流调", Some(DemandAnswerKind::CannotProvide)),
    ];
    for (consumer, provider, description, answer) in demands {
        let (Some(consumer), Some(provider_user), Some(provider_department)) = (
            users.get(&format!("{consumer}.consumer")),
            users.get(&format!("{provider}.provider")),
            departments(provider),
        ) else {
            continue;
        };
        let request = DemandRequest {
            description: description.to_owned(),
            items: Vec::new(),
            purpose: description.split('，').nth(1).unwrap_or(description).to_owned(),
            legal_basis: "依法履行部门职责".to_owned(),
            entry_code: None,
            provider_department_id: Some(provider_department),
        };
        let demand = sharing.create_demand(&caller(consumer), request).await?;
        let status = match answer {
            None => "open",
            Some(DemandAnswerKind::WillProvide) => {
                let Some(entry) = libraries.iter().find(|l| l.library == "人口基础库") else { continue };
                let answer = DemandAnswerRequest {
                    answer: DemandAnswerKind::WillProvide,
                    entry_code: Some(entry.entry_code.clone()),
                    legal_basis: None,
                    comment: Some("死亡日期将作为信息项补充编目".into()),
                };
                sharing.answer_demand(&caller(provider_user), &demand.id, answer).await?;
                "will_provide"
            }
            Some(DemandAnswerKind::CannotProvide) => {
                let answer = DemandAnswerRequest {
                    answer: DemandAnswerKind::CannotProvide,
                    entry_code: None,
                    legal_basis: Some("《居住证暂行条例》第十一条：居住登记信息仅用于居住证管理".into()),
                    comment: None,
                };
                sharing.answer_demand(&caller(provider_user), &demand.id, answer).await?;
                "cannot_provide"
            }
        };
        *seeded.demands.entry(status.to_owned()).or_default() += 1;
    }
    Ok(())
}
