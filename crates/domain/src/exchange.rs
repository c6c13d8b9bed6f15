//! Data exchange with other systems: Open311 service attributes and statuses, webhook filters,
//! historical records and status updates from other systems — each turned into the commands of
//! the one state machine, never around it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::time::parse_rfc3339;
use crate::workflow::{decide_on, optional_text, report_on, Command, Decision, NewReport, Refusal, MAX_NOTE};
use crate::{
    Action, Actor, Calendar, Case, CaseState, Category, Department, DepartmentId, FieldError, Millis, NewEvent,
    RegionCode, Rejection,
};

// ---------------------------------------------------------------- Open311 service attributes

/// The input type of an Open311 service attribute.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    /// One line of text.
    String,
    Number,
    /// An ISO 8601 date-time with offset.
    Datetime,
    /// Text that may hold line breaks.
    Text,
    /// One key of `values`.
    Singlevaluelist,
    /// Several keys of `values`.
    Multivaluelist,
}

impl Datatype {
    pub const ALL: [Datatype; 6] = [
        Datatype::String,
        Datatype::Number,
        Datatype::Datetime,
        Datatype::Text,
        Datatype::Singlevaluelist,
        Datatype::Multivaluelist,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Datetime => "datetime",
            Self::Text => "text",
            Self::Singlevaluelist => "singlevaluelist",
            Self::Multivaluelist => "multivaluelist",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = Self::ALL.iter().map(|d| d.as_str()).collect();
            FieldError::new("datatype", format!("unknown datatype `{s}`; one of {}", all.join(", ")))
        })
    }
    pub fn is_list(self) -> bool {
        matches!(self, Self::Singlevaluelist | Self::Multivaluelist)
    }
}

/// One choice of a list attribute.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub key: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
}

/// A question a category asks of a report (Open311 "service definition" attribute).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAttribute {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,64}$"))]
    pub code: String,
    /// `false`: the attribute only informs (shown with the description), it takes no input.
    #[serde(default = "yes")]
    pub variable: bool,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub datatype_description: Option<String>,
    /// Position in the form, 1 first; unique within the category.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub order: u32,
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: String,
    #[serde(default)]
    pub values: Vec<Choice>,
}

fn yes() -> bool {
    true
}

