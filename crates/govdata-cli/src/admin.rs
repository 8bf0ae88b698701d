//! Operator commands on the local node's store. They apply the same input
//! rules as the HTTP API (the request types' `validate`), skip the role
//! policy (the operator holds the node's files), and are recorded in the
//! ledger as `cli:<login>`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use govdata_model::org::Role;
use govdata_server::routes::org::{DepartmentRequest, SystemRequest};
use govdata_server::routes::users::{ApiKeyRequest, UserRequest};
use govdata_server::Config;
use govdata_store::{NewSystem, Store};
use serde::Serialize;

pub fn actor() -> String {
    let login =
        std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "operator".into());
    format!("cli:{login}")
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    Ok(govdata_server::open(config).await?.0)
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads a password from a file, or from standard input when the path is `-`.
fn read_password(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

pub fn http_error(err: govdata_server::error::HttpError) -> anyhow::Error {
    match err.field {
        Some(field) => anyhow::anyhow!("{field}: {}", err.message),
        None => anyhow::anyhow!(err.message),
    }
}

#[derive(Args)]
pub struct InitArgs {
    /// Name of the node's first department (usually the data authority).
    #[arg(long)]
    department_name: String,
    /// Its unified social credit code.
    #[arg(long)]
    department_uscc: String,
    /// Its GB/T 2260 region code (defaults to the node's region).
    #[arg(long)]
    department_region: Option<String>,
    #[arg(long, default_value = "admin")]
    admin_username: String,
    /// File holding the administrator's password; `-` reads standard input.
    #[arg(long)]
    admin_password_file: PathBuf,
}

pub async fn init(config: &Config, args: InitArgs) -> anyhow::Result<()> {
    let store = open(config).await?;
    if !store.departments().await?.is_empty() {
        bail!("this node is already initialised (it has departments); use the department and user commands");
    }
    let (new, warnings) = DepartmentRequest {
        name: args.department_name,
        uscc: args.department_uscc,
        region: args.department_region.unwrap_or_else(|| config.node.region.clone()),
    }
    .validate()
    .map_err(http_error)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    let actor = actor();
    let department = store.create_department(&actor, new).await?;
    let user = UserRequest {
        username: args.admin_username,
        display_name: "系统管理员".into(),
        department_id: department.id.clone(),
        roles: vec![Role::Admin],
        password: read_password(&args.admin_password_file)?,
    }
    .validate(config.auth.min_password_length)
    .await
    .map_err(http_error)?;
    let user = store.create_user(&actor, user).await?;
    println!(
        "initialised node in {}: department {} ({}), administrator '{}'",
        config.data_dir.display(),
        department.name,
        department.id,
        user.username
    );
    Ok(())
}

#[derive(Subcommand)]
pub enum IdentityCommand {
    /// Print the node's identity as served at GET /api/v1/node (creates the key on first use).
    Show,
}

pub fn identity(config: &Config, command: IdentityCommand) -> anyhow::Result<()> {
    match command {
        IdentityCommand::Show => {
            print_json(&govdata_server::identity::NodeIdentity::load_or_create(config)?.info)
        }
    }
}

#[derive(Subcommand)]
pub enum DepartmentCommand {
    /// Register a department.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        region: String,
    },
    /// List departments as JSON.
    List,
}

pub async fn department(config: &Config, command: DepartmentCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    match command {
        DepartmentCommand::Create { name, uscc, region } => {
            let (new, warnings) = DepartmentRequest { name, uscc, region }.validate().map_err(http_error)?;
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            print_json(&store.create_department(&actor(), new).await?)
        }
        DepartmentCommand::List => print_json(&store.departments().await?),
    }
}

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Register an information system of a department.
    Create {
        #[arg(long)]
        department: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List systems as JSON.
    List {
        #[arg(long)]
        department: Option<String>,
    },
}

pub async fn system(config: &Config, command: SystemCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    match command {
        SystemCommand::Create { department, name, description } => {
            let new: NewSystem = SystemRequest { department_id: department, name, description }
                .validate()
                .map_err(http_error)?;
            print_json(&store.create_system(&actor(), new).await?)
        }
        SystemCommand::List { department } => print_json(&store.systems(department.as_deref()).await?),
    }
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        department: String,
        /// Comma-separated roles, e.g. provider,consumer.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<Role>,
        /// File holding the password; `-` reads standard input.
        #[arg(long)]
        password_file: PathBuf,
    },
    /// List accounts as JSON.
    List {
        #[arg(long)]
        department: Option<String>,
    },
    /// Replace an account's roles.
    Roles {
        username: String,
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<Role>,
    },
    /// Clear a lockout.
    Unlock { username: String },
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Re-enable a disabled account.
    Enable { username: String },
}

pub async fn user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let actor = actor();
    let id_of = |username: String| {
        let store = store.clone();
        async move { Ok::<_, anyhow::Error>(store.user_by_username(&username).await?.user.id) }
    };
    match command {
        UserCommand::Create { username, display_name, department, roles, password_file } => {
            let password = read_password(&password_file)?;
            let new = UserRequest { username, display_name, department_id: department, roles, password }
                .validate(config.auth.min_password_length)
                .await
                .map_err(http_error)?;
            print_json(&store.create_user(&actor, new).await?)
        }
        UserCommand::List { department } => print_json(&store.users(department.as_deref()).await?),
        UserCommand::Roles { username, roles } => {
            print_json(&store.set_user_roles(&actor, &id_of(username).await?, &roles).await?)
        }
        UserCommand::Unlock { username } => {
            print_json(&store.unlock_user(&actor, &id_of(username).await?).await?)
        }
        UserCommand::Disable { username } => {
            print_json(&store.set_user_disabled(&actor, &id_of(username).await?, true).await?)
        }
        UserCommand::Enable { username } => {
            print_json(&store.set_user_disabled(&actor, &id_of(username).await?, false).await?)
        }
    }
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key; the secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        department: String,
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<Role>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a department's keys as JSON.
    List {
        #[arg(long)]
        department: Option<String>,
    },
    /// Revoke a key by id.
    Revoke { id: String },
}

pub async fn api_key(config: &Config, command: ApiKeyCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    match command {
        ApiKeyCommand::Create { name, department, roles, expires_in_days } => {
            let (new, secret) = ApiKeyRequest {
                name,
                department_id: None,
                roles,
                expires_in_days,
                allowed_networks: Vec::new(),
            }
            .validate(department)
            .map_err(http_error)?;
            let key = store.create_api_key(&actor(), new).await?;
            print_json(&serde_json::json!({"key": key, "secret": secret}))
        }
        ApiKeyCommand::List { department } => print_json(&store.api_keys(department.as_deref()).await?),
        ApiKeyCommand::Revoke { id } => print_json(&store.revoke_api_key(&actor(), &id).await?),
    }
}
