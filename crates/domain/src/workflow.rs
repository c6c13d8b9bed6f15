//! The one case state machine. Pure: every function takes the case, the actor, the command and
//! the current time, and returns the new projection with exactly one event, or a typed refusal.

use serde::Serialize;

use crate::time::to_rfc3339;
use serde_json::json;

use crate::{
    Action, Actor, Calendar, Case, CaseId, CaseState, Category, Department, ExtensionRequest, FieldError, LatLon,
    MediaId, Millis, NewEvent, RegionCode, Rejection, Role, Source, SupervisionOrder, Urgency,
};

/// At most this many photos with a report or as evidence.
pub const MAX_PHOTOS: usize = 9;
pub const MAX_DESCRIPTION: usize = 4000;
pub const MAX_NOTE: usize = 2000;
/// Working time to answer a supervision order unless the supervisor sets a deadline.
pub const SUPERVISION_RESPONSE: Millis = 4 * crate::HOUR;
/// The handler is warned when this share of a stage's time limit has passed.
pub const WARN_AT: f64 = 0.75;

/// Why the state machine said no. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    /// The actor may not see this case at all (answered as "not found").
    #[error("case not found")]
    OutOfScope,
    /// The actor sees the case but their roles do not allow this action.
    #[error("not allowed to {action}: {reason}")]
    NotAllowed { action: &'static str, reason: String },
    /// The case is in a state where this action does not apply.
    #[error("cannot {action} a case that is {state}")]
    WrongState { action: &'static str, state: &'static str },
    /// Required data is missing or invalid.
    #[error("{0}")]
    Invalid(FieldError),
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Self {
        Refusal::Invalid(e)
    }
}

/// A case this one is linked to as its duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Original {
    pub id: CaseId,
    pub district: String,
    pub state: CaseState,
    pub duplicate_of: Option<CaseId>,
}

/// A workflow action on an existing case, with every reference already resolved to its object.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Accept {
        category: Category,
        urgency: Urgency,
        note: Option<String>,
    },
    Reject {
        reason: Rejection,
        original: Option<Original>,
        note: Option<String>,
    },
    Dispatch {
        lead: Department,
        co: Vec<Department>,
        deadline: Option<Millis>,
        note: Option<String>,
    },
    Sign,
    Return {
        reason: String,
    },
    RequestExtension {
        until: Millis,
        reason: String,
    },
    ApproveExtension {
        note: Option<String>,
    },
    DenyExtension {
        reason: String,
    },
    ReportPart {
        note: String,
        evidence: Vec<MediaId>,
    },
    SubmitResult {
        note: String,
        evidence: Vec<MediaId>,
    },
    Verify {
        passed: bool,
        note: Option<String>,
        evidence: Vec<MediaId>,
    },
    Close {
        note: Option<String>,
    },
    Rate {
        score: u8,
        comment: Option<String>,
    },
    Reopen {
        reason: String,
    },
    Supervise {
        note: String,
        deadline: Option<Millis>,
    },
    /// Answer the supervision order waiting on the case.
    Respond {
        note: String,
    },
    Note {
        text: String,
    },
    /// The linkage center attaches a hotline call about the case: the caller becomes another
    /// reporter of it (kept by the store beside the event, sealed).
    AddCaller {
        caller: Caller,
        note: Option<String>,
    },
    /// A re-inspection of the hazard's place judged its rectification (its own door: the
    /// inspection, not the case page).
    Reinspect {
        passed: bool,
        note: Option<String>,
        evidence: Vec<MediaId>,
    },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Accept { .. } => Action::Accept,
            Command::Reject { .. } => Action::Reject,
            Command::Dispatch { .. } => Action::Dispatch,
            Command::Sign => Action::Sign,
            Command::Return { .. } => Action::Return,
            Command::RequestExtension { .. } => Action::RequestExtension,
            Command::ApproveExtension { .. } => Action::ApproveExtension,
            Command::DenyExtension { .. } => Action::DenyExtension,
            Command::ReportPart { .. } => Action::ReportPart,
            Command::SubmitResult { .. } => Action::SubmitResult,
            Command::Verify { .. } => Action::Verify,
            Command::Close { .. } => Action::Close,
            Command::Rate { .. } => Action::Rate,
            Command::Reopen { .. } => Action::Reopen,
            Command::Supervise { .. } => Action::Supervise,
            Command::Respond { .. } => Action::Respond,
            Command::Note { .. } => Action::Note,
            Command::AddCaller { .. } => Action::AddCaller,
            Command::Reinspect { .. } => Action::Reinspect,
        }
    }
}

/// The new projection and the one event that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub case: Case,
    pub event: NewEvent,
}

/// Someone who phoned the linkage center (hotline): a phone number to answer them on, and the
/// name they gave. Personal data: sealed at rest, never in an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    phone: String,
    name: Option<String>,
}

impl Caller {
    /// A caller as the call-taker typed them in: the phone is required and must be a phone
    /// number (field `phone`), the name is optional (field `name`, at most 50 characters).
    pub fn new(phone: &str, name: Option<&str>) -> Result<Self, FieldError> {
        if phone.trim().is_empty() {
            return Err(FieldError::new("phone", "is required"));
        }
        Ok(Caller { phone: parse_phone(phone)?, name: optional_text("name", name, 50)? })
    }