fn valid_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks the attributes of one category: codes unique and plain (`[A-Za-z0-9_-]`, they appear in
/// form keys `attribute[CODE]`), orders unique and positive, lists with unique keys, other types
/// without values, a required attribute is variable.
pub fn validate_attributes(attrs: &[ServiceAttribute]) -> Result<(), FieldError> {
    let mut codes = std::collections::HashSet::new();
    let mut orders = std::collections::HashSet::new();
    for (i, a) in attrs.iter().enumerate() {
        let at = |f: &str| format!("attributes[{i}].{f}");
        if !valid_code(&a.code) {
            return Err(FieldError::new(at("code"), "use 1 to 64 letters, digits, `_` or `-`"));
        }
        if !codes.insert(a.code.as_str()) {
            return Err(FieldError::new(at("code"), format!("`{}` is used twice", a.code)));
        }
        if a.order == 0 || !orders.insert(a.order) {
            return Err(FieldError::new(at("order"), "must be a positive number not used by another attribute"));
        }
        crate::workflow::required_text(&at("description"), &a.description, 500)?;
        if a.required && !a.variable {
            return Err(FieldError::new(at("required"), "an attribute that takes no input cannot be required"));
        }
        if a.datatype.is_list() {
            if a.values.is_empty() {
                return Err(FieldError::new(at("values"), "a list needs at least one value"));
            }
            let mut keys = std::collections::HashSet::new();
            for (j, v) in a.values.iter().enumerate() {
                let value = |f: &str| format!("attributes[{i}].values[{j}].{f}");
                crate::workflow::required_text(&value("key"), &v.key, 100)?;
                crate::workflow::required_text(&value("name"), &v.name, 200)?;
                if !keys.insert(v.key.as_str()) {
                    return Err(FieldError::new(value("key"), format!("`{}` is used twice", v.key)));
                }
            }
        } else if !a.values.is_empty() {
            return Err(FieldError::new(at("values"), "only singlevaluelist and multivaluelist have values"));
        }
    }
    Ok(())
}

/// Checks the answers given with a report (`attribute[CODE]` → values) against the category's
/// attributes and returns them normalised: numbers as numbers, date-times as RFC 3339 UTC,
/// multi-value lists as arrays. Every problem is reported, each naming `attribute[CODE]`.
pub fn answer_attributes(
    attrs: &[ServiceAttribute],
    given: &BTreeMap<String, Vec<String>>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = vec![];
    for code in given.keys() {
        if !attrs.iter().any(|a| &a.code == code && a.variable) {
            errors.push(FieldError::new(format!("attribute[{code}]"), "is not an attribute of this service"));
        }
    }
    let mut sorted: Vec<&ServiceAttribute> = attrs.iter().filter(|a| a.variable).collect();
    sorted.sort_by_key(|a| a.order);
    for a in sorted {
        let field = format!("attribute[{}]", a.code);
        let values: Vec<&str> =
            given.get(&a.code).into_iter().flatten().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            if a.required {
                errors.push(FieldError::new(field, "is required by this service"));
            }
            continue;
        }
        if a.datatype != Datatype::Multivaluelist && values.len() > 1 {
            errors.push(FieldError::new(field, "takes one value"));
            continue;
        }
        let one = values[0];
        let value = match a.datatype {
            Datatype::String if one.contains(['\n', '\r']) => Err("may not contain line breaks".to_string()),
            Datatype::String | Datatype::Text if one.chars().count() > MAX_NOTE => {
                Err(format!("is longer than {MAX_NOTE} characters"))
            }
            Datatype::String | Datatype::Text => Ok(json!(one)),
            Datatype::Number => match one.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(json!(n)),
                _ => Err(format!("`{one}` is not a number")),
            },
            Datatype::Datetime => parse_rfc3339(&field, one)
                .map(|ms| json!(crate::time::to_rfc3339(ms)))
                .map_err(|_| format!("`{one}` is not a date-time with offset, like 2026-11-22T08:00:00+08:00")),
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                match values.iter().find(|v| !a.values.iter().any(|c| c.key == **v)) {
                    Some(bad) => Err(format!(
                        "`{bad}` is not one of {}",
                        a.values.iter().map(|c| c.key.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                    None if a.datatype == Datatype::Singlevaluelist => Ok(json!(one)),
                    None => Ok(json!(values)),
                }
            }
        };
        match value {
            Ok(v) => {
                out.insert(a.code.clone(), v);
            }
            Err(reason) => errors.push(FieldError::new(field, reason)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------- statuses

/// Open311's two statuses: a case is `open` until it is closed, rated or rejected.
pub fn open311_status(state: CaseState) -> &'static str {
    if state.is_open() {
        "open"
    } else {
        "closed"
    }
}

/// The extended status (mySociety's list) of a case in `state`, or after `action`.
///
/// | state / action | status |
/// |---|---|
/// | reported | open |
/// | accepted | investigating |
/// | dispatched | action_scheduled |
/// | in_progress, resolved (awaiting the on-site check) | in_progress |
/// | verified, closed, rated | fixed |
/// | rejected: duplicate / outside_area / invalid | duplicate / not_councils_responsibility / no_further_action |
/// | a return to the linkage center | internal_referral |
/// | a reopen | reopen |
pub fn extended_status(state: CaseState, rejection: Option<Rejection>, action: Option<Action>) -> &'static str {
    match action {
        Some(Action::Return) => return "internal_referral",
        Some(Action::Reopen) => return "reopen",
        _ => {}
    }
    match state {
        CaseState::Reported => "open",
        CaseState::Accepted => "investigating",
        CaseState::Dispatched => "action_scheduled",
        CaseState::InProgress | CaseState::Resolved => "in_progress",
        CaseState::Verified | CaseState::Closed | CaseState::Rated => "fixed",
        CaseState::Rejected => match rejection {
            Some(Rejection::Duplicate) => "duplicate",
            Some(Rejection::OutsideArea) => "not_councils_responsibility",
            _ => "no_further_action",
        },
    }
}

/// Annotates the event of a decision with what another system said about it (`data.exchange`):
/// its ids, attributes, media URL. The state machine decided; this only records the provenance.
pub fn with_exchange(mut d: Decision, exchange: Map<String, Value>) -> Decision {
    if !exchange.is_empty() {
        if let Value::Object(data) = &mut d.event.data {
            data.insert("exchange".into(), Value::Object(exchange));
        }
    }
    d
}

// ---------------------------------------------------------------- status updates from other systems

/// A status update another system sends about one of our cases (mySociety's
/// `POST servicerequestupdates`).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundUpdate {
    /// An extended status: `open`, `investigating`, `action_scheduled`, `in_progress`, `fixed`,
    /// `closed`, `reopen`, `no_further_action`, `not_councils_responsibility`, `internal_referral`,
    /// and the others of the list (which record a note).
    pub status: String,
    pub description: Option<String>,
    /// Photos already stored (evidence of a fix).
    pub evidence: Vec<String>,
}

const EXTENDED: [&str; 15] = [
    "fixed",
    "in_progress",
    "planned",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "cancelled",
    "reopen",
    "for_triage",
    "unchanged",
    "open",
    "closed",
];

/// The state-machine command an update asks for, given the case as it is. An update that does
/// not move the case (or a status with no transition from here) becomes an internal note, which
/// needs a description. `category` is the case's suggested category (to accept with).
pub fn command_for_update(case: &Case, u: &InboundUpdate, category: Option<Category>) -> Result<Command, FieldError> {
    let status = u.status.trim().to_ascii_lowercase();
    if !EXTENDED.contains(&status.as_str()) {
        return Err(FieldError::new(
            "status",
            format!("unknown status `{}`; one of {}", u.status, EXTENDED.join(", ")),
        ));
    }
    let note = optional_text("description", u.description.as_deref(), MAX_NOTE)?;
    let needs = |what: &str| FieldError::new("description", format!("is required to {what}"));
    use CaseState::*;
    Ok(match (status.as_str(), case.state) {
        ("open" | "investigating" | "for_triage", Reported) => {
            let category = category.ok_or_else(|| {
                FieldError::new(
                    "status",
                    "the case has no suggested category to accept it with; accept it in gridkeeper",
                )
            })?;
            Command::Accept { category, urgency: case.urgency, note }
        }
        ("no_further_action" | "cancelled", Reported) => Command::Reject {
            reason: Rejection::Invalid,
            original: None,
            note: Some(note.ok_or_else(|| needs("reject"))?),
        },
        ("not_councils_responsibility", Reported) => {
            Command::Reject { reason: Rejection::OutsideArea, original: None, note }
        }
        ("duplicate", Reported) => {
            return Err(FieldError::new("status", "name the original case: reject duplicates in gridkeeper"))
        }
        ("in_progress" | "action_scheduled" | "planned", Dispatched) => Command::Sign,
        ("internal_referral", Dispatched | InProgress) => {
            Command::Return { reason: note.ok_or_else(|| needs("return"))? }
        }
        ("fixed" | "closed", InProgress) => {
            Command::SubmitResult { note: note.ok_or_else(|| needs("submit a result"))?, evidence: u.evidence.clone() }
        }
        ("fixed", Resolved) => Command::Verify { passed: true, note, evidence: u.evidence.clone() },
        ("in_progress" | "reopen", Resolved) => Command::Verify {
            passed: false,
            note: Some(note.ok_or_else(|| needs("ask for rework"))?),
            evidence: u.evidence.clone(),
        },
        ("closed" | "fixed", Verified) => Command::Close { note },
        ("reopen" | "open", Closed | Rated) => Command::Reopen { reason: note.ok_or_else(|| needs("reopen"))? },
        _ => Command::Note { text: note.ok_or_else(|| needs("record an update that does not change the case"))? },
    })
}

// ---------------------------------------------------------------- webhook filters

/// Which events a webhook subscription receives.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookFilter {
    /// Only these actions; empty: every action that is not internal. Internal actions (notes,
    /// supervision, part reports, extension requests) are sent only when listed.
    pub actions: Vec<Action>,
    /// Only cases whose grid (or district, outside every grid) lies in this region.
    pub region: Option<RegionCode>,
    /// Only cases this department leads or co-handles.
    pub department: Option<DepartmentId>,
}

impl WebhookFilter {
    pub fn matches(&self, action: Action, case_region: &RegionCode, departments: &[DepartmentId]) -> bool {
        let action_ok = if self.actions.is_empty() { !action.is_internal() } else { self.actions.contains(&action) };
        action_ok
            && self.region.as_ref().is_none_or(|r| r.contains(case_region))
            && self.department.is_none_or(|d| departments.contains(&d))
    }
}

// ---------------------------------------------------------------- historical records

/// A case as another system recorded it, already mapped to our categories and departments.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalCase {
    pub report: NewReport,
    pub reported_at: Millis,
    /// The state to bring the case to; `Rejected` is rejected as invalid (or outside the area
    /// when it lies outside every grid and `rejection` says so).
    pub state: CaseState,
    pub rejection: Option<Rejection>,
    pub category: Option<Category>,
    pub lead: Option<Department>,
    /// When it was closed (or resolved); required for the states from `resolved` on.
    pub closed_at: Option<Millis>,
    /// The last note the other system kept (its status notes).
    pub notes: Option<String>,
    /// Provenance recorded in the first event: `external_id` and other original fields.
    pub exchange: Map<String, Value>,
}

