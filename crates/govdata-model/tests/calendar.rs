//! Working-day arithmetic on the embedded 2025/2026 schedules and on years
//! without one.

use govdata_model::calendar::{CalendarError, DayKind, WorkingCalendar, YearSchedule};
use proptest::prelude::*;
use time::macros::date;
use time::{Date, Duration, Weekday};

fn cn() -> WorkingCalendar {
    WorkingCalendar::china()
}

fn add(d: Date, n: u32) -> Date {
    let r = cn().add_working_days(d, n).unwrap();
    assert!(r.is_exact(), "{d} + {n}: {:?}", r.unconfigured_years);
    r.value
}

#[test]
fn spring_festival_2025_with_its_make_up_sunday_and_saturday() {
    let calendar = cn();
    // 1/26 (Sun) and 2/8 (Sat) are worked; 1/28-2/4 are off.
    assert_eq!(date!(2025 - 01 - 26).weekday(), Weekday::Sunday);
    assert_eq!(calendar.day_kind(date!(2025 - 01 - 26)), DayKind::MakeupWorkday);
    assert_eq!(calendar.day_kind(date!(2025 - 02 - 08)), DayKind::MakeupWorkday);
    assert_eq!(calendar.day_kind(date!(2025 - 01 - 25)), DayKind::Weekend);
    assert_eq!(calendar.day_kind(date!(2025 - 02 - 09)), DayKind::Weekend);
    let mut day = date!(2025 - 01 - 28);
    while day <= date!(2025 - 02 - 04) {
        assert_eq!(calendar.day_kind(day), DayKind::Holiday, "{day}");
        assert_eq!(calendar.holiday_name(day), Some("春节"));
        day = day.next_day().unwrap();
    }

    // Friday 1/24 + 10 working days: 1/26, 1/27, 2/5, 2/6, 2/7, 2/8, 2/10, 2/11, 2/12, 2/13.
    let start = date!(2025 - 01 - 24);
    assert_eq!(add(start, 1), date!(2025 - 01 - 26));
    assert_eq!(add(start, 2), date!(2025 - 01 - 27));
    assert_eq!(add(start, 3), date!(2025 - 02 - 05));
    assert_eq!(add(start, 6), date!(2025 - 02 - 08));
    assert_eq!(add(start, 7), date!(2025 - 02 - 10));
    assert_eq!(add(start, 10), date!(2025 - 02 - 13));
    let between = calendar.working_days_between(start, date!(2025 - 02 - 13));
    assert_eq!((between.value, between.is_exact()), (10, true));
    // The guide's 20 working days from Monday 2025-01-20.
    assert_eq!(calendar.deadline(date!(2025 - 01 - 20), 20).unwrap().value, date!(2025 - 02 - 21));
}

#[test]
fn national_day_2025_with_its_make_up_days() {
    let start = date!(2025 - 09 - 26); // Friday
    assert_eq!(add(start, 1), date!(2025 - 09 - 28), "the make-up Sunday");
    assert_eq!(add(start, 3), date!(2025 - 09 - 30));
    assert_eq!(add(start, 4), date!(2025 - 10 - 09), "10/1-10/8 are off");
    assert_eq!(add(start, 5), date!(2025 - 10 - 10));
    assert_eq!(add(start, 6), date!(2025 - 10 - 11), "the make-up Saturday");
    assert_eq!(add(start, 7), date!(2025 - 10 - 13));
    assert_eq!(cn().working_days_between(date!(2025 - 09 - 27), date!(2025 - 10 - 12)).value, 6);
    // Labour Day: 4/27 (Sun) is worked, 5/1-5/5 off.
    assert_eq!(add(date!(2025 - 04 - 25), 1), date!(2025 - 04 - 27));
    assert_eq!(add(date!(2025 - 04 - 30), 1), date!(2025 - 05 - 06));
}

#[test]
fn schedule_2026() {
    assert_eq!(add(date!(2026 - 02 - 13), 1), date!(2026 - 02 - 14), "make-up Saturday before 春节");
    assert_eq!(add(date!(2026 - 02 - 14), 1), date!(2026 - 02 - 24), "2/15-2/23 are off");
    assert_eq!(add(date!(2026 - 02 - 27), 1), date!(2026 - 02 - 28), "make-up Saturday after 春节");
    assert_eq!(add(date!(2026 - 09 - 18), 20), date!(2026 - 10 - 22));
    // Across the new year, both years configured.
    assert_eq!(add(date!(2025 - 12 - 25), 20), date!(2026 - 01 - 23));
}

#[test]
fn a_year_has_the_expected_number_of_working_days() {
    let calendar = cn();
    // 261 weekdays - 18 holiday weekdays + 5 make-up days.
    assert_eq!(calendar.working_days_between(date!(2024 - 12 - 31), date!(2025 - 12 - 31)).value, 248);
    // 261 weekdays - 19 holiday weekdays + 6 make-up days.
    assert_eq!(calendar.working_days_between(date!(2025 - 12 - 31), date!(2026 - 12 - 31)).value, 248);
}

#[test]
fn day_zero_does_not_count() {
    let calendar = cn();
    let friday = date!(2025 - 03 - 07);
    assert_eq!(calendar.deadline(friday, 0).unwrap().value, friday);
    assert_eq!(calendar.deadline(friday, 1).unwrap().value, date!(2025 - 03 - 10));
    // Starting on a holiday: counting begins with the next working day.
    assert_eq!(calendar.deadline(date!(2025 - 10 - 03), 1).unwrap().value, date!(2025 - 10 - 09));
    assert_eq!(calendar.working_days_between(friday, friday).value, 0);
    assert_eq!(calendar.working_days_between(date!(2025 - 03 - 10), friday).value, -1);
}

