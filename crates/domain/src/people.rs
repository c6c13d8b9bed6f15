//! People, roles and the scopes roles are held in.

use serde::{Deserialize, Serialize};

use crate::{DepartmentId, FieldError, RegionCode};

pub type PersonId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    SocialUnit,
    GridMember,
    GridLeader,
    Dispatcher,
    DepartmentStaff,
    DepartmentHead,
    Supervisor,
    Analyst,
    Admin,
    Auditor,
    /// The police of a region (a community police chief, auxiliary police): reads the tenancy
    /// registrations there, audited; no part in the handling of cases.
    Police,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Resident,
        Role::SocialUnit,
        Role::GridMember,
        Role::GridLeader,
        Role::Dispatcher,
        Role::DepartmentStaff,
        Role::DepartmentHead,
        Role::Supervisor,
        Role::Analyst,
        Role::Admin,
        Role::Auditor,
        Role::Police,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::SocialUnit => "social_unit",
            Role::GridMember => "grid_member",
            Role::GridLeader => "grid_leader",
            Role::Dispatcher => "dispatcher",
            Role::DepartmentStaff => "department_staff",
            Role::DepartmentHead => "department_head",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Police => "police",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            FieldError::new("role", format!("unknown role `{s}`; one of {}", all.join(", ")))
        })
    }
    /// Roles that work inside the organisation (see internal notes, act on cases).
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident | Role::SocialUnit | Role::Police)
    }
    /// Roles whose scope is a department rather than a region.
    pub fn needs_department(self) -> bool {
        matches!(self, Role::DepartmentStaff | Role::DepartmentHead)
    }
}

/// Where a role applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scope {
    /// A region subtree (a grid member's grid, a dispatcher's district, a leader's street).
    Region { code: RegionCode },
    /// A department (its staff and head).
    Department { id: DepartmentId },
    /// A registered place (a social unit).
    Place { id: i64 },
}

impl Scope {
    /// Parses `region:330483101`, `department:7` or `place:12`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad =
            || FieldError::new("scope", format!("`{s}` is not a scope: use region:CODE, department:ID or place:ID"));
        let (kind, value) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "region" => {
                Ok(Scope::Region { code: RegionCode::parse(value).map_err(|e| FieldError::new("scope", e.reason))? })
            }
            "department" => Ok(Scope::Department { id: value.parse().map_err(|_| bad())? }),
            "place" => Ok(Scope::Place { id: value.parse().map_err(|_| bad())? }),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Region { code } => write!(f, "region:{code}"),
            Scope::Department { id } => write!(f, "department:{id}"),
            Scope::Place { id } => write!(f, "place:{id}"),
        }
    }
}

/// One role held in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub scope: Scope,
}

impl Grant {
    pub fn new(role: Role, scope: Scope) -> Result<Self, FieldError> {
        let ok = match &scope {
            Scope::Department { .. } => role.needs_department(),
            Scope::Region { .. } => !role.needs_department() && role != Role::SocialUnit,
            Scope::Place { .. } => role == Role::SocialUnit,
        };
        if !ok {
            return Err(FieldError::new(
                "scope",
                format!(
                    "a {} is held in a {} scope",
                    role.as_str(),
                    match role {
                        r if r.needs_department() => "department",
                        Role::SocialUnit => "place",
                        _ => "region",
                    }
                ),
            ));
        }
        Ok(Self { role, scope })
    }
}

/// Who is acting. Built by the server from a session, a token or a tracking code.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Actor {
    /// `None` for an anonymous reporter.
    pub person: Option<PersonId>,
    pub grants: Vec<Grant>,
    /// The case whose tracking code the actor presented: they act as its reporter.
    pub tracking_case: Option<i64>,
    /// The person's current seats in teams (the five teams, [`crate::teams`]) with their duties:
    /// what lets a volunteer patrol, inspect or report as a member.
    #[serde(default)]
    pub teams: Vec<crate::teams::TeamRole>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn person(id: PersonId, grants: Vec<Grant>) -> Self {
        Self { person: Some(id), grants, tracking_case: None, teams: Vec::new() }
    }

    /// The actor with their current seats in teams.
    pub fn with_teams(mut self, teams: Vec<crate::teams::TeamRole>) -> Self {
        self.teams = teams;
        self
    }

    /// Whether a seat in a team gives the actor `duty` in a region covering `region`.
    pub fn has_duty(&self, duty: crate::teams::Duty, region: &RegionCode) -> bool {
        self.teams.iter().any(|t| t.serves(duty, region))
    }

    /// Someone holding the tracking code of a case (possibly an anonymous reporter).
    pub fn tracking(case: i64) -> Self {
        Self { tracking_case: Some(case), ..Self::default() }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Whether the actor holds `role` in a region scope covering `region`.
    pub fn holds_for_region(&self, role: Role, region: &RegionCode) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && matches!(&g.scope, Scope::Region { code } if code.contains(region)))
    }

    /// Whether the actor holds a department role for `dept`.
    pub fn works_for(&self, dept: DepartmentId) -> bool {
        self.grants.iter().any(|g| g.role.needs_department() && g.scope == Scope::Department { id: dept })
    }

    pub fn is_staff(&self) -> bool {
        self.grants.iter().any(|g| g.role.is_staff())
    }
}
