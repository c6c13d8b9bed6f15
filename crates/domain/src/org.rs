//! Organisation: platforms, departments and problem categories.

use serde::{Deserialize, Serialize};

use crate::{FieldError, Millis, RegionCode, HOUR};

pub type PlatformId = i64;
pub type DepartmentId = i64;
pub type CategoryId = i64;

/// A platform of the linkage center groups departments (Wuzhen's "1+4+X": comprehensive
/// governance, law enforcement, market supervision, convenience services).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: PlatformId,
    pub code: String,
    pub name: String,
    pub name_en: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// A government department (城管, 住建, 市场监管, ...).
    Government,
    /// A community team: dispatch to it counts as resolved inside the community.
    CommunityTeam,
    /// An outside party: a utility, a property company.
    OutsideParty,
}

impl DepartmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Government => "government",
            Self::CommunityTeam => "community_team",
            Self::OutsideParty => "outside_party",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Ok(match s {
            "government" => Self::Government,
            "community_team" => Self::CommunityTeam,
            "outside_party" => Self::OutsideParty,
            _ => return Err(FieldError::new("kind", "must be government, community_team or outside_party")),
        })
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub name_en: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub platform_id: PlatformId,
    pub kind: DepartmentKind,
    /// For a community team: the community it serves.
    pub region: Option<RegionCode>,
}

/// Component (部件: a public facility) or event (事件: something that happens).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    Component,
    Event,
    /// A safety hazard found by an inspection (隐患): opened by a failed check-list item, handled
    /// by the responsible department with the item's deadline, closed by a re-inspection.
    Hazard,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Event => "event",
            Self::Hazard => "hazard",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "component" => Ok(Self::Component),
            "event" => Ok(Self::Event),
            "hazard" => Ok(Self::Hazard),
            _ => Err(FieldError::new("kind", "must be component, event or hazard")),
        }
    }
}

/// How urgent a case is. Decides the deadlines and which clock they run on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Routine,
    Urgent,
    Emergency,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Routine, Urgency::Urgent, Urgency::Emergency];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routine => "routine",
            Self::Urgent => "urgent",
            Self::Emergency => "emergency",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "routine" => Ok(Self::Routine),
            "urgent" => Ok(Self::Urgent),
            "emergency" => Ok(Self::Emergency),
            _ => Err(FieldError::new("urgency", "must be routine, urgent or emergency")),
        }
    }
    /// Time the linkage center has to accept (立案) a report of this urgency.
    pub fn accept_within(self) -> Millis {
        match self {
            Self::Routine => 2 * HOUR,
            Self::Urgent => HOUR / 2,
            Self::Emergency => HOUR / 6,
        }
    }
    /// Time the linkage center has to dispatch an accepted case.
    pub fn dispatch_within(self) -> Millis {
        match self {
            Self::Routine => HOUR,
            Self::Urgent => HOUR / 2,
            Self::Emergency => HOUR / 6,
        }
    }
    /// Time a grid member has to verify a result on site.
    pub fn verify_within(self) -> Millis {
        match self {
            Self::Routine => 24 * HOUR,
            Self::Urgent => 4 * HOUR,
            Self::Emergency => HOUR,
        }
    }
}

/// Handling deadlines of a category, in hours, per urgency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Deadlines {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8760))]
    pub routine_hours: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8760))]
    pub urgent_hours: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8760))]
    pub emergency_hours: u32,
}

impl Deadlines {
    pub fn for_urgency(&self, u: Urgency) -> Millis {
        let h = match u {
            Urgency::Routine => self.routine_hours,
            Urgency::Urgent => self.urgent_hours,
            Urgency::Emergency => self.emergency_hours,
        };
        h as Millis * HOUR
    }
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.routine_hours == 0 || self.urgent_hours == 0 || self.emergency_hours == 0 {
            return Err(FieldError::new("deadlines", "every deadline must be at least one hour"));
        }
        if !(self.emergency_hours <= self.urgent_hours && self.urgent_hours <= self.routine_hours) {
            return Err(FieldError::new("deadlines", "emergency ≤ urgent ≤ routine"));
        }
        Ok(())
    }
}

/// A problem category: two levels (class → subclass). Cases are accepted into a subclass.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: CategoryId,
    /// e.g. `C01` for a class, `C0101` for a subclass.
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub kind: CategoryKind,
    /// The class this subclass belongs to; `None` for a class.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub parent_id: Option<CategoryId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub default_department: Option<DepartmentId>,
    /// Whether cases of this category may be shown to the public.
    pub public: bool,
    pub deadlines: Deadlines,
    /// Reports of the same category within this radius and time window are possible duplicates.
    pub duplicate_radius_m: u32,
    pub duplicate_window_hours: u32,
}

impl Category {
    pub fn is_class(&self) -> bool {
        self.parent_id.is_none()
    }

    /// How far apart (metres) and how long apart (milliseconds) reports of this category may be
    /// and still be of one problem.
    pub fn reach(&self) -> (f64, Millis) {
        (f64::from(self.duplicate_radius_m), Millis::from(self.duplicate_window_hours) * crate::HOUR)
    }
}
