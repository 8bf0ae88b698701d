//! `govdata ledger …`: offline checks of the node's tamper-evident ledger,
//! proofs for third parties, and witnessing a child node's checkpoints.
//!
//! `verify` and `witness` exit non-zero when they find (or refuse) something,
//! so scripts and monitoring can act on the exit status alone.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Subcommand;
use govdata_ledger::hash::{proof_from_hex, to_hex, HashAlg};
use govdata_ledger::note::{Checkpoint, VerifierKey};
use govdata_ledger::witness::Witness;
use govdata_server::routes::ledger::{ConsistencyProof, EntryView, InclusionProof, LedgerKeys};
use govdata_server::Config;
use serde_json::json;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Recompute the tree from every stored entry and check every stored
    /// checkpoint and its signature; exit non-zero naming the first entry
    /// where history diverges.
    Verify,
    /// Print an entry with its inclusion proof and a signed checkpoint, as
    /// JSON any RFC 6962/9162 verifier can check.
    Prove {
        /// Entry index.
        index: u64,
        /// Prove against the checkpoint made at this size (default: the
        /// latest, made now if the tree grew).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Print the current signed checkpoint (made now if the tree grew).
    Checkpoint,
    /// Print the ledger's origin, hash and verifier keys as JSON.
    Key,
    /// Cosign a child node's checkpoint with this node's key, refusing one
    /// inconsistent with the last checkpoint cosigned for that log; prints
    /// the cosignature line.
    Witness {
        /// The child's note verifier key (`name+hexid+base64`, from its
        /// `GET /api/v1/ledger/key` or `govdata ledger key`).
        #[arg(long)]
        log_key: String,
        /// File holding the child's signed checkpoint.
        #[arg(long)]
        checkpoint: PathBuf,
        /// File holding the consistency proof from the last cosigned size,
        /// as the child's `GET /api/v1/ledger/proof/consistency` returns it.
        #[arg(long)]
        proof: Option<PathBuf>,
        /// The child's ledger hash (default: this node's).
        #[arg(long)]
        hash: Option<HashAlg>,
    },
}

