//! Cases, their states, references and events.

use serde::{Deserialize, Serialize};

use crate::{CategoryId, CategoryKind, DepartmentId, FieldError, LatLon, Millis, PersonId, RegionCode, Urgency};

pub type CaseId = i64;

/// Identifier of a stored photo or video (a UUID string).
pub type MediaId = String;

/// The states of the case workflow (DESIGN.md, "The case workflow").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Reported,
    Accepted,
    Dispatched,
    InProgress,
    Resolved,
    Verified,
    Closed,
    Rated,
    Rejected,
}

impl CaseState {
    pub const ALL: [CaseState; 9] = [
        CaseState::Reported,
        CaseState::Accepted,
        CaseState::Dispatched,
        CaseState::InProgress,
        CaseState::Resolved,
        CaseState::Verified,
        CaseState::Closed,
        CaseState::Rated,
        CaseState::Rejected,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Accepted => "accepted",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Verified => "verified",
            Self::Closed => "closed",
            Self::Rated => "rated",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
            FieldError::new("state", format!("unknown state `{s}`; one of {}", all.join(", ")))
        })
    }
    /// Still needs work: not closed, rated or rejected.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Rated | Self::Rejected)
    }
}

/// How a report reached the platform.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Resident,
    GridMember,
    SocialUnit,
    /// Taken by the linkage center from a phone call.
    Hotline,
    /// Another system (Open311 and data exchange).
    Exchange,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::GridMember => "grid_member",
            Self::SocialUnit => "social_unit",
            Self::Hotline => "hotline",
            Self::Exchange => "exchange",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Ok(match s {
            "resident" => Self::Resident,
            "grid_member" => Self::GridMember,
            "social_unit" => Self::SocialUnit,
            "hotline" => Self::Hotline,
            "exchange" => Self::Exchange,
            _ => return Err(FieldError::new("source", "unknown source")),
        })
    }
}

/// Why a report was not accepted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    Invalid,
    OutsideArea,
    Duplicate,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::OutsideArea => "outside_area",
            Self::Duplicate => "duplicate",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Ok(match s {
            "invalid" => Self::Invalid,
            "outside_area" => Self::OutsideArea,
            "duplicate" => Self::Duplicate,
            _ => return Err(FieldError::new("reason", "must be invalid, outside_area or duplicate")),
        })
    }
}

/// A human case reference: `330483-2026-000123` — district, year, number within both.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseRef(String);

impl CaseRef {
    pub fn new(district: &str, year: i32, number: u32) -> Self {
        Self(format!("{district}-{year}-{number:06}"))
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let parts: Vec<&str> = s.split('-').collect();
        let ok = parts.len() == 3
            && parts[0].len() == 6
            && parts[1].len() == 4
            && parts[2].len() >= 6
            && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(FieldError::new("reference", "expected DISTRICT-YEAR-NUMBER, like 330483-2026-000123"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CaseRef {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}
impl From<CaseRef> for String {
    fn from(c: CaseRef) -> String {
        c.0
    }
}
impl std::fmt::Display for CaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to reach a reporter, left with the report. Personal data: never serialised with the case;
/// shown masked, revealed only by an audited action, sealed at rest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl Contact {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none()
    }
}

/// A supervision order (督办) waiting for its response. Unanswered by `respond_by`, it escalates
/// one level up the region tree.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisionOrder {
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ordered_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub respond_by: Millis,
    /// The region whose supervisors follow the order.
    pub level: RegionCode,
    /// Who ordered it; `None` when the system did, for an overdue case.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub by: Option<PersonId>,
}

/// A department's request for more time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub until: Millis,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub requested_by: Option<PersonId>,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub requested_at: Millis,
}

/// The current state of a case: a projection of its events, kept in the same transaction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Assigned by the store; 0 before the case is stored.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: CaseId,
    /// Assigned by the store with the id (unique per district and year); empty before.
    pub reference: String,
    /// Bumped by every event; the store refuses a write whose version is stale.
    pub version: i64,
    pub state: CaseState,
    /// The district the case belongs to (6 digits): the jurisdiction that received it.
    pub district: String,
    /// The grid the location lies in; `None` when outside every grid ("outside the jurisdiction").
    pub grid: Option<RegionCode>,
    pub location: Option<LatLon>,
    pub address: Option<String>,
    pub description: String,
    pub source: Source,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub reporter: Option<PersonId>,
    /// The reporter asked not to be named to departments.
    pub anonymous: bool,
    /// Contact details left with the report (personal data: skipped when serialised).
    #[serde(skip)]
    pub contact: Option<Contact>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub suggested_category: Option<CategoryId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub category: Option<CategoryId>,
    pub category_kind: Option<CategoryKind>,
    /// Whether the public may see this case (from its category; false until accepted).
    pub public: bool,
    pub urgency: Urgency,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub lead_department: Option<DepartmentId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<i64>))]
    pub co_departments: Vec<DepartmentId>,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub reported_at: Millis,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub accepted_at: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub dispatched_at: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub signed_at: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub verified_at: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Millis>,
    /// Handling time granted by the category and urgency, copied at acceptance.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub handle_within: Option<Millis>,
    /// The handling deadline (handle-by), set at dispatch, moved by approved extensions.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub handle_by: Option<Millis>,
    /// The clock of the current stage: accept-by, dispatch-by, handle-by, verify-by or close-by.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Millis>,
    pub extension_request: Option<ExtensionRequest>,
    pub returns: i32,
    pub reworks: i32,
    pub extensions: i32,
    pub reopens: i32,
    pub supervisions: i32,
    /// The supervision order waiting for a response, if any.
    pub supervision: Option<SupervisionOrder>,
    /// The clock (`due_at`) whose handler was warned that it runs out, and the one marked overdue:
    /// each happens once per clock.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub warned_due: Option<Millis>,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub overdue_due: Option<Millis>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    /// Handled on the spot by the grid member who reported it.
    pub on_the_spot: bool,
    pub rejection: Option<Rejection>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub duplicate_of: Option<CaseId>,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
}

