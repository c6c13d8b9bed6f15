//! Points and rewards (积分): the append-only ledger, each person's balance kept with it, the
//! rules, the catalogue of rewards with stock, redemptions, the leaderboard and commendations.
//!
//! Points earned by a case are written by [`SqlStore::earn_points`] inside the transaction of the
//! `verify` or `reopen` event that earns or reverses them (`CaseStore`'s `apply_in`). Every other
//! change of a balance is a method here that writes its entry, the balance and its audit entry in
//! one transaction. A redemption takes one item of stock with a conditional update
//! (`stock > 0`) and the points with another (`balance >= cost`): of two redemptions racing for
//! the last item, or for the last points, exactly one is written and no balance goes negative
//! through a redemption (SQLite's write transaction serialises them; on PostgreSQL the second
//! update waits for the first one's row lock and then finds the condition false).

use async_trait::async_trait;
use gridkeeper_domain::points::{entry_for_event, Award, EntryKind, PointRules, Points, RedemptionState, RewardData};
use gridkeeper_domain::{Action, Case, CaseId, FieldError, Millis, NewEvent, PersonId};
use serde_json::json;
use sqlx::Row;

use crate::accounts::NewAudit;
use crate::dialect::generic;
use crate::rollups::day_of;
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result, StoreError};

/// At most this many rows of a list at once.
pub const MAX_POINTS_PAGE: u32 = 200;

/// The kinds that count towards the day's cap, as SQL.
const CAPPED: &str = "('report_verified', 'volunteer_hours', 'consultation')";

/// An entry of a person's ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: i64,
    pub person_id: PersonId,
    pub kind: EntryKind,
    pub points: Points,
    pub at: Millis,
    pub region: Option<String>,
    pub case_id: Option<CaseId>,
    /// The reference of the case, when the entry is of one.
    pub case_reference: Option<String>,
    pub redemption_id: Option<i64>,
    pub actor: Option<PersonId>,
    pub note: Option<String>,
}

/// A person's balance and whether their name shows on the leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PointAccount {
    pub balance: Points,
    pub on_leaderboard: bool,
}

/// A reward of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Reward {
    pub id: i64,
    /// Where it is handed over.
    pub region: String,
    pub data: RewardData,
    pub updated_at: Millis,
}

/// A reward redeemed.
#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    pub id: i64,
    pub reward_id: i64,
    pub reward_name: String,
    pub reward_name_en: Option<String>,
    pub person_id: PersonId,
    /// The redeemer's name in clear (the server masks it).
    pub person_name: String,
    pub region: String,
    pub cost: Points,
    pub state: RedemptionState,
    pub at: Millis,
    pub done_at: Option<Millis>,
    pub done_by: Option<PersonId>,
    pub note: Option<String>,
}

/// Which redemptions to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RedemptionQuery {
    /// Of one person.
    pub person: Option<PersonId>,
    /// Handed over in these regions' subtrees, or exactly in one of `at` (none: anywhere).
    pub under: Option<Vec<String>>,
    pub at: Vec<String>,
    pub state: Option<RedemptionState>,
    /// Older than this id (the next page).
    pub before: Option<i64>,
    pub limit: u32,
}

/// A row of a grid's leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderRow {
    pub person_id: PersonId,
    /// In clear (the server masks those who did not opt in).
    pub name: String,
    pub on_leaderboard: bool,
    pub points: Points,
}

/// A leader's commendation of a grid member or volunteer.
#[derive(Debug, Clone, PartialEq)]
pub struct Commendation {
    pub id: i64,
    pub person_id: PersonId,
    pub region: String,
    pub text: String,
    pub at: Millis,
    pub by: PersonId,
    pub by_name: String,
}

/// Points issued (earned, net of reversals) and redeemed (net of refunds) in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointFlow {
    pub region: String,
    pub issued: Points,
    pub redeemed: Points,
}