pub async fn run(config: &Config, command: LedgerCommand) -> anyhow::Result<()> {
    let (store, node) = govdata_server::open(config).await?;
    match command {
        LedgerCommand::Verify => {
            println!("verifying ledger {} ({})", store.ledger_origin(), store.ledger_hash());
            let keys = govdata_server::federation::keys::all_keys(&store, &node)
                .await?
                .iter()
                .map(|key| {
                    govdata_server::federation::signature::verifying_key(key).context("a stored node key")
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let outcome = store
                .audit_ledger(&keys, |checked| {
                    if checked % (1 << 20) < 4096 {
                        eprintln!("… {checked} entries checked");
                    }
                })
                .await?;
            match outcome {
                Ok(report) => {
                    println!(
                        "entries:     {} (leaf hashes, payload digests and {} tree nodes recomputed)",
                        report.size, report.nodes
                    );
                    println!("root:        {}", to_hex(&report.root));
                    match &report.latest_checkpoint {
                        Some(cp) => println!(
                            "checkpoints: {} verified, latest at size {}",
                            report.checkpoints, cp.size
                        ),
                        None => println!("checkpoints: none stored yet"),
                    }
                    println!("OK: the stored history is consistent with every signed checkpoint");
                    Ok(())
                }
                Err(finding) => {
                    println!("DIVERGED at entry {}: {finding}", finding.index());
                    bail!("ledger history diverges at entry {}", finding.index())
                }
            }
        }
        LedgerCommand::Prove { index, size } => {
            let checkpoint = match size {
                None => store.checkpoint(&node.key).await?,
                Some(size) => match store.checkpoint_at(size).await? {
                    Some(cp) => cp,
                    None => {
                        let latest = store.latest_checkpoint().await?.map(|cp| cp.size);
                        bail!("no checkpoint was made at size {size} (latest: {latest:?}); omit --size to use the latest")
                    }
                },
            };
            if index >= checkpoint.size {
                bail!("entry {index} is not covered by the checkpoint of size {}", checkpoint.size);
            }
            let entry = store.ledger_entry(index).await?;
            let hashes = store.inclusion_proof(index, checkpoint.size).await?;
            let keys = keys(&store, &node.key);
            let proof = InclusionProof {
                index,
                size: checkpoint.size,
                hashes: govdata_ledger::hash::proof_to_hex(&hashes),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "log": { "origin": keys.origin, "hash": keys.hash, "verifier_key": keys.verifier_key },
                    "entry": EntryView::from(entry),
                    "inclusion_proof": proof,
                    "checkpoint": checkpoint.note,
                }))?
            );
            Ok(())
        }
        LedgerCommand::Checkpoint => {
            print!("{}", store.checkpoint(&node.key).await?.note);
            Ok(())
        }
        LedgerCommand::Key => {
            println!("{}", serde_json::to_string_pretty(&keys(&store, &node.key))?);
            Ok(())
        }
        LedgerCommand::Witness { log_key, checkpoint, proof, hash } => {
            let log_key = VerifierKey::parse(log_key.trim()).context("--log-key")?;
            let note = std::fs::read_to_string(&checkpoint)
                .with_context(|| format!("reading {}", checkpoint.display()))?;
            let (presented, _) = Checkpoint::open(&note, std::slice::from_ref(&log_key))
                .context("the checkpoint does not verify")?;
            let last = store.witnessed(&presented.origin).await?.map(|w| w.checkpoint);
            let hashes = match proof {
                None => Vec::new(),
                Some(path) => read_proof(&path, last.as_ref(), &presented)?,
            };
            let witness = Witness::new(
                store.ledger_origin(),
                node.key.clone(),
                hash.unwrap_or(store.ledger_hash()),
                vec![log_key],
            )?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let (cosigned, line) = match witness.witness(last.as_ref(), &note, &hashes, now) {
                Ok(done) => done,
                Err(refusal) => {
                    let last_size = last.as_ref().map_or(0, |cp| cp.size);
                    println!("REFUSED: {refusal} (last cosigned size for {}: {last_size})", presented.origin);
                    bail!("refused to cosign {} at size {}", presented.origin, presented.size)
                }
            };
            store.record_cosigned(&operator(), last.as_ref(), &cosigned, &note, &line).await?;
            print!("{line}");
            Ok(())
        }
    }
}

fn keys(store: &govdata_store::Store, key: &govdata_ledger::ed25519_dalek::SigningKey) -> LedgerKeys {
    let public = key.verifying_key();
    LedgerKeys {
        origin: store.ledger_origin().to_owned(),
        hash: store.ledger_hash().to_string(),
        verifier_key: store.ledger_verifier_key(&public).to_string(),
        witness_key: store.witness_verifier_key(&public).to_string(),
    }
}

/// Reads a consistency proof (as the child serves it) and checks it spans
/// from the last cosigned size to the presented one, so a mismatch is named
/// as such rather than as a failed proof.
fn read_proof(
    path: &PathBuf,
    last: Option<&Checkpoint>,
    presented: &Checkpoint,
) -> anyhow::Result<Vec<[u8; 32]>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let proof: ConsistencyProof = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a consistency proof", path.display()))?;
    let from = last.map_or(0, |cp| cp.size);
    if (proof.from, proof.to) != (from, presented.size) {
        bail!(
            "the proof runs from size {} to {}, but this node last cosigned size {from} and the checkpoint has size {}",
            proof.from,
            proof.to,
            presented.size
        );
    }
    Ok(proof_from_hex(&proof.hashes)?)
}

/// How this command appears in the ledger, like the admin commands.
fn operator() -> String {
    let login =
        std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "operator".into());
    format!("cli:{login}")
}
