//! Federation commands on this node's store: issue a join token for a child,
//! join a parent, list the topology, suspend or resume a joined node.

use anyhow::Context;
use clap::Subcommand;
use govdata_model::org::Level;
use govdata_server::federation;
use govdata_server::Config;
use govdata_store::NodeStatus;

use crate::admin::{actor, http_error};

#[derive(Subcommand)]
pub enum FederationCommand {
    /// Issue a one-time token with which a child node joins this one.
    JoinToken {
        /// The child's node id.
        #[arg(long)]
        node_id: String,
        /// The child's level (provincial, city, county, department).
        #[arg(long)]
        level: Level,
        /// The child's GB/T 2260 region code.
        #[arg(long)]
        region: String,
    },
    /// Join the parent node with the token its administrator issued.
    Join {
        /// The parent's base URL; defaults to `node.parent_url`.
        #[arg(long)]
        parent_url: Option<String>,
        /// The join token (`-` reads it from standard input).
        #[arg(long)]
        token: String,
    },
    /// The parent and children of this node.
    Nodes,
    /// Refuse a joined node's requests until resumed.
    Suspend {
        #[arg(long)]
        node_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Accept a suspended node's requests again.
    Resume {
        #[arg(long)]
        node_id: String,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(config: &Config, command: FederationCommand) -> anyhow::Result<()> {
    let (store, node) = govdata_server::open(config).await?;
    let actor = actor();
    match command {
        FederationCommand::JoinToken { node_id, level, region } => {
            let token = federation::issue_join_token(&store, &node, config, &actor, &node_id, level, &region)
                .await
                .map_err(http_error)?;
            println!("{}", serde_json::to_string_pretty(&token)?);
        }
        FederationCommand::Join { parent_url, token } => {
            let token = if token == "-" {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the token")?;
                line
            } else {
                token
            };
            let url = parent_url
                .or_else(|| config.node.parent_url.clone())
                .context("--parent-url is required: node.parent_url is not configured")?;
            let parent = federation::join_parent(&store, &node, config, &actor, &url, &token)
                .await
                .map_err(http_error)?;
            println!("joined {} ({}) at {}", parent.name, parent.id, parent.url);
        }
        FederationCommand::Nodes => {
            println!("{}", serde_json::to_string_pretty(&store.federation_nodes().await?)?);
        }
        FederationCommand::Suspend { node_id, reason } => {
            set_status(&store, &actor, &node_id, NodeStatus::Suspended, &reason).await?
        }
        FederationCommand::Resume { node_id, reason } => {
            set_status(&store, &actor, &node_id, NodeStatus::Active, &reason).await?
        }
    }
    store.close().await;
    Ok(())
}

async fn set_status(
    store: &govdata_store::Store,
    actor: &str,
    node_id: &str,
    status: NodeStatus,
    reason: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(!reason.trim().is_empty(), "--reason must not be empty");
    let node = store.set_node_status(actor, node_id, status, reason.trim()).await?;
    println!("node {} is {}", node.id, node.status.as_str());
    Ok(())
}