    /// The phone number, digits only.
    pub fn phone(&self) -> &str {
        &self.phone
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// As the contact left with a case reported for the caller.
    pub fn contact(&self) -> crate::Contact {
        crate::Contact { name: self.name.clone(), phone: Some(self.phone.clone()) }
    }
}

/// A report as it arrives, after its location was placed in a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub district: String,
    pub grid: Option<RegionCode>,
    pub location: Option<LatLon>,
    pub address: Option<String>,
    pub description: String,
    pub urgency: Urgency,
    pub suggested_category: Option<Category>,
    pub photos: Vec<MediaId>,
    pub anonymous: bool,
    /// Name and phone the reporter left, if any.
    pub contact: Option<crate::Contact>,
    /// Set by trusted intake (data exchange); otherwise derived from the actor's roles.
    pub source: Option<Source>,
}

impl NewReport {
    /// A routine report of `description` at `location` in `district`, with nothing else said:
    /// no grid yet, no address, category, photos or contact, not anonymous.
    pub fn new(district: &str, location: Option<LatLon>, description: &str) -> Self {
        Self {
            district: district.to_string(),
            grid: None,
            location,
            address: None,
            description: description.to_string(),
            urgency: Urgency::Routine,
            suggested_category: None,
            photos: Vec::new(),
            anonymous: false,
            contact: None,
            source: None,
        }
    }
}

/// A grid member's on-the-spot handling: report and evidence of the result in one step.
#[derive(Debug, Clone, PartialEq)]
pub struct OnTheSpot {
    pub district: String,
    pub grid: RegionCode,
    pub location: LatLon,
    pub address: Option<String>,
    pub description: String,
    pub category: Category,
    pub photos: Vec<MediaId>,
    pub evidence: Vec<MediaId>,
    pub note: String,
}

/// A hazard an inspection found: a failed check-list item at a place or house, handed straight to
/// the department that answers for it (the item's category's department, or the community's own
/// team) with the item's deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundHazard {
    pub district: String,
    pub grid: RegionCode,
    pub location: LatLon,
    pub address: Option<String>,
    /// What is wrong, in words: the item and the inspector's note.
    pub description: String,
    /// A subclass of kind [`crate::CategoryKind::Hazard`].
    pub category: Category,
    pub department: Department,
    /// The rectification deadline (the item's days on the working calendar).
    pub deadline: Millis,
    pub photos: Vec<MediaId>,
    /// The item that failed and what was inspected, kept in the event (the store links the
    /// case to its inspection).
    pub item: String,
    pub subject: serde_json::Value,
    /// The hazard's own people rectify it: a social unit's self-inspection.
    pub source: Source,
}

/// Trims `s` and checks it is present and at most `max` characters long.
pub fn required_text(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "is required and may not be blank"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(field, format!("is longer than {max} characters")));
    }
    // Line breaks and tabs are text; NUL and the other control characters are not.
    if t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(FieldError::new(field, "may not contain control characters"));
    }
    Ok(t.to_string())
}

/// Like [`required_text`], but `None` or blank is accepted as absent.
pub fn optional_text(field: &str, s: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => required_text(field, t, max).map(Some),
    }
}

/// A phone number as people type it (`138 1234 1234`, `+86-138...`): digits only, 5 to 15 of them.
pub fn parse_phone(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    let t = t.strip_prefix("+86").unwrap_or(t);
    let digits: String = t.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    if !(5..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new("phone", "is not a phone number (5 to 15 digits)"));
    }
    Ok(digits)
}

fn photos(field: &str, p: &[MediaId], min: usize) -> Result<(), FieldError> {
    if p.len() < min {
        return Err(FieldError::new(field, format!("at least {min} photo is required")));
    }
    if p.len() > MAX_PHOTOS {
        return Err(FieldError::new(field, format!("at most {MAX_PHOTOS} photos")));
    }
    let mut seen = std::collections::HashSet::new();
    if !p.iter().all(|m| seen.insert(m)) {
        return Err(FieldError::new(field, "the same photo is listed twice"));
    }
    Ok(())
}

fn source_of(actor: &Actor) -> Source {
    if actor.has_role(Role::GridMember) || actor.has_role(Role::GridLeader) {
        Source::GridMember
    } else if actor.has_role(Role::Dispatcher) {
        Source::Hotline
    } else if actor.has_role(Role::SocialUnit) {
        Source::SocialUnit
    } else {
        Source::Resident
    }
}

pub(crate) fn blank_case(district: String, now: Millis) -> Case {
    Case {
        id: 0,
        reference: String::new(),
        version: 1,
        state: CaseState::Reported,
        district,
        grid: None,
        location: None,
        address: None,
        description: String::new(),
        source: Source::Resident,
        reporter: None,
        anonymous: false,
        contact: None,
        suggested_category: None,
        category: None,
        category_kind: None,
        public: false,
        urgency: Urgency::Routine,
        lead_department: None,
        co_departments: vec![],
        reported_at: now,
        accepted_at: None,
        dispatched_at: None,
        signed_at: None,
        resolved_at: None,
        verified_at: None,
        closed_at: None,
        handle_within: None,
        handle_by: None,
        due_at: None,
        extension_request: None,
        returns: 0,
        reworks: 0,
        extensions: 0,
        reopens: 0,
        supervisions: 0,
        supervision: None,
        warned_due: None,
        overdue_due: None,
        rating: None,
        rating_comment: None,
        on_the_spot: false,
        rejection: None,
        duplicate_of: None,
        updated_at: now,
    }
}

/// A new report. Anyone may report, also anonymously. Clocks on the wall clock.
pub fn report(actor: &Actor, r: NewReport, now: Millis) -> Result<Decision, Refusal> {
    report_on(actor, r, now, &Calendar::wall_clock())
}

