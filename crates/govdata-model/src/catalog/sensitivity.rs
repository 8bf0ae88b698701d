//! Suggesting a sensitivity category and a minimum grade from an item's name.
//!
//! The rules are data ([`SensitivityRules`], serde-loadable) so a node can add
//! its own column-name habits; [`SensitivityRules::default`] covers the
//! common Chinese names, English names and pinyin abbreviations (sfzh, lxdh,
//! xm…) of government databases.
//!
//! Where the defaults come from: the categories are the sensitive personal
//! information of the Personal Information Protection Law (个人信息保护法 第二十八条:
//! 生物识别、宗教信仰、特定身份、医疗健康、金融账户、行踪轨迹、不满十四周岁未成年人)
//! plus the identifiers and credentials GB/T 35273 lists as sensitive, and the
//! ordinary personal information (name, contact, address, birth date) that is
//! still personal. Default minimum grades are ours: sensitive personal
//! information → 一般数据4级, ordinary personal information → 一般数据3级.
//! A name rule cannot see scale or domain — a table of millions of health
//! records may be 重要数据 — so suggestions only raise a floor; the
//! provider and the authority decide the grade.

use serde::{Deserialize, Serialize};

use super::grade::Grade;
use super::text::normalize;

/// A category of personal or sensitive data.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SensitivityCategory {
    /// 身份证件号码 (citizen ID, passport, social security number).
    IdentityNumber,
    /// 生物识别信息.
    Biometric,
    /// 宗教信仰.
    Religion,
    /// 违法犯罪记录 (特定身份).
    CriminalRecord,
    /// 医疗健康.
    Health,
    /// 金融账户与个人财产.
    Financial,
    /// 行踪轨迹.
    Location,
    /// 不满十四周岁未成年人的个人信息.
    Minor,
    /// 口令、密钥.
    Credential,
    /// 姓名.
    PersonName,
    /// 联系方式 (phone, e-mail).
    Contact,
    /// 住址.
    Address,
    /// 出生日期.
    BirthDate,
    /// Other personal information.
    OtherPersonal,
}

impl SensitivityCategory {
    /// Sensitive personal information in the sense of PIPL art. 28 / GB/T 35273.
    pub fn is_sensitive_personal(self) -> bool {
        !matches!(
            self,
            SensitivityCategory::PersonName
                | SensitivityCategory::Contact
                | SensitivityCategory::Address
                | SensitivityCategory::BirthDate
                | SensitivityCategory::OtherPersonal
        )
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SensitivityCategory::IdentityNumber => "身份证件号码",
            SensitivityCategory::Biometric => "生物识别信息",
            SensitivityCategory::Religion => "宗教信仰",
            SensitivityCategory::CriminalRecord => "违法犯罪记录",
            SensitivityCategory::Health => "医疗健康信息",
            SensitivityCategory::Financial => "金融账户与财产信息",
            SensitivityCategory::Location => "行踪轨迹",
            SensitivityCategory::Minor => "未成年人信息",
            SensitivityCategory::Credential => "口令密钥",
            SensitivityCategory::PersonName => "姓名",
            SensitivityCategory::Contact => "联系方式",
            SensitivityCategory::Address => "住址",
            SensitivityCategory::BirthDate => "出生日期",
            SensitivityCategory::OtherPersonal => "其他个人信息",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SensitivityCategory::IdentityNumber => "identity document number",
            SensitivityCategory::Biometric => "biometric data",
            SensitivityCategory::Religion => "religious belief",
            SensitivityCategory::CriminalRecord => "criminal record",
            SensitivityCategory::Health => "health data",
            SensitivityCategory::Financial => "financial account or property",
            SensitivityCategory::Location => "whereabouts",
            SensitivityCategory::Minor => "data of a minor",
            SensitivityCategory::Credential => "credential",
            SensitivityCategory::PersonName => "person's name",
            SensitivityCategory::Contact => "contact details",
            SensitivityCategory::Address => "home address",
            SensitivityCategory::BirthDate => "date of birth",
            SensitivityCategory::OtherPersonal => "other personal data",
        }
    }
}