impl Case {
    /// The region that decides who is responsible: the grid, or the district when outside every grid.
    pub fn scope_region(&self) -> RegionCode {
        self.grid
            .clone()
            .unwrap_or_else(|| RegionCode::parse(&self.district).expect("district code of a stored case is valid"))
    }

    pub fn is_overdue(&self, now: Millis) -> bool {
        self.state.is_open() && self.due_at.is_some_and(|d| now > d)
    }

    /// Whether the actor is this case's reporter (signed in, or holding its tracking code).
    pub fn is_reporter(&self, actor: &crate::Actor) -> bool {
        (actor.person.is_some() && actor.person == self.reporter) || actor.tracking_case == Some(self.id)
    }

    /// Whether `dept` is the lead or a co-department.
    pub fn involves(&self, dept: DepartmentId) -> bool {
        self.lead_department == Some(dept) || self.co_departments.contains(&dept)
    }

    /// What decides who may see this case (see [`crate::sees`]).
    pub fn sight(&self) -> CaseSight {
        CaseSight {
            case: self.id,
            region: self.scope_region(),
            departments: self.lead_department.into_iter().chain(self.co_departments.iter().copied()).collect(),
            reporter: self.reporter,
        }
    }
}

/// The few facts of a case that decide who may see it: its region (grid, or district when outside
/// every grid), its lead and co-departments, its reporter. Small enough to travel with a live
/// notice, so that a listener can be filtered without reading the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSight {
    pub case: CaseId,
    pub region: crate::RegionCode,
    pub departments: Vec<DepartmentId>,
    pub reporter: Option<PersonId>,
}

/// What kind of thing happened to a case. One per transition of the state machine.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Report,
    OnTheSpot,
    Accept,
    Reject,
    Dispatch,
    Sign,
    Return,
    RequestExtension,
    ApproveExtension,
    DenyExtension,
    ReportPart,
    SubmitResult,
    Verify,
    Close,
    Rate,
    Reopen,
    Supervise,
    Note,
    /// The retention period passed: personal data removed from a finished case.
    Anonymise,
    /// The handler or the center answers a supervision order.
    Respond,
    /// The system warns that the current clock is about to run out.
    Warn,
    /// The system marks the case overdue and puts it under supervision.
    MarkOverdue,
    /// An unanswered supervision order goes one level up the region tree.
    Escalate,
    /// The linkage center attached a hotline call about the case: another reporter, kept in
    /// `case_callers` (the event carries no personal data).
    AddCaller,
    /// An inspection found a hazard: the case starts dispatched to the responsible department,
    /// with the failed item's deadline.
    FindHazard,
    /// A re-inspection of the place checked the hazard's rectification: passed, it closes the
    /// case; failed, the department works on.
    Reinspect,
}

impl Action {
    pub const ALL: [Action; 26] = [
        Action::Report,
        Action::OnTheSpot,
        Action::Accept,
        Action::Reject,
        Action::Dispatch,
        Action::Sign,
        Action::Return,
        Action::RequestExtension,
        Action::ApproveExtension,
        Action::DenyExtension,
        Action::ReportPart,
        Action::SubmitResult,
        Action::Verify,
        Action::Close,
        Action::Rate,
        Action::Reopen,
        Action::Supervise,
        Action::Note,
        Action::Anonymise,
        Action::Respond,
        Action::Warn,
        Action::MarkOverdue,
        Action::Escalate,
        Action::AddCaller,
        Action::FindHazard,
        Action::Reinspect,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Report => "report",
            Action::OnTheSpot => "on_the_spot",
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Dispatch => "dispatch",
            Action::Sign => "sign",
            Action::Return => "return",
            Action::RequestExtension => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::DenyExtension => "deny_extension",
            Action::ReportPart => "report_part",
            Action::SubmitResult => "submit_result",
            Action::Verify => "verify",
            Action::Close => "close",
            Action::Rate => "rate",
            Action::Reopen => "reopen",
            Action::Supervise => "supervise",
            Action::Note => "note",
            Action::Anonymise => "anonymise",
            Action::Respond => "respond",
            Action::Warn => "warn",
            Action::MarkOverdue => "mark_overdue",
            Action::Escalate => "escalate",
            Action::AddCaller => "add_caller",
            Action::FindHazard => "find_hazard",
            Action::Reinspect => "reinspect",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| FieldError::new("action", format!("unknown action `{s}`")))
    }
    /// Internal events are not shown to the reporter or the public.
    pub fn is_internal(self) -> bool {
        matches!(
            self,
            Action::Note
                | Action::Supervise
                | Action::ReportPart
                | Action::RequestExtension
                | Action::DenyExtension
                | Action::Anonymise
                | Action::Respond
                | Action::Warn
                | Action::MarkOverdue
                | Action::Escalate
                | Action::AddCaller
        )
    }
}

/// One thing that happened to a case, as produced by the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewEvent {
    pub action: Action,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Millis,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub actor: Option<PersonId>,
    pub from: Option<CaseState>,
    pub to: CaseState,
    /// The action's data: note, reason, deadline, departments, evidence, score...
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// A stored case event: the append-only history of which the case row is a projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub case_id: CaseId,
    /// 1, 2, 3... per case; equal to the case's version after this event.
    pub seq: i64,
    #[serde(flatten)]
    pub event: NewEvent,
}
