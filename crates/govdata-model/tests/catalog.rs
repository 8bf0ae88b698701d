//! The catalog model end to end: coding rule, lifecycle, submission checks,
//! grading, duplicates and version diffs.

use govdata_model::catalog::*;
use govdata_model::org::Role;
use govdata_model::{ApiError, ErrorCode};
use proptest::prelude::*;

const USCC: &str = "91350100M000100Y43";

fn item(name: &str, type_code: ItemType, length: Option<u32>, grade: Grade) -> InfoItem {
    InfoItem { grade: Some(grade), ..InfoItem::new(name, type_code, length) }
}

/// A draft every check accepts without a single finding.
fn draft() -> EntryDraft {
    EntryDraft {
        classification: Classification::new(TopClass::Department, 1, Some(2), None),
        name: "企业登记基本信息".into(),
        summary: "市场主体登记的基本信息, 含名称、代码、法定代表人、成立日期和注册资本。".into(),
        keywords: vec!["企业".into(), "登记".into()],
        provider: Provider { department_id: "dept-samr".into(), uscc: USCC.into() },
        format_class: FormatClass::Database,
        format_type: "mysql".into(),
        items: vec![
            item("统一社会信用代码", ItemType::Character, Some(18), Grade::general(1)),
            item("企业名称", ItemType::Character, Some(200), Grade::general(1)),
            InfoItem {
                sensitivity: Some(SensitivityCategory::PersonName),
                ..item("法定代表人姓名", ItemType::Character, Some(50), Grade::general(3))
            },
            item("成立日期", ItemType::Date, Some(8), Grade::general(1)),
            InfoItem {
                scale: Some(2), ..item("注册资本", ItemType::Numeric, Some(18), Grade::general(2))
            },
        ],
        share_type: ShareType::Unconditional,
        share_condition: None,
        legal_basis: None,
        share_modes: vec![ShareMode::Api, ShareMode::Table],
        open_type: OpenType::Conditional,
        open_condition: Some("经实名注册的用户申请后开放".into()),
        update_cycle: UpdateCycle::Daily,
        related_codes: Vec::new(),
        system_id: Some("sys-registration".into()),
        resources: vec![ResourceLink { kind: ResourceKind::Table, id: "tbl-0001".into() }],
    }
}

fn check(draft: &EntryDraft) -> CheckReport {
    check_draft(draft, &CheckContext::new(&[]))
}

fn error_fields(report: &CheckReport) -> Vec<&str> {
    report.errors().map(|f| f.field.as_str()).collect()
}

fn code(s: &str) -> ResourceCode {
    s.parse().unwrap()
}

mod codes {
    use super::*;

    fn classification() -> impl Strategy<Value = Classification> {
        (
            proptest::sample::select(TopClass::ALL.to_vec()),
            1u8..=99,
            proptest::option::of((1u16..=999, proptest::option::of(1u16..=999))),
        )
            .prop_map(|(class, section, rest)| match rest {
                None => Classification::new(class, section, None, None),
                Some((category, sub)) => Classification::new(class, section, Some(category), sub),
            })
    }

    proptest! {
        #[test]
        fn resource_codes_round_trip(c in classification(), sequence in 1u32..=999_999) {
            let code = ResourceCode::new(c.clone(), sequence).unwrap();
            let text = code.to_string();
            let (class_code, seq) = text.split_once('/').unwrap();
            prop_assert!([3, 6, 9].contains(&class_code.len()));
            prop_assert_eq!(seq.len(), 6);
            prop_assert_eq!(text.parse::<ResourceCode>().unwrap(), code.clone());
            prop_assert_eq!(Classification::parse(class_code).unwrap(), c);
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(serde_json::from_str::<ResourceCode>(&json).unwrap(), code);
        }

        #[test]
        fn parsing_is_canonical_and_never_panics(s in "[0-9/ a]{0,20}") {
            if let Ok(code) = s.parse::<ResourceCode>() {
                prop_assert_eq!(code.to_string(), s);
            }
        }

        #[test]
        fn next_code_follows_the_last(c in classification(), last in 0u32..999_999) {
            let next = next_resource_code(&c, last).unwrap();
            prop_assert_eq!(next.sequence(), last + 1);
            prop_assert_eq!(next.classification(), &c);
        }
    }

    #[test]
    fn known_examples() {
        assert_eq!(code("101/000001").classification().class, TopClass::Base);
        let c = Classification::new(TopClass::Theme, 3, Some(12), Some(7));
        assert_eq!(next_resource_code(&c, 99).unwrap().to_string(), "203012007/000100");
        let err = "203012007/1".parse::<ResourceCode>().unwrap_err();
        assert_eq!(err.field, "code");
    }
}

