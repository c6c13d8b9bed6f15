//! The five teams (五支队伍): teams of a grid or community, their members with their duties and
//! periods, and the volunteers' service hours — logged by the member, confirmed (points through
//! the ledger by the rules of `points.rs`, in the same transaction) or refused by the team's leader
//! or a grid leader. Members' names and phones stay sealed in `people`.

use async_trait::async_trait;
use chrono::NaiveDate;
use gridkeeper_domain::points::{Award, Points};
use gridkeeper_domain::teams::{
    check_hours, duties_text, parse_duties, Duty, LoggedHours, MemberSpan, ServiceState, TeamKind, TeamRole,
};
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use serde_json::json;
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, parse_field, NewAudit, Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct NewTeam {
    pub kind: TeamKind,
    /// A grid or a community.
    pub region: RegionCode,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: i64,
    pub kind: TeamKind,
    pub region: RegionCode,
    pub name: String,
    pub created_at: Millis,
    /// Current members, the leader first, then by when they joined.
    pub members: Vec<Member>,
    /// Service logs awaiting confirmation.
    pub pending: i64,
}

impl Team {
    pub fn leader(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.leader)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub person_id: PersonId,
    pub login: String,
    /// In clear (the server decides what to show).
    pub name: String,
    pub phone: Option<String>,
    pub duties: Vec<Duty>,
    pub leader: bool,
    pub joined: NaiveDate,
    pub left: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMember {
    pub person: PersonId,
    pub duties: Vec<Duty>,
    pub leader: bool,
    pub joined: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceLog {
    pub team: i64,
    pub person: PersonId,
    pub date: NaiveDate,
    pub hours: i64,
    pub what: String,
    /// Where: the team's region or a region in it.
    pub region: RegionCode,
    pub place: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLog {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub team_region: RegionCode,
    pub person_id: PersonId,
    pub person_name: String,
    pub date: NaiveDate,
    pub hours: i64,
    pub what: String,
    pub region: RegionCode,
    pub place_id: Option<i64>,
    pub state: ServiceState,
    pub logged_at: Millis,
    pub decided_by: Option<PersonId>,
    pub decided_at: Option<Millis>,
    pub reason: Option<String>,
    /// What the confirmation earned (0 when the day's cap left nothing).
    pub points: Option<Points>,
}

/// Which service logs to list, newest day first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceQuery {
    pub teams: Option<Vec<i64>>,
    pub person: Option<PersonId>,
    pub state: Option<ServiceState>,
    pub limit: u32,
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    async fn create_team(&self, t: &NewTeam, by: PersonId, audit: &NewAudit) -> Result<Team>;
    async fn team(&self, id: i64) -> Result<Option<Team>>;
    /// The teams of the subtree of `under`, by region, kind and id.
    async fn teams(&self, under: &RegionCode) -> Result<Vec<Team>>;
    /// Adds a member (the leader taking over from the current one when `leader`), with its audit
    /// entry. [`StoreError::Conflicts`] (`person`) when they are a member already,
    /// [`StoreError::Missing`] (`person`) when there is no such person.
    async fn add_member(&self, team: i64, m: &NewMember, by: PersonId, audit: &NewAudit) -> Result<Member>;
    /// Sets a current member's duties and whether they lead. `None`: no such current member.
    async fn update_member(
        &self,
        team: i64,
        person: PersonId,
        duties: &[Duty],
        leader: bool,
        audit: &NewAudit,
    ) -> Result<Option<Member>>;
    /// Ends a current membership on `left`. `false`: no such current member.
    async fn remove_member(&self, team: i64, person: PersonId, left: NaiveDate, audit: &NewAudit) -> Result<bool>;
    /// A person's current seats in teams (what [`gridkeeper_domain::Actor::teams`] holds).
    async fn team_roles(&self, person: PersonId) -> Result<Vec<TeamRole>>;
    /// Logs service hours: refused as `hours` when the person's day would pass 24 hours.
    async fn log_service(&self, l: &NewServiceLog, now: Millis) -> Result<ServiceLog>;
    async fn service_log(&self, id: i64) -> Result<Option<ServiceLog>>;
    async fn service_logs(&self, q: &ServiceQuery) -> Result<Vec<ServiceLog>>;
    /// Confirms a pending log (its points by the rules, the ledger's entry and audit entry in the
    /// same transaction) or refuses it with a reason. [`StoreError::Conflicts`] (`state`) when it
    /// is not pending any more.
    async fn decide_service(
        &self,
        id: i64,
        confirm: bool,
        reason: Option<&str>,
        by: PersonId,
        at: Millis,
        audit: &NewAudit,
    ) -> Result<ServiceLog>;
    /// Every membership (past and current) of these teams, with its team.
    async fn member_spans(&self, teams: &[i64]) -> Result<Vec<(i64, MemberSpan)>>;
    /// The hours logged for days in `[from, to]` for these teams (of one person only, if given).
    async fn logged_hours(
        &self,
        teams: &[i64],
        person: Option<PersonId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(i64, LoggedHours)>>;
    /// The cases these people reported in `[from, to)`: reporter and when.
    async fn reports_by(&self, people: &[PersonId], from: Millis, to: Millis) -> Result<Vec<(PersonId, Millis)>>;
}

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn date_of(s: &str) -> Result<NaiveDate> {
    parse_field(gridkeeper_domain::teams::parse_date("date", s))
}

const MEMBER_COLUMNS: &str =
    "m.person_id, p.login, p.name, p.phone, m.duties, m.leader, m.joined, m.left_on FROM team_members m \
     JOIN people p ON p.id = m.person_id";

const LOG_COLUMNS: &str = "l.id, l.team_id, t.name AS team_name, t.region AS team_region, l.person_id, p.name AS person_name, \
     l.day, l.hours, l.what, l.region, l.place_id, l.state, l.logged_at, l.decided_by, l.decided_at, l.reason, l.points \
     FROM service_logs l JOIN teams t ON t.id = l.team_id JOIN people p ON p.id = l.person_id";

generic! {
    impl SqlStore {
        fn member_row(&self, r: &D::Row) -> Result<Member> {
            let duties: String = r.try_get("duties")?;
            let duties: Vec<&str> = duties.split(',').filter(|d| !d.is_empty()).collect();
            Ok(Member {
                person_id: r.try_get("person_id")?,
                login: r.try_get("login")?,
                name: self.vault.open("people.name", r.try_get("name")?).map_err(corrupt)?,
                phone: self.vault.open_opt("people.phone", r.try_get("phone")?).map_err(corrupt)?,
                duties: parse_field(parse_duties(&duties))?,
                leader: r.try_get("leader")?,
                joined: date_of(&r.try_get::<String, _>("joined")?)?,
                left: r.try_get::<Option<String>, _>("left_on")?.as_deref().map(date_of).transpose()?,
            })
        }

        fn log_row(&self, r: &D::Row) -> Result<ServiceLog> {
            Ok(ServiceLog {
                id: r.try_get("id")?,
                team_id: r.try_get("team_id")?,
                team_name: r.try_get("team_name")?,
                team_region: parse_field(RegionCode::parse(r.try_get("team_region")?))?,
                person_id: r.try_get("person_id")?,
                person_name: self.vault.open("people.name", r.try_get("person_name")?).map_err(corrupt)?,
                date: date_of(&r.try_get::<String, _>("day")?)?,
                hours: r.try_get("hours")?,
                what: r.try_get("what")?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                place_id: r.try_get("place_id")?,
                state: parse_field(ServiceState::parse(r.try_get("state")?))?,
                logged_at: r.try_get("logged_at")?,
                decided_by: r.try_get("decided_by")?,
                decided_at: r.try_get("decided_at")?,
                reason: r.try_get("reason")?,
                points: r.try_get("points")?,
            })
        }

        async fn team_from(&self, r: &D::Row) -> Result<Team> {
            let id: i64 = r.try_get("id")?;
            let members = sqlx::query(&format!(
                "SELECT {MEMBER_COLUMNS} WHERE m.team_id = $1 AND m.left_on IS NULL ORDER BY m.leader DESC, m.joined, m.id"
            ))
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|m| self.member_row(m))
            .collect::<Result<Vec<_>>>()?;
            let pending: i64 =
                sqlx::query_scalar("SELECT count(*) FROM service_logs WHERE team_id = $1 AND state = 'pending'")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(Team {
                id,
                kind: parse_field(TeamKind::parse(r.try_get("kind")?))?,
                region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                members,
                pending,
            })
        }

        async fn current_member(&self, team: i64, person: PersonId) -> Result<Option<Member>> {
            let r = sqlx::query(&format!(
                "SELECT {MEMBER_COLUMNS} WHERE m.team_id = $1 AND m.person_id = $2 AND m.left_on IS NULL"
            ))
            .bind(team)
            .bind(person)
            .fetch_optional(&self.pool)
            .await?;
            r.map(|r| self.member_row(&r)).transpose()
        }

        /// Takes the lead from the team's current leader (inside the caller's transaction).
        async fn clear_leader(conn: &mut D::Connection, team: i64) -> Result<()> {
            sqlx::query("UPDATE team_members SET leader = FALSE WHERE team_id = $1 AND leader AND left_on IS NULL")
                .bind(team)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl TeamStore for SqlStore {
        async fn create_team(&self, t: &NewTeam, by: PersonId, audit: &NewAudit) -> Result<Team> {
            let mut tx = self.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO teams (kind, region, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(t.kind.as_str())
            .bind(t.region.as_str())
            .bind(&t.name)
            .bind(by)
            .bind(audit.at)
            .fetch_one(&mut *tx)
            .await?;
            let mut a = audit.clone();
            a.object = Some(format!("team:{id}"));
            a.detail = json!({ "created": { "kind": t.kind.as_str(), "region": t.region.as_str(), "name": t.name } });
            Self::append_audit(&mut tx, &a).await?;
            tx.commit().await?;
            self.team(id).await?.ok_or_else(|| corrupt("a new team vanished"))
        }

        async fn team(&self, id: i64) -> Result<Option<Team>> {
            let r = sqlx::query("SELECT id, kind, region, name, created_at FROM teams WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            match r {
                Some(r) => Ok(Some(self.team_from(&r).await?)),
                None => Ok(None),
            }
        }

        async fn teams(&self, under: &RegionCode) -> Result<Vec<Team>> {
            let rows = sqlx::query(
                "SELECT id, kind, region, name, created_at FROM teams WHERE region >= $1 AND region < $2 ORDER BY region, kind, id",
            )
            .bind(under.as_str())
            .bind(format!("{}:", under.as_str()))
            .fetch_all(&self.pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(self.team_from(r).await?);
            }
            Ok(out)
        }

        async fn add_member(&self, team: i64, m: &NewMember, by: PersonId, audit: &NewAudit) -> Result<Member> {
            let mut tx = self.begin_write().await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE id = $1").bind(m.person).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(StoreError::Missing(FieldError::new("person", "no such person")));
            }
            let already: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM team_members WHERE team_id = $1 AND person_id = $2 AND left_on IS NULL",
            )
            .bind(team)
            .bind(m.person)
            .fetch_optional(&mut *tx)
            .await?;
            if already.is_some() {
                return Err(StoreError::Conflicts(FieldError::new("person", "is a member of this team already")));
            }
            if m.leader {
                Self::clear_leader(&mut tx, team).await?;
            }
            sqlx::query(
                "INSERT INTO team_members (team_id, person_id, duties, leader, joined, added_by, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(team)
            .bind(m.person)
            .bind(duties_text(&m.duties))
            .bind(m.leader)
            .bind(date_text(m.joined))
            .bind(by)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
            let mut a = audit.clone();
            a.object = Some(format!("team:{team}"));
            a.detail = json!({ "added": m.person, "duties": duties_text(&m.duties), "leader": m.leader, "joined": date_text(m.joined) });
            Self::append_audit(&mut tx, &a).await?;
            tx.commit().await?;
            self.current_member(team, m.person).await?.ok_or_else(|| corrupt("a new member vanished"))
        }

        async fn update_member(
            &self,
            team: i64,
            person: PersonId,
            duties: &[Duty],
            leader: bool,
            audit: &NewAudit,
        ) -> Result<Option<Member>> {
            let mut tx = self.begin_write().await?;
            let current: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM team_members WHERE team_id = $1 AND person_id = $2 AND left_on IS NULL{}",
                D::FOR_UPDATE
            ))
            .bind(team)
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = current else { return Ok(None) };
            if leader {
                Self::clear_leader(&mut tx, team).await?;
            }
            sqlx::query("UPDATE team_members SET duties = $2, leader = $3 WHERE id = $1")
                .bind(row)
                .bind(duties_text(duties))
                .bind(leader)
                .execute(&mut *tx)
                .await?;
            let mut a = audit.clone();
            a.object = Some(format!("team:{team}"));
            a.detail = json!({ "changed": person, "duties": duties_text(duties), "leader": leader });
            Self::append_audit(&mut tx, &a).await?;
            tx.commit().await?;
            self.current_member(team, person).await
        }

        async fn remove_member(&self, team: i64, person: PersonId, left: NaiveDate, audit: &NewAudit) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let joined: Option<String> = sqlx::query_scalar(
                "SELECT joined FROM team_members WHERE team_id = $1 AND person_id = $2 AND left_on IS NULL",
            )
            .bind(team)
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(joined) = joined else { return Ok(false) };
            // Someone who joined after `left` (a date given ahead) leaves the day they joined.
            let left = left.max(date_of(&joined)?);
            sqlx::query(
                "UPDATE team_members SET left_on = $3, leader = FALSE WHERE team_id = $1 AND person_id = $2 AND left_on IS NULL",
            )
            .bind(team)
            .bind(person)
            .bind(date_text(left))
            .execute(&mut *tx)
            .await?;
            let mut a = audit.clone();
            a.object = Some(format!("team:{team}"));
            a.detail = json!({ "removed": person, "left": date_text(left) });
            Self::append_audit(&mut tx, &a).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn team_roles(&self, person: PersonId) -> Result<Vec<TeamRole>> {
            sqlx::query(
                "SELECT t.id, t.kind, t.region, m.duties, m.leader FROM team_members m JOIN teams t ON t.id = m.team_id \
                 WHERE m.person_id = $1 AND m.left_on IS NULL ORDER BY t.id",
            )
            .bind(person)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let duties: String = r.try_get("duties")?;
                let duties: Vec<&str> = duties.split(',').filter(|d| !d.is_empty()).collect();
                Ok(TeamRole {
                    team: r.try_get("id")?,
                    kind: parse_field(TeamKind::parse(r.try_get("kind")?))?,
                    region: parse_field(RegionCode::parse(r.try_get("region")?))?,
                    duties: parse_field(parse_duties(&duties))?,
                    leader: r.try_get("leader")?,
                })
            })
            .collect()
        }

        async fn log_service(&self, l: &NewServiceLog, now: Millis) -> Result<ServiceLog> {
            let mut tx = self.begin_write().await?;
            let logged: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(hours), 0) AS BIGINT) FROM service_logs \
                 WHERE person_id = $1 AND day = $2 AND state <> 'refused'",
            )
            .bind(l.person)
            .bind(date_text(l.date))
            .fetch_one(&mut *tx)
            .await?;
            check_hours(l.hours, logged).map_err(StoreError::Invalid)?;
            if let Some(place) = l.place {
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM places WHERE id = $1").bind(place).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::Missing(FieldError::new("place", "no such place")));
                }
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO service_logs (team_id, person_id, day, hours, what, region, place_id, state, logged_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
            )
            .bind(l.team)
            .bind(l.person)
            .bind(date_text(l.date))
            .bind(l.hours)
            .bind(&l.what)
            .bind(l.region.as_str())
            .bind(l.place)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            self.service_log(id).await?.ok_or_else(|| corrupt("a new service log vanished"))
        }

        async fn service_log(&self, id: i64) -> Result<Option<ServiceLog>> {
            let r = sqlx::query(&format!("SELECT {LOG_COLUMNS} WHERE l.id = $1")).bind(id).fetch_optional(&self.pool).await?;
            r.map(|r| self.log_row(&r)).transpose()
        }

        async fn service_logs(&self, q: &ServiceQuery) -> Result<Vec<ServiceLog>> {
            let mut b = Sql::new(format!("SELECT {LOG_COLUMNS} WHERE TRUE"));
            if let Some(teams) = &q.teams {
                if teams.is_empty() {
                    return Ok(vec![]);
                }
                b.push(" AND l.team_id IN ");
                b.push_in(teams.iter().copied());
            }
            if let Some(p) = q.person {
                b.push(" AND l.person_id = ").push_bind(p);
            }
            if let Some(s) = q.state {
                b.push(" AND l.state = ").push_bind(s.as_str());
            }
            b.push(" ORDER BY l.day DESC, l.id DESC LIMIT ").push_bind(i64::from(q.limit.clamp(1, 500)));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.log_row(r)).collect()
        }

        async fn decide_service(
            &self,
            id: i64,
            confirm: bool,
            reason: Option<&str>,
            by: PersonId,
            at: Millis,
            audit: &NewAudit,
        ) -> Result<ServiceLog> {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(&format!(
                "SELECT person_id, hours, what, region, state FROM service_logs WHERE id = $1{}",
                D::FOR_UPDATE
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Missing(FieldError::new("id", "no such service log")))?;
            let state: String = row.try_get("state")?;
            if state != ServiceState::Pending.as_str() {
                return Err(StoreError::Conflicts(FieldError::new("state", format!("the log is {state} already"))));
            }
            let person: PersonId = row.try_get("person_id")?;
            let region: String = row.try_get("region")?;
            let mut a = audit.clone();
            a.detail = json!({ "service_log": id, "confirmed": confirm });
            let (to, points, ledger) = if confirm {
                let hours: i64 = row.try_get("hours")?;
                let what: String = row.try_get("what")?;
                let award = Award::VolunteerHours { hours: hours as u32, note: Some(what) };
                match Self::award_in(&mut tx, person, &region, &award, at, by, &a).await? {
                    Some(e) => (ServiceState::Confirmed, e.points, Some(e.id)),
                    None => {
                        a.object = Some(format!("person:{person}"));
                        a.detail["points"] = json!(0);
                        Self::append_audit(&mut tx, &a).await?;
                        (ServiceState::Confirmed, 0, None)
                    }
                }
            } else {
                a.object = Some(format!("person:{person}"));
                a.detail["reason"] = json!(reason);
                Self::append_audit(&mut tx, &a).await?;
                (ServiceState::Refused, 0, None)
            };
            sqlx::query(
                "UPDATE service_logs SET state = $2, decided_by = $3, decided_at = $4, reason = $5, points = $6, ledger_id = $7 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(to.as_str())
            .bind(by)
            .bind(at)
            .bind(reason)
            .bind(confirm.then_some(points))
            .bind(ledger)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            self.service_log(id).await?.ok_or_else(|| corrupt("a service log vanished"))
        }

        async fn member_spans(&self, teams: &[i64]) -> Result<Vec<(i64, MemberSpan)>> {
            if teams.is_empty() {
                return Ok(vec![]);
            }
            let mut b = Sql::new("SELECT team_id, person_id, joined, left_on FROM team_members WHERE team_id IN ");
            b.push_in(teams.iter().copied());
            b.push(" ORDER BY team_id, id");
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let span = MemberSpan {
                        person: r.try_get("person_id")?,
                        joined: date_of(&r.try_get::<String, _>("joined")?)?,
                        left: r.try_get::<Option<String>, _>("left_on")?.as_deref().map(date_of).transpose()?,
                    };
                    Ok((r.try_get("team_id")?, span))
                })
                .collect()
        }

        async fn logged_hours(
            &self,
            teams: &[i64],
            person: Option<PersonId>,
            from: NaiveDate,
            to: NaiveDate,
        ) -> Result<Vec<(i64, LoggedHours)>> {
            if teams.is_empty() {
                return Ok(vec![]);
            }
            let mut b = Sql::new("SELECT team_id, person_id, day, hours, state FROM service_logs WHERE team_id IN ");
            b.push_in(teams.iter().copied());
            b.push(" AND day >= ").push_bind(date_text(from)).push(" AND day <= ").push_bind(date_text(to));
            if let Some(p) = person {
                b.push(" AND person_id = ").push_bind(p);
            }
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let l = LoggedHours {
                        person: r.try_get("person_id")?,
                        date: date_of(&r.try_get::<String, _>("day")?)?,
                        hours: r.try_get("hours")?,
                        state: parse_field(ServiceState::parse(r.try_get("state")?))?,
                    };
                    Ok((r.try_get("team_id")?, l))
                })
                .collect()
        }

        async fn reports_by(&self, people: &[PersonId], from: Millis, to: Millis) -> Result<Vec<(PersonId, Millis)>> {
            let mut out = vec![];
            for chunk in people.chunks(500) {
                let mut b = Sql::new("SELECT reporter, reported_at FROM cases WHERE reporter IN ");
                b.push_in(chunk.iter().copied());
                b.push(" AND reported_at >= ").push_bind(from).push(" AND reported_at < ").push_bind(to);
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    out.push((r.try_get("reporter")?, r.try_get("reported_at")?));
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::points::EntryKind;
    use gridkeeper_domain::{Grant, Role, Scope};

    use super::*;
    use crate::prelude::*;
    use crate::testing::on_both;
    use crate::NewPerson;

    const COMMUNITY: &str = "330483101001";
    /// 2026-06-01T00:00:00Z, 08:00 in the town.
    const T0: Millis = 1_780_272_000_000;

    fn audit(at: Millis) -> NewAudit {
        NewAudit { at, actor: None, action: "team".into(), object: None, detail: json!({}) }
    }

    fn d(s: &str) -> NaiveDate {
        date_of(s).unwrap()
    }

    async fn person<S: Store>(s: &S, login: &str) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: format!("王{login}"),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: vec![Grant::new(Role::Resident, Scope::parse("region:330483").unwrap()).unwrap()],
        };
        s.create_person(&p, 0).await.unwrap()
    }

    on_both! {
        async fn teams_keep_members_with_duties_and_one_leader(s) {
            let (lead, a, b) = (person(&s, "lead").await, person(&s, "a").await, person(&s, "b").await);
            let region = RegionCode::parse(COMMUNITY).unwrap();
            let new = NewTeam { kind: TeamKind::Volunteers, region: region.clone(), name: "志愿者队伍".into() };
            let team = s.create_team(&new, lead, &audit(T0)).await.unwrap();
            let m = |person, duties: &[Duty], leader| NewMember { person, duties: duties.to_vec(), leader, joined: d("2026-05-01") };
            s.add_member(team.id, &m(a, &[Duty::Patrol, Duty::Report], true), lead, &audit(T0)).await.unwrap();
            let second = s.add_member(team.id, &m(b, &[Duty::Inspect], false), lead, &audit(T0)).await.unwrap();
            assert_eq!((second.name.as_str(), second.duties.as_slice()), ("王b", &[Duty::Inspect][..]));
            // Twice is refused naming the person; someone who does not exist too.
            let again = s.add_member(team.id, &m(b, &[], false), lead, &audit(T0)).await.unwrap_err();
            assert!(matches!(again, StoreError::Conflicts(ref f) if f.field == "person"), "{again:?}");
            assert!(matches!(s.add_member(team.id, &m(999, &[], false), lead, &audit(T0)).await, Err(StoreError::Missing(_))));
            // One leader: b taking the lead takes it from a.
            s.update_member(team.id, b, &[Duty::Inspect, Duty::Patrol], true, &audit(T0)).await.unwrap().unwrap();
            let t = s.team(team.id).await.unwrap().unwrap();
            assert_eq!(t.members.len(), 2);
            assert_eq!(t.leader().unwrap().person_id, b);
            assert_eq!(s.teams(&RegionCode::parse("330483101").unwrap()).await.unwrap().len(), 1);
            assert!(s.teams(&RegionCode::parse("330483102").unwrap()).await.unwrap().is_empty());
            let roles = s.team_roles(a).await.unwrap();
            assert_eq!(roles, vec![TeamRole { team: team.id, kind: TeamKind::Volunteers, region: region.clone(), duties: vec![Duty::Patrol, Duty::Report], leader: false }]);
            // Leaving ends the seat; the period is kept for the measures; joining again is a new period.
            assert!(s.remove_member(team.id, a, d("2026-06-30"), &audit(T0)).await.unwrap());
            assert!(!s.remove_member(team.id, a, d("2026-06-30"), &audit(T0)).await.unwrap());
            assert!(s.team_roles(a).await.unwrap().is_empty());
            assert!(s.update_member(team.id, a, &[], false, &audit(T0)).await.unwrap().is_none());
            s.add_member(team.id, &m(a, &[], false), lead, &audit(T0)).await.unwrap();
            let spans = s.member_spans(&[team.id]).await.unwrap();
            assert_eq!(spans.len(), 3);
            assert_eq!(spans[0].1, MemberSpan { person: a, joined: d("2026-05-01"), left: Some(d("2026-06-30")) });
        }

        async fn confirmed_hours_earn_points_refused_ones_nothing(s) {
            let (lead, v) = (person(&s, "lead").await, person(&s, "v").await);
            let region = RegionCode::parse(COMMUNITY).unwrap();
            let new = NewTeam { kind: TeamKind::Volunteers, region: region.clone(), name: "志愿者队伍".into() };
            let team = s.create_team(&new, lead, &audit(T0)).await.unwrap();
            let log = |hours, date: &str| NewServiceLog {
                team: team.id,
                person: v,
                date: d(date),
                hours,
                what: "清理河道".into(),
                region: region.clone(),
                place: None,
            };
            let first = s.log_service(&log(3, "2026-05-30"), T0).await.unwrap();
            assert_eq!((first.state, first.hours, first.person_name.as_str()), (ServiceState::Pending, 3, "王v"));
            let second = s.log_service(&log(22, "2026-05-30"), T0).await.unwrap_err();
            assert!(matches!(second, StoreError::Invalid(ref f) if f.field == "hours"), "{second:?}");
            let other = s.log_service(&log(4, "2026-05-31"), T0).await.unwrap();
            let place = NewServiceLog { place: Some(404), ..log(1, "2026-05-29") };
            assert!(matches!(s.log_service(&place, T0).await, Err(StoreError::Missing(_))));
            // Confirmed: 3 hours × 5 points (the default rules), written to the ledger.
            let done = s.decide_service(first.id, true, None, lead, T0 + 1, &audit(T0 + 1)).await.unwrap();
            assert_eq!((done.state, done.points, done.decided_by), (ServiceState::Confirmed, Some(15), Some(lead)));
            let again = s.decide_service(first.id, false, Some("x"), lead, T0 + 2, &audit(T0 + 2)).await.unwrap_err();
            assert!(matches!(again, StoreError::Conflicts(ref f) if f.field == "state"));
            let refused = s.decide_service(other.id, false, Some("未参加"), lead, T0 + 3, &audit(T0 + 3)).await.unwrap();
            assert_eq!((refused.state, refused.points, refused.reason.as_deref()), (ServiceState::Refused, None, Some("未参加")));
            let ledger = s.ledger(v, None, 10).await.unwrap();
            assert_eq!(ledger.len(), 1);
            assert_eq!((ledger[0].kind, ledger[0].points), (EntryKind::VolunteerHours, 15));
            assert_eq!(s.point_account(v).await.unwrap().balance, 15);
            // A refused day's hours can be logged again.
            s.log_service(&log(21, "2026-05-31"), T0).await.unwrap();
            let pending = s.service_logs(&ServiceQuery { teams: Some(vec![team.id]), state: Some(ServiceState::Pending), limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(pending.len(), 1);
            assert_eq!(s.team(team.id).await.unwrap().unwrap().pending, 1);
            let mine = s.service_logs(&ServiceQuery { person: Some(v), limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(mine.len(), 3);
            let hours = s.logged_hours(&[team.id], Some(v), d("2026-05-01"), d("2026-05-31")).await.unwrap();
            assert_eq!(hours.iter().map(|(_, h)| h.hours).sum::<i64>(), 28);
            assert!(s.reports_by(&[v], 0, T0).await.unwrap().is_empty());
        }
    }
}