/// One rule: which names it matches and what it suggests. All patterns are
/// compared after normalization (full-width folded, lower case, letters and digits only), so
/// `id_number` and `ID Number` are the same pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitivityRule {
    /// Stable identifier, shown with the suggestion.
    pub id: String,
    pub category: SensitivityCategory,
    pub min_grade: Grade,
    /// Why, for the person reviewing the suggestion.
    pub reason: String,
    /// Matches when the normalized name contains one of these.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Matches when the normalized name equals one of these; for short
    /// abbreviations ("xm", "dob") that would match too much as substrings.
    #[serde(default)]
    pub exact: Vec<String>,
    /// The rule does not apply when the normalized name contains one of
    /// these (e.g. 单位地址 is an organisation's address, not a person's).
    #[serde(default)]
    pub unless: Vec<String>,
}

impl SensitivityRule {
    /// The pattern that matched `normalized_name`, if the rule applies.
    fn matches(&self, normalized_name: &str) -> Option<&str> {
        if self.unless.iter().any(|u| normalized_name.contains(normalize(u).as_str())) {
            return None;
        }
        let exact = self.exact.iter().find(|p| normalize(p) == normalized_name);
        let contained = || {
            self.contains.iter().find(|p| {
                let p = normalize(p);
                !p.is_empty() && normalized_name.contains(p.as_str())
            })
        };
        exact.or_else(contained).map(String::as_str)
    }
}

/// A suggestion for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SensitivitySuggestion {
    /// The rule's id.
    pub rule: String,
    pub category: SensitivityCategory,
    pub min_grade: Grade,
    pub reason: String,
    /// The pattern that matched.
    pub matched: String,
}

/// An ordered rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitivityRules {
    pub rules: Vec<SensitivityRule>,
}

impl SensitivityRules {
    /// Every rule that matches `item_name`, strongest first (highest minimum
    /// grade; rule order breaks ties).
    pub fn suggest_all(&self, item_name: &str) -> Vec<SensitivitySuggestion> {
        let name = normalize(item_name);
        if name.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<SensitivitySuggestion> = self
            .rules
            .iter()
            .filter_map(|rule| {
                rule.matches(&name).map(|matched| SensitivitySuggestion {
                    rule: rule.id.clone(),
                    category: rule.category,
                    min_grade: rule.min_grade,
                    reason: rule.reason.clone(),
                    matched: matched.to_owned(),
                })
            })
            .collect();
        // Stable sort keeps rule order among equal grades.
        found.sort_by_key(|s| std::cmp::Reverse(s.min_grade));
        found
    }

    /// The strongest suggestion for `item_name`, if any rule matches.
    pub fn suggest(&self, item_name: &str) -> Option<SensitivitySuggestion> {
        self.suggest_all(item_name).into_iter().next()
    }
}

struct Defaults {
    id: &'static str,
    category: SensitivityCategory,
    reason: &'static str,
    contains: &'static [&'static str],
    exact: &'static [&'static str],
    unless: &'static [&'static str],
}

/// Names of organisations' rather than persons' attributes.
const ORGANISATION: &[&str] = &["单位", "企业", "机构", "公司", "法人单位", "办公", "值班", "营业"];

