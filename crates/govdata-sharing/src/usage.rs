//! Gateway usage statistics and daily quotas.
//!
//! Each call that names an existing grant is counted in memory per grant
//! and day (China Standard Time): served or refused, rows returned,
//! latency. [`Sharing::flush_usage`] adds the counts to the store every few
//! seconds (and before every usage report), so statistics survive restarts
//! and quotas start each day from what is stored. The counts are a
//! projection of the `gateway.*` ledger entries, which stay the record.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use govdata_catalog::Caller;
use govdata_model::FieldError;
use govdata_store::{UsageFilter, UsageRecord};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use crate::service::{Result, Sharing, SharingError, Side, CHINA};

/// How often counts are added to the store.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Longest usage report, in days.
pub const MAX_REPORT_DAYS: u32 = 366;

#[derive(Default)]
struct Counter {
    /// Served calls today, for the quota: what was stored when the grant was
    /// first seen today, plus every call since.
    quota_used: u64,
    /// Counts not yet added to the store.
    pending: UsageRecord,
}

/// The in-memory side of usage: per grant and day, and each grant's rate
/// limiter (with the rate it was made for, so a renewed grant's new rate
/// takes effect).
#[derive(Default)]
pub(crate) struct UsageBook {
    days: Mutex<HashMap<(String, Date), Counter>>,
    rates: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(CHINA).date()
}

fn day_text(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

impl UsageBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Date), Counter>> {
        self.days.lock().expect("usage lock is never poisoned")
    }
}

/// Usage of one grant over the days asked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GrantUsage {
    pub grant_id: String,
    pub calls: u64,
    pub refused: u64,
    pub rows_returned: u64,
    /// Mean latency of the calls, in microseconds.
    pub mean_latency_us: u64,
    pub max_latency_us: u64,
    /// Per day (`YYYY-MM-DD`, China Standard Time).
    #[schema(value_type = Vec<Object>)]
    pub days: Vec<UsageRecord>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `consumer`: grants my department holds; `provider`: grants it gave.
    pub side: Option<Side>,
    /// One grant only.
    pub grant_id: Option<String>,
    /// Days back from today, today included; 30 when absent.
    pub days: Option<u32>,
}

impl Sharing {
    /// Notes that a call named this existing grant, so its outcome is counted.
    pub(crate) fn saw_grant(&self, grant_id: &str) {
        self.usage.lock().entry((grant_id.to_owned(), today())).or_default();
    }

    /// Refuses a call beyond the grant's rate (the limiter allows a burst of
    /// one second's calls, then `rate` a second). Refused calls count
    /// nothing against the daily quota.
    pub(crate) fn take_rate(&self, grant_id: &str, rate: u32) -> Result<()> {
        let limiter = {
            let mut rates = self.usage.rates.lock().expect("rate limiters lock is never poisoned");
            match rates.get(grant_id) {
                Some((made_for, limiter)) if *made_for == rate => Arc::clone(limiter),
                _ => {
                    let per_second = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
                    let limiter = Arc::new(RateLimiter::direct(Quota::per_second(per_second)));
                    rates.insert(grant_id.to_owned(), (rate, Arc::clone(&limiter)));
                    limiter
                }
            }
        };
        limiter.check().map_err(|_| {
            SharingError::QuotaExceeded(format!(
                "grant {grant_id} allows {rate} calls per second; retry in a moment"
            ))
        })
    }

    /// Counts one served call against a daily quota, refusing it when the
    /// quota is used up.
    pub(crate) async fn take_quota(&self, grant_id: &str, quota: u64) -> Result<()> {
        let day = today();
        let key = (grant_id.to_owned(), day);
        let loaded = self.usage.lock().get(&key).is_some_and(|c| c.quota_used > 0);
        if !loaded {
            let filter = UsageFilter {
                grant_id: Some(grant_id.to_owned()),
                since_day: day_text(day),
                ..UsageFilter::default()
            };
            let stored: u64 = self.store.gateway_usage(&filter).await?.iter().map(|u| u.calls).sum();
            let mut days = self.usage.lock();
            let counter = days.entry(key.clone()).or_default();
            if counter.quota_used == 0 {
                counter.quota_used = stored;
            }
        }
        let mut days = self.usage.lock();
        let counter = days.entry(key).or_default();
        if counter.quota_used >= quota {
            return Err(SharingError::QuotaExceeded(format!(
                "grant {grant_id} has used its {quota} calls for today; the quota resets at midnight China Standard Time"
            )));
        }
        counter.quota_used += 1;
        Ok(())
    }