/// [`report`] with the clocks on the jurisdiction's working calendar.
pub fn report_on(actor: &Actor, r: NewReport, now: Millis, cal: &Calendar) -> Result<Decision, Refusal> {
    let description = required_text("description", &r.description, MAX_DESCRIPTION)?;
    let address = optional_text("address", r.address.as_deref(), 300)?;
    if r.location.is_none() && address.is_none() {
        return Err(FieldError::new("location", "give a location (lat, lon) or an address").into());
    }
    photos("photos", &r.photos, 0)?;
    if let Some(c) = &r.suggested_category {
        if c.is_class() {
            return Err(FieldError::new("category", "choose a subclass, not a class").into());
        }
    }
    if r.source == Some(Source::Exchange) && crate::may(actor, crate::Permission::ReportForAnotherSystem).is_err() {
        return Err(Refusal::NotAllowed { action: "report", reason: "only data exchange may set the source".into() });
    }
    let mut case = blank_case(r.district, now);
    case.grid = r.grid;
    case.location = r.location;
    case.address = address;
    case.source = r.source.unwrap_or_else(|| source_of(actor));
    case.reporter = actor.person;
    case.anonymous = r.anonymous;
    case.contact = match r.contact {
        Some(c) => {
            let name = optional_text("contact_name", c.name.as_deref(), 50)?;
            let phone = c.phone.as_deref().map(parse_phone).transpose()?;
            Some(crate::Contact { name, phone }).filter(|c| !c.is_empty())
        }
        None => None,
    };
    case.suggested_category = r.suggested_category.as_ref().map(|c| c.id);
    case.urgency = r.urgency;
    case.due_at = Some(cal.deadline(now, r.urgency.accept_within(), r.urgency));
    case.description = description.clone();
    let mut event = NewEvent {
        action: Action::Report,
        at: now,
        actor: actor.person,
        from: None,
        to: CaseState::Reported,
        data: json!({
            "description": description,
            "urgency": r.urgency,
            "location": r.location,
            "address": case.address,
            "grid": case.grid,
            "suggested_category": case.suggested_category,
            "photos": r.photos,
            "source": case.source,
        }),
    };
    // A member of a team with the report duty where the problem lies reports as that team.
    if let Some(team) = case.grid.as_ref().and_then(|g| crate::teams::reporting_team(actor, g)) {
        event.data["team"] = json!(team);
    }
    Ok(Decision { case, event })
}

/// A grid member reports a small problem together with the evidence of its handling. The case
/// starts resolved and is verified by the grid leader. Clocks on the wall clock.
pub fn on_the_spot(actor: &Actor, r: OnTheSpot, now: Millis) -> Result<Decision, Refusal> {
    on_the_spot_on(actor, r, now, &Calendar::wall_clock())
}

/// [`on_the_spot`] with the clocks on the jurisdiction's working calendar.
pub fn on_the_spot_on(actor: &Actor, r: OnTheSpot, now: Millis, cal: &Calendar) -> Result<Decision, Refusal> {
    if !actor.has_role(Role::GridMember) {
        return Err(Refusal::NotAllowed {
            action: "handle on the spot",
            reason: "only a grid member handles on the spot".into(),
        });
    }
    if !actor.holds_for_region(Role::GridMember, &r.grid) {
        return Err(
            FieldError::new("location", format!("lies in grid {}, which is not one of your grids", r.grid)).into()
        );
    }
    if r.category.is_class() {
        return Err(FieldError::new("category", "choose a subclass, not a class").into());
    }
    let description = required_text("description", &r.description, MAX_DESCRIPTION)?;
    let note = required_text("note", &r.note, MAX_NOTE)?;
    photos("photos", &r.photos, 0)?;
    photos("evidence", &r.evidence, 1)?;
    let mut case = blank_case(r.district, now);
    case.state = CaseState::Resolved;
    case.grid = Some(r.grid);
    case.location = Some(r.location);
    case.address = optional_text("address", r.address.as_deref(), 300)?;
    case.description = description.clone();
    case.source = Source::GridMember;
    case.reporter = actor.person;
    case.category = Some(r.category.id);
    case.category_kind = Some(r.category.kind);
    case.public = r.category.public;
    case.on_the_spot = true;
    case.accepted_at = Some(now);
    case.dispatched_at = Some(now);
    case.signed_at = Some(now);
    case.resolved_at = Some(now);
    case.due_at = Some(cal.deadline(now, Urgency::Routine.verify_within(), Urgency::Routine));
    let event = NewEvent {
        action: Action::OnTheSpot,
        at: now,
        actor: actor.person,
        from: None,
        to: CaseState::Resolved,
        data: json!({
            "description": description,
            "location": r.location,
            "grid": case.grid,
            "category": r.category.id,
            "photos": r.photos,
            "evidence": r.evidence,
            "note": note,
        }),
    };
    Ok(Decision { case, event })
}

/// An inspection found a hazard: the case starts `dispatched` to the department that answers for
/// it, its deadline the failed item's; it never waits for the linkage center (it is not accepted
/// by it, so it counts in no stage of the center's). The inspection checked who may inspect there.
pub fn find_hazard(actor: &Actor, h: FoundHazard, now: Millis) -> Result<Decision, Refusal> {
    if h.category.kind != crate::CategoryKind::Hazard || h.category.is_class() {
        return Err(FieldError::new("category", "a hazard is of a subclass of kind hazard").into());
    }
    if h.deadline <= now {
        return Err(FieldError::new("deadline", "must lie in the future").into());
    }
    let description = required_text("description", &h.description, MAX_DESCRIPTION)?;
    photos("photos", &h.photos, 0)?;
    let mut case = blank_case(h.district, now);
    case.state = CaseState::Dispatched;
    case.grid = Some(h.grid);
    case.location = Some(h.location);
    case.address = optional_text("address", h.address.as_deref(), 300)?;
    case.description = description.clone();
    case.source = h.source;
    case.reporter = actor.person;
    case.category = Some(h.category.id);
    case.category_kind = Some(h.category.kind);
    case.public = false;
    case.lead_department = Some(h.department.id);
    case.dispatched_at = Some(now);
    case.handle_by = Some(h.deadline);
    case.due_at = Some(h.deadline);
    let event = NewEvent {
        action: Action::FindHazard,
        at: now,
        actor: actor.person,
        from: None,
        to: CaseState::Dispatched,
        data: json!({
            "description": description,
            "location": h.location,
            "grid": case.grid,
            "category": h.category.id,
            "lead_department": h.department.id,
            "deadline": to_rfc3339(h.deadline),
            "photos": h.photos,
            "item": h.item,
            "subject": h.subject,
            "source": case.source,
        }),
    };
    Ok(Decision { case, event })
}