const DEFAULT_RULES: &[Defaults] = &[
    Defaults {
        id: "identity_number",
        category: SensitivityCategory::IdentityNumber,
        reason: "身份证件号码属于敏感个人信息 (GB/T 35273 附录B; 个人信息保护法第二十八条)",
        contains: &[
            "身份证",
            "公民身份号码",
            "身份号码",
            "证件号码",
            "证件号",
            "护照号",
            "社会保障号码",
            "idnumber",
            "idcard",
            "identitynumber",
            "identitycard",
            "citizenid",
            "passportno",
            "passportnumber",
        ],
        exact: &["sfzh", "sfzhm", "zjhm", "gmsfhm", "idno", "zjh"],
        unless: &["营业执照", "许可证", "机构代码", "信用代码"],
    },
    Defaults {
        id: "biometric",
        category: SensitivityCategory::Biometric,
        reason: "生物识别信息属于敏感个人信息 (个人信息保护法第二十八条)",
        contains: &[
            "生物特征",
            "生物识别",
            "指纹",
            "人脸",
            "面部特征",
            "面部识别",
            "面像",
            "虹膜",
            "声纹",
            "掌纹",
            "基因",
            "dna",
            "fingerprint",
            "faceimage",
            "facefeature",
            "facephoto",
            "facialfeature",
            "irisimage",
            "voiceprint",
            "biometric",
        ],
        exact: &["face", "iris"],
        unless: &[],
    },
    Defaults {
        id: "religion",
        category: SensitivityCategory::Religion,
        reason: "宗教信仰属于敏感个人信息 (个人信息保护法第二十八条)",
        contains: &["宗教", "信仰", "religion", "religious"],
        exact: &["zjxy"],
        unless: &["宗教场所", "宗教团体", "宗教活动场所"],
    },
    Defaults {
        id: "criminal_record",
        category: SensitivityCategory::CriminalRecord,
        reason: "违法犯罪记录属于敏感个人信息 (特定身份; GB/T 35273 附录B)",
        contains: &["犯罪记录", "违法犯罪", "前科", "服刑", "刑事处罚", "criminalrecord", "conviction"],
        exact: &["fzjl"],
        unless: &[],
    },
    Defaults {
        id: "health",
        category: SensitivityCategory::Health,
        reason: "医疗健康信息属于敏感个人信息 (个人信息保护法第二十八条)",
        contains: &[
            "病历",
            "诊断",
            "健康",
            "病史",
            "疾病",
            "病情",
            "就诊",
            "处方",
            "检验结果",
            "体检",
            "残疾",
            "传染病",
            "过敏史",
            "medicalrecord",
            "diagnosis",
            "health",
            "disease",
            "prescription",
        ],
        exact: &["medical"],
        unless: &[],
    },
    Defaults {
        id: "financial",
        category: SensitivityCategory::Financial,
        reason: "金融账户与个人财产信息属于敏感个人信息 (个人信息保护法第二十八条; GB/T 35273 附录B)",
        contains: &[
            "银行卡",
            "银行账号",
            "银行账户",
            "开户账号",
            "账号",
            "账户",
            "卡号",
            "收入",
            "存款",
            "工资",
            "薪酬",
            "薪资",
            "个人财产",
            "房产",
            "贷款",
            "征信",
            "信用卡",
            "交易记录",
            "bankcard",
            "bankaccount",
            "accountno",
            "accountnumber",
            "cardno",
            "cardnumber",
            "income",
            "salary",
            "deposit",
            "creditcard",
            "loan",
        ],
        exact: &["yhkh", "yhzh"],
        unless: &["财政", "营业收入", "企业", "单位", "税收", "登录", "用户账号", "用户名"],
    },
    Defaults {
        id: "location",
        category: SensitivityCategory::Location,
        reason: "行踪轨迹属于敏感个人信息 (个人信息保护法第二十八条)",
        contains: &["行踪", "轨迹", "精准定位", "定位信息", "出行记录", "住宿记录", "trajectory", "gpstrack"],
        exact: &[],
        unless: &[],
    },
    Defaults {
        id: "minor",
        category: SensitivityCategory::Minor,
        reason: "不满十四周岁未成年人的个人信息属于敏感个人信息 (个人信息保护法第二十八条)",
        contains: &["未成年人", "儿童姓名", "儿童身份"],
        exact: &[],
        unless: &[],
    },
    Defaults {
        id: "credential",
        category: SensitivityCategory::Credential,
        reason: "口令与密钥泄露即失去访问控制 (GB/T 35273 附录B 个人身份鉴别信息)",
        contains: &["密码", "口令", "密钥", "password", "passwd", "secretkey", "privatekey"],
        exact: &["pwd", "mm"],
        unless: &["密码算法"],
    },
    Defaults {
        id: "person_name",
        category: SensitivityCategory::PersonName,
        reason: "姓名是个人信息 (个人信息保护法第四条)",
        contains: &["姓名", "fullname", "realname", "personname"],
        exact: &["xm"],
        unless: &[],
    },
    Defaults {
        id: "contact",
        category: SensitivityCategory::Contact,
        reason: "个人联系方式是个人信息 (GB/T 35273 附录A)",
        contains: &[
            "手机",
            "联系电话",
            "电话号码",
            "移动电话",
            "联系方式",
            "电子邮箱",
            "电子邮件",
            "邮箱",
            "mobile",
            "phone",
            "email",
            "cellphone",
        ],
        exact: &["lxdh", "sjhm", "sjh", "tel", "dh", "yx"],
        unless: ORGANISATION,
    },
    Defaults {
        id: "address",
        category: SensitivityCategory::Address,
        reason: "个人住址是个人信息 (GB/T 35273 附录A)",
        contains: &["住址", "家庭地址", "居住地", "户籍地", "现住", "地址", "address", "residence"],
        exact: &["zz", "jtdz", "addr"],
        unless: &[
            "单位", "企业", "机构", "公司", "注册", "经营", "办公", "营业", "ip", "mac", "网址", "网站",
            "邮件", "邮箱", "email", "url",
        ],
    },
    Defaults {
        id: "birth_date",
        category: SensitivityCategory::BirthDate,
        reason: "出生日期是个人信息 (GB/T 35273 附录A)",
        contains: &["出生日期", "出生年月", "生日", "birthday", "birthdate", "dateofbirth"],
        exact: &["csrq", "dob"],
        unless: &[],
    },
];

