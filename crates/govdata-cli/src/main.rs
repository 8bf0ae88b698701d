//! `govdata`: one binary for every node of the federation.
//!
//! `serve` runs a node; `demo` seeds and serves a small federation; `init`
//! prepares a node's first department and administrators; the admin commands
//! (`department`, `system`, `user`, `api-key`) work directly on the node's
//! store, as the operator, with every change written to the ledger under the
//! actor `cli:<login>`.

mod admin;
mod catalog;
mod demo;
mod demo_catalog;
mod demo_lake;
mod demo_sharing;
mod federation;
mod ledger;
mod synth;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use govdata_server::config::LogConfig;
use govdata_server::Config;

/// mimalloc instead of the system allocator: a gateway call makes and frees
/// many small buffers, and glibc's malloc took a quarter of the serving
/// process's time under load (docs/PERFORMANCE.md, sharing gateway).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "govdata", version, about = "Integrated government data platform node")]
struct Cli {
    /// Configuration file (TOML); see docs/configuration.md.
    #[arg(long, short, global = true, env = "GOVDATA_CONFIG_FILE")]
    config: Option<PathBuf>,
    /// Overrides `data_dir`.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Overrides `database.url` (e.g. postgres://user@host/db).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seed and serve a demo federation (national hub and provincial nodes).
    Demo(demo::DemoArgs),
    #[command(flatten)]
    Node(NodeCommand),
}

/// Commands that act on the node the configuration describes.
#[derive(Subcommand)]
enum NodeCommand {
    /// Run the node's HTTP server.
    Serve {
        /// Overrides `server.listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Prepare a node: key, database, first department and administrator.
    Init(admin::InitArgs),
    /// This node's identity.
    Node {
        #[command(subcommand)]
        command: admin::IdentityCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The catalog (数据目录), acting as a named user.
    Catalog {
        #[command(subcommand)]
        command: catalog::CatalogCommand,
    },
    /// Departments.
    Department {
        #[command(subcommand)]
        command: admin::DepartmentCommand,
    },
    /// Information systems (政务信息系统).
    System {
        #[command(subcommand)]
        command: admin::SystemCommand,
    },
    /// User accounts and roles.
    User {
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// Application API keys.
    ApiKey {
        #[command(subcommand)]
        command: admin::ApiKeyCommand,
    },
    /// Federation with the parent and child nodes: join tokens, joining, topology.
    Federation {
        #[command(subcommand)]
        command: federation::FederationCommand,
    },
    /// The tamper-evident ledger: verify, prove, checkpoint, witness.
    Ledger {
        #[command(subcommand)]
        command: ledger::LedgerCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets redacted).
    Check,
}

/// The configuration file and environment, with command-line overrides on top.
fn load_config(
    file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
) -> anyhow::Result<Config> {
    let mut config = Config::load(file.as_deref())?;
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    if let Some(url) = database_url {
        config.database.url = Some(url);
        config.database.url_file = None;
    }
    config.validate()?;
    Ok(config)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { config: file, data_dir, database_url, command } = cli;
    let command = match command {
        Command::Demo(mut args) => {
            // The demo configures its nodes itself; its logging follows
            // GOVDATA_LOG__* like a node's. `govdata --database-url … demo`
            // means the same as `govdata demo --database-url …`.
            govdata_server::telemetry::init_logging(&LogConfig::from_env()?);
            args.database_url = args.database_url.or(database_url);
            return demo::run(&args).await;
        }
        Command::Node(command) => command,
    };
    let mut config = load_config(file, data_dir, database_url)?;
    govdata_server::telemetry::init_logging(&config.log);
    match command {
        NodeCommand::Serve { listen } => {
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let (store, node) = govdata_server::open(&config).await?;
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("binding {}", config.server.listen))?;
            println!("govdata node '{}' listening on http://{}", node.info.name, listener.local_addr()?);
            govdata_server::serve(listener, store, node, config, shutdown_signal()).await
        }
        NodeCommand::Config { command: ConfigCommand::Check } => {
            print!("{}", config.to_redacted_toml());
            eprintln!("configuration is valid");
            Ok(())
        }
        NodeCommand::Init(args) => admin::init(&config, args).await,
        NodeCommand::Node { command } => admin::identity(&config, command),
        NodeCommand::Catalog { command } => catalog::run(&config, command).await,
        NodeCommand::Department { command } => admin::department(&config, command).await,
        NodeCommand::System { command } => admin::system(&config, command).await,
        NodeCommand::User { command } => admin::user(&config, command).await,
        NodeCommand::ApiKey { command } => admin::api_key(&config, command).await,
        NodeCommand::Ledger { command } => ledger::run(&config, command).await,
        NodeCommand::Federation { command } => federation::run(&config, command).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
