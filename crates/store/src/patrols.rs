//! Patrols of grid members: one running patrol per person, its positions (one per instant: a
//! batch sent twice is stored once; far and implausible ones kept with their flags), its summary
//! (length, counts, last position) recomputed with every batch, the end by the member or by the
//! server after the longest a patrol may run, the positions purged after their retention (the
//! summary stays), what the patroller did meanwhile (places visited, cases reported), the month's
//! hours and visits per person, and the quotas set per region.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gridkeeper_domain::patrols::{track_length_m, Fix, PatrolRules, Position, Quota};
use gridkeeper_domain::{FieldError, LatLon, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, parse_field, unsigned, Result, StoreError};

/// Who ended a patrol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// The patroller.
    Member,
    /// The server, after the longest a patrol may run.
    Server,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Member => "member",
            EndedBy::Server => "server",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "member" => Ok(EndedBy::Member),
            "server" => Ok(EndedBy::Server),
            other => Err(corrupt(format!("a patrol ended by `{other}`"))),
        }
    }
}

/// A patrol's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Patrol {
    pub id: i64,
    pub person: PersonId,
    pub person_name: String,
    pub grid: RegionCode,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub ended_by: Option<EndedBy>,
    pub distance_m: f64,
    pub positions: i64,
    pub far: i64,
    pub implausible: i64,
    /// The newest position's instant and point.
    pub last: Option<(Millis, LatLon)>,
    /// When its positions were deleted after their retention.
    pub purged_at: Option<Millis>,
}

impl Patrol {
    /// Milliseconds on patrol: to its end, or to `now` while it runs.
    pub fn duration(&self, now: Millis) -> Millis {
        (self.ended_at.unwrap_or(now) - self.started_at).max(0)
    }
}

/// Which patrols to list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatrolQuery {
    pub person: Option<PersonId>,
    /// Patrols in grids of this region's subtree.
    pub under: Option<RegionCode>,
    /// Started at or after.
    pub from: Option<Millis>,
    /// Started before.
    pub to: Option<Millis>,
    pub running: Option<bool>,
    pub offset: u32,
    pub limit: u32,
}

/// What a batch of positions did.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// New positions stored.
    pub added: u32,
    /// Positions already stored (the same instant sent again).
    pub duplicates: u32,
    pub patrol: Patrol,
}

/// A place the patroller visited during the patrol.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolVisit {
    pub place: i64,
    pub name: String,
    pub at: Millis,
}

/// A case the patroller reported during the patrol.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolCase {
    pub id: i64,
    pub reference: String,
    pub at: Millis,
    pub state: String,
}

/// What a person did in a period: hours on patrol (patrols that started in it; a running one
/// counts to `now`), patrols, metres and places visited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatrolTally {
    pub patrol_ms: Millis,
    pub patrols: i64,
    pub distance_m: f64,
    pub visits: u32,
}

/// A patrol written whole (the demo's history).
#[derive(Debug, Clone, PartialEq)]
pub struct PastPatrol {
    pub person: PersonId,
    pub grid: RegionCode,
    pub started_at: Millis,
    /// `None`: running now.
    pub ended_at: Option<Millis>,
    /// Stored with their flags (empty: purged, only the summary kept).
    pub positions: Vec<Position>,
    /// The summary of a patrol whose positions are gone: metres, positions, far ones.
    pub summary: Option<(f64, i64, i64)>,
    /// Places the patroller visited meanwhile (place id, when), written as marking them visited
    /// would.
    pub visits: Vec<(i64, Millis)>,
}

