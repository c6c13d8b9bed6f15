//! The rollups of the measures in PostgreSQL: the same sums as SQLite's (`sqlite_rollups.rs`
//! gathers the changes in a [`Rollup`]; this writes them), kept in step with the events in the
//! transaction that writes each event.

use std::collections::{HashMap, HashSet};

use gridkeeper_domain::measures::COUNTERS;
use gridkeeper_domain::{Case, CaseId, DepartmentId, NewEvent};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::pg::{case_row, event_row, PgStore, CASE_COLUMNS};
use crate::sqlite_rollups::Rollup;
use crate::Result;

/// Writes the changes (those that are not zero) as upserts.
pub(crate) async fn write(rollup: Rollup, conn: &mut PgConnection) -> Result<()> {
    let names = COUNTERS.join(", ");
    let rows = rollup.rows();
    let sums = |table: &str| COUNTERS.map(|c| format!("{c} = {table}.{c} + excluded.{c}")).join(", ");
    for chunk in rows.counts.chunks(1000) {
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO rollup_counts (node, leaf, day, department, category, {names}) "
        ));
        b.push_values(chunk, |mut row, ((node, leaf, day, dept, cat), c)| {
            row.push_bind(rows.node(*node)).push_bind(*leaf).push_bind(*day).push_bind(*dept).push_bind(*cat);
            for v in c {
                row.push_bind(*v);
            }
        });
        b.push(format!(" ON CONFLICT (node, day, leaf, department, category) DO UPDATE SET {}", sums("rollup_counts")));
        b.build().execute(&mut *conn).await?;
    }
    for chunk in rows.people.chunks(1000) {
        let mut b = QueryBuilder::<Postgres>::new(format!("INSERT INTO rollup_people (node, day, person, {names}) "));
        b.push_values(chunk, |mut row, ((node, day, person), c)| {
            row.push_bind(rows.node(*node)).push_bind(*day).push_bind(*person);
            for v in c {
                row.push_bind(*v);
            }
        });
        b.push(format!(" ON CONFLICT (node, day, person) DO UPDATE SET {}", sums("rollup_people")));
        b.build().execute(&mut *conn).await?;
    }
    for chunk in rows.stages.chunks(2000) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO rollup_stages (node, leaf, day, department, stage, bin, n, total) ",
        );
        b.push_values(chunk, |mut row, ((node, leaf, day, dept, stage, bin), (n, total))| {
            row.push_bind(rows.node(*node))
                .push_bind(*leaf)
                .push_bind(*day)
                .push_bind(*dept)
                .push_bind(i64::from(*stage))
                .push_bind(i64::from(*bin))
                .push_bind(*n)
                .push_bind(*total);
        });
        b.push(
            " ON CONFLICT (node, department, day, leaf, stage, bin) \
             DO UPDATE SET n = rollup_stages.n + excluded.n, total = rollup_stages.total + excluded.total",
        );
        b.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The departments that are community teams (for the self-resolution count).
pub(crate) async fn community_teams(conn: &mut PgConnection) -> Result<HashSet<DepartmentId>> {
    let ids: Vec<DepartmentId> =
        sqlx::query_scalar("SELECT id FROM departments WHERE kind = 'community_team'").fetch_all(&mut *conn).await?;
    Ok(ids.into_iter().collect())
}

/// The cases with ids in `[first, last]` and their events, in id order.
pub(crate) async fn histories(
    store: &PgStore,
    conn: &mut PgConnection,
    first: CaseId,
    last: CaseId,
) -> Result<Vec<(Case, Vec<NewEvent>)>> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id BETWEEN $1 AND $2 ORDER BY id");
    let rows = sqlx::query(&sql).bind(first).bind(last).fetch_all(&mut *conn).await?;
    let mut cases: Vec<(Case, Vec<NewEvent>)> =
        rows.iter().map(|r| Ok((case_row(r, &store.vault)?, vec![]))).collect::<Result<_>>()?;
    let index: HashMap<CaseId, usize> = cases.iter().enumerate().map(|(i, (c, _))| (c.id, i)).collect();
    let events = sqlx::query("SELECT * FROM case_events WHERE case_id BETWEEN $1 AND $2 ORDER BY case_id, seq")
        .bind(first)
        .bind(last)
        .fetch_all(&mut *conn)
        .await?;
    for r in &events {
        let e = event_row(r)?;
        if let Some(i) = index.get(&e.case_id) {
            cases[*i].1.push(e.event);
        }
    }
    Ok(cases)
}

impl PgStore {
    /// [`MeasureStore::rebuild_rollups`](crate::MeasureStore::rebuild_rollups): one transaction,
    /// so readers see the old sums until it commits.
    pub(crate) async fn compute_rollups(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Writers of cases wait (they add to the rollups); readers go on.
        sqlx::query("LOCK TABLE cases, rollup_counts, rollup_stages, rollup_people, rollup_state IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        for table in ["rollup_counts", "rollup_stages", "rollup_people"] {
            sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
        }
        let community = community_teams(&mut tx).await?;
        let max: CaseId = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM cases").fetch_one(&mut *tx).await?;
        let mut first = 1;
        while first <= max {
            let last = first + 4_999;
            let mut rollup = Rollup::default();
            for (case, events) in histories(self, &mut tx, first, last).await? {
                rollup.add(&case, &events, &community, 1);
            }
            write(rollup, &mut tx).await?;
            first = last + 1;
        }
        sqlx::query("UPDATE rollup_state SET built = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Builds the rollups once after the migration that created them, for the cases stored before.
    pub(crate) async fn ensure_rollups(&self) -> Result<()> {
        let built: i64 = sqlx::query_scalar("SELECT built FROM rollup_state").fetch_one(&self.pool).await?;
        if built == 0 {
            tracing::info!("computing the measure rollups of the cases already stored");
            self.compute_rollups().await?;
        }
        Ok(())
    }
}
