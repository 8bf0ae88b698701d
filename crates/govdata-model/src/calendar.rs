//! The working-day calendar (工作日) that deadlines are counted on: e.g.
//! "register new data within 20 working days" (国办函〔2022〕102号 四(二)3).
//!
//! Saturdays and Sundays are off, except make-up working days (调休上班);
//! public holidays are off. Holidays and make-up days come from data, one
//! [`YearSchedule`] per year after the State Council's yearly notice
//! (国务院办公厅关于 YYYY 年部分节假日安排的通知); [`WorkingCalendar::china`]
//! embeds `data/calendar/cn-2025.toml` and `cn-2026.toml`. A year without a
//! schedule counts weekends only, and every result that touched such a year
//! says so ([`Reckoning::unconfigured_years`]) so the caller can warn rather
//! than silently miss a holiday.
//!
//! Counting convention: the start day is day 0 and does not count, as the
//! Civil Code has it for periods in days (民法典 第二百零一条: 开始的当日不计入,
//! 自下一日开始计算). "Within N working days of D" ends at the end of
//! [`WorkingCalendar::deadline`]`(D, N)`, the N-th working day after D.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use time::{Date, Month, Weekday};

use crate::{ApiError, ErrorCode};

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

const CN_2025: &str = include_str!("../../../data/calendar/cn-2025.toml");
const CN_2026: &str = include_str!("../../../data/calendar/cn-2026.toml");

/// One holiday period, both ends included, weekends inside it included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayPeriod {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
}

/// A Saturday or Sunday that is worked (调休上班).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeupWorkday {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    #[serde(default)]
    pub note: String,
}

/// The holidays and make-up working days of one year, as in
/// `data/calendar/cn-<year>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearSchedule {
    pub year: i32,
    /// The notice the dates come from.
    pub source: String,
    #[serde(default)]
    pub holidays: Vec<HolidayPeriod>,
    #[serde(default)]
    pub workdays: Vec<MakeupWorkday>,
}

/// A calendar data or arithmetic problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar data: {0}")]
    Parse(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("date out of the supported range")]
    OutOfRange,
}

impl ApiError for CalendarError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }

    fn field(&self) -> Option<&str> {
        match self {
            CalendarError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CalendarError {
    CalendarError::Invalid { field: field.into(), message: message.into() }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl YearSchedule {
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let schedule: YearSchedule = toml::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        schedule.validate()?;
        Ok(schedule)
    }

    /// Dates near the year (a notice may start 元旦 on the last days of the
    /// year before, e.g. 2023-12-30 in the 2024 notice, or move a working
    /// day there); holiday ranges in order; make-up days on weekends and not
    /// inside a holiday.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let bounds = Date::from_calendar_date(self.year - 1, Month::December, 1)
            .and_then(|lo| Date::from_calendar_date(self.year + 1, Month::January, 31).map(|hi| (lo, hi)))
            .map_err(|_| invalid("year", format!("year {} is out of range", self.year)))?;
        let near = |d: Date| bounds.0 <= d && d <= bounds.1;
        for (i, h) in self.holidays.iter().enumerate() {
            if h.name.trim().is_empty() {
                return Err(invalid(format!("holidays[{i}].name"), "holiday needs a name"));
            }
            if h.from > h.to {
                return Err(invalid(format!("holidays[{i}].to"), "holiday ends before it starts"));
            }
            if !near(h.from) || !near(h.to) {
                return Err(invalid(
                    format!("holidays[{i}]"),
                    format!("dates must be in or next to {}", self.year),
                ));
            }
        }
        for (i, w) in self.workdays.iter().enumerate() {
            if !near(w.date) {
                return Err(invalid(
                    format!("workdays[{i}].date"),
                    format!("date must be in or next to {}", self.year),
                ));
            }
            if !is_weekend(w.date) {
                return Err(invalid(
                    format!("workdays[{i}].date"),
                    format!(
                        "{} is a {}; a make-up working day is a Saturday or Sunday",
                        w.date,
                        w.date.weekday()
                    ),
                ));
            }
            if self.holidays.iter().any(|h| h.from <= w.date && w.date <= h.to) {
                return Err(invalid(
                    format!("workdays[{i}].date"),
                    format!("{} is inside a holiday", w.date),
                ));
            }
        }
        Ok(())
    }
}

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// 工作日: Monday to Friday, not a holiday.
    Workday,
    /// 休息日: Saturday or Sunday, not worked.
    Weekend,
    /// 法定节假日 (including the weekend days inside a holiday period).
    Holiday,
    /// 调休上班: a Saturday or Sunday that is worked.
    MakeupWorkday,
}

