//! The coding rule of the catalog: classification (类/项/目/细目), the
//! classification code (分类码) it forms, and the resource code
//! (信息资源代码 = 分类码 + "/" + 顺序码).
//!
//! Segment widths. The 2017 guide (《政务信息资源目录编制指南（试行）》,
//! 发改高技〔2017〕1272号, §6 信息资源代码) fixes 类 at 1 digit, 项 at 2 and
//! 目 at 3, and leaves 细目 and the 顺序码 to the cataloguing body
//! ("不定长度"). This crate fixes them so that codes parse without a
//! separator between segments and sort as text: 细目 3 digits, 顺序码 6
//! digits, as most provincial coding standards do. 目 and 细目 are optional
//! (not every 项 is subdivided), so a 分类码 has 3, 6 or 9 digits; a segment
//! is never zero (numbering starts at 1, as GB/T 7027 hierarchical codes do),
//! so `000` can never be mistaken for "absent".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Digits of the 顺序码.
pub const SEQUENCE_WIDTH: usize = 6;
/// Largest 顺序码 a classification can issue.
pub const MAX_SEQUENCE: u32 = 999_999;

/// 类: the first level, fixed by the 2017 guide.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TopClass {
    /// 基础信息资源类 (code 1): population, legal persons, natural resources, credit, licences.
    Base,
    /// 主题信息资源类 (code 2): resources built around a cross-department theme.
    Theme,
    /// 部门信息资源类 (code 3): a department's own resources.
    Department,
}

impl TopClass {
    pub const ALL: [TopClass; 3] = [TopClass::Base, TopClass::Theme, TopClass::Department];

    /// The one-digit code of the class.
    pub fn digit(self) -> u8 {
        match self {
            TopClass::Base => 1,
            TopClass::Theme => 2,
            TopClass::Department => 3,
        }
    }

    pub fn from_digit(digit: u8) -> Option<Self> {
        TopClass::ALL.into_iter().find(|c| c.digit() == digit)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            TopClass::Base => "基础信息资源类",
            TopClass::Theme => "主题信息资源类",
            TopClass::Department => "部门信息资源类",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            TopClass::Base => "Base information resources",
            TopClass::Theme => "Theme information resources",
            TopClass::Department => "Department information resources",
        }
    }
}

/// Where an entry sits in the catalog: 类 / 项 / 目 / 细目. Fields are plain
/// numbers so that a form can send them; [`Classification::validate`] (run
/// by the submission checks) enforces the coding rule, and a
/// [`ResourceCode`] only ever holds a valid one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// 类.
    pub class: TopClass,
    /// 项: 1–99, two digits in the code.
    pub section: u8,
    /// 目: 1–999, three digits in the code; absent when the 项 is not subdivided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u16>,
    /// 细目: 1–999, three digits in the code; only under a 目.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<u16>,
}

impl Classification {
    pub fn new(class: TopClass, section: u8, category: Option<u16>, subcategory: Option<u16>) -> Self {
        Classification { class, section, category, subcategory }
    }

    /// Checks the coding rule; the error names the segment at fault under
    /// `classification.`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=99).contains(&self.section) {
            return Err(FieldError::new(
                "classification.section",
                format!("项 must be 1-99 (two digits), got {}", self.section),
            ));
        }
        if let Some(category) = self.category {
            if !(1..=999).contains(&category) {
                return Err(FieldError::new(
                    "classification.category",
                    format!("目 must be 1-999 (three digits), got {category}"),
                ));
            }
        }
        match (self.category, self.subcategory) {
            (None, Some(_)) => Err(FieldError::new(
                "classification.subcategory",
                "细目 needs a 目: set classification.category first",
            )),
            (_, Some(sub)) if !(1..=999).contains(&sub) => Err(FieldError::new(
                "classification.subcategory",
                format!("细目 must be 1-999 (three digits), got {sub}"),
            )),
            _ => Ok(()),
        }
    }

    /// The 分类码: 3, 6 or 9 digits. Meaningful only for a valid
    /// classification (see [`Classification::validate`]).
    pub fn code(&self) -> String {
        debug_assert!(self.validate().is_ok(), "code() of an invalid classification {self:?}");
        let mut code = format!("{}{:02}", self.class.digit(), self.section);
        if let Some(category) = self.category {
            code.push_str(&format!("{category:03}"));
            if let Some(sub) = self.subcategory {
                code.push_str(&format!("{sub:03}"));
            }
        }
        code
    }

    /// Parses a 分类码 of 3, 6 or 9 digits.
    pub fn parse(code: &str) -> Result<Self, FieldError> {
        let err = |message: String| FieldError::new("classification", message);
        if !code.bytes().all(|b| b.is_ascii_digit()) || ![3, 6, 9].contains(&code.len()) {
            return Err(err(format!("分类码 must be 3, 6 or 9 digits (类1 项2 目3 细目3), got {code:?}")));
        }
        let digit = code.as_bytes()[0] - b'0';
        let class =
            TopClass::from_digit(digit).ok_or_else(|| err(format!("类 must be 1, 2 or 3, got {digit}")))?;
        // Each slice below is all ASCII digits of width <= 3, so parsing cannot fail.
        let num = |range: std::ops::Range<usize>| code[range].parse::<u16>().unwrap_or(0);
        let classification = Classification {
            class,
            section: num(1..3) as u8,
            category: (code.len() >= 6).then(|| num(3..6)),
            subcategory: (code.len() == 9).then(|| num(6..9)),
        };
        classification.validate()?;
        Ok(classification)
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// 信息资源代码: 分类码 + "/" + a 6-digit 顺序码, e.g. `101002/000017`.
/// Unique and stable: it is assigned once, at registration, and kept by every
/// later version of the entry. Serialized as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode {
    classification: Classification,
    sequence: u32,
}

