//! Bulk writes of finished case histories: [`CaseStore::import_history`](crate::CaseStore) in
//! each database's way — SQLite's bulk path below, PostgreSQL's portable one
//! ([`SqlStore::import_portable`](crate::SqlStore)) — the
//! [`BulkLoad`] that fills a new database chunk by chunk (the benchmark databases), and the raw
//! ceilings the benchmarks compare them with.
//!
//! What makes them fast: multi-row `INSERT`s of prepared statements (as many rows as SQLite's
//! 32,766 bound variables allow), one transaction per large batch, and, when the batch is large
//! compared with what is stored, the secondary indexes of the case tables dropped before and
//! built again after (one sort per index instead of a random B-tree insert per row). Foreign
//! keys are checked once per batch, set-based (every person, category, department and original
//! case the batch names must exist), instead of once per row. The measure rollups are summed in
//! memory (up to `ROLLUP_KEYS` keys at a time) on this thread while SQLite's worker thread
//! writes the rows, and written as one upsert per key in primary-key order, in the batch's
//! transaction.
//!
//! The raw ceilings write neither counters nor rollups: they are what SQLite does with the rows
//! alone.

use std::collections::{BTreeSet, HashMap};

use chrono::Datelike;
use gridkeeper_domain::{Case, CaseId, CaseRef, DepartmentId, FieldError, Millis, NewEvent};
use sqlx::pool::PoolConnection;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::cases::{case_values, Val, CASE_COLUMNS, CASE_ROWS, EVENT_COLUMNS, EVENT_ROWS};
use crate::dialect::{generic, CACHE_SIZE};
use crate::rollups::Rollup;
use crate::sql::Sql;
use crate::{Result, SqliteStore, StoreError};
/// Batches at least this large, and at least as large as what is stored, are written with the
/// case tables' secondary indexes dropped and rebuilt.
const REBUILD_INDEXES_FROM: usize = 20_000;
/// Rollup keys summed in memory before they are written (about 80 bytes each; some 40,000
/// cases).
const ROLLUP_KEYS: usize = 2_000_000;
/// Page cache of the connection during a bulk write (KiB; the pool's default is 16 MB).
const BULK_CACHE_KIB: i64 = 512 * 1024;

/// Tables whose secondary indexes a bulk write rebuilds.
const CASE_TABLES: &str = "('cases', 'case_events', 'case_departments')";

/// Checks that every case's version equals its number of events.
pub(crate) fn check_versions(cases: &[(Case, Vec<NewEvent>)]) -> Result<()> {
    if let Some((c, e)) = cases.iter().find(|(c, e)| e.len() as i64 != c.version || e.is_empty()) {
        return Err(StoreError::Invalid(FieldError::new(
            "history",
            format!(
                "a case's version must equal its number of events ({} has {} for {})",
                c.description,
                e.len(),
                c.version
            ),
        )));
    }
    Ok(())
}

/// Ids and reference numbers of new cases written in one transaction (which holds the write
/// lock): ids follow the largest stored, numbers each district-year's counter.
pub(crate) struct Numbering {
    counters: HashMap<(String, i32), i64>,
    next_id: CaseId,
}

impl Numbering {
    pub(crate) async fn new(conn: &mut SqliteConnection) -> Result<Self> {
        let next_id = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM cases").fetch_one(&mut *conn).await?;
        Ok(Self { counters: HashMap::new(), next_id })
    }

    /// Gives `case` the next id and the next reference number of its district in `year`.
    pub(crate) async fn assign(&mut self, conn: &mut SqliteConnection, case: &mut Case, year: i32) -> Result<()> {
        let key = (case.district.clone(), year);
        if !self.counters.contains_key(&key) {
            let last: Option<i64> =
                sqlx::query_scalar("SELECT last FROM case_counters WHERE district = ? AND year = ?")
                    .bind(&key.0)
                    .bind(year)
                    .fetch_optional(&mut *conn)
                    .await?;
            self.counters.insert(key.clone(), last.unwrap_or(0));
        }
        let n = self.counters.get_mut(&key).expect("inserted above");
        *n += 1;
        case.id = self.next_id;
        case.reference = CaseRef::new(&case.district, year, *n as u32).to_string();
        self.next_id += 1;
        Ok(())
    }

