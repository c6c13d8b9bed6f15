//! The working calendar of a jurisdiction: working days and hours, public holidays, and the
//! make-up working days that swap with them (调休). Every clock of a case runs on it, except for
//! emergencies, which run on the wall clock.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

use crate::{FieldError, Millis, Urgency, MINUTE};

/// A working period of a day, in minutes after local midnight: `[start, end)`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[cfg_attr(feature = "openapi", schema(maximum = 1439))]
    pub start: u16,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub end: u16,
}

/// A jurisdiction's working calendar: the clock that deadlines run on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calendar {
    /// Local time's offset from UTC in minutes (China: 480).
    #[cfg_attr(feature = "openapi", schema(minimum = -840, maximum = 840))]
    pub utc_offset_minutes: i32,
    /// Working weekdays, 1 = Monday … 7 = Sunday.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<u8>, min_items = 1, max_items = 7, minimum = 1, maximum = 7))]
    pub weekdays: BTreeSet<u8>,
    /// Working periods of a working day, in order, not overlapping.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub periods: Vec<Period>,
    /// Days off that would otherwise be working days.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, format = Date))]
    pub holidays: BTreeSet<NaiveDate>,
    /// Days that are working days although their weekday is not (调休 make-up days); never a
    /// holiday too.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, format = Date))]
    pub makeup_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Every minute of every day: the clock of a place with no calendar, and of emergencies.
    pub fn wall_clock() -> Self {
        Self {
            utc_offset_minutes: 0,
            weekdays: (1..=7).collect(),
            periods: vec![Period { start: 0, end: 24 * 60 }],
            holidays: BTreeSet::new(),
            makeup_days: BTreeSet::new(),
        }
    }

    /// Monday to Friday, 08:30–12:00 and 13:30–17:30, China Standard Time, no holidays yet.
    pub fn office_hours() -> Self {
        Self {
            utc_offset_minutes: 480,
            weekdays: (1..=5).collect(),
            periods: vec![
                Period { start: 8 * 60 + 30, end: 12 * 60 },
                Period { start: 13 * 60 + 30, end: 17 * 60 + 30 },
            ],
            holidays: BTreeSet::new(),
            makeup_days: BTreeSet::new(),
        }
    }

    /// Whether any holiday or make-up day of `year` is listed (the year's arrangement is there).
    pub fn has_holidays_of(&self, year: i32) -> bool {
        self.holidays.iter().chain(&self.makeup_days).any(|d| d.year() == year)
    }

    pub fn validate(&self) -> Result<(), FieldError> {
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(FieldError::new("utc_offset_minutes", "must lie between -840 and 840"));
        }
        if self.weekdays.is_empty() || self.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err(FieldError::new("weekdays", "list working weekdays as 1 (Monday) to 7 (Sunday), at least one"));
        }
        if self.periods.is_empty() {
            return Err(FieldError::new("periods", "a working day needs at least one working period"));
        }
        let mut last_end = 0;
        for (i, p) in self.periods.iter().enumerate() {
            if p.start >= p.end || p.end > 24 * 60 || (i > 0 && p.start < last_end) {
                return Err(FieldError::new(
                    format!("periods[{i}]"),
                    "periods run start < end ≤ 1440 minutes, in order, without overlapping",
                ));
            }
            last_end = p.end;
        }
        if let Some(d) = self.holidays.intersection(&self.makeup_days).next() {
            return Err(FieldError::new(
                "makeup_days",
                format!("{d} is listed both as a holiday and as a make-up day"),
            ));
        }
        Ok(())
    }

    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.makeup_days.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && self.weekdays.contains(&(d.weekday().number_from_monday() as u8))
    }

    /// Milliseconds at local midnight of `d`.
    fn midnight(&self, d: NaiveDate) -> Millis {
        let naive = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        self.offset().from_local_datetime(&naive).single().map(|t| t.timestamp_millis()).unwrap_or(0)
    }

    fn local_date(&self, at: Millis) -> NaiveDate {
        chrono::DateTime::from_timestamp_millis(at).unwrap_or_default().with_timezone(&self.offset()).date_naive()
    }

    /// The instant when `working` milliseconds of working time have passed after `start`.
    pub fn add(&self, start: Millis, working: Millis) -> Millis {
        let mut left = working.max(0);
        let mut day = self.local_date(start);
        // Ten years of days is far beyond any deadline; a calendar without working time ends there.
        for _ in 0..3660 {
            if self.is_working_day(day) {
                let midnight = self.midnight(day);
                for p in &self.periods {
                    let from = (midnight + i64::from(p.start) * MINUTE).max(start);
                    let to = midnight + i64::from(p.end) * MINUTE;
                    if to <= from {
                        continue;
                    }
                    if left <= to - from {
                        return from + left;
                    }
                    left -= to - from;
                }
            }
            day = day.succ_opt().unwrap_or(day + Duration::days(1));
        }
        start + working
    }

    /// The end of the `n`th working day after the day of `start` (`n` = 0: the end of `start`'s
    /// own day if it is a working day, else of the next one): a deadline counted in whole
    /// working days, as a rectification's or an inspection's is.
    pub fn end_of_working_days(&self, start: Millis, n: u32) -> Millis {
        let mut day = self.local_date(start);
        let mut left = n;
        for _ in 0..3660 {
            if self.is_working_day(day) {
                if left == 0 {
                    let end = self.periods.last().map_or(24 * 60, |p| p.end);
                    return self.midnight(day) + i64::from(end) * MINUTE;
                }
                left -= 1;
            }
            day = day.succ_opt().unwrap_or(day + Duration::days(1));
        }
        start + i64::from(n) * 24 * 60 * MINUTE
    }

    /// The first working day on or after the local date `days` calendar days after `start`, at
    /// the end of its working time: when something done every `days` days is next due.
    pub fn due_after(&self, start: Millis, days: u32) -> Millis {
        let later = self.local_date(start) + Duration::days(i64::from(days));
        self.end_of_working_days(self.midnight(later), 0)
    }

    /// Working time between two instants.
    pub fn working_time(&self, from: Millis, to: Millis) -> Millis {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut day = self.local_date(from);
        let last = self.local_date(to);
        while day <= last {
            if self.is_working_day(day) {
                let midnight = self.midnight(day);
                for p in &self.periods {
                    let a = (midnight + i64::from(p.start) * MINUTE).max(from);
                    let b = (midnight + i64::from(p.end) * MINUTE).min(to);
                    total += (b - a).max(0);
                }
            }
            day = day.succ_opt().unwrap_or(day + Duration::days(1));
        }
        total
    }

    /// A deadline `limit` after `start` for a case of `urgency`: emergencies on the wall clock,
    /// everything else in working time.
    pub fn deadline(&self, start: Millis, limit: Millis, urgency: Urgency) -> Millis {
        match urgency {
            Urgency::Emergency => start + limit,
            _ => self.add(start, limit),
        }
    }
}

