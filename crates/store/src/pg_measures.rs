//! [`MeasureStore`] for PostgreSQL: the same counts as SQLite's, straight from the events and projections.

use async_trait::async_trait;
use gridkeeper_domain::measures::MeasureCounts;
use gridkeeper_domain::Millis;
use sqlx::{Postgres, QueryBuilder, Row};

use std::collections::BTreeMap;

use crate::measures::{GroupBy, MeasureQuery, MeasureStore};
use crate::pg::PgStore;
use crate::Result;

/// Appends the scope of `q` (on cases aliased `c`, events aliased `e` when `events`).
fn scope(b: &mut QueryBuilder<'_, Postgres>, q: &MeasureQuery, events: bool) {
    if let Some(r) = &q.region {
        b.push(" AND c.scope_region >= ")
            .push_bind(r.to_string())
            .push(" AND c.scope_region < ")
            .push_bind(format!("{r}:"));
    }
    if let Some(d) = q.department {
        b.push(" AND (c.id IN (SELECT case_id FROM case_departments WHERE department_id = ").push_bind(d).push(")");
        if events {
            b.push(" OR (e.action = 'return' AND (e.data ->> 'department')::bigint = ").push_bind(d).push(")");
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
            "coalesce(e.data ->> 'lead_department', e.data ->> 'department', c.lead_department::text, '')",
            "coalesce(c.lead_department::text, '')",
        ),
        GroupBy::Person => ("coalesce(e.actor::text, '')", "coalesce(c.reporter::text, '')"),
        GroupBy::Category => ("coalesce(c.category::text, '')", "coalesce(c.category::text, '')"),
    }
}

fn group(out: &mut BTreeMap<String, MeasureCounts>, key: String) -> &mut MeasureCounts {
    out.entry(key).or_default()
}

impl PgStore {
    async fn durations(&self, q: &MeasureQuery, by: GroupBy, end: &str, start: &str) -> Result<Vec<(String, Millis)>> {
        let (_, key) = key_sql(by);
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT CAST({key} AS TEXT), c.{end} - c.{start} FROM cases c WHERE NOT c.on_the_spot AND c.{end} >= "
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
impl MeasureStore for PgStore {
    #[tracing::instrument(skip_all, fields(by = ?by))]
    async fn measure_counts_by(&self, q: &MeasureQuery, by: GroupBy) -> Result<BTreeMap<String, MeasureCounts>> {
        let mut out: BTreeMap<String, MeasureCounts> = BTreeMap::new();
        let (ekey, ckey) = key_sql(by);
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT CAST({ekey} AS TEXT) AS k, e.action AS action, count(*) AS n, \
             count(*) FILTER (WHERE e.data -> 'on_time' = 'true'::jsonb) AS on_time, \
             count(*) FILTER (WHERE e.action = 'verify' AND e.data -> 'passed' = 'false'::jsonb) AS failed, \
             count(*) FILTER (WHERE e.action = 'rate' AND (e.data ->> 'score')::numeric >= 4) AS satisfied, \
             count(*) FILTER (WHERE d.kind = 'community_team') AS to_community, \
             count(*) FILTER (WHERE c.source = 'grid_member') AS by_members \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             LEFT JOIN departments d ON e.action = 'dispatch' AND d.id = (e.data ->> 'lead_department')::bigint \
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

        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT CAST({ckey} AS TEXT) AS k, count(*) AS n, count(*) FILTER (WHERE c.state IN ('closed', 'rated')) AS closed, \
             count(*) FILTER (WHERE c.state IN ('closed', 'rated') AND c.closed_at <= c.handle_by) AS on_time \
             FROM cases c WHERE NOT c.on_the_spot AND c.dispatched_at >= "
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

        let mut b = QueryBuilder::<Postgres>::new(format!(
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