mod lifecycle {
    use super::*;

    fn provider() -> ActorContext {
        ActorContext::new("u-zhang", "dept-samr", &[Role::Provider])
    }

    fn provider2() -> ActorContext {
        ActorContext::new("u-li", "dept-samr", &[Role::Provider])
    }

    fn reviewer() -> ActorContext {
        ActorContext::new("u-wang", "dept-bigdata", &[Role::Authority])
    }

    fn state(status: EntryStatus) -> VersionState {
        VersionState {
            version: 1,
            latest_version: 1,
            status,
            provider_department_id: "dept-samr".into(),
            author: provider().actor_ref(),
            submitted_by: Some(provider().actor_ref()),
            newer_version_open: false,
        }
    }

    fn action(kind: ActionKind) -> Action {
        match kind {
            ActionKind::Submit => Action::Submit,
            ActionKind::Approve => Action::Approve { comment: Some("符合编目要求".into()) },
            ActionKind::Return => Action::Return {
                reasons: vec![ReturnReason {
                    field: "items[3].length".into(),
                    reason: "日期型长度应为8".into(),
                }],
            },
            ActionKind::Revise => Action::Revise,
            ActionKind::Publish => Action::Publish,
            ActionKind::NewVersion => Action::NewVersion,
            ActionKind::Withdraw => Action::Withdraw { reason: "职责调整, 资源不再提供".into() },
            ActionKind::Discard => Action::Discard,
        }
    }

    /// The actor entitled to take `kind` on the fixture entry.
    fn entitled(kind: ActionKind) -> ActorContext {
        match kind {
            ActionKind::Approve | ActionKind::Return | ActionKind::Publish => reviewer(),
            _ => provider(),
        }
    }

