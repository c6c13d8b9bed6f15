//! The five teams (五支队伍), no I/O: party workers, grid members, auxiliary police, security
//! guards and volunteers, as groups of people of a grid or a community. Each member holds duties
//! (patrol, inspect, report) that reach the policy through [`crate::Actor::teams`]; volunteers log
//! service hours, which the team's leader or a grid leader confirms (confirmed hours earn points by
//! the rules of [`crate::points`]); the measures per team and person (docs/MEASURES.md).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{FieldError, Millis, RegionCode, RegionLevel};

/// The kind of a team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// 党员: party workers.
    PartyWorkers,
    /// 网格员: grid members.
    GridMembers,
    /// 辅警: auxiliary police.
    AuxiliaryPolice,
    /// 保安: security guards.
    SecurityGuards,
    /// 志愿者: volunteers.
    Volunteers,
}

impl TeamKind {
    pub const ALL: [TeamKind; 5] = [
        TeamKind::PartyWorkers,
        TeamKind::GridMembers,
        TeamKind::AuxiliaryPolice,
        TeamKind::SecurityGuards,
        TeamKind::Volunteers,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TeamKind::PartyWorkers => "party_workers",
            TeamKind::GridMembers => "grid_members",
            TeamKind::AuxiliaryPolice => "auxiliary_police",
            TeamKind::SecurityGuards => "security_guards",
            TeamKind::Volunteers => "volunteers",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", format!("`{s}` is not a kind of team")))
    }
    /// The team's usual name in Chinese (党员队伍, …).
    pub fn name_zh(self) -> &'static str {
        match self {
            TeamKind::PartyWorkers => "党员队伍",
            TeamKind::GridMembers => "网格员队伍",
            TeamKind::AuxiliaryPolice => "辅警队伍",
            TeamKind::SecurityGuards => "保安队伍",
            TeamKind::Volunteers => "志愿者队伍",
        }
    }
}

/// What a member may do for the team in its region.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// Walk the region's grids on patrol ([`crate::Permission::Patrol`]).
    Patrol,
    /// Inspect the places of the region ([`crate::Permission::InspectPlaces`]).
    Inspect,
    /// Report problems as a member of the team (the report names the team).
    Report,
}

impl Duty {
    pub const ALL: [Duty; 3] = [Duty::Patrol, Duty::Inspect, Duty::Report];
    pub fn as_str(self) -> &'static str {
        match self {
            Duty::Patrol => "patrol",
            Duty::Inspect => "inspect",
            Duty::Report => "report",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| FieldError::new("duties", format!("`{s}` is not a duty; one of patrol, inspect, report")))
    }
}

/// A set of duties from their names (the field `duties`): sorted, each once.
pub fn parse_duties<S: AsRef<str>>(names: &[S]) -> Result<Vec<Duty>, FieldError> {
    let mut out = names.iter().map(|s| Duty::parse(s.as_ref().trim())).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Duties as stored: `patrol,report`.
pub fn duties_text(duties: &[Duty]) -> String {
    duties.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(",")
}

/// A person's seat in a team as the policy sees it: the team, where it works, the person's
/// duties there and whether they lead it. Loaded with the grants for current memberships only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRole {
    pub team: i64,
    pub kind: TeamKind,
    /// The team's grid or community.
    pub region: RegionCode,
    pub duties: Vec<Duty>,
    pub leader: bool,
}

impl TeamRole {
    /// Whether this seat carries `duty` in a region covering `region`.
    pub fn serves(&self, duty: Duty, region: &RegionCode) -> bool {
        self.duties.contains(&duty) && self.region.contains(region)
    }
}

/// The team a report in `grid` is made for: the first of the actor's seats with the report duty
/// covering the grid (the report event's `team`).
pub fn reporting_team(actor: &crate::Actor, grid: &RegionCode) -> Option<i64> {
    actor.teams.iter().filter(|t| t.serves(Duty::Report, grid)).map(|t| t.team).min()
}