#[async_trait]
pub trait PointsStore: Send + Sync {
    /// The rules of points (the defaults until an admin sets them).
    async fn point_rules(&self) -> Result<PointRules>;
    /// Replaces the rules (checked by the caller), with its audit entry.
    async fn set_point_rules(&self, rules: &PointRules, audit: &NewAudit) -> Result<()>;
    async fn point_account(&self, person: PersonId) -> Result<PointAccount>;
    /// The points `person` earned on the local day of `at` that count towards the daily cap.
    async fn points_earned_on(&self, person: PersonId, at: Millis) -> Result<Points>;
    /// Shows or hides the person's name on the leaderboard.
    async fn set_on_leaderboard(&self, person: PersonId, on: bool) -> Result<()>;
    /// A person's ledger, newest first, older than entry `before`, at most `limit`.
    async fn ledger(&self, person: PersonId, before: Option<i64>, limit: u32) -> Result<Vec<LedgerEntry>>;
    /// Writes the entry of an award (volunteer hours, a consultation, an adjustment) in `region`
    /// by the rules and the day's cap, with its audit entry. `None`: the cap left nothing to give.
    async fn award_points(
        &self,
        person: PersonId,
        region: &str,
        award: &Award,
        at: Millis,
        actor: PersonId,
        audit: &NewAudit,
    ) -> Result<Option<LedgerEntry>>;
    /// The rewards handed over in these regions' subtrees (none: all), active ones only or all.
    async fn rewards(&self, under: Option<&[String]>, active_only: bool) -> Result<Vec<Reward>>;
    async fn reward(&self, id: i64) -> Result<Option<Reward>>;
    async fn insert_reward(&self, region: &str, data: &RewardData, at: Millis, audit: &NewAudit) -> Result<Reward>;
    /// `None`: no such reward.
    async fn update_reward(&self, id: i64, data: &RewardData, at: Millis, audit: &NewAudit) -> Result<Option<Reward>>;
    /// Redeems one of reward `reward` for `person`: one item of stock and its cost in points,
    /// the ledger's entry, the audit entry, all or none. [`StoreError::Missing`] (`reward`) for
    /// a reward that does not exist or is not offered; [`StoreError::Conflicts`] naming `stock`
    /// (none left) or `balance` (not enough points).
    async fn redeem(&self, person: PersonId, reward: i64, at: Millis, audit: &NewAudit) -> Result<Redemption>;
    async fn redemption(&self, id: i64) -> Result<Option<Redemption>>;
    async fn redemptions(&self, q: &RedemptionQuery) -> Result<Vec<Redemption>>;
    /// Hands a pending redemption over, or cancels it (its points refunded by an entry, its item
    /// back in stock), with the audit entry. [`StoreError::Conflicts`] (`state`) when it is not
    /// pending any more.
    async fn finish_redemption(
        &self,
        id: i64,
        to: RedemptionState,
        at: Millis,
        by: PersonId,
        note: Option<&str>,
        audit: &NewAudit,
    ) -> Result<Redemption>;
    /// The people who earned points in the subtree of `region` since `from`, most first.
    async fn leaderboard(&self, region: &str, from: Millis, limit: u32) -> Result<Vec<LeaderRow>>;
    async fn commend(
        &self,
        person: PersonId,
        region: &str,
        text: &str,
        at: Millis,
        by: PersonId,
        audit: &NewAudit,
    ) -> Result<Commendation>;
    /// A person's commendations, newest first.
    async fn commendations(&self, person: PersonId) -> Result<Vec<Commendation>>;
    /// Points issued and redeemed per region of the ledger under `under` in `[from, to)`.
    async fn point_flows(&self, under: &str, from: Millis, to: Millis) -> Result<Vec<PointFlow>>;
    /// Writes the points that the verifications and reopenings of histories stored without the
    /// workflow earn (`import_history`: the demo town's year), in the order they happened, by the
    /// rules as they are now — each exactly as a live verification would have (the day's cap of
    /// that day, reversals). An event that earned already is skipped, so running it twice writes
    /// nothing twice. Returns how many entries were written.
    async fn replay_points(&self) -> Result<u64>;
}

/// An entry to append.
struct NewEntry<'a> {
    person: PersonId,
    kind: EntryKind,
    points: Points,
    at: Millis,
    region: Option<&'a str>,
    case: Option<(CaseId, i64)>,
    redemption: Option<i64>,
    actor: Option<PersonId>,
    note: Option<&'a str>,
}

const REDEMPTION_COLUMNS: &str = "d.id, d.reward_id, w.name AS reward_name, w.name_en AS reward_name_en, d.person_id, \
     p.name AS person_name, d.region, d.cost, d.state, d.at, d.done_at, d.done_by, d.note";
const REDEMPTION_FROM: &str = "redemptions d JOIN rewards w ON w.id = d.reward_id JOIN people p ON p.id = d.person_id";

/// ` AND column` within the subtrees of `regions`, as SQL with bound values (shared with the
/// inspections' task lists).
pub(crate) fn push_under(b: &mut Sql, column: &str, regions: &[String]) {
    push_within(b, column, regions, &[]);
}

/// `column` within the subtrees of `regions` or exactly one of `at`.
fn push_within(b: &mut Sql, column: &str, regions: &[String], at: &[String]) {
    b.push(" AND (FALSE");
    for r in regions {
        b.push(format!(" OR ({column} >= "))
            .push_bind(r.clone())
            .push(format!(" AND {column} < "))
            .push_bind(format!("{r}:"))
            .push(")");
    }
    if !at.is_empty() {
        b.push(format!(" OR {column} IN "));
        b.push_in(at.iter().cloned());
    }
    b.push(")");
}