    /// Applies `kind` to `state`, as the store would.
    fn step(state: &mut VersionState, kind: ActionKind) -> Transition {
        let t = transition(state, &action(kind), &entitled(kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(t.from, state.status);
        state.status = t.to;
        if let Some(by) = &t.submitted_by {
            state.submitted_by = Some(by.clone());
        }
        t
    }

    #[test]
    fn every_legal_path_works() {
        use ActionKind::*;
        use EntryStatus::*;
        let paths: &[(&[ActionKind], EntryStatus)] = &[
            (&[Submit, Approve, Publish], Published),
            (&[Submit, Return, Revise, Submit, Approve, Publish], Published),
            (
                &[Submit, Return, Revise, Submit, Return, Revise, Submit, Approve, Publish, Withdraw],
                Withdrawn,
            ),
            (&[Submit, Approve, Publish, NewVersion], Published),
            (&[Discard], Discarded),
            (&[Submit, Return, Discard], Discarded),
        ];
        for (path, end) in paths {
            let mut s = state(Draft);
            for kind in *path {
                step(&mut s, *kind);
            }
            assert_eq!(s.status, *end, "{path:?}");
        }
    }

    #[test]
    fn a_new_version_replaces_the_published_one() {
        let mut v1 = state(EntryStatus::Published);
        let t = step(&mut v1, ActionKind::NewVersion);
        assert_eq!((t.to, t.creates_version), (EntryStatus::Published, Some(2)));
        // The store creates version 2 as a draft; version 1 now has an open successor.
        v1.newer_version_open = true;
        v1.latest_version = 2;
        let refused = transition(&v1, &Action::NewVersion, &provider()).unwrap_err();
        assert!(matches!(refused, TransitionError::NewerVersionOpen { latest: 2 }));
        assert!(transition(&v1, &action(ActionKind::Withdraw), &provider()).is_err());

        let mut v2 = VersionState {
            version: 2,
            latest_version: 2,
            status: EntryStatus::Draft,
            author: provider2().actor_ref(),
            submitted_by: None,
            ..v1.clone()
        };
        assert!(!step(&mut v2, ActionKind::Submit).supersedes_published);
        step(&mut v2, ActionKind::Approve);
        let published = step(&mut v2, ActionKind::Publish);
        assert!(published.supersedes_published, "publishing version 2 supersedes version 1");

        // After a discarded version 3, the next one is 4.
        let v2_published = VersionState { latest_version: 3, newer_version_open: false, ..v2 };
        let t = transition(&v2_published, &Action::NewVersion, &provider()).unwrap();
        assert_eq!(t.creates_version, Some(4));
    }

    #[test]
    fn every_illegal_transition_is_refused() {
        let mut refused = 0;
        for status in EntryStatus::ALL {
            for kind in ActionKind::ALL {
                let result = transition(&state(status), &action(kind), &entitled(kind));
                if kind.allowed_from(status) {
                    assert!(result.is_ok(), "{kind:?} from {status:?}: {result:?}");
                    continue;
                }
                refused += 1;
                let err = result.unwrap_err();
                assert!(
                    matches!(err, TransitionError::WrongStatus { .. }),
                    "{kind:?} from {status:?}: {err:?}"
                );
                assert_eq!(err.code(), ErrorCode::Conflict);
                assert!(err.to_string().contains(status.as_str()), "{err}");
            }
        }
        // 8 statuses x 8 actions, of which 9 pairs are legal (discard from draft and returned).
        assert_eq!(refused, 64 - 9);
    }

    #[test]
    fn nobody_approves_their_own_entry() {
        let submitted = state(EntryStatus::Submitted);
        // The author, even holding the authority role.
        let author = ActorContext::new("u-zhang", "dept-samr", &[Role::Provider, Role::Authority]);
        // A colleague of the provider department with the authority role.
        let colleague = ActorContext::new("u-zhao", "dept-samr", &[Role::Authority]);
        // The submitter, when someone else wrote the version.
        let submitter = ActorContext::new("u-sun", "dept-other", &[Role::Authority]);
        let by_other = VersionState {
            submitted_by: Some(ActorRef { user_id: "u-sun".into(), department_id: "dept-other".into() }),
            ..submitted.clone()
        };
        for (state, actor) in [(&submitted, &author), (&submitted, &colleague), (&by_other, &submitter)] {
            for kind in [ActionKind::Approve, ActionKind::Return] {
                let err = transition(state, &action(kind), actor).unwrap_err();
                assert!(matches!(err, TransitionError::OwnEntry { .. }), "{err:?}");
                assert_eq!(err.code(), ErrorCode::Forbidden);
                assert!(err.to_string().starts_with("nobody reviews their own entry"), "{err}");
            }
        }
        assert!(transition(&submitted, &action(ActionKind::Approve), &reviewer()).is_ok());
    }

    #[test]
    fn roles_and_departments_are_enforced() {
        let consumer = ActorContext::new("u-c", "dept-samr", &[Role::Consumer]);
        let other_provider = ActorContext::new("u-o", "dept-other", &[Role::Provider]);
        let err = transition(&state(EntryStatus::Draft), &Action::Submit, &consumer).unwrap_err();
        assert!(matches!(err, TransitionError::MissingRole { role: Role::Provider, .. }));
        let err = transition(&state(EntryStatus::Draft), &Action::Submit, &other_provider).unwrap_err();
        assert!(matches!(err, TransitionError::NotProvider { .. }));
        let err = transition(&state(EntryStatus::Submitted), &action(ActionKind::Approve), &provider2())
            .unwrap_err();
        assert!(matches!(err, TransitionError::MissingRole { role: Role::Authority, .. }));
        let err = transition(&state(EntryStatus::Approved), &Action::Publish, &provider()).unwrap_err();
        assert!(matches!(err, TransitionError::MissingRole { role: Role::Authority, .. }));
        // Withdrawal: the provider department or the authority.
        assert!(
            transition(&state(EntryStatus::Published), &action(ActionKind::Withdraw), &reviewer()).is_ok()
        );
        assert!(transition(&state(EntryStatus::Published), &action(ActionKind::Withdraw), &other_provider)
            .is_err());
    }

    #[test]
    fn reasons_are_required() {
        let submitted = state(EntryStatus::Submitted);
        let err = transition(&submitted, &Action::Return { reasons: vec![] }, &reviewer()).unwrap_err();
        assert_eq!((err.code(), err.field()), (ErrorCode::InvalidInput, Some("reasons")));
        let blank = Action::Return {
            reasons: vec![
                ReturnReason { field: "name".into(), reason: "名称不规范".into() },
                ReturnReason { field: "summary".into(), reason: " ".into() },
            ],
        };
        assert_eq!(
            transition(&submitted, &blank, &reviewer()).unwrap_err().field(),
            Some("reasons[1].reason")
        );
        let withdraw = Action::Withdraw { reason: "".into() };
        let err = transition(&state(EntryStatus::Published), &withdraw, &provider()).unwrap_err();
        assert_eq!(err.field(), Some("reason"));
    }

    #[test]
    fn history_says_who_when_and_why() {
        let returned = action(ActionKind::Return);
        let t = transition(&state(EntryStatus::Submitted), &returned, &reviewer()).unwrap();
        let at = time::macros::datetime!(2025-03-04 10:00 +08:00);
        let step = t.history_step(&returned, &reviewer(), at);
        assert_eq!(
            (step.from, step.to, step.action),
            (EntryStatus::Submitted, EntryStatus::Returned, ActionKind::Return)
        );
        assert_eq!(step.actor.user_id, "u-wang");
        assert_eq!(step.reasons[0].field, "items[3].length");
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(json["at"], "2025-03-04T10:00:00+08:00");
        assert_eq!(json["reasons"][0]["reason"], "日期型长度应为8");
    }
}

mod checks {
    use super::*;

    #[test]
    fn a_complete_draft_has_no_findings() {
        let report = check(&draft());
        assert!(report.passed());
        assert_eq!(report.findings, Vec::<Finding>::new());
    }

    #[test]
    fn not_shared_needs_a_legal_basis() {
        let d = EntryDraft {
            share_type: ShareType::NotShared,
            share_modes: Vec::new(),
            open_type: OpenType::NotOpen,
            open_condition: None,
            ..draft()
        };
        let report = check(&d);
        assert!(!report.passed());
        assert_eq!(error_fields(&report), ["legal_basis"]);
        let with_basis = EntryDraft {
            legal_basis: Some("《中华人民共和国保守国家秘密法》第x条".into()),
            ..d
        };
        assert!(check(&with_basis).passed());
    }

    #[test]
    fn conditional_sharing_needs_a_condition() {
        let d = EntryDraft {
            share_type: ShareType::Conditional,
            open_type: OpenType::NotOpen,
            open_condition: None,
            ..draft()
        };
        assert_eq!(error_fields(&check(&d)), ["share_condition"]);
        let blank = EntryDraft { share_condition: Some("  ".into()), ..d.clone() };
        assert_eq!(error_fields(&check(&blank)), ["share_condition"]);
        let ok = EntryDraft { share_condition: Some("仅用于市场监管执法".into()), ..d };
        assert!(check(&ok).passed());
    }

    #[test]
    fn open_type_must_agree_with_share_type() {
        let conditional_open = EntryDraft { open_condition: None, ..draft() };
        assert_eq!(error_fields(&check(&conditional_open)), ["open_condition"]);

        let not_shared_but_open = EntryDraft {
            share_type: ShareType::NotShared,
            legal_basis: Some("法律依据".into()),
            share_modes: Vec::new(),
            open_type: OpenType::Unconditional,
            open_condition: None,
            ..draft()
        };
        assert_eq!(error_fields(&check(&not_shared_but_open)), ["open_type"]);

        let conditional_share_open = EntryDraft {
            share_type: ShareType::Conditional,
            share_condition: Some("条件".into()),
            open_type: OpenType::Unconditional,
            open_condition: None,
            ..draft()
        };
        let report = check(&conditional_share_open);
        assert!(report.passed(), "a warning only");
        assert_eq!(report.warnings().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["open_type"]);

        let no_modes = EntryDraft { share_modes: Vec::new(), ..draft() };
        assert_eq!(error_fields(&check(&no_modes)), ["share_modes"]);
    }

    #[test]
    fn grade_limits_sharing_and_opening() {
        let mut core = draft();
        core.items[0].grade = Some(Grade::CORE);
        assert_eq!(error_fields(&check(&core)), ["share_type", "open_type"]);
        let mut important = draft();
        important.items[1].grade = Some(Grade::IMPORTANT);
        important.open_type = OpenType::Unconditional;
        important.open_condition = None;
        let report = check(&important);
        assert_eq!(error_fields(&report), ["open_type"]);
        assert_eq!(report.warnings().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["share_type"]);
    }

    #[test]
    fn item_share_types_are_checked() {
        let mut d = draft();
        d.share_type = ShareType::Conditional;
        d.share_condition = Some("条件".into());
        d.items[4].share_type = Some(ShareType::NotShared);
        assert_eq!(error_fields(&check(&d)), ["items[4].legal_basis"]);
        d.items[4].legal_basis = Some("依据".into());
        assert!(check(&d).passed());

        let mut open_item = draft();
        open_item.share_type = ShareType::NotShared;
        open_item.legal_basis = Some("依据".into());
        open_item.share_modes.clear();
        open_item.open_type = OpenType::NotOpen;
        open_item.open_condition = None;
        open_item.items[1].share_type = Some(ShareType::Unconditional);
        assert_eq!(error_fields(&check(&open_item)), ["items[1].share_type"]);

        let mut restricted_item = draft();
        restricted_item.items[2].share_type = Some(ShareType::Conditional);
        restricted_item.items[2].share_condition = Some("条件".into());
        assert_eq!(error_fields(&check(&restricted_item)), ["items[2].share_type"]);
    }

    #[test]
    fn item_types_and_lengths_are_checked() {
        let cases: Vec<(InfoItem, &str)> = vec![
            (item("备注", ItemType::Character, None, Grade::general(1)), "items[5].length"),
            (item("备注", ItemType::Character, Some(0), Grade::general(1)), "items[5].length"),
            (item("备注", ItemType::Character, Some(4001), Grade::general(1)), "items[5].length"),
            (item("登记日期", ItemType::Date, Some(10), Grade::general(1)), "items[5].length"),
            (item("更新时间", ItemType::DateTime, Some(8), Grade::general(1)), "items[5].length"),
            (item("是否有效", ItemType::Logical, Some(2), Grade::general(1)), "items[5].length"),
            (item("员工人数", ItemType::Integer, Some(20), Grade::general(1)), "items[5].length"),
            (item("金额", ItemType::Numeric, None, Grade::general(1)), "items[5].length"),
            (item("附件", ItemType::Binary, Some(0), Grade::general(1)), "items[5].length"),
            (
                InfoItem {
                    scale: Some(2), ..item("备注", ItemType::Character, Some(10), Grade::general(1))
                },
                "items[5].scale",
            ),
            (
                InfoItem { scale: Some(9), ..item("金额", ItemType::Numeric, Some(8), Grade::general(1)) },
                "items[5].scale",
            ),
            (item("企业名称", ItemType::Character, Some(100), Grade::general(1)), "items[5].name"),
            (item(" ", ItemType::Character, Some(100), Grade::general(1)), "items[5].name"),
            (
                InfoItem { grade: None, ..item("行业", ItemType::Character, Some(10), Grade::general(1)) },
                "items[5].grade",
            ),
            (item("行业", ItemType::Character, Some(10), Grade::general(5)), "items[5].grade"),
            (
                InfoItem {
                    data_element: Some("".into()),
                    ..item("行业", ItemType::Character, Some(10), Grade::general(1))
                },
                "items[5].data_element",
            ),
        ];
        for (bad, field) in cases {
            let mut d = draft();
            d.items.push(bad.clone());
            let report = check(&d);
            assert_eq!(error_fields(&report), [field], "{bad:?}: {:?}", report.findings);
        }
        let mut d = draft();
        d.items.extend([
            item("更新时间", ItemType::DateTime, Some(14), Grade::general(1)),
            item("更新时间2", ItemType::DateTime, None, Grade::general(1)),
            item("备注", ItemType::Memo, None, Grade::general(1)),
            InfoItem { scale: Some(4), ..item("金额", ItemType::Currency, Some(18), Grade::general(2)) },
            item("附件", ItemType::Binary, Some(10_485_760), Grade::general(1)),
        ]);
        assert!(check(&d).passed(), "{:?}", check(&d).findings);

        let empty = EntryDraft { items: Vec::new(), ..draft() };
        assert_eq!(error_fields(&check(&empty)), ["items"]);
    }

    #[test]
    fn a_bad_type_code_is_refused_with_its_path() {
        let mut json = serde_json::to_value(draft()).unwrap();
        json["items"][1]["type_code"] = "X".into();
        let text = json.to_string();
        let err =
            serde_path_to_error::deserialize::<_, EntryDraft>(&mut serde_json::Deserializer::from_str(&text))
                .unwrap_err();
        assert_eq!(err.path().to_string(), "items[1].type_code");
        // Unknown fields are refused too.
        let mut json = serde_json::to_value(draft()).unwrap();
        json["items"][0]["colour"] = "red".into();
        assert!(serde_json::from_value::<EntryDraft>(json).is_err());
    }

    #[test]
    fn sensitive_names_get_grade_suggestions() {
        let mut d = draft();
        d.items.push(item("法定代表人身份证号", ItemType::Character, Some(18), Grade::general(1)));
        let report = check(&d);
        assert!(report.passed(), "suggestions do not block");
        let grade = report.on("items[5].grade").next().expect("grade warning");
        assert_eq!(grade.severity, Severity::Warning);
        assert!(grade.message.contains("一般数据4级"), "{}", grade.message);
        let sensitivity = report.on("items[5].sensitivity").next().expect("sensitivity warning");
        assert!(sensitivity.message.contains("身份证件号码"), "{}", sensitivity.message);
        assert!(
            sensitivity.message.ends_with("set its sensitivity to identity_number"),
            "{}",
            sensitivity.message
        );

        d.items[5].grade = Some(Grade::general(4));
        d.items[5].sensitivity = Some(SensitivityCategory::IdentityNumber);
        assert!(check(&d).findings.is_empty());
        assert_eq!(d.grade(), Some(Grade::general(4)));
    }

    #[test]
    fn provider_uscc_is_validated() {
        let bad =
            EntryDraft { provider: Provider { department_id: "d".into(), uscc: "12345".into() }, ..draft() };
        let report = check(&bad);
        assert_eq!(error_fields(&report), ["provider.uscc"]);
        assert_eq!(report.errors().next().unwrap().check, CheckKind::Provider);
        let failed_check_char = EntryDraft {
            provider: Provider { department_id: "d".into(), uscc: "91350100M000100Y44".into() },
            ..draft()
        };
        let report = check(&failed_check_char);
        assert!(report.passed());
        let warning = report.warnings().next().unwrap();
        assert_eq!((warning.field.as_str(), warning.check), ("provider.uscc", CheckKind::Provider));
    }

    #[test]
    fn required_fields_and_links() {
        let d = EntryDraft {
            name: " ".into(),
            summary: "".into(),
            format_type: "".into(),
            keywords: vec!["".into()],
            system_id: Some("".into()),
            resources: vec![ResourceLink { kind: ResourceKind::Api, id: "".into() }],
            ..draft()
        };
        assert_eq!(
            error_fields(&check(&d)),
            ["name", "summary", "format_type", "keywords[0]", "system_id", "resources[0].id"]
        );
        let soft =
            EntryDraft { keywords: Vec::new(), system_id: None, format_type: "parquet".into(), ..draft() };
        let report = check(&soft);
        assert!(report.passed());
        let mut warned: Vec<&str> = report.warnings().map(|f| f.field.as_str()).collect();
        warned.sort();
        assert_eq!(warned, ["format_type", "keywords", "system_id"]);
    }

    #[test]
    fn a_new_version_keeps_its_classification_and_code() {
        let own = code("301002/000042");
        let existing = [EntrySummary {
            code: own.clone(),
            version: 1,
            status: EntryStatus::Published,
            name: draft().name,
            provider_department_id: "dept-samr".into(),
            system_id: draft().system_id,
            item_names: draft().items.iter().map(|i| i.name.clone()).collect(),
        }];
        let ctx = CheckContext::new(&existing).with_own_code(&own);
        // Its own published version is not a duplicate.
        assert!(check_draft(&draft(), &ctx).findings.is_empty());
        let moved = EntryDraft {
            classification: Classification::new(TopClass::Department, 1, Some(3), None),
            ..draft()
        };
        assert_eq!(error_fields(&check_draft(&moved, &ctx)), ["classification"]);
        let self_related = EntryDraft { related_codes: vec![code("101/000001"), own.clone()], ..draft() };
        assert_eq!(error_fields(&check_draft(&self_related, &ctx)), ["related_codes[1]"]);
        let bad_segment =
            EntryDraft { classification: Classification::new(TopClass::Base, 0, None, None), ..draft() };
        assert_eq!(error_fields(&check(&bad_segment)), ["classification.section"]);
    }

    #[test]
    fn reports_serialize_for_the_api() {
        let d = EntryDraft { legal_basis: Some("x".into()), ..draft() };
        let json = serde_json::to_value(check(&d)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"findings": [{
                "check": "share",
                "severity": "warning",
                "field": "legal_basis",
                "message": "a legal basis for not sharing is ignored for 无条件共享"
            }]})
        );
    }
}