/// A team's region must be a grid or a community.
pub fn check_region(region: &RegionCode) -> Result<(), FieldError> {
    if matches!(region.level(), RegionLevel::Grid | RegionLevel::Community) {
        Ok(())
    } else {
        Err(FieldError::new("region", "a team works in a grid or a community"))
    }
}

/// The state of a service log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Awaiting confirmation; earns nothing yet.
    Pending,
    /// Confirmed by the team's leader or a grid leader: earned points by the rules.
    Confirmed,
    /// Refused, with a reason: earns nothing.
    Refused,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Pending => "pending",
            ServiceState::Confirmed => "confirmed",
            ServiceState::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        [ServiceState::Pending, ServiceState::Confirmed, ServiceState::Refused]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("state", format!("`{s}` is not a state of a service log")))
    }
}

/// The most hours one person logs for one day, all logs together.
pub const MAX_DAY_HOURS: i64 = 24;
/// How many days back service may be logged.
pub const LOG_WITHIN_DAYS: i64 = 90;
/// The longest description of what was done.
pub const MAX_WHAT: usize = 200;

/// Checks the hours of a new log: a whole number above 0, and with what the person logged for
/// that day already (`logged_that_day`, refused logs left out) at most 24.
pub fn check_hours(hours: i64, logged_that_day: i64) -> Result<u32, FieldError> {
    if !(1..=MAX_DAY_HOURS).contains(&hours) {
        return Err(FieldError::new("hours", "must be a whole number of hours from 1 to 24"));
    }
    if hours + logged_that_day > MAX_DAY_HOURS {
        return Err(FieldError::new(
            "hours",
            format!("{logged_that_day} hours are logged for that day already; a day has 24"),
        ));
    }
    Ok(hours as u32)
}

/// A service date: not in the future and at most [`LOG_WITHIN_DAYS`] back.
pub fn check_service_date(date: NaiveDate, today: NaiveDate) -> Result<(), FieldError> {
    if date > today {
        return Err(FieldError::new("date", "service is logged once it was done, not before"));
    }
    if (today - date).num_days() > LOG_WITHIN_DAYS {
        return Err(FieldError::new("date", format!("service is logged within {LOG_WITHIN_DAYS} days")));
    }
    Ok(())
}

/// Parses a date `YYYY-MM-DD` of field `field`.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("`{s}` is not a date like 2026-12-17")))
}

/// A membership's period: it ends on or after the day it began.
pub fn check_period(joined: NaiveDate, left: Option<NaiveDate>) -> Result<(), FieldError> {
    match left {
        Some(l) if l < joined => Err(FieldError::new("left", "a member leaves on or after the day they joined")),
        _ => Ok(()),
    }
}

/// The local (UTC+8) date of an instant.
pub fn local_date(at: Millis) -> NaiveDate {
    let day = crate::time::local_day(at, 8);
    NaiveDate::from_num_days_from_ce_opt((day + 719_163) as i32).unwrap_or_default()
}

/// A month `YYYY-MM` and its first and last day.
pub fn parse_month(field: &str, s: &str) -> Result<(NaiveDate, NaiveDate), FieldError> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("`{s}` is not a month like 2026-12")))?;
    Ok((first, month_end(first)))
}

/// The last day of the month of `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|n| n.pred_opt()).unwrap_or(d)
}

/// The months from the month of `from` to that of `to`, both included (at most 36).
pub fn months(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, FieldError> {
    let mut out = vec![];
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        out.push(m);
        if out.len() > 36 {
            return Err(FieldError::new("to", "at most 36 months at once"));
        }
        m = month_end(m).succ_opt().unwrap_or(m);
    }
    if out.is_empty() {
        return Err(FieldError::new("to", "ends before it begins"));
    }
    Ok(out)
}

/// Whether a membership of `[joined, left]` overlaps `[first, last]`.
pub fn active_between(joined: NaiveDate, left: Option<NaiveDate>, first: NaiveDate, last: NaiveDate) -> bool {
    joined <= last && left.is_none_or(|l| l >= first)
}

