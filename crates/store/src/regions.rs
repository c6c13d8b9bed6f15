//! Regions as imported and changed over time, and who is responsible for them when.

use async_trait::async_trait;
use gridkeeper_domain::{Millis, PersonId, Region, RegionCode, Role};
use serde::Serialize;

use crate::Result;

/// A stored region with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionRecord {
    #[serde(flatten)]
    pub region: Region,
    /// Its key in the file it was imported from.
    pub key: Option<String>,
    /// Its geometry is the union of its children's.
    pub derived: bool,
    pub retired_at: Option<Millis>,
    pub updated_at: Option<Millis>,
}

/// A region an import creates or changes.
#[derive(Debug, Clone)]
pub struct RegionWrite {
    pub region: Region,
    pub key: Option<String>,
    pub derived: bool,
}

/// Everything an import writes, in one transaction.
#[derive(Debug, Clone)]
pub struct RegionImport<'a> {
    pub at: Millis,
    pub by: Option<PersonId>,
    /// The file's name, or `api`.
    pub source: &'a str,
    pub options: serde_json::Value,
    pub summary: serde_json::Value,
    pub report: serde_json::Value,
    /// Parents before children.
    pub regions: &'a [RegionWrite],
    pub retire: &'a [RegionCode],
    /// (from, to, m²): where the area of retired regions went.
    pub lineage: &'a [(RegionCode, RegionCode, f64)],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub at: Millis,
    pub by: Option<PersonId>,
    pub source: String,
    pub options: serde_json::Value,
    pub summary: serde_json::Value,
    pub report: serde_json::Value,
}

/// A region as it was before an import changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionVersion {
    pub name: String,
    pub geometry: Option<serde_json::Value>,
    pub valid_from: Option<Millis>,
    pub valid_to: Millis,
    pub import_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageRecord {
    pub import_id: i64,
    pub at: Millis,
    pub from: RegionCode,
    pub to: RegionCode,
    pub area_m2: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionHistory {
    pub region: RegionRecord,
    /// Earlier names and geometries, newest first.
    pub versions: Vec<RegionVersion>,
    /// Where its area went when it was retired.
    pub successors: Vec<LineageRecord>,
    /// Retired regions whose area it took over.
    pub predecessors: Vec<LineageRecord>,
}

/// Someone responsible for a region over a period: a grid member for a grid, a grid leader for
/// a community.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub person: PersonId,
    pub region: RegionCode,
    pub role: Role,
    pub starts_at: Millis,
    /// Exclusive; `None` while it lasts.
    pub ends_at: Option<Millis>,
    pub created_at: Millis,
    pub created_by: Option<PersonId>,
}

impl Assignment {
    pub fn active_at(&self, t: Millis) -> bool {
        self.starts_at <= t && self.ends_at.is_none_or(|e| t < e)
    }
}

#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub person: PersonId,
    pub region: RegionCode,
    pub role: Role,
    pub starts_at: Millis,
    pub ends_at: Option<Millis>,
    pub created_at: Millis,
    pub created_by: Option<PersonId>,
}

/// Filters of [`RegionStore::assignments`].
#[derive(Debug, Clone, Default)]
pub struct AssignmentQuery {
    /// The region and its subtree.
    pub under: Option<RegionCode>,
    pub person: Option<PersonId>,
    /// Only assignments active at this instant.
    pub at: Option<Millis>,
}

/// Live figures of a grid for maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GridFigures {
    pub open: i64,
    pub overdue: i64,
    /// Reported since the `since` instant asked for.
    pub recent: i64,
}

#[async_trait]
pub trait RegionStore: Send + Sync {
    /// Every region, retired ones too.
    async fn region_records(&self) -> Result<Vec<RegionRecord>>;
    /// Writes an import: regions (keeping the previous name and geometry of changed ones as a
    /// version), retirements, lineage and the import record. All or nothing. Returns its id.
    async fn apply_region_import(&self, import: &RegionImport<'_>) -> Result<i64>;
    /// The latest imports, newest first.
    async fn region_imports(&self, limit: u32) -> Result<Vec<ImportRecord>>;
    /// Changes whenever an import changes the regions.
    async fn region_generation(&self) -> Result<i64>;
    async fn region_history(&self, code: &RegionCode) -> Result<Option<RegionHistory>>;

    /// Refuses an unknown or retired region, and a period overlapping another assignment of the
    /// same person to the same region and role.
    async fn add_assignment(&self, a: &NewAssignment) -> Result<Assignment>;
    async fn assignment(&self, id: i64) -> Result<Option<Assignment>>;
    /// Ends an assignment at `at` (not before it starts, not after it already ended).
    async fn end_assignment(&self, id: i64, at: Millis) -> Result<Option<Assignment>>;
    async fn assignments(&self, q: &AssignmentQuery) -> Result<Vec<Assignment>>;

    /// Figures of the grids under `root` that have cases: open, overdue at `now`, reported since `since`.
    async fn grid_figures(
        &self,
        root: &RegionCode,
        now: Millis,
        since: Millis,
    ) -> Result<Vec<(RegionCode, GridFigures)>>;
}