impl ResourceCode {
    /// A code from its parts; fails when the classification breaks the coding
    /// rule or the sequence is outside 1–999999.
    pub fn new(classification: Classification, sequence: u32) -> Result<Self, FieldError> {
        classification.validate()?;
        if !(1..=MAX_SEQUENCE).contains(&sequence) {
            return Err(FieldError::new(
                "code",
                format!("顺序码 must be 1-{MAX_SEQUENCE} ({SEQUENCE_WIDTH} digits), got {sequence}"),
            ));
        }
        Ok(ResourceCode { classification, sequence })
    }

    pub fn classification(&self) -> &Classification {
        &self.classification
    }

    /// The 顺序码.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for ResourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:0width$}", self.classification.code(), self.sequence, width = SEQUENCE_WIDTH)
    }
}

impl FromStr for ResourceCode {
    type Err = FieldError;

    /// Strict: exactly `分类码/顺序码` with the widths above, no spaces.
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let Some((class_code, sequence)) = s.split_once('/') else {
            return Err(FieldError::new("code", format!("resource code must be 分类码/顺序码, got {s:?}")));
        };
        let classification =
            Classification::parse(class_code).map_err(|e| FieldError::new("code", e.message))?;
        if sequence.len() != SEQUENCE_WIDTH || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "code",
                format!("顺序码 must be {SEQUENCE_WIDTH} digits, got {sequence:?}"),
            ));
        }
        ResourceCode::new(classification, sequence.parse().unwrap_or(0))
    }
}

impl Serialize for ResourceCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|e: FieldError| serde::de::Error::custom(e.message))
    }
}

impl utoipa::PartialSchema for ResourceCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[1-3][0-9]{2}([0-9]{3}([0-9]{3})?)?/[0-9]{6}$"))
            .description(Some("信息资源代码: 分类码 (类1 项2 [目3 [细目3]]) + \"/\" + 6-digit 顺序码"))
            .examples([serde_json::json!("101002/000017")])
            .into()
    }
}

impl utoipa::ToSchema for ResourceCode {}

/// The code the next entry in `classification` gets, given the highest
/// 顺序码 already issued there (0 when none was). The store calls this
/// inside the transaction that reserves the sequence, so codes stay unique.
pub fn next_resource_code(
    classification: &Classification,
    last_sequence: u32,
) -> Result<ResourceCode, FieldError> {
    classification.validate()?;
    if last_sequence >= MAX_SEQUENCE {
        return Err(FieldError::new(
            "classification",
            format!("顺序码 exhausted under {classification}: all {MAX_SEQUENCE} codes are issued"),
        ));
    }
    ResourceCode::new(classification.clone(), last_sequence + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(section: u8, category: Option<u16>, subcategory: Option<u16>) -> Classification {
        Classification::new(TopClass::Base, section, category, subcategory)
    }

    #[test]
    fn formats_every_depth() {
        assert_eq!(c(1, None, None).code(), "101");
        assert_eq!(c(12, Some(3), None).code(), "112003");
        assert_eq!(c(12, Some(3), Some(45)).code(), "112003045");
        let code = ResourceCode::new(c(12, Some(3), Some(45)), 17).unwrap();
        assert_eq!(code.to_string(), "112003045/000017");
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "101",
            "101/",
            "101/1",
            "101/0000001",
            "101/000000",
            "401/000001",
            "100/000001",
            "101000/000001",
            "1010/000001",
            "101 /000001",
            "１01/000001",
            "101/00000a",
            "101/000001/",
        ] {
            assert!(bad.parse::<ResourceCode>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn validate_names_the_segment() {
        assert_eq!(c(0, None, None).validate().unwrap_err().field, "classification.section");
        assert_eq!(c(100, None, None).validate().unwrap_err().field, "classification.section");
        assert_eq!(c(1, Some(1000), None).validate().unwrap_err().field, "classification.category");
        assert_eq!(c(1, None, Some(1)).validate().unwrap_err().field, "classification.subcategory");
        assert_eq!(c(1, Some(1), Some(0)).validate().unwrap_err().field, "classification.subcategory");
    }

    #[test]
    fn next_code_counts_up_and_stops_at_the_end() {
        let class = c(2, Some(5), None);
        assert_eq!(next_resource_code(&class, 0).unwrap().to_string(), "102005/000001");
        assert_eq!(next_resource_code(&class, 41).unwrap().to_string(), "102005/000042");
        assert_eq!(next_resource_code(&class, 999_998).unwrap().sequence(), 999_999);
        assert!(next_resource_code(&class, 999_999).is_err());
        assert!(next_resource_code(&c(0, None, None), 0).is_err());
    }

    #[test]
    fn serializes_as_a_string() {
        let code: ResourceCode = "301001/000123".parse().unwrap();
        assert_eq!(code.classification().class, TopClass::Department);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"301001/000123\"");
        assert_eq!(serde_json::from_str::<ResourceCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<ResourceCode>("\"301001/123\"").is_err());
    }
}
