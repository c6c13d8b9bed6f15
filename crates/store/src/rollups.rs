//! The rollups of the measures: the facts of every case
//! ([`gridkeeper_domain::measures::facts`]) summed per local day and region node, kept in step
//! with the events (see the migration `20261130000001_rollups.sql`).
//!
//! Every write of a case subtracts the facts of the case as it was and adds those of the case as
//! it is now, in the transaction that writes the event, so a re-dispatch or a re-categorisation
//! moves the case's earlier counts to its new department or category, as a scan of the events
//! would count them.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;

use gridkeeper_domain::measures::{facts, Fact, COUNTERS};
use gridkeeper_domain::{Case, CaseId, DepartmentId, Millis, NewEvent};

use crate::cases::{CASE_COLUMNS, EVENT_COLUMNS};
use crate::dialect::generic;
use crate::sql::Sql;
use crate::Result;

const DAY: Millis = 86_400_000;
/// Rollup days are local days of China Standard Time (UTC+8). A period aligned to another
/// zone's days is still answered exactly: its partial days are counted from the events.
const DAY_OFFSET: Millis = 8 * 3_600_000;

pub(crate) fn day_of(at: Millis) -> i64 {
    (at + DAY_OFFSET).div_euclid(DAY)
}

pub(crate) fn day_start(day: i64) -> Millis {
    day * DAY - DAY_OFFSET
}

/// The rollups' `day` column numbers periods: a day is its number since 1970-01-01 (local), a
/// month is `MONTHS` + its number since 1970-01, so a year is read from 12 month rows per key
/// instead of 365 day rows.
const MONTHS: i64 = 1_000_000;
/// Days from 0001-01-01 to 1970-01-01.
const EPOCH_CE: i64 = 719_163;

fn month_of(day: i64) -> i64 {
    use chrono::Datelike;
    let date = chrono::NaiveDate::from_num_days_from_ce_opt((EPOCH_CE + day) as i32).unwrap_or_default();
    i64::from(date.year() - 1970) * 12 + i64::from(date.month0())
}

fn month_start(month: i64) -> i64 {
    use chrono::Datelike;
    let (y, m) = (1970 + month.div_euclid(12), month.rem_euclid(12) + 1);
    chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, 1).map_or(0, |d| i64::from(d.num_days_from_ce()) - EPOCH_CE)
}

/// The rollup periods that make up the whole days `[d0, d1)`: the whole months inside as one
/// range of month numbers, the days before and after them as ranges of day numbers.
pub(crate) fn periods(d0: i64, d1: i64) -> Vec<(i64, i64)> {
    let mut first = month_of(d0);
    if month_start(first) < d0 {
        first += 1;
    }
    let mut end = first;
    while month_start(end + 1) <= d1 {
        end += 1;
    }
    if end == first {
        return vec![(d0, d1)];
    }
    let (m0, m1) = (month_start(first), month_start(end));
    [(d0, m0), (MONTHS + first, MONTHS + end), (m1, d1)].into_iter().filter(|(a, b)| a < b).collect()
}

type Counters = [i64; 20];
/// A region node of the rollups ('*', a district, … a grid), numbered within one [`Rollup`].
type Node = u32;
type CountKey = (Node, bool, i64, DepartmentId, i64);
type StageKey = (Node, bool, i64, DepartmentId, u8, u16);
type PersonKey = (Node, i64, i64);

/// Changes to the rollup tables, summed by key before they are written. Nodes are numbered as
/// they are met and the keys hashed with FxHash: a bulk import adds about 80 keys per case.
#[derive(Debug, Default)]
pub(crate) struct Rollup {
    names: Vec<String>,
    numbers: FxHashMap<String, Node>,
    /// A case's scope region → the nodes it counts in, with whether the node is its own (the leaf).
    paths: FxHashMap<String, Vec<(Node, bool)>>,
    /// (node, leaf, day, department, category)
    counts: FxHashMap<CountKey, Counters>,
    /// (node, leaf, day, department or -1 for all, stage, bin) → (count, sum)
    stages: FxHashMap<StageKey, (i64, i64)>,
    /// (node, day, person)
    people: FxHashMap<PersonKey, Counters>,
}

/// The rows of a [`Rollup`] that change something, each table's in the order of its primary key
/// (so that writes walk the B-trees in order, and concurrent PostgreSQL writers lock rows in the
/// same order).
pub(crate) struct Rows {
    names: Vec<String>,
    /// (node, day, leaf, department, category)
    pub(crate) counts: Vec<(CountKey, Counters)>,
    /// (node, department, day, leaf, stage, bin)
    pub(crate) stages: Vec<(StageKey, (i64, i64))>,
    /// (node, day, person)
    pub(crate) people: Vec<(PersonKey, Counters)>,
}

impl Rows {
    pub(crate) fn node(&self, n: Node) -> &str {
        &self.names[n as usize]
    }
}