#[test]
fn make_up_workdays_are_working_days_though_weekends() {
    let calendar = cn();
    let mut count = 0;
    for year in calendar.configured_years() {
        for w in &calendar.schedule(year).unwrap().workdays {
            assert!(matches!(w.date.weekday(), Weekday::Saturday | Weekday::Sunday), "{}", w.date);
            assert!(calendar.is_working_day(w.date), "{}", w.date);
            assert!(!WorkingCalendar::weekends_only().is_working_day(w.date));
            count += 1;
        }
    }
    assert_eq!(count, 11);
}

#[test]
fn unknown_years_fall_back_to_weekends_and_say_so() {
    let calendar = cn();
    assert!(!calendar.has_schedule(2027));
    // 2030-01-01 is a Tuesday: surely 元旦, but without a schedule it counts as worked.
    assert!(calendar.is_working_day(date!(2030 - 01 - 01)));
    assert!(!calendar.is_working_day(date!(2027 - 03 - 06)));
    let r = calendar.add_working_days(date!(2027 - 03 - 05), 5).unwrap();
    assert_eq!((r.value, r.unconfigured_years.as_slice()), (date!(2027 - 03 - 12), &[2027][..]));
    let across = calendar.deadline(date!(2026 - 12 - 30), 5).unwrap();
    assert_eq!(across.unconfigured_years, [2027]);
    // A deadline inside 2026 from its last day does not mention 2025 or 2027.
    let inside = calendar.add_working_days(date!(2025 - 12 - 31), 3).unwrap();
    assert!(inside.is_exact());
    let long = calendar.working_days_between(date!(2024 - 06 - 01), date!(2028 - 01 - 05));
    assert_eq!(long.unconfigured_years, [2024, 2027, 2028]);
    assert!(
        WorkingCalendar::weekends_only()
            .working_days_between(date!(2025 - 01 - 01), date!(2025 - 01 - 08))
            .value
            == 5
    );
}

#[test]
fn operators_add_years_from_data() {
    let text = r#"
        year = 2027
        source = "测试数据, 非官方"
        [[holidays]]
        name = "元旦"
        from = "2027-01-01"
        to = "2027-01-03"
        [[workdays]]
        date = "2026-12-26"
        note = "调休上班（周六）"
    "#;
    let schedule = YearSchedule::from_toml(text).unwrap();
    let mut calendar = cn();
    calendar.add_schedule(schedule.clone()).unwrap();
    assert!(calendar.has_schedule(2027));
    assert!(calendar.is_working_day(date!(2026 - 12 - 26)));
    assert!(!calendar.is_working_day(date!(2027 - 01 - 01)));
    let r = calendar.add_working_days(date!(2026 - 12 - 31), 1).unwrap();
    assert_eq!((r.value, r.is_exact()), (date!(2027 - 01 - 04), true));
    // Replacing a year's schedule drops its old dates.
    calendar.add_schedule(YearSchedule { holidays: Vec::new(), workdays: Vec::new(), ..schedule }).unwrap();
    assert!(calendar.is_working_day(date!(2027 - 01 - 01)));
    assert!(!calendar.is_working_day(date!(2026 - 12 - 26)));

    // A date cannot be a holiday in one schedule and worked in another.
    let clash = YearSchedule::from_toml(
        r#"
        year = 2024
        source = "x"
        [[workdays]]
        date = "2025-01-01"
    "#,
    );
    assert!(clash.is_err(), "2025-01-01 is a Wednesday");
    let clash = YearSchedule::from_toml(
        r#"
        year = 2024
        source = "x"
        [[workdays]]
        date = "2025-01-25"
    "#,
    )
    .unwrap();
    let mut with_holiday = cn();
    let holiday_2025 = YearSchedule::from_toml(
        r#"
        year = 2025
        source = "x"
        [[holidays]]
        name = "假"
        from = "2025-01-25"
        to = "2025-01-25"
    "#,
    )
    .unwrap();
    with_holiday.add_schedule(holiday_2025).unwrap();
    assert!(matches!(with_holiday.add_schedule(clash), Err(CalendarError::Invalid { .. })));
}

#[test]
fn never_panics_at_the_end_of_time() {
    let calendar = cn();
    let last = Date::MAX;
    assert_eq!(calendar.add_working_days(last, 1), Err(CalendarError::OutOfRange));
    assert_eq!(calendar.add_working_days(last, 0).unwrap().value, last);
    let first = Date::MIN;
    assert!(calendar.working_days_between(first, last).value > 0);
}

fn day_in(range_start: Date, days: i64) -> impl Strategy<Value = Date> {
    (0..days).prop_map(move |offset| range_start + Duration::days(offset))
}

proptest! {
    #[test]
    fn adding_then_counting_gives_back_n(d in day_in(date!(2024 - 06 - 01), 1000), n in 0u32..400) {
        let calendar = cn();
        let end = calendar.add_working_days(d, n).unwrap();
        prop_assert_eq!(calendar.working_days_between(d, end.value).value, i64::from(n));
        prop_assert_eq!(calendar.working_days_between(end.value, d).value, -i64::from(n));
        if n > 0 {
            prop_assert!(calendar.is_working_day(end.value));
        }
        // n+1 lands strictly later.
        prop_assert!(calendar.add_working_days(d, n + 1).unwrap().value > end.value);
    }

    #[test]
    fn counting_matches_a_day_by_day_walk(a in day_in(date!(2024 - 11 - 01), 900), len in 0i64..120) {
        let calendar = cn();
        let b = a + Duration::days(len);
        let mut walked = 0;
        let mut day = a;
        while day < b {
            day = day.next_day().unwrap();
            walked += i64::from(calendar.is_working_day(day));
        }
        prop_assert_eq!(calendar.working_days_between(a, b).value, walked);
    }
}
