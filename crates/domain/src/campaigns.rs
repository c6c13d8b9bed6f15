//! Special rectification campaigns (专项整治): a named campaign over a region (a district, street
//! or community) for a period selects places by kind, risk level and region — and/or rental
//! houses —, gives each one a campaign task due by a date, counts the inspections made while a
//! task is open, and shows its progress on a board (docs/MEASURES.md). What may be written and
//! how the board counts; no I/O.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::registry::{id_type, is_key, RiskLevel};
use crate::{required_text, FieldError, Millis, RegionCode, RegionLevel};

id_type!(
    /// A special rectification campaign.
    CampaignId
);

/// A campaign lasts at most this many days.
pub const MAX_DAYS: i64 = 366;
/// Kinds of place a campaign selects, at most.
pub const MAX_KINDS: usize = 20;
/// The zone of the dates of a campaign (UTC+8).
pub const UTC_OFFSET_HOURS: i32 = 8;

/// A campaign as the linkage center or an admin writes it, checked: what [`CampaignDraft::checked`]
/// returns.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDraft {
    /// At most 100 characters.
    pub name: String,
    /// A district, street or community.
    pub region: RegionCode,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// When each task is due: the campaign's last day unless a day within the period is given.
    pub due_on: NaiveDate,
    /// Kinds of place (registry keys), each once; empty with `houses` for houses only.
    pub kinds: Vec<String>,
    /// Risk levels of the places selected; empty: every level.
    pub risks: Vec<RiskLevel>,
    /// Whether rental houses are selected too.
    pub houses: bool,
}

impl CampaignDraft {
    /// The draft checked, or the refusal naming the field: a name; a region that is a district,
    /// street or community; an end on or after the start, at most [`MAX_DAYS`] long, not already
    /// past on `today`; a due day within the period; a selection that is not empty (`kinds`).
    #[allow(clippy::too_many_arguments)]
    pub fn checked(
        name: &str,
        region: RegionCode,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        due_on: Option<NaiveDate>,
        mut kinds: Vec<String>,
        mut risks: Vec<RiskLevel>,
        houses: bool,
        today: NaiveDate,
    ) -> Result<Self, FieldError> {
        let name = required_text("name", name, 100)?;
        if region.level() == RegionLevel::Grid {
            return Err(FieldError::new(
                "region",
                "a campaign covers a district, a street or a community, not one grid",
            ));
        }
        if ends_on < starts_on {
            return Err(FieldError::new("ends_at", "a campaign ends on or after the day it starts"));
        }
        if (ends_on - starts_on).num_days() + 1 > MAX_DAYS {
            return Err(FieldError::new("ends_at", format!("a campaign lasts at most {MAX_DAYS} days")));
        }
        if ends_on < today {
            return Err(FieldError::new("ends_at", "lies in the past"));
        }
        let due_on = due_on.unwrap_or(ends_on);
        if due_on < starts_on || due_on > ends_on {
            return Err(FieldError::new("due_at", "the tasks fall due within the campaign's period"));
        }
        for (i, k) in kinds.iter_mut().enumerate() {
            *k = k.trim().to_string();
            if !is_key(k) {
                return Err(FieldError::new(
                    format!("kinds[{i}]"),
                    "is a kind of place: lower-case letters, digits and `_`",
                ));
            }
        }
        if kinds.len() > MAX_KINDS {
            return Err(FieldError::new("kinds", format!("at most {MAX_KINDS} kinds")));
        }
        kinds.sort();
        kinds.dedup();
        risks.sort();
        risks.dedup();
        if kinds.is_empty() && !houses {
            return Err(FieldError::new("kinds", "select at least one kind of place, or rental houses"));
        }
        Ok(CampaignDraft { name, region, starts_on, ends_on, due_on, kinds, risks, houses })
    }

    /// The instant the campaign begins: the start of its first day.
    pub fn starts_at(&self) -> Millis {
        day_start(self.starts_on)
    }

    /// The instant it ends: the end of its last day.
    pub fn ends_at(&self) -> Millis {
        day_start(self.ends_on) + crate::time::DAY - 1
    }

    /// When its tasks are due: the end of the due day.
    pub fn due_at(&self) -> Millis {
        day_start(self.due_on) + crate::time::DAY - 1
    }
}

