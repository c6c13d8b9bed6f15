//! Field inspections (检查): check lists per kind of place or house, versioned (an inspection
//! keeps the version it answered); an inspection answers every item of one version with pass,
//! fail or not applicable; a failed item becomes a hazard case ([`crate::find_hazard`]) and a
//! later inspection of the same subject judges its rectification ([`crate::Command::Reinspect`]).
//! Plans say how often each kind is inspected at each risk level. What may be written; no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::registry::{code_enum, id_type, RiskLevel};
use crate::{optional_text, required_text, Calendar, FieldError, LatLon, MediaId, Millis};

id_type!(
    /// A check list (检查表), across its versions.
    ChecklistId,
    /// One inspection of a place or house.
    InspectionId
);

code_enum!(
    /// What an inspection looks at: a place of the registry, or a house (a rental's safety).
    SubjectKind, "subject" {
        Place = "place",
        House = "house",
    }
);

code_enum!(
    /// The answer to one item.
    Outcome, "outcome" {
        Pass = "pass",
        Fail = "fail",
        NotApplicable = "not_applicable",
    }
);

code_enum!(
    /// How grave a failed item is.
    Severity, "severity" {
        Minor = "minor",
        Major = "major",
        Critical = "critical",
    }
);

code_enum!(
    /// Why an inspection was made.
    InspectionKind, "kind" {
        /// On the plan, or whenever a grid member passes by.
        Routine = "routine",
        /// A social unit's inspection of its own place.
        #[serde(rename = "self")]
        SelfInspection = "self",
        /// A grid member's check of a social unit's self-inspection.
        SpotCheck = "spot_check",
    }
);

/// Items per check list, at most.
pub const MAX_ITEMS: usize = 200;
/// Photos per item, at most.
pub const MAX_PHOTOS: usize = 9;
/// Never-inspected subjects are due this many days after they were registered, at the latest.
pub const FIRST_WITHIN_DAYS: u32 = 30;

/// One item of a check list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Unique within the check list, kept across its versions (`F01`): how a re-inspection finds
    /// the item a hazard came from. Letters, digits, `-` and `_`, at most 16.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,16}$"))]
    pub code: String,
    /// What to check, as the inspector reads it (at most 200 characters).
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub text: String,
    /// The same in English (at most 300 characters; may be empty).
    #[serde(default)]
    pub text_en: String,
    pub severity: Severity,
    /// Whether a failure must come with a photo.
    #[serde(default)]
    pub photo_on_fail: bool,
    /// Working days the place has to put a failure right (1 to 365).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub rectify_days: u16,
    /// The code of the hazard category (a subclass of kind `hazard`) a failure is filed under:
    /// it decides the department that answers for it.
    pub category: String,
}

/// A check list as written: what it applies to and its items.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistDraft {
    /// At most 100 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub subject: SubjectKind,
    /// The kind of place (its key in the registry's place kinds) or the use of house (`rental`)
    /// it applies to. One current check list per kind.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]{0,39}$"))]
    pub kind: String,
    /// 1 to 200 items, codes unique.
    pub items: Vec<ChecklistItem>,
}

impl ChecklistDraft {
    /// The draft with its texts trimmed, or the refusal naming the field. `is_hazard_category`
    /// says whether a code is a hazard subclass with a department to answer for it.
    pub fn checked(mut self, is_hazard_category: impl Fn(&str) -> bool) -> Result<Self, FieldError> {
        self.name = required_text("name", &self.name, 100)?;
        self.name_en = optional_text("name_en", Some(&self.name_en), 150)?.unwrap_or_default();
        if !crate::registry::is_key(&self.kind) {
            return Err(FieldError::new(
                "kind",
                "is a key: lower-case letters, digits and `_`, starting with a letter",
            ));
        }
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(FieldError::new("items", format!("a check list has 1 to {MAX_ITEMS} items")));
        }
        let mut codes = BTreeSet::new();
        for (i, item) in self.items.iter_mut().enumerate() {
            let field = |f: &str| format!("items[{i}].{f}");
            item.code = item.code.trim().to_string();
            let code_ok = !item.code.is_empty()
                && item.code.len() <= 16
                && item.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !code_ok {
                return Err(FieldError::new(field("code"), "1 to 16 letters, digits, `-` or `_`"));
            }
            if !codes.insert(item.code.clone()) {
                return Err(FieldError::new(field("code"), format!("`{}` is used by an earlier item", item.code)));
            }
            item.text = required_text(&field("text"), &item.text, 200)?;
            item.text_en = optional_text(&field("text_en"), Some(&item.text_en), 300)?.unwrap_or_default();
            if !(1..=365).contains(&item.rectify_days) {
                return Err(FieldError::new(field("rectify_days"), "must be between 1 and 365"));
            }
            item.category = item.category.trim().to_string();
            if !is_hazard_category(&item.category) {
                return Err(FieldError::new(
                    field("category"),
                    format!("`{}` is not a hazard subclass with a department that answers for it", item.category),
                ));
            }
        }
        Ok(self)
    }
}