generic! {
    impl SqlStore {
        /// The rules inside a transaction.
        async fn rules_in(conn: &mut D::Connection) -> Result<PointRules> {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT rules FROM point_rules WHERE id = 1").fetch_optional(&mut *conn).await?;
            match stored {
                Some(s) => serde_json::from_str(&s).map_err(corrupt),
                None => Ok(PointRules::default()),
            }
        }

        /// Locks the person's account row (made if missing) to the end of the transaction, so
        /// that the day's cap and the balance are read and written by one writer at a time.
        async fn lock_account(conn: &mut D::Connection, person: PersonId) -> Result<()> {
            sqlx::query("INSERT INTO point_accounts (person_id) VALUES ($1) ON CONFLICT (person_id) DO NOTHING")
                .bind(person)
                .execute(&mut *conn)
                .await?;
            sqlx::query(&format!("SELECT balance FROM point_accounts WHERE person_id = $1{}", D::FOR_UPDATE))
                .bind(person)
                .fetch_one(&mut *conn)
                .await?;
            Ok(())
        }

        async fn earned_on(conn: &mut D::Connection, person: PersonId, at: Millis) -> Result<Points> {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM point_ledger WHERE person_id = $1 AND day = $2 AND kind IN {CAPPED}"
            ))
            .bind(person)
            .bind(day_of(at))
            .fetch_one(&mut *conn)
            .await?;
            Ok(n)
        }

        /// Appends an entry, moves the balance and writes the audit entry (the caller's
        /// transaction; audit last, as its chain lock asks).
        async fn append_entry(conn: &mut D::Connection, e: &NewEntry<'_>, audit: &NewAudit) -> Result<i64> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO point_ledger (person_id, kind, points, at, day, region, case_id, seq, redemption_id, actor, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(e.person)
            .bind(e.kind.as_str())
            .bind(e.points)
            .bind(e.at)
            .bind(day_of(e.at))
            .bind(e.region)
            .bind(e.case.map(|c| c.0))
            .bind(e.case.map(|c| c.1))
            .bind(e.redemption)
            .bind(e.actor)
            .bind(e.note)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO point_accounts (person_id, balance) VALUES ($1, $2) \
                 ON CONFLICT (person_id) DO UPDATE SET balance = point_accounts.balance + excluded.balance",
            )
            .bind(e.person)
            .bind(e.points)
            .execute(&mut *conn)
            .await?;
            let mut audit = audit.clone();
            audit.object = Some(format!("person:{}", e.person));
            let mut detail = json!({ "entry": id, "kind": e.kind.as_str(), "points": e.points });
            if let Some((case, seq)) = e.case {
                detail["case"] = json!(case);
                detail["seq"] = json!(seq);
            }
            if let Some(r) = e.redemption {
                detail["redemption"] = json!(r);
            }
            if let serde_json::Value::Object(extra) = &audit.detail {
                for (k, v) in extra {
                    detail[k] = v.clone();
                }
            }
            audit.detail = detail;
            Self::append_audit(&mut *conn, &audit).await?;
            Ok(id)
        }

        /// Writes the entry of an award inside the caller's transaction (the person exists), by
        /// the rules and the day's cap, with its audit entry: what [`PointsStore::award_points`]
        /// and the confirmation of service hours (`teams.rs`) do. `None`: nothing to give.
        #[allow(clippy::too_many_arguments)]
        pub(crate) async fn award_in(
            conn: &mut D::Connection,
            person: PersonId,
            region: &str,
            award: &Award,
            at: Millis,
            actor: PersonId,
            audit: &NewAudit,
        ) -> Result<Option<LedgerEntry>> {
            Self::lock_account(&mut *conn, person).await?;
            let rules = Self::rules_in(&mut *conn).await?;
            let earned_today = Self::earned_on(&mut *conn, person, at).await?;
            let (earning, note) = award.earning(&rules, earned_today).map_err(StoreError::Invalid)?;
            if earning.points == 0 {
                return Ok(None);
            }
            let entry = NewEntry {
                person,
                kind: earning.kind,
                points: earning.points,
                at,
                region: Some(region),
                case: None,
                redemption: None,
                actor: Some(actor),
                note: note.as_deref(),
            };
            let id = Self::append_entry(&mut *conn, &entry, audit).await?;
            Ok(Some(LedgerEntry {
                id,
                person_id: person,
                kind: earning.kind,
                points: earning.points,
                at,
                region: Some(region.to_string()),
                case_id: None,
                case_reference: None,
                redemption_id: None,
                actor: Some(actor),
                note,
            }))
        }

        /// The points a `verify` or `reopen` event of `case` (as it is after the event, at `seq`)
        /// earns or takes back from its reporter, written in the event's transaction with its
        /// audit entry ([`entry_for_event`] decides).
        pub(crate) async fn earn_points(conn: &mut D::Connection, case: &Case, event: &NewEvent) -> Result<()> {
            if !matches!(event.action, Action::Verify | Action::Reopen) {
                return Ok(());
            }
            let Some(person) = case.reporter else { return Ok(()) };
            let case_net: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM point_ledger WHERE case_id = $1 \
                 AND kind IN ('report_verified', 'reversal')",
            )
            .bind(case.id)
            .fetch_one(&mut *conn)
            .await?;
            if event.action == Action::Reopen && case_net <= 0 {
                return Ok(());
            }
            Self::lock_account(&mut *conn, person).await?;
            let rules = Self::rules_in(&mut *conn).await?;
            let earned_today = Self::earned_on(&mut *conn, person, event.at).await?;
            let class: Option<i64> = match case.category {
                Some(c) => sqlx::query_scalar("SELECT parent_id FROM categories WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&mut *conn)
                    .await?
                    .flatten(),
                None => None,
            };
            let Some(earning) = entry_for_event(&rules, case, class, event, earned_today, case_net) else {
                return Ok(());
            };
            let region = case.grid.as_ref().map(|g| g.as_str().to_string()).unwrap_or_else(|| case.district.clone());
            let entry = NewEntry {
                person,
                kind: earning.kind,
                points: earning.points,
                at: event.at,
                region: Some(&region),
                case: Some((case.id, case.version)),
                redemption: None,
                actor: event.actor,
                note: None,
            };
            let audit = NewAudit { at: event.at, actor: event.actor, action: "points".into(), object: None, detail: json!({}) };
            Self::append_entry(&mut *conn, &entry, &audit).await?;
            Ok(())
        }

        fn entry_row(r: &D::Row) -> Result<LedgerEntry> {
            let kind: String = r.try_get("kind")?;
            Ok(LedgerEntry {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                kind: parse_field(EntryKind::parse(&kind))?,
                points: r.try_get("points")?,
                at: r.try_get("at")?,
                region: r.try_get("region")?,
                case_id: r.try_get("case_id")?,
                case_reference: r.try_get("reference")?,
                redemption_id: r.try_get("redemption_id")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
            })
        }

        fn reward_row(r: &D::Row) -> Result<Reward> {
            Ok(Reward {
                id: r.try_get("id")?,
                region: r.try_get("region")?,
                data: RewardData {
                    name: r.try_get("name")?,
                    name_en: r.try_get("name_en")?,
                    description: r.try_get("description")?,
                    cost: r.try_get("cost")?,
                    stock: r.try_get("stock")?,
                    active: r.try_get("active")?,
                },
                updated_at: r.try_get("updated_at")?,
            })
        }

        fn redemption_row(&self, r: &D::Row) -> Result<Redemption> {
            let state: String = r.try_get("state")?;
            Ok(Redemption {
                id: r.try_get("id")?,
                reward_id: r.try_get("reward_id")?,
                reward_name: r.try_get("reward_name")?,
                reward_name_en: r.try_get("reward_name_en")?,
                person_id: r.try_get("person_id")?,
                person_name: self.vault.open("people.name", r.try_get("person_name")?).map_err(corrupt)?,
                region: r.try_get("region")?,
                cost: r.try_get("cost")?,
                state: parse_field(RedemptionState::parse(&state))?,
                at: r.try_get("at")?,
                done_at: r.try_get("done_at")?,
                done_by: r.try_get("done_by")?,
                note: r.try_get("note")?,
            })
        }

        async fn redemption_in(&self, conn: &mut D::Connection, id: i64) -> Result<Option<Redemption>> {
            sqlx::query(&format!("SELECT {REDEMPTION_COLUMNS} FROM {REDEMPTION_FROM} WHERE d.id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(|r| self.redemption_row(r))
                .transpose()
        }

        fn commendation_row(&self, r: &D::Row) -> Result<Commendation> {
            Ok(Commendation {
                id: r.try_get("id")?,
                person_id: r.try_get("person_id")?,
                region: r.try_get("region")?,
                text: r.try_get("text")?,
                at: r.try_get("at")?,
                by: r.try_get("by_person")?,
                by_name: self.vault.open("people.name", r.try_get("by_name")?).map_err(corrupt)?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl PointsStore for SqlStore {
        async fn point_rules(&self) -> Result<PointRules> {
            let mut conn = self.pool.acquire().await?;
            Self::rules_in(&mut conn).await
        }

        async fn set_point_rules(&self, rules: &PointRules, audit: &NewAudit) -> Result<()> {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO point_rules (id, rules, updated_at, updated_by) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(crate::json(rules))
            .bind(audit.at)
            .bind(audit.actor)
            .execute(&mut *tx)
            .await?;
            Self::append_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn point_account(&self, person: PersonId) -> Result<PointAccount> {
            let row = sqlx::query("SELECT balance, on_leaderboard FROM point_accounts WHERE person_id = $1")
                .bind(person)
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                Some(r) => PointAccount { balance: r.try_get("balance")?, on_leaderboard: r.try_get("on_leaderboard")? },
                None => PointAccount::default(),
            })
        }

        async fn points_earned_on(&self, person: PersonId, at: Millis) -> Result<Points> {
            let mut conn = self.pool.acquire().await?;
            Self::earned_on(&mut conn, person, at).await
        }

        async fn set_on_leaderboard(&self, person: PersonId, on: bool) -> Result<()> {
            sqlx::query(
                "INSERT INTO point_accounts (person_id, on_leaderboard) VALUES ($1, $2) \
                 ON CONFLICT (person_id) DO UPDATE SET on_leaderboard = excluded.on_leaderboard",
            )
            .bind(person)
            .bind(on)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn ledger(&self, person: PersonId, before: Option<i64>, limit: u32) -> Result<Vec<LedgerEntry>> {
            let mut b = Sql::new(
                "SELECT l.id, l.person_id, l.kind, l.points, l.at, l.region, l.case_id, c.reference, l.redemption_id, \
                 l.actor, l.note FROM point_ledger l LEFT JOIN cases c ON c.id = l.case_id WHERE l.person_id = ",
            );
            b.push_bind(person);
            if let Some(before) = before {
                b.push(" AND l.id < ").push_bind(before);
            }
            b.push(" ORDER BY l.id DESC LIMIT ").push_bind(i64::from(limit.clamp(1, MAX_POINTS_PAGE)));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::entry_row).collect()
        }

        async fn award_points(
            &self,
            person: PersonId,
            region: &str,
            award: &Award,
            at: Millis,
            actor: PersonId,
            audit: &NewAudit,
        ) -> Result<Option<LedgerEntry>> {
            let mut tx = self.begin_write().await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE id = $1").bind(person).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(StoreError::Missing(FieldError::new("person", "no such person")));
            }
            let entry = Self::award_in(&mut tx, person, region, award, at, actor, audit).await?;
            if entry.is_some() {
                tx.commit().await?;
            }
            Ok(entry)
        }

        async fn rewards(&self, under: Option<&[String]>, active_only: bool) -> Result<Vec<Reward>> {
            let mut b = Sql::new("SELECT * FROM rewards WHERE TRUE");
            if let Some(under) = under {
                push_under(&mut b, "region", under);
            }
            if active_only {
                b.push(" AND active");
            }
            b.push(" ORDER BY cost, id");
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::reward_row).collect()
        }

        async fn reward(&self, id: i64) -> Result<Option<Reward>> {
            sqlx::query("SELECT * FROM rewards WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(Self::reward_row)
                .transpose()
        }

        async fn insert_reward(&self, region: &str, data: &RewardData, at: Millis, audit: &NewAudit) -> Result<Reward> {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(
                "INSERT INTO rewards (region, name, name_en, description, cost, stock, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *",
            )
            .bind(region)
            .bind(&data.name)
            .bind(&data.name_en)
            .bind(&data.description)
            .bind(data.cost)
            .bind(data.stock)
            .bind(data.active)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let reward = Self::reward_row(&row)?;
            let mut audit = audit.clone();
            audit.object = Some(format!("reward:{}", reward.id));
            Self::append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(reward)
        }

        async fn update_reward(&self, id: i64, data: &RewardData, at: Millis, audit: &NewAudit) -> Result<Option<Reward>> {
            let mut tx = self.begin_write().await?;
            let row = sqlx::query(
                "UPDATE rewards SET name = $1, name_en = $2, description = $3, cost = $4, stock = $5, active = $6, \
                 updated_at = $7 WHERE id = $8 RETURNING *",
            )
            .bind(&data.name)
            .bind(&data.name_en)
            .bind(&data.description)
            .bind(data.cost)
            .bind(data.stock)
            .bind(data.active)
            .bind(at)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let reward = Self::reward_row(&row)?;
            let mut audit = audit.clone();
            audit.object = Some(format!("reward:{id}"));
            Self::append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(Some(reward))
        }

        #[tracing::instrument(skip(self, audit))]
        async fn redeem(&self, person: PersonId, reward: i64, at: Millis, audit: &NewAudit) -> Result<Redemption> {
            let mut tx = self.begin_write().await?;
            let offered: Option<(Points, String)> = sqlx::query_as("SELECT cost, region FROM rewards WHERE id = $1 AND active")
                .bind(reward)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((cost, region)) = offered else {
                return Err(StoreError::Missing(FieldError::new("reward", "no such reward is offered")));
            };
            // The item first: of two redemptions of the last one, the second waits here for
            // the first one's row lock (PostgreSQL) and then finds none left.
            let took = sqlx::query("UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND active AND stock > 0")
                .bind(reward)
                .execute(&mut *tx)
                .await?;
            if D::rows_affected(&took) == 0 {
                return Err(StoreError::Conflicts(FieldError::new("stock", "none of this reward is left")));
            }
            let paid = sqlx::query("UPDATE point_accounts SET balance = balance - $1 WHERE person_id = $2 AND balance >= $1")
                .bind(cost)
                .bind(person)
                .execute(&mut *tx)
                .await?;
            if D::rows_affected(&paid) == 0 {
                return Err(StoreError::Conflicts(FieldError::new(
                    "balance",
                    format!("this reward costs {cost} points, more than the balance"),
                )));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO redemptions (reward_id, person_id, region, cost, state, at) VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
            )
            .bind(reward)
            .bind(person)
            .bind(&region)
            .bind(cost)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            // The balance was moved above, under its condition; the entry records it.
            sqlx::query(
                "INSERT INTO point_ledger (person_id, kind, points, at, day, region, redemption_id, actor) \
                 VALUES ($1, 'redemption', $2, $3, $4, $5, $6, $1)",
            )
            .bind(person)
            .bind(-cost)
            .bind(at)
            .bind(day_of(at))
            .bind(&region)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let mut audit = audit.clone();
            audit.object = Some(format!("person:{person}"));
            audit.detail = json!({ "kind": "redemption", "points": -cost, "redemption": id, "reward": reward });
            Self::append_audit(&mut tx, &audit).await?;
            let done = self.redemption_in(&mut tx, id).await?.ok_or_else(|| corrupt("redemption vanished"))?;
            tx.commit().await?;
            Ok(done)
        }

        async fn redemption(&self, id: i64) -> Result<Option<Redemption>> {
            let mut conn = self.pool.acquire().await?;
            self.redemption_in(&mut conn, id).await
        }

        async fn redemptions(&self, q: &RedemptionQuery) -> Result<Vec<Redemption>> {
            let mut b = Sql::new(format!("SELECT {REDEMPTION_COLUMNS} FROM {REDEMPTION_FROM} WHERE TRUE"));
            if let Some(p) = q.person {
                b.push(" AND d.person_id = ").push_bind(p);
            }
            if let Some(under) = &q.under {
                push_within(&mut b, "d.region", under, &q.at);
            }
            if let Some(s) = q.state {
                b.push(" AND d.state = ").push_bind(s.as_str());
            }
            if let Some(before) = q.before {
                b.push(" AND d.id < ").push_bind(before);
            }
            b.push(" ORDER BY d.id DESC LIMIT ").push_bind(i64::from(q.limit.clamp(1, MAX_POINTS_PAGE)));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.redemption_row(r)).collect()
        }

        async fn finish_redemption(
            &self,
            id: i64,
            to: RedemptionState,
            at: Millis,
            by: PersonId,
            note: Option<&str>,
            audit: &NewAudit,
        ) -> Result<Redemption> {
            if to == RedemptionState::Pending {
                return Err(StoreError::Invalid(FieldError::new("state", "a redemption is handed over or cancelled")));
            }
            let mut tx = self.begin_write().await?;
            let done = sqlx::query(
                "UPDATE redemptions SET state = $1, done_at = $2, done_by = $3, note = $4 WHERE id = $5 AND state = 'pending'",
            )
            .bind(to.as_str())
            .bind(at)
            .bind(by)
            .bind(note)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let Some(r) = self.redemption_in(&mut tx, id).await? else {
                return Err(StoreError::Missing(FieldError::new("redemption", "no such redemption")));
            };
            if D::rows_affected(&done) == 0 {
                return Err(StoreError::Conflicts(FieldError::new(
                    "state",
                    format!("the redemption is {} already", r.state.as_str()),
                )));
            }
            let mut audit = audit.clone();
            if to == RedemptionState::Cancelled {
                sqlx::query("UPDATE rewards SET stock = stock + 1 WHERE id = $1").bind(r.reward_id).execute(&mut *tx).await?;
                let entry = NewEntry {
                    person: r.person_id,
                    kind: EntryKind::Refund,
                    points: r.cost,
                    at,
                    region: Some(&r.region),
                    case: None,
                    redemption: Some(id),
                    actor: Some(by),
                    note,
                };
                Self::append_entry(&mut tx, &entry, &audit).await?;
            } else {
                audit.object = Some(format!("redemption:{id}"));
                audit.detail = json!({ "state": to.as_str(), "person": r.person_id, "reward": r.reward_id });
                Self::append_audit(&mut tx, &audit).await?;
            }
            tx.commit().await?;
            Ok(r)
        }

        async fn leaderboard(&self, region: &str, from: Millis, limit: u32) -> Result<Vec<LeaderRow>> {
            let mut b = Sql::new(
                "SELECT l.person_id, p.name, COALESCE(a.on_leaderboard, FALSE) AS on_leaderboard, \
                 CAST(SUM(l.points) AS BIGINT) AS points FROM point_ledger l JOIN people p ON p.id = l.person_id \
                 LEFT JOIN point_accounts a ON a.person_id = l.person_id \
                 WHERE l.kind IN ('report_verified', 'reversal', 'volunteer_hours', 'consultation') AND l.at >= ",
            );
            b.push_bind(from);
            push_under(&mut b, "l.region", &[region.to_string()]);
            b.push(" GROUP BY l.person_id, p.name, a.on_leaderboard HAVING SUM(l.points) > 0 ORDER BY points DESC, l.person_id LIMIT ")
                .push_bind(i64::from(limit.clamp(1, MAX_POINTS_PAGE)));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(LeaderRow {
                        person_id: r.try_get("person_id")?,
                        name: self.vault.open("people.name", r.try_get("name")?).map_err(corrupt)?,
                        on_leaderboard: r.try_get("on_leaderboard")?,
                        points: r.try_get("points")?,
                    })
                })
                .collect()
        }

        async fn commend(
            &self,
            person: PersonId,
            region: &str,
            text: &str,
            at: Millis,
            by: PersonId,
            audit: &NewAudit,
        ) -> Result<Commendation> {
            let mut tx = self.begin_write().await?;
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE id = $1").bind(person).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(StoreError::Missing(FieldError::new("person", "no such person")));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO commendations (person_id, region, text, at, by_person) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(person)
            .bind(region)
            .bind(text)
            .bind(at)
            .bind(by)
            .fetch_one(&mut *tx)
            .await?;
            let mut audit = audit.clone();
            audit.object = Some(format!("person:{person}"));
            audit.detail = json!({ "commendation": id, "region": region });
            Self::append_audit(&mut tx, &audit).await?;
            let row = sqlx::query(
                "SELECT c.*, p.name AS by_name FROM commendations c JOIN people p ON p.id = c.by_person WHERE c.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let c = self.commendation_row(&row)?;
            tx.commit().await?;
            Ok(c)
        }

        async fn commendations(&self, person: PersonId) -> Result<Vec<Commendation>> {
            sqlx::query(
                "SELECT c.*, p.name AS by_name FROM commendations c JOIN people p ON p.id = c.by_person \
                 WHERE c.person_id = $1 ORDER BY c.id DESC LIMIT 200",
            )
            .bind(person)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| self.commendation_row(r))
            .collect()
        }

        async fn point_flows(&self, under: &str, from: Millis, to: Millis) -> Result<Vec<PointFlow>> {
            let mut b = Sql::new(
                "SELECT region, \
                 CAST(COALESCE(SUM(points) FILTER (WHERE kind IN ('report_verified', 'reversal', 'volunteer_hours', 'consultation', 'adjustment')), 0) AS BIGINT) AS issued, \
                 CAST(-COALESCE(SUM(points) FILTER (WHERE kind IN ('redemption', 'refund')), 0) AS BIGINT) AS redeemed \
                 FROM point_ledger WHERE at >= ",
            );
            b.push_bind(from).push(" AND at < ").push_bind(to);
            push_under(&mut b, "region", &[under.to_string()]);
            b.push(" GROUP BY region ORDER BY region");
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok(PointFlow { region: r.try_get("region")?, issued: r.try_get("issued")?, redeemed: r.try_get("redeemed")? }))
                .collect()
        }

        async fn replay_points(&self) -> Result<u64> {
            let todo: Vec<(CaseId, i64)> = sqlx::query_as(
                "SELECT e.case_id, e.seq FROM case_events e JOIN cases c ON c.id = e.case_id \
                 WHERE e.action IN ('verify', 'reopen') AND c.reporter IS NOT NULL AND c.source IN ('resident', 'social_unit') \
                 AND NOT EXISTS (SELECT 1 FROM point_ledger l WHERE l.case_id = e.case_id AND l.seq = e.seq) \
                 ORDER BY e.at, e.case_id, e.seq",
            )
            .fetch_all(&self.pool)
            .await?;
            let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM point_ledger").fetch_one(&self.pool).await?;
            for part in todo.chunks(500) {
                // Read first, then write: a write transaction holds its connection (an in-memory
                // database has only one).
                let mut lived = Vec::with_capacity(part.len());
                for (case_id, seq) in part {
                    let Some(mut case) = crate::CaseStore::case(self, *case_id).await? else { continue };
                    let events = crate::CaseStore::events(self, *case_id).await?;
                    let Some(e) = events.into_iter().find(|e| e.seq == *seq) else { continue };
                    case.version = *seq;
                    lived.push((case, e.event));
                }
                let mut tx = self.begin_write().await?;
                for (case, event) in &lived {
                    Self::earn_points(&mut tx, case, event).await?;
                }
                tx.commit().await?;
            }
            let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM point_ledger").fetch_one(&self.pool).await?;
            Ok((after - before) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::points::{Award, PointRule, PointRules, RedemptionState, RewardData};
    use gridkeeper_domain::{report, Actor, CaseState, Decision, Grant, LatLon, NewReport, RegionCode, Role, Scope};

    use super::*;
    use crate::prelude::*;
    use crate::testing::on_both;
    use crate::{Intake, NewPerson};

    const GRID: &str = "330483101001001";
    const DAY: Millis = 86_400_000;
    /// 2026-06-01T00:00:00Z, 08:00 in the town.
    const T0: Millis = 1_780_272_000_000;

    fn audit(action: &str, at: Millis) -> NewAudit {
        NewAudit { at, actor: None, action: action.into(), object: None, detail: json!({}) }
    }

    async fn person<S: Store>(s: &S, login: &str, role: Role, scope: &str) -> Actor {
        let grants = vec![Grant::new(role, Scope::parse(scope).unwrap()).unwrap()];
        let p = NewPerson {
            login: login.into(),
            name: format!("张{login}"),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: grants.clone(),
        };
        Actor::person(s.create_person(&p, 0).await.unwrap(), grants)
    }

    fn reward(stock: i64, cost: Points) -> RewardData {
        RewardData {
            name: "环保袋".into(),
            name_en: Some("Tote bag".into()),
            description: None,
            cost,
            stock,
            active: true,
        }
    }

    /// The case moved to `state` by `action` at `at` (the store takes the decision as given).
    async fn step<S: Store>(
        s: &S,
        case: &Case,
        action: Action,
        state: CaseState,
        data: serde_json::Value,
        at: Millis,
    ) -> Case {
        let mut next = case.clone();
        next.version += 1;
        next.state = state;
        let event = NewEvent { action, at, actor: None, from: Some(case.state), to: state, data };
        s.apply(&Decision { case: next, event }, &[]).await.unwrap()
    }

    async fn new_case<S: Store>(s: &S, resident: &Actor, at: Millis) -> Case {
        let r = NewReport {
            grid: Some(RegionCode::parse(GRID).unwrap()),
            ..NewReport::new("330483", Some(LatLon { lat: 30.745, lon: 120.49 }), "井盖破损")
        };
        let d = report(resident, r, at).unwrap();
        s.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap()
    }

    async fn verify<S: Store>(s: &S, case: &Case, at: Millis) -> Case {
        step(s, case, Action::Verify, CaseState::Verified, json!({ "passed": true }), at).await
    }

    on_both! {
        async fn verification_earns_reopening_reverses_and_the_day_is_capped(s) {
            s.load_reference(&crate::contract::reference()).await.unwrap();
            let resident = person(&s, "r", Role::Resident, "region:330483").await;
            let me = resident.person.unwrap();
            let rules = PointRules { report_verified: 20, daily_cap: 50, ..PointRules::default() };
            s.set_point_rules(&rules, &audit("point_rules", T0)).await.unwrap();
            assert_eq!(s.point_rules().await.unwrap(), rules);
            let a = new_case(&s, &resident, T0).await;
            // A failed verification earns nothing; a passed one earns by the rules.
            let a = step(&s, &a, Action::Verify, CaseState::InProgress, json!({ "passed": false, "note": "x" }), T0 + 1).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 0);
            let a = verify(&s, &a, T0 + 2).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 20);
            // Reopened: exactly what it earned, taken back by a new entry.
            let a = step(&s, &a, Action::Reopen, CaseState::Accepted, json!({ "reason": "x" }), T0 + 3).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 0);
            let kinds: Vec<_> = s.ledger(me, None, 10).await.unwrap().iter().map(|e| (e.kind, e.points)).collect();
            assert_eq!(kinds, [(EntryKind::Reversal, -20), (EntryKind::ReportVerified, 20)]);
            assert_eq!(s.ledger(me, None, 10).await.unwrap()[1].case_reference.as_deref(), Some(a.reference.as_str()));
            // Verified again the same day: earns again, but the day's cap (50) counts the first.
            let _a = verify(&s, &a, T0 + 4).await;
            let b = new_case(&s, &resident, T0 + 5).await;
            let _b = verify(&s, &b, T0 + 6).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 30, "20 + 20 capped to 10 (20 + 20 + 10 = 50)");
            let c = new_case(&s, &resident, T0 + 7).await;
            verify(&s, &c, T0 + 8).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 30, "nothing past the cap");
            assert_eq!(s.points_earned_on(me, T0 + 9).await.unwrap(), 50, "the reversal does not give the cap back");
            // The next local day earns again.
            let d = new_case(&s, &resident, T0 + DAY).await;
            verify(&s, &d, T0 + DAY + 1).await;
            assert_eq!(s.point_account(me).await.unwrap().balance, 50);
            // An anonymous report earns nobody anything.
            let anon = new_case(&s, &Actor::anonymous(), T0 + DAY).await;
            verify(&s, &anon, T0 + DAY + 2).await;
            // The ledger refuses changes.
            assert!(sqlx::query("UPDATE point_ledger SET points = 1000").execute(&s.pool).await.is_err());
            assert!(sqlx::query("DELETE FROM point_ledger").execute(&s.pool).await.is_err());
            // Every entry audited (five, and the rules), and the chain intact.
            assert!(matches!(s.audit_verify().await.unwrap(), crate::AuditCheck::Intact { entries: 6 }));
            let flows = s.point_flows("330483", T0, T0 + 2 * DAY).await.unwrap();
            assert_eq!(flows, [PointFlow { region: GRID.into(), issued: 50, redeemed: 0 }]);
            let board = s.leaderboard("330483101001", T0, 10).await.unwrap();
            assert_eq!((board[0].person_id, board[0].points, board[0].name.as_str(), board[0].on_leaderboard), (me, 50, "张r", false));
            s.set_on_leaderboard(me, true).await.unwrap();
            assert!(s.point_account(me).await.unwrap().on_leaderboard);
            assert!(s.leaderboard("330483101002", T0, 10).await.unwrap().is_empty());
        }

        async fn rewards_are_redeemed_handed_over_and_cancelled(s) {
            s.load_reference(&crate::contract::reference()).await.unwrap();
            let resident = person(&s, "r", Role::Resident, "region:330483").await;
            let member = person(&s, "m", Role::GridMember, &format!("region:{GRID}")).await;
            let me = resident.person.unwrap();
            let staff = member.person.unwrap();
            s.award_points(me, GRID, &Award::Adjustment { points: 100, note: "开户".into() }, T0, staff, &audit("points", T0))
                .await
                .unwrap();
            let hours = s
                .award_points(me, GRID, &Award::VolunteerHours { hours: 2, note: None }, T0, staff, &audit("points", T0))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((hours.kind, hours.points), (EntryKind::VolunteerHours, 10));
            let bag = s.insert_reward("330483101001", &reward(2, 60), T0, &audit("reward", T0)).await.unwrap();
            let r1 = s.redeem(me, bag.id, T0 + 1, &audit("redeem", T0)).await.unwrap();
            assert_eq!((r1.state, r1.cost, r1.person_name.as_str()), (RedemptionState::Pending, 60, "张r"));
            assert_eq!(s.point_account(me).await.unwrap().balance, 50);
            let poor = s.redeem(me, bag.id, T0 + 2, &audit("redeem", T0)).await.unwrap_err();
            assert!(matches!(&poor, StoreError::Conflicts(f) if f.field == "balance"), "{poor:?}");
            assert_eq!(s.reward(bag.id).await.unwrap().unwrap().data.stock, 1, "the refused one took no stock");
            // Cancelled: points and stock back; then it can be neither handed over nor cancelled.
            let c = s.finish_redemption(r1.id, RedemptionState::Cancelled, T0 + 3, staff, Some("不要了"), &audit("hand_over", T0)).await.unwrap();
            assert_eq!(c.state, RedemptionState::Cancelled);
            assert_eq!(s.point_account(me).await.unwrap().balance, 110);
            assert_eq!(s.reward(bag.id).await.unwrap().unwrap().data.stock, 2);
            let again = s.finish_redemption(r1.id, RedemptionState::HandedOver, T0 + 4, staff, None, &audit("hand_over", T0)).await.unwrap_err();
            assert!(matches!(&again, StoreError::Conflicts(f) if f.field == "state"), "{again:?}");
            let r2 = s.redeem(me, bag.id, T0 + 5, &audit("redeem", T0)).await.unwrap();
            let h = s.finish_redemption(r2.id, RedemptionState::HandedOver, T0 + 6, staff, None, &audit("hand_over", T0)).await.unwrap();
            assert_eq!((h.state, h.done_by), (RedemptionState::HandedOver, Some(staff)));
            // The last item goes once.
            s.update_reward(bag.id, &reward(1, 10), T0, &audit("reward", T0)).await.unwrap().unwrap();
            s.redeem(me, bag.id, T0 + 7, &audit("redeem", T0)).await.unwrap();
            let out = s.redeem(me, bag.id, T0 + 8, &audit("redeem", T0)).await.unwrap_err();
            assert!(matches!(&out, StoreError::Conflicts(f) if f.field == "stock"), "{out:?}");
            assert!(s.update_reward(9999, &reward(1, 10), T0, &audit("reward", T0)).await.unwrap().is_none());
            let mine = s.redemptions(&RedemptionQuery { person: Some(me), limit: 10, ..Default::default() }).await.unwrap();
            assert_eq!(mine.len(), 3);
            let pending = RedemptionQuery {
                under: Some(vec!["330483101".into()]),
                state: Some(RedemptionState::Pending),
                limit: 10,
                ..Default::default()
            };
            assert_eq!(s.redemptions(&pending).await.unwrap().len(), 1);
            let elsewhere = RedemptionQuery { under: Some(vec!["330482".into()]), limit: 10, ..Default::default() };
            assert!(s.redemptions(&elsewhere).await.unwrap().is_empty());
            assert_eq!(s.rewards(Some(&["330483".to_string()]), true).await.unwrap().len(), 1);
            let flows = s.point_flows("330483", T0, T0 + DAY).await.unwrap();
            assert_eq!(flows.iter().map(|f| f.redeemed).sum::<i64>(), 70, "60 handed over + 10 pending; the cancelled refunded");
            // The balance is the ledger's sum.
            let sum: i64 = s.ledger(me, None, 100).await.unwrap().iter().map(|e| e.points).sum();
            assert_eq!(s.point_account(me).await.unwrap().balance, sum);
            let k = s.commend(staff, GRID, "台风中值守", T0, me, &audit("commend", T0)).await.unwrap();
            assert_eq!(s.commendations(staff).await.unwrap(), [k]);
            let _ = PointRule { category: None, urgency: None, points: 0 };
        }

        async fn two_redemptions_of_the_last_item_at_once_one_wins(s) {
            s.load_reference(&crate::contract::reference()).await.unwrap();
            let a = person(&s, "a", Role::Resident, "region:330483").await.person.unwrap();
            let b = person(&s, "b", Role::Resident, "region:330483").await.person.unwrap();
            for p in [a, b] {
                s.award_points(p, GRID, &Award::Adjustment { points: 50, note: "x".into() }, T0, p, &audit("points", T0)).await.unwrap();
            }
            let last = s.insert_reward(GRID, &reward(1, 50), T0, &audit("reward", T0)).await.unwrap();
            let au = audit("redeem", T0);
            let (x, y, z) = tokio::join!(
                s.redeem(a, last.id, T0, &au),
                s.redeem(b, last.id, T0, &au),
                s.redeem(a, last.id, T0, &au),
            );
            let won = [&x, &y, &z].iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "{x:?} {y:?} {z:?}");
            assert_eq!(s.reward(last.id).await.unwrap().unwrap().data.stock, 0);
            for p in [a, b] {
                assert!(s.point_account(p).await.unwrap().balance >= 0);
            }
        }
    }
}
