//! Points and rewards (积分), no I/O: the rules that turn a verified report into points, the daily
//! cap, the reversal of what a reopened case earned, and the checks of the catalogue of rewards.
//!
//! The ledger is append-only: a balance is the sum of its entries, an entry is never changed.
//! [`entry_for_event`] decides what entry (if any) a case event produces, given what the reporter
//! already earned that day and what the case earned so far; the store writes it in the event's own
//! transaction.

use serde::{Deserialize, Serialize};

use crate::workflow::{optional_text, required_text};
use crate::{Action, Case, CategoryId, FieldError, NewEvent, Source, Urgency};

/// A number of points (an entry's may be negative).
pub type Points = i64;

/// The most points any one rule, entry or reward may be worth.
pub const MAX_POINTS: Points = 100_000;
/// The most rules of categories and urgencies.
pub const MAX_RULES: usize = 500;
/// The longest note of a manual entry and the longest text of a commendation.
pub const MAX_NOTE: usize = 500;

/// What an entry of the ledger records.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A report of the person's was verified on site.
    ReportVerified,
    /// A verification was reopened: exactly what the case had earned, taken back.
    Reversal,
    /// Hours of volunteering recorded by the grid's staff.
    VolunteerHours,
    /// Taking part in a consultation (议事协商), recorded by the grid's staff.
    Consultation,
    /// A reward redeemed (negative).
    Redemption,
    /// A redemption cancelled: its points given back.
    Refund,
    /// A correction by an admin, with its reason.
    Adjustment,
}

impl EntryKind {
    pub const ALL: [EntryKind; 7] = [
        EntryKind::ReportVerified,
        EntryKind::Reversal,
        EntryKind::VolunteerHours,
        EntryKind::Consultation,
        EntryKind::Redemption,
        EntryKind::Refund,
        EntryKind::Adjustment,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ReportVerified => "report_verified",
            EntryKind::Reversal => "reversal",
            EntryKind::VolunteerHours => "volunteer_hours",
            EntryKind::Consultation => "consultation",
            EntryKind::Redemption => "redemption",
            EntryKind::Refund => "refund",
            EntryKind::Adjustment => "adjustment",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", format!("`{s}` is not a kind of ledger entry")))
    }
    /// Whether the entry counts towards the day's cap of earned points.
    pub fn capped(self) -> bool {
        matches!(self, EntryKind::ReportVerified | EntryKind::VolunteerHours | EntryKind::Consultation)
    }
}

/// The points a verified report of a category (and urgency) earns; `None` matches any.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRule {
    /// The category (a subclass or a class: a class's rule covers its subclasses); none: any.
    #[serde(default)]
    pub category: Option<CategoryId>,
    /// The urgency; none: any.
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// Points earned (0 turns earning off for what the rule matches).
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 0, maximum = 100_000))]
    pub points: Points,
}

/// The rules of points, set by an admin.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRules {
    /// Points for a verified report that no rule names.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 0, maximum = 100_000))]
    pub report_verified: Points,
    /// Rules per category and urgency; the most specific one that matches wins (category and
    /// urgency, then the subclass, then its class, then the urgency alone).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub rules: Vec<PointRule>,
    /// The most points a person earns in one local day (reports, volunteering, consultations);
    /// what goes beyond is not given.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 1, maximum = 100_000))]
    pub daily_cap: Points,
    /// Points per hour of volunteering.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 0, maximum = 100_000))]
    pub volunteer_hour: Points,
    /// Points for taking part in a consultation.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 0, maximum = 100_000))]
    pub consultation: Points,
}

impl Default for PointRules {
    fn default() -> Self {
        Self { report_verified: 10, rules: vec![], daily_cap: 50, volunteer_hour: 5, consultation: 5 }
    }
}

fn points_in_range(field: &str, p: Points, min: Points) -> Result<(), FieldError> {
    if (min..=MAX_POINTS).contains(&p) {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("must be a whole number from {min} to {MAX_POINTS}")))
    }
}

