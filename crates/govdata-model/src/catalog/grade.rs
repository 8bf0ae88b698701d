//! Data grading (数据分级) after GB/T 43697-2024 《数据安全技术 数据分类分级规则》.
//!
//! The three levels — 核心数据, 重要数据, 一般数据 — come from the Data
//! Security Law (数据安全法 第二十一条) and GB/T 43697, so they are fixed
//! here; what schemes differ on is how 一般数据 is subdivided, and the labels
//! and descriptions shown to people. That part is data ([`GradingScheme`],
//! serde-loadable), with GB/T 43697 plus the common four sub-levels as the
//! default.
//!
//! Order, lowest to highest: 一般1 < 一般2 < 一般3 < 一般4 < 重要 < 核心.
//! Within 一般 a higher number is more sensitive (1 ≈ public or
//! low-impact, 4 ≈ sensitive personal information or large-scale personal
//! data), the convention of most sector grading guides. An entry takes the
//! highest grade of its items (就高从严, [`highest_grade`]).

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The three legal levels, declared lowest first so that the derived `Ord`
/// is the severity order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GradeLevel {
    /// 一般数据.
    General,
    /// 重要数据.
    Important,
    /// 核心数据 (国家核心数据).
    Core,
}

impl GradeLevel {
    pub fn label_zh(self) -> &'static str {
        match self {
            GradeLevel::General => "一般数据",
            GradeLevel::Important => "重要数据",
            GradeLevel::Core => "核心数据",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            GradeLevel::General => "general data",
            GradeLevel::Important => "important data",
            GradeLevel::Core => "core data",
        }
    }
}

/// A grade: a level, and for 一般 the sub-level. Ordered by level, then
/// sub-level (a missing sub-level sorts below sub-level 1; schemes with
/// sub-levels refuse it, see [`GradingScheme::check`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub level: GradeLevel,
    /// Sub-level of 一般 (1 lowest); always absent for 重要 and 核心.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublevel: Option<u8>,
}

impl Grade {
    pub const CORE: Grade = Grade { level: GradeLevel::Core, sublevel: None };
    pub const IMPORTANT: Grade = Grade { level: GradeLevel::Important, sublevel: None };

    /// 一般数据 at `sublevel` (1 lowest).
    pub const fn general(sublevel: u8) -> Grade {
        Grade { level: GradeLevel::General, sublevel: Some(sublevel) }
    }

    /// E.g. "一般数据4级", "重要数据". Use [`GradingScheme::label_zh`] for a
    /// scheme's own wording.
    pub fn label_zh(&self) -> String {
        match self.sublevel {
            Some(n) => format!("{}{n}级", self.level.label_zh()),
            None => self.level.label_zh().to_owned(),
        }
    }

    /// E.g. "general data, level 4", "important data".
    pub fn label_en(&self) -> String {
        match self.sublevel {
            Some(n) => format!("{}, level {n}", self.level.label_en()),
            None => self.level.label_en().to_owned(),
        }
    }
}

/// The highest of some grades (就高从严): an entry's grade from its items'.
/// `None` when there are none.
pub fn highest_grade<'a>(grades: impl IntoIterator<Item = &'a Grade>) -> Option<Grade> {
    grades.into_iter().copied().max()
}

/// How one level or sub-level is shown and explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeDefinition {
    pub label_zh: String,
    pub label_en: String,
    /// What puts data at this grade, for the people who assign it.
    #[serde(default)]
    pub description: String,
}

/// A 一般 sub-level of a scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SublevelDefinition {
    /// 1 is the lowest.
    pub sublevel: u8,
    pub label_zh: String,
    pub label_en: String,
    #[serde(default)]
    pub description: String,
}

/// A grading scheme as configuration: labels and the 一般 sub-levels in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradingScheme {
    pub name: String,
    /// Where the scheme comes from (standard, local rule).
    #[serde(default)]
    pub source: String,
    pub core: GradeDefinition,
    pub important: GradeDefinition,
    pub general: GradeDefinition,
    /// Sub-levels of 一般, lowest first, numbered 1..=n without gaps; empty
    /// when the scheme does not subdivide 一般.
    #[serde(default)]
    pub general_sublevels: Vec<SublevelDefinition>,
}

