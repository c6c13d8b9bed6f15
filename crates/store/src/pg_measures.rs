//! [`MeasureStore`] for PostgreSQL, the same queries as SQLite's (`sqlite_measures.rs`) in
//! PostgreSQL's dialect: whole days from the rollups (`pg_rollups.rs`), partial days
//! at the ends of a period and the scopes the rollups do not split by from the case events and
//! projections, and the present (overdue now, grid members) from the cases and grants.

use async_trait::async_trait;
use gridkeeper_domain::measures::COUNTERS;
use gridkeeper_domain::Millis;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::measures::{GroupBy, MeasureQuery, MeasureStore};
use crate::measures_sql::{group, key_sql, push_nodes, rollup_key, scope, Counts};
use crate::pg::PgStore;
use crate::sqlite_rollups::{day_of, day_start, periods};
use crate::Result;

impl PgStore {
    /// The counters of `[from, to)` by scanning the events and cases.
    async fn scan_counters(
        &self,
        q: &MeasureQuery,
        by: GroupBy,
        from: Millis,
        to: Millis,
        out: &mut Counts,
    ) -> Result<()> {
        let (ekey, ckey) = key_sql::<Postgres>(by);
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT coalesce(CAST({ekey} AS TEXT), '') AS k, e.action AS action, count(*) AS n, \
             count(*) FILTER (WHERE e.data -> 'on_time' = 'true'::jsonb) AS on_time, \
             count(*) FILTER (WHERE e.action = 'verify' AND e.data -> 'passed' = 'false'::jsonb) AS failed, \
             count(*) FILTER (WHERE e.action = 'rate' AND (e.data ->> 'score')::numeric >= 4) AS satisfied, \
             count(*) FILTER (WHERE d.kind = 'community_team') AS to_community, \
             count(*) FILTER (WHERE c.source = 'grid_member') AS by_members \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             LEFT JOIN departments d ON e.action = 'dispatch' AND d.id = (e.data ->> 'lead_department')::bigint \
             WHERE e.at >= "
        ));
        b.push_bind(from).push(" AND e.at < ").push_bind(to);
        b.push(
            " AND e.action IN ('report', 'on_the_spot', 'accept', 'reject', 'dispatch', 'return', \
             'approve_extension', 'submit_result', 'verify', 'rate')",
        );
        scope(&mut b, q, by, true);
        b.push(" GROUP BY k, e.action");
        for r in b.build().fetch_all(&self.pool).await? {
            let action: String = r.try_get("action")?;
            let n = r.try_get::<i64, _>("n")? as u64;
            let get = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)? as u64) };
            let m = group(out, r.try_get("k")?);
            match action.as_str() {
                "report" | "on_the_spot" => {
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
                "verify" => {
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

        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT coalesce(CAST({ckey} AS TEXT), '') AS k, count(*) AS n, \
             count(*) FILTER (WHERE c.state IN ('closed', 'rated')) AS closed, \
             count(*) FILTER (WHERE c.state IN ('closed', 'rated') AND c.closed_at <= c.handle_by) AS on_time \
             FROM cases c WHERE NOT c.on_the_spot AND c.dispatched_at >= "
        ));
        b.push_bind(from).push(" AND c.dispatched_at < ").push_bind(to);
        scope(&mut b, q, by, false);
        b.push(" GROUP BY k");
        for r in b.build().fetch_all(&self.pool).await? {
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
        let (_, key) = key_sql::<Postgres>(by);
        let stages = [
            ("accepted_at", "reported_at"),
            ("dispatched_at", "accepted_at"),
            ("resolved_at", "dispatched_at"),
            ("verified_at", "resolved_at"),
        ];
        for (i, (end, start)) in stages.into_iter().enumerate() {
            let mut b = QueryBuilder::<Postgres>::new(format!(
                "SELECT coalesce(CAST({key} AS TEXT), ''), c.{end} - c.{start} FROM cases c \
                 WHERE NOT c.on_the_spot AND c.{end} >= "
            ));
            b.push_bind(from).push(format!(" AND c.{end} < ")).push_bind(to);
            b.push(format!(" AND c.{start} IS NOT NULL"));
            scope(&mut b, q, by, false);
            for (k, d) in b.build_query_as::<(String, Millis)>().fetch_all(&self.pool).await? {
                group(out, k).stages_mut()[i].add(d);
            }
        }
        Ok(())
    }

    /// The counters of the whole days `[d0, d1)` from the rollups (whole months from their month rows), or `false` when the rollups do
    /// not split by what `q` asks.
    async fn rollup_counters(&self, q: &MeasureQuery, by: GroupBy, d0: i64, d1: i64, out: &mut Counts) -> Result<bool> {
        let people = q.actor.is_some() || by == GroupBy::Person;
        if people
            && (q.department.is_some() || !q.categories.is_empty() || by != GroupBy::Nothing && by != GroupBy::Person)
        {
            return Ok(false);
        }
        let sums = COUNTERS.map(|c| format!("sum({c})::bigint")).join(", ");
        let table = if people { "rollup_people" } else { "rollup_counts" };
        for (p0, p1) in periods(d0, d1) {
            let mut b = QueryBuilder::<Postgres>::new(format!(
                "SELECT {} AS k, {sums} FROM {table} WHERE day >= ",
                rollup_key(by)
            ));
            b.push_bind(p0).push(" AND day < ").push_bind(p1);
            push_nodes(&mut b, q, by, table);
            if let Some(d) = q.department {
                b.push(" AND department = ").push_bind(d);
            }
            if !q.categories.is_empty() {
                b.push(" AND category IN (");
                let mut s = b.separated(", ");
                for c in &q.categories {
                    s.push_bind(*c);
                }
                b.push(")");
            }
            if let Some(p) = q.actor {
                b.push(" AND person = ").push_bind(p);
            }
            // Rows whose counts moved to another key (a re-dispatch, a category) are left at zero.
            b.push(format!(" GROUP BY k HAVING {} > 0", COUNTERS.map(|c| format!("sum({c})")).join(" + ")));
            for r in b.build().fetch_all(&self.pool).await? {
                let mut values = [0i64; 20];
                for (i, v) in values.iter_mut().enumerate() {
                    *v = r.try_get(i + 1)?;
                }
                group(out, r.try_get("k")?).add_counters(&values);
            }
        }
        Ok(true)
    }

    /// The stage durations of the whole days `[d0, d1)` from the rollups, or `false` when the
    /// rollups do not split by what `q` asks (categories, people).
    async fn rollup_durations(
        &self,
        q: &MeasureQuery,
        by: GroupBy,
        d0: i64,
        d1: i64,
        out: &mut Counts,
    ) -> Result<bool> {
        if q.actor.is_some() || !q.categories.is_empty() || matches!(by, GroupBy::Person | GroupBy::Category) {
            return Ok(false);
        }
        for (p0, p1) in periods(d0, d1) {
            let mut b = QueryBuilder::<Postgres>::new(format!(
                "SELECT {} AS k, stage, bin, sum(n)::bigint, sum(total)::bigint FROM rollup_stages WHERE day >= ",
                rollup_key(by)
            ));
            b.push_bind(p0).push(" AND day < ").push_bind(p1);
            push_nodes(&mut b, q, by, "rollup_stages");
            match (q.department, by) {
                (Some(d), _) => b.push(" AND department = ").push_bind(d),
                (None, GroupBy::Department) => b.push(" AND department <> -1"),
                (None, _) => b.push(" AND department = -1"),
            };
            b.push(" GROUP BY k, stage, bin HAVING sum(n) > 0");
            for (k, stage, bin, n, total) in
                b.build_query_as::<(String, i64, i64, i64, i64)>().fetch_all(&self.pool).await?
            {
                if let Some(d) = group(out, k).stages_mut().get_mut(stage as usize) {
                    d.add_bin(bin as u16, n as u64, total);
                }
            }
        }
        Ok(true)
    }

    /// What describes the present rather than the period: cases overdue now, grid members.
    async fn present(&self, q: &MeasureQuery, by: GroupBy, out: &mut Counts) -> Result<()> {
        let (_, ckey) = key_sql::<Postgres>(by);
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT coalesce(CAST({ckey} AS TEXT), '') AS k, count(*) AS n FROM cases c \
             WHERE c.state NOT IN ('closed', 'rated', 'rejected') AND c.due_at < "
        ));
        b.push_bind(q.now);
        scope(&mut b, q, by, false);
        b.push(" GROUP BY k");
        for r in b.build().fetch_all(&self.pool).await? {
            group(out, r.try_get("k")?).overdue_now = r.try_get::<i64, _>("n")? as u64;
        }

        let gkey = match by {
            GroupBy::Nothing => "''",
            GroupBy::Grid => "scope_value",
            GroupBy::Person => "CAST(person_id AS TEXT)",
            // Grid members belong to grids, not departments or categories.
            GroupBy::Department | GroupBy::Category => "NULL",
        };
        let mut b = QueryBuilder::<Postgres>::new(format!(
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
                group(out, k).grid_members = r.try_get::<i64, _>("n")? as u64;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl MeasureStore for PgStore {
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
}
