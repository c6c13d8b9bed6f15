//! [`MeasureStore`] for SQLite: the counts straight from the case events and projections.

use async_trait::async_trait;
use gridkeeper_domain::measures::MeasureCounts;
use gridkeeper_domain::Millis;
use sqlx::{QueryBuilder, Row, Sqlite};

use std::collections::BTreeMap;

use crate::measures::{GroupBy, MeasureQuery, MeasureStore};
use crate::sqlite::SqliteStore;
use crate::Result;

/// Appends the scope of `q` (on cases aliased `c`, events aliased `e` when `events`).
fn scope(b: &mut QueryBuilder<'_, Sqlite>, q: &MeasureQuery, events: bool) {
    if let Some(r) = &q.region {
        b.push(" AND c.scope_region >= ")
            .push_bind(r.to_string())
            .push(" AND c.scope_region < ")
            .push_bind(format!("{r}:"));
    }
    if let Some(d) = q.department {
        b.push(" AND (c.id IN (SELECT case_id FROM case_departments WHERE department_id = ").push_bind(d).push(")");
        if events {
            b.push(" OR (e.action = 'return' AND json_extract(e.data, '$.department') = ").push_bind(d).push(")");
        }
        b.push(")");
    }
    if !q.categories.is_empty() {
        b.push(" AND c.category IN (");
        let mut s = b.separated(", ");
        for c in &q.categories {
            s.push_bind(*c);
        }
        b.push(")");
    }
    if let (Some(p), true) = (q.actor, events) {
        b.push(" AND e.actor = ").push_bind(p);
    }
}

/// The group key of a row, for events (`e` joined to `c`) and for cases (`c`).
fn key_sql(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Nothing => ("''", "''"),
        GroupBy::Grid => ("c.scope_region", "c.scope_region"),
        GroupBy::Department => (
            "coalesce(json_extract(e.data, '$.lead_department'), json_extract(e.data, '$.department'), c.lead_department, '')",
            "coalesce(c.lead_department, '')",
        ),
        GroupBy::Person => ("coalesce(e.actor, '')", "coalesce(c.reporter, '')"),
        GroupBy::Category => ("coalesce(c.category, '')", "coalesce(c.category, '')"),
    }
}

fn group(out: &mut BTreeMap<String, MeasureCounts>, key: String) -> &mut MeasureCounts {
    out.entry(key).or_default()
}

impl SqliteStore {
    async fn durations(&self, q: &MeasureQuery, by: GroupBy, end: &str, start: &str) -> Result<Vec<(String, Millis)>> {
        let (_, key) = key_sql(by);
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT CAST({key} AS TEXT), c.{end} - c.{start} FROM cases c WHERE c.on_the_spot = 0 AND c.{end} >= "
        ));
        b.push_bind(q.from).push(format!(" AND c.{end} < ")).push_bind(q.to);
        b.push(format!(" AND c.{start} IS NOT NULL"));
        if let Some(p) = q.actor {
            b.push(" AND c.reporter = ").push_bind(p);
        }
        scope(&mut b, q, false);
        Ok(b.build_query_as::<(String, Millis)>().fetch_all(&self.pool).await?)
    }
}