impl Default for GradingScheme {
    fn default() -> Self {
        GradingScheme::gb_t_43697()
    }
}

fn definition(label_zh: &str, label_en: &str, description: &str) -> GradeDefinition {
    GradeDefinition {
        label_zh: label_zh.to_owned(),
        label_en: label_en.to_owned(),
        description: description.to_owned(),
    }
}

impl GradingScheme {
    /// GB/T 43697-2024 levels with 一般 subdivided 1–4 (4 highest).
    pub fn gb_t_43697() -> Self {
        let sub = |n: u8, en: &str, description: &str| SublevelDefinition {
            sublevel: n,
            label_zh: format!("一般数据{n}级"),
            label_en: en.to_owned(),
            description: description.to_owned(),
        };
        GradingScheme {
            name: "GB/T 43697-2024".to_owned(),
            source: "GB/T 43697-2024 数据安全技术 数据分类分级规则; 一般数据 sub-levels 1-4 after \
                     common sector practice (higher is more sensitive)"
                .to_owned(),
            core: definition(
                "核心数据",
                "core data",
                "关系国家安全、国民经济命脉、重要民生、重大公共利益的数据 (国家核心数据, 数据安全法第二十一条)",
            ),
            important: definition(
                "重要数据",
                "important data",
                "一旦遭到篡改、破坏、泄露或者非法获取、非法利用, 可能危害国家安全、经济运行、社会稳定、\
                 公共健康和安全的数据",
            ),
            general: definition("一般数据", "general data", "核心数据、重要数据以外的数据"),
            general_sublevels: vec![
                sub(1, "general data, level 1", "可公开或影响轻微的数据"),
                sub(2, "general data, level 2", "限内部使用, 泄露对个人或组织有一定影响"),
                sub(3, "general data, level 3", "一般个人信息或业务敏感数据, 泄露影响较大"),
                sub(4, "general data, level 4", "敏感个人信息或大量个人信息, 泄露影响严重"),
            ],
        }
    }

