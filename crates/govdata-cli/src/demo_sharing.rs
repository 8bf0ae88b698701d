//! The demo's share applications and grants, made through the sharing
//! service as departments would: an active grant behind the demo consumer
//! application's API key, a revoked one, and applications pending,
//! rejected (with its legal basis) and withdrawn.

use std::collections::{BTreeMap, HashMap};

use govdata_model::org::User;
use govdata_sharing::service::{DecisionKind, DecisionRequest};
use govdata_sharing::terms::{ApplyRequest, DeliveryMode, EntryWanted, RowFilter};
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
}

/// What happens to one application.
enum Outcome {
    Approve,
    ApproveThenRevoke(&'static str),
    Pending,
    Reject(&'static str),
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
        delivery: &[DeliveryMode::Lookup, DeliveryMode::Verify, DeliveryMode::Batch],
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

/// Makes the applications of [`SCENARIOS`] whose departments the node has.
pub async fn seed(
    sharing: &Sharing,
    users: &HashMap<String, User>,
    libraries: &[DemoLibrary],
) -> anyhow::Result<DemoSharing> {
    let mut seeded = DemoSharing::default();
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
            daily_quota: Some(100_000),
        };
        let application = sharing.apply(&consumer, request).await?.remove(0);
        let decide = |decision, legal_basis: Option<&str>| DecisionRequest {
            decision,
            comment: None,
            legal_basis: legal_basis.map(str::to_owned),
            masking: BTreeMap::new(),
            row_filter: None,
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
                "rejected"
            }
            Outcome::Withdraw(reason) => {
                sharing.withdraw(&consumer, &application.id, reason).await?;
                "withdrawn"
            }
        };
        *seeded.applications.entry(status.to_owned()).or_default() += 1;
    }
    Ok(seeded)
}