/// Lives a historical case through the state machine as `actor` (the import, holding the roles
/// each step needs): report at `reported_at`, then accept, dispatch and sign at the same instant,
/// then submit the result, verify and close at `closed_at`, stopping at `state`. Returns the case
/// and its events, ready for `Store::import_history`. The clocks run on `cal`, the calendar of
/// the case's district.
pub fn historical(actor: &Actor, h: HistoricalCase, cal: &Calendar) -> Result<(Case, Vec<NewEvent>), Refusal> {
    use CaseState::*;
    let order = [Reported, Accepted, Dispatched, InProgress, Resolved, Verified, Closed];
    let target = h.state;
    let reach = |s: CaseState| {
        target != Rejected && order.iter().position(|x| *x == s) <= order.iter().position(|x| *x == target)
    };
    if matches!(target, Rated) {
        return Err(FieldError::new("state", "a rating belongs to the reporter; import the case as closed").into());
    }
    let t0 = h.reported_at;
    let closed_at = match h.closed_at {
        Some(t) if t < t0 => return Err(FieldError::new("closed_at", "lies before the report").into()),
        Some(t) => Some(t),
        None if reach(Resolved) => {
            return Err(
                FieldError::new("closed_at", format!("is required for a case imported as {}", target.as_str())).into()
            )
        }
        None => None,
    };
    let first = with_exchange(report_on(actor, h.report, t0, cal)?, h.exchange);
    let mut case = first.case;
    let mut events = vec![first.event];
    let mut step = |case: &mut Case, cmd: Command, at: Millis| -> Result<(), Refusal> {
        let d = decide_on(case, actor, cmd, at, cal)?;
        *case = d.case;
        events.push(d.event);
        Ok(())
    };
    if target == Rejected {
        let note = h.notes.clone().or_else(|| Some("imported as rejected".into()));
        let reason = h.rejection.filter(|r| *r != Rejection::Duplicate).unwrap_or(Rejection::Invalid);
        step(&mut case, Command::Reject { reason, original: None, note }, closed_at.unwrap_or(t0))?;
        return Ok((case, events));
    }
    if reach(Accepted) {
        let category =
            h.category.ok_or_else(|| FieldError::new("category", "is required to import an accepted case"))?;
        let urgency = case.urgency;
        step(&mut case, Command::Accept { category, urgency, note: None }, t0)?;
    }
    if reach(Dispatched) {
        let lead = h.lead.ok_or_else(|| FieldError::new("department", "is required to import a dispatched case"))?;
        // The original deadline is unknown: the category's handling time from the report.
        step(&mut case, Command::Dispatch { lead, co: vec![], deadline: None, note: None }, t0)?;
    }
    if reach(InProgress) {
        step(&mut case, Command::Sign, t0)?;
    }
    let done = closed_at.unwrap_or(t0);
    if reach(Resolved) {
        let note = h.notes.clone().unwrap_or_else(|| "handled (imported record)".into());
        step(&mut case, Command::SubmitResult { note, evidence: vec![] }, done)?;
    }
    if reach(Verified) {
        step(&mut case, Command::Verify { passed: true, note: None, evidence: vec![] }, done)?;
    }
    if reach(Closed) {
        step(&mut case, Command::Close { note: None }, done)?;
    }
    Ok((case, events))
}

