//! Counts behind the measures of performance, for a scope and a period: whole local days from
//! the rollups (`rollups.rs`; whole months from their month rows), the partial days at the ends
//! of a period and the scopes the rollups do not split by from the case events and projections,
//! and the present (overdue now, grid members) from the cases and grants. One implementation for
//! both databases; only the JSON access of the event department (SQLite's is the expression its
//! indexes were built on) and SQLite's index hint come from the [`Dialect`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use gridkeeper_domain::measures::{MeasureCounts, COUNTERS};
use gridkeeper_domain::{CategoryId, DepartmentId, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::{generic, Dialect};
use crate::rollups::{self, day_of, day_start, periods};
use crate::sql::Sql;
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
    /// rollups must always equal (tests and `gridkeeper-bench measures` compare the two).
    async fn measure_counts_from_events(
        &self,
        q: &MeasureQuery,
        by: GroupBy,
    ) -> Result<BTreeMap<String, MeasureCounts>>;

    /// Computes the rollups behind the counts again from the cases and their events: after a
    /// bulk load that wrote rows directly, or to repair them. Normal writes keep them current.
    async fn rebuild_rollups(&self) -> Result<()>;

    /// Rows held by the rollups: (counts and their totals, stage times, per person); what they
    /// cost in space.
    async fn rollup_rows(&self) -> Result<(i64, i64, i64)>;

    async fn measure_counts(&self, q: &MeasureQuery) -> Result<MeasureCounts> {
        Ok(self.measure_counts_by(q, GroupBy::Nothing).await?.remove("").unwrap_or_default())
    }
}

type Counts = BTreeMap<String, MeasureCounts>;

/// Who an event counts for per person: not residents' own reports and ratings.
const EVENT_PERSON: &str = "CASE WHEN e.action = 'rate' OR (e.action IN ('report', 'on_the_spot', 'find_hazard') \
     AND c.source <> 'grid_member') THEN NULL ELSE e.actor END";
/// Who a case counts for per person (cohorts, stage times): the grid member who reported it.
const CASE_PERSON: &str = "CASE WHEN c.source = 'grid_member' THEN c.reporter END";

/// Appends the scope of `q` (on cases aliased `c`, events aliased `e` when `events`).
fn scope<D: Dialect>(b: &mut Sql, q: &MeasureQuery, by: GroupBy, events: bool) {
    if let Some(r) = &q.region {
        b.push(" AND c.scope_region >= ")
            .push_bind(r.to_string())
            .push(" AND c.scope_region < ")
            .push_bind(format!("{r}:"));
    }
    let (department, person) =
        if events { (D::EVENT_DEPARTMENT, EVENT_PERSON) } else { ("c.lead_department", CASE_PERSON) };
    if let Some(d) = q.department {
        b.push(format!(" AND {department} = ")).push_bind(d);
    }
    if !q.categories.is_empty() {
        b.push(" AND c.category IN ").push_in(q.categories.iter().copied());
    }
    if let Some(p) = q.actor {
        b.push(format!(" AND {person} = ")).push_bind(p);
    } else if by == GroupBy::Person {
        b.push(format!(" AND {person} IS NOT NULL"));
    }
}

/// The group key of a row, for events (`e` joined to `c`) and for cases (`c`).
fn key_sql<D: Dialect>(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Nothing => ("''", "''"),
        GroupBy::Grid => ("c.scope_region", "c.scope_region"),
        GroupBy::Department => (D::EVENT_DEPARTMENT, "c.lead_department"),
        GroupBy::Person => (EVENT_PERSON, CASE_PERSON),
        GroupBy::Category => ("c.category", "c.category"),
    }
}

fn group(out: &mut Counts, key: String) -> &mut MeasureCounts {
    out.entry(key).or_default()
}

/// The rollups' key of a group: departments and categories are 0 when there is none.
fn rollup_key(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Nothing => "''",
        GroupBy::Grid => "node",
        GroupBy::Department => "CASE department WHEN 0 THEN '' ELSE CAST(department AS TEXT) END",
        GroupBy::Person => "CAST(person AS TEXT)",
        GroupBy::Category => "CASE category WHEN 0 THEN '' ELSE CAST(category AS TEXT) END",
    }
}