/// Removes the personal data of a finished case once its retention period has passed: the contact
/// details and the link to the reporter. Done by the system, not by a person.
pub fn anonymise(case: &Case, now: Millis) -> Result<Decision, Refusal> {
    if case.state.is_open() {
        return Err(wrong_state(Action::Anonymise, case));
    }
    let mut c = case.clone();
    c.contact = None;
    c.reporter = None;
    c.version += 1;
    c.updated_at = now;
    let event = NewEvent {
        action: Action::Anonymise,
        at: now,
        actor: None,
        from: Some(case.state),
        to: case.state,
        data: json!({ "had_reporter": case.reporter.is_some(), "had_contact": case.contact.is_some() }),
    };
    Ok(Decision { case: c, event })
}

/// The time limit of the stage a case is in, to judge how much of it has passed.
fn stage_limit(case: &Case) -> Option<Millis> {
    match case.state {
        CaseState::Reported => Some(case.urgency.accept_within()),
        CaseState::Accepted | CaseState::Verified => Some(case.urgency.dispatch_within()),
        CaseState::Dispatched | CaseState::InProgress => case.handle_within,
        CaseState::Resolved => Some(case.urgency.verify_within()),
        CaseState::Closed | CaseState::Rated | CaseState::Rejected => None,
    }
}

fn system_event(case: &Case, c: &mut Case, action: Action, now: Millis, data: serde_json::Value) -> Decision {
    c.version = case.version + 1;
    c.updated_at = now;
    Decision {
        case: c.clone(),
        event: NewEvent { action, at: now, actor: None, from: Some(case.state), to: case.state, data },
    }
}

/// Warns, once per clock, that less than a quarter of the stage's time limit is left.
pub fn warn(case: &Case, now: Millis) -> Result<Decision, Refusal> {
    let not_yet = || Refusal::WrongState { action: Action::Warn.as_str(), state: case.state.as_str() };
    let (Some(due), Some(limit)) = (case.due_at, stage_limit(case)) else { return Err(not_yet()) };
    let threshold = due - ((1.0 - WARN_AT) * limit as f64) as Millis;
    if !case.state.is_open() || case.warned_due == Some(due) || now < threshold || now > due {
        return Err(not_yet());
    }
    let mut c = case.clone();
    c.warned_due = Some(due);
    Ok(system_event(case, &mut c, Action::Warn, now, json!({ "due_at": to_rfc3339(due), "left_ms": due - now })))
}

/// Marks a case overdue, once per clock, and puts it under supervision at its community (the
/// district, outside every grid) unless an order is already waiting.
pub fn mark_overdue(case: &Case, now: Millis, cal: &Calendar) -> Result<Decision, Refusal> {
    let Some(due) = case.due_at.filter(|d| case.state.is_open() && now > *d && case.overdue_due != Some(*d)) else {
        return Err(Refusal::WrongState { action: Action::MarkOverdue.as_str(), state: case.state.as_str() });
    };
    let mut c = case.clone();
    c.overdue_due = Some(due);
    let mut ordered = None;
    if case.supervision.is_none() {
        let level = case.grid.as_ref().and_then(|g| g.parent()).unwrap_or_else(|| case.scope_region());
        let respond_by = cal.deadline(now, SUPERVISION_RESPONSE, case.urgency);
        c.supervisions += 1;
        c.supervision = Some(SupervisionOrder { ordered_at: now, respond_by, level: level.clone(), by: None });
        ordered = Some(json!({ "level": level, "respond_by": to_rfc3339(respond_by) }));
    }
    let data = json!({ "due_at": to_rfc3339(due), "stage": case.state, "supervision": ordered });
    Ok(system_event(case, &mut c, Action::MarkOverdue, now, data))
}

/// Sends an unanswered supervision order one level up the region tree (community → street →
/// district), with a new response deadline.
pub fn escalate(case: &Case, now: Millis, cal: &Calendar) -> Result<Decision, Refusal> {
    let refuse = || Refusal::WrongState { action: Action::Escalate.as_str(), state: case.state.as_str() };
    let order = case.supervision.as_ref().filter(|o| case.state.is_open() && now > o.respond_by).ok_or_else(refuse)?;
    let up = order.level.parent().ok_or_else(refuse)?;
    let mut c = case.clone();
    let respond_by = cal.deadline(now, SUPERVISION_RESPONSE, case.urgency);
    c.supervision = Some(SupervisionOrder { ordered_at: now, respond_by, level: up.clone(), by: order.by });
    let data = json!({ "from": order.level, "to": up, "respond_by": to_rfc3339(respond_by) });
    Ok(system_event(case, &mut c, Action::Escalate, now, data))
}

/// Whether the actor may see the case at all.
pub fn can_see(actor: &Actor, case: &Case) -> bool {
    sees(actor, &case.sight())
}

