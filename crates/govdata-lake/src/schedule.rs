//! Cron schedules for aggregation jobs, in China Standard Time (UTC+8, no
//! daylight saving), which is what a department means by "02:00 daily".

use std::str::FromStr;

use chrono::{FixedOffset, TimeZone};
use time::OffsetDateTime;

use crate::LakeError;

const CHINA_STANDARD_TIME_SECONDS: i32 = 8 * 3600;

#[derive(Debug, Clone)]
pub struct Schedule(cron::Schedule);

impl Schedule {
    /// Six or seven fields, seconds first: `sec min hour day month weekday [year]`.
    pub fn parse(expression: &str) -> Result<Schedule, LakeError> {
        cron::Schedule::from_str(expression.trim()).map(Schedule).map_err(|e| {
            LakeError::invalid("schedule", format!("not a cron expression ({e}); e.g. \"0 0 2 * * *\""))
        })
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let zone = FixedOffset::east_opt(CHINA_STANDARD_TIME_SECONDS)?;
        let start = zone.timestamp_opt(after.unix_timestamp(), 0).single()?;
        let next = self.0.after(&start).next()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn fires_at_china_standard_time() {
        let daily = Schedule::parse("0 0 2 * * *").unwrap();
        // 2026-01-01 17:00 UTC is 01:00 the next day in Beijing: next is 02:00 Beijing = 18:00 UTC.
        let next = daily.next_after(datetime!(2026-01-01 17:00 UTC)).unwrap();
        assert_eq!(next, datetime!(2026-01-01 18:00 UTC));
    }

    #[test]
    fn refuses_garbage_naming_the_field() {
        let err = Schedule::parse("every day").unwrap_err();
        assert_eq!(govdata_model::error::ApiError::field(&err), Some("schedule"));
    }
}
