//! Counts behind the measures of performance, for a scope and a period.

use async_trait::async_trait;
use gridkeeper_domain::measures::MeasureCounts;
use gridkeeper_domain::{CategoryId, DepartmentId, Millis, PersonId, RegionCode};

use crate::Result;

/// A scope and a period. Every filter is optional; together they narrow.
#[derive(Debug, Clone, Default)]
pub struct MeasureQuery {
    /// Cases in this region subtree (their grid, or district when outside every grid).
    pub region: Option<RegionCode>,
    /// Cases this department leads or co-handles now, and the returns it made.
    pub department: Option<DepartmentId>,
    /// Cases of these subclasses.
    pub categories: Vec<CategoryId>,
    /// Only what this person did (a grid member's reports and verifications).
    pub actor: Option<PersonId>,
    pub from: Millis,
    pub to: Millis,
    /// For the overdue count.
    pub now: Millis,
}

#[async_trait]
pub trait MeasureStore: Send + Sync {
    async fn measure_counts(&self, q: &MeasureQuery) -> Result<MeasureCounts>;
}
