//! `govdata demo`: a small federation on one machine — the national hub, two
//! provincial nodes and a department node under Guangdong, each with its own
//! data directory and port — seeded with a realistic organisation built from
//! the real division codes, users for every role, an application API key,
//! and synthetic base-library rows. Each child joins its parent with a join
//! token over HTTP, as a real node would, and its catalog cascades up, so the
//! national search shows every node's entries. Credentials go to
//! `<data-dir>/demo-credentials.json`. A second run on the same directory
//! serves what is there without seeding or joining again.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use govdata_lake::read::Lake;
use govdata_lake::service::Resources;
use govdata_model::org::{Level, Role};
use govdata_model::validate::divisions;
use govdata_server::config::NATIONAL_REGION;
use govdata_server::federation;
use govdata_server::identity::NodeIdentity;
use govdata_server::routes::org::{DepartmentRequest, SystemRequest};
use govdata_server::routes::users::{ApiKeyRequest, UserRequest};
use govdata_server::Config;
use govdata_store::{postgres_server, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::demo_catalog::{self, CatalogCounts, ProviderDepartment};
use crate::demo_lake::{self, DemoLibrary};
use crate::demo_sharing::{self, DemoSharing};
use crate::synth::{self, Enterprise, Generator, Person};

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo nodes keep their data.
    #[arg(long, default_value = "govdata-demo")]
    data_dir: PathBuf,
    /// Port of the national hub; the provincial nodes take the next ones.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed of every generated value.
    #[arg(long, default_value_t = 2022)]
    seed: u64,
    /// Synthetic persons in the national population base library.
    #[arg(long, default_value_t = 100_000)]
    persons: usize,
    /// Synthetic enterprises in the national legal-entity base library.
    #[arg(long, default_value_t = 20_000)]
    enterprises: usize,
    /// Catalog entries at the national hub (four in five get published); each
    /// provincial node gets a quarter as many, the department node an eighth.
    #[arg(long, default_value_t = 1300)]
    catalog_entries: usize,
    /// Seed the data directory and exit without serving.
    #[arg(long)]
    seed_only: bool,
    /// Keep the nodes' stores on this PostgreSQL server instead of SQLite:
    /// each node gets its own database, named after this URL's with the
    /// node's id appended (`…/govdata_demo` → `govdata_demo_national`,
    /// `govdata_demo_guangdong_police`…), created when missing. The lake
    /// stays under the data directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// One demo node: who it is and which departments it has.
struct NodePlan {
    slug: &'static str,
    name: &'static str,
    level: Level,
    region: &'static str,
    /// Slug of the parent node; none at the national hub.
    parent: Option<&'static str>,
    /// Department names with a short ASCII slug for usernames; the first is
    /// the data authority (数据主管部门).
    departments: &'static [(&'static str, &'static str)],
}

const NATIONAL_DEPARTMENTS: &[(&str, &str)] = &[
    ("国家数据局", "data"),
    ("公安部", "gongan"),
    ("民政部", "minzheng"),
    ("国家市场监督管理总局", "shichang"),
    ("人力资源和社会保障部", "renshe"),
    ("国家卫生健康委员会", "weijian"),
    ("自然资源部", "ziran"),
    ("生态环境部", "shengtai"),
    ("国家税务总局", "shuiwu"),
    ("教育部", "jiaoyu"),
];

const GUANGDONG_DEPARTMENTS: &[(&str, &str)] = &[
    ("广东省政务服务和数据管理局", "data"),
    ("广东省公安厅", "gongan"),
    ("广东省民政厅", "minzheng"),
    ("广东省市场监督管理局", "shichang"),
    ("广东省人力资源和社会保障厅", "renshe"),
    ("广东省卫生健康委员会", "weijian"),
    ("广东省自然资源厅", "ziran"),
    ("国家税务总局广东省税务局", "shuiwu"),
];

const ZHEJIANG_DEPARTMENTS: &[(&str, &str)] = &[
    ("浙江省数据局", "data"),
    ("浙江省公安厅", "gongan"),
    ("浙江省民政厅", "minzheng"),
    ("浙江省市场监督管理局", "shichang"),
    ("浙江省人力资源和社会保障厅", "renshe"),
    ("浙江省卫生健康委员会", "weijian"),
    ("浙江省生态环境厅", "shengtai"),
    ("国家税务总局浙江省税务局", "shuiwu"),
];

const GUANGDONG_POLICE_DEPARTMENTS: &[(&str, &str)] =
    &[("广东省公安厅科技信息化总队", "data"), ("广东省公安厅治安管理局", "gongan")];

const NODES: &[NodePlan] = &[
    NodePlan {
        slug: "national",
        name: "国家政务数据共享平台",
        level: Level::National,
        region: NATIONAL_REGION,
        parent: None,
        departments: NATIONAL_DEPARTMENTS,
    },
    NodePlan {
        slug: "guangdong",
        name: "广东省政务大数据平台",
        level: Level::Provincial,
        region: "440000",
        parent: Some("national"),
        departments: GUANGDONG_DEPARTMENTS,
    },
    NodePlan {
        slug: "zhejiang",
        name: "浙江省公共数据平台",
        level: Level::Provincial,
        region: "330000",
        parent: Some("national"),
        departments: ZHEJIANG_DEPARTMENTS,
    },
    NodePlan {
        slug: "guangdong-police",
        name: "广东省公安厅数据共享平台",
        level: Level::Department,
        region: "440000",
        parent: Some("guangdong"),
        departments: GUANGDONG_POLICE_DEPARTMENTS,
    },
];

fn port_of(args: &DemoArgs, slug: &str) -> anyhow::Result<u16> {
    let index = NODES.iter().position(|plan| plan.slug == slug).context("a demo node")?;
    args.port.checked_add(index as u16).context("--port leaves no room for the other nodes")
}

/// The information systems (政务信息系统) each kind of department runs.
fn systems_of(slug: &str) -> &'static [(&'static str, &'static str)] {
    match slug {
        "data" => &[("政务数据共享交换平台", "承担目录编制、供需对接和数据共享交换")],
        "gongan" => &[
            ("人口信息管理系统", "常住人口、户籍登记与变更"),
            ("出入境管理信息系统", "出入境证件签发与查验"),
        ],
        "minzheng" => {
            &[("婚姻登记信息系统", "结婚、离婚登记"), ("社会救助信息系统", "低保、特困人员救助审批")]
        }
        "shichang" => &[("市场主体登记注册系统", "企业、个体工商户登记注册与年报")],
        "renshe" => {
            &[("社会保险信息系统", "参保登记、缴费与待遇发放"), ("就业服务信息系统", "失业登记、就业援助")]
        }
        "weijian" => &[("出生医学证明管理系统", "出生医学证明签发"), ("全民健康信息平台", "电子健康档案")],
        "ziran" => &[("不动产登记信息系统", "不动产权属登记"), ("国土空间基础信息平台", "国土空间规划数据")],
        "shengtai" => &[("排污许可管理信息平台", "排污许可证核发与执行报告")],
        "shuiwu" => &[("金税工程", "税收征管、发票管理")],
        "jiaoyu" => &[("学籍管理信息系统", "中小学生学籍")],
        _ => &[],
    }
}