/// Whether the actor may see a case with these facts: the case whose tracking code they hold,
/// and what their [`Visibility`] covers. The one rule behind [`can_see`], the live feed's filter
/// and (through [`Visibility::of`]) the store's list queries.
pub fn sees(actor: &Actor, sight: &crate::CaseSight) -> bool {
    actor.tracking_case == Some(sight.case) || Visibility::of(actor).covers(sight)
}

/// Which cases a person sees: the cases they reported; the cases in the regions where they hold a
/// staff role (the case's grid, or its district when outside every grid); the cases their
/// departments lead or co-operate on. The store applies it inside list queries (a `WHERE`
/// clause that must say what [`Visibility::covers`] says); [`sees`] asks it of one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Everything (no restriction): the system's own jobs, never a person.
    pub all: bool,
    /// Region subtrees (the case's grid, or its district when outside every grid).
    pub regions: Vec<RegionCode>,
    /// Cases where one of these departments is lead or co-department.
    pub departments: Vec<crate::DepartmentId>,
    /// Cases reported by this person.
    pub reporter: Option<crate::PersonId>,
}

impl Visibility {
    /// What `actor` sees, derived from their grants. A tracking code is not part of it: it opens
    /// one case, never a list.
    pub fn of(actor: &Actor) -> Self {
        let mut v = Visibility { reporter: actor.person, ..Default::default() };
        for g in &actor.grants {
            match &g.scope {
                crate::Scope::Region { code } if g.role.is_staff() => v.regions.push(code.clone()),
                crate::Scope::Department { id } => v.departments.push(*id),
                crate::Scope::Region { .. } | crate::Scope::Place { .. } => {}
            }
        }
        v
    }

    /// Whether a case with these facts is among those seen.
    pub fn covers(&self, sight: &crate::CaseSight) -> bool {
        self.all
            || (self.reporter.is_some() && self.reporter == sight.reporter)
            || self.regions.iter().any(|r| r.contains(&sight.region))
            || self.departments.iter().any(|d| sight.departments.contains(d))
    }
}

/// The workflow actions people take on a case, in the order a case page offers them.
pub const COMMANDS: [Action; 17] = [
    Action::Accept,
    Action::Reject,
    Action::Dispatch,
    Action::Sign,
    Action::SubmitResult,
    Action::ReportPart,
    Action::RequestExtension,
    Action::Return,
    Action::ApproveExtension,
    Action::DenyExtension,
    Action::Verify,
    Action::Close,
    Action::Rate,
    Action::Reopen,
    Action::Supervise,
    Action::Respond,
    Action::Note,
];

/// The workflow actions `actor` may take on `case` now (in the order of [`COMMANDS`]): those
/// [`decide`] would carry out given valid data. It asks the same checks `decide` makes before it
/// reads the command's data — visibility, role and scope, state, and what the case must be waiting
/// for (an extension request to decide, a supervision order to answer) — by the same code.
pub fn allowed(case: &Case, actor: &Actor) -> Vec<Action> {
    if !can_see(actor, case) {
        return Vec::new();
    }
    let standing = Standing::of(case, actor);
    COMMANDS.into_iter().filter(|a| permit(case, actor, &standing, *a).is_ok()).collect()
}

/// Whether `actor` may take `action` on `case` now, as [`decide`] would judge it before reading
/// the command's data: also for actions with their own door rather than the generic one
/// ([`Action::AddCaller`]).
pub fn allows(case: &Case, actor: &Actor, action: Action) -> bool {
    can_see(actor, case) && permit(case, actor, &Standing::of(case, actor), action).is_ok()
}

/// Where the actor stands towards a case: the roles the state machine asks about.
struct Standing {
    dispatcher: bool,
    supervisor: bool,
    lead: bool,
    co: bool,
    grid_member: bool,
    grid_leader: bool,
    /// Works on the case: staff of its region who handle cases, or one of its departments.
    operational: bool,
}

impl Standing {
    fn of(case: &Case, actor: &Actor) -> Self {
        let region = case.scope_region();
        let lead = case.lead_department.is_some_and(|d| actor.works_for(d));
        let co = case.co_departments.iter().any(|d| actor.works_for(*d));
        Standing {
            dispatcher: actor.holds_for_region(Role::Dispatcher, &region),
            supervisor: actor.holds_for_region(Role::Supervisor, &region),
            lead,
            co,
            grid_member: case.grid.as_ref().is_some_and(|g| actor.holds_for_region(Role::GridMember, g)),
            grid_leader: case.grid.as_ref().is_some_and(|g| actor.holds_for_region(Role::GridLeader, g)),
            operational: [Role::Dispatcher, Role::Supervisor, Role::GridMember, Role::GridLeader]
                .iter()
                .any(|r| actor.holds_for_region(*r, &region))
                || lead
                || co,
        }
    }
}

fn no_extension_request() -> Refusal {
    FieldError::new("extension", "no extension request is waiting").into()
}

fn no_supervision_order() -> Refusal {
    FieldError::new("supervision", "no supervision order is waiting for a response").into()
}