impl PointRules {
    /// Refuses negative points, a cap of nothing, too many rules, and two rules for the same
    /// category and urgency.
    pub fn validate(&self) -> Result<(), FieldError> {
        points_in_range("report_verified", self.report_verified, 0)?;
        points_in_range("daily_cap", self.daily_cap, 1)?;
        points_in_range("volunteer_hour", self.volunteer_hour, 0)?;
        points_in_range("consultation", self.consultation, 0)?;
        if self.rules.len() > MAX_RULES {
            return Err(FieldError::new("rules", format!("at most {MAX_RULES} rules")));
        }
        for (i, r) in self.rules.iter().enumerate() {
            points_in_range(&format!("rules[{i}].points"), r.points, 0)?;
            if r.category.is_none() && r.urgency.is_none() {
                return Err(FieldError::new(
                    format!("rules[{i}]"),
                    "name a category or an urgency (`report_verified` covers the rest)",
                ));
            }
            if self.rules[..i].iter().any(|o| o.category == r.category && o.urgency == r.urgency) {
                return Err(FieldError::new(format!("rules[{i}]"), "another rule names the same category and urgency"));
            }
        }
        Ok(())
    }

    /// The points a verified report of `category` (whose class is `class`) and `urgency` earns.
    pub fn points_for(&self, category: Option<CategoryId>, class: Option<CategoryId>, urgency: Urgency) -> Points {
        let find = |c: Option<CategoryId>, u: Option<Urgency>| {
            self.rules.iter().find(|r| r.category == c && r.urgency == u).map(|r| r.points)
        };
        let cats = [category, class];
        cats.iter()
            .flatten()
            .find_map(|c| find(Some(*c), Some(urgency)).or_else(|| find(Some(*c), None)))
            .or_else(|| find(None, Some(urgency)))
            .unwrap_or(self.report_verified)
    }

    /// What is left of the day's cap when `earned_today` was earned already (never below 0).
    pub fn left_today(&self, earned_today: Points) -> Points {
        (self.daily_cap - earned_today).max(0)
    }
}

/// An entry the ledger should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earning {
    pub kind: EntryKind,
    pub points: Points,
}

/// Whether a case's reporter may earn points for it: a signed-in resident (or social unit) who
/// reported it themselves, and not a duplicate of another case.
pub fn earns(case: &Case) -> bool {
    case.reporter.is_some()
        && matches!(case.source, Source::Resident | Source::SocialUnit)
        && case.duplicate_of.is_none()
}

/// The entry (if any) that `event`, just written for `case` (as it is after the event), gives
/// the case's reporter: a passed verification earns by the rules, within what is left of the
/// day's cap (`earned_today`: the capped points the reporter earned that local day); a reopening
/// takes back exactly what the case has earned so far (`case_net`). Nothing for anything else —
/// a report, a rejection (duplicate, invalid, malicious), a failed verification —, nothing for
/// a case earned already (a second verification without a reopening between), nothing for a case
/// that [`earns`] nothing.
pub fn entry_for_event(
    rules: &PointRules,
    case: &Case,
    class: Option<CategoryId>,
    event: &NewEvent,
    earned_today: Points,
    case_net: Points,
) -> Option<Earning> {
    match event.action {
        Action::Reopen if case_net > 0 => Some(Earning { kind: EntryKind::Reversal, points: -case_net }),
        Action::Verify if event.data.get("passed").and_then(|p| p.as_bool()) == Some(true) => {
            if !earns(case) || case_net > 0 {
                return None;
            }
            let points = rules.points_for(case.category, class, case.urgency).min(rules.left_today(earned_today));
            (points > 0).then_some(Earning { kind: EntryKind::ReportVerified, points })
        }
        _ => None,
    }
}

