//! Counts behind the measures of performance, for a scope and a period.

use std::collections::BTreeMap;

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

/// How to split the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Nothing,
    /// By grid (or district, for cases outside every grid).
    Grid,
    /// By the department an event names (dispatch: the lead; return: the returning one),
    /// otherwise the case's lead department.
    Department,
    /// By who did it (events) or who reported it (cases).
    Person,
    /// By the case's category as it is now (reports not yet categorised group under "").
    Category,
}

#[async_trait]
pub trait MeasureStore: Send + Sync {
    /// Counts per group key (grid code, department id, person id; `""` for `Nothing`).
    async fn measure_counts_by(&self, q: &MeasureQuery, by: GroupBy) -> Result<BTreeMap<String, MeasureCounts>>;

    /// The same counts by scanning the case events and cases, without the rollups: what the
    /// rollups must always equal (tests and `gridkeeper bench measures` compare the two).
    async fn measure_counts_from_events(
        &self,
        q: &MeasureQuery,
        by: GroupBy,
    ) -> Result<BTreeMap<String, MeasureCounts>>;

    /// Computes the rollups behind the counts again from the cases and their events: after a
    /// bulk load that wrote rows directly, or to repair them. Normal writes keep them current.
    async fn rebuild_rollups(&self) -> Result<()>;

    async fn measure_counts(&self, q: &MeasureQuery) -> Result<MeasureCounts> {
        Ok(self.measure_counts_by(q, GroupBy::Nothing).await?.remove("").unwrap_or_default())
    }
}
