//! `govdata catalog …`: the catalog from the command line. Every command acts
//! as a named user (`--as`), so the catalog's own rules (roles, provider
//! department, nobody reviews their own entry, visibility) apply unchanged;
//! the ledger shows the operator and the user (`cli:<login>/user:<name>`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use govdata_catalog::{Caller, Catalog};
use govdata_model::calendar::WorkingCalendar;
use govdata_model::catalog::{Action, ActorContext, EntryDraft, EntryStatus, ResourceCode};
use govdata_server::Config;
use govdata_store::{CatalogFilter, Store};

use crate::admin::{actor, print_json};

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// List latest versions the user may see.
    List {
        #[arg(long = "as")]
        user: String,
        /// draft, submitted, returned, approved, published, superseded, withdrawn or discarded.
        #[arg(long, value_parser = parse_status)]
        status: Option<EntryStatus>,
        #[arg(long)]
        department: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show an entry with its versions and history.
    Show {
        code: ResourceCode,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        version: Option<u32>,
    },
    /// Register a draft from a JSON file (an EntryDraft, as in the API).
    Register {
        #[arg(long)]
        file: PathBuf,
        #[arg(long = "as")]
        user: String,
    },
    /// Run the automatic checks on a draft file without storing it.
    Check {
        #[arg(long)]
        file: PathBuf,
    },
    /// Perform a lifecycle action, e.g. '{"action":"submit"}' or
    /// '{"action":"return","reasons":[{"field":"summary","reason":"…"}]}'.
    Act {
        code: ResourceCode,
        action: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        version: Option<u32>,
    },
    /// Field-level differences between two versions.
    Diff {
        code: ResourceCode,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        from: u32,
        #[arg(long)]
        to: u32,
    },
    /// Entries not published within the registration deadline.
    Overdue {
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        department: Option<String>,
    },
}

fn parse_status(text: &str) -> Result<EntryStatus, String> {
    EntryStatus::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("unknown status '{text}'"))
}

fn read_draft(path: &PathBuf) -> anyhow::Result<EntryDraft> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a catalog entry draft", path.display()))
}

async fn caller(store: &Store, username: &str) -> anyhow::Result<Caller> {
    let user = store.user_by_username(username).await?.user;
    anyhow::ensure!(!user.disabled, "user {username} is disabled");
    Ok(Caller {
        actor: format!("{}/user:{username}", actor()),
        context: ActorContext::new(user.id, user.department_id, &user.roles),
    })
}

pub async fn run(config: &Config, command: CatalogCommand) -> anyhow::Result<()> {
    let (store, _) = govdata_server::open(config).await?;
    let catalog = Catalog::new(store.clone(), WorkingCalendar::china(), config.catalog.registration_days);
    match command {
        CatalogCommand::List { user, status, department, limit } => {
            let filter = CatalogFilter { status, provider_department_id: department, limit, offset: 0 };
            print_json(&catalog.list(&caller(&store, &user).await?, filter).await?)
        }
        CatalogCommand::Show { code, user, version } => {
            print_json(&catalog.view(&caller(&store, &user).await?, &code, version).await?)
        }
        CatalogCommand::Register { file, user } => {
            print_json(&catalog.register(&caller(&store, &user).await?, read_draft(&file)?).await?)
        }
        CatalogCommand::Check { file } => {
            let report = catalog.check(None, &read_draft(&file)?, None).await?;
            print_json(&report)?;
            anyhow::ensure!(report.passed(), "the draft fails the automatic checks");
            Ok(())
        }
        CatalogCommand::Act { code, action, user, version } => {
            let action: Action =
                serde_json::from_str(&action).context("ACTION must be JSON like {\"action\":\"submit\"}")?;
            print_json(&catalog.act(&caller(&store, &user).await?, &code, version, action).await?)
        }
        CatalogCommand::Diff { code, user, from, to } => {
            print_json(&catalog.diff(&caller(&store, &user).await?, &code, from, to).await?)
        }
        CatalogCommand::Overdue { user, department } => {
            print_json(&catalog.overdue(&caller(&store, &user).await?, department.as_deref()).await?)
        }
    }
}