mod duplicates {
    use super::*;

    fn summary(code_text: &str, name: &str, system: Option<&str>, items: &[&str]) -> EntrySummary {
        EntrySummary {
            code: code(code_text),
            version: 1,
            status: EntryStatus::Published,
            name: name.into(),
            provider_department_id: "dept-x".into(),
            system_id: system.map(Into::into),
            item_names: items.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const ITEMS: [&str; 5] = ["统一社会信用代码", "企业名称", "法定代表人姓名", "成立日期", "注册资本"];

    #[test]
    fn near_identical_name_and_items_is_an_error_naming_the_entry() {
        let existing = [
            summary("301002/000001", "个体工商户登记信息", Some("sys-a"), &["经营者姓名", "字号名称"]),
            summary("301002/000007", "企业登记基本信息表", Some("sys-other"), &ITEMS),
        ];
        let report = check_draft(&draft(), &CheckContext::new(&existing));
        assert!(!report.passed());
        let finding = report.errors().next().unwrap();
        assert_eq!(finding.check, CheckKind::Duplicate);
        assert_eq!(finding.field, "name");
        assert_eq!(finding.related_code, Some(code("301002/000007")));
        assert!(finding.message.contains("301002/000007"), "{}", finding.message);
        assert_eq!(report.findings.len(), 1);
    }

    #[test]
    fn a_similar_name_with_different_items_is_not_flagged() {
        let existing = [
            summary(
                "301002/000008",
                "企业登记基本信息",
                Some("sys-other"),
                &["统一社会信用代码", "变更事项", "变更前内容", "变更后内容", "变更日期"],
            ),
            summary("301002/000009", "企业登记变更信息", Some("sys-other"), &["变更事项", "变更日期"]),
        ];
        assert!(check_draft(&draft(), &CheckContext::new(&existing)).findings.is_empty());
    }

    #[test]
    fn same_system_with_overlapping_items_is_a_warning() {
        let existing = [summary("301002/000010", "市场主体名录", Some("sys-registration"), &ITEMS[..4])];
        let report = check_draft(&draft(), &CheckContext::new(&existing));
        assert!(report.passed());
        let finding = report.warnings().next().unwrap();
        assert_eq!((finding.check, finding.field.as_str()), (CheckKind::Duplicate, "items"));
        assert_eq!(finding.related_code, Some(code("301002/000010")));
        // Operators can make it blocking.
        let mut ctx = CheckContext::new(&existing);
        ctx.duplicates.same_system_severity = Severity::Error;
        assert!(!check_draft(&draft(), &ctx).passed());
        // Another system with the same overlap is fine.
        let elsewhere = [summary("301002/000010", "市场主体名录", Some("sys-x"), &ITEMS[..4])];
        assert!(check_draft(&draft(), &CheckContext::new(&elsewhere)).findings.is_empty());
    }

    #[test]
    fn subsets_withdrawn_and_repeated_versions() {
        let big: Vec<String> = (0..20).map(|i| format!("字段{i}")).chain(ITEMS.map(String::from)).collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let existing = [
            summary("301002/000011", "企业登记基本信息", Some("sys-registration"), &big),
            EntrySummary {
                status: EntryStatus::Withdrawn,
                ..summary("301002/000012", "企业登记基本信息", Some("sys-registration"), &ITEMS)
            },
        ];
        assert!(check_draft(&draft(), &CheckContext::new(&existing)).findings.is_empty());

        let twice = [
            summary("301002/000013", "企业登记基本信息", None, &ITEMS),
            EntrySummary { version: 2, ..summary("301002/000013", "企业登记基本信息", None, &ITEMS) },
        ];
        assert_eq!(check_draft(&draft(), &CheckContext::new(&twice)).findings.len(), 1);
    }

    #[test]
    fn overlap_measure() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(item_overlap(&s(&["a", "b"]), &s(&["B ", "a"])), 1.0);
        assert_eq!(item_overlap(&s(&["a", "b"]), &s(&["a", "b", "c", "d"])), 0.5);
        assert_eq!(item_overlap(&s(&[]), &s(&["a"])), 0.0);
        assert!(name_similarity("企业登记基本信息", "企业登记基本信息表") >= 0.9);
        assert!(name_similarity("企业登记基本信息", "企业登记变更信息") < 0.9);
    }
}

mod grading {
    use super::*;