impl Default for SensitivityRules {
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        let rules = DEFAULT_RULES
            .iter()
            .map(|d| SensitivityRule {
                id: d.id.to_owned(),
                category: d.category,
                min_grade: if d.category.is_sensitive_personal() {
                    Grade::general(4)
                } else {
                    Grade::general(3)
                },
                reason: d.reason.to_owned(),
                contains: strings(d.contains),
                exact: strings(d.exact),
                unless: strings(d.unless),
            })
            .collect();
        SensitivityRules { rules }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(name: &str) -> Option<SensitivityCategory> {
        SensitivityRules::default().suggest(name).map(|s| s.category)
    }

    #[test]
    fn recognises_common_names() {
        use SensitivityCategory::*;
        for (name, expected) in [
            ("身份证号", IdentityNumber),
            ("公民身份号码", IdentityNumber),
            ("法定代表人身份证号码", IdentityNumber),
            ("id_number", IdentityNumber),
            ("ID Card No.", IdentityNumber),
            ("SFZH", IdentityNumber),
            ("手机号", Contact),
            ("联系电话", Contact),
            ("mobile_phone", Contact),
            ("lxdh", Contact),
            ("电子邮件地址", Contact),
            ("住址", Address),
            ("家庭地址", Address),
            ("home_address", Address),
            ("病历摘要", Health),
            ("诊断结果", Health),
            ("健康状况", Health),
            ("银行卡号", Financial),
            ("年收入", Financial),
            ("存款余额", Financial),
            ("姓名", PersonName),
            ("申请人姓名", PersonName),
            ("xm", PersonName),
            ("出生日期", BirthDate),
            ("date_of_birth", BirthDate),
            ("宗教信仰", Religion),
            ("犯罪记录", CriminalRecord),
            ("指纹信息", Biometric),
            ("人脸照片", Biometric),
            ("生物特征", Biometric),
            ("登录密码", Credential),
        ] {
            assert_eq!(category(name), Some(expected), "{name}");
        }
    }

    #[test]
    fn leaves_organisation_and_neutral_names_alone() {
        for name in [
            "企业名称",
            "单位地址",
            "注册地址",
            "IP地址",
            "网站地址",
            "单位联系电话",
            "财政收入",
            "营业收入",
            "统一社会信用代码",
            "营业执照证件号",
            "interface_name",
            "ship_date",
            "xmmc",
            "宗教活动场所名称",
        ] {
            assert_eq!(category(name), None, "{name}");
        }
    }

    #[test]
    fn strongest_suggestion_wins() {
        let rules = SensitivityRules::default();
        // Matches both person_name (一般3) and identity_number (一般4).
        let all = rules.suggest_all("姓名及身份证号");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].category, SensitivityCategory::IdentityNumber);
        assert_eq!(all[0].min_grade, Grade::general(4));
        assert_eq!(all[1].min_grade, Grade::general(3));
        let s = rules.suggest("公民身份号码").unwrap();
        assert_eq!(s.rule, "identity_number");
        assert!(s.reason.contains("敏感个人信息"));
    }

    #[test]
    fn rules_load_from_toml() {
        let text = r#"
            [[rules]]
            id = "plate"
            category = "other_personal"
            min_grade = { level = "general", sublevel = 2 }
            reason = "车牌号可识别车主"
            contains = ["车牌号"]
        "#;
        let rules: SensitivityRules = toml::from_str(text).unwrap();
        let s = rules.suggest("机动车车牌号").unwrap();
        assert_eq!((s.category, s.min_grade), (SensitivityCategory::OtherPersonal, Grade::general(2)));
        let defaults = SensitivityRules::default();
        let round: SensitivityRules = toml::from_str(&toml::to_string(&defaults).unwrap()).unwrap();
        assert_eq!(round, defaults);
    }
}
