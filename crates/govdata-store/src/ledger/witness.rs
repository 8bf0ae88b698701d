//! Witness state: per witnessed log (a child's origin), the last checkpoint
//! this node cosigned. The decision to cosign is `govdata_ledger::witness`'s;
//! this keeps its memory, and makes two concurrent cosignings for one log
//! impossible to both succeed (the second finds the state moved and fails).

use govdata_ledger::note::Checkpoint;
use serde_json::json;
use sqlx::Row;

use super::to_hash;
use crate::{timestamp, Result, Store, StoreError};

/// The last checkpoint cosigned for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The log's signed note as presented.
    pub signed_note: String,
    /// The cosignature line this node added.
    pub cosignature: String,
    pub cosigned_at: String,
}

impl Store {
    /// The last checkpoint this node cosigned for `origin`.
    pub async fn witnessed(&self, origin: &str) -> Result<Option<WitnessedCheckpoint>> {
        let Some(row) = sqlx::query(
            "SELECT size, root, checkpoint, cosignature, cosigned_at FROM ledger_witnessed WHERE origin = $1",
        )
        .bind(origin)
        .fetch_optional(self.read())
        .await?
        else {
            return Ok(None);
        };
        let size: i64 = row.try_get("size")?;
        Ok(Some(WitnessedCheckpoint {
            checkpoint: Checkpoint::new(origin, size as u64, to_hash(row.try_get("root")?)?),
            signed_note: row.try_get("checkpoint")?,
            cosignature: row.try_get("cosignature")?,
            cosigned_at: row.try_get("cosigned_at")?,
        }))
    }

    /// Records that this node cosigned `new` (presented as `signed_note`,
    /// cosignature line `cosignature`) after checking it against `previous`,
    /// the state [`Store::witnessed`] returned. Fails with a conflict if that
    /// state changed meanwhile, so a decision is never made on stale state.
    pub async fn record_cosigned(
        &self,
        actor: &str,
        previous: Option<&Checkpoint>,
        new: &Checkpoint,
        signed_note: &str,
        cosignature: &str,
    ) -> Result<()> {
        let moved = || {
            StoreError::Conflict(format!(
                "the cosigned checkpoint of {} changed while this one was checked; try again",
                new.origin
            ))
        };
        let now = timestamp::now();
        let mut tx = self.begin(actor).await?;
        match previous {
            None => {
                sqlx::query(
                    "INSERT INTO ledger_witnessed (origin, size, root, checkpoint, cosignature, cosigned_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(new.origin.as_str())
                .bind(new.size as i64)
                .bind(new.root.as_slice())
                .bind(signed_note)
                .bind(cosignature)
                .bind(now.as_str())
                .execute(tx.conn())
                .await
                .map_err(|e| match StoreError::unique(e, "") {
                    StoreError::Conflict(_) => moved(),
                    other => other,
                })?;
            }
            Some(previous) => {
                let updated = sqlx::query(
                    "UPDATE ledger_witnessed SET size = $1, root = $2, checkpoint = $3, cosignature = $4, \
                     cosigned_at = $5 WHERE origin = $6 AND size = $7 AND root = $8",
                )
                .bind(new.size as i64)
                .bind(new.root.as_slice())
                .bind(signed_note)
                .bind(cosignature)
                .bind(now.as_str())
                .bind(new.origin.as_str())
                .bind(previous.size as i64)
                .bind(previous.root.as_slice())
                .execute(tx.conn())
                .await?;
                if updated.rows_affected() != 1 {
                    return Err(moved());
                }
            }
        }
        tx.record(
            "ledger.cosign",
            &new.origin,
            json!({ "origin": new.origin, "size": new.size, "root": hex::encode(new.root), "cosignature": cosignature }),
        );
        tx.commit().await?;
        Ok(())
    }
}
