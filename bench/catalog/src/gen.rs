//! The generated catalog: nodes (every province and prefecture-level city
//! of GB/T 2260), their departments, and entries drawn from the vocabulary
//! of real government catalogs (人口, 法人, 社保, 医疗, 交通, 市场监管,
//! 营业执照…). Deterministic for a seed: the index build and the PostgreSQL
//! load regenerate the very same documents.

use govdata_model::catalog::{
    ActorRef, CatalogEntry, Classification, EntryDraft, EntryStatus, FormatClass, Grade, InfoItem, ItemType,
    OpenType, Provider, ResourceCode, SensitivityCategory, ShareMode, ShareType, TopClass, UpdateCycle,
};
use govdata_model::validate::divisions;
use govdata_search::SearchDoc;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

use ItemType::{Character as C, Date as D, DateTime as T, Float as F, Integer as I, Logical as L, Memo as M};

type Item = (&'static str, ItemType, Option<u32>);

/// A kind of department: its name, the key items of its records, their
/// grade, the base library (项 of class 1) its subjects feed, its subjects.
pub struct Kind {
    pub name: &'static str,
    pub slug: &'static str,
    keys: &'static [Item],
    key_grade: Grade,
    base: Option<u8>,
    subjects: &'static [&'static str],
    /// Theme words (主题) its entries are tagged with.
    themes: &'static [&'static str],
}

const PERSON: &[Item] = &[("公民身份号码", C, Some(18)), ("姓名", C, Some(50))];
const COMPANY: &[Item] = &[("统一社会信用代码", C, Some(18)), ("市场主体名称", C, Some(200))];