    /// Writes the reference counters reached (inside the caller's transaction).
    pub(crate) async fn save(&self, conn: &mut SqliteConnection) -> Result<()> {
        for ((district, y), last) in &self.counters {
            sqlx::query(
                "INSERT INTO case_counters (district, year, last) VALUES (?, ?, ?) \
                 ON CONFLICT (district, year) DO UPDATE SET last = max(last, excluded.last)",
            )
            .bind(district)
            .bind(y)
            .bind(last)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// The numbering and the local year of an import in progress.
pub(crate) struct Importer {
    offset: chrono::FixedOffset,
    numbering: Numbering,
}

impl Importer {
    pub(crate) async fn new(conn: &mut SqliteConnection, utc_offset_hours: i32) -> Result<Self> {
        let offset = chrono::FixedOffset::east_opt(utc_offset_hours * 3600)
            .ok_or_else(|| StoreError::Invalid(FieldError::new("utc_offset_hours", "must lie between -23 and 23")))?;
        Ok(Self { offset, numbering: Numbering::new(conn).await? })
    }

    fn year(&self, at: Millis) -> i32 {
        chrono::DateTime::from_timestamp_millis(at).map(|t| t.with_timezone(&self.offset).year()).unwrap_or(1970)
    }

    /// Writes `cases` (ids and references assigned in order) inside the caller's transaction.
    /// The rollups of each chunk are summed on this thread while SQLite's worker thread writes
    /// the chunk's rows.
    pub(crate) async fn load(
        &mut self,
        conn: &mut SqliteConnection,
        store: &SqliteStore,
        cases: &[(Case, Vec<NewEvent>)],
    ) -> Result<()> {
        check_references(conn, cases, self.numbering.next_id).await?;
        let community = SqliteStore::community_teams(&mut *conn).await?;
        let mut rollup = Rollup::default();
        for chunk in cases.chunks(CASE_ROWS) {
            if rollup.len() > ROLLUP_KEYS {
                SqliteStore::write_rollup(&mut *conn, std::mem::take(&mut rollup)).await?;
            }
            let mut stored = Vec::with_capacity(chunk.len());
            for (case, events) in chunk {
                let mut c = case.clone();
                self.numbering.assign(&mut *conn, &mut c, self.year(case.reported_at)).await?;
                stored.push((c, events));
            }
            let mut summed = stored.iter();
            let sum = || match summed.next() {
                Some((c, events)) => {
                    rollup.add(c, events, &community, 1);
                    true
                }
                None => false,
            };
            alongside(store.write_rows(&mut *conn, &stored), sum).await?;
        }
        // The measure rollups, summed over the batch (one upsert per day, region and key).
        SqliteStore::write_rollup(&mut *conn, rollup).await?;
        Ok(())
    }
}

/// Runs `io` and, whenever it waits (for SQLite's worker thread), a unit of `work`, until `work`
/// has no more (returns false) and `io` is done: the two proceed on two threads.
async fn alongside<F: std::future::Future>(io: F, mut work: impl FnMut() -> bool) -> F::Output {
    use std::task::Poll;
    let mut io = std::pin::pin!(io);
    let mut more = true;
    let out = std::future::poll_fn(|cx| loop {
        if let Poll::Ready(out) = io.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if !more || !work() {
            more = false;
            return Poll::Pending;
        }
    })
    .await;
    while more && work() {}
    out
}

/// The foreign keys of a batch, checked set-based: every person, category, department and
/// original case it names exists (or is a case of the batch itself, numbered from `first_id`).
async fn check_references(
    conn: &mut SqliteConnection,
    cases: &[(Case, Vec<NewEvent>)],
    first_id: CaseId,
) -> Result<()> {
    let mut people = BTreeSet::new();
    let mut categories = BTreeSet::new();
    let mut departments = BTreeSet::new();
    let mut originals = BTreeSet::new();
    let batch = first_id..first_id + cases.len() as CaseId;
    for (c, events) in cases {
        people.extend(c.reporter);
        people.extend(events.iter().filter_map(|e| e.actor));
        categories.extend(c.category);
        departments.extend(c.lead_department.into_iter().chain(c.co_departments.iter().copied()));
        originals.extend(c.duplicate_of.filter(|o| !batch.contains(o)));
    }
    for (table, field, ids) in [
        ("people", "actor", &people),
        ("categories", "category", &categories),
        ("departments", "lead_department", &departments),
        ("cases", "duplicate_of", &originals),
    ] {
        // Chunked well under SQLite's bound-variable limit.
        let ids: Vec<i64> = ids.iter().copied().collect();
        for part in ids.chunks(10_000) {
            let mut b = QueryBuilder::<Sqlite>::new(format!("SELECT count(*) FROM {table} WHERE id IN ("));
            let mut s = b.separated(", ");
            for id in part {
                s.push_bind(*id);
            }
            b.push(")");
            let found: i64 = b.build_query_scalar().fetch_one(&mut *conn).await?;
            if found != part.len() as i64 {
                return Err(StoreError::Invalid(FieldError::new(
                    field,
                    format!("the history names a {} that does not exist", table.trim_end_matches('s')),
                )));
            }
        }
    }
    Ok(())
}

/// Drops the secondary indexes of the case tables; returns the SQL that builds them again.
async fn drop_case_indexes(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    let indexes: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN {CASE_TABLES} \
         ORDER BY name"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\""))).execute(&mut *conn).await?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

async fn create_indexes(conn: &mut SqliteConnection, sql: &[String]) -> Result<()> {
    for s in sql {
        sqlx::query(s).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A pool connection set up for bulk writes: foreign keys off (the batch is checked
/// set-based instead), a large page cache. [`BulkConn::release`] restores both.
struct BulkConn(PoolConnection<Sqlite>);

impl BulkConn {
    async fn take(store: &SqliteStore) -> Result<Self> {
        let mut conn = store.pool.acquire().await?;
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
        sqlx::query(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}")).execute(&mut *conn).await?;
        Ok(Self(conn))
    }

    /// Back to the pool as the pool made it; a connection that cannot be reset is closed.
    async fn release(mut self) {
        let reset = async {
            sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *self.0).await?;
            sqlx::query(&format!("PRAGMA cache_size = {CACHE_SIZE}")).execute(&mut *self.0).await?;
            Ok::<_, sqlx::Error>(())
        };
        if reset.await.is_err() {
            drop(self.0.detach());
        }
    }
}

impl SqliteStore {
    /// [`crate::Store::import_history`]: all or nothing, in one transaction.
    pub(crate) async fn import_histories(&self, cases: &[(Case, Vec<NewEvent>)], utc_offset_hours: i32) -> Result<()> {
        check_versions(cases)?;
        let mut conn = BulkConn::take(self).await?;
        let done = self.import_on(&mut conn.0, cases, utc_offset_hours).await;
        conn.release().await;
        done
    }

    async fn import_on(
        &self,
        conn: &mut SqliteConnection,
        cases: &[(Case, Vec<NewEvent>)],
        utc_offset_hours: i32,
    ) -> Result<()> {
        use sqlx::Connection;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut importer = Importer::new(&mut tx, utc_offset_hours).await?;
        let stored = importer.numbering.next_id - 1;
        let rebuild = cases.len() >= REBUILD_INDEXES_FROM && cases.len() as i64 >= stored;
        let indexes = if rebuild { drop_case_indexes(&mut tx).await? } else { vec![] };
        importer.load(&mut tx, self, cases).await?;
        create_indexes(&mut tx, &indexes).await?;
        importer.numbering.save(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts filling a database that holds no case yet with histories, chunk by chunk (each
    /// chunk its own transaction), with the case tables' secondary indexes dropped until
    /// [`BulkLoad::finish`] builds them again. For building large databases (benchmarks, the
    /// demo): a load that is interrupted leaves a database without those indexes; throw it away.
    pub async fn bulk_load(&self, utc_offset_hours: i32) -> Result<BulkLoad> {
        use sqlx::Connection;
        let mut conn = BulkConn::take(self).await?;
        let prepared = async {
            let mut tx = conn.0.begin_with("BEGIN IMMEDIATE").await?;
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(&mut *tx).await?;
            if stored > 0 {
                return Err(StoreError::Invalid(FieldError::new(
                    "database",
                    format!("holds {stored} cases already; a bulk load fills an empty database"),
                )));
            }
            let indexes = drop_case_indexes(&mut tx).await?;
            let importer = Importer::new(&mut tx, utc_offset_hours).await?;
            tx.commit().await?;
            Ok((indexes, importer))
        }
        .await;
        match prepared {
            Ok((indexes, importer)) => {
                Ok(BulkLoad { store: self.clone(), conn: Some(conn), indexes, importer, cases: 0 })
            }
            Err(e) => {
                conn.release().await;
                Err(e)
            }
        }
    }
}

/// A bulk load in progress (see [`SqliteStore::bulk_load`]).
pub struct BulkLoad {
    store: SqliteStore,
    conn: Option<BulkConn>,
    indexes: Vec<String>,
    importer: Importer,
    cases: u64,
}

impl BulkLoad {
    /// Stores the next chunk of histories (ids and references continue in order).
    pub async fn load(&mut self, cases: &[(Case, Vec<NewEvent>)]) -> Result<()> {
        use sqlx::Connection;
        check_versions(cases)?;
        let conn = &mut self.conn.as_mut().expect("a bulk load is open until finished").0;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        self.importer.load(&mut tx, &self.store, cases).await?;
        self.importer.numbering.save(&mut tx).await?;
        tx.commit().await?;
        self.cases += cases.len() as u64;
        Ok(())
    }

    /// Cases stored so far.
    pub fn cases(&self) -> u64 {
        self.cases
    }

    /// Builds the secondary indexes again; returns the cases stored.
    pub async fn finish(mut self) -> Result<u64> {
        use sqlx::Connection;
        let mut conn = self.conn.take().expect("a bulk load is finished once");
        let built = async {
            let mut tx = conn.0.begin_with("BEGIN IMMEDIATE").await?;
            create_indexes(&mut tx, &self.indexes).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }
        .await;
        conn.release().await;
        built?;
        Ok(self.cases)
    }
}

/// A case history rendered into SQL values ahead of time, for the benchmarks' ceilings:
/// [`SqliteStore::raw_insert`] writes such rows with nothing checked, decided or converted.
pub struct RawCase {
    id: CaseId,
    reference: String,
    values: Vec<Val>,
    events: Vec<RawEvent>,
    departments: Vec<(DepartmentId, bool)>,
}

struct RawEvent {
    action: &'static str,
    at: Millis,
    actor: Option<i64>,
    from: Option<&'static str>,
    to: &'static str,
    data: String,
}

impl SqliteStore {
    /// Renders a case with the id and reference given (benchmarks only).
    pub fn raw_case(&self, id: CaseId, reference: String, case: &Case, events: &[NewEvent]) -> RawCase {
        RawCase {
            id,
            reference,
            values: case_values(case, &self.vault),
            events: events
                .iter()
                .map(|e| RawEvent {
                    action: e.action.as_str(),
                    at: e.at,
                    actor: e.actor,
                    from: e.from.map(|s| s.as_str()),
                    to: e.to.as_str(),
                    data: e.data.to_string(),
                })
                .collect(),
            departments: case
                .lead_department
                .map(|d| (d, true))
                .into_iter()
                .chain(case.co_departments.iter().map(|d| (*d, false)))
                .collect(),
        }
    }

    /// The ceiling of bulk and group writes (benchmarks only): the rows as given, in one
    /// transaction of multi-row `INSERT`s, no counters, no checks; with `rebuild_indexes`, the
    /// case tables' secondary indexes dropped and built again as a bulk import does.
    pub async fn raw_insert(&self, rows: &[RawCase], rebuild_indexes: bool) -> Result<()> {
        use sqlx::Connection;
        let mut conn = if rebuild_indexes { BulkConn::take(self).await? } else { BulkConn(self.pool.acquire().await?) };
        let done = async {
            let mut tx = conn.0.begin_with("BEGIN IMMEDIATE").await?;
            let indexes = if rebuild_indexes { drop_case_indexes(&mut tx).await? } else { vec![] };
            for chunk in rows.chunks(CASE_ROWS) {
                let mut b = QueryBuilder::<Sqlite>::new(format!("INSERT INTO cases ({CASE_COLUMNS}) "));
                b.push_values(chunk, |mut row, c| {
                    row.push_bind(c.id).push_bind(c.reference.as_str());
                    for v in &c.values {
                        match v {
                            Val::B(x) => row.push_bind(*x),
                            Val::N(x) => row.push_bind(*x),
                            Val::I(x) => row.push_bind(*x),
                            Val::F(x) => row.push_bind(*x),
                            Val::T(x) => row.push_bind(x.as_deref()),
                        };
                    }
                });
                b.build().execute(&mut *tx).await?;
                let events: Vec<(CaseId, i64, &RawEvent)> = chunk
                    .iter()
                    .flat_map(|c| c.events.iter().enumerate().map(move |(i, e)| (c.id, i as i64 + 1, e)))
                    .collect();
                for part in events.chunks(EVENT_ROWS) {
                    let mut b = QueryBuilder::<Sqlite>::new(format!("INSERT INTO case_events ({EVENT_COLUMNS}) "));
                    b.push_values(part, |mut row, (case, seq, e)| {
                        row.push_bind(*case)
                            .push_bind(*seq)
                            .push_bind(e.action)
                            .push_bind(e.at)
                            .push_bind(e.actor)
                            .push_bind(e.from)
                            .push_bind(e.to)
                            .push_bind(e.data.as_str());
                    });
                    b.build().execute(&mut *tx).await?;
                }
                let links: Vec<(CaseId, DepartmentId, bool)> =
                    chunk.iter().flat_map(|c| c.departments.iter().map(|(d, lead)| (c.id, *d, *lead))).collect();
                for part in links.chunks(EVENT_ROWS) {
                    let mut b =
                        QueryBuilder::<Sqlite>::new("INSERT INTO case_departments (case_id, department_id, lead) ");
                    b.push_values(part, |mut row, (case, dept, lead)| {
                        row.push_bind(*case).push_bind(*dept).push_bind(*lead);
                    });
                    b.build().execute(&mut *tx).await?;
                }
            }
            create_indexes(&mut tx, &indexes).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if rebuild_indexes {
            conn.release().await;
        }
        done
    }
}

generic! {
    impl SqlStore {
        /// The rows of numbered cases: cases, events, department links, as multi-row `INSERT`s.
        pub(crate) async fn write_rows(&self, conn: &mut D::Connection, stored: &[(Case, &Vec<NewEvent>)]) -> Result<()> {
            let mut b = Sql::new(format!("INSERT INTO cases ({CASE_COLUMNS}) "));
            b.push_values(stored, |mut row, (c, _)| {
                row.push_bind(c.id).push_bind(c.reference.clone());
                Self::push_case(&mut row, c, &self.vault);
            });
            Self::query_of(&b).execute(&mut *conn).await?;
            let events: Vec<(CaseId, i64, &NewEvent)> = stored
                .iter()
                .flat_map(|(c, es)| es.iter().enumerate().map(move |(i, e)| (c.id, i as i64 + 1, e)))
                .collect();
            Self::insert_events(&mut *conn, &events).await?;
            Self::insert_links(&mut *conn, stored.iter().map(|(c, _)| c)).await
        }

        /// [`CaseStore::import_history`](crate::CaseStore) in plain SQL, for PostgreSQL: one
        /// transaction that locks the case tables against other writers (ids are given here),
        /// multi-row statements a chunk at a time, the rollups written every 15,000 cases.
        pub(crate) async fn import_portable(&self, cases: &[(Case, Vec<NewEvent>)], utc_offset_hours: i32) -> Result<()> {
            let offset = chrono::FixedOffset::east_opt(utc_offset_hours * 3600)
                .ok_or_else(|| StoreError::Invalid(FieldError::new("utc_offset_hours", "must lie between -23 and 23")))?;
            let year = |at: Millis| chrono::DateTime::from_timestamp_millis(at).map_or(1970, |t| t.with_timezone(&offset).year());
            let mut tx = self.begin_write().await?;
            // Ids are given here, so no other writer may take one meanwhile (reads go on).
            Self::lock(&mut tx, "cases, case_counters, rollup_counts, rollup_totals, rollup_times, rollup_people", "EXCLUSIVE").await?;
            let mut counters: HashMap<(String, i32), i64> = HashMap::new();
            let mut next_id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM cases").fetch_one(&mut *tx).await?;
            let community = Self::community_teams(&mut tx).await?;
            let mut rollup = Rollup::default();
            for (i, chunk) in cases.chunks(300).enumerate() {
                if i % 50 == 49 {
                    Self::write_rollup(&mut tx, std::mem::take(&mut rollup)).await?;
                }
                let mut stored = Vec::with_capacity(chunk.len());
                for (case, events) in chunk {
                    let y = year(case.reported_at);
                    let key = (case.district.clone(), y);
                    if !counters.contains_key(&key) {
                        let last: Option<i64> =
                            sqlx::query_scalar("SELECT last FROM case_counters WHERE district = $1 AND year = $2")
                                .bind(&key.0)
                                .bind(y)
                                .fetch_optional(&mut *tx)
                                .await?;
                        counters.insert(key.clone(), last.unwrap_or(0));
                    }
                    let n = counters.get_mut(&key).expect("inserted above");
                    *n += 1;
                    let mut c = case.clone();
                    c.id = next_id;
                    c.reference = CaseRef::new(&c.district, y, *n as u32).to_string();
                    next_id += 1;
                    rollup.add(&c, events, &community, 1);
                    stored.push((c, events));
                }
                self.write_rows(&mut tx, &stored).await?;
            }
            Self::write_rollup(&mut tx, rollup).await?;
            for ((district, y), last) in counters {
                sqlx::query(
                    "INSERT INTO case_counters (district, year, last) VALUES ($1, $2, $3) \
                     ON CONFLICT (district, year) DO UPDATE SET last = excluded.last",
                )
                .bind(district)
                .bind(y)
                .bind(last)
                .execute(&mut *tx)
                .await?;
            }
            Self::sync_identity(&mut tx, "cases").await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gridkeeper_domain::{report, Actor, LatLon, NewReport};

    use super::*;
    use crate::{CaseStore, Intake, Store, Vault};

    async fn store() -> SqliteStore {
        let s = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
        s.migrate().await.unwrap();
        s
    }

    fn history(at: Millis, reporter: Option<i64>) -> (Case, Vec<NewEvent>) {
        let r = NewReport::new("330483", Some(LatLon { lat: 30.0, lon: 120.0 }), "broken");
        let actor = match reporter {
            Some(p) => Actor::person(p, vec![]),
            None => Actor::anonymous(),
        };
        let d = report(&actor, r, at).unwrap();
        (d.case, vec![d.event])
    }

    async fn index_sql(s: &SqliteStore) -> Vec<String> {
        sqlx::query_scalar(&format!(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN {CASE_TABLES} \
             ORDER BY name"
        ))
        .fetch_all(&s.pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_bulk_load_numbers_in_order_and_builds_the_indexes_again() {
        // A file: the load holds a connection while the test looks with another.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("bulk.db").display());
        let s = SqliteStore::open(&url, Arc::new(Vault::ephemeral())).await.unwrap();
        s.migrate().await.unwrap();
        let before = index_sql(&s).await;
        assert!(before.len() > 10);
        let mut load = s.bulk_load(8).await.unwrap();
        assert!(index_sql(&s).await.is_empty(), "indexes are dropped while loading");
        load.load(&[history(1, None), history(2, None)]).await.unwrap();
        load.load(&[history(3, None)]).await.unwrap();
        assert_eq!(load.finish().await.unwrap(), 3);
        assert_eq!(index_sql(&s).await, before);
        assert_eq!(s.case(3).await.unwrap().unwrap().reference, "330483-1970-000003");
        // The counters were saved: a new report continues the numbering, and foreign keys are on again.
        let next = history(5, None);
        let decision = gridkeeper_domain::Decision { case: next.0, event: next.1[0].clone() };
        let c =
            s.insert_case(Intake { decision: &decision, year: 1970, tracking_hash: None, media: &[] }).await.unwrap();
        assert_eq!(c.reference, "330483-1970-000004");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&s.pool).await.unwrap();
        assert_eq!(fk, 1);
        // The rollups kept along the load are those computed afresh from the events.
        let rollups = || async {
            let counts: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT node, day, reports FROM rollup_counts ORDER BY node, department, day, leaf, category",
            )
            .fetch_all(&s.pool)
            .await
            .unwrap();
            counts
        };
        let kept = rollups().await;
        assert!(kept.iter().any(|(node, _, n)| node == "330483" && *n == 4), "{kept:?}");
        crate::MeasureStore::rebuild_rollups(&s).await.unwrap();
        assert_eq!(rollups().await, kept);
        // A second bulk load is refused: the database is not empty.
        assert!(matches!(s.bulk_load(8).await, Err(StoreError::Invalid(_))));
    }

    #[tokio::test]
    async fn an_import_naming_an_unknown_person_is_refused_whole() {
        let s = store().await;
        let err = s.import_history(&[history(1, None), history(2, Some(42))], 8).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(f) if f.field == "actor"), "{err:?}");
        assert_eq!(s.count_cases().await.unwrap(), 0);
    }
}