/// China's public holidays and make-up working days as the General Office of the State Council
/// publishes them each year (usually in November for the next year): data, in a file a town can
/// update and give to `gridkeeper init --holidays`. The years this version knows.
pub const CHINA_HOLIDAYS: &str = include_str!("../data/holidays-cn.json");

/// One year's arrangement: the spans of days off and the make-up working days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayYear {
    pub year: i32,
    /// Where it comes from (the notice and its date).
    pub source: String,
    pub days_off: Vec<DaysOff>,
    pub makeup_days: Vec<NaiveDate>,
}

/// A holiday's days off, `from` to `to` inclusive (weekends inside it included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaysOff {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Reads a list of [`HolidayYear`]s (JSON, the format of [`CHINA_HOLIDAYS`]); each year checked:
/// every date inside its year, spans in order, no day both off and a make-up day, a year once.
pub fn parse_holidays(json: &str) -> Result<Vec<HolidayYear>, FieldError> {
    let years: Vec<HolidayYear> =
        serde_json::from_str(json).map_err(|e| FieldError::new("holidays", format!("not a list of years: {e}")))?;
    let mut seen = BTreeSet::new();
    for y in &years {
        if !seen.insert(y.year) {
            return Err(FieldError::new("holidays", format!("{} is listed twice", y.year)));
        }
        y.validate()?;
    }
    Ok(years)
}