/// The rollup rows of the region of `q`: its own node, or the leaves below it when by grid.
fn push_nodes(b: &mut Sql, q: &MeasureQuery, by: GroupBy, table: &str) {
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

/// Events a measure counts.
const MEASURED_ACTIONS: &str = "'report', 'on_the_spot', 'accept', 'reject', 'dispatch', 'return', \
     'approve_extension', 'submit_result', 'verify', 'rate', 'find_hazard', 'reinspect'";

generic! {
    impl SqlStore {
        /// The counters of `[from, to)` by scanning the events and cases.
        async fn scan_counters(
            &self,
            q: &MeasureQuery,
            by: GroupBy,
            from: Millis,
            to: Millis,
            out: &mut Counts,
        ) -> Result<()> {
            let (ekey, ckey) = key_sql::<D>(by);
            // The flags of the event data are compared as JSON (`->`, which both databases
            // read the same way: a JSON `true` is `'true'`), as `facts` reads them; no index is
            // built on them.
            let mut b = Sql::new(format!(
                "SELECT coalesce(CAST({ekey} AS TEXT), '') AS k, e.action AS action, count(*) AS n, \
                 count(*) FILTER (WHERE e.data -> 'on_time' = 'true') AS on_time, \
                 count(*) FILTER (WHERE e.action IN ('verify', 'reinspect') AND e.data -> 'passed' = 'false') AS failed, \
                 count(*) FILTER (WHERE e.action = 'rate' AND CAST(e.data ->> 'score' AS NUMERIC) >= 4) AS satisfied, \
                 count(*) FILTER (WHERE d.kind = 'community_team') AS to_community, \
                 count(*) FILTER (WHERE c.source = 'grid_member') AS by_members \
                 FROM case_events e JOIN cases c ON c.id = e.case_id \
                 LEFT JOIN departments d ON e.action = 'dispatch' AND d.id = {} \
                 WHERE e.at >= ",
                D::EVENT_LEAD
            ));
            b.push_bind(from).push(" AND e.at < ").push_bind(to);
            b.push(format!(" AND e.action IN ({MEASURED_ACTIONS})"));
            scope::<D>(&mut b, q, by, true);
            b.push(" GROUP BY k, e.action");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let action: String = r.try_get("action")?;
                let n = r.try_get::<i64, _>("n")? as u64;
                let get = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)? as u64) };
                let m = group(out, r.try_get("k")?);
                match action.as_str() {
                    "report" | "on_the_spot" | "find_hazard" => {
                        m.reports += n;
                        m.reports_by_grid_members += get("by_members")?;
                        if action == "on_the_spot" {
                            m.on_the_spot += n;
                        }
                    }
                    "accept" => {
                        m.accepted += n;
                        m.accepted_on_time += get("on_time")?;
                    }
                    "reject" => m.rejected += n,
                    "dispatch" => {
                        m.dispatched += n;
                        m.dispatched_on_time += get("on_time")?;
                        m.dispatched_to_community += get("to_community")?;
                    }
                    "return" => m.returns += n,
                    "approve_extension" => m.extensions_approved += n,
                    "submit_result" => {
                        m.results += n;
                        m.results_on_time += get("on_time")?;
                    }
                    "verify" | "reinspect" => {
                        m.verifications += n;
                        m.verifications_failed += get("failed")?;
                    }
                    "rate" => {
                        m.ratings += n;
                        m.ratings_satisfied += get("satisfied")?;
                    }
                    _ => {}
                }
            }

            let mut b = Sql::new(format!(
                "SELECT coalesce(CAST({ckey} AS TEXT), '') AS k, count(*) AS n, \
                 count(*) FILTER (WHERE c.state IN ('closed', 'rated')) AS closed, \
                 count(*) FILTER (WHERE c.state IN ('closed', 'rated') AND c.closed_at <= c.handle_by) AS on_time \
                 FROM cases c WHERE NOT c.on_the_spot AND c.dispatched_at >= "
            ));
            b.push_bind(from).push(" AND c.dispatched_at < ").push_bind(to);
            scope::<D>(&mut b, q, by, false);
            b.push(" GROUP BY k");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let m = group(out, r.try_get("k")?);
                m.cohort += r.try_get::<i64, _>("n")? as u64;
                m.cohort_closed += r.try_get::<i64, _>("closed")? as u64;
                m.cohort_closed_on_time += r.try_get::<i64, _>("on_time")? as u64;
            }
            Ok(())
        }

        /// The stage durations of `[from, to)` from the cases.
        async fn scan_durations(
            &self,
            q: &MeasureQuery,
            by: GroupBy,
            from: Millis,
            to: Millis,
            out: &mut Counts,
        ) -> Result<()> {
            let (_, key) = key_sql::<D>(by);
            let stages = [
                ("accepted_at", "reported_at"),
                ("dispatched_at", "accepted_at"),
                ("resolved_at", "dispatched_at"),
                ("verified_at", "resolved_at"),
            ];
            for (i, (end, start)) in stages.into_iter().enumerate() {
                let mut b = Sql::new(format!(
                    "SELECT coalesce(CAST({key} AS TEXT), ''), c.{end} - c.{start} FROM cases c \
                     WHERE NOT c.on_the_spot AND c.{end} >= "
                ));
                b.push_bind(from).push(format!(" AND c.{end} < ")).push_bind(to);
                b.push(format!(" AND c.{start} IS NOT NULL"));
                scope::<D>(&mut b, q, by, false);
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let (k, d): (String, Millis) = (r.try_get(0)?, r.try_get(1)?);
                    group(out, k).stages_mut()[i].add(d);
                }
            }
            Ok(())
        }

        /// The counters of the whole days `[d0, d1)` from the rollups (whole months from their
        /// month rows), or `false` when the rollups do not split by what `q` asks.
        async fn rollup_counters(
            &self,
            q: &MeasureQuery,
            by: GroupBy,
            d0: i64,
            d1: i64,
            out: &mut Counts,
        ) -> Result<bool> {
            let people = q.actor.is_some() || by == GroupBy::Person;
            if people
                && (q.department.is_some()
                    || !q.categories.is_empty()
                    || by != GroupBy::Nothing && by != GroupBy::Person)
            {
                return Ok(false);
            }
            // PostgreSQL's sum of a BIGINT is a NUMERIC.
            let sums = COUNTERS.map(|c| format!("CAST(sum({c}) AS BIGINT)")).join(", ");
            let split = q.department.is_some()
                || !q.categories.is_empty()
                || matches!(by, GroupBy::Department | GroupBy::Category);
            // The totals of every department and category when the question splits by neither.
            let table = match (people, split) {
                (true, _) => "rollup_people",
                (false, true) => "rollup_counts",
                (false, false) => "rollup_totals",
            };
            for (p0, p1) in periods(d0, d1) {
                let mut b = Sql::new(format!("SELECT {} AS k, {sums} FROM {table} WHERE day >= ", rollup_key(by)));
                b.push_bind(p0).push(" AND day < ").push_bind(p1);
                push_nodes(&mut b, q, by, table);
                if let Some(d) = q.department {
                    b.push(" AND department = ").push_bind(d);
                }
                if !q.categories.is_empty() {
                    b.push(" AND category IN ").push_in(q.categories.iter().copied());
                }
                if let Some(p) = q.actor {
                    b.push(" AND person = ").push_bind(p);
                }
                // Rows whose counts moved to another key (a re-dispatch, a category) are left at zero.
                b.push(format!(" GROUP BY k HAVING {} > 0", COUNTERS.map(|c| format!("sum({c})")).join(" + ")));
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let mut values = [0i64; 20];
                    for (i, v) in values.iter_mut().enumerate() {
                        *v = r.try_get(i + 1)?;
                    }
                    group(out, r.try_get("k")?).add_counters(&values);
                }
            }
            Ok(true)
        }

        /// The stage durations of the whole days `[d0, d1)` from the rollups' histograms, or
        /// `false` when `q` splits by more than one of department, category and person (the
        /// rollups split by one at a time).
        async fn rollup_durations(
            &self,
            q: &MeasureQuery,
            by: GroupBy,
            d0: i64,
            d1: i64,
            out: &mut Counts,
        ) -> Result<bool> {
            let department = q.department.is_some() || by == GroupBy::Department;
            let category = !q.categories.is_empty() || by == GroupBy::Category;
            let person = q.actor.is_some() || by == GroupBy::Person;
            let split = match (department, category, person) {
                (false, false, false) => rollups::ALL,
                (true, false, false) => rollups::DEPARTMENT,
                (false, true, false) => rollups::CATEGORY,
                (false, false, true) => rollups::PERSON,
                _ => return Ok(false),
            };
            let key = match by {
                GroupBy::Nothing => "''",
                GroupBy::Grid => "node",
                GroupBy::Person => "CAST(value AS TEXT)",
                GroupBy::Department | GroupBy::Category => "CASE value WHEN 0 THEN '' ELSE CAST(value AS TEXT) END",
            };
            for (p0, p1) in periods(d0, d1) {
                let mut b = Sql::new(format!("SELECT {key} AS k, stage, hist FROM rollup_times WHERE split = "));
                b.push_bind(i64::from(split)).push(" AND day >= ").push_bind(p0).push(" AND day < ").push_bind(p1);
                push_nodes(&mut b, q, by, "rollup_times");
                if let Some(d) = q.department {
                    b.push(" AND value = ").push_bind(d);
                }
                if !q.categories.is_empty() {
                    b.push(" AND value IN ").push_in(q.categories.iter().copied());
                }
                if let Some(p) = q.actor {
                    b.push(" AND value = ").push_bind(p);
                }
                // Added here: a histogram is a blob the databases cannot add. One whose durations
                // all moved elsewhere (a re-dispatch) is stored empty and makes no group.
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let bytes: Vec<u8> = r.try_get(2)?;
                    if bytes.is_empty() {
                        continue;
                    }
                    let stage: i64 = r.try_get(1)?;
                    if let Some(d) = group(out, r.try_get(0)?).stages_mut().get_mut(stage as usize) {
                        for (bin, (n, total)) in rollups::bins_of(&bytes) {
                            if n > 0 {
                                d.add_bin(bin, n as u64, total);
                            }
                        }
                    }
                }
            }
            Ok(true)
        }

        /// What describes the present rather than the period: cases overdue now, grid members.
        async fn present(&self, q: &MeasureQuery, by: GroupBy, out: &mut Counts) -> Result<()> {
            let (_, ckey) = key_sql::<D>(by);
            // Through the index of open cases by deadline.
            let mut b = Sql::new(format!(
                "SELECT coalesce(CAST({ckey} AS TEXT), '') AS k, count(*) AS n FROM cases c{} \
                 WHERE c.state NOT IN ('closed', 'rated', 'rejected') AND c.due_at < ",
                D::indexed_by("cases_due")
            ));
            b.push_bind(q.now);
            scope::<D>(&mut b, q, by, false);
            b.push(" GROUP BY k");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                group(out, r.try_get("k")?).overdue_now = r.try_get::<i64, _>("n")? as u64;
            }

            let gkey = match by {
                GroupBy::Nothing => "''",
                GroupBy::Grid => "scope_value",
                GroupBy::Person => "CAST(person_id AS TEXT)",
                // Grid members belong to grids, not departments or categories.
                GroupBy::Department | GroupBy::Category => "CAST(NULL AS TEXT)",
            };
            let mut b = Sql::new(format!(
                "SELECT {gkey} AS k, count(DISTINCT person_id) AS n FROM grants \
                 WHERE role = 'grid_member' AND scope_type = 'region'"
            ));
            if let Some(r) = &q.region {
                // Members of the grids inside the region.
                b.push(" AND scope_value >= ")
                    .push_bind(r.to_string())
                    .push(" AND scope_value < ")
                    .push_bind(format!("{r}:"));
            }
            if let Some(p) = q.actor {
                b.push(" AND person_id = ").push_bind(p);
            }
            b.push(" GROUP BY k");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                if let Some(k) = r.try_get::<Option<String>, _>("k")? {
                    group(out, k).grid_members = r.try_get::<i64, _>("n")? as u64;
                }
            }
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl MeasureStore for SqlStore {
        #[tracing::instrument(skip_all, fields(by = ?by))]
        async fn measure_counts_by(&self, q: &MeasureQuery, by: GroupBy) -> Result<Counts> {
            let mut out = Counts::new();
            // The whole local days inside the period come from the rollups; the partial days at
            // either end (if any) from the events.
            let first = day_of(q.from - 1) + 1;
            let end = day_of(q.to);
            if first < end {
                for (from, to) in [(q.from, day_start(first)), (day_start(end), q.to)] {
                    if from < to {
                        self.scan_counters(q, by, from, to, &mut out).await?;
                        self.scan_durations(q, by, from, to, &mut out).await?;
                    }
                }
                if !self.rollup_counters(q, by, first, end, &mut out).await? {
                    self.scan_counters(q, by, day_start(first), day_start(end), &mut out).await?;
                }
                if !self.rollup_durations(q, by, first, end, &mut out).await? {
                    self.scan_durations(q, by, day_start(first), day_start(end), &mut out).await?;
                }
            } else {
                self.scan_counters(q, by, q.from, q.to, &mut out).await?;
                self.scan_durations(q, by, q.from, q.to, &mut out).await?;
            }
            self.present(q, by, &mut out).await?;
            Ok(out)
        }

        async fn measure_counts_from_events(&self, q: &MeasureQuery, by: GroupBy) -> Result<Counts> {
            let mut out = Counts::new();
            self.scan_counters(q, by, q.from, q.to, &mut out).await?;
            self.scan_durations(q, by, q.from, q.to, &mut out).await?;
            self.present(q, by, &mut out).await?;
            Ok(out)
        }

        async fn rebuild_rollups(&self) -> Result<()> {
            self.compute_rollups().await
        }

        async fn rollup_rows(&self) -> Result<(i64, i64, i64)> {
            let count = |table: &'static str| async move {
                sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}")).fetch_one(&self.pool).await
            };
            let counts = count("rollup_counts").await? + count("rollup_totals").await?;
            Ok((counts, count("rollup_times").await?, count("rollup_people").await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::measures::{MeasureCounts, Measures};
    use gridkeeper_domain::*;

    use super::*;
    use crate::rollups::{day_of, day_start};
    use crate::testing::on_both;
    use crate::{CaseStore, Intake, NewPerson, ReferenceData, Store};

    const T0: Millis = 1_780_000_000_000;
    const GRID: &str = "330483101001001";

    fn h(x: f64) -> Millis {
        T0 + (x * HOUR as f64) as Millis
    }

    /// A store with reference data and one person of each role, and cases written through it.
    struct World<S> {
        s: S,
        people: Vec<Actor>,
        category: Category,
        other: Category,
        depts: Vec<Department>,
    }

    impl<S: Store> World<S> {
        async fn new(s: S) -> Self {
            let dept = |id, kind| Department {
                id,
                code: format!("D{id}"),
                name: "d".into(),
                name_en: "d".into(),
                platform_id: 1,
                kind,
                region: None,
            };
            let category = Category {
                id: 2,
                code: "C0101".into(),
                name: "井盖".into(),
                name_en: "Manhole".into(),
                kind: CategoryKind::Component,
                parent_id: Some(1),
                default_department: Some(1),
                public: true,
                deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 2 },
                duplicate_radius_m: 50,
                duplicate_window_hours: 72,
            };
            let class = Category { id: 1, code: "C01".into(), parent_id: None, ..category.clone() };
            let other = Category { id: 3, code: "C0102".into(), default_department: Some(2), ..category.clone() };
            let depts = vec![dept(1, DepartmentKind::Government), dept(2, DepartmentKind::CommunityTeam)];
            s.load_reference(&ReferenceData {
                regions: vec![],
                platforms: vec![Platform { id: 1, code: "P".into(), name: "p".into(), name_en: "p".into() }],
                departments: depts.clone(),
                categories: vec![class, category.clone(), other.clone()],
            })
            .await
            .unwrap();
            let grants = [
                (Role::Resident, "region:330483"),
                (Role::Dispatcher, "region:330483"),
                (Role::DepartmentStaff, "department:1"),
                (Role::DepartmentStaff, "department:2"),
                (Role::GridMember, "region:330483101001001"),
                (Role::Supervisor, "region:330483"),
                (Role::GridMember, "region:330483101002001"),
            ];
            let mut people = vec![];
            for (i, (role, scope)) in grants.iter().enumerate() {
                let g = vec![Grant::new(*role, Scope::parse(scope).unwrap()).unwrap()];
                let p = NewPerson {
                    login: format!("p{i}"),
                    name: "n".into(),
                    phone: None,
                    id_number: None,
                    password_hash: None,
                    grants: g.clone(),
                };
                let id = s.create_person(&p, 0).await.unwrap();
                people.push(Actor::person(id, g));
            }
            World { s, people, category, other, depts }
        }

        async fn report(&self, at: Millis) -> Case {
            self.report_in(Some(GRID), 0, at).await
        }

        async fn report_in(&self, grid: Option<&str>, who: usize, at: Millis) -> Case {
            let r = NewReport {
                grid: grid.map(|g| RegionCode::parse(g).unwrap()),
                ..NewReport::new("330483", Some(LatLon { lat: 30.0, lon: 120.0 }), "broken")
            };
            let d = report(&self.people[who], r, at).unwrap();
            self.s.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap()
        }

        async fn act(&self, case: Case, who: usize, cmd: Command, at: Millis) -> Case {
            let d = decide(&case, &self.people[who], cmd, at).unwrap();
            self.s.apply(&d, &[]).await.unwrap()
        }

        fn accept(&self) -> Command {
            Command::Accept { category: self.category.clone(), urgency: Urgency::Routine, note: None }
        }
        fn dispatch(&self, dept: usize) -> Command {
            Command::Dispatch { lead: self.depts[dept].clone(), co: vec![], deadline: None, note: None }
        }
    }

    fn submit() -> Command {
        Command::SubmitResult { note: "done".into(), evidence: vec!["e".into()] }
    }
    fn verify(passed: bool) -> Command {
        Command::Verify { passed, note: Some("n".into()), evidence: vec![] }
    }

    on_both! {
        /// Many writers at once add to the same stage-time histograms (the district's, '*'): on
        /// PostgreSQL each reads, adds to and writes back a locked row, so none overwrites
        /// another's durations.
        async fn writers_at_once_lose_no_stage_time(s) {
            let w = World::new(s).await;
            // Two kinds of case — grid, category, department, handler and verifying grid member
            // all different — verified at once: their counts and per-person rows differ, so only
            // the stage-time histograms are shared.
            let kinds = [(Some(GRID), &w.category, 0, 2, 4), (Some("330483101002001"), &w.other, 1, 3, 6)];
            let mut cases = vec![];
            for i in 0..24 {
                let (grid, category, dept, staff, _) = kinds[i % 2];
                let t = h(i as f64 * 0.1);
                let c = w.report_in(grid, 0, t).await;
                let accept = Command::Accept { category: category.clone(), urgency: Urgency::Routine, note: None };
                let c = w.act(c, 1, accept, t + HOUR).await;
                let c = w.act(c, 1, w.dispatch(dept), t + 2 * HOUR).await;
                let c = w.act(c, staff, Command::Sign, t + 3 * HOUR).await;
                cases.push(w.act(c, staff, submit(), t + 4 * HOUR).await);
            }
            let decisions: Vec<_> = cases
                .iter()
                .enumerate()
                .map(|(i, c)| decide(c, &w.people[kinds[i % 2].4], verify(true), h(9.0 + i as f64 * 0.1)).unwrap())
                .collect();
            let written = futures::future::join_all(decisions.iter().map(|d| w.s.apply(d, &[]))).await;
            assert!(written.iter().all(Result::is_ok), "{written:?}");
            let q = MeasureQuery {
                from: day_start(day_of(T0) - 1),
                to: day_start(day_of(T0) + 2),
                now: h(12.0),
                ..Default::default()
            };
            for by in [GroupBy::Nothing, GroupBy::Category] {
                let fast = w.s.measure_counts_by(&q, by).await.unwrap();
                assert_eq!(fast, w.s.measure_counts_from_events(&q, by).await.unwrap(), "by {by:?}");
                assert_eq!(fast.values().map(|c| c.verify_times.count()).sum::<u64>(), 24, "by {by:?}");
            }
        }

        /// Five cases whose measures are worked out by hand (docs/MEASURES.md).
        async fn measures_of_hand_built_cases(s) {
            let w = World::new(s).await;
            let (res, disp, staff1, staff2, member, sup) = (0, 1, 2, 3, 4, 5);
            // A: the happy path, on time everywhere, rated 5.
            let a = w.report(h(0.0)).await;
            let a = w.act(a, disp, w.accept(), h(1.0)).await;
            let a = w.act(a, disp, w.dispatch(0), h(2.0)).await;
            let a = w.act(a, staff1, Command::Sign, h(3.0)).await;
            let a = w.act(a, staff1, submit(), h(10.0)).await;
            let a = w.act(a, member, verify(true), h(11.0)).await;
            let a = w.act(a, disp, Command::Close { note: None }, h(12.0)).await;
            w.act(a, res, Command::Rate { score: 5, comment: None }, h(13.0)).await;
            // B: accepted late, to the community team, reworked once, rated 2.
            let b = w.report(h(0.0)).await;
            let b = w.act(b, disp, w.accept(), h(5.0)).await;
            let b = w.act(b, disp, w.dispatch(1), h(5.5)).await;
            let b = w.act(b, staff2, Command::Sign, h(6.0)).await;
            let b = w.act(b, staff2, submit(), h(20.0)).await;
            let b = w.act(b, member, verify(false), h(21.0)).await;
            let b = w.act(b, staff2, submit(), h(22.0)).await;
            let b = w.act(b, member, verify(true), h(23.0)).await;
            let b = w.act(b, disp, Command::Close { note: None }, h(24.0)).await;
            w.act(b, res, Command::Rate { score: 2, comment: None }, h(25.0)).await;
            // C: rejected.
            let c = w.report(h(0.0)).await;
            w.act(c, disp, Command::Reject { reason: Rejection::Invalid, original: None, note: Some("x".into()) }, h(1.0))
                .await;
            // D: handled on the spot by the grid member, not yet verified (overdue by the end).
            let spot = OnTheSpot {
                district: "330483".into(),
                grid: RegionCode::parse(GRID).unwrap(),
                location: LatLon { lat: 30.0, lon: 120.0 },
                address: None,
                description: "litter".into(),
                category: w.category.clone(),
                photos: vec![],
                evidence: vec!["e".into()],
                note: "cleared".into(),
            };
            let d = on_the_spot(&w.people[member], spot, h(3.0)).unwrap();
            w.s.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap();
            // E: returned, dispatched again late, extension approved; still in progress.
            let e = w.report(h(50.0)).await;
            let e = w.act(e, disp, w.accept(), h(51.0)).await;
            let e = w.act(e, disp, w.dispatch(0), h(52.0)).await;
            let e = w.act(e, staff1, Command::Return { reason: "not ours".into() }, h(53.0)).await;
            let e = w.act(e, disp, w.dispatch(0), h(55.0)).await;
            let e = w.act(e, staff1, Command::RequestExtension { until: h(200.0), reason: "parts".into() }, h(56.0)).await;
            let e = w.act(e, disp, Command::ApproveExtension { note: None }, h(57.0)).await;
            w.act(e, sup, Command::Supervise { note: "hurry".into(), deadline: None }, h(58.0)).await;

            let q = MeasureQuery { from: h(0.0), to: h(100.0), now: h(100.0), ..Default::default() };
            let c = w.s.measure_counts(&q).await.unwrap();
            assert_eq!((c.reports, c.reports_by_grid_members, c.grid_members), (5, 1, 2), "two members hold grids");
            assert_eq!((c.accepted, c.accepted_on_time, c.rejected), (3, 2, 1));
            assert_eq!((c.dispatched, c.dispatched_on_time, c.dispatched_to_community), (4, 3, 1));
            assert_eq!((c.on_the_spot, c.returns, c.extensions_approved), (1, 1, 1));
            assert_eq!((c.results, c.results_on_time, c.verifications, c.verifications_failed), (3, 3, 3, 1));
            assert_eq!((c.ratings, c.ratings_satisfied), (2, 1));
            assert_eq!((c.cohort, c.cohort_closed, c.cohort_closed_on_time), (3, 2, 2));
            assert_eq!(c.overdue_now, 1);
            let m = Measures::from_counts(&c);
            assert_eq!(m.acceptance_rate, Some(0.75));
            assert_eq!(m.timely_dispatch_rate, Some(0.75));
            assert_eq!(
                m.self_resolution_rate,
                Some(0.5),
                "(1 community dispatch + 1 on the spot) / (3 accepted + 1 on the spot)"
            );
            assert_eq!(m.rework_rate, Some(1.0 / 3.0));
            assert_eq!(m.return_rate, Some(0.25));
            assert_eq!(m.closure_rate, Some(2.0 / 3.0));
            assert_eq!(m.satisfaction_rate, Some(0.5));
            assert_eq!((m.accept_time.median_hours, m.accept_time.p90_hours), (Some(1.0), Some(5.0)));
            assert_eq!((m.dispatch_time.median_hours, m.dispatch_time.p90_hours), (Some(1.0), Some(4.0)));
            assert_eq!((m.handle_time.median_hours, m.handle_time.p90_hours), (Some(8.0), Some(16.5)));
            assert_eq!((m.verify_time.count, m.verify_time.median_hours), (2, Some(1.0)));

            // Scopes: the community team's cases only; a period that holds only E.
            let team = w.s.measure_counts(&MeasureQuery { department: Some(2), ..q.clone() }).await.unwrap();
            assert_eq!((team.dispatched, team.results, team.cohort), (1, 2, 1));
            let by_dept = w.s.measure_counts_by(&q, GroupBy::Department).await.unwrap();
            assert_eq!((by_dept["1"].dispatched, by_dept["1"].returns, by_dept["1"].results), (3, 1, 1));
            assert_eq!((by_dept["2"].dispatched, by_dept["2"].dispatched_to_community, by_dept["2"].results), (1, 1, 2));
            let by_grid = w.s.measure_counts_by(&q, GroupBy::Grid).await.unwrap();
            assert_eq!(by_grid[GRID], MeasureCounts { grid_members: 1, ..c.clone() }, "one member holds this grid");
            let by_person = w.s.measure_counts_by(&q, GroupBy::Person).await.unwrap();
            let member_id = w.people[member].person.unwrap().to_string();
            assert_eq!((by_person[&member_id].reports, by_person[&member_id].verifications), (1, 3));
            let late = w.s.measure_counts(&MeasureQuery { from: h(50.0), ..q.clone() }).await.unwrap();
            assert_eq!((late.reports, late.accepted, late.dispatched, late.returns), (1, 1, 2, 1));
            let outside =
                w.s.measure_counts(&MeasureQuery { region: Some(RegionCode::parse("330482").unwrap()), ..q })
                    .await
                    .unwrap();
            assert_eq!((outside.reports, outside.overdue_now), (0, 0));
        }

        /// A year of cases walked at random through the state machine, written one event at a
        /// time: every measure, scope, grouping and period (aligned to local days or not) answered
        /// from the rollups equals the scan of the events, before and after the rollups are
        /// rebuilt.
        async fn rollups_equal_the_events_after_a_simulated_year(s) {
            use rand::seq::SliceRandom;
            use rand::{Rng, SeedableRng};

            let w = World::new(s).await;
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            let grids = [Some(GRID), Some("330483101002001"), Some("330483102001001"), None];
            let mut written = 0;
            for _ in 0..400 {
                let mut t = T0 + rng.gen_range(0..365 * 24) * HOUR + rng.gen_range(0..HOUR);
                let grid = grids[rng.gen_range(0..grids.len())];
                let reporter = if rng.gen_bool(0.3) { 4 } else { 0 };
                let mut case = w.report_in(grid, reporter, t).await;
                written += 1;
                for _ in 0..14 {
                    if matches!(case.state, CaseState::Rated | CaseState::Rejected) {
                        break;
                    }
                    t += rng.gen_range(1..30 * 60) * 60_000;
                    let category = if rng.gen_bool(0.5) { w.category.clone() } else { w.other.clone() };
                    let mut cmds = vec![
                        Command::Accept { category, urgency: Urgency::Routine, note: None },
                        w.dispatch(rng.gen_range(0..2)),
                        Command::Sign,
                        Command::Return { reason: "not ours".into() },
                        Command::RequestExtension { until: t + 300 * HOUR, reason: "parts".into() },
                        Command::ApproveExtension { note: None },
                        Command::DenyExtension { reason: "no".into() },
                        submit(),
                        verify(rng.gen_bool(0.7)),
                        Command::Close { note: None },
                        Command::Rate { score: rng.gen_range(1..=5), comment: None },
                        Command::Supervise { note: "hurry".into(), deadline: None },
                    ];
                    if rng.gen_bool(0.05) {
                        cmds.push(Command::Reject { reason: Rejection::Invalid, original: None, note: Some("x".into()) });
                    }
                    cmds.shuffle(&mut rng);
                    let step = cmds
                        .into_iter()
                        .find_map(|cmd| w.people.iter().find_map(|actor| decide(&case, actor, cmd.clone(), t).ok()));
                    if let Some(d) = step {
                        case = w.s.apply(&d, &[]).await.unwrap();
                        written += 1;
                    }
                }
            }
            assert!(written > 2_500, "the walk wrote {written} events");

            let day = |d: i64| day_start(day_of(T0) + d);
            let periods = [
                (day(0), day(400)),
                (T0 + 5 * HOUR + 37 * 60_000, T0 + 200 * 24 * HOUR + 3 * HOUR),
                (day(30) + 2 * HOUR, day(30) + 9 * HOUR),
                (day(100), day(140)),
            ];
            let member = w.people[4].person;
            let dispatcher = w.people[1].person;
            let region = |r: &str| Some(RegionCode::parse(r).unwrap());
            let scopes = [
                MeasureQuery::default(),
                MeasureQuery { region: region("330483"), ..Default::default() },
                MeasureQuery { region: region("330483101"), ..Default::default() },
                MeasureQuery { region: region(GRID), ..Default::default() },
                MeasureQuery { department: Some(1), ..Default::default() },
                MeasureQuery { department: Some(2), region: region("330483"), ..Default::default() },
                MeasureQuery { categories: vec![3], ..Default::default() },
                MeasureQuery { actor: member, region: region("330483"), ..Default::default() },
                MeasureQuery { actor: dispatcher, ..Default::default() },
            ];
            let groupings = [GroupBy::Nothing, GroupBy::Grid, GroupBy::Department, GroupBy::Person, GroupBy::Category];
            for rebuilt in [false, true] {
                if rebuilt {
                    w.s.rebuild_rollups().await.unwrap();
                }
                let mut checked = 0;
                for (from, to) in periods {
                    for scope in &scopes {
                        for by in groupings {
                            let q = MeasureQuery { from, to, now: T0 + 380 * 24 * HOUR, ..scope.clone() };
                            let fast = w.s.measure_counts_by(&q, by).await.unwrap();
                            let slow = w.s.measure_counts_from_events(&q, by).await.unwrap();
                            assert_eq!(fast, slow, "{q:?} by {by:?} (rebuilt: {rebuilt})");
                            checked += fast.values().map(|c| c.reports + c.cohort).sum::<u64>();
                        }
                    }
                }
                assert!(checked > 10_000, "the queries found something to compare ({checked})");
            }
        }
    }
}