/// What [`decide`] checks of `action` on a case the actor sees, before the command's data: role
/// and scope (`NotAllowed`), state (`WrongState`), and what the case must be waiting for
/// (`Invalid`, naming the field as `decide` always has). Shared with [`allowed`].
fn permit(case: &Case, actor: &Actor, s: &Standing, action: Action) -> Result<(), Refusal> {
    use CaseState::*;
    const HANDLING: &[CaseState] = &[Dispatched, InProgress];
    match action {
        Action::Accept => {
            need(s.dispatcher, action, "only the linkage center's dispatcher accepts reports")?;
            in_state(case, action, &[Reported])
        }
        Action::Reject => {
            need(s.dispatcher, action, "only the linkage center's dispatcher rejects reports")?;
            in_state(case, action, &[Reported])
        }
        Action::Dispatch => {
            need(s.dispatcher, action, "only the linkage center's dispatcher dispatches")?;
            in_state(case, action, &[Accepted])
        }
        Action::Sign => {
            need(s.lead, action, "only the lead department signs for a case")?;
            in_state(case, action, &[Dispatched])
        }
        Action::Return => {
            need(s.lead, action, "only the lead department returns a case")?;
            in_state(case, action, HANDLING)
        }
        Action::RequestExtension => {
            need(s.lead, action, "only the lead department asks for more time")?;
            in_state(case, action, HANDLING)?;
            if case.extension_request.is_some() {
                return Err(FieldError::new("until", "an extension request is already waiting for a decision").into());
            }
            Ok(())
        }
        Action::ApproveExtension | Action::DenyExtension => {
            let reason = if action == Action::ApproveExtension {
                "only the linkage center approves extensions"
            } else {
                "only the linkage center denies extensions"
            };
            need(s.dispatcher, action, reason)?;
            in_state(case, action, HANDLING)?;
            if case.extension_request.is_none() {
                return Err(no_extension_request());
            }
            Ok(())
        }
        Action::ReportPart => {
            need(s.co, action, "only a co-department reports its part")?;
            in_state(case, action, HANDLING)
        }
        Action::SubmitResult => {
            need(s.lead, action, "only the lead department submits the result")?;
            in_state(case, action, &[InProgress])
        }
        Action::Verify => {
            if case.on_the_spot {
                need(
                    s.grid_leader && actor.person != case.reporter,
                    action,
                    "the grid leader of the community verifies on-the-spot handling",
                )?;
            } else {
                need(
                    s.grid_member || s.grid_leader || (case.grid.is_none() && s.dispatcher),
                    action,
                    "a grid member of the case's grid or its grid leader verifies on site",
                )?;
            }
            in_state(case, action, &[Resolved])
        }
        Action::Close => {
            need(
                s.dispatcher || (case.on_the_spot && s.grid_leader),
                action,
                "the linkage center closes a case (the grid leader closes on-the-spot handling)",
            )?;
            in_state(case, action, &[Verified])
        }
        Action::Rate => {
            need(case.is_reporter(actor), action, "only the reporter rates the result")?;
            in_state(case, action, &[Closed])
        }
        Action::Reopen => {
            need(s.supervisor, action, "only a supervisor reopens a closed case")?;
            in_state(case, action, &[Closed, Rated])
        }
        Action::Supervise => {
            need(s.supervisor, action, "only a supervisor issues a supervision order")?;
            if case.state.is_open() {
                Ok(())
            } else {
                Err(wrong_state(action, case))
            }
        }
        Action::Respond => {
            need(
                s.lead || s.dispatcher,
                action,
                "the lead department or the linkage center answers a supervision order",
            )?;
            if case.supervision.is_none() {
                return Err(no_supervision_order());
            }
            Ok(())
        }
        Action::Note => need(s.operational, action, "internal notes are for those who work on the case"),
        Action::AddCaller => {
            need(s.dispatcher, action, "only the linkage center takes hotline calls")?;
            if case.state.is_open() {
                Ok(())
            } else {
                Err(wrong_state(action, case))
            }
        }
        Action::Reinspect => {
            if case.category_kind != Some(crate::CategoryKind::Hazard) {
                return Err(Refusal::NotAllowed {
                    action: action.as_str(),
                    reason: "only a hazard is re-inspected".into(),
                });
            }
            need(
                case.grid
                    .as_ref()
                    .is_some_and(|g| crate::may(actor, crate::Permission::InspectPlaces { region: g }).is_ok()),
                action,
                "who inspects the places of the case's grid re-inspects its hazards",
            )?;
            in_state(case, action, &[Dispatched, InProgress, Resolved])
        }
        Action::Report
        | Action::OnTheSpot
        | Action::FindHazard
        | Action::Anonymise
        | Action::Warn
        | Action::MarkOverdue
        | Action::Escalate => {
            Err(Refusal::NotAllowed { action: action.as_str(), reason: "not an action people take on a case".into() })
        }
    }
}

fn wrong_state(action: Action, case: &Case) -> Refusal {
    Refusal::WrongState { action: action.as_str(), state: case.state.as_str() }
}

fn need(ok: bool, action: Action, reason: &str) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        Err(Refusal::NotAllowed { action: action.as_str(), reason: reason.to_string() })
    }
}

fn in_state(case: &Case, action: Action, states: &[CaseState]) -> Result<(), Refusal> {
    if states.contains(&case.state) {
        Ok(())
    } else {
        Err(wrong_state(action, case))
    }
}

/// Applies `cmd` to `case` as `actor` at `now`: the new projection and its one event, or why not.
///
/// Checks, in order: visibility (refusals here do not reveal the case), role and scope, current
/// state, required data.
pub fn decide(case: &Case, actor: &Actor, cmd: Command, now: Millis) -> Result<Decision, Refusal> {
    decide_on(case, actor, cmd, now, &Calendar::wall_clock())
}