pub const KINDS: &[Kind] = &[
    Kind {
        name: "公安局",
        slug: "gongan",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: Some(1),
        subjects: &[
            "常住人口",
            "流动人口",
            "户籍迁移",
            "居民身份证",
            "出入境证件",
            "机动车登记",
            "驾驶人",
            "交通违法",
            "治安案件",
            "居住证",
        ],
        themes: &["人口", "交通", "社会治理"],
    },
    Kind {
        name: "民政局",
        slug: "minzheng",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &[
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
        themes: &["人口", "社会救助", "低保"],
    },
    Kind {
        name: "市场监督管理局",
        slug: "shichang",
        keys: COMPANY,
        key_grade: Grade::general(1),
        base: Some(2),
        subjects: &[
            "企业登记",
            "个体工商户",
            "农民专业合作社",
            "经营异常名录",
            "严重违法失信",
            "食品生产许可",
            "特种设备",
            "计量器具",
            "营业执照",
            "药品经营许可",
            "广告监测",
        ],
        themes: &["法人", "市场监管", "营业执照", "信用"],
    },
    Kind {
        name: "人力资源和社会保障局",
        slug: "renshe",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &[
            "养老保险参保",
            "失业保险",
            "工伤保险",
            "社会保障卡",
            "就业登记",
            "职业资格证书",
            "技能等级认定",
            "劳动用工备案",
            "社会保险缴费",
            "人事考试",
        ],
        themes: &["社保", "就业", "人口"],
    },
    Kind {
        name: "卫生健康委员会",
        slug: "weijian",
        keys: PERSON,
        key_grade: Grade::general(4),
        base: None,
        subjects: &[
            "出生医学证明",
            "医师执业注册",
            "护士执业注册",
            "医疗机构执业许可",
            "预防接种",
            "死亡医学证明",
            "传染病报告",
            "母婴保健",
            "健康体检",
            "电子病历",
        ],
        themes: &["医疗", "健康", "人口"],
    },
    Kind {
        name: "医疗保障局",
        slug: "yibao",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &[
            "医保参保登记",
            "医保结算",
            "定点医药机构",
            "医保目录",
            "门诊慢特病",
            "异地就医备案",
            "医疗救助",
            "长期护理保险",
        ],
        themes: &["医疗", "医保", "社保"],
    },
    Kind {
        name: "自然资源和规划局",
        slug: "ziran",
        keys: &[("不动产单元号", C, Some(28)), ("权利人名称", C, Some(100))],
        key_grade: Grade::general(2),
        base: Some(3),
        subjects: &[
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
        themes: &["自然资源", "空间地理", "不动产"],
    },
    Kind {
        name: "生态环境局",
        slug: "shengtai",
        keys: COMPANY,
        key_grade: Grade::general(1),
        base: None,
        subjects: &[
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
        themes: &["生态环境", "法人"],
    },
    Kind {
        name: "税务局",
        slug: "shuiwu",
        keys: &[("纳税人识别号", C, Some(20)), ("纳税人名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: Some(4),
        subjects: &[
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
        themes: &["税收", "信用", "法人"],
    },
    Kind {
        name: "教育局",
        slug: "jiaoyu",
        keys: &[("学籍号", C, Some(19)), ("学生姓名", C, Some(50))],
        key_grade: Grade::general(3),
        base: None,
        subjects: &[
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
        themes: &["教育", "人口"],
    },
    Kind {
        name: "交通运输局",
        slug: "jiaotong",
        keys: &[("车辆牌照号码", C, Some(20)), ("业户名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: None,
        subjects: &[
            "道路运输经营许可",
            "营运车辆",
            "出租汽车",
            "网约车平台",
            "公交线路",
            "公路路况",
            "交通运输执法",
            "港口经营许可",
            "驾驶员培训",
            "交通流量",
        ],
        themes: &["交通", "出行"],
    },
    Kind {
        name: "住房和城乡建设局",
        slug: "zhujian",
        keys: COMPANY,
        key_grade: Grade::general(2),
        base: None,
        subjects: &[
            "建筑业企业资质",
            "施工许可",
            "商品房预售许可",
            "房屋网签备案",
            "物业服务企业",
            "城镇燃气经营许可",
            "竣工验收备案",
            "保障性住房",
            "房地产开发企业",
            "建设工程质量监督",
        ],
        themes: &["住房", "城乡建设", "法人"],
    },
    Kind {
        name: "住房公积金管理中心",
        slug: "gongjijin",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &["公积金缴存", "公积金提取", "公积金贷款", "缴存单位登记", "公积金账户转移"],
        themes: &["公积金", "住房"],
    },
    Kind {
        name: "农业农村局",
        slug: "nongye",
        keys: &[("经营主体名称", C, Some(200)), ("统一社会信用代码", C, Some(18))],
        key_grade: Grade::general(1),
        base: None,
        subjects: &[
            "农药经营许可",
            "兽药经营许可",
            "家庭农场",
            "农村土地承包经营权",
            "农机购置补贴",
            "动物检疫",
            "高标准农田",
            "种子生产经营许可",
        ],
        themes: &["农业", "乡村振兴"],
    },
    Kind {
        name: "商务局",
        slug: "shangwu",
        keys: COMPANY,
        key_grade: Grade::general(1),
        base: None,
        subjects: &[
            "对外贸易经营者备案",
            "外商投资企业",
            "单用途预付卡",
            "成品油零售",
            "汽车销售",
            "拍卖企业",
            "报废机动车回收",
        ],
        themes: &["商务", "法人", "市场监管"],
    },
    Kind {
        name: "文化广电和旅游局",
        slug: "wenlv",
        keys: COMPANY,
        key_grade: Grade::general(1),
        base: None,
        subjects: &[
            "旅行社",
            "A级旅游景区",
            "星级饭店",
            "网吧经营许可",
            "演出经营许可",
            "文物保护单位",
            "公共图书馆",
            "导游证",
        ],
        themes: &["文化", "旅游"],
    },
    Kind {
        name: "应急管理局",
        slug: "yingji",
        keys: COMPANY,
        key_grade: Grade::IMPORTANT,
        base: None,
        subjects: &[
            "危险化学品经营许可",
            "安全生产许可",
            "重大危险源",
            "安全生产行政处罚",
            "应急救援队伍",
            "自然灾害灾情",
            "应急物资储备",
            "烟花爆竹经营许可",
        ],
        themes: &["应急管理", "安全生产"],
    },
    Kind {
        name: "统计局",
        slug: "tongji",
        keys: &[("统计单位名称", C, Some(200)), ("统计代码", C, Some(18))],
        key_grade: Grade::general(1),
        base: None,
        subjects: &[
            "名录库",
            "国民经济核算",
            "人口普查",
            "经济普查",
            "农业普查",
            "规模以上工业",
            "居民收支调查",
        ],
        themes: &["统计", "人口", "法人"],
    },
    Kind {
        name: "司法局",
        slug: "sifa",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &["律师执业", "公证机构", "法律援助", "人民调解", "社区矫正", "司法鉴定", "行政复议"],
        themes: &["法治", "社会治理"],
    },
    Kind {
        name: "财政局",
        slug: "caizheng",
        keys: &[("预算单位编码", C, Some(20)), ("预算单位名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: None,
        subjects: &["预算执行", "政府采购", "非税收入", "财政补贴发放", "国有资产", "会计人员"],
        themes: &["财政", "政府采购"],
    },
    Kind {
        name: "水利局",
        slug: "shuili",
        keys: &[("测站编码", C, Some(20)), ("测站名称", C, Some(100))],
        key_grade: Grade::general(2),
        base: None,
        subjects: &["取水许可", "河湖长制", "水文监测", "水库", "河道采砂许可", "水土保持", "防汛抗旱"],
        themes: &["水利", "应急管理"],
    },
    Kind {
        name: "发展和改革委员会",
        slug: "fagai",
        keys: &[("项目代码", C, Some(24)), ("项目名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: None,
        subjects: &["投资项目审批", "企业投资项目备案", "价格监测", "重点项目", "粮食储备", "信用修复"],
        themes: &["投资", "信用", "法人"],
    },
    Kind {
        name: "退役军人事务局",
        slug: "tuiyi",
        keys: PERSON,
        key_grade: Grade::general(3),
        base: None,
        subjects: &["退役军人信息采集", "优抚对象", "安置就业", "光荣牌悬挂", "烈士褒扬"],
        themes: &["人口", "优抚"],
    },
    Kind {
        name: "政务服务和数据管理局",
        slug: "shuju",
        keys: &[("办件编号", C, Some(64)), ("申请人名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: Some(5),
        subjects: &[
            "政务服务事项",
            "办件记录",
            "好差评",
            "电子证照",
            "一网通办",
            "公共资源交易",
            "12345热线工单",
        ],
        themes: &["政务服务", "电子证照"],
    },
    Kind {
        name: "城市管理局",
        slug: "chengguan",
        keys: &[("案件编号", C, Some(64)), ("当事人名称", C, Some(200))],
        key_grade: Grade::general(2),
        base: None,
        subjects: &["城市管理执法", "户外广告设置", "渣土运输", "停车泊位", "环卫设施", "市政设施"],
        themes: &["城市管理", "交通"],
    },
    Kind {
        name: "残疾人联合会",
        slug: "canlian",
        keys: PERSON,
        key_grade: Grade::general(4),
        base: None,
        subjects: &["残疾人证", "残疾人康复", "残疾人就业", "无障碍设施"],
        themes: &["人口", "社会救助"],
    },
    Kind {
        name: "人民法院",
        slug: "fayuan",
        keys: &[("案号", C, Some(64)), ("当事人名称", C, Some(200))],
        key_grade: Grade::IMPORTANT,
        base: None,
        subjects: &["失信被执行人", "限制高消费", "裁判文书", "破产案件", "司法拍卖"],
        themes: &["信用", "法治"],
    },
    Kind {
        name: "气象局",
        slug: "qixiang",
        keys: &[("站点编号", C, Some(10)), ("站点名称", C, Some(100))],
        key_grade: Grade::general(1),
        base: None,
        subjects: &["地面气象观测", "气象预警", "天气预报", "雷电防护", "人工影响天气"],
        themes: &["气象", "应急管理"],
    },
    Kind {
        name: "消防救援支队",
        slug: "xiaofang",
        keys: COMPANY,
        key_grade: Grade::general(2),
        base: None,
        subjects: &["消防安全检查", "火灾事故", "消防设施维保", "重点单位消防"],
        themes: &["安全生产", "应急管理"],
    },
    Kind {
        name: "知识产权局",
        slug: "zhichan",
        keys: COMPANY,
        key_grade: Grade::general(1),
        base: None,
        subjects: &["专利", "商标", "地理标志", "知识产权质押"],
        themes: &["知识产权", "法人"],
    },
];

/// Subjects whose data is graded 重要 (important data), and 核心 (core) ones.
const IMPORTANT: &[&str] =
    &["出入境证件", "治安案件", "矿业权", "重大税收违法失信", "碳排放配额", "重大危险源", "水库", "电子病历"];
const CORE: &[&str] = &["人口普查", "国民经济核算", "地面气象观测"];

type Aspect = (&'static str, &'static [Item]);

const ASPECTS: &[Aspect] = &[
    ("基本信息", &[("登记日期", D, Some(8)), ("登记机关", C, Some(100)), ("当前状态", C, Some(20))]),
    (
        "变更信息",
        &[
            ("变更事项", C, Some(100)),
            ("变更前内容", M, None),
            ("变更后内容", M, None),
            ("变更日期", D, Some(8)),
        ],
    ),
    ("注销信息", &[("注销日期", D, Some(8)), ("注销原因", C, Some(200))]),
    ("审批结果", &[("审批事项", C, Some(200)), ("审批结论", C, Some(20)), ("审批日期", D, Some(8))]),
    (
        "电子证照",
        &[
            ("证照编号", C, Some(64)),
            ("证照名称", C, Some(100)),
            ("发证日期", D, Some(8)),
            ("有效期至", D, Some(8)),
        ],
    ),
    ("统计汇总", &[("统计期", C, Some(10)), ("行政区划代码", C, Some(6)), ("数量", I, None)]),
    ("年度报告", &[("报告年度", C, Some(4)), ("报送日期", D, Some(8))]),
    ("监督检查", &[("检查日期", D, Some(8)), ("检查结果", C, Some(100)), ("检查机关", C, Some(100))]),
    ("行政处罚", &[("处罚决定书文号", C, Some(64)), ("处罚内容", M, None), ("处罚日期", D, Some(8))]),
    ("信用评价", &[("评价等级", C, Some(10)), ("评价日期", D, Some(8))]),
    ("办件记录", &[("办件编号", C, Some(64)), ("受理日期", D, Some(8)), ("办结日期", D, Some(8))]),
    ("核验结果", &[("核验事项", C, Some(100)), ("核验结论", L, Some(1))]),
    ("历史档案", &[("档案号", C, Some(64)), ("归档日期", D, Some(8))]),
    ("服务评价", &[("评价内容", M, None), ("满意度", I, None)]),
    ("地理位置", &[("经度", F, None), ("纬度", F, None), ("详细地址", C, Some(200))]),
    ("名录", &[("所在地行政区划", C, Some(6)), ("联系地址", C, Some(200))]),
];

/// What tells one department's entries on the same subject and aspect
/// apart (pairwise at least two characters different, so that the
/// near-duplicate check does not take them for one another).
const QUALIFIERS: &[&str] = &[
    "",
    "历史库",
    "明细",
    "汇总",
    "专题库",
    "共享版",
    "开放版",
    "归集库",
    "核验",
    "统计",
    "台账",
    "档案",
    "电子化",
    "月报",
    "目录索引",
    "接口数据",
    "交换库",
    "清洗后",
    "标准化",
    "质量检测",
    "关联",
    "扩展",
    "公示",
    "查询",
    "调阅",
    "比对",
    "补录",
    "存量",
    "实时",
    "抽样",
    "时序",
    "空间",
    "分析",
    "县区上报",
    "市级汇聚",
    "省级下发",
    "主题库",
    "专项",
    "试点",
    "备案",
];

/// Items any entry may carry besides its key and aspect items.
const EXTRAS: &[Item] = &[
    ("联系电话", C, Some(20)),
    ("经办人", C, Some(50)),
    ("经办机构", C, Some(100)),
    ("数据来源", C, Some(100)),
    ("备注", M, None),
    ("数据更新时间", T, Some(14)),
    ("所属乡镇街道", C, Some(100)),
    ("所属社区", C, Some(100)),
    ("法定代表人", C, Some(50)),
    ("注册资本", F, None),
    ("成立日期", D, Some(8)),
    ("经营范围", M, None),
    ("性别", C, Some(2)),
    ("出生日期", D, Some(8)),
    ("民族", C, Some(20)),
    ("户籍地址", C, Some(200)),
    ("联系人", C, Some(50)),
    ("电子邮箱", C, Some(100)),
    ("业务类型", C, Some(50)),
    ("有效标志", L, Some(1)),
    ("金额", F, None),
    ("审核人", C, Some(50)),
    ("申请日期", D, Some(8)),
    ("文书编号", C, Some(64)),
];

const CYCLES: &[UpdateCycle] = &[
    UpdateCycle::RealTime,
    UpdateCycle::Daily,
    UpdateCycle::Daily,
    UpdateCycle::Weekly,
    UpdateCycle::Monthly,
    UpdateCycle::Monthly,
    UpdateCycle::Quarterly,
    UpdateCycle::HalfYearly,
    UpdateCycle::Yearly,
    UpdateCycle::Irregular,
];

const FORMATS: &[(FormatClass, &str)] = &[
    (FormatClass::Database, "mysql"),
    (FormatClass::Database, "oracle"),
    (FormatClass::Database, "达梦"),
    (FormatClass::Database, "postgresql"),
    (FormatClass::Spreadsheet, "xlsx"),
    (FormatClass::ElectronicFile, "pdf"),
    (FormatClass::ElectronicFile, "ofd"),
    (FormatClass::Image, "jpg"),
    (FormatClass::StreamingMedia, "mp4"),
    (FormatClass::SelfDescribing, "json"),
    (FormatClass::Other, "其他"),
];

const LEGAL_BASES: &[&str] = &[
    "《中华人民共和国个人信息保护法》第十三条、第二十八条",
    "《中华人民共和国保守国家秘密法》第十三条",
    "《中华人民共和国数据安全法》第二十一条",
    "《政务信息资源共享管理暂行办法》第九条",
];

const USES: &[&str] = &[
    "政务服务“一网通办”",
    "市场监管“双随机、一公开”",
    "基层社会治理",
    "精准帮扶和社会救助",
    "信用评价与联合惩戒",
    "应急管理与风险监测",
    "统计分析与决策支持",
    "城市运行监测",
    "跨部门业务协同",
    "惠企政策“免申即享”",
];

/// One node of the federation whose catalog the benchmark searches.
pub struct Node {
    pub id: String,
    pub name: String,
    pub region: String,
    /// Relative size (entries are spread by it).
    pub weight: f64,
}

/// One department of one node.
pub struct Department {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub kind: usize,
}

/// A valid 18-character unified social credit code (GB 32100) for a
/// government body (登记管理部门 1, 机关 1) in `region`.
pub fn uscc(region: &str, serial: u64) -> String {
    let body = format!("11{region}{:09}", serial % 1_000_000_000);
    let check = govdata_model::validate::uscc_check_char(&body);
    format!("{body}{check}")
}

pub struct World {
    pub nodes: Vec<Node>,
    pub departments: Vec<Department>,
    /// Departments of each node.
    pub by_node: Vec<Vec<usize>>,
    /// Cumulative node weights, for drawing a node.
    cumulative: Vec<f64>,
}

impl World {
    /// Every province and every prefecture-level city is a node; each runs
    /// 16–29 of the department kinds.
    pub fn new(seed: u64) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut nodes = Vec::new();
        for province in divisions::provinces() {
            let full = divisions::full_name(province.code).unwrap_or_else(|| province.name.to_owned());
            nodes.push(Node {
                id: format!("node-{}", province.code),
                name: format!("{full}政务数据共享交换平台"),
                region: province.code.to_owned(),
                weight: rng.gen_range(1.0..3.0),
            });
            for city in divisions::children(province.code) {
                if city.is_placeholder() {
                    continue;
                }
                let full = divisions::full_name(city.code).unwrap_or_else(|| city.name.to_owned());
                nodes.push(Node {
                    id: format!("node-{}", city.code),
                    name: format!("{full}数据共享平台"),
                    region: city.code.to_owned(),
                    weight: rng.gen_range(0.3..2.0),
                });
            }
        }
        let mut departments = Vec::new();
        let mut by_node = Vec::new();
        for node in &nodes {
            let place = divisions::full_name(&node.region).unwrap_or_default();
            let mut kinds: Vec<usize> = (0..KINDS.len()).collect();
            kinds.shuffle(&mut rng);
            kinds.truncate(rng.gen_range(16..=KINDS.len()));
            kinds.sort_unstable();
            let mut mine = Vec::new();
            for k in kinds {
                mine.push(departments.len());
                departments.push(Department {
                    id: format!("{}-{}", node.region, KINDS[k].slug),
                    name: format!("{place}{}", KINDS[k].name),
                    uscc: uscc(&node.region, departments.len() as u64 + 1),
                    kind: k,
                });
            }
            by_node.push(mine);
        }
        let mut total = 0.0;
        let cumulative = nodes
            .iter()
            .map(|n| {
                total += n.weight;
                total
            })
            .collect();
        World { nodes, departments, by_node, cumulative }
    }

    fn pick_node(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = *self.cumulative.last().expect("nodes");
        let x = rng.gen_range(0.0..total);
        self.cumulative.partition_point(|c| *c <= x).min(self.nodes.len() - 1)
    }
}

/// Street-level place names of a region, for names like 西湖区北山街道….
fn streets_of(region: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for county in divisions::children(region) {
        if !county.is_placeholder() {
            out.push(county.name);
        }
    }
    if out.is_empty() {
        out.push("本级");
    }
    out
}

/// What the generator produced for one entry.
pub struct Generated {
    pub draft: EntryDraft,
    pub status: EntryStatus,
    pub version: u32,
    pub updated_at: OffsetDateTime,
}

pub struct Generator<'w> {
    pub world: &'w World,
    rng: ChaCha8Rng,
    sequences: HashMap<(usize, String), u32>,
    streets: HashMap<usize, Vec<&'static str>>,
    pub items_total: u64,
}

impl<'w> Generator<'w> {
    pub fn new(world: &'w World, seed: u64) -> Self {
        Generator {
            world,
            rng: ChaCha8Rng::seed_from_u64(seed),
            sequences: HashMap::new(),
            streets: HashMap::new(),
            items_total: 0,
        }
    }

    /// The next searchable document of the federation's catalog.
    pub fn next_doc(&mut self) -> SearchDoc {
        let node = self.world.pick_node(&mut self.rng);
        let depts = &self.world.by_node[node];
        let d = depts[self.rng.gen_range(0..depts.len())];
        let dept = &self.world.departments[d];
        let g = self.entry(dept.kind, node, (&dept.id, &dept.uscc, &dept.name), None);
        let key = (node, g.draft.classification.code());
        let seq = self.sequences.entry(key).or_insert(0);
        *seq += 1;
        let code = ResourceCode::new(g.draft.classification.clone(), *seq).expect("valid generated code");
        let n = &self.world.nodes[node];
        let created_at = g.updated_at - Duration::days(self.rng.gen_range(0..900));
        let published = g.status == EntryStatus::Published;
        SearchDoc {
            entry: CatalogEntry {
                code,
                version: g.version,
                status: g.status,
                grade: g.draft.grade(),
                created_by: ActorRef { user_id: format!("u-{}", dept.id), department_id: dept.id.clone() },
                submitted_by: (g.status != EntryStatus::Draft)
                    .then(|| ActorRef { user_id: format!("u-{}", dept.id), department_id: dept.id.clone() }),
                created_at,
                updated_at: g.updated_at,
                published_on: published.then(|| g.updated_at.date()),
                metadata: g.draft,
            },
            node_id: n.id.clone(),
            node_name: n.name.clone(),
            region: n.region.clone(),
            provider_name: dept.name.clone(),
        }
    }

    /// An entry of a department of `kind` at `node`: its draft, lifecycle
    /// status and version.
    ///
    /// With `combo` (the department's n-th registration), subject, aspect
    /// and a qualifier are enumerated rather than drawn, so that one
    /// department's entries have distinct names, as a real department's do.
    pub fn entry(
        &mut self,
        kind: usize,
        node: usize,
        dept: (&str, &str, &str),
        combo: Option<usize>,
    ) -> Generated {
        let (dept_id, dept_uscc, dept_name) = dept;
        let rng = &mut self.rng;
        let k = &KINDS[kind];
        let (subject_index, aspect_index, qualifier) = match combo {
            Some(i) => {
                let (s, a) = (k.subjects.len(), ASPECTS.len());
                (i % s, (i / s) % a, Some(QUALIFIERS[(i / (s * a)) % QUALIFIERS.len()]))
            }
            None => (rng.gen_range(0..k.subjects.len()), rng.gen_range(0..ASPECTS.len()), None),
        };
        let subject = k.subjects[subject_index];
        let (aspect, aspect_items) = ASPECTS[aspect_index];
        let region = &self.world.nodes[node].region;
        let streets = self.streets.entry(node).or_insert_with(|| streets_of(region));
        let core = CORE.contains(&subject) && rng.gen_bool(0.3) || rng.gen_bool(0.002);
        let important =
            !core && (IMPORTANT.contains(&subject) || k.key_grade == Grade::IMPORTANT || rng.gen_bool(0.03));
        let status = match rng.gen_range(0..100) {
            0..=5 => EntryStatus::Draft,
            6..=9 => EntryStatus::Submitted,
            10..=11 => EntryStatus::Returned,
            12..=14 => EntryStatus::Approved,
            _ => EntryStatus::Published,
        };
        let ungraded = status == EntryStatus::Draft && rng.gen_bool(0.4);

        // Items: the key items, the subject's number, the aspect's, extras;
        // 3–11 of them, 6.67 on average.
        let want = 3 + rng.gen_range(0..=7) + usize::from(rng.gen_bool(1.0 / 6.0));
        let mut pool: Vec<(String, ItemType, Option<u32>, Grade)> = Vec::with_capacity(16);
        let key_grade = if core {
            Grade::CORE
        } else if important {
            Grade::IMPORTANT
        } else {
            k.key_grade
        };
        for (name, t, len) in k.keys {
            pool.push(((*name).to_owned(), *t, *len, key_grade));
        }
        pool.push((format!("{subject}业务编号"), C, Some(32), Grade::general(1)));
        for (name, t, len) in aspect_items {
            pool.push(((*name).to_owned(), *t, *len, Grade::general(1)));
        }
        let mut extras: Vec<&Item> = EXTRAS.iter().collect();
        extras.shuffle(rng);
        for (name, t, len) in extras.into_iter().take(6) {
            pool.push(((*name).to_owned(), *t, *len, Grade::general(rng.gen_range(1..=2))));
        }
        let mut seen = std::collections::HashSet::new();
        pool.retain(|(name, ..)| seen.insert(name.clone()));
        pool.truncate(want);
        let items: Vec<InfoItem> = pool
            .into_iter()
            .map(|(name, t, len, grade)| {
                let sensitivity = match name.as_str() {
                    "公民身份号码" => Some(SensitivityCategory::IdentityNumber),
                    "姓名" | "学生姓名" => Some(SensitivityCategory::PersonName),
                    "联系电话" | "电子邮箱" => Some(SensitivityCategory::Contact),
                    "户籍地址" | "详细地址" => Some(SensitivityCategory::Address),
                    "出生日期" => Some(SensitivityCategory::BirthDate),
                    _ => None,
                };
                let grade = match sensitivity {
                    Some(_) if grade < Grade::general(3) => Grade::general(3),
                    _ => grade,
                };
                InfoItem {
                    grade: (!ungraded).then_some(grade),
                    sensitivity,
                    scale: matches!(t, F).then_some(2).filter(|_| len.is_some()),
                    ..InfoItem::new(name, t, len)
                }
            })
            .collect();
        self.items_total += items.len() as u64;

        let classification = match (k.base, rng.gen_range(0..10)) {
            (_, 0..=1) => {
                let theme = rng.gen_range(0..k.themes.len()) as u16;
                Classification::new(TopClass::Theme, (kind % 20) as u8 + 1, Some(theme + 1), None)
            }
            (Some(_), _) if aspect == "电子证照" => {
                Classification::new(TopClass::Base, 5, Some(subject_index as u16 + 1), None)
            }
            (Some(section), 2..=6) => {
                Classification::new(TopClass::Base, section, Some(subject_index as u16 + 1), None)
            }
            _ => Classification::new(
                TopClass::Department,
                kind as u8 + 1,
                Some(subject_index as u16 + 1),
                None,
            ),
        };
        let personal = items.iter().any(|i| i.grade.is_some_and(|g| g >= Grade::general(3)));
        let sensitive = core || important;
        let (share_type, share_condition, legal_basis) = match (sensitive, rng.gen_range(0..20)) {
            (_, 0..=1) | (true, 2..=5) => {
                (ShareType::NotShared, None, Some(LEGAL_BASES.choose(rng).expect("bases").to_string()))
            }
            (true, _) | (_, 6..=12) => (
                ShareType::Conditional,
                Some(format!("仅限依法履行{subject}相关职责的部门使用，不得转授他人")),
                None,
            ),
            _ => (ShareType::Unconditional, None, None),
        };
        let (open_type, open_condition) = match (share_type, sensitive || personal, rng.gen_range(0..10)) {
            (ShareType::NotShared, _, _) | (_, true, _) => (OpenType::NotOpen, None),
            (_, false, 0..=4) => (OpenType::Unconditional, None),
            (_, false, 5..=7) => {
                (OpenType::Conditional, Some("经实名认证并签署数据使用协议后开放".to_owned()))
            }
            _ => (OpenType::NotOpen, None),
        };
        let (format_class, format_type) = *FORMATS.choose(rng).expect("formats");
        let share_modes = match share_type {
            ShareType::NotShared => Vec::new(),
            _ => [
                vec![ShareMode::Api],
                vec![ShareMode::Api, ShareMode::Table],
                vec![ShareMode::File],
                vec![ShareMode::Table],
            ]
            .choose(rng)
            .expect("modes")
            .clone(),
        };
        let update_cycle = *CYCLES.choose(rng).expect("cycles");
        let street = *streets.choose(rng).expect("streets");
        let year = rng.gen_range(2012..=2025);
        let name = match (qualifier, rng.gen_range(0..10)) {
            (Some(q), _) => format!("{subject}{aspect}{q}"),
            (None, 0..=5) => format!("{subject}{aspect}"),
            (None, 6..=7) => format!("{street}{subject}{aspect}"),
            (None, 8) => format!("{year}年度{subject}{aspect}"),
            (None, _) => format!("{subject}{aspect}表"),
        };
        let use_case = *USES.choose(rng).expect("uses");
        let item_list: Vec<&str> = items.iter().take(3).map(|i| i.name.as_str()).collect();
        let summary = match rng.gen_range(0..4) {
            0 => format!(
                "{dept_name}在{subject}工作中形成的{name}，包括{}等信息项，{}更新，覆盖{street}等辖区。",
                item_list.join("、"),
                update_cycle.label_zh()
            ),
            1 => format!(
                "记录{subject}{aspect}，数据来源于{subject}管理信息系统，自{year}年起累计，{}更新，供各级政务部门依法共享使用。",
                update_cycle.label_zh()
            ),
            2 => format!("本资源汇集{dept_name}{subject}{aspect}，可用于{use_case}等场景。"),
            _ => format!(
                "{subject}{aspect}数据，含{}，支撑{use_case}，{}更新。",
                item_list.join("、"),
                update_cycle.label_zh()
            ),
        };
        let mut keywords = vec![subject.to_owned(), aspect.to_owned()];
        let n_themes = rng.gen_range(1..=k.themes.len().min(3));
        for theme in k.themes.choose_multiple(rng, n_themes) {
            if !keywords.iter().any(|w| w == theme) {
                keywords.push((*theme).to_owned());
            }
        }
        let version = match status {
            EntryStatus::Published => *[1, 1, 1, 1, 1, 2, 2, 3].choose(rng).expect("versions"),
            _ => *[1, 1, 1, 2].choose(rng).expect("versions"),
        };
        let base = OffsetDateTime::from_unix_timestamp(1_514_764_800).expect("2018"); // 2018-01-01
        let updated_at = base + Duration::seconds(rng.gen_range(0..(8 * 365 * 86_400)));
        Generated {
            draft: EntryDraft {
                classification,
                name,
                summary,
                keywords,
                provider: Provider { department_id: dept_id.to_owned(), uscc: dept_uscc.to_owned() },
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
                system_id: None,
                resources: Vec::new(),
            },
            status,
            version,
            updated_at,
        }
    }
}