/// The instant (UTC) a local day begins.
pub fn day_start(d: NaiveDate) -> Millis {
    let days = i64::from(d.num_days_from_ce()) - 719_163;
    crate::time::local_day_start(days, UTC_OFFSET_HOURS)
}

/// Where a campaign stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Its first day has not come.
    Upcoming,
    /// Running: inspections of its subjects count for it.
    Running,
    /// Past its last day.
    Ended,
    /// Closed early by the linkage center or an admin.
    Closed,
}

impl CampaignStatus {
    /// The status at `now` of a campaign running from `starts_at` to `ends_at`, closed at `closed_at`.
    pub fn at(now: Millis, starts_at: Millis, ends_at: Millis, closed_at: Option<Millis>) -> Self {
        match closed_at {
            Some(c) if c <= now => CampaignStatus::Closed,
            _ if now < starts_at => CampaignStatus::Upcoming,
            _ if now > ends_at => CampaignStatus::Ended,
            _ => CampaignStatus::Running,
        }
    }

    /// Whether an inspection made now counts for the campaign.
    pub fn open(self) -> bool {
        self == CampaignStatus::Running
    }
}

/// The counts of a campaign board for a grid, a community or the whole campaign
/// (docs/MEASURES.md, "Campaign board").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCounts {
    /// Places and houses selected (one task each).
    pub subjects: u32,
    /// Tasks whose subject was inspected while the campaign ran.
    pub inspected: u32,
    /// Inspected subjects whose campaign inspection failed at least one item.
    pub failed: u32,
    /// Hazards the campaign inspections opened.
    pub hazards: u32,
    /// Of those, hazards put right (their case closed).
    pub rectified: u32,
    /// Tasks not inspected by their due day: still not inspected after it, or inspected late.
    pub overdue: u32,
    /// Hazards still open past their rectification deadline.
    pub hazards_overdue: u32,
}

impl BoardCounts {
    pub fn add(&mut self, o: &BoardCounts) {
        self.subjects += o.subjects;
        self.inspected += o.inspected;
        self.failed += o.failed;
        self.hazards += o.hazards;
        self.rectified += o.rectified;
        self.overdue += o.overdue;
        self.hazards_overdue += o.hazards_overdue;
    }

    /// Inspected ÷ selected, in percent (0 when nothing is selected).
    pub fn inspected_pct(&self) -> f64 {
        pct(self.inspected, self.subjects)
    }

    /// Rectified ÷ hazards, in percent (100 when no hazard was found: nothing is left to put right).
    pub fn rectified_pct(&self) -> f64 {
        if self.hazards == 0 {
            100.0
        } else {
            pct(self.rectified, self.hazards)
        }
    }
}

fn pct(n: u32, d: u32) -> f64 {
    if d == 0 {
        0.0
    } else {
        (f64::from(n) * 1000.0 / f64::from(d)).round() / 10.0
    }
}

/// One task's part of the board at `now`: `due_at` its due instant, `inspected_at` when its
/// campaign inspection was made, `failed` whether that inspection failed an item.
pub fn task_counts(due_at: Millis, inspected_at: Option<Millis>, failed: bool, now: Millis) -> BoardCounts {
    BoardCounts {
        subjects: 1,
        inspected: u32::from(inspected_at.is_some()),
        failed: u32::from(inspected_at.is_some() && failed),
        overdue: u32::from(due_at < inspected_at.unwrap_or(now)),
        ..Default::default()
    }
}