    /// Counts a call's outcome, if it named an existing grant.
    pub(crate) fn count_call(&self, grant_id: &str, served: bool, rows: u64, latency_us: u64) {
        let day = today();
        let mut days = self.usage.lock();
        let Some(counter) = days.get_mut(&(grant_id.to_owned(), day)) else { return };
        let pending = &mut counter.pending;
        if served {
            pending.calls += 1;
            pending.rows_returned += rows;
        } else {
            pending.refused += 1;
        }
        pending.latency_us_total += latency_us;
        pending.latency_us_max = pending.latency_us_max.max(latency_us);
    }

    /// Adds the pending counts to the store; on failure they stay pending.
    pub async fn flush_usage(&self) -> Result<()> {
        let today = today();
        let deltas: Vec<UsageRecord> = {
            let mut days = self.usage.lock();
            let deltas = days
                .iter_mut()
                .filter(|(_, c)| c.pending != UsageRecord::default())
                .map(|((grant, day), counter)| UsageRecord {
                    grant_id: grant.clone(),
                    day: day_text(*day),
                    ..std::mem::take(&mut counter.pending)
                })
                .collect();
            days.retain(|(_, day), _| *day == today);
            deltas
        };
        if deltas.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.store.add_gateway_usage(&deltas).await {
            let mut days = self.usage.lock();
            for delta in deltas {
                let Ok(day) =
                    Date::parse(&delta.day, time::macros::format_description!("[year]-[month]-[day]"))
                else {
                    continue;
                };
                let pending = &mut days.entry((delta.grant_id.clone(), day)).or_default().pending;
                pending.calls += delta.calls;
                pending.refused += delta.refused;
                pending.rows_returned += delta.rows_returned;
                pending.latency_us_total += delta.latency_us_total;
                pending.latency_us_max = pending.latency_us_max.max(delta.latency_us_max);
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// Flushes usage every [`FLUSH_INTERVAL`]; runs while the node serves.
    pub async fn run_usage_flusher(self) {
        loop {
            tokio::time::sleep(FLUSH_INTERVAL).await;
            if let Err(error) = self.flush_usage().await {
                tracing::warn!(%error, "gateway usage not stored; kept for the next flush");
            }
        }
    }

    /// Usage per grant the caller may see: its department's grants as
    /// consumer or provider, every grant for the authority and the auditor.
    pub async fn usage_report(&self, caller: &Caller, query: UsageQuery) -> Result<Vec<GrantUsage>> {
        let days = query.days.unwrap_or(30);
        if days == 0 || days > MAX_REPORT_DAYS {
            return Err(FieldError::new("days", format!("must be 1 to {MAX_REPORT_DAYS}")).into());
        }
        let oversees = Self::oversees(caller);
        let own = Some(caller.context.department_id.clone());
        let since_day = day_text(today() - Duration::days(i64::from(days) - 1));
        let mut filters = Vec::new();
        let base = UsageFilter { grant_id: query.grant_id.clone(), since_day, ..UsageFilter::default() };
        match query.side {
            Some(Side::Consumer) => filters.push(UsageFilter { consumer_department_id: own, ..base }),
            Some(Side::Provider) => filters.push(UsageFilter { provider_department_id: own, ..base }),
            None if oversees => filters.push(base),
            None => {
                filters.push(UsageFilter { consumer_department_id: own.clone(), ..base.clone() });
                filters.push(UsageFilter { provider_department_id: own, ..base });
            }
        }
        self.flush_usage().await?;
        let mut by_grant: BTreeMap<String, Vec<UsageRecord>> = BTreeMap::new();
        for filter in &filters {
            for record in self.store.gateway_usage(filter).await? {
                let days = by_grant.entry(record.grant_id.clone()).or_default();
                if !days.iter().any(|d| d.day == record.day) {
                    days.push(record);
                }
            }
        }
        Ok(by_grant
            .into_iter()
            .map(|(grant_id, days)| {
                let calls: u64 = days.iter().map(|d| d.calls).sum();
                let refused: u64 = days.iter().map(|d| d.refused).sum();
                let latency: u64 = days.iter().map(|d| d.latency_us_total).sum();
                GrantUsage {
                    grant_id,
                    calls,
                    refused,
                    rows_returned: days.iter().map(|d| d.rows_returned).sum(),
                    mean_latency_us: latency.checked_div(calls + refused).unwrap_or(0),
                    max_latency_us: days.iter().map(|d| d.latency_us_max).max().unwrap_or(0),
                    days,
                }
            })
            .collect())
    }
}
