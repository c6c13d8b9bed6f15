//! The domain of gridkeeper: regions, organisation, people, cases, and the one case state machine.
//!
//! **Architecture invariant:** this crate does no I/O. It knows nothing of SQL, HTTP or files; it
//! takes values and the current time and returns values or typed refusals. Every change to a case
//! goes through [`workflow::decide`] (or [`workflow::report`] / [`workflow::on_the_spot`] for a new
//! case), which returns the new projection together with exactly one [`CaseEvent`](case::NewEvent).

pub mod assessment;
pub mod calendar;
pub mod campaigns;
pub mod case;
pub mod exchange;
pub mod fieldwork;
pub mod inspections;
pub mod measures;
pub mod notices;
pub mod org;
pub mod participation;
pub mod patrols;
pub mod people;
pub mod points;
pub mod policy;
pub mod region;
pub mod registry;
pub mod standard;
pub mod teams;
pub mod time;
pub mod workflow;

pub use calendar::Calendar;
pub use case::*;
pub use org::*;
pub use people::*;
pub use policy::{
    administered_regions, campaign_reach, inspected_regions, may, may_manage, needs_second_factor, own_places,
    CampaignReach, Permission, Reach,
};
pub use region::*;
pub use workflow::*;

/// Milliseconds since the Unix epoch, UTC. All instants in the domain use it.
pub type Millis = i64;

pub const HOUR: Millis = 3_600_000;
pub const MINUTE: Millis = 60_000;

/// A WGS-84 point (what GPS reports; stored form of every location).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    /// A point with latitude in [-90, 90] and longitude in [-180, 180], both finite.
    pub fn new(lat: f64, lon: f64) -> Result<Self, FieldError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(FieldError::new("lat", "must be a number between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(FieldError::new("lon", "must be a number between -180 and 180"));
        }
        Ok(Self { lat, lon })
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(&self, other: &LatLon) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }
}

/// A value that failed to parse: which field, and why. Turned into problem+json at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}