#[async_trait]
pub trait PatrolStore: Send + Sync {
    /// Starts a patrol; `Conflicts` naming `patrol` while the person has one running.
    async fn start_patrol(&self, person: PersonId, grid: &RegionCode, now: Millis) -> Result<Patrol>;
    async fn patrol(&self, id: i64) -> Result<Option<Patrol>>;
    async fn patrols(&self, q: &PatrolQuery) -> Result<Vec<Patrol>>;
    /// The stored position of a patrol at or before `at` (what a new batch is judged against).
    async fn position_before(&self, patrol: i64, at: Millis) -> Result<Option<Fix>>;
    /// Stores judged positions (those of an instant stored already are left as they are) and
    /// recomputes the summary; `Conflicts` naming `patrol` once it ended, `Missing` when there
    /// is no such patrol.
    async fn add_positions(&self, patrol: i64, positions: &[Position], rules: &PatrolRules) -> Result<Added>;
    /// A patrol's positions in time order (empty once purged).
    async fn patrol_positions(&self, patrol: i64) -> Result<Vec<Position>>;
    /// Ends a running patrol at `at`; `Conflicts` naming `patrol` when it ended already.
    async fn end_patrol(&self, patrol: i64, at: Millis, by: EndedBy) -> Result<Patrol>;
    /// Ends the patrols that started before `started_before` and still run, each at its last
    /// position (or its start); returns how many.
    async fn end_stale_patrols(&self, started_before: Millis) -> Result<u64>;
    /// Deletes the positions of patrols that ended before `ended_before` (their summaries stay);
    /// returns how many positions went.
    async fn purge_patrol_positions(&self, ended_before: Millis, now: Millis) -> Result<u64>;
    /// Places visited and cases reported by `person` between `from` and `to`.
    async fn patrol_links(
        &self,
        person: PersonId,
        from: Millis,
        to: Millis,
    ) -> Result<(Vec<PatrolVisit>, Vec<PatrolCase>)>;
    /// What each of `people` did between `from` and `to` (patrols that started then; a running
    /// one counts to `now`).
    async fn patrol_tallies(
        &self,
        people: &[PersonId],
        from: Millis,
        to: Millis,
        now: Millis,
    ) -> Result<BTreeMap<PersonId, PatrolTally>>;
    /// Sets the monthly quota of the grid members of a region.
    async fn set_patrol_quota(&self, region: &RegionCode, quota: Quota, by: PersonId, now: Millis) -> Result<()>;
    /// The quotas set, by region.
    async fn patrol_quotas(&self) -> Result<BTreeMap<RegionCode, Quota>>;
    /// Writes finished (or running) patrols whole: the demo's history.
    async fn import_patrols(&self, patrols: &[PastPatrol], rules: &PatrolRules) -> Result<()>;
}

const COLUMNS: &str = "t.id, t.person_id, p.name AS person_name, t.grid, t.started_at, t.ended_at, t.ended_by, \
    t.distance_m, t.positions, t.far, t.implausible, t.last_at, t.last_lat, t.last_lon, t.purged_at";

fn conflict(reason: &str) -> StoreError {
    StoreError::Conflicts(FieldError::new("patrol", reason))
}