    fn grade() -> impl Strategy<Value = Grade> {
        proptest::sample::select(GradingScheme::gb_t_43697().grades())
    }

    fn rank(g: &Grade) -> usize {
        GradingScheme::gb_t_43697().grades().iter().position(|x| x == g).unwrap()
    }

    proptest! {
        #[test]
        fn entry_grade_is_the_highest_item_grade(grades in proptest::collection::vec(grade(), 1..12)) {
            let mut d = draft();
            d.items = grades
                .iter()
                .enumerate()
                .map(|(i, g)| item(&format!("字段{i}"), ItemType::Character, Some(10), *g))
                .collect();
            let entry_grade = d.grade().unwrap();
            prop_assert!(grades.iter().all(|g| *g <= entry_grade));
            prop_assert!(grades.contains(&entry_grade));
            let max_rank = grades.iter().map(rank).max().unwrap();
            prop_assert_eq!(rank(&entry_grade), max_rank);
        }
    }

    #[test]
    fn ungraded_items_do_not_lower_the_grade() {
        let mut d = draft();
        d.items[0].grade = None;
        assert_eq!(d.grade(), Some(Grade::general(3)));
        d.items.iter_mut().for_each(|i| i.grade = None);
        assert_eq!(d.grade(), None);
    }
}

mod versions {
    use super::*;