fn add(into: &mut Counters, delta: &Counters) {
    for (a, d) in into.iter_mut().zip(delta) {
        *a += d;
    }
}

impl Rollup {
    /// The nodes a case counts in: '*', its district and every level down to its own region
    /// (the leaf).
    fn path(&mut self, case: &Case) -> Vec<(Node, bool)> {
        let own = case.scope_region();
        if let Some(p) = self.paths.get(own.as_str()) {
            return p.clone();
        }
        let mut codes = vec![("*".to_string(), false)];
        codes.extend(own.and_ancestors().into_iter().map(|code| (code.to_string(), code == own)));
        let path: Vec<(Node, bool)> = codes
            .into_iter()
            .map(|(code, leaf)| {
                let next = self.names.len() as Node;
                let n = *self.numbers.entry(code.clone()).or_insert(next);
                if n == next {
                    self.names.push(code);
                }
                (n, leaf)
            })
            .collect();
        self.paths.insert(own.to_string(), path.clone());
        path
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) what `case` with `events` contributes.
    pub(crate) fn add(&mut self, case: &Case, events: &[NewEvent], community: &HashSet<DepartmentId>, sign: i64) {
        let path = self.path(case);
        let category = case.category.unwrap_or(0);
        for f in facts(case, events, |d| community.contains(&d)) {
            let day = day_of(f.at);
            self.add_fact(&path, category, day, &f, sign);
            self.add_fact(&path, category, MONTHS + month_of(day), &f, sign);
        }
    }

    fn add_fact(&mut self, path: &[(Node, bool)], category: i64, day: i64, f: &Fact, sign: i64) {
        let dept = f.department.unwrap_or(0);
        let delta = f.counts.counters().map(|c| c as i64 * sign);
        let counted = delta.iter().any(|c| *c != 0);
        let stages = f.counts.stages();
        for &(node, leaf) in path {
            if counted {
                add(self.counts.entry((node, leaf, day, dept, category)).or_default(), &delta);
                if let Some(p) = f.person {
                    add(self.people.entry((node, day, p)).or_default(), &delta);
                }
            }
            for (stage, durations) in stages.iter().enumerate() {
                for (bin, n, total) in durations.bins() {
                    for d in [-1, dept] {
                        let e = self.stages.entry((node, leaf, day, d, stage as u8, bin)).or_default();
                        e.0 += n as i64 * sign;
                        e.1 += total * sign;
                    }
                }
            }
        }
    }

    /// The rows that change something, sorted by primary key.
    pub(crate) fn rows(self) -> Rows {
        // Nodes compare as their codes do.
        let mut order: Vec<Node> = (0..self.names.len() as Node).collect();
        order.sort_unstable_by(|a, b| self.names[*a as usize].cmp(&self.names[*b as usize]));
        let mut rank = vec![0; order.len()];
        for (r, n) in order.into_iter().enumerate() {
            rank[n as usize] = r;
        }
        let mut counts: Vec<_> = self.counts.into_iter().filter(|(_, c)| c.iter().any(|v| *v != 0)).collect();
        counts
            .sort_unstable_by_key(|((node, leaf, day, dept, cat), _)| (rank[*node as usize], *day, *leaf, *dept, *cat));
        let mut stages: Vec<_> = self.stages.into_iter().filter(|(_, (n, t))| *n != 0 || *t != 0).collect();
        stages.sort_unstable_by_key(|((node, leaf, day, dept, stage, bin), _)| {
            (rank[*node as usize], *dept, *day, *leaf, *stage, *bin)
        });
        let mut people: Vec<_> = self.people.into_iter().filter(|(_, c)| c.iter().any(|v| *v != 0)).collect();
        people.sort_unstable_by_key(|((node, day, person), _)| (rank[*node as usize], *day, *person));
        Rows { names: self.names, counts, stages, people }
    }

    /// Keys held (to bound the memory of a long import).
    pub(crate) fn len(&self) -> usize {
        self.counts.len() + self.stages.len() + self.people.len()
    }
}