generic! {
    impl SqlStore {
        fn patrol_row(&self, r: &D::Row) -> Result<Patrol> {
            let last_at: Option<Millis> = r.try_get("last_at")?;
            let (lat, lon): (Option<f64>, Option<f64>) = (r.try_get("last_lat")?, r.try_get("last_lon")?);
            let ended_by: Option<String> = r.try_get("ended_by")?;
            Ok(Patrol {
                id: r.try_get("id")?,
                person: r.try_get("person_id")?,
                person_name: self.vault.open("people.name", r.try_get("person_name")?).map_err(corrupt)?,
                grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
                ended_by: ended_by.as_deref().map(EndedBy::parse).transpose()?,
                distance_m: r.try_get("distance_m")?,
                positions: r.try_get("positions")?,
                far: r.try_get("far")?,
                implausible: r.try_get("implausible")?,
                last: match (last_at, lat, lon) {
                    (Some(at), Some(lat), Some(lon)) => Some((at, LatLon { lat, lon })),
                    _ => None,
                },
                purged_at: r.try_get("purged_at")?,
            })
        }

        fn position_row(r: &D::Row) -> Result<Position> {
            Ok(Position {
                fix: Fix {
                    at: r.try_get("at")?,
                    point: LatLon { lat: r.try_get("lat")?, lon: r.try_get("lon")? },
                    accuracy_m: r.try_get("accuracy_m")?,
                },
                outside_m: r.try_get("outside_m")?,
                far: r.try_get("far")?,
                implausible: r.try_get("implausible")?,
            })
        }

        /// Inserts positions (an instant stored already is skipped); returns how many were new.
        async fn insert_positions(conn: &mut D::Connection, patrol: i64, positions: &[Position]) -> Result<u64> {
            let mut added = 0;
            for chunk in positions.chunks(500) {
                let mut b = Sql::new(
                    "INSERT INTO patrol_positions (patrol_id, at, lat, lon, accuracy_m, outside_m, far, implausible) ",
                );
                b.push_values(chunk, |mut s, p| {
                    s.push_bind(patrol)
                        .push_bind(p.fix.at)
                        .push_bind(p.fix.point.lat)
                        .push_bind(p.fix.point.lon)
                        .push_bind(p.fix.accuracy_m)
                        .push_bind(p.outside_m)
                        .push_bind(p.far)
                        .push_bind(p.implausible);
                });
                b.push(" ON CONFLICT (patrol_id, at) DO NOTHING");
                added += D::rows_affected(&Self::query_of(&b).execute(&mut *conn).await?);
            }
            Ok(added)
        }

        /// Recomputes a patrol's summary from its positions.
        async fn summarise(conn: &mut D::Connection, patrol: i64, rules: &PatrolRules) -> Result<()> {
            let positions = sqlx::query(
                "SELECT at, lat, lon, accuracy_m, outside_m, far, implausible FROM patrol_positions WHERE patrol_id = $1 ORDER BY at",
            )
            .bind(patrol)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(Self::position_row)
            .collect::<Result<Vec<_>>>()?;
            let last = positions.last();
            sqlx::query(
                "UPDATE patrols SET distance_m = $2, positions = $3, far = $4, implausible = $5, last_at = $6, last_lat = $7, last_lon = $8 WHERE id = $1",
            )
            .bind(patrol)
            .bind(track_length_m(rules, &positions))
            .bind(positions.len() as i64)
            .bind(positions.iter().filter(|p| p.far).count() as i64)
            .bind(positions.iter().filter(|p| p.implausible).count() as i64)
            .bind(last.map(|p| p.fix.at))
            .bind(last.map(|p| p.fix.point.lat))
            .bind(last.map(|p| p.fix.point.lon))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl PatrolStore for SqlStore {
        async fn start_patrol(&self, person: PersonId, grid: &RegionCode, now: Millis) -> Result<Patrol> {
            let mut tx = self.begin_write().await?;
            let running: Option<i64> =
                sqlx::query_scalar("SELECT id FROM patrols WHERE person_id = $1 AND ended_at IS NULL")
                    .bind(person)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = running {
                return Err(conflict(&format!("patrol {id} is running; end it before starting another")));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO patrols (person_id, grid, started_at, distance_m, positions, far, implausible) \
                 VALUES ($1, $2, $3, 0, 0, 0, 0) RETURNING id",
            )
            .bind(person)
            .bind(grid.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match e.as_database_error().map(|d| d.is_unique_violation()) {
                // Another start of the same person committed first.
                Some(true) => conflict("a patrol is running; end it before starting another"),
                _ => e.into(),
            })?;
            tx.commit().await?;
            self.patrol(id).await?.ok_or_else(|| corrupt("a new patrol vanished"))
        }

        async fn patrol(&self, id: i64) -> Result<Option<Patrol>> {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM patrols t JOIN people p ON p.id = t.person_id WHERE t.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| self.patrol_row(&r)).transpose()
        }

        async fn patrols(&self, q: &PatrolQuery) -> Result<Vec<Patrol>> {
            let mut b = Sql::new(format!("SELECT {COLUMNS} FROM patrols t JOIN people p ON p.id = t.person_id WHERE TRUE"));
            if let Some(person) = q.person {
                b.push(" AND t.person_id = ").push_bind(person);
            }
            if let Some(under) = &q.under {
                b.push(" AND t.grid >= ").push_bind(under.as_str());
                b.push(" AND t.grid < ").push_bind(format!("{}:", under.as_str()));
            }
            if let Some(from) = q.from {
                b.push(" AND t.started_at >= ").push_bind(from);
            }
            if let Some(to) = q.to {
                b.push(" AND t.started_at < ").push_bind(to);
            }
            match q.running {
                Some(true) => b.push(" AND t.ended_at IS NULL"),
                Some(false) => b.push(" AND t.ended_at IS NOT NULL"),
                None => &mut b,
            };
            b.push(" ORDER BY t.started_at DESC, t.id DESC LIMIT ").push_bind(i64::from(q.limit));
            b.push(" OFFSET ").push_bind(i64::from(q.offset));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.patrol_row(r)).collect()
        }

        async fn position_before(&self, patrol: i64, at: Millis) -> Result<Option<Fix>> {
            let row = sqlx::query(
                "SELECT at, lat, lon, accuracy_m, outside_m, far, implausible FROM patrol_positions \
                 WHERE patrol_id = $1 AND at <= $2 AND NOT implausible ORDER BY at DESC LIMIT 1",
            )
            .bind(patrol)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| Self::position_row(&r).map(|p| p.fix)).transpose()
        }

        async fn add_positions(&self, patrol: i64, positions: &[Position], rules: &PatrolRules) -> Result<Added> {
            let mut tx = self.begin_write().await?;
            let ended: Option<Option<Millis>> =
                sqlx::query_scalar(&format!("SELECT ended_at FROM patrols WHERE id = $1{}", D::FOR_UPDATE))
                    .bind(patrol)
                    .fetch_optional(&mut *tx)
                    .await?;
            match ended {
                None => return Err(StoreError::Missing(FieldError::new("patrol", "no such patrol"))),
                Some(Some(_)) => return Err(conflict("the patrol has ended; positions after its end are not taken")),
                Some(None) => {}
            }
            let added = Self::insert_positions(&mut tx, patrol, positions).await?;
            if added > 0 {
                Self::summarise(&mut tx, patrol, rules).await?;
            }
            tx.commit().await?;
            let added = unsigned(added as i64)?;
            let patrol = self.patrol(patrol).await?.ok_or_else(|| corrupt("a patrol vanished"))?;
            Ok(Added { added, duplicates: positions.len() as u32 - added, patrol })
        }

        async fn patrol_positions(&self, patrol: i64) -> Result<Vec<Position>> {
            sqlx::query(
                "SELECT at, lat, lon, accuracy_m, outside_m, far, implausible FROM patrol_positions WHERE patrol_id = $1 ORDER BY at",
            )
            .bind(patrol)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::position_row)
            .collect()
        }

        async fn end_patrol(&self, patrol: i64, at: Millis, by: EndedBy) -> Result<Patrol> {
            let done = sqlx::query(
                "UPDATE patrols SET ended_at = CASE WHEN $2 < started_at THEN started_at ELSE $2 END, ended_by = $3 \
                 WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(patrol)
            .bind(at)
            .bind(by.as_str())
            .execute(&self.pool)
            .await?;
            let p = self.patrol(patrol).await?.ok_or_else(|| StoreError::Missing(FieldError::new("patrol", "no such patrol")))?;
            if D::rows_affected(&done) == 0 {
                return Err(conflict("the patrol has ended already"));
            }
            Ok(p)
        }

        async fn end_stale_patrols(&self, started_before: Millis) -> Result<u64> {
            let done = sqlx::query(
                "UPDATE patrols SET ended_at = COALESCE(last_at, started_at), ended_by = 'server' \
                 WHERE ended_at IS NULL AND started_at < $1",
            )
            .bind(started_before)
            .execute(&self.pool)
            .await?;
            Ok(D::rows_affected(&done))
        }

        async fn purge_patrol_positions(&self, ended_before: Millis, now: Millis) -> Result<u64> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query(
                "DELETE FROM patrol_positions WHERE patrol_id IN \
                 (SELECT id FROM patrols WHERE ended_at < $1 AND purged_at IS NULL)",
            )
            .bind(ended_before)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE patrols SET purged_at = $2 WHERE ended_at < $1 AND purged_at IS NULL")
                .bind(ended_before)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(D::rows_affected(&done))
        }

        async fn patrol_links(
            &self,
            person: PersonId,
            from: Millis,
            to: Millis,
        ) -> Result<(Vec<PatrolVisit>, Vec<PatrolCase>)> {
            let visits = sqlx::query(
                "SELECT v.place_id, p.name, v.at FROM place_visits v JOIN places p ON p.id = v.place_id \
                 WHERE v.by_person = $1 AND v.at >= $2 AND v.at <= $3 ORDER BY v.at, v.id LIMIT 500",
            )
            .bind(person)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(PatrolVisit { place: r.try_get("place_id")?, name: r.try_get("name")?, at: r.try_get("at")? }))
            .collect::<Result<Vec<_>>>()?;
            let cases = sqlx::query(
                "SELECT id, reference, reported_at, state FROM cases \
                 WHERE reporter = $1 AND reported_at >= $2 AND reported_at <= $3 ORDER BY reported_at, id LIMIT 500",
            )
            .bind(person)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(PatrolCase {
                    id: r.try_get("id")?,
                    reference: r.try_get("reference")?,
                    at: r.try_get("reported_at")?,
                    state: r.try_get("state")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
            Ok((visits, cases))
        }

        async fn patrol_tallies(
            &self,
            people: &[PersonId],
            from: Millis,
            to: Millis,
            now: Millis,
        ) -> Result<BTreeMap<PersonId, PatrolTally>> {
            let mut out: BTreeMap<PersonId, PatrolTally> =
                people.iter().map(|p| (*p, PatrolTally::default())).collect();
            for chunk in people.chunks(500) {
                let mut b = Sql::new(
                    "SELECT person_id, count(*) AS patrols, \
                     CAST(COALESCE(sum(COALESCE(ended_at, ",
                );
                b.push_bind(now).push(") - started_at), 0) AS BIGINT) AS ms, COALESCE(sum(distance_m), 0.0) AS metres FROM patrols WHERE started_at >= ");
                b.push_bind(from).push(" AND started_at < ").push_bind(to).push(" AND person_id IN ");
                b.push_in(chunk.iter().copied());
                b.push(" GROUP BY person_id");
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let t = out.entry(r.try_get("person_id")?).or_default();
                    t.patrols = r.try_get("patrols")?;
                    t.patrol_ms = r.try_get("ms")?;
                    t.distance_m = r.try_get("metres")?;
                }
                let mut b = Sql::new("SELECT by_person, count(*) AS visits FROM place_visits WHERE at >= ");
                b.push_bind(from).push(" AND at < ").push_bind(to).push(" AND by_person IN ");
                b.push_in(chunk.iter().copied());
                b.push(" GROUP BY by_person");
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    let visits: i64 = r.try_get("visits")?;
                    out.entry(r.try_get("by_person")?).or_default().visits = unsigned(visits)?;
                }
            }
            Ok(out)
        }

        async fn set_patrol_quota(&self, region: &RegionCode, quota: Quota, by: PersonId, now: Millis) -> Result<()> {
            sqlx::query(
                "INSERT INTO patrol_quotas (region, hours, visits, set_by, set_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (region) DO UPDATE SET hours = excluded.hours, visits = excluded.visits, \
                 set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(region.as_str())
            .bind(i64::from(quota.hours))
            .bind(i64::from(quota.visits))
            .bind(by)
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn patrol_quotas(&self) -> Result<BTreeMap<RegionCode, Quota>> {
            sqlx::query("SELECT region, hours, visits FROM patrol_quotas")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        parse_field(RegionCode::parse(r.try_get("region")?))?,
                        Quota { hours: unsigned(r.try_get("hours")?)?, visits: unsigned(r.try_get("visits")?)? },
                    ))
                })
                .collect()
        }

        async fn import_patrols(&self, patrols: &[PastPatrol], rules: &PatrolRules) -> Result<()> {
            let mut tx = self.begin_write().await?;
            for p in patrols {
                // The summary: given for a patrol whose positions are gone, else from its positions.
                let mut sorted = p.positions.clone();
                sorted.sort_by_key(|x| x.fix.at);
                let (distance, count, far) = p.summary.unwrap_or_else(|| {
                    (
                        track_length_m(rules, &sorted),
                        sorted.len() as i64,
                        sorted.iter().filter(|x| x.far).count() as i64,
                    )
                });
                let implausible = sorted.iter().filter(|x| x.implausible).count() as i64;
                let last = sorted.last().map(|x| (x.fix.at, x.fix.point));
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO patrols (person_id, grid, started_at, ended_at, ended_by, distance_m, positions, far, implausible, \
                     last_at, last_lat, last_lon, purged_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(p.person)
                .bind(p.grid.as_str())
                .bind(p.started_at)
                .bind(p.ended_at)
                .bind(p.ended_at.map(|_| EndedBy::Member.as_str()))
                .bind(distance)
                .bind(count)
                .bind(far)
                .bind(implausible)
                .bind(last.map(|l| l.0))
                .bind(last.map(|l| l.1.lat))
                .bind(last.map(|l| l.1.lon))
                .bind(p.summary.and(p.ended_at))
                .fetch_one(&mut *tx)
                .await?;
                Self::insert_positions(&mut tx, id, &sorted).await?;
                for (place, at) in &p.visits {
                    sqlx::query("INSERT INTO place_visits (place_id, at, by_person) VALUES ($1, $2, $3)")
                        .bind(place)
                        .bind(at)
                        .bind(p.person)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE places SET last_visited_by = $3, last_visited_at = $2 \
                         WHERE id = $1 AND (last_visited_at IS NULL OR last_visited_at <= $2)",
                    )
                    .bind(place)
                    .bind(at)
                    .bind(p.person)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::patrols::judge;
    use gridkeeper_domain::HOUR;

    use super::*;
    use crate::prelude::*;
    use crate::registry::fixtures::{code, place, town, GRID, OTHER};
    use crate::testing::on_both;

    fn fix(at: Millis, lat: f64) -> Fix {
        Fix { at, point: LatLon { lat, lon: 120.005 }, accuracy_m: 5.0 }
    }

    fn judged(fixes: Vec<Fix>) -> Vec<Position> {
        judge(&PatrolRules::default(), &vec![], None, fixes)
    }

    fn conflicts<T: std::fmt::Debug>(r: Result<T>) -> FieldError {
        match r {
            Err(StoreError::Conflicts(f)) => f,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    on_both! {
        async fn a_patrol_runs_takes_positions_once_and_ends(s) {
            let (member, other) = town(&s).await;
            let rules = PatrolRules::default();
            let p = s.start_patrol(member, &code(GRID), 1_000).await.unwrap();
            assert_eq!((p.ended_at, p.positions, p.distance_m, p.person_name.as_str()), (None, 0, 0.0, "member"));
            // One running patrol per person.
            assert_eq!(conflicts(s.start_patrol(member, &code(OTHER), 2_000).await).field, "patrol");
            let q = s.start_patrol(other, &code(OTHER), 2_000).await.unwrap();
            // A batch, then the same batch again: stored once.
            let batch = judged(vec![fix(60_000, 30.001), fix(120_000, 30.002), fix(180_000, 30.003)]);
            let a = s.add_positions(p.id, &batch, &rules).await.unwrap();
            assert_eq!((a.added, a.duplicates, a.patrol.positions), (3, 0, 3));
            assert!((a.patrol.distance_m - 222.4).abs() < 1.0, "{}", a.patrol.distance_m);
            let again = s.add_positions(p.id, &batch, &rules).await.unwrap();
            assert_eq!((again.added, again.duplicates, again.patrol.positions), (0, 3, 3));
            assert_eq!(again.patrol.distance_m, a.patrol.distance_m);
            assert_eq!(again.patrol.last, Some((180_000, LatLon { lat: 30.003, lon: 120.005 })));
            // A late batch of earlier positions takes its place in time order.
            let late = judged(vec![fix(30_000, 30.0005)]);
            assert_eq!(s.add_positions(p.id, &late, &rules).await.unwrap().patrol.positions, 4);
            assert_eq!(s.position_before(p.id, 100_000).await.unwrap().unwrap().at, 60_000);
            assert_eq!(s.patrol_positions(p.id).await.unwrap().iter().map(|p| p.fix.at).collect::<Vec<_>>(), [30_000, 60_000, 120_000, 180_000]);
            // Ended: no more positions, no second end.
            let ended = s.end_patrol(p.id, 200_000, EndedBy::Member).await.unwrap();
            assert_eq!((ended.ended_at, ended.ended_by), (Some(200_000), Some(EndedBy::Member)));
            assert_eq!(conflicts(s.add_positions(p.id, &judged(vec![fix(250_000, 30.004)]), &rules).await).field, "patrol");
            assert_eq!(conflicts(s.end_patrol(p.id, 300_000, EndedBy::Member).await).field, "patrol");
            assert!(matches!(s.add_positions(999, &batch, &rules).await, Err(StoreError::Missing(_))));
            // Now the member may start another.
            let next = s.start_patrol(member, &code(GRID), 400_000).await.unwrap();
            // Lists: by person, by region, running or not.
            let list = |q: PatrolQuery| {
                let s = &s;
                async move { s.patrols(&PatrolQuery { limit: 10, ..q }).await.unwrap().iter().map(|p| p.id).collect::<Vec<_>>() }
            };
            assert_eq!(list(PatrolQuery { person: Some(member), ..Default::default() }).await, [next.id, p.id]);
            assert_eq!(list(PatrolQuery { under: Some(code("330483101001")), ..Default::default() }).await, [next.id, p.id]);
            assert_eq!(list(PatrolQuery { under: Some(code("330483101")), running: Some(true), ..Default::default() }).await, [next.id, q.id]);
            assert_eq!(list(PatrolQuery { from: Some(1_000), to: Some(2_000), ..Default::default() }).await, [p.id]);
        }

        async fn the_server_ends_stale_patrols_and_purges_old_positions(s) {
            let (member, other) = town(&s).await;
            let rules = PatrolRules::default();
            let p = s.start_patrol(member, &code(GRID), 0).await.unwrap();
            s.add_positions(p.id, &judged(vec![fix(HOUR, 30.001), fix(2 * HOUR, 30.002)]), &rules).await.unwrap();
            let q = s.start_patrol(other, &code(OTHER), 10 * HOUR).await.unwrap();
            assert_eq!(s.end_stale_patrols(0).await.unwrap(), 0);
            assert_eq!(s.end_stale_patrols(5 * HOUR).await.unwrap(), 1);
            let p = s.patrol(p.id).await.unwrap().unwrap();
            assert_eq!((p.ended_at, p.ended_by), (Some(2 * HOUR), Some(EndedBy::Server)), "ended at its last position");
            assert_eq!(s.patrol(q.id).await.unwrap().unwrap().ended_at, None);
            // Purge: the positions go, the summary stays.
            assert_eq!(s.purge_patrol_positions(2 * HOUR, 50 * HOUR).await.unwrap(), 0, "ended exactly then: kept");
            assert_eq!(s.purge_patrol_positions(3 * HOUR, 50 * HOUR).await.unwrap(), 2);
            let purged = s.patrol(p.id).await.unwrap().unwrap();
            assert_eq!((purged.positions, purged.purged_at), (2, Some(50 * HOUR)));
            assert!(purged.distance_m > 100.0);
            assert!(s.patrol_positions(p.id).await.unwrap().is_empty());
            assert_eq!(s.purge_patrol_positions(3 * HOUR, 51 * HOUR).await.unwrap(), 0);
            assert_eq!(s.patrol(p.id).await.unwrap().unwrap().purged_at, Some(50 * HOUR), "purged once");
        }

        async fn tallies_links_and_quotas(s) {
            let (member, other) = town(&s).await;
            let p = s.start_patrol(member, &code(GRID), 0).await.unwrap();
            s.end_patrol(p.id, 2 * HOUR, EndedBy::Member).await.unwrap();
            s.start_patrol(member, &code(GRID), 10 * HOUR).await.unwrap();
            let place = s
                .create_place(&place("shop", "乌镇小卖部", GRID), None, 1)
                .await
                .unwrap();
            s.mark_place_visited(place.id, member, HOUR).await.unwrap();
            s.mark_place_visited(place.id, member, 5 * HOUR).await.unwrap();
            let (visits, cases) = s.patrol_links(member, 0, 2 * HOUR).await.unwrap();
            assert_eq!((visits.len(), visits[0].name.as_str(), visits[0].at, cases.len()), (1, "乌镇小卖部", HOUR, 0));
            let t = s.patrol_tallies(&[member, other], 0, 24 * HOUR, 11 * HOUR).await.unwrap();
            assert_eq!((t[&member].patrols, t[&member].patrol_ms, t[&member].visits), (2, 3 * HOUR, 2));
            assert_eq!(t[&other], PatrolTally::default());
            let t = s.patrol_tallies(&[member], 5 * HOUR, 24 * HOUR, 11 * HOUR).await.unwrap();
            assert_eq!((t[&member].patrols, t[&member].patrol_ms, t[&member].visits), (1, HOUR, 1));
            assert!(s.patrol_quotas().await.unwrap().is_empty());
            s.set_patrol_quota(&code("330483101001"), Quota { hours: 30, visits: 20 }, member, 1).await.unwrap();
            s.set_patrol_quota(&code("330483101001"), Quota { hours: 32, visits: 20 }, member, 2).await.unwrap();
            assert_eq!(s.patrol_quotas().await.unwrap()[&code("330483101001")], Quota { hours: 32, visits: 20 });
        }

        async fn the_demo_writes_patrols_whole(s) {
            let (member, _) = town(&s).await;
            let rules = PatrolRules::default();
            let old = PastPatrol {
                person: member,
                grid: code(GRID),
                started_at: 0,
                ended_at: Some(HOUR),
                positions: vec![],
                summary: Some((1234.0, 60, 1)),
                visits: vec![],
            };
            let recent = PastPatrol {
                started_at: 10 * HOUR,
                ended_at: Some(11 * HOUR),
                positions: judged(vec![fix(10 * HOUR, 30.001), fix(10 * HOUR + 60_000, 30.002)]),
                summary: None,
                ..old.clone()
            };
            let running = PastPatrol { started_at: 20 * HOUR, ended_at: None, summary: None, ..recent.clone() };
            s.import_patrols(&[old, recent, running], &rules).await.unwrap();
            let all = s.patrols(&PatrolQuery { person: Some(member), limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(all.iter().map(|p| (p.positions, p.purged_at.is_some(), p.ended_at.is_none())).collect::<Vec<_>>(), [(2, false, true), (2, false, false), (60, true, false)]);
            assert_eq!(all[2].distance_m, 1234.0);
            assert_eq!(conflicts(s.start_patrol(member, &code(GRID), 30 * HOUR).await).field, "patrol");
        }
    }
}