    #[test]
    fn identical_versions_have_no_diff() {
        assert!(diff_drafts(&draft(), &draft()).is_empty());
    }

    #[test]
    fn diff_reports_exactly_the_changes() {
        let old = draft();
        let mut new = draft();
        new.name = "企业登记信息".into();
        new.keywords.push("市场主体".into());
        new.classification.subcategory = Some(5);
        new.share_type = ShareType::Conditional;
        new.share_condition = Some("仅用于监管".into());
        new.items.remove(3); // 成立日期
        new.items[0].length = Some(20); // 统一社会信用代码
        new.items[2].grade = Some(Grade::general(4)); // 法定代表人姓名
        new.items.push(item("登记机关", ItemType::Character, Some(100), Grade::general(1)));

        let diff = diff_drafts(&old, &new);
        let change = |field: &str, old: serde_json::Value, new: serde_json::Value| FieldChange {
            field: field.into(),
            old,
            new,
        };
        use serde_json::{json, Value};
        assert_eq!(
            diff.fields,
            [
                change("classification.subcategory", Value::Null, json!(5)),
                change("keywords", json!(["企业", "登记"]), json!(["企业", "登记", "市场主体"])),
                change("name", json!("企业登记基本信息"), json!("企业登记信息")),
                change("share_condition", Value::Null, json!("仅用于监管")),
                change("share_type", json!("unconditional"), json!("conditional")),
            ]
        );
        assert_eq!(
            diff.items,
            [
                ItemChange::Changed {
                    name: "统一社会信用代码".into(),
                    fields: vec![change("length", json!(18), json!(20))]
                },
                ItemChange::Changed {
                    name: "法定代表人姓名".into(),
                    fields: vec![change("grade.sublevel", json!(3), json!(4))],
                },
                ItemChange::Removed { name: "成立日期".into(), item: old.items[3].clone() },
                ItemChange::Added { name: "登记机关".into(), item: new.items[4].clone() },
            ]
        );
    }

