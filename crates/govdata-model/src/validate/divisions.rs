//! Administrative division codes (GB/T 2260), embedded from
//! `data/divisions/*.csv` and parsed once on first use.
//!
//! Every code is handled in its 6-digit form: provinces are `xx0000`, cities
//! `xxxx00`. Lookups also accept the short 2- and 4-digit forms.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

/// Where the embedded division list comes from.
pub const SOURCE: &str = "National Bureau of Statistics statistical division codes \
     (统计用区划代码), via github.com/modood/Administrative-divisions-of-China dist/*.csv";

/// Which yearly edition of the division list is embedded (cut-off 2023-06-30).
pub const VERSION: &str = "2023";

const PROVINCES_CSV: &str = include_str!("../../../../data/divisions/provinces.csv");
const CITIES_CSV: &str = include_str!("../../../../data/divisions/cities.csv");
const AREAS_CSV: &str = include_str!("../../../../data/divisions/areas.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 省级: province, autonomous region or municipality.
    Province,
    /// 地级: prefecture-level city, or a placeholder such as 市辖区.
    City,
    /// 县级: county, district or county-level city.
    County,
}

/// One administrative division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Division {
    /// 6-digit code, e.g. "440300".
    pub code: &'static str,
    pub name: &'static str,
    pub level: DivisionLevel,
    /// 6-digit code of the enclosing division; `None` for provinces.
    pub parent: Option<&'static str>,
}

impl Division {
    /// True for grouping entries that are not real places, such as 市辖区 under a
    /// municipality or 省直辖县级行政区划; they are left out of full names.
    pub fn is_placeholder(&self) -> bool {
        matches!(self.name, "市辖区" | "县") || self.name.ends_with("直辖县级行政区划")
    }
}

/// All divisions, sorted by code; codes are unique.
static DIVISIONS: LazyLock<Vec<Division>> = LazyLock::new(load);

/// The divisions' codes, in [`DIVISIONS`]' order, as one array of bytes: a
/// lookup (every citizen ID a gateway call is asked for) searches it
/// without following a pointer to a string at each step.
static CODES: LazyLock<Vec<[u8; 6]>> = LazyLock::new(|| {
    DIVISIONS
        .iter()
        .map(|d| <[u8; 6]>::try_from(d.code.as_bytes()).expect("division codes are padded to 6 digits"))
        .collect()
});

fn load() -> Vec<Division> {
    // Short CSV code ("44", "4403") -> its 6-digit form, so that parents point
    // at the very string their parent division holds.
    let mut six_digit: HashMap<&str, &'static str> = HashMap::new();
    let mut divisions = Vec::new();

    for [code, name] in rows(PROVINCES_CSV) {
        let full = pad(code);
        six_digit.insert(code, full);
        divisions.push(Division { code: full, name, level: DivisionLevel::Province, parent: None });
    }
    for [code, name, province] in rows(CITIES_CSV) {
        let full = pad(code);
        six_digit.insert(code, full);
        let parent = Some(six_digit[province]);
        divisions.push(Division { code: full, name, level: DivisionLevel::City, parent });
    }
    for [code, name, city, _province] in rows(AREAS_CSV) {
        let parent = six_digit[city];
        // Cities without counties (东莞市 441900, 中山市, 儋州市) are listed again as
        // their own county; keep one entry per code, the city.
        if code == parent {
            continue;
        }
        divisions.push(Division { code, name, level: DivisionLevel::County, parent: Some(parent) });
    }

    divisions.sort_unstable_by_key(|d| d.code);
    divisions
}

/// Data rows of an embedded CSV file with exactly `N` fields. Names are quoted
/// but never contain commas or quotes, so a plain split is exact.
fn rows<const N: usize>(csv: &'static str) -> impl Iterator<Item = [&'static str; N]> {
    csv.lines().skip(1).filter(|line| !line.is_empty()).map(|line| {
        let mut fields = line.split(',').map(|field| field.trim_matches('"'));
        let row = std::array::from_fn(|_| fields.next().expect("embedded division CSV row too short"));
        assert!(fields.next().is_none(), "embedded division CSV row too long: {line}");
        row
    })
}

/// The 6-digit form of a 2- or 4-digit CSV code. Leaked once per code, at
/// initialisation, so divisions can hand out `&'static str`.
fn pad(code: &str) -> &'static str {
    Box::leak(format!("{code:0<6}").into_boxed_str())
}

/// The 6-digit form of a 2-, 4- or 6-digit code, or `None` if it is not one.
pub(crate) fn normalize(code: &str) -> Option<String> {
    padded(code).map(|digits| digits.iter().map(|&d| char::from(d)).collect())
}

/// [`normalize`] without allocating: every citizen ID the gateway is asked
/// for is checked against the divisions twice.
fn padded(code: &str) -> Option<[u8; 6]> {
    let digits = code.bytes().all(|b| b.is_ascii_digit());
    if !(digits && matches!(code.len(), 2 | 4 | 6)) {
        return None;
    }
    let mut padded = [b'0'; 6];
    padded[..code.len()].copy_from_slice(code.as_bytes());
    Some(padded)
}

/// The code of the whole country, used by the national hub: not a GB/T 2260
/// division.
pub const NATIONAL: &str = "100000";

/// The leading digits every code inside `region` starts with: `44` for
/// 440000, `4401` for 440100, the whole code for a county; empty for the
/// whole country.
pub fn prefix(region: &str) -> &str {
    if region == NATIONAL {
        ""
    } else {
        region.trim_end_matches("00")
    }
}

