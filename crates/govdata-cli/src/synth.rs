//! Synthetic base-library rows for the demo: persons (人口) whose citizen ID
//! numbers are valid and agree with their region and birth date, and
//! enterprises (法人) with valid unified social credit codes. Deterministic
//! for a seed, so a demo and its tests see the same people every time.

use std::collections::HashSet;
use std::path::Path;

use govdata_model::validate::{self, divisions};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
    "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚",
    "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "方", "白", "邹",
    "孟", "熊", "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "欧阳",
    "司马", "诸葛",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "文", "辉", "建", "国", "红", "梅", "鑫", "婷",
    "宇", "浩", "凯", "欣", "怡", "子", "涵", "轩", "睿", "博", "雪", "晨", "思", "嘉", "佳", "俊", "琳",
    "海", "波", "斌", "志", "晓", "春", "燕", "林", "峰", "悦", "彤", "泽", "一", "诺", "安", "然",
];
const ETHNICITIES: &[(&str, u32)] = &[
    ("汉族", 910),
    ("壮族", 14),
    ("回族", 8),
    ("满族", 7),
    ("维吾尔族", 8),
    ("苗族", 8),
    ("彝族", 7),
    ("土家族", 7),
    ("藏族", 5),
    ("蒙古族", 5),
    ("侗族", 3),
    ("布依族", 3),
    ("瑶族", 2),
    ("白族", 2),
    ("朝鲜族", 1),
];
const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "新华路",
    "文化路",
    "光明路",
    "胜利路",
    "长江路",
    "黄河路",
    "朝阳路",
    "青年路",
    "东风路",
    "学府路",
    "科技路",
    "滨江路",
    "府前街",
    "迎宾大道",
    "世纪大道",
];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "166", "170", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "193", "195", "198", "199",
];
const TRADE_NAMES: &[&str] = &[
    "华信", "恒通", "中联", "安泰", "鑫源", "宏达", "永盛", "联创", "天成", "博远", "瑞丰", "东方", "锦程",
    "汇智", "新元", "星辰", "海纳", "嘉禾", "泰和", "同方", "卓越", "广厦", "润泽", "金桥", "绿野", "云帆",
];
/// Industry sections of GB/T 4754 with a matching word for the firm's name.
const INDUSTRIES: &[(&str, &str)] = &[
    ("制造业", "机械制造"),
    ("批发和零售业", "商贸"),
    ("信息传输、软件和信息技术服务业", "科技"),
    ("建筑业", "建设工程"),
    ("交通运输、仓储和邮政业", "物流"),
    ("住宿和餐饮业", "餐饮管理"),
    ("租赁和商务服务业", "企业管理咨询"),
    ("科学研究和技术服务业", "技术研究"),
    ("农、林、牧、渔业", "农业发展"),
    ("房地产业", "置业"),
    ("金融业", "投资"),
    ("文化、体育和娱乐业", "文化传媒"),
];
const STATUSES: &[(&str, u32)] = &[("存续", 78), ("在业", 12), ("注销", 7), ("吊销", 3)];

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Person {
    pub id_number: String,
    pub name: String,
    pub gender: &'static str,
    pub birth_date: String,
    pub ethnicity: &'static str,
    pub region_code: String,
    pub address: String,
    pub mobile_phone: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Enterprise {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    /// In 万元 (10,000 yuan).
    pub registered_capital: u32,
    pub established_date: String,
    pub region_code: String,
    pub address: String,
    pub industry: &'static str,
    pub status: &'static str,
}

/// A deterministic generator over the counties of one province, or all.
pub struct Generator {
    rng: ChaCha8Rng,
    counties: Vec<&'static divisions::Division>,
}

fn weighted<'a>(rng: &mut ChaCha8Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (item, weight) in items {
        if pick < *weight {
            return item;
        }
        pick -= weight;
    }
    items[0].0
}

impl Generator {
    /// `province`: a 6-digit province code to stay within, or `None` for all.
    pub fn new(seed: u64, province: Option<&str>) -> Generator {
        let counties = divisions::counties()
            .into_iter()
            // Development zones (fifth digit 7) are statistical codes, not places of household registration.
            .filter(|d| !d.is_placeholder() && d.code.as_bytes()[4] != b'7')
            .filter(|d| province.is_none_or(|p| d.code[..2] == p[..2]))
            .collect::<Vec<_>>();
        assert!(!counties.is_empty(), "province {province:?} has counties");
        Generator { rng: ChaCha8Rng::seed_from_u64(seed), counties }
    }

    fn name(&mut self) -> String {
        let surname = SURNAMES.choose(&mut self.rng).expect("non-empty");
        let count = if self.rng.gen_bool(0.7) { 2 } else { 1 };
        let given: String = (0..count).map(|_| *GIVEN.choose(&mut self.rng).expect("non-empty")).collect();
        format!("{surname}{given}")
    }