/// The figures of a team or a person in one month.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Members whose membership overlaps the month (for a person: 1 when they were a member).
    pub members_active: i64,
    /// Hours logged for days of the month, refused logs left out.
    pub hours_logged: i64,
    /// Hours confirmed among them.
    pub hours_confirmed: i64,
    /// Cases reported in the month by people while they were members.
    pub cases_reported: i64,
}

/// A membership as the measures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpan {
    pub person: i64,
    pub joined: NaiveDate,
    pub left: Option<NaiveDate>,
}

impl MemberSpan {
    pub fn on(&self, d: NaiveDate) -> bool {
        self.joined <= d && self.left.is_none_or(|l| l >= d)
    }
}

/// A service log as the measures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedHours {
    pub person: i64,
    pub date: NaiveDate,
    pub hours: i64,
    pub state: ServiceState,
}

/// The figures of the people `members` (the team's memberships, or one person's), month by
/// month (docs/MEASURES.md): members active, hours logged (refused left out) and confirmed, and
/// the cases reported (`reports`: reporter and local date) by a person on a day they were a member.
pub fn figures(
    months: &[NaiveDate],
    members: &[MemberSpan],
    logs: &[LoggedHours],
    reports: &[(i64, NaiveDate)],
) -> Vec<MonthFigures> {
    months
        .iter()
        .map(|&first| {
            let last = month_end(first);
            let within = |d: NaiveDate| d >= first && d <= last;
            let mut active: Vec<i64> =
                members.iter().filter(|m| active_between(m.joined, m.left, first, last)).map(|m| m.person).collect();
            active.sort_unstable();
            active.dedup();
            let logged = logs.iter().filter(|l| within(l.date) && l.state != ServiceState::Refused);
            let hours_logged = logged.clone().map(|l| l.hours).sum();
            let hours_confirmed = logged.filter(|l| l.state == ServiceState::Confirmed).map(|l| l.hours).sum();
            let cases_reported = reports
                .iter()
                .filter(|(p, d)| within(*d) && members.iter().any(|m| m.person == *p && m.on(*d)))
                .count() as i64;
            MonthFigures {
                month: first.format("%Y-%m").to_string(),
                members_active: active.len() as i64,
                hours_logged,
                hours_confirmed,
                cases_reported,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date("date", s).unwrap()
    }

    #[test]
    fn kinds_and_duties_parse_and_name_their_field() {
        for k in TeamKind::ALL {
            assert_eq!(TeamKind::parse(k.as_str()), Ok(k));
        }
        assert_eq!(TeamKind::parse("army").unwrap_err().field, "kind");
        assert_eq!(parse_duties(&["report", "patrol", "report"]), Ok(vec![Duty::Patrol, Duty::Report]));
        assert_eq!(parse_duties(&["fly"]).unwrap_err().field, "duties");
        assert_eq!(duties_text(&[Duty::Patrol, Duty::Inspect]), "patrol,inspect");
        assert_eq!(parse_duties::<&str>(&[]), Ok(vec![]));
    }

    #[test]
    fn hours_are_whole_and_a_day_has_twenty_four() {
        assert_eq!(check_hours(3, 0), Ok(3));
        assert_eq!(check_hours(24, 0), Ok(24));
        for bad in [0, -1, 25] {
            assert_eq!(check_hours(bad, 0).unwrap_err().field, "hours");
        }
        assert_eq!(check_hours(5, 20).unwrap_err().field, "hours");
        assert_eq!(check_hours(4, 20), Ok(4));
    }

    #[test]
    fn dates_periods_and_months() {
        let today = d("2026-12-17");
        assert!(check_service_date(today, today).is_ok());
        assert_eq!(check_service_date(d("2026-12-18"), today).unwrap_err().field, "date");
        assert_eq!(check_service_date(d("2026-09-01"), today).unwrap_err().field, "date");
        assert_eq!(parse_date("joined", "2026-13-01").unwrap_err().field, "joined");
        assert!(check_period(d("2026-01-01"), None).is_ok());
        assert_eq!(check_period(d("2026-02-01"), Some(d("2026-01-31"))).unwrap_err().field, "left");
        assert_eq!(month_end(d("2026-02-10")), d("2026-02-28"));
        assert_eq!(month_end(d("2026-12-01")), d("2026-12-31"));
        assert_eq!(parse_month("from", "2026-02"), Ok((d("2026-02-01"), d("2026-02-28"))));
        assert_eq!(months(d("2025-11-05"), d("2026-02-01")).unwrap().len(), 4);
        assert_eq!(months(d("2026-02-01"), d("2026-01-01")).unwrap_err().field, "to");
        // 2026-12-16T16:00Z is midnight of the 17th in China.
        assert_eq!(local_date(1_797_436_800_000), d("2026-12-17"));
        assert_eq!(local_date(1_797_436_800_000 - 1), d("2026-12-16"));
    }

    #[test]
    fn a_member_with_the_report_duty_reports_as_the_team_where_it_works() {
        use crate::{report, NewReport, Role};
        let grid = RegionCode::parse("330483101001001").unwrap();
        let seat = |team, duties: &[Duty]| TeamRole {
            team,
            kind: TeamKind::Volunteers,
            region: RegionCode::parse("330483101001").unwrap(),
            duties: duties.to_vec(),
            leader: false,
        };
        let resident = crate::Actor::person(
            5,
            vec![crate::Grant::new(Role::Resident, crate::Scope::parse("region:330483").unwrap()).unwrap()],
        );
        let new = || {
            let mut r = NewReport::new("330483", Some(crate::LatLon { lat: 30.0, lon: 120.0 }), "井盖缺失");
            r.grid = Some(grid.clone());
            r
        };
        let reported = |a: &crate::Actor| report(a, new(), 0).unwrap().event.data.get("team").cloned();
        assert_eq!(reported(&resident), None);
        assert_eq!(reported(&resident.clone().with_teams(vec![seat(4, &[Duty::Patrol])])), None);
        let member = resident.with_teams(vec![seat(9, &[Duty::Report]), seat(4, &[Duty::Report, Duty::Patrol])]);
        assert_eq!(reported(&member), Some(serde_json::json!(4)));
        assert_eq!(reporting_team(&member, &RegionCode::parse("330483101002001").unwrap()), None);
    }

    #[test]
    fn regions_of_teams_are_grids_and_communities() {
        assert!(check_region(&RegionCode::parse("330483101001").unwrap()).is_ok());
        assert!(check_region(&RegionCode::parse("330483101001001").unwrap()).is_ok());
        assert_eq!(check_region(&RegionCode::parse("330483101").unwrap()).unwrap_err().field, "region");
    }

    #[test]
    fn figures_count_members_hours_and_reports_by_month() {
        let members = [
            MemberSpan { person: 1, joined: d("2026-01-10"), left: None },
            MemberSpan { person: 2, joined: d("2026-01-01"), left: Some(d("2026-01-31")) },
        ];
        let log = |person, date, hours, state| LoggedHours { person, date: d(date), hours, state };
        let logs = [
            log(1, "2026-01-12", 3, ServiceState::Confirmed),
            log(1, "2026-01-13", 2, ServiceState::Pending),
            log(2, "2026-01-20", 4, ServiceState::Refused),
            log(1, "2026-02-01", 5, ServiceState::Confirmed),
        ];
        // Person 1 reported before joining (not counted) and after; person 2 after leaving (not).
        let reports = [(1, d("2026-01-05")), (1, d("2026-01-15")), (2, d("2026-02-03")), (1, d("2026-02-20"))];
        let f = figures(&[d("2026-01-01"), d("2026-02-01")], &members, &logs, &reports);
        assert_eq!(
            f[0],
            MonthFigures {
                month: "2026-01".into(),
                members_active: 2,
                hours_logged: 5,
                hours_confirmed: 3,
                cases_reported: 1
            }
        );
        assert_eq!(
            f[1],
            MonthFigures {
                month: "2026-02".into(),
                members_active: 1,
                hours_logged: 5,
                hours_confirmed: 5,
                cases_reported: 1
            }
        );
    }
}
