//! What the measure queries of SQLite (`sqlite_measures.rs`) and PostgreSQL (`pg_measures.rs`)
//! share: the scope of a query, the key of a group, the rollup rows of a region. Only the JSON
//! access of the event department differs between the two dialects.

use std::collections::BTreeMap;

use gridkeeper_domain::measures::MeasureCounts;
use sqlx::{Database, Encode, Postgres, QueryBuilder, Sqlite, Type};

use crate::measures::{GroupBy, MeasureQuery};

/// What differs between the dialects.
pub(crate) trait Dialect: Database {
    /// The department an event counts for: the one it names (dispatch: the lead; return and
    /// co-department parts: that department), otherwise the case's lead department now.
    const EVENT_DEPARTMENT: &'static str;
}

impl Dialect for Sqlite {
    const EVENT_DEPARTMENT: &'static str =
        "coalesce(json_extract(e.data, '$.lead_department'), json_extract(e.data, '$.department'), c.lead_department)";
}

impl Dialect for Postgres {
    const EVENT_DEPARTMENT: &'static str =
        "coalesce((e.data ->> 'lead_department')::bigint, (e.data ->> 'department')::bigint, c.lead_department)";
}

pub(crate) type Counts = BTreeMap<String, MeasureCounts>;

/// Who an event counts for per person: not residents' own reports and ratings.
const EVENT_PERSON: &str = "CASE WHEN e.action = 'rate' OR (e.action IN ('report', 'on_the_spot') \
     AND c.source <> 'grid_member') THEN NULL ELSE e.actor END";
/// Who a case counts for per person (cohorts, stage times): the grid member who reported it.
const CASE_PERSON: &str = "CASE WHEN c.source = 'grid_member' THEN c.reporter END";

/// Appends the scope of `q` (on cases aliased `c`, events aliased `e` when `events`).
pub(crate) fn scope<'a, DB: Dialect>(b: &mut QueryBuilder<'a, DB>, q: &MeasureQuery, by: GroupBy, events: bool)
where
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    if let Some(r) = &q.region {
        b.push(" AND c.scope_region >= ")
            .push_bind(r.to_string())
            .push(" AND c.scope_region < ")
            .push_bind(format!("{r}:"));
    }
    let (department, person) =
        if events { (DB::EVENT_DEPARTMENT, EVENT_PERSON) } else { ("c.lead_department", CASE_PERSON) };
    if let Some(d) = q.department {
        b.push(format!(" AND {department} = ")).push_bind(d);
    }
    if !q.categories.is_empty() {
        b.push(" AND c.category IN (");
        let mut s = b.separated(", ");
        for c in &q.categories {
            s.push_bind(*c);
        }
        b.push(")");
    }
    if let Some(p) = q.actor {
        b.push(format!(" AND {person} = ")).push_bind(p);
    } else if by == GroupBy::Person {
        b.push(format!(" AND {person} IS NOT NULL"));
    }
}

/// The group key of a row, for events (`e` joined to `c`) and for cases (`c`).
pub(crate) fn key_sql<DB: Dialect>(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Nothing => ("''", "''"),
        GroupBy::Grid => ("c.scope_region", "c.scope_region"),
        GroupBy::Department => (DB::EVENT_DEPARTMENT, "c.lead_department"),
        GroupBy::Person => (EVENT_PERSON, CASE_PERSON),
        GroupBy::Category => ("c.category", "c.category"),
    }
}

pub(crate) fn group(out: &mut Counts, key: String) -> &mut MeasureCounts {
    out.entry(key).or_default()
}

/// The rollups' key of a group: departments and categories are 0 when there is none.
pub(crate) fn rollup_key(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Nothing => "''",
        GroupBy::Grid => "node",
        GroupBy::Department => "CASE department WHEN 0 THEN '' ELSE CAST(department AS TEXT) END",
        GroupBy::Person => "CAST(person AS TEXT)",
        GroupBy::Category => "CASE category WHEN 0 THEN '' ELSE CAST(category AS TEXT) END",
    }
}

/// The rollup rows of the region of `q`: its own node, or the leaves below it when by grid.
pub(crate) fn push_nodes<'a, DB: Database>(b: &mut QueryBuilder<'a, DB>, q: &MeasureQuery, by: GroupBy, table: &str)
where
    String: Encode<'a, DB> + Type<DB>,
{
    match (&q.region, by) {
        (region, GroupBy::Grid) => {
            // The leaves below the region. The nodes there are listed first, one primary-key seek
            // each (a loose index scan), so that each node's rows are then read for the period
            // only, rather than every day of every node in the range.
            let (low, high) =
                region.as_ref().map_or(("0".to_string(), ":".to_string()), |r| (r.to_string(), format!("{r}:")));
            b.push(format!(
                " AND leaf AND node IN (WITH RECURSIVE n(node) AS (SELECT min(node) FROM {table} WHERE node >= "
            ))
            .push_bind(low)
            .push(" AND node < ")
            .push_bind(high.clone())
            .push(format!(" UNION ALL SELECT (SELECT min(node) FROM {table} WHERE node > n.node AND node < "))
            .push_bind(high)
            .push(") FROM n WHERE n.node IS NOT NULL) SELECT node FROM n)")
        }
        (Some(r), _) => b.push(" AND node = ").push_bind(r.to_string()),
        (None, _) => b.push(" AND node = '*'"),
    };
}