/// [`decide`] with the clocks on the jurisdiction's working calendar: deadlines count working
/// time, except for emergencies, which count every minute.
pub fn decide_on(case: &Case, actor: &Actor, cmd: Command, now: Millis, cal: &Calendar) -> Result<Decision, Refusal> {
    if !can_see(actor, case) {
        return Err(Refusal::OutOfScope);
    }
    let action = cmd.action();
    permit(case, actor, &Standing::of(case, actor), action)?;
    let from = case.state;
    let mut c = case.clone();
    let data;

    match cmd {
        Command::Accept { category, urgency, note } => {
            if category.is_class() {
                return Err(FieldError::new("category", "choose a subclass, not a class").into());
            }
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            c.state = CaseState::Accepted;
            c.category = Some(category.id);
            c.category_kind = Some(category.kind);
            c.public = category.public;
            c.urgency = urgency;
            c.handle_within = Some(category.deadlines.for_urgency(urgency));
            c.accepted_at = Some(now);
            c.due_at = Some(cal.deadline(now, urgency.dispatch_within(), urgency));
            data = json!({
                "category": category.id, "urgency": urgency, "note": note,
                "on_time": case.due_at.is_none_or(|d| now <= d),
            });
        }
        Command::Reject { reason, original, note } => {
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            let original_id = match (reason, original) {
                (Rejection::Duplicate, None) => {
                    return Err(FieldError::new("duplicate_of", "name the case this one duplicates").into())
                }
                (Rejection::Duplicate, Some(o)) => {
                    if o.id == case.id {
                        return Err(FieldError::new("duplicate_of", "a case cannot duplicate itself").into());
                    }
                    if o.district != case.district {
                        return Err(FieldError::new("duplicate_of", "the original belongs to another district").into());
                    }
                    if o.state == CaseState::Rejected {
                        return Err(FieldError::new(
                            "duplicate_of",
                            "the original was itself rejected; link to the case it duplicates",
                        )
                        .into());
                    }
                    Some(o.id)
                }
                (_, Some(_)) => {
                    return Err(FieldError::new("duplicate_of", "only a duplicate names another case").into())
                }
                (_, None) => None,
            };
            if reason == Rejection::Invalid && note.is_none() {
                return Err(FieldError::new("note", "say why the report is invalid; the reporter will read it").into());
            }
            c.state = CaseState::Rejected;
            c.rejection = Some(reason);
            c.duplicate_of = original_id;
            c.closed_at = Some(now);
            c.due_at = None;
            data = json!({ "reason": reason, "duplicate_of": original_id, "note": note });
        }
        Command::Dispatch { lead: lead_dept, co, deadline, note } => {
            let mut co_ids: Vec<i64> = co.iter().map(|d| d.id).collect();
            co_ids.sort_unstable();
            co_ids.dedup();
            if co_ids.len() != co.len() {
                return Err(FieldError::new("co_departments", "a department is listed twice").into());
            }
            if co_ids.contains(&lead_dept.id) {
                return Err(
                    FieldError::new("co_departments", "the lead department cannot also be a co-department").into()
                );
            }
            let handle_by = match deadline {
                Some(d) if d <= now => return Err(FieldError::new("deadline", "must lie in the future").into()),
                Some(d) => d,
                None => cal.deadline(now, case.handle_within.unwrap_or(Urgency::Routine.verify_within()), case.urgency),
            };
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            c.state = CaseState::Dispatched;
            c.lead_department = Some(lead_dept.id);
            c.co_departments = co_ids.clone();
            c.dispatched_at = Some(now);
            c.signed_at = None;
            c.handle_by = Some(handle_by);
            c.due_at = Some(handle_by);
            c.extension_request = None;
            data = json!({
                "lead_department": lead_dept.id, "co_departments": co_ids, "deadline": to_rfc3339(handle_by), "note": note,
                "on_time": case.due_at.is_none_or(|d| now <= d),
            });
        }
        Command::Sign => {
            c.state = CaseState::InProgress;
            c.signed_at = Some(now);
            data = json!({});
        }
        Command::Return { reason } => {
            let reason = required_text("reason", &reason, MAX_NOTE)?;
            c.state = CaseState::Accepted;
            c.returns += 1;
            c.lead_department = None;
            c.co_departments.clear();
            c.handle_by = None;
            c.extension_request = None;
            c.due_at = Some(cal.deadline(now, case.urgency.dispatch_within(), case.urgency));
            data = json!({ "reason": reason, "department": case.lead_department });
        }
        Command::RequestExtension { until, reason } => {
            let reason = required_text("reason", &reason, MAX_NOTE)?;
            if until <= case.handle_by.unwrap_or(now).max(now) {
                return Err(FieldError::new("until", "must lie after the current deadline").into());
            }
            c.extension_request =
                Some(ExtensionRequest { until, reason: reason.clone(), requested_by: actor.person, requested_at: now });
            data = json!({ "until": to_rfc3339(until), "reason": reason, "deadline": case.handle_by.map(to_rfc3339) });
        }
        Command::ApproveExtension { note } => {
            let Some(req) = case.extension_request.clone() else { return Err(no_extension_request()) };
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            c.extension_request = None;
            c.extensions += 1;
            c.handle_by = Some(req.until);
            c.due_at = Some(req.until);
            data = json!({ "until": to_rfc3339(req.until), "previous_deadline": case.handle_by.map(to_rfc3339), "reason": req.reason, "note": note });
        }
        Command::DenyExtension { reason } => {
            let reason = required_text("reason", &reason, MAX_NOTE)?;
            c.extension_request = None;
            data = json!({ "reason": reason });
        }
        Command::ReportPart { note, evidence } => {
            let co = case.co_departments.iter().find(|d| actor.works_for(**d));
            let note = required_text("note", &note, MAX_NOTE)?;
            photos("evidence", &evidence, 0)?;
            data = json!({ "department": co, "note": note, "evidence": evidence });
        }
        Command::SubmitResult { note, evidence } => {
            let note = required_text("note", &note, MAX_NOTE)?;
            // A case from another system may have been handled there: its evidence stays there.
            photos("evidence", &evidence, usize::from(case.source != Source::Exchange))?;
            c.state = CaseState::Resolved;
            c.resolved_at = Some(now);
            c.extension_request = None;
            c.due_at = Some(cal.deadline(now, case.urgency.verify_within(), case.urgency));
            data = json!({ "note": note, "evidence": evidence, "on_time": case.handle_by.is_none_or(|d| now <= d) });
        }
        Command::Verify { passed, note, evidence } => {
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            photos("evidence", &evidence, 0)?;
            if !passed && note.is_none() {
                return Err(FieldError::new("note", "say what is still wrong; the department will read it").into());
            }
            if passed {
                c.state = CaseState::Verified;
                c.verified_at = Some(now);
                c.due_at = Some(cal.deadline(now, case.urgency.dispatch_within(), case.urgency));
            } else {
                c.reworks += 1;
                c.resolved_at = None;
                if case.lead_department.is_some() {
                    c.state = CaseState::InProgress;
                    c.due_at = c.handle_by;
                } else {
                    // On-the-spot handling that failed goes to the linkage center for dispatch.
                    c.state = CaseState::Accepted;
                    c.on_the_spot = false;
                    c.due_at = Some(cal.deadline(now, case.urgency.dispatch_within(), case.urgency));
                }
            }
            data = json!({ "passed": passed, "note": note, "evidence": evidence });
        }
        Command::Close { note } => {
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            c.state = CaseState::Closed;
            c.closed_at = Some(now);
            c.due_at = None;
            data = json!({ "note": note });
        }
        Command::Rate { score, comment } => {
            if !(1..=5).contains(&score) {
                return Err(FieldError::new("score", "must be a whole number from 1 to 5").into());
            }
            let comment = optional_text("comment", comment.as_deref(), MAX_NOTE)?;
            c.state = CaseState::Rated;
            c.rating = Some(score);
            c.rating_comment = comment.clone();
            data = json!({ "score": score, "comment": comment });
        }
        Command::Reopen { reason } => {
            let reason = required_text("reason", &reason, MAX_NOTE)?;
            c.state = CaseState::Accepted;
            c.reopens += 1;
            c.lead_department = None;
            c.co_departments.clear();
            c.handle_by = None;
            c.resolved_at = None;
            c.verified_at = None;
            c.closed_at = None;
            c.rating = None;
            c.rating_comment = None;
            c.on_the_spot = false;
            c.due_at = Some(cal.deadline(now, case.urgency.dispatch_within(), case.urgency));
            data = json!({ "reason": reason, "previous_rating": case.rating });
        }
        Command::Supervise { note, deadline } => {
            let note = required_text("note", &note, MAX_NOTE)?;
            if deadline.is_some_and(|d| d <= now) {
                return Err(FieldError::new("deadline", "must lie in the future").into());
            }
            // The order is followed at the level of the supervisor's own region.
            let region = case.scope_region();
            let level = actor
                .grants
                .iter()
                .filter(|g| g.role == Role::Supervisor)
                .filter_map(|g| match &g.scope {
                    crate::Scope::Region { code } if code.contains(&region) => Some(code.clone()),
                    _ => None,
                })
                .max_by_key(|c| c.as_str().len())
                .unwrap_or_else(|| region.clone());
            let respond_by = deadline.unwrap_or_else(|| cal.deadline(now, SUPERVISION_RESPONSE, case.urgency));
            c.supervisions += 1;
            c.supervision =
                Some(SupervisionOrder { ordered_at: now, respond_by, level: level.clone(), by: actor.person });
            data = json!({ "note": note, "respond_by": to_rfc3339(respond_by), "level": level });
        }
        Command::Respond { note } => {
            let Some(order) = &case.supervision else { return Err(no_supervision_order()) };
            let note = required_text("note", &note, MAX_NOTE)?;
            data = json!({ "note": note, "on_time": now <= order.respond_by, "level": order.level });
            c.supervision = None;
        }
        Command::Note { text } => {
            let text = required_text("text", &text, MAX_NOTE)?;
            data = json!({ "text": text });
        }
        Command::Reinspect { passed, note, evidence } => {
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            photos("evidence", &evidence, 0)?;
            if !passed && note.is_none() {
                return Err(FieldError::new("note", "say what is still wrong; the department will read it").into());
            }
            if passed {
                // Seen rectified on site: verified and closed in one act; a rectification the
                // department never submitted counts as done now.
                c.state = CaseState::Closed;
                c.resolved_at = case.resolved_at.or(Some(now));
                c.verified_at = Some(now);
                c.closed_at = Some(now);
                c.extension_request = None;
                c.due_at = None;
            } else if case.state == CaseState::Resolved {
                c.state = CaseState::InProgress;
                c.reworks += 1;
                c.resolved_at = None;
                c.due_at = c.handle_by;
            }
            data = json!({
                "passed": passed, "note": note, "evidence": evidence,
                "on_time": case.handle_by.is_none_or(|d| now <= d),
            });
        }
        Command::AddCaller { caller: _, note } => {
            // The caller's phone and name stay out of the event (which is never anonymised):
            // the store keeps them sealed in `case_callers`, beside this event's seq.
            let note = optional_text("note", note.as_deref(), MAX_NOTE)?;
            data = json!({ "note": note });
        }
    }

    c.version = case.version + 1;
    c.updated_at = now;
    let event = NewEvent { action, at: now, actor: actor.person, from: Some(from), to: c.state, data };
    Ok(Decision { case: c, event })
}

#[cfg(test)]
mod tests;