generic! {
    impl SqlStore {
        /// Writes the changes of `rollup` (those that are not zero) as upserts, in primary-key
        /// order.
        pub(crate) async fn write_rollup(conn: &mut D::Connection, rollup: Rollup) -> Result<()> {
            let names = COUNTERS.join(", ");
            let rows = rollup.rows();
            let sums = |table: &str| COUNTERS.map(|c| format!("{c} = {table}.{c} + excluded.{c}")).join(", ");
            for chunk in rows.counts.chunks(1000) {
                let mut b = Sql::new(format!(
                    "INSERT INTO rollup_counts (node, leaf, day, department, category, {names}) "
                ));
                b.push_values(chunk, |mut row, ((node, leaf, day, dept, cat), c)| {
                    row.push_bind(rows.node(*node)).push_bind(*leaf).push_bind(*day).push_bind(*dept).push_bind(*cat);
                    for v in c {
                        row.push_bind(*v);
                    }
                });
                b.push(format!(
                    " ON CONFLICT (node, day, leaf, department, category) DO UPDATE SET {}",
                    sums("rollup_counts")
                ));
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            for chunk in rows.people.chunks(1000) {
                let mut b = Sql::new(format!("INSERT INTO rollup_people (node, day, person, {names}) "));
                b.push_values(chunk, |mut row, ((node, day, person), c)| {
                    row.push_bind(rows.node(*node)).push_bind(*day).push_bind(*person);
                    for v in c {
                        row.push_bind(*v);
                    }
                });
                b.push(format!(" ON CONFLICT (node, day, person) DO UPDATE SET {}", sums("rollup_people")));
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            for chunk in rows.stages.chunks(4000) {
                let mut b = Sql::new(
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
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// The departments that are community teams (for the self-resolution count).
        pub(crate) async fn community_teams(conn: &mut D::Connection) -> Result<HashSet<DepartmentId>> {
            let ids: Vec<DepartmentId> =
                sqlx::query_scalar("SELECT id FROM departments WHERE kind = 'community_team'").fetch_all(&mut *conn).await?;
            Ok(ids.into_iter().collect())
        }

        /// The cases with ids in `[first, last]` and their events, in id order.
        pub(crate) async fn histories(
            &self,
            conn: &mut D::Connection,
            first: CaseId,
            last: CaseId,
        ) -> Result<Vec<(Case, Vec<NewEvent>)>> {
            let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id BETWEEN $1 AND $2 ORDER BY id");
            let rows = sqlx::query(&sql).bind(first).bind(last).fetch_all(&mut *conn).await?;
            let mut cases: Vec<(Case, Vec<NewEvent>)> =
                rows.iter().map(|r| Ok((self.case_row(r)?, vec![]))).collect::<Result<_>>()?;
            let index: HashMap<CaseId, usize> = cases.iter().enumerate().map(|(i, (c, _))| (c.id, i)).collect();
            let events = sqlx::query(&format!(
                "SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id BETWEEN $1 AND $2 ORDER BY case_id, seq"
            ))
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
            for r in &events {
                let e = Self::event_row(r)?;
                if let Some(i) = index.get(&e.case_id) {
                    cases[*i].1.push(e.event);
                }
            }
            Ok(cases)
        }

        /// [`MeasureStore::rebuild_rollups`](crate::MeasureStore::rebuild_rollups): one
        /// transaction, so readers see the old sums until it commits.
        pub(crate) async fn compute_rollups(&self) -> Result<()> {
            let mut tx = self.begin_write().await?;
            // Writers of cases wait (they add to the rollups); readers go on.
            Self::lock(&mut tx, "cases, rollup_counts, rollup_stages, rollup_people, rollup_state", "EXCLUSIVE").await?;
            for table in ["rollup_counts", "rollup_stages", "rollup_people"] {
                sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
            }
            let community = Self::community_teams(&mut tx).await?;
            let max: CaseId = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM cases").fetch_one(&mut *tx).await?;
            let mut first = 1;
            while first <= max {
                let last = first + 4_999;
                let mut rollup = Rollup::default();
                for (case, events) in self.histories(&mut tx, first, last).await? {
                    rollup.add(&case, &events, &community, 1);
                }
                Self::write_rollup(&mut tx, rollup).await?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_its_whole_months_and_the_days_around_them() {
        let day = |y, m, d| i64::from(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap().num_days_from_ce()) - EPOCH_CE;
        use chrono::Datelike;
        assert_eq!(month_of(day(1970, 1, 1)), 0);
        assert_eq!(month_of(day(2026, 11, 30)), 56 * 12 + 10);
        assert_eq!(month_start(56 * 12 + 10), day(2026, 11, 1));
        // 2025-12-15 .. 2026-12-01: days of December, January to November as months.
        let (d0, d1) = (day(2025, 12, 15), day(2026, 12, 1));
        let (jan, dec) = (month_of(day(2026, 1, 1)), month_of(day(2026, 12, 1)));
        assert_eq!(periods(d0, d1), vec![(d0, day(2026, 1, 1)), (MONTHS + jan, MONTHS + dec)]);
        // Within one month: days only; a whole month exactly: one month row.
        assert_eq!(periods(day(2026, 3, 2), day(2026, 3, 30)), vec![(day(2026, 3, 2), day(2026, 3, 30))]);
        let march = month_of(day(2026, 3, 1));
        assert_eq!(periods(day(2026, 3, 1), day(2026, 4, 1)), vec![(MONTHS + march, MONTHS + march + 1)]);
        assert_eq!(periods(day(2026, 2, 27), day(2026, 4, 3)).len(), 3);
    }
}