/// One hazard's part of the board at `now`: put right when its case is closed; overdue when open
/// past its deadline.
pub fn hazard_counts(closed: bool, handle_by: Option<Millis>, now: Millis) -> BoardCounts {
    BoardCounts {
        hazards: 1,
        rectified: u32::from(closed),
        hazards_overdue: u32::from(!closed && handle_by.is_some_and(|d| d < now)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn town() -> RegionCode {
        RegionCode::parse("330483101").unwrap()
    }
    fn draft(
        start: &str,
        end: &str,
        due: Option<&str>,
        kinds: &[&str],
        houses: bool,
    ) -> Result<CampaignDraft, FieldError> {
        CampaignDraft::checked(
            " 三小场所消防安全专项整治 ",
            town(),
            d(start),
            d(end),
            due.map(d),
            kinds.iter().map(|k| k.to_string()).collect(),
            vec![RiskLevel::High, RiskLevel::Medium, RiskLevel::High],
            houses,
            d("2026-12-01"),
        )
    }

    #[test]
    fn a_draft_names_its_first_fault() {
        let ok = draft("2026-12-01", "2027-01-31", None, &["shop", "restaurant", "shop"], false).unwrap();
        assert_eq!(ok.name, "三小场所消防安全专项整治");
        assert_eq!(ok.kinds, ["restaurant", "shop"]);
        assert_eq!(ok.risks, [RiskLevel::Medium, RiskLevel::High]);
        assert_eq!(ok.due_on, d("2027-01-31"));
        assert!(draft("2026-12-01", "2026-12-01", None, &[], true).is_ok());
        let field = |r: Result<CampaignDraft, FieldError>| r.unwrap_err().field;
        assert_eq!(field(draft("2026-12-01", "2026-12-31", None, &[], false)), "kinds");
        assert_eq!(field(draft("2026-12-10", "2026-12-09", None, &["shop"], false)), "ends_at");
        assert_eq!(field(draft("2026-12-01", "2027-12-02", None, &["shop"], false)), "ends_at");
        assert_eq!(field(draft("2026-11-01", "2026-11-30", None, &["shop"], false)), "ends_at");
        assert_eq!(field(draft("2026-12-01", "2026-12-31", Some("2027-01-02"), &["shop"], false)), "due_at");
        assert_eq!(field(draft("2026-12-01", "2026-12-31", None, &["Shop"], false)), "kinds[0]");
        let grid = RegionCode::parse("330483101001001").unwrap();
        let e = CampaignDraft::checked(
            "x",
            grid,
            d("2026-12-01"),
            d("2026-12-02"),
            None,
            vec![],
            vec![],
            true,
            d("2026-12-01"),
        );
        assert_eq!(e.unwrap_err().field, "region");
        let e = CampaignDraft::checked(
            " ",
            town(),
            d("2026-12-01"),
            d("2026-12-02"),
            None,
            vec![],
            vec![],
            true,
            d("2026-12-01"),
        );
        assert_eq!(e.unwrap_err().field, "name");
    }

    #[test]
    fn the_period_runs_from_the_first_local_morning_to_the_last_local_midnight() {
        let c = draft("2026-12-01", "2026-12-31", Some("2026-12-15"), &["shop"], false).unwrap();
        // 2026-12-01T00:00+08:00 is 2026-11-30T16:00Z.
        assert_eq!(crate::time::to_rfc3339(c.starts_at()), "2026-11-30T16:00:00.000Z");
        assert_eq!(crate::time::to_rfc3339(c.ends_at()), "2026-12-31T15:59:59.999Z");
        assert_eq!(crate::time::to_rfc3339(c.due_at()), "2026-12-15T15:59:59.999Z");
        let (s, e) = (c.starts_at(), c.ends_at());
        assert_eq!(CampaignStatus::at(s - 1, s, e, None), CampaignStatus::Upcoming);
        assert_eq!(CampaignStatus::at(s, s, e, None), CampaignStatus::Running);
        assert_eq!(CampaignStatus::at(e + 1, s, e, None), CampaignStatus::Ended);
        assert_eq!(CampaignStatus::at(s + 5, s, e, Some(s + 3)), CampaignStatus::Closed);
        // Closed later than now (a clock that is behind) is still running now.
        assert!(CampaignStatus::at(s + 2, s, e, Some(s + 3)).open());
    }

    #[test]
    fn the_board_counts_each_task_and_hazard_by_the_formulas() {
        let (due, now) = (100, 200);
        let mut all = BoardCounts::default();
        all.add(&task_counts(due, None, false, now)); // not inspected, past due
        all.add(&task_counts(due, None, false, 50)); // not inspected, not yet due
        all.add(&task_counts(due, Some(90), true, now)); // failed on time
        all.add(&task_counts(due, Some(150), false, now)); // passed, late
        all.add(&hazard_counts(true, Some(120), now));
        all.add(&hazard_counts(false, Some(180), now));
        all.add(&hazard_counts(false, Some(300), now));
        assert_eq!(
            all,
            BoardCounts {
                subjects: 4,
                inspected: 2,
                failed: 1,
                hazards: 3,
                rectified: 1,
                overdue: 2,
                hazards_overdue: 1
            }
        );
        assert_eq!((all.inspected_pct(), all.rectified_pct()), (50.0, 33.3));
        assert_eq!((BoardCounts::default().inspected_pct(), BoardCounts::default().rectified_pct()), (0.0, 100.0));
    }
}