    /// Checks the scheme itself: sub-levels numbered 1..=n in order.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (i, sub) in self.general_sublevels.iter().enumerate() {
            if usize::from(sub.sublevel) != i + 1 {
                return Err(FieldError::new(
                    format!("general_sublevels[{i}].sublevel"),
                    format!("sub-levels must be numbered 1, 2, 3... in order; expected {}", i + 1),
                ));
            }
        }
        Ok(())
    }

    /// Whether `grade` exists in this scheme; the error says why not.
    pub fn check(&self, grade: &Grade) -> Result<(), String> {
        let count = self.general_sublevels.len();
        match (grade.level, grade.sublevel) {
            (GradeLevel::Core | GradeLevel::Important, Some(_)) => {
                Err(format!("{} has no sub-levels", grade.level.label_zh()))
            }
            (GradeLevel::Core | GradeLevel::Important, None) => Ok(()),
            (GradeLevel::General, None) if count > 0 => {
                Err(format!("一般数据 needs a sub-level 1-{count} in scheme {}", self.name))
            }
            (GradeLevel::General, Some(n)) if n == 0 || usize::from(n) > count => {
                if count == 0 {
                    Err(format!("scheme {} does not subdivide 一般数据", self.name))
                } else {
                    Err(format!("一般数据 sub-level must be 1-{count} in scheme {}, got {n}", self.name))
                }
            }
            (GradeLevel::General, _) => Ok(()),
        }
    }

    /// Every grade of the scheme, lowest first.
    pub fn grades(&self) -> Vec<Grade> {
        let mut grades: Vec<Grade> = if self.general_sublevels.is_empty() {
            vec![Grade { level: GradeLevel::General, sublevel: None }]
        } else {
            self.general_sublevels.iter().map(|s| Grade::general(s.sublevel)).collect()
        };
        grades.extend([Grade::IMPORTANT, Grade::CORE]);
        grades
    }

    /// (label_zh, label_en) of `grade` in this scheme, if it defines it.
    fn labels(&self, grade: &Grade) -> Option<(&str, &str)> {
        fn pair(d: &GradeDefinition) -> (&str, &str) {
            (&d.label_zh, &d.label_en)
        }
        match (grade.level, grade.sublevel) {
            (GradeLevel::Core, _) => Some(pair(&self.core)),
            (GradeLevel::Important, _) => Some(pair(&self.important)),
            (GradeLevel::General, None) => Some(pair(&self.general)),
            (GradeLevel::General, Some(n)) => self
                .general_sublevels
                .iter()
                .find(|s| s.sublevel == n)
                .map(|s| (s.label_zh.as_str(), s.label_en.as_str())),
        }
    }

    /// The scheme's Chinese label of `grade`, or the generic one when the
    /// scheme does not define it.
    pub fn label_zh(&self, grade: &Grade) -> String {
        self.labels(grade).map_or_else(|| grade.label_zh(), |(zh, _)| zh.to_owned())
    }

    pub fn label_en(&self, grade: &Grade) -> String {
        self.labels(grade).map_or_else(|| grade.label_en(), |(_, en)| en.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_general_sublevels_then_important_then_core() {
        let scheme = GradingScheme::gb_t_43697();
        let grades = scheme.grades();
        assert_eq!(
            grades,
            [
                Grade::general(1),
                Grade::general(2),
                Grade::general(3),
                Grade::general(4),
                Grade::IMPORTANT,
                Grade::CORE
            ]
        );
        assert!(grades.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn highest_grade_is_the_max() {
        assert_eq!(highest_grade(&[]), None);
        assert_eq!(
            highest_grade(&[Grade::general(2), Grade::general(4), Grade::general(1)]),
            Some(Grade::general(4))
        );
        assert_eq!(highest_grade(&[Grade::general(4), Grade::IMPORTANT]), Some(Grade::IMPORTANT));
        assert_eq!(highest_grade(&[Grade::CORE, Grade::IMPORTANT]), Some(Grade::CORE));
    }

    #[test]
    fn scheme_checks_grades() {
        let scheme = GradingScheme::gb_t_43697();
        assert!(scheme.validate().is_ok());
        assert!(scheme.check(&Grade::general(4)).is_ok());
        assert!(scheme.check(&Grade::general(5)).is_err());
        assert!(scheme.check(&Grade::general(0)).is_err());
        assert!(scheme.check(&Grade { level: GradeLevel::General, sublevel: None }).is_err());
        assert!(scheme.check(&Grade { level: GradeLevel::Core, sublevel: Some(1) }).is_err());
        let flat = GradingScheme { general_sublevels: Vec::new(), ..GradingScheme::gb_t_43697() };
        assert!(flat.check(&Grade { level: GradeLevel::General, sublevel: None }).is_ok());
        assert!(flat.check(&Grade::general(1)).is_err());
    }

    #[test]
    fn scheme_round_trips_through_toml_and_json() {
        let scheme = GradingScheme::gb_t_43697();
        let text = toml::to_string(&scheme).unwrap();
        assert_eq!(toml::from_str::<GradingScheme>(&text).unwrap(), scheme);
        let json = serde_json::to_string(&scheme).unwrap();
        assert_eq!(serde_json::from_str::<GradingScheme>(&json).unwrap(), scheme);
        let bad = GradingScheme { general_sublevels: scheme.general_sublevels[1..].to_vec(), ..scheme };
        assert_eq!(bad.validate().unwrap_err().field, "general_sublevels[0].sublevel");
    }

    #[test]
    fn labels() {
        let scheme = GradingScheme::gb_t_43697();
        assert_eq!(Grade::general(4).label_zh(), "一般数据4级");
        assert_eq!(scheme.label_zh(&Grade::IMPORTANT), "重要数据");
        assert_eq!(scheme.label_en(&Grade::general(2)), "general data, level 2");
        assert_eq!(
            serde_json::to_value(Grade::general(3)).unwrap(),
            serde_json::json!({"level": "general", "sublevel": 3})
        );
        assert_eq!(serde_json::to_value(Grade::CORE).unwrap(), serde_json::json!({"level": "core"}));
    }
}