impl DayKind {
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeupWorkday)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DayKind::Workday => "工作日",
            DayKind::Weekend => "休息日",
            DayKind::Holiday => "节假日",
            DayKind::MakeupWorkday => "调休上班",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DayKind::Workday => "working day",
            DayKind::Weekend => "weekend",
            DayKind::Holiday => "public holiday",
            DayKind::MakeupWorkday => "make-up working day",
        }
    }
}

/// A computed value and the years it touched that have no schedule (counted
/// as weekends only). Empty `unconfigured_years` means the value is exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reckoning<T> {
    pub value: T,
    pub unconfigured_years: Vec<i32>,
}

impl<T> Reckoning<T> {
    pub fn is_exact(&self) -> bool {
        self.unconfigured_years.is_empty()
    }
}

/// Weekends, holidays and make-up working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    schedules: BTreeMap<i32, YearSchedule>,
    /// Holiday date → holiday name.
    holidays: BTreeMap<Date, String>,
    workdays: BTreeSet<Date>,
}

/// Number of weekdays (Mon–Fri) among the days with Julian day number in
/// `[0, jd)`; Julian day 0 is a Monday.
fn weekdays_before(jd: i64) -> i64 {
    5 * jd.div_euclid(7) + jd.rem_euclid(7).min(5)
}

impl WorkingCalendar {
    /// Weekends only: no holidays, every year unconfigured.
    pub fn weekends_only() -> Self {
        WorkingCalendar::default()
    }

    /// Mainland China with the embedded schedules (2025, 2026).
    pub fn china() -> Self {
        let mut calendar = WorkingCalendar::default();
        for text in [CN_2025, CN_2026] {
            // Embedded data; the tests load it, so a broken file never ships.
            let schedule = YearSchedule::from_toml(text).expect("embedded calendar data is valid");
            calendar.add_schedule(schedule).expect("embedded calendar years agree");
        }
        calendar
    }

    /// Adds (or replaces) the schedule of a year. Refused when a date would
    /// be a holiday in one schedule and a working day in another.
    pub fn add_schedule(&mut self, schedule: YearSchedule) -> Result<(), CalendarError> {
        schedule.validate()?;
        let mut others: Vec<YearSchedule> =
            self.schedules.values().filter(|s| s.year != schedule.year).cloned().collect();
        others.push(schedule);
        let mut holidays = BTreeMap::new();
        let mut workdays = BTreeSet::new();
        for s in &others {
            for h in &s.holidays {
                let mut day = h.from;
                loop {
                    holidays.insert(day, h.name.clone());
                    match day.next_day() {
                        Some(next) if next <= h.to => day = next,
                        _ => break,
                    }
                }
            }
            workdays.extend(s.workdays.iter().map(|w| w.date));
        }
        if let Some(date) = workdays.iter().find(|d| holidays.contains_key(d)) {
            return Err(invalid(
                "workdays",
                format!("{date} is a holiday in one schedule and a working day in another"),
            ));
        }
        self.schedules = others.into_iter().map(|s| (s.year, s)).collect();
        self.holidays = holidays;
        self.workdays = workdays;
        Ok(())
    }

    pub fn has_schedule(&self, year: i32) -> bool {
        self.schedules.contains_key(&year)
    }

    pub fn configured_years(&self) -> Vec<i32> {
        self.schedules.keys().copied().collect()
    }

    pub fn schedule(&self, year: i32) -> Option<&YearSchedule> {
        self.schedules.get(&year)
    }

    pub fn day_kind(&self, date: Date) -> DayKind {
        if self.workdays.contains(&date) {
            DayKind::MakeupWorkday
        } else if self.holidays.contains_key(&date) {
            DayKind::Holiday
        } else if is_weekend(date) {
            DayKind::Weekend
        } else {
            DayKind::Workday
        }
    }