    #[test]
    fn reordering_items_is_not_a_change_and_versions_are_named() {
        let old = draft();
        let mut new = draft();
        new.items.reverse();
        assert!(diff_drafts(&old, &new).is_empty());

        let at = time::macros::datetime!(2025-05-06 09:30 UTC);
        let entry = |version: u32, metadata: EntryDraft| CatalogEntry {
            code: code("301002/000001"),
            version,
            status: EntryStatus::Published,
            grade: metadata.grade(),
            metadata,
            created_by: ActorRef { user_id: "u".into(), department_id: "d".into() },
            submitted_by: None,
            created_at: at,
            updated_at: at,
            published_on: Some(time::macros::date!(2025 - 05 - 06)),
        };
        let mut changed = draft();
        changed.update_cycle = UpdateCycle::RealTime;
        let diff = diff_versions(&entry(1, draft()), &entry(2, changed));
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "from_version": 1,
                "to_version": 2,
                "fields": [{"field": "update_cycle", "old": "daily", "new": "real_time"}],
                "items": []
            })
        );
        let stored = serde_json::to_value(entry(1, draft())).unwrap();
        assert_eq!(stored["published_on"], "2025-05-06");
        assert_eq!(stored["created_at"], "2025-05-06T09:30:00Z");
        assert_eq!(stored["code"], "301002/000001");
        let back: CatalogEntry = serde_json::from_value(stored).unwrap();
        assert_eq!(back, entry(1, draft()));
    }
}

mod api_schema {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn schemas_render() {
        let code = serde_json::to_value(ResourceCode::schema()).unwrap();
        assert_eq!(code["type"], "string");
        assert!(code["pattern"].as_str().unwrap().contains("[0-9]{6}"));
        let draft = serde_json::to_value(EntryDraft::schema()).unwrap();
        let required: Vec<&str> =
            draft["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(required.contains(&"items") && required.contains(&"share_type"), "{required:?}");
        assert!(!required.contains(&"legal_basis"));
        let item_type = serde_json::to_value(ItemType::schema()).unwrap();
        assert_eq!(
            item_type["enum"],
            serde_json::json!(["C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F"])
        );
        let entry = serde_json::to_value(CatalogEntry::schema()).unwrap();
        assert_eq!(entry["properties"]["published_on"]["format"], "date");
        for schema in [
            serde_json::to_value(CheckReport::schema()).unwrap(),
            serde_json::to_value(EntryDiff::schema()).unwrap(),
            serde_json::to_value(Action::schema()).unwrap(),
            serde_json::to_value(GradingScheme::schema()).unwrap(),
            serde_json::to_value(SensitivityRules::schema()).unwrap(),
        ] {
            assert!(schema.is_object());
        }
    }
}