/// The answer to one item, as the inspector gives it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemResult {
    /// The item's code.
    pub item: String,
    pub outcome: Outcome,
    /// What was seen (at most 500 characters); required for a failure.
    #[serde(default)]
    pub note: Option<String>,
    /// Photos uploaded before (`POST /media`): of a failure, or of a hazard's rectification.
    #[serde(default)]
    pub photos: Vec<MediaId>,
}

/// The answers checked against the items of the version they answer: every item answered once,
/// no item of another version, a note for each failure, a photo where a failure needs one, and
/// photos only where they prove something (a failure, or the item of an open hazard in
/// `open_hazards`). Returned in the items' order, notes trimmed.
pub fn check_results(
    version: u32,
    items: &[ChecklistItem],
    results: Vec<ItemResult>,
    open_hazards: &BTreeSet<String>,
) -> Result<Vec<ItemResult>, FieldError> {
    let order: BTreeMap<&str, usize> = items.iter().enumerate().map(|(i, it)| (it.code.as_str(), i)).collect();
    let mut out: Vec<Option<ItemResult>> = vec![None; items.len()];
    for (i, mut r) in results.into_iter().enumerate() {
        let field = |f: &str| format!("results[{i}].{f}");
        let Some(&at) = order.get(r.item.as_str()) else {
            return Err(FieldError::new(
                field("item"),
                format!("`{}` is not an item of version {version} of this check list", r.item),
            ));
        };
        if out[at].is_some() {
            return Err(FieldError::new(field("item"), format!("`{}` is answered twice", r.item)));
        }
        let item = &items[at];
        r.note = optional_text(&field("note"), r.note.as_deref(), 500)?;
        if r.photos.len() > MAX_PHOTOS {
            return Err(FieldError::new(field("photos"), format!("at most {MAX_PHOTOS} photos per item")));
        }
        if r.outcome == Outcome::Fail {
            if r.note.is_none() {
                return Err(FieldError::new(field("note"), format!("say what is wrong with `{}`", item.code)));
            }
            if item.photo_on_fail && r.photos.is_empty() {
                return Err(FieldError::new(
                    field("photos"),
                    format!("a failure of `{}` needs a photo of what is wrong", item.code),
                ));
            }
        } else if !r.photos.is_empty() && !open_hazards.contains(&item.code) {
            return Err(FieldError::new(
                field("photos"),
                "photos are kept for failures and for the rectification of an open hazard",
            ));
        }
        out[at] = Some(r);
    }
    if let Some(missing) = out.iter().position(Option::is_none) {
        return Err(FieldError::new("results", format!("item `{}` is not answered", items[missing].code)));
    }
    Ok(out.into_iter().flatten().collect())
}

/// Where the inspector stood, against the subject's point: farther than `limit_m` is flagged on
/// the inspection (kept, never refused: a large site, a poor fix).
pub fn far_from(subject: LatLon, at: LatLon, accuracy_m: Option<f64>, limit_m: f64) -> (f64, bool) {
    let d = subject.distance_m(&at);
    (d, d - accuracy_m.unwrap_or(0.0).clamp(0.0, limit_m) > limit_m)
}

/// How often a kind of place or house is inspected at a risk level.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRule {
    pub subject: SubjectKind,
    /// A kind of place or use of house, as in a check list.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]{0,39}$"))]
    pub kind: String,
    pub risk: RiskLevel,
    /// Days between inspections (1 to 3650): 30 for monthly, 365 for yearly.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub every_days: u16,
}

/// The rules of a plan checked: each kind and risk level once, sensible periods.
pub fn check_plan(rules: &[PlanRule]) -> Result<(), FieldError> {
    let mut seen = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        if !crate::registry::is_key(&r.kind) {
            return Err(FieldError::new(format!("rules[{i}].kind"), "is a key: lower-case letters, digits and `_`"));
        }
        if !(1..=3650).contains(&r.every_days) {
            return Err(FieldError::new(format!("rules[{i}].every_days"), "must be between 1 and 3650"));
        }
        if !seen.insert((r.subject, r.kind.as_str(), r.risk)) {
            return Err(FieldError::new(
                format!("rules[{i}]"),
                format!("{} `{}` at {} risk is already planned", r.subject.as_str(), r.kind, r.risk.as_str()),
            ));
        }
    }
    Ok(())
}

