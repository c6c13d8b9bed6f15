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
use crate::sql::{Arg, Sql};
use crate::Result;
use sqlx::Row;

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
type TotalKey = (Node, bool, i64);
/// (node, split, day, leaf, value, stage): the stage times of a node and period, for all its
/// cases ([`ALL`]) or those of one department, category or person.
type TimeKey = (Node, u8, i64, bool, i64, u8);
type PersonKey = (Node, i64, i64);
/// A [`TimeKey`] as read back from `rollup_times`.
type StoredKey = (String, i64, i64, bool, i64, i64);

/// The splits of the stage times (`rollup_times.split`): every case of the node, or those of one
/// `value` — a lead department, a category (0: none for either), a grid member who reported.
pub(crate) const ALL: u8 = 0;
pub(crate) const DEPARTMENT: u8 = 1;
pub(crate) const CATEGORY: u8 = 2;
pub(crate) const PERSON: u8 = 3;

/// A bin of a stage-time histogram ([`Durations::bin`](gridkeeper_domain::measures::Durations::bin),
/// about 2% wide) or its change: (bin, (count, sum)), signed so that a change can take durations
/// away.
pub(crate) type Bin = (u16, (i64, i64));

/// The histogram stored as `bytes` with `change` added (both in bin order), stored the same way:
/// per bin holding durations, the bin (2 bytes), the count and the sum (8 bytes each),
/// little-endian, in bin order. A bin left at nothing is dropped.
pub(crate) fn add_to(bytes: &[u8], change: &[Bin]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + change.len() * 18);
    let (mut old, mut new) = (bins_of(bytes).peekable(), change.iter().copied().peekable());
    loop {
        let (bin, (n, total)) = match (old.peek(), new.peek()) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                let (a, b) = (a.1, b.1);
                let bin = old.next().map_or(0, |x| x.0);
                new.next();
                (bin, (a.0 + b.0, a.1 + b.1))
            }
            (Some(a), Some(b)) if a.0 < b.0 => old.next().unwrap_or_default(),
            (_, Some(_)) => new.next().unwrap_or_default(),
            (Some(_), None) => old.next().unwrap_or_default(),
            (None, None) => break,
        };
        if n != 0 || total != 0 {
            out.extend_from_slice(&bin.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&total.to_le_bytes());
        }
    }
    out
}

/// The bins of a stored histogram ([`add_to`]); a trailing part of a bin is ignored.
pub(crate) fn bins_of(bytes: &[u8]) -> impl Iterator<Item = Bin> + '_ {
    bytes.chunks_exact(18).map(|b| {
        let bin = u16::from_le_bytes([b[0], b[1]]);
        let n = i64::from_le_bytes(b[2..10].try_into().unwrap_or_default());
        let total = i64::from_le_bytes(b[10..18].try_into().unwrap_or_default());
        (bin, (n, total))
    })
}