/// What staff record for a person besides reports, checked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Award {
    /// Hours of volunteering (whole hours, 1 to 24 in one entry).
    VolunteerHours {
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 24))]
        hours: u32,
        #[cfg_attr(feature = "openapi", schema(max_length = 500))]
        note: Option<String>,
    },
    /// Taking part in a consultation.
    Consultation {
        #[cfg_attr(feature = "openapi", schema(max_length = 500))]
        note: Option<String>,
    },
    /// A correction by an admin (positive or negative, never zero), with its reason.
    Adjustment {
        #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = -100_000, maximum = 100_000))]
        points: Points,
        #[cfg_attr(feature = "openapi", schema(max_length = 500))]
        note: String,
    },
}

impl Award {
    /// The entry this award writes, or why not. Volunteering and consultations count towards the
    /// day's cap (`earned_today`); an adjustment does not.
    pub fn earning(&self, rules: &PointRules, earned_today: Points) -> Result<(Earning, Option<String>), FieldError> {
        match self {
            Award::VolunteerHours { hours, note } => {
                if !(1..=24).contains(hours) {
                    return Err(FieldError::new("hours", "must be a whole number from 1 to 24"));
                }
                let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
                let points = (Points::from(*hours) * rules.volunteer_hour).min(rules.left_today(earned_today));
                Ok((Earning { kind: EntryKind::VolunteerHours, points }, note))
            }
            Award::Consultation { note } => {
                let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
                let points = rules.consultation.min(rules.left_today(earned_today));
                Ok((Earning { kind: EntryKind::Consultation, points }, note))
            }
            Award::Adjustment { points, note } => {
                if *points == 0 || points.abs() > MAX_POINTS {
                    return Err(FieldError::new(
                        "points",
                        format!("must be a whole number from -{MAX_POINTS} to {MAX_POINTS}, not 0"),
                    ));
                }
                let note = required_text("note", note, MAX_NOTE)?;
                Ok((Earning { kind: EntryKind::Adjustment, points: *points }, Some(note)))
            }
        }
    }
}

/// A reward of the catalogue as an admin writes it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardData {
    /// The name (zh), 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    /// The name in English; none: the Chinese one.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name_en: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// Points it costs (1 to 100,000).
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 1, maximum = 100_000))]
    pub cost: Points,
    /// How many are left to redeem (0 to 100,000).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100_000))]
    pub stock: i64,
    /// Offered to residents now.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl RewardData {
    /// Trimmed texts, or the field that is wrong.
    pub fn checked(self) -> Result<Self, FieldError> {
        points_in_range("cost", self.cost, 1)?;
        if !(0..=MAX_POINTS).contains(&self.stock) {
            return Err(FieldError::new("stock", format!("must be a whole number from 0 to {MAX_POINTS}")));
        }
        Ok(Self {
            name: required_text("name", &self.name, 100)?,
            name_en: optional_text("name_en", self.name_en.as_deref(), 100)?,
            description: optional_text("description", self.description.as_deref(), MAX_NOTE)?,
            ..self
        })
    }
}

/// Where a redemption stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionState {
    /// Redeemed: the points are taken, the reward waits to be handed over.
    Pending,
    /// Staff handed the reward over.
    HandedOver,
    /// Cancelled before hand-over: points refunded, stock given back.
    Cancelled,
}