#[async_trait]
impl MeasureStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(by = ?by))]
    async fn measure_counts_by(&self, q: &MeasureQuery, by: GroupBy) -> Result<BTreeMap<String, MeasureCounts>> {
        let mut out: BTreeMap<String, MeasureCounts> = BTreeMap::new();
        let (ekey, ckey) = key_sql(by);
        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT CAST({ekey} AS TEXT) AS k, e.action AS action, count(*) AS n, \
             coalesce(sum(json_extract(e.data, '$.on_time') = 1), 0) AS on_time, \
             coalesce(sum(e.action = 'verify' AND json_extract(e.data, '$.passed') = 0), 0) AS failed, \
             coalesce(sum(e.action = 'rate' AND json_extract(e.data, '$.score') >= 4), 0) AS satisfied, \
             coalesce(sum(d.kind = 'community_team'), 0) AS to_community, \
             coalesce(sum(c.source = 'grid_member'), 0) AS by_members \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             LEFT JOIN departments d ON e.action = 'dispatch' AND d.id = json_extract(e.data, '$.lead_department') \
             WHERE e.at >= "
        ));
        b.push_bind(q.from).push(" AND e.at < ").push_bind(q.to);
        scope(&mut b, q, true);
        b.push(" GROUP BY k, e.action");
        for r in b.build().fetch_all(&self.pool).await? {
            let action: String = r.try_get("action")?;
            let n = r.try_get::<i64, _>("n")? as u64;
            let get = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)? as u64) };
            let m = group(&mut out, r.try_get("k")?);
            match action.as_str() {
                "report" | "on_the_spot" => {
                    m.reports += n;
                    m.reports_by_grid_members += get("by_members")?;
                    if action == "on_the_spot" {
                        m.on_the_spot = n;
                    }
                }
                "accept" => (m.accepted, m.accepted_on_time) = (n, get("on_time")?),
                "reject" => m.rejected = n,
                "dispatch" => {
                    (m.dispatched, m.dispatched_on_time, m.dispatched_to_community) =
                        (n, get("on_time")?, get("to_community")?)
                }
                "return" => m.returns = n,
                "approve_extension" => m.extensions_approved = n,
                "submit_result" => (m.results, m.results_on_time) = (n, get("on_time")?),
                "verify" => (m.verifications, m.verifications_failed) = (n, get("failed")?),
                "rate" => (m.ratings, m.ratings_satisfied) = (n, get("satisfied")?),
                _ => {}
            }
        }

        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT CAST({ckey} AS TEXT) AS k, count(*) AS n, coalesce(sum(c.state IN ('closed', 'rated')), 0) AS closed, \
             coalesce(sum(c.state IN ('closed', 'rated') AND c.closed_at <= c.handle_by), 0) AS on_time \
             FROM cases c WHERE c.on_the_spot = 0 AND c.dispatched_at >= "
        ));
        b.push_bind(q.from).push(" AND c.dispatched_at < ").push_bind(q.to);
        if let Some(p) = q.actor {
            b.push(" AND c.reporter = ").push_bind(p);
        }
        scope(&mut b, q, false);
        b.push(" GROUP BY k");
        for r in b.build().fetch_all(&self.pool).await? {
            let m = group(&mut out, r.try_get("k")?);
            m.cohort = r.try_get::<i64, _>("n")? as u64;
            m.cohort_closed = r.try_get::<i64, _>("closed")? as u64;
            m.cohort_closed_on_time = r.try_get::<i64, _>("on_time")? as u64;
        }

        let mut b = QueryBuilder::<Sqlite>::new(format!(
            "SELECT CAST({ckey} AS TEXT) AS k, count(*) AS n FROM cases c \
             WHERE c.state NOT IN ('closed', 'rated', 'rejected') AND c.due_at < "
        ));
        b.push_bind(q.now);
        if let Some(p) = q.actor {
            b.push(" AND c.reporter = ").push_bind(p);
        }
        scope(&mut b, q, false);
        b.push(" GROUP BY k");
        for r in b.build().fetch_all(&self.pool).await? {
            group(&mut out, r.try_get("k")?).overdue_now = r.try_get::<i64, _>("n")? as u64;
        }

        let gkey = match by {
            GroupBy::Nothing => "''",
            GroupBy::Grid => "scope_value",
            GroupBy::Person => "CAST(person_id AS TEXT)",
            // Grid members belong to grids, not departments or categories.
            GroupBy::Department | GroupBy::Category => "NULL",
        };
        let mut b = QueryBuilder::<Sqlite>::new(format!(
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
        for r in b.build().fetch_all(&self.pool).await? {
            if let Some(k) = r.try_get::<Option<String>, _>("k")? {
                group(&mut out, k).grid_members = r.try_get::<i64, _>("n")? as u64;
            }
        }

        for (k, d) in self.durations(q, by, "accepted_at", "reported_at").await? {
            group(&mut out, k).accept_times.push(d);
        }
        for (k, d) in self.durations(q, by, "dispatched_at", "accepted_at").await? {
            group(&mut out, k).dispatch_times.push(d);
        }
        for (k, d) in self.durations(q, by, "resolved_at", "dispatched_at").await? {
            group(&mut out, k).handle_times.push(d);
        }
        for (k, d) in self.durations(q, by, "verified_at", "resolved_at").await? {
            group(&mut out, k).verify_times.push(d);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gridkeeper_domain::measures::Measures;
    use gridkeeper_domain::*;

    use super::*;
    use crate::{Intake, NewPerson, ReferenceData, Store, Vault};

    const T0: Millis = 1_780_000_000_000;
    const GRID: &str = "330483101001001";

    fn h(x: f64) -> Millis {
        T0 + (x * HOUR as f64) as Millis
    }

    struct World {
        s: SqliteStore,
        people: Vec<Actor>,
        category: Category,
        depts: Vec<Department>,
    }

    impl World {
        async fn new() -> Self {
            let s = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
            s.migrate().await.unwrap();
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
            let depts = vec![dept(1, DepartmentKind::Government), dept(2, DepartmentKind::CommunityTeam)];
            s.load_reference(&ReferenceData {
                regions: vec![],
                platforms: vec![Platform { id: 1, code: "P".into(), name: "p".into(), name_en: "p".into() }],
                departments: depts.clone(),
                categories: vec![class, category.clone()],
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
            World { s, people, category, depts }
        }

        async fn report(&self, at: Millis) -> Case {
            let r = NewReport {
                district: "330483".into(),
                grid: Some(RegionCode::parse(GRID).unwrap()),
                location: Some(LatLon { lat: 30.0, lon: 120.0 }),
                address: None,
                description: "broken".into(),
                urgency: Urgency::Routine,
                suggested_category: None,
                photos: vec![],
                anonymous: false,
                contact: None,
                source: None,
            };
            let d = report(&self.people[0], r, at).unwrap();
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

    /// Five cases whose measures are worked out by hand (docs/MEASURES.md).
    #[tokio::test]
    async fn measures_of_hand_built_cases() {
        let w = World::new().await;
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
        assert_eq!((c.reports, c.reports_by_grid_members, c.grid_members), (5, 1, 1));
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
        assert_eq!(by_grid[GRID], c);
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
}