/// Whether the region `code` lies inside `region` (a region lies inside itself).
pub fn contains(region: &str, code: &str) -> bool {
    code.starts_with(prefix(region))
}

/// The division with this code, given as "44", "4403" or "440300".
pub fn lookup(code: &str) -> Option<&'static Division> {
    let code = padded(code)?;
    CODES.binary_search(&code).ok().map(|i| &DIVISIONS[i])
}

/// Direct children of a division, sorted by code. The root, written "" or
/// "000000", has the provinces as children. Unknown codes have none.
pub fn children(code: &str) -> Vec<&'static Division> {
    if code.is_empty() || code == "000000" {
        return provinces();
    }
    match normalize(code) {
        Some(code) => DIVISIONS.iter().filter(|d| d.parent == Some(code.as_str())).collect(),
        None => Vec::new(),
    }
}

pub fn provinces() -> Vec<&'static Division> {
    at_level(DivisionLevel::Province)
}

/// Every county-level division, including development zones the statistical
/// codes list at that level.
pub fn counties() -> Vec<&'static Division> {
    at_level(DivisionLevel::County)
}

fn at_level(level: DivisionLevel) -> Vec<&'static Division> {
    DIVISIONS.iter().filter(|d| d.level == level).collect()
}

/// The name of a division with its ancestors, e.g. "广东省深圳市南山区";
/// placeholder levels such as 市辖区 are skipped ("北京市朝阳区").
pub fn full_name(code: &str) -> Option<String> {
    let mut chain = vec![lookup(code)?];
    while let Some(parent) = chain.last().and_then(|d| d.parent).and_then(lookup) {
        chain.push(parent);
    }
    Some(chain.iter().rev().filter(|d| !d.is_placeholder()).map(|d| d.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_contain_their_subdivisions() {
        assert!(contains("440000", "440305") && contains("440100", "440106") && contains("441900", "441900"));
        assert!(!contains("440000", "330100") && !contains("440100", "440300"));
        assert!(contains(NATIONAL, "330100") && contains("500000", "500101"));
        assert_eq!((prefix("440000"), prefix("441900"), prefix(NATIONAL)), ("44", "4419", ""));
    }

    #[test]
    fn every_row_is_loaded_once() {
        assert_eq!(provinces().len(), 31);
        assert_eq!(at_level(DivisionLevel::City).len(), 342);
        // 2978 rows in areas.csv, minus the three cities listed again as counties.
        assert_eq!(counties().len(), 2975);
        assert!(DIVISIONS.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn codes_names_and_parents_are_consistent() {
        for d in DIVISIONS.iter() {
            assert_eq!(d.code.len(), 6, "{d:?}");
            assert!(d.code.bytes().all(|b| b.is_ascii_digit()), "{d:?}");
            assert!(!d.name.is_empty() && !d.name.contains(['"', ',']), "{d:?}");
            match d.level {
                DivisionLevel::Province => assert_eq!(d.parent, None),
                DivisionLevel::City => {
                    let parent = lookup(d.parent.unwrap()).unwrap();
                    assert_eq!(parent.level, DivisionLevel::Province);
                    assert_eq!(parent.code[..2], d.code[..2]);
                }
                DivisionLevel::County => {
                    let parent = lookup(d.parent.unwrap()).unwrap();
                    assert_eq!(parent.level, DivisionLevel::City);
                    assert_eq!(parent.code[..4], d.code[..4]);
                }
            }
        }
    }

    #[test]
    fn lookup_accepts_short_forms() {
        assert_eq!(lookup("44").unwrap().name, "广东省");
        assert_eq!(lookup("440000").unwrap().code, "440000");
        assert_eq!(lookup("4403").unwrap().name, "深圳市");
        assert_eq!(lookup("440305").unwrap().name, "南山区");
        assert_eq!(lookup("440305").unwrap().parent, Some("440300"));
        assert_eq!(lookup("441900").unwrap().level, DivisionLevel::City);
        for bad in ["", "4", "440", "4403050", "44030x", "999999", "000000", "４４"] {
            assert_eq!(lookup(bad), None, "{bad}");
        }
    }

    #[test]
    fn children_are_direct_and_sorted() {
        assert_eq!(children("").len(), 31);
        assert_eq!(children("000000"), provinces());
        let beijing = children("11");
        assert_eq!(beijing.len(), 1);
        assert_eq!(beijing[0].name, "市辖区");
        let shenzhen = children("440300");
        assert!(shenzhen.iter().any(|d| d.name == "南山区"));
        assert!(shenzhen.windows(2).all(|w| w[0].code < w[1].code));
        assert!(children("440305").is_empty());
        assert!(children("441900").is_empty());
        assert!(children("nope").is_empty());
    }

    #[test]
    fn full_names_skip_placeholders() {
        assert_eq!(full_name("440305").as_deref(), Some("广东省深圳市南山区"));
        assert_eq!(full_name("4403").as_deref(), Some("广东省深圳市"));
        assert_eq!(full_name("44").as_deref(), Some("广东省"));
        assert_eq!(full_name("110105").as_deref(), Some("北京市朝阳区"));
        assert_eq!(full_name("441900").as_deref(), Some("广东省东莞市"));
        assert_eq!(full_name("429004").as_deref(), Some("湖北省仙桃市"));
        assert_eq!(full_name("999999"), None);
    }

    #[test]
    fn level_serializes_in_snake_case() {
        assert_eq!(serde_json::to_string(&DivisionLevel::County).unwrap(), "\"county\"");
    }
}