impl RedemptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::HandedOver => "handed_over",
            Self::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "pending" => Ok(Self::Pending),
            "handed_over" => Ok(Self::HandedOver),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(FieldError::new("state", "must be pending, handed_over or cancelled")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseState, Millis};
    use serde_json::json;

    fn case(source: Source, reporter: Option<i64>) -> Case {
        let mut c = crate::workflow::blank_case("330483".into(), 0);
        c.source = source;
        c.reporter = reporter;
        c.category = Some(12);
        c.urgency = Urgency::Routine;
        c
    }

    fn event(action: Action, data: serde_json::Value) -> NewEvent {
        NewEvent { action, at: 0 as Millis, actor: Some(9), from: None, to: CaseState::Verified, data }
    }

    fn rules() -> PointRules {
        PointRules {
            report_verified: 10,
            rules: vec![
                PointRule { category: Some(12), urgency: None, points: 20 },
                PointRule { category: Some(12), urgency: Some(Urgency::Emergency), points: 30 },
                PointRule { category: Some(1), urgency: None, points: 15 },
                PointRule { category: None, urgency: Some(Urgency::Urgent), points: 12 },
            ],
            daily_cap: 50,
            volunteer_hour: 5,
            consultation: 8,
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let r = rules();
        assert_eq!(r.points_for(Some(12), Some(1), Urgency::Emergency), 30);
        assert_eq!(r.points_for(Some(12), Some(1), Urgency::Routine), 20);
        assert_eq!(r.points_for(Some(12), Some(1), Urgency::Urgent), 20, "the category before the urgency");
        assert_eq!(r.points_for(Some(13), Some(1), Urgency::Routine), 15, "the class covers its subclasses");
        assert_eq!(r.points_for(Some(99), Some(98), Urgency::Urgent), 12);
        assert_eq!(r.points_for(Some(99), Some(98), Urgency::Routine), 10);
        assert_eq!(r.points_for(None, None, Urgency::Routine), 10);
    }

    #[test]
    fn a_passed_verification_earns_within_the_days_cap() {
        let r = rules();
        let c = case(Source::Resident, Some(1));
        let passed = event(Action::Verify, json!({ "passed": true }));
        assert_eq!(
            entry_for_event(&r, &c, None, &passed, 0, 0),
            Some(Earning { kind: EntryKind::ReportVerified, points: 20 })
        );
        assert_eq!(entry_for_event(&r, &c, None, &passed, 40, 0).unwrap().points, 10, "cut to the cap");
        assert_eq!(entry_for_event(&r, &c, None, &passed, 50, 0), None, "the cap is reached");
        assert_eq!(entry_for_event(&r, &c, None, &passed, 70, 0), None);
        // Earned already (verified twice without a reopening): nothing more.
        assert_eq!(entry_for_event(&r, &c, None, &passed, 0, 20), None);
        // Reopened since (net 0): earns again.
        assert_eq!(entry_for_event(&r, &c, None, &passed, 0, 0).unwrap().points, 20);
    }

    #[test]
    fn nothing_for_failed_verifications_rejections_and_reports() {
        let r = rules();
        let c = case(Source::Resident, Some(1));
        assert_eq!(entry_for_event(&r, &c, None, &event(Action::Verify, json!({ "passed": false })), 0, 0), None);
        for reason in ["duplicate", "invalid", "outside_area"] {
            let e = event(Action::Reject, json!({ "reason": reason }));
            assert_eq!(entry_for_event(&r, &c, None, &e, 0, 0), None, "{reason}");
        }
        for a in [Action::Report, Action::Accept, Action::Close, Action::Rate, Action::SubmitResult] {
            assert_eq!(entry_for_event(&r, &c, None, &event(a, json!({ "passed": true })), 0, 0), None, "{a:?}");
        }
    }

    #[test]
    fn only_signed_in_residents_reporting_themselves_earn() {
        let r = rules();
        let passed = event(Action::Verify, json!({ "passed": true }));
        assert!(entry_for_event(&r, &case(Source::SocialUnit, Some(1)), None, &passed, 0, 0).is_some());
        for (source, reporter) in [
            (Source::Resident, None),
            (Source::GridMember, Some(1)),
            (Source::Hotline, Some(1)),
            (Source::Exchange, Some(1)),
        ] {
            assert_eq!(entry_for_event(&r, &case(source, reporter), None, &passed, 0, 0), None, "{source:?}");
        }
        let mut dup = case(Source::Resident, Some(1));
        dup.duplicate_of = Some(77);
        assert_eq!(entry_for_event(&r, &dup, None, &passed, 0, 0), None, "a duplicate earns nothing");
        let zero = PointRules { report_verified: 0, rules: vec![], ..rules() };
        assert_eq!(entry_for_event(&zero, &case(Source::Resident, Some(1)), None, &passed, 0, 0), None);
    }

    #[test]
    fn a_reopening_reverses_exactly_what_the_case_earned() {
        let r = rules();
        let c = case(Source::Resident, Some(1));
        let reopen = event(Action::Reopen, json!({ "reason": "still broken" }));
        assert_eq!(
            entry_for_event(&r, &c, None, &reopen, 0, 17),
            Some(Earning { kind: EntryKind::Reversal, points: -17 })
        );
        // Nothing earned (never verified, or reversed already): nothing to reverse.
        assert_eq!(entry_for_event(&r, &c, None, &reopen, 0, 0), None);
        // Whoever reported it: a case that earned is reversed even if it would not earn now.
        let mut dup = c.clone();
        dup.duplicate_of = Some(3);
        assert_eq!(entry_for_event(&r, &dup, None, &reopen, 0, 5).unwrap().points, -5);
    }

    #[test]
    fn rules_are_checked() {
        assert!(rules().validate().is_ok());
        assert!(PointRules::default().validate().is_ok());
        let bad = |f: fn(&mut PointRules)| {
            let mut r = rules();
            f(&mut r);
            r.validate().unwrap_err().field
        };
        assert_eq!(bad(|r| r.report_verified = -1), "report_verified");
        assert_eq!(bad(|r| r.daily_cap = 0), "daily_cap");
        assert_eq!(bad(|r| r.volunteer_hour = MAX_POINTS + 1), "volunteer_hour");
        assert_eq!(bad(|r| r.rules[1].points = -3), "rules[1].points");
        assert_eq!(bad(|r| r.rules.push(PointRule { category: None, urgency: None, points: 1 })), "rules[4]");
        assert_eq!(bad(|r| r.rules.push(PointRule { category: Some(12), urgency: None, points: 1 })), "rules[4]");
    }

    #[test]
    fn awards_count_towards_the_cap_and_adjustments_need_a_reason() {
        let r = rules();
        let (e, _) = Award::VolunteerHours { hours: 3, note: None }.earning(&r, 0).unwrap();
        assert_eq!(e, Earning { kind: EntryKind::VolunteerHours, points: 15 });
        assert_eq!(Award::VolunteerHours { hours: 3, note: None }.earning(&r, 45).unwrap().0.points, 5);
        assert_eq!(Award::VolunteerHours { hours: 0, note: None }.earning(&r, 0).unwrap_err().field, "hours");
        assert_eq!(
            Award::Consultation { note: Some(" 议事 ".into()) }.earning(&r, 0).unwrap().1.as_deref(),
            Some("议事")
        );
        let adj = Award::Adjustment { points: -30, note: "重复录入".into() }.earning(&r, 50).unwrap();
        assert_eq!(adj.0, Earning { kind: EntryKind::Adjustment, points: -30 });
        assert_eq!(Award::Adjustment { points: 5, note: " ".into() }.earning(&r, 0).unwrap_err().field, "note");
        assert_eq!(Award::Adjustment { points: 0, note: "x".into() }.earning(&r, 0).unwrap_err().field, "points");
    }

    #[test]
    fn rewards_are_checked() {
        let ok =
            RewardData {
                name: " 环保袋 ".into(), name_en: None, description: None, cost: 50, stock: 10, active: true
            };
        assert_eq!(ok.clone().checked().unwrap().name, "环保袋");
        assert_eq!(RewardData { cost: 0, ..ok.clone() }.checked().unwrap_err().field, "cost");
        assert_eq!(RewardData { stock: -1, ..ok.clone() }.checked().unwrap_err().field, "stock");
        assert_eq!(RewardData { name: "".into(), ..ok }.checked().unwrap_err().field, "name");
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Ok(k));
        }
    }
}