    /// The name of the holiday `date` falls in, if any.
    pub fn holiday_name(&self, date: Date) -> Option<&str> {
        self.holidays.get(&date).map(String::as_str)
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        self.day_kind(date).is_working()
    }

    /// Years in `first..=last` without a schedule.
    fn unconfigured(&self, first: i32, last: i32) -> Vec<i32> {
        (first..=last).filter(|y| !self.has_schedule(*y)).collect()
    }

    /// The `n`-th working day after `date` (`date` itself for `n` = 0). The
    /// start day never counts, whatever kind of day it is.
    pub fn add_working_days(&self, date: Date, n: u32) -> Result<Reckoning<Date>, CalendarError> {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day.next_day().ok_or(CalendarError::OutOfRange)?;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        // The days examined are (date, day]; the start day's year matters
        // only if later days share it.
        let unconfigured_years = match date.next_day() {
            Some(first) if n > 0 => self.unconfigured(first.year(), day.year()),
            _ => Vec::new(),
        };
        Ok(Reckoning { value: day, unconfigured_years })
    }

    /// Working days in `(a, b]` — after `a`, up to and including `b` — and
    /// the negative of the count in `(b, a]` when `b` is before `a`. So
    /// `working_days_between(d, add_working_days(d, n)) == n`.
    pub fn working_days_between(&self, a: Date, b: Date) -> Reckoning<i64> {
        if b < a {
            let back = self.working_days_between(b, a);
            return Reckoning { value: -back.value, unconfigured_years: back.unconfigured_years };
        }
        if a == b {
            return Reckoning { value: 0, unconfigured_years: Vec::new() };
        }
        let (ja, jb) = (i64::from(a.to_julian_day()), i64::from(b.to_julian_day()));
        let weekdays = weekdays_before(jb + 1) - weekdays_before(ja + 1);
        let range = (Bound::Excluded(a), Bound::Included(b));
        let holidays_on_weekdays =
            self.holidays.range(range).filter(|(d, _)| !is_weekend(**d)).count() as i64;
        // Make-up days are weekends by validation: each adds one.
        let makeups = self.workdays.range(range).count() as i64;
        // a < b, so a has a next day.
        let first_year = a.next_day().map_or(b.year(), Date::year);
        Reckoning {
            value: weekdays - holidays_on_weekdays + makeups,
            unconfigured_years: self.unconfigured(first_year, b.year()),
        }
    }

    /// The last day of "within `n` working days of `start`": the `n`-th
    /// working day after `start` (day 0 not counted). An action on or before
    /// this date is on time.
    pub fn deadline(&self, start: Date, n: u32) -> Result<Reckoning<Date>, CalendarError> {
        self.add_working_days(start, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekday_counting_matches_a_loop() {
        let calendar = WorkingCalendar::weekends_only();
        let start = date!(2024 - 12 - 20);
        for len in 0..40 {
            let end = start.checked_add(time::Duration::days(len)).unwrap();
            let mut count = 0;
            let mut day = start;
            while day < end {
                day = day.next_day().unwrap();
                count += i64::from(!is_weekend(day));
            }
            assert_eq!(calendar.working_days_between(start, end).value, count, "{end}");
        }
    }

    #[test]
    fn embedded_schedules_load() {
        let calendar = WorkingCalendar::china();
        assert_eq!(calendar.configured_years(), [2025, 2026]);
        assert_eq!(calendar.holiday_name(date!(2025 - 01 - 29)), Some("春节"));
        assert_eq!(calendar.schedule(2026).unwrap().workdays.len(), 6);
    }

    #[test]
    fn schedules_are_validated() {
        let weekday_makeup = r#"
            year = 2025
            source = "test"
            [[workdays]]
            date = "2025-01-27"
        "#;
        assert!(matches!(YearSchedule::from_toml(weekday_makeup), Err(CalendarError::Invalid { .. })));
        let far = r#"
            year = 2025
            source = "test"
            [[holidays]]
            name = "x"
            from = "2027-01-01"
            to = "2027-01-01"
        "#;
        assert!(YearSchedule::from_toml(far).is_err());
        assert!(matches!(YearSchedule::from_toml("year = 2025"), Err(CalendarError::Parse(_))));
    }
}