/// Changes to the rollup tables, summed by key before they are written. Nodes are numbered as
/// they are met and the keys hashed with FxHash: a bulk import adds about 100 keys per case.
#[derive(Debug, Default)]
pub(crate) struct Rollup {
    names: Vec<String>,
    numbers: FxHashMap<String, Node>,
    /// A case's scope region → the nodes it counts in, with whether the node is its own (the leaf).
    paths: FxHashMap<String, Vec<(Node, bool)>>,
    /// (node, leaf, day, department, category)
    counts: FxHashMap<CountKey, Counters>,
    /// (node, leaf, day): the counts of every department and category.
    totals: FxHashMap<TotalKey, Counters>,
    /// The stage times' changes, per key and bin (a flat map: no allocation per key).
    times: FxHashMap<(TimeKey, u16), (i64, i64)>,
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
    /// (node, day, leaf)
    pub(crate) totals: Vec<(TotalKey, Counters)>,
    /// (node, split, day, leaf, value, stage), and where its changed bins lie in `bins`.
    pub(crate) times: Vec<(TimeKey, std::ops::Range<usize>)>,
    pub(crate) bins: Vec<Bin>,
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
        let timed = stages.iter().any(|d| d.count() > 0);
        // A stage time counts for every case, its department, its category, and the grid member
        // who reported it (a stage's fact names them: `facts`).
        let splits =
            [(ALL, 0), (DEPARTMENT, dept), (CATEGORY, category)].into_iter().chain(f.person.map(|p| (PERSON, p)));
        for &(node, leaf) in path {
            if counted {
                add(self.counts.entry((node, leaf, day, dept, category)).or_default(), &delta);
                add(self.totals.entry((node, leaf, day)).or_default(), &delta);
                if let Some(p) = f.person {
                    add(self.people.entry((node, day, p)).or_default(), &delta);
                }
            }
            if !timed {
                continue;
            }
            for (split, value) in splits.clone() {
                for (stage, durations) in stages.iter().enumerate() {
                    for (bin, n, total) in durations.bins() {
                        let b = self.times.entry(((node, split, day, leaf, value, stage as u8), bin)).or_default();
                        b.0 += n as i64 * sign;
                        b.1 += total * sign;
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
        let mut totals: Vec<_> = self.totals.into_iter().filter(|(_, c)| c.iter().any(|v| *v != 0)).collect();
        totals.sort_unstable_by_key(|((node, leaf, day), _)| (rank[*node as usize], *day, *leaf));
        let mut changed: Vec<_> = self.times.into_iter().filter(|(_, (n, t))| *n != 0 || *t != 0).collect();
        changed.sort_unstable_by_key(|(((node, split, day, leaf, value, stage), bin), _)| {
            (rank[*node as usize], *split, *day, *leaf, *value, *stage, *bin)
        });
        let mut times: Vec<(TimeKey, std::ops::Range<usize>)> = vec![];
        let mut bins = Vec::with_capacity(changed.len());
        for (i, ((key, bin), change)) in changed.into_iter().enumerate() {
            match times.last_mut() {
                Some((last, range)) if *last == key => range.end = i + 1,
                _ => times.push((key, i..i + 1)),
            }
            bins.push((bin, change));
        }
        let mut people: Vec<_> = self.people.into_iter().filter(|(_, c)| c.iter().any(|v| *v != 0)).collect();
        people.sort_unstable_by_key(|((node, day, person), _)| (rank[*node as usize], *day, *person));
        Rows { names: self.names, counts, totals, times, bins, people }
    }

    /// Keys held (to bound the memory of a long import).
    pub(crate) fn len(&self) -> usize {
        self.counts.len() + self.totals.len() + self.times.len() + self.people.len()
    }
}

/// The keys of `chunk` as the rows of a `VALUES` list, each followed by its histogram when
/// `hist` gives one (from the key and its changed bins).
fn push_times(
    b: &mut Sql,
    rows: &Rows,
    chunk: &[(TimeKey, std::ops::Range<usize>)],
    hist: impl Fn(&TimeKey, &[Bin]) -> Option<Vec<u8>>,
) {
    b.push_values(chunk, |mut row, (key, range)| {
        let (node, split, day, leaf, value, stage) = *key;
        row.push_bind(rows.node(node))
            .push_bind(i64::from(split))
            .push_bind(day)
            .push_bind(leaf)
            .push_bind(value)
            .push_bind(i64::from(stage));
        if let Some(h) = hist(key, &rows.bins[range.clone()]) {
            row.push_bind(h);
        }
    });
}

generic! {
    impl SqlStore {
        /// Writes the changes of `rollup` (those that are not zero) as upserts, in primary-key
        /// order.
        pub(crate) async fn write_rollup(conn: &mut D::Connection, rollup: Rollup) -> Result<()> {
            let rows = rollup.rows();
            let node = |n: Node| Arg::from(rows.node(n));
            let counts = |&(n, leaf, day, dept, cat): &CountKey| [node(n), leaf.into(), day.into(), dept.into(), cat.into()];
            Self::add_counters(conn, "rollup_counts", ["node", "leaf", "day", "department", "category"], &rows.counts, counts)
                .await?;
            let totals = |&(n, leaf, day): &TotalKey| [node(n), leaf.into(), day.into()];
            Self::add_counters(conn, "rollup_totals", ["node", "leaf", "day"], &rows.totals, totals).await?;
            let people = |&(n, day, person): &PersonKey| [node(n), day.into(), person.into()];
            Self::add_counters(conn, "rollup_people", ["node", "day", "person"], &rows.people, people).await?;
            Self::write_times(conn, &rows).await
        }

        /// Adds counters to the rows of `table` keyed by `key` (its primary key's columns), 1,000
        /// rows a statement; `values` gives a key's values in the order of `key`.
        async fn add_counters<K, const N: usize>(
            conn: &mut D::Connection,
            table: &str,
            key: [&str; N],
            rows: &[(K, Counters)],
            values: impl Fn(&K) -> [Arg; N],
        ) -> Result<()> {
            let sums = COUNTERS.map(|c| format!("{c} = {table}.{c} + excluded.{c}")).join(", ");
            for chunk in rows.chunks(1000) {
                let mut b = Sql::new(format!("INSERT INTO {table} ({}, {}) ", key.join(", "), COUNTERS.join(", ")));
                b.push_values(chunk, |mut row, (k, c)| {
                    for v in values(k) {
                        row.push_bind(v);
                    }
                    for v in c {
                        row.push_bind(*v);
                    }
                });
                b.push(format!(" ON CONFLICT ({}) DO UPDATE SET {sums}", key.join(", ")));
                Self::query_of(&b).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Adds the stage times' changes of `rows` to `rollup_times`: a histogram is read, added
        /// to in memory and written back, 1,000 keys a statement. On PostgreSQL the rows are first
        /// made to exist and then locked (`FOR UPDATE`), so that two writers adding to the same
        /// histogram (the district's, '*') take turns rather than one overwriting the other;
        /// SQLite writes one transaction at a time.
        async fn write_times(conn: &mut D::Connection, rows: &Rows) -> Result<()> {
            const KEY: &str = "node, split, day, leaf, value, stage";
            let locking = !D::FOR_UPDATE.is_empty();
            for chunk in rows.times.chunks(1000) {
                if locking {
                    let mut b = Sql::new(format!("INSERT INTO rollup_times ({KEY}, hist) "));
                    push_times(&mut b, rows, chunk, |_, _| Some(Vec::new()));
                    b.push(format!(" ON CONFLICT ({KEY}) DO NOTHING"));
                    Self::query_of(&b).execute(&mut *conn).await?;
                }
                let mut b = Sql::new(format!("WITH k ({KEY}) AS ("));
                push_times(&mut b, rows, chunk, |_, _| None);
                b.push(format!(
                    ") SELECT t.node, t.split, t.day, t.leaf, t.value, t.stage, t.hist FROM k JOIN rollup_times t \
                     ON t.node = k.node AND t.split = k.split AND t.day = k.day AND t.leaf = k.leaf \
                     AND t.value = k.value AND t.stage = k.stage{}",
                    if locking { " ORDER BY 1, 2, 3, 4, 5, 6 FOR UPDATE OF t" } else { "" }
                ));
                let mut stored: HashMap<StoredKey, Vec<u8>> = HashMap::new();
                for r in Self::query_of(&b).fetch_all(&mut *conn).await? {
                    let key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
                    stored.insert(key, r.try_get(6)?);
                }
                let mut b = Sql::new(format!("INSERT INTO rollup_times ({KEY}, hist) "));
                push_times(&mut b, rows, chunk, |&(node, split, day, leaf, value, stage), change| {
                    let key = (rows.node(node).to_string(), i64::from(split), day, leaf, value, i64::from(stage));
                    Some(add_to(stored.get(&key).map_or(&[][..], Vec::as_slice), change))
                });
                b.push(format!(" ON CONFLICT ({KEY}) DO UPDATE SET hist = excluded.hist"));
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
            Self::lock(&mut tx, "cases, rollup_counts, rollup_totals, rollup_times, rollup_people, rollup_state", "EXCLUSIVE").await?;
            for table in ["rollup_counts", "rollup_totals", "rollup_times", "rollup_people"] {
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
    fn a_histogram_reads_back_as_written_and_adds_up() {
        let a: Vec<Bin> = vec![(0, (1, 400)), (345, (2, 2_000_000)), (u16::MAX, (1, i64::MAX / 2))];
        let stored = add_to(&[], &a);
        assert_eq!(stored.len(), 3 * 18);
        assert_eq!(bins_of(&stored).collect::<Vec<_>>(), a);
        // Taking durations away: a bin left at nothing is not stored; new bins fall in order.
        let merged = add_to(&stored, &[(7, (1, 3)), (345, (-2, -2_000_000)), (400, (1, 5))]);
        let want: Vec<Bin> = vec![(0, (1, 400)), (7, (1, 3)), (400, (1, 5)), (u16::MAX, (1, i64::MAX / 2))];
        assert_eq!(bins_of(&merged).collect::<Vec<_>>(), want);
        let twice = add_to(&merged, &bins_of(&merged).collect::<Vec<_>>());
        assert_eq!(bins_of(&twice).find(|b| b.0 == 7), Some((7, (2, 6))));
        assert_eq!(add_to(&[], &[(3, (0, 0))]), Vec::<u8>::new());
        // A stored value that is not a whole number of bins keeps its whole bins.
        assert_eq!(bins_of(&stored[..20]).collect::<Vec<_>>(), vec![(0, (1, 400))]);
    }

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