// ---------------------------------------------------------------- spreadsheets

/// A text cell made safe to open in a spreadsheet: text that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return, as OWASP lists them) is
/// prefixed with an apostrophe, so `=HYPERLINK(…)` from an anonymous report shows as text.
pub fn spreadsheet_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CategoryKind, Deadlines, DepartmentKind, Grant, LatLon, Role, Scope, Source, Urgency, HOUR};

    const T0: Millis = 1_400_000_000_000;

    fn attr(code: &str, datatype: Datatype, required: bool, order: u32, values: &[&str]) -> ServiceAttribute {
        ServiceAttribute {
            code: code.into(),
            variable: true,
            datatype,
            required,
            datatype_description: None,
            order,
            description: format!("{code}?"),
            values: values.iter().map(|v| Choice { key: v.to_string(), name: v.to_uppercase() }).collect(),
        }
    }

    fn given(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn attribute_definitions_are_checked() {
        let good = vec![
            attr("size", Datatype::Number, true, 1, &[]),
            attr("kind", Datatype::Singlevaluelist, false, 2, &["a", "b"]),
        ];
        validate_attributes(&good).unwrap();
        let dup_order = vec![attr("a", Datatype::Text, false, 1, &[]), attr("b", Datatype::Text, false, 1, &[])];
        assert_eq!(validate_attributes(&dup_order).unwrap_err().field, "attributes[1].order");
        let empty_list = vec![attr("a", Datatype::Multivaluelist, false, 1, &[])];
        assert_eq!(validate_attributes(&empty_list).unwrap_err().field, "attributes[0].values");
        let values_on_text = vec![attr("a", Datatype::Text, false, 1, &["x"])];
        assert_eq!(validate_attributes(&values_on_text).unwrap_err().field, "attributes[0].values");
        let bad_code = vec![attr("a b", Datatype::Text, false, 1, &[])];
        assert_eq!(validate_attributes(&bad_code).unwrap_err().field, "attributes[0].code");
        let mut fixed = attr("a", Datatype::Text, true, 1, &[]);
        fixed.variable = false;
        assert_eq!(validate_attributes(&[fixed]).unwrap_err().field, "attributes[0].required");
    }

    #[test]
    fn answers_are_checked_and_normalised() {
        let attrs = vec![
            attr("depth", Datatype::Number, true, 1, &[]),
            attr("seen", Datatype::Datetime, false, 2, &[]),
            attr("kind", Datatype::Singlevaluelist, false, 3, &["water", "sewage"]),
            attr("hazards", Datatype::Multivaluelist, false, 4, &["traffic", "children", "night"]),
            attr("name", Datatype::String, false, 5, &[]),
        ];
        let ok = answer_attributes(
            &attrs,
            &given(&[
                ("depth", &["1.5"]),
                ("seen", &["2026-11-22T08:00:00+08:00"]),
                ("kind", &["water"]),
                ("hazards", &["traffic", "night"]),
                ("name", &[""]),
            ]),
        )
        .unwrap();
        assert_eq!(ok["depth"], json!(1.5));
        assert_eq!(ok["seen"], json!("2026-11-22T00:00:00.000Z"));
        assert_eq!(ok["kind"], json!("water"));
        assert_eq!(ok["hazards"], json!(["traffic", "night"]));
        assert!(!ok.contains_key("name"), "an empty value is absent");

        let errs = answer_attributes(
            &attrs,
            &given(&[
                ("seen", &["yesterday"]),
                ("kind", &["gas"]),
                ("hazards", &["traffic", "fire"]),
                ("name", &["two\nlines"]),
                ("colour", &["red"]),
            ]),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "attribute[colour]",
                "attribute[depth]",
                "attribute[seen]",
                "attribute[kind]",
                "attribute[hazards]",
                "attribute[name]"
            ]
        );
        let two = answer_attributes(&attrs, &given(&[("depth", &["1", "2"])])).unwrap_err();
        assert_eq!(two[0].reason, "takes one value");
    }

    #[test]
    fn statuses_map_every_state() {
        assert_eq!(open311_status(CaseState::Resolved), "open");
        assert_eq!(open311_status(CaseState::Rejected), "closed");
        assert_eq!(open311_status(CaseState::Rated), "closed");
        assert_eq!(extended_status(CaseState::Dispatched, None, None), "action_scheduled");
        assert_eq!(extended_status(CaseState::Rejected, Some(Rejection::Duplicate), None), "duplicate");
        assert_eq!(
            extended_status(CaseState::Rejected, Some(Rejection::OutsideArea), None),
            "not_councils_responsibility"
        );
        assert_eq!(extended_status(CaseState::Accepted, None, Some(Action::Return)), "internal_referral");
        assert_eq!(extended_status(CaseState::Accepted, None, Some(Action::Reopen)), "reopen");
        for s in CaseState::ALL {
            assert!(EXTENDED.contains(&extended_status(s, None, None)), "{s:?}");
        }
    }

    #[test]
    fn webhook_filters() {
        let grid = RegionCode::parse("330483101001001").unwrap();
        let all = WebhookFilter::default();
        assert!(all.matches(Action::Accept, &grid, &[]));
        assert!(!all.matches(Action::Note, &grid, &[]), "internal events only when asked for");
        let notes = WebhookFilter { actions: vec![Action::Note], ..Default::default() };
        assert!(notes.matches(Action::Note, &grid, &[]) && !notes.matches(Action::Accept, &grid, &[]));
        let street = WebhookFilter { region: Some(RegionCode::parse("330483101").unwrap()), ..Default::default() };
        assert!(street.matches(Action::Close, &grid, &[]));
        let other = WebhookFilter { region: Some(RegionCode::parse("330483102").unwrap()), ..Default::default() };
        assert!(!other.matches(Action::Close, &grid, &[]));
        let dept = WebhookFilter { department: Some(7), ..Default::default() };
        assert!(dept.matches(Action::Sign, &grid, &[3, 7]) && !dept.matches(Action::Sign, &grid, &[3]));
    }

    fn importer() -> Actor {
        let g = |r: Role, s: &str| Grant::new(r, Scope::parse(s).unwrap()).unwrap();
        Actor::person(
            1,
            vec![
                g(Role::Dispatcher, "region:330483"),
                g(Role::GridLeader, "region:330483"),
                g(Role::DepartmentStaff, "department:10"),
            ],
        )
    }

    fn category() -> Category {
        Category {
            id: 101,
            code: "C0101".into(),
            name: "井盖".into(),
            name_en: "Manhole cover".into(),
            kind: CategoryKind::Component,
            parent_id: Some(100),
            default_department: Some(10),
            public: true,
            deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 2 },
            duplicate_radius_m: 50,
            duplicate_window_hours: 72,
        }
    }

    fn record(state: CaseState, closed_at: Option<Millis>) -> HistoricalCase {
        HistoricalCase {
            report: NewReport {
                district: "330483".into(),
                grid: Some(RegionCode::parse("330483101001001").unwrap()),
                location: Some(LatLon { lat: 30.0, lon: 120.0 }),
                address: Some("2820 GREENWICH ST".into()),
                description: "Utility excavation".into(),
                urgency: Urgency::Routine,
                suggested_category: None,
                photos: vec![],
                anonymous: false,
                contact: None,
                source: Some(Source::Exchange),
            },
            reported_at: T0,
            state,
            rejection: None,
            category: Some(category()),
            lead: Some(Department {
                id: 10,
                code: "D10".into(),
                name: "城管".into(),
                name_en: "City management".into(),
                platform_id: 1,
                kind: DepartmentKind::Government,
                region: None,
            }),
            closed_at,
            notes: Some("Case Completed - resolved".into()),
            exchange: [("external_id".to_string(), json!("sf311:1757188"))].into_iter().collect(),
        }
    }

    #[test]
    fn a_closed_record_lives_the_whole_loop_with_original_times() {
        let (case, events) =
            historical(&importer(), record(CaseState::Closed, Some(T0 + 37 * HOUR)), &Calendar::wall_clock()).unwrap();
        let actions: Vec<Action> = events.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                Action::Report,
                Action::Accept,
                Action::Dispatch,
                Action::Sign,
                Action::SubmitResult,
                Action::Verify,
                Action::Close
            ]
        );
        assert_eq!(case.state, CaseState::Closed);
        assert_eq!(case.version, events.len() as i64);
        assert_eq!(case.source, Source::Exchange);
        assert_eq!((case.reported_at, case.closed_at), (T0, Some(T0 + 37 * HOUR)));
        assert_eq!(events[0].data["exchange"]["external_id"], "sf311:1757188");
        assert_eq!(events[4].data["note"], "Case Completed - resolved");
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn records_stop_at_their_state_and_bad_ones_are_refused() {
        let (open, events) =
            historical(&importer(), record(CaseState::InProgress, None), &Calendar::wall_clock()).unwrap();
        assert_eq!((open.state, events.len()), (CaseState::InProgress, 4));
        let (rejected, _) =
            historical(&importer(), record(CaseState::Rejected, Some(T0 + HOUR)), &Calendar::wall_clock()).unwrap();
        assert_eq!((rejected.state, rejected.rejection), (CaseState::Rejected, Some(Rejection::Invalid)));
        let err = historical(&importer(), record(CaseState::Closed, None), &Calendar::wall_clock()).unwrap_err();
        assert!(matches!(err, Refusal::Invalid(f) if f.field == "closed_at"));
        let err =
            historical(&importer(), record(CaseState::Closed, Some(T0 - 1)), &Calendar::wall_clock()).unwrap_err();
        assert!(matches!(err, Refusal::Invalid(f) if f.field == "closed_at"));
        let mut no_category = record(CaseState::Accepted, None);
        no_category.category = None;
        assert!(
            matches!(historical(&importer(), no_category, &Calendar::wall_clock()).unwrap_err(), Refusal::Invalid(f) if f.field == "category")
        );
        // The state machine still decides who may do what: without a department role, no sign.
        let mut weak = importer();
        weak.grants.retain(|g| g.role != Role::DepartmentStaff);
        assert!(matches!(
            historical(&weak, record(CaseState::InProgress, None), &Calendar::wall_clock()).unwrap_err(),
            Refusal::NotAllowed { .. }
        ));
    }

    #[test]
    fn updates_become_commands_of_the_state_machine() {
        let (reported, _) =
            historical(&importer(), record(CaseState::Reported, None), &Calendar::wall_clock()).unwrap();
        let u = |status: &str, d: Option<&str>| InboundUpdate {
            status: status.into(),
            description: d.map(Into::into),
            evidence: vec![],
        };
        assert!(matches!(
            command_for_update(&reported, &u("investigating", None), Some(category())),
            Ok(Command::Accept { .. })
        ));
        assert_eq!(command_for_update(&reported, &u("investigating", None), None).unwrap_err().field, "status");
        assert!(matches!(
            command_for_update(&reported, &u("no_further_action", Some("not found")), None),
            Ok(Command::Reject { reason: Rejection::Invalid, .. })
        ));
        assert_eq!(command_for_update(&reported, &u("bogus", None), None).unwrap_err().field, "status");
        let (progress, _) =
            historical(&importer(), record(CaseState::InProgress, None), &Calendar::wall_clock()).unwrap();
        assert!(matches!(
            command_for_update(&progress, &u("fixed", Some("done")), None),
            Ok(Command::SubmitResult { .. })
        ));
        assert_eq!(command_for_update(&progress, &u("fixed", None), None).unwrap_err().field, "description");
        assert!(matches!(
            command_for_update(&progress, &u("in_progress", Some("crew on site")), None),
            Ok(Command::Note { .. })
        ));
        let (closed, _) =
            historical(&importer(), record(CaseState::Closed, Some(T0 + HOUR)), &Calendar::wall_clock()).unwrap();
        assert!(matches!(command_for_update(&closed, &u("reopen", Some("again")), None), Ok(Command::Reopen { .. })));
    }

    #[test]
    fn formulas_are_neutralised_for_spreadsheets() {
        for f in ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "+1", "-2+3", "\tcmd", "\rcmd"] {
            assert_eq!(spreadsheet_text(f), format!("'{f}"), "{f:?}");
        }
        for plain in ["路灯不亮", "a=b", "", "12"] {
            assert_eq!(spreadsheet_text(plain), plain);
        }
    }
}