impl HolidayYear {
    fn validate(&self) -> Result<(), FieldError> {
        let field = |what: &str| format!("holidays[{}].{what}", self.year);
        for d in &self.days_off {
            if d.from > d.to || d.from.year() != self.year || d.to.year() != self.year {
                return Err(FieldError::new(
                    field("days_off"),
                    format!("{}: from {} to {} must run forwards inside {}", d.name, d.from, d.to, self.year),
                ));
            }
        }
        let off: BTreeSet<NaiveDate> = self.days().collect();
        for d in &self.makeup_days {
            if d.year() != self.year || off.contains(d) {
                return Err(FieldError::new(
                    field("makeup_days"),
                    format!("{d} must lie inside {} and not be a day off", self.year),
                ));
            }
        }
        Ok(())
    }

    /// Every day off, in order of the spans.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.days_off.iter().flat_map(|d| d.from.iter_days().take_while(move |x| *x <= d.to))
    }

    /// Adds the year's days off and make-up days to `calendar`.
    pub fn add_to(&self, calendar: &mut Calendar) {
        calendar.holidays.extend(self.days());
        calendar.makeup_days.extend(self.makeup_days.iter().copied());
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Self::wall_clock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HOUR;

    /// 2026-09-25 is a Friday. Local times are China Standard Time.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Millis {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .timestamp_millis()
    }
    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_deadline_across_a_weekend() {
        let c = Calendar::office_hours();
        // Friday 16:30 + 4 working hours: 1 h on Friday, then Monday 08:30–11:30.
        assert_eq!(c.add(at(2026, 9, 25, 16, 30), 4 * HOUR), at(2026, 9, 28, 11, 30));
        assert_eq!(c.working_time(at(2026, 9, 25, 16, 30), at(2026, 9, 28, 11, 30)), 4 * HOUR);
    }

    #[test]
    fn lunch_and_evenings_do_not_count() {
        let c = Calendar::office_hours();
        // Tuesday 11:00 + 2 h: 1 h before lunch, 1 h after 13:30.
        assert_eq!(c.add(at(2026, 9, 22, 11, 0), 2 * HOUR), at(2026, 9, 22, 14, 30));
        // Reported at 20:00: the clock starts the next morning.
        assert_eq!(c.add(at(2026, 9, 22, 20, 0), HOUR / 2), at(2026, 9, 23, 9, 0));
    }

    #[test]
    fn a_public_holiday_and_a_make_up_working_saturday() {
        let mut c = Calendar::office_hours();
        // National Day 2026: 1–7 October off, Saturday 10 October worked instead (调休, illustrative).
        c.holidays = (1..=7).map(|d| date(2026, 10, d)).collect();
        c.makeup_days = [date(2026, 10, 10)].into();
        c.validate().unwrap();
        // Wednesday 30 September 17:00 + 7 working hours: 30 min that day, then Thursday 1 Oct is a
        // holiday … the next working day is Thursday 8 October.
        assert_eq!(c.add(at(2026, 9, 30, 17, 0), 7 * HOUR), at(2026, 10, 8, 16, 30));
        // Friday 9 October 17:00 + 1 h: 30 min on Friday, then the make-up Saturday at 09:00.
        assert_eq!(c.add(at(2026, 10, 9, 17, 0), HOUR), at(2026, 10, 10, 9, 0));
        assert!(c.is_working_day(date(2026, 10, 10)));
        assert!(!c.is_working_day(date(2026, 10, 5)));
    }

    #[test]
    fn an_emergency_at_night_runs_on_the_wall_clock() {
        let c = Calendar::office_hours();
        let night = at(2026, 9, 26, 2, 0); // Saturday 02:00
        assert_eq!(c.deadline(night, 2 * HOUR, Urgency::Emergency), at(2026, 9, 26, 4, 0));
        assert_eq!(c.deadline(night, 2 * HOUR, Urgency::Routine), at(2026, 9, 28, 10, 30));
    }

    #[test]
    fn the_wall_clock_counts_everything_and_bad_calendars_are_refused() {
        let w = Calendar::wall_clock();
        assert_eq!(w.add(1_000, 5 * HOUR), 1_000 + 5 * HOUR);
        let mut c = Calendar::office_hours();
        c.periods.push(Period { start: 60, end: 30 });
        assert!(c.validate().unwrap_err().field.starts_with("periods"));
        let mut c = Calendar::office_hours();
        c.weekdays.clear();
        assert_eq!(c.validate().unwrap_err().field, "weekdays");
        let mut c = Calendar::office_hours();
        c.holidays.insert(date(2026, 1, 1));
        c.makeup_days.insert(date(2026, 1, 1));
        assert_eq!(c.validate().unwrap_err().field, "makeup_days");
    }

    #[test]
    fn the_built_in_holidays_parse_and_make_the_published_working_days() {
        let years = parse_holidays(CHINA_HOLIDAYS).unwrap();
        let y2026 = years.iter().find(|y| y.year == 2026).expect("2026 is known");
        let mut c = Calendar::office_hours();
        assert!(!c.has_holidays_of(2026));
        y2026.add_to(&mut c);
        c.validate().unwrap();
        assert!(c.has_holidays_of(2026) && !c.has_holidays_of(2027));
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        // Spring Festival: nine days off from Sunday the 15th; Saturdays the 14th and 28th worked.
        assert_eq!(y2026.days_off[1].name, "春节");
        assert!((15..=23).all(|d| !c.is_working_day(day(2, d))));
        assert!(c.is_working_day(day(2, 14)) && c.is_working_day(day(2, 28)) && c.is_working_day(day(2, 24)));
        // National Day: 1 to 7 October off, Sunday 20 September and Saturday 10 October worked.
        assert!((1..=7).all(|d| !c.is_working_day(day(10, d))));
        assert!(c.is_working_day(day(9, 20)) && c.is_working_day(day(10, 10)) && !c.is_working_day(day(10, 11)));
        assert_eq!(c.holidays.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    }

    #[test]
    fn bad_holiday_files_are_refused_with_the_reason() {
        let entry = |body: &str| format!(r#"{{"year": 2027, "source": "test", {body}}}"#);
        let year = |body: &str| format!("[{}]", entry(body));
        let refused = |text: &str| parse_holidays(text).unwrap_err().to_string();
        assert!(refused("{}").contains("not a list of years"));
        let backwards =
            year(r#""days_off": [{"name": "x", "from": "2027-02-09", "to": "2027-02-06"}], "makeup_days": []"#);
        assert!(refused(&backwards).contains("must run forwards"), "{}", refused(&backwards));
        let other_year = year(r#""days_off": [], "makeup_days": ["2026-12-31"]"#);
        assert!(refused(&other_year).contains("inside 2027"));
        let both = year(
            r#""days_off": [{"name": "x", "from": "2027-02-06", "to": "2027-02-09"}], "makeup_days": ["2027-02-07"]"#,
        );
        assert!(refused(&both).contains("not be a day off"));
        let empty = entry(r#""days_off": [], "makeup_days": []"#);
        assert!(refused(&format!("[{empty}, {empty}]")).contains("2027 is listed twice"));
    }
}