/// Everything a person needs to try the demo; written as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub seed: u64,
    pub nodes: Vec<NodeCredentials>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NodeCredentials {
    pub id: String,
    pub name: String,
    pub level: Level,
    pub region: String,
    pub url: String,
    pub data_dir: PathBuf,
    pub users: Vec<DemoUser>,
    pub api_keys: Vec<DemoApiKey>,
    /// The synthetic base-library files (CSV, UTF-8) and their row counts.
    pub base_library: Vec<DemoFile>,
    /// The base-library tables loaded from those files, with their resources.
    pub libraries: Vec<DemoLibrary>,
    /// How many catalog entries were seeded, by lifecycle state.
    pub catalog: CatalogCounts,
    /// Share applications by status, and the grants to try at the gateway
    /// (`POST /api/v1/gateway/grants/{grant_id}/lookup` with the API key).
    pub sharing: DemoSharing,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DemoUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub department: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DemoApiKey {
    pub name: String,
    pub department: String,
    pub roles: Vec<Role>,
    pub key: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DemoFile {
    pub library: String,
    pub path: PathBuf,
    pub rows: usize,
}

async fn node_config(args: &DemoArgs, plan: &NodePlan) -> anyhow::Result<Config> {
    let mut config = Config { data_dir: args.data_dir.join(plan.slug), ..Config::default() };
    if let Some(server) = &args.database_url {
        let base = postgres_server::database_name(server).context("--database-url")?;
        let name = format!("{base}_{}", plan.slug.replace('-', "_"));
        let url = postgres_server::ensure_database(server, &name)
            .await
            .with_context(|| format!("creating the database of node {}", plan.slug))?;
        config.database.url = Some(url);
    }
    config.node.id = Some(plan.slug.to_owned());
    config.node.name = plan.name.to_owned();
    config.node.level = plan.level;
    config.node.region = plan.region.to_owned();
    if let Some(parent) = plan.parent {
        config.node.parent_url = Some(format!("http://127.0.0.1:{}", port_of(args, parent)?));
    }
    config.server.listen = ([127, 0, 0, 1], port_of(args, plan.slug)?).into();
    config.validate()?;
    Ok(config)
}

pub async fn run(args: &DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let credentials_path = args.data_dir.join("demo-credentials.json");
    let mut nodes = Vec::new();
    let mut credentials = Credentials { seed: args.seed, nodes: Vec::new() };
    let already_seeded = credentials_path.exists();
    for plan in NODES {
        let config = node_config(args, plan).await?;
        let (store, identity) = govdata_server::open(&config).await?;
        if !already_seeded {
            if !store.departments().await?.is_empty() {
                let remove = match &args.database_url {
                    Some(_) => format!("drop the node databases, remove {}", args.data_dir.display()),
                    None => format!("remove {}", args.data_dir.display()),
                };
                bail!(
                    "the store of node {} holds a seeded node but {} has no demo-credentials.json; {remove} and run again",
                    plan.slug,
                    args.data_dir.display()
                );
            }
            credentials.nodes.push(seed_node(args, plan, &config, &store, &identity).await?);
        }
        nodes.push((config, store, identity));
    }
    if already_seeded {
        let text = std::fs::read_to_string(&credentials_path)?;
        credentials =
            serde_json::from_str(&text).with_context(|| format!("reading {}", credentials_path.display()))?;
    } else {
        let tmp = credentials_path.with_extension("json.tmp");
        govdata_server::secrets::write_secret_file(
            &tmp,
            serde_json::to_string_pretty(&credentials)?.as_bytes(),
        )?;
        std::fs::rename(&tmp, &credentials_path)?;
    }
    println!("govdata demo federation ({} nodes), seed {}", nodes.len(), credentials.seed);
    for node in &credentials.nodes {
        println!("  {:<24} {:<10} {}", node.name, node.level.as_str(), node.url);
    }
    println!("credentials: {}", credentials_path.display());
    if args.seed_only {
        for (_, store, _) in &nodes {
            store.close().await;
        }
        return Ok(());
    }
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut servers = tokio::task::JoinSet::new();
    let mut joiners = Vec::new();
    for (config, store, identity) in nodes {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        joiners.push((config.clone(), store.clone(), identity.clone()));
        let mut stopped = stop.subscribe();
        servers.spawn(govdata_server::serve(listener, store, identity, config, async move {
            let _ = stopped.recv().await;
        }));
    }
    join_federation(&joiners).await?;
    println!("ready");
    tokio::select! {
        () = crate::shutdown_signal() => {}
        Some(result) = servers.join_next() => result??,
    }
    let _ = stop.send(());
    while let Some(result) = servers.join_next().await {
        result??;
    }
    Ok(())
}

/// Joins each child to its parent over HTTP with a fresh join token, as an
/// operator would (`govdata federation join-token` at the parent, `govdata
/// federation join` at the child); nodes already joined are left alone.
async fn join_federation(nodes: &[(Config, Store, NodeIdentity)]) -> anyhow::Result<()> {
    let actor = "demo:seed";
    for plan in NODES {
        let Some(parent_slug) = plan.parent else { continue };
        let find = |slug: &str| {
            nodes.iter().find(|(_, _, identity)| identity.info.id == slug).context("a demo node")
        };
        let (config, store, identity) = find(plan.slug)?;
        if store.federation_parent().await?.is_some() {
            continue;
        }
        let (parent_config, parent_store, parent_identity) = find(parent_slug)?;
        let token = federation::issue_join_token(
            parent_store,
            parent_identity,
            parent_config,
            actor,
            plan.slug,
            plan.level,
            plan.region,
        )
        .await
        .map_err(crate::admin::http_error)?;
        let parent_url = parent_config.public_url();
        federation::join_parent(store, identity, config, actor, &parent_url, &token.token)
            .await
            .map_err(crate::admin::http_error)
            .with_context(|| format!("joining {} to {parent_slug}", plan.slug))?;
    }
    Ok(())
}

fn password(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let letters: String = (0..8).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    format!("{letters}-{:04}", rng.gen_range(0..10_000))
}

async fn seed_node(
    args: &DemoArgs,
    plan: &NodePlan,
    config: &Config,
    store: &Store,
    identity: &govdata_server::identity::NodeIdentity,
) -> anyhow::Result<NodeCredentials> {
    let actor = "demo:seed";
    let node_seed = args.seed ^ u64::from_le_bytes(*b"govdata\0").wrapping_mul(plan.region.parse::<u64>()?);
    let mut rng = ChaCha8Rng::seed_from_u64(node_seed);
    let mut codes = Generator::new(node_seed, None);
    let mut users = Vec::new();
    let mut departments = Vec::new();
    for (name, slug) in plan.departments {
        let (new, _) = DepartmentRequest {
            name: (*name).to_owned(),
            uscc: codes.uscc("11", plan.region),
            region: plan.region.to_owned(),
        }
        .validate()
        .map_err(crate::admin::http_error)?;
        let department = store.create_department(actor, new).await?;
        let mut first_system = None;
        for (system, description) in systems_of(slug) {
            let new = SystemRequest {
                department_id: department.id.clone(),
                name: (*system).to_owned(),
                description: (*description).to_owned(),
            }
            .validate()
            .map_err(crate::admin::http_error)?;
            let system = store.create_system(actor, new).await?;
            first_system.get_or_insert(system.id);
        }
        departments.push((department, *slug, first_system));
    }
    let authority = &departments[0].0;
    let mut seeded_users = std::collections::HashMap::new();
    let mut accounts: Vec<(String, &str, &str, Vec<Role>)> = vec![
        ("admin".into(), "系统管理员", authority.id.as_str(), vec![Role::Admin]),
        ("secadmin".into(), "安全保密管理员", authority.id.as_str(), vec![Role::SecurityAdmin]),
        ("auditor".into(), "安全审计员", authority.id.as_str(), vec![Role::Auditor]),
        ("authority".into(), "数据主管部门审核员", authority.id.as_str(), vec![Role::Authority]),
        ("analyst".into(), "数据分析员", authority.id.as_str(), vec![Role::Analyst]),
    ];
    for (department, slug, _) in &departments[1..] {
        accounts.push((
            format!("{slug}.provider"),
            "数据提供员",
            department.id.as_str(),
            vec![Role::Provider],
        ));
        accounts.push((
            format!("{slug}.consumer"),
            "数据使用员",
            department.id.as_str(),
            vec![Role::Consumer],
        ));
    }
    for (username, title, department_id, roles) in accounts {
        let department = departments.iter().find(|(d, _, _)| d.id == department_id).expect("seeded above");
        let password = password(&mut rng);
        let new = UserRequest {
            username: username.clone(),
            display_name: format!("{}{title}", department.0.name),
            department_id: department_id.to_owned(),
            roles: roles.clone(),
            password: password.clone(),
        }
        .validate(config.auth.min_password_length)
        .await
        .map_err(crate::admin::http_error)?;
        let user = store.create_user(actor, new).await?;
        seeded_users.insert(username.clone(), user.clone());
        users.push(DemoUser {
            username,
            password,
            display_name: user.display_name,
            department: department.0.name.clone(),
            roles,
        });
    }
    let renshe = departments.iter().find(|(_, slug, _)| *slug == "renshe").unwrap_or(&departments[1]);
    let (new, key) = ApiKeyRequest {
        name: "社保待遇资格认证应用".into(),
        department_id: None,
        roles: vec![Role::Consumer],
        expires_in_days: Some(365),
        allowed_networks: Vec::new(),
    }
    .validate(renshe.0.id.clone())
    .map_err(crate::admin::http_error)?;
    store.create_api_key(actor, new).await?;
    let api_keys = vec![DemoApiKey {
        name: "社保待遇资格认证应用".into(),
        department: renshe.0.name.clone(),
        roles: vec![Role::Consumer],
        key,
    }];
    let providers: Vec<ProviderDepartment<'_>> = departments[1..]
        .iter()
        .map(|(department, slug, system)| ProviderDepartment {
            department,
            slug,
            provider: &seeded_users[&format!("{slug}.provider")],
            system_id: system.clone(),
        })
        .collect();
    // Seeded through the search projection, so the node serves an index in
    // step with its store from the first request.
    let catalog_service = govdata_server::state::catalog_service(store, config, identity)?;
    let entries = match plan.level {
        Level::National => args.catalog_entries,
        Level::Department => args.catalog_entries / 8,
        _ => args.catalog_entries / 4,
    };
    let catalog =
        demo_catalog::seed(&catalog_service, &providers, &seeded_users["authority"], entries, &mut rng)
            .await?;
    let (base_library, persons, enterprises) = write_base_library(args, plan, &config.data_dir, node_seed)?;
    let resources = Resources::new(store.clone(), Lake::new(config.lake_storage()?));
    let libraries = demo_lake::seed(
        &catalog_service,
        &resources,
        &providers,
        &demo_catalog::caller(&seeded_users["authority"]),
        &persons,
        &enterprises,
        &config.data_dir,
        &mut rng,
    )
    .await?;
    let sharing = govdata_sharing::Sharing::new(
        store.clone(),
        resources.clone(),
        govdata_model::calendar::WorkingCalendar::china(),
        config.sharing.clone(),
    );
    let sharing = demo_sharing::seed(&sharing, &seeded_users, &libraries).await?;
    let identity_url = format!("http://{}", config.server.listen);
    Ok(NodeCredentials {
        id: plan.slug.to_owned(),
        name: plan.name.to_owned(),
        level: plan.level,
        region: plan.region.to_owned(),
        url: identity_url,
        data_dir: config.data_dir.clone(),
        users,
        api_keys,
        base_library,
        libraries,
        catalog,
        sharing,
    })
}

/// Writes the node's base-library rows: the whole country at the national
/// hub; a province's share (the same proportion of the counts) at a
/// provincial node, drawn from its own counties.
fn write_base_library(
    args: &DemoArgs,
    plan: &NodePlan,
    dir: &Path,
    seed: u64,
) -> anyhow::Result<(Vec<DemoFile>, Vec<Person>, Vec<Enterprise>)> {
    let (province, share) = match plan.level {
        Level::National => (None, 1.0),
        _ => {
            let counties = divisions::counties().len() as f64;
            let own = divisions::counties().iter().filter(|d| d.code[..2] == plan.region[..2]).count() as f64;
            (Some(plan.region), own / counties)
        }
    };
    let seed_dir = dir.join("seed");
    std::fs::create_dir_all(&seed_dir)?;
    let mut generator = Generator::new(seed, province);
    let persons = generator.persons((args.persons as f64 * share).ceil() as usize);
    let enterprises = generator.enterprises((args.enterprises as f64 * share).ceil() as usize);
    let persons_path = seed_dir.join("persons.csv");
    let enterprises_path = seed_dir.join("enterprises.csv");
    synth::write_csv(&persons_path, &persons)?;
    synth::write_csv(&enterprises_path, &enterprises)?;
    let files = vec![
        DemoFile { library: "人口基础库".into(), path: persons_path, rows: persons.len() },
        DemoFile { library: "法人基础库".into(), path: enterprises_path, rows: enterprises.len() },
    ];
    Ok((files, persons, enterprises))
}