/// When an inspection due at `due_at` and still not done is told to the grid leaders of its
/// community: once it is overdue by more than `days` working days (at the end of the `days`th
/// working day after its due day). Its grid members are told as soon as it is past due.
pub fn escalate_overdue_at(cal: &Calendar, due_at: Millis, days: u32) -> Millis {
    cal.end_of_working_days(due_at, days)
}

/// When a subject is next due: `every_days` after its last inspection, or — never inspected —
/// within [`FIRST_WITHIN_DAYS`] of its registration; always at the end of a working day.
pub fn next_due(cal: &Calendar, last: Option<Millis>, registered: Millis, every_days: u16) -> Millis {
    match last {
        Some(at) => cal.due_after(at, u32::from(every_days)),
        None => cal.due_after(registered, u32::from(every_days).min(FIRST_WITHIN_DAYS)),
    }
}

/// The deadline to put a failed item right: the end of its `rectify_days`th working day.
pub fn rectify_by(cal: &Calendar, now: Millis, item: &ChecklistItem) -> Millis {
    cal.end_of_working_days(now, u32::from(item.rectify_days))
}

/// Whether a social unit's self-inspection is picked for a spot check: a share `percent` of them,
/// spread evenly and reproducibly by the inspection's id (no randomness in the domain).
pub fn picked_for_spot_check(inspection: InspectionId, percent: u8) -> bool {
    // Fibonacci hashing spreads consecutive ids over the hundred buckets.
    let bucket = (inspection.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    bucket % 100 < u64::from(percent.min(100))
}

/// A spot check contradicts a self-inspection when it fails an item the unit passed.
pub fn contradicts(own: &[ItemResult], check: &[ItemResult]) -> Vec<String> {
    let passed: BTreeSet<&str> = own.iter().filter(|r| r.outcome == Outcome::Pass).map(|r| r.item.as_str()).collect();
    check
        .iter()
        .filter(|r| r.outcome == Outcome::Fail && passed.contains(r.item.as_str()))
        .map(|r| r.item.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, photo: bool) -> ChecklistItem {
        ChecklistItem {
            code: code.into(),
            text: format!("检查 {code}"),
            text_en: String::new(),
            severity: Severity::Major,
            photo_on_fail: photo,
            rectify_days: 5,
            category: "H0101".into(),
        }
    }

    fn result(code: &str, outcome: Outcome, note: Option<&str>, photos: &[&str]) -> ItemResult {
        ItemResult {
            item: code.into(),
            outcome,
            note: note.map(str::to_string),
            photos: photos.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn a_draft_names_its_first_fault() {
        let draft = |items| ChecklistDraft {
            name: " 三小场所消防安全 ".into(),
            name_en: String::new(),
            subject: SubjectKind::Place,
            kind: "shop".into(),
            items,
        };
        let ok = draft(vec![item("F01", true), item("F02", false)]).checked(|c| c == "H0101").unwrap();
        assert_eq!(ok.name, "三小场所消防安全");
        let err = |d: ChecklistDraft| d.checked(|c| c == "H0101").unwrap_err();
        assert_eq!(err(draft(vec![])).field, "items");
        assert_eq!(err(draft(vec![item("F01", true), item("F01", false)])).field, "items[1].code");
        assert_eq!(err(draft(vec![item("F 1", true)])).field, "items[0].code");
        let mut slow = item("F01", true);
        slow.rectify_days = 0;
        assert_eq!(err(draft(vec![slow])).field, "items[0].rectify_days");
        let mut other = item("F01", true);
        other.category = "E0101".into();
        assert_eq!(err(draft(vec![other])).field, "items[0].category");
    }

    #[test]
    fn results_answer_every_item_of_their_version_once() {
        let items = [item("F01", true), item("F02", false), item("F03", false)];
        let none = BTreeSet::new();
        let ok = check_results(
            2,
            &items,
            vec![
                result("F03", Outcome::NotApplicable, None, &[]),
                result("F01", Outcome::Fail, Some("通道堵塞"), &["p1"]),
                result("F02", Outcome::Pass, Some("  "), &[]),
            ],
            &none,
        )
        .unwrap();
        assert_eq!(ok.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(), ["F01", "F02", "F03"]);
        assert_eq!(ok[1].note, None);
        let err = |rs, open: &BTreeSet<String>| check_results(2, &items, rs, open).unwrap_err();
        let all_pass = || vec![result("F02", Outcome::Pass, None, &[]), result("F03", Outcome::Pass, None, &[])];
        let mut rs = all_pass();
        rs.push(result("X9", Outcome::Pass, None, &[]));
        let e = err(rs, &none);
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("results[2].item", "`X9` is not an item of version 2 of this check list")
        );
        let mut rs = all_pass();
        rs.push(result("F02", Outcome::Fail, Some("x"), &[]));
        assert_eq!(err(rs, &none).field, "results[2].item");
        assert_eq!(err(all_pass(), &none).field, "results");
        let mut rs = all_pass();
        rs.push(result("F01", Outcome::Fail, Some("堵塞"), &[]));
        assert_eq!(err(rs, &none).field, "results[2].photos");
        let mut rs = all_pass();
        rs.push(result("F01", Outcome::Fail, None, &["p"]));
        assert_eq!(err(rs, &none).field, "results[2].note");
        // A photo of a passed item proves nothing, except the rectification of an open hazard.
        let mut rs = all_pass();
        rs.push(result("F01", Outcome::Pass, None, &["p"]));
        assert_eq!(err(rs.clone(), &none).field, "results[2].photos");
        assert!(check_results(2, &items, rs, &BTreeSet::from(["F01".to_string()])).is_ok());
    }

    #[test]
    fn far_from_the_place_is_flagged_beyond_the_fix_accuracy() {
        let place = LatLon { lat: 30.7455, lon: 120.4870 };
        let near = LatLon { lat: 30.7460, lon: 120.4870 };
        let far = LatLon { lat: 30.7555, lon: 120.4870 };
        assert!(!far_from(place, near, None, 200.0).1);
        let (d, flagged) = far_from(place, far, Some(30.0), 200.0);
        assert!(flagged && (1000.0..1200.0).contains(&d));
        // A poor fix does not excuse more than the limit itself.
        assert!(far_from(place, far, Some(5000.0), 200.0).1);
    }

    #[test]
    fn plans_name_each_kind_and_risk_once() {
        let rule = |kind: &str, risk, every_days| PlanRule {
            subject: SubjectKind::Place,
            kind: kind.into(),
            risk,
            every_days,
        };
        assert!(check_plan(&[rule("shop", RiskLevel::High, 30), rule("shop", RiskLevel::Low, 365)]).is_ok());
        assert_eq!(
            check_plan(&[rule("shop", RiskLevel::High, 30), rule("shop", RiskLevel::High, 60)]).unwrap_err().field,
            "rules[1]"
        );
        assert_eq!(check_plan(&[rule("shop", RiskLevel::High, 0)]).unwrap_err().field, "rules[0].every_days");
    }

    #[test]
    fn due_dates_fall_on_working_days_of_the_calendar() {
        use chrono::{NaiveDate, TimeZone};
        let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let at = |y, m, d, h| cst.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap().timestamp_millis();
        let mut cal = Calendar::office_hours();
        // National Day week 2026: 1–7 October off; 10 October (a Saturday) worked.
        for d in 1..=7 {
            cal.holidays.insert(NaiveDate::from_ymd_opt(2026, 10, d).unwrap());
        }
        cal.makeup_days.insert(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap());
        // Inspected 1 September, monthly: 1 October is a holiday; due at the end of 8 October.
        let end_of = |d| at(2026, 10, d, 17) + 30 * 60 * 1000;
        assert_eq!(next_due(&cal, Some(at(2026, 9, 1, 10)), 0, 30), end_of(8));
        // Every 39 days from 1 September is Saturday 10 October, a make-up working day.
        assert_eq!(next_due(&cal, Some(at(2026, 9, 1, 10)), 0, 39), end_of(10));
        // Never inspected: within 30 days of registration even on a yearly plan.
        assert_eq!(next_due(&cal, None, at(2026, 9, 1, 10), 365), end_of(8));
        // Five working days to rectify from Wednesday 30 September: 8, 9, 10, 12, 13 October.
        let f = item("F01", true);
        assert_eq!(rectify_by(&cal, at(2026, 9, 30, 15), &f), at(2026, 10, 13, 17) + 30 * 60 * 1000);
    }

    #[test]
    fn spot_checks_pick_their_share_and_contradictions_are_failed_passes() {
        let picked = (1..=10_000).filter(|i| picked_for_spot_check(InspectionId(*i), 20)).count();
        assert!((1_800..=2_200).contains(&picked), "{picked}");
        assert_eq!((1..=100).filter(|i| picked_for_spot_check(InspectionId(*i), 0)).count(), 0);
        assert_eq!((1..=100).filter(|i| picked_for_spot_check(InspectionId(*i), 100)).count(), 100);
        let own = [result("F01", Outcome::Pass, None, &[]), result("F02", Outcome::Fail, Some("x"), &[])];
        let check = [result("F01", Outcome::Fail, Some("堵塞"), &[]), result("F02", Outcome::Fail, Some("x"), &[])];
        assert_eq!(contradicts(&own, &check), ["F01"]);
    }
}
