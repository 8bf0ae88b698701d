//! The sharing report (共享情况统计): applications by state and by month,
//! overdue ones, and how long providers take to answer — for the portal's
//! dashboard and the authority's reports. A department sees the applications
//! it made or received; the authority and the auditor see every department's.

use std::collections::BTreeMap;

use govdata_catalog::Caller;
use govdata_model::FieldError;
use govdata_store::timestamp::format;
use govdata_store::ApplicationStatisticsRows;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::service::{Result, Sharing, CHINA};

/// Longest report window, in months.
pub const MAX_REPORT_MONTHS: u32 = 36;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Months back from today, today's month included (1–36, default 12).
    pub months: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SharingReport {
    /// First instant of the window (UTC).
    pub since: String,
    /// Applications submitted in the window, by current status.
    pub by_status: BTreeMap<String, u64>,
    /// Applications submitted per month, by current status.
    pub by_month: Vec<MonthCounts>,
    /// Open applications past their answer deadline, of any age.
    pub overdue: u64,
    pub answer_times: AnswerTimes,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthCounts {
    /// `YYYY-MM`.
    pub month: String,
    pub by_status: BTreeMap<String, u64>,
}

/// Time from submission to the first answer (approval, rejection or
/// forwarding to the authority), in calendar hours.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerTimes {
    pub answered: u64,
    pub mean_hours: Option<f64>,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    /// Answers given by the deadline, as a share of all answers.
    pub within_deadline: Option<f64>,
}

impl Sharing {
    pub async fn report(&self, caller: &Caller, query: ReportQuery) -> Result<SharingReport> {
        let months = query.months.unwrap_or(12);
        if months == 0 || months > MAX_REPORT_MONTHS {
            return Err(FieldError::new("months", format!("must be 1 to {MAX_REPORT_MONTHS}")).into());
        }
        let oversees = Self::oversees(caller);
        let department = (!oversees).then_some(caller.context.department_id.as_str());
        let now = OffsetDateTime::now_utc();
        let since = window_start(now, months);
        let rows = self.store.application_statistics(department, &format(since), &format(now)).await?;
        Ok(summarize(since, rows))
    }
}

/// Midnight, China Standard Time, on the first day of the month
/// `months - 1` before now's (months are counted in China Standard Time).
fn window_start(now: OffsetDateTime, months: u32) -> OffsetDateTime {
    let now = now.to_offset(CHINA);
    let mut year = now.year();
    let mut month = u8::from(now.month()) as i32 - (months as i32 - 1);
    while month < 1 {
        month += 12;
        year -= 1;
    }
    let month = time::Month::try_from(month as u8).expect("1..=12");
    time::Date::from_calendar_date(year, month, 1)
        .expect("the first of a month exists")
        .midnight()
        .assume_offset(CHINA)
        .to_offset(time::UtcOffset::UTC)
}

/// The month (`YYYY-MM`, China Standard Time) of a UTC hour `YYYY-MM-DDTHH`.
fn china_month(utc_hour: &str) -> Option<String> {
    let at = OffsetDateTime::parse(&format!("{utc_hour}:00:00Z"), &Rfc3339).ok()?.to_offset(CHINA);
    Some(format!("{:04}-{:02}", at.year(), u8::from(at.month())))
}

fn summarize(since: OffsetDateTime, rows: ApplicationStatisticsRows) -> SharingReport {
    let mut by_status = BTreeMap::new();
    let mut by_month: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (hour, status, count) in rows.by_hour_and_status {
        *by_status.entry(status.clone()).or_default() += count;
        if let Some(month) = china_month(&hour) {
            *by_month.entry(month).or_default().entry(status).or_default() += count;
        }
    }
    let parse = |text: &str| OffsetDateTime::parse(text, &Rfc3339).ok();
    let mut hours = Vec::new();
    let mut in_time = 0u64;
    for (submitted, answered, due) in &rows.answers {
        let (Some(submitted), Some(answered)) = (parse(submitted), parse(answered)) else { continue };
        hours.push((answered - submitted).max(Duration::ZERO).as_seconds_f64() / 3600.0);
        if parse(due).is_some_and(|due| answered <= due) {
            in_time += 1;
        }
    }
    hours.sort_by(f64::total_cmp);
    let answered = hours.len() as u64;
    let share = |n: u64| (answered > 0).then(|| n as f64 / answered as f64);
    SharingReport {
        since: format(since),
        by_status,
        by_month: by_month.into_iter().map(|(month, by_status)| MonthCounts { month, by_status }).collect(),
        overdue: rows.overdue,
        answer_times: AnswerTimes {
            answered,
            mean_hours: (answered > 0).then(|| hours.iter().sum::<f64>() / answered as f64),
            median_hours: percentile(&hours, 0.5),
            p90_hours: percentile(&hours, 0.9),
            within_deadline: share(in_time),
        },
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_start_on_the_first_of_a_month_in_beijing() {
        let now = datetime!(2026-02-17 09:30 UTC);
        assert_eq!(window_start(now, 1), datetime!(2026-01-31 16:00 UTC), "1 February in Beijing");
        assert_eq!(window_start(now, 3), datetime!(2025-11-30 16:00 UTC));
        assert_eq!(window_start(now, 14), datetime!(2024-12-31 16:00 UTC));
        // 20:00 UTC on 31 January is already February in Beijing.
        assert_eq!(window_start(datetime!(2026-01-31 20:00 UTC), 1), datetime!(2026-01-31 16:00 UTC));
        assert_eq!(china_month("2026-01-31T17").as_deref(), Some("2026-02"));
        assert_eq!(china_month("2026-01-31T15").as_deref(), Some("2026-01"));
    }

    #[test]
    fn answer_times_and_counts() {
        let rows = ApplicationStatisticsRows {
            by_hour_and_status: vec![
                ("2026-01-05T03".into(), "approved".into(), 3),
                ("2026-01-20T10".into(), "rejected".into(), 1),
                ("2026-01-31T18".into(), "approved".into(), 2),
            ],
            overdue: 4,
            answers: vec![
                (
                    "2026-01-05T00:00:00.000Z".into(),
                    "2026-01-05T02:00:00.000Z".into(),
                    "2026-01-19T16:00:00.000Z".into(),
                ),
                (
                    "2026-01-05T00:00:00.000Z".into(),
                    "2026-01-06T00:00:00.000Z".into(),
                    "2026-01-19T16:00:00.000Z".into(),
                ),
                (
                    "2026-01-05T00:00:00.000Z".into(),
                    "2026-01-25T00:00:00.000Z".into(),
                    "2026-01-19T16:00:00.000Z".into(),
                ),
            ],
        };
        let report = summarize(datetime!(2026-01-01 0:00 UTC), rows);
        assert_eq!(report.by_status["approved"], 5);
        assert_eq!(report.by_month[1].by_status["approved"], 2);
        assert_eq!(report.overdue, 4);
        let times = report.answer_times;
        assert_eq!(times.answered, 3);
        assert_eq!(times.median_hours, Some(24.0));
        assert_eq!(times.p90_hours, Some(480.0));
        assert_eq!(times.mean_hours, Some((2.0 + 24.0 + 480.0) / 3.0));
        assert_eq!(times.within_deadline, Some(2.0 / 3.0));
    }

    #[test]
    fn an_empty_window_has_no_times() {
        let report = summarize(datetime!(2026-01-01 0:00 UTC), ApplicationStatisticsRows::default());
        assert_eq!(report.answer_times.answered, 0);
        assert_eq!(report.answer_times.median_hours, None);
        assert_eq!(report.answer_times.within_deadline, None);
    }
}