    fn date(&mut self, first_year: i32, last_year: i32) -> (i32, u32, u32) {
        let year = self.rng.gen_range(first_year..=last_year);
        let month = self.rng.gen_range(1..=12u32);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (year, month, self.rng.gen_range(1..=days))
    }

    fn address(&mut self, county: &divisions::Division) -> String {
        let place = divisions::full_name(county.code).unwrap_or_else(|| county.name.to_owned());
        let street = STREETS.choose(&mut self.rng).expect("non-empty");
        format!("{place}{street}{}号", self.rng.gen_range(1..=999))
    }

    pub fn persons(&mut self, count: usize) -> Vec<Person> {
        let mut seen = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let county = *self.counties.choose(&mut self.rng).expect("non-empty");
            let (year, month, day) = self.date(1940, 2020);
            let sequence = self.rng.gen_range(0..1000u32);
            let first17 = format!("{}{year:04}{month:02}{day:02}{sequence:03}", county.code);
            if !seen.insert(first17.clone()) {
                continue;
            }
            let id_number = format!("{first17}{}", validate::id_check_char(&first17));
            let prefix = MOBILE_PREFIXES.choose(&mut self.rng).expect("non-empty");
            out.push(Person {
                name: self.name(),
                gender: if sequence % 2 == 1 { "男" } else { "女" },
                birth_date: format!("{year:04}-{month:02}-{day:02}"),
                ethnicity: weighted(&mut self.rng, ETHNICITIES),
                region_code: county.code.to_owned(),
                address: self.address(county),
                mobile_phone: format!("{prefix}{:08}", self.rng.gen_range(0..100_000_000u32)),
                id_number,
            });
        }
        out
    }

    pub fn enterprises(&mut self, count: usize) -> Vec<Enterprise> {
        let mut seen = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let county = *self.counties.choose(&mut self.rng).expect("non-empty");
            let uscc = self.uscc("91", county.code);
            if !seen.insert(uscc.clone()) {
                continue;
            }
            let (industry, word) = *INDUSTRIES.choose(&mut self.rng).expect("non-empty");
            let city = county.parent.and_then(divisions::lookup).filter(|c| !c.is_placeholder());
            let place = city.map_or(county.name, |c| c.name);
            let trade = TRADE_NAMES.choose(&mut self.rng).expect("non-empty");
            let (year, month, day) = self.date(1995, 2025);
            out.push(Enterprise {
                name: format!("{place}{trade}{word}有限公司"),
                legal_representative: self.name(),
                registered_capital: *[10, 50, 100, 200, 500, 1000, 3000, 5000, 10000]
                    .choose(&mut self.rng)
                    .expect("non-empty"),
                established_date: format!("{year:04}-{month:02}-{day:02}"),
                region_code: county.code.to_owned(),
                address: self.address(county),
                industry,
                status: weighted(&mut self.rng, STATUSES),
                uscc,
            });
        }
        out
    }

    /// A code with valid GB 11714 and MOD 31 check characters. `kind` is the
    /// registration authority and organisation type, e.g. `91` for a company
    /// registered with market regulation, `11` for a government organ.
    pub fn uscc(&mut self, kind: &str, region: &str) -> String {
        const BODY: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        let body: String =
            (0..8).map(|_| char::from(*BODY.choose(&mut self.rng).expect("non-empty"))).collect();
        let org_code = format!("{body}{}", validate::org_code_check_char(&body));
        let first17 = format!("{kind}{region}{org_code}");
        format!("{first17}{}", validate::uscc_check_char(&first17))
    }
}

/// Writes rows as a UTF-8 CSV with a header, atomically (temp file + rename).
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> anyhow::Result<()> {
    let tmp = path.with_extension("csv.tmp");
    let mut writer = csv::Writer::from_path(&tmp)?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_have_valid_consistent_ids() {
        let persons = Generator::new(7, Some("440000")).persons(500);
        for person in &persons {
            let check = validate::id_number(&person.id_number);
            assert!(check.valid, "{person:?}: {check:?}");
            assert_eq!(&person.id_number[..6], person.region_code);
            assert!(person.region_code.starts_with("44"));
            assert_eq!(&person.id_number[6..14], person.birth_date.replace('-', ""));
            assert!(validate::mobile_phone(&person.mobile_phone).valid);
        }
        let unique: HashSet<_> = persons.iter().map(|p| &p.id_number).collect();
        assert_eq!(unique.len(), persons.len());
    }

    #[test]
    fn enterprises_have_valid_codes_without_warnings() {
        for enterprise in Generator::new(7, None).enterprises(500) {
            let check = validate::uscc(&enterprise.uscc);
            assert!(check.valid && check.warnings.is_empty(), "{enterprise:?}: {check:?}");
            assert_eq!(&enterprise.uscc[2..8], enterprise.region_code);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        assert_eq!(Generator::new(42, None).persons(50), Generator::new(42, None).persons(50));
        assert_ne!(Generator::new(42, None).persons(50), Generator::new(43, None).persons(50));
    }
}
