//! People in care (关爱对象: elderly living alone, disabled people, left-behind children, …)
//! attached to a house, and the visits made to them. Their names, phones and ID numbers and the
//! visits' notes are sealed; each entry carries when its next visit is due, which the index
//! `care_people_due` serves for a subtree.

use async_trait::async_trait;
use gridkeeper_domain::registry::{
    changes, visit_due, CareData, CareId, CareKind, CarePatch, CareVisit, ChangeAction, EntityKind, EntityRef, HouseId,
    PersonInCare, PersonalDetails, Phone, ResidentIdNumber,
};
use gridkeeper_domain::{Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::registry::{invalid, page_limit, push_under, ID_NUMBER, PHONE};
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result, StoreError};

/// Filters of [`CareStore::people_in_care`]; pages by id.
#[derive(Debug, Clone, Default)]
pub struct CareQuery {
    pub under: Option<RegionCode>,
    pub house: Option<HouseId>,
    /// Those whose next visit is due at or before this instant.
    pub due_by: Option<Millis>,
    pub kind: Option<CareKind>,
    pub phone: Option<Phone>,
    pub id_number: Option<ResidentIdNumber>,
    pub after: Option<CareId>,
    /// At most 1,000; 0 means 100.
    pub limit: u32,
}

#[async_trait]
pub trait CareStore: Send + Sync {
    /// Refuses an unknown house, no kind of care, an interval outside 1 to 366 days. The first
    /// visit is due `visit_every_days` after `at`.
    async fn add_person_in_care(&self, c: &CareData, actor: Option<PersonId>, at: Millis) -> Result<PersonInCare>;
    /// Changes the fields the patch gives and records them in the history (a new interval moves
    /// the next visit; a new house, the grid).
    async fn update_person_in_care(
        &self,
        id: CareId,
        p: &CarePatch,
        actor: Option<PersonId>,
        at: Millis,
    ) -> Result<PersonInCare>;
    /// The entry with the person masked.
    async fn person_in_care(&self, id: CareId) -> Result<Option<PersonInCare>>;
    async fn people_in_care(&self, q: &CareQuery) -> Result<Vec<PersonInCare>>;
    /// A visit at `at` (its note sealed); the next is due `visit_every_days` after the latest visit.
    async fn record_care_visit(
        &self,
        id: CareId,
        by: Option<PersonId>,
        at: Millis,
        note: Option<&str>,
    ) -> Result<CareVisit>;
    /// The visits of a person in care, newest first, notes opened (the caller audits it).
    async fn care_visits(&self, id: CareId) -> Result<Vec<CareVisit>>;
}

const CARE_COLUMNS: &str = "id, house_id, grid, person_name, person_phone, person_id_number, kinds, visit_every_days, \
                            last_visited_at, visit_due_at, created_at, updated_at";

/// Kinds of care as stored: their codes, sorted, comma-separated.
fn kinds_text(c: &CareData) -> String {
    c.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
}

generic! {
    impl SqlStore {
        fn care_row(&self, r: &D::Row) -> Result<(PersonInCare, PersonalDetails)> {
            let person = self
                .open_person(r, "care_people", "person")?
                .ok_or_else(|| corrupt("a person in care without their details"))?;
            let kinds: String = r.try_get("kinds")?;
            let every: i32 = r.try_get("visit_every_days")?;
            Ok((
                PersonInCare {
                    id: CareId(r.try_get("id")?),
                    data: CareData {
                        house: HouseId(r.try_get("house_id")?),
                        person: person.masked(),
                        kinds: kinds.split(',').map(|k| parse_field(CareKind::parse(k))).collect::<Result<_>>()?,
                        visit_every_days: u16::try_from(every).map_err(corrupt)?,
                    },
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    last_visited_at: r.try_get("last_visited_at")?,
                    visit_due_at: r.try_get("visit_due_at")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                },
                person,
            ))
        }

        async fn care_in(&self, conn: &mut D::Connection, id: CareId, lock: bool) -> Result<Option<(PersonInCare, PersonalDetails)>> {
            let lock = if lock { D::FOR_UPDATE } else { "" };
            sqlx::query(&format!("SELECT {CARE_COLUMNS} FROM care_people WHERE id = $1{lock}"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| self.care_row(&r))
                .transpose()
        }

        async fn house_grid(conn: &mut D::Connection, house: HouseId) -> Result<String> {
            sqlx::query_scalar("SELECT grid FROM houses WHERE id = $1")
                .bind(house.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid("house", format!("there is no house {house}")))
        }
    }
}

generic! {
    #[async_trait]
    impl CareStore for SqlStore {
        async fn add_person_in_care(&self, c: &CareData, actor: Option<PersonId>, at: Millis) -> Result<PersonInCare> {
            c.check().map_err(StoreError::Invalid)?;
            let mut tx = self.begin_write().await?;
            let grid = Self::house_grid(&mut tx, c.house).await?;
            let s = self.vault.seal_person("care_people", "person", &c.person);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO care_people (house_id, grid, person_name, person_phone, person_phone_index, person_id_number, \
                 person_id_index, kinds, visit_every_days, visit_due_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            )
            .bind(c.house.0)
            .bind(grid)
            .bind(s.name)
            .bind(s.phone)
            .bind(s.phone_index)
            .bind(s.id_number)
            .bind(s.id_index)
            .bind(kinds_text(c))
            .bind(i32::from(c.visit_every_days))
            .bind(visit_due(at, c.visit_every_days))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Care, id), ChangeAction::Created, actor, at, &changes(None, c)).await?;
            let (out, _) = self.care_in(&mut tx, CareId(id), false).await?.ok_or_else(|| corrupt("a person in care just written"))?;
            tx.commit().await?;
            Ok(out)
        }

        async fn update_person_in_care(&self, id: CareId, p: &CarePatch, actor: Option<PersonId>, at: Millis) -> Result<PersonInCare> {
            let mut tx = self.begin_write().await?;
            let (entry, person) = self
                .care_in(&mut tx, id, true)
                .await?
                .ok_or_else(|| invalid("care", format!("there is no person in care {id}")))?;
            let old = CareData {
                house: entry.data.house,
                person,
                kinds: entry.data.kinds.clone(),
                visit_every_days: entry.data.visit_every_days,
            };
            let new = old.patched(p);
            new.check().map_err(StoreError::Invalid)?;
            let changed = changes(Some(&old), &new);
            if changed.is_empty() {
                return Ok(entry);
            }
            let grid = Self::house_grid(&mut tx, new.house).await?;
            let due = visit_due(entry.last_visited_at.unwrap_or(entry.created_at), new.visit_every_days);
            let s = self.vault.seal_person("care_people", "person", &new.person);
            sqlx::query(
                "UPDATE care_people SET house_id = $1, grid = $2, person_name = $3, person_phone = $4, person_phone_index = $5, \
                 person_id_number = $6, person_id_index = $7, kinds = $8, visit_every_days = $9, visit_due_at = $10, \
                 updated_at = $11 WHERE id = $12",
            )
            .bind(new.house.0)
            .bind(grid)
            .bind(s.name)
            .bind(s.phone)
            .bind(s.phone_index)
            .bind(s.id_number)
            .bind(s.id_index)
            .bind(kinds_text(&new))
            .bind(i32::from(new.visit_every_days))
            .bind(due)
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Care, id.0), ChangeAction::Updated, actor, at, &changed).await?;
            let (out, _) = self.care_in(&mut tx, id, false).await?.ok_or_else(|| corrupt("a person in care just written"))?;
            tx.commit().await?;
            Ok(out)
        }

        async fn person_in_care(&self, id: CareId) -> Result<Option<PersonInCare>> {
            let mut conn = self.pool.acquire().await?;
            Ok(self.care_in(&mut conn, id, false).await?.map(|(c, _)| c))
        }

        async fn people_in_care(&self, q: &CareQuery) -> Result<Vec<PersonInCare>> {
            let mut b = Sql::new(format!("SELECT {CARE_COLUMNS} FROM care_people WHERE id > "));
            b.push_bind(q.after.map_or(0, |a| a.0));
            push_under(&mut b, "grid", q.under.as_ref());
            if let Some(h) = q.house {
                b.push(" AND house_id = ").push_bind(h.0);
            }
            if let Some(t) = q.due_by {
                b.push(" AND visit_due_at <= ").push_bind(t);
            }
            if let Some(k) = q.kind {
                // Codes are comma-separated and none is a part of another.
                b.push(" AND kinds LIKE ").push_bind(format!("%{}%", k.as_str()));
            }
            if let Some(p) = &q.phone {
                b.push(" AND person_phone_index = ").push_bind(self.vault.blind_index(PHONE, p.as_str()));
            }
            if let Some(i) = &q.id_number {
                b.push(" AND person_id_index = ").push_bind(self.vault.blind_index(ID_NUMBER, i.as_str()));
            }
            b.push(" ORDER BY id LIMIT ").push_bind(page_limit(q.limit));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.care_row(r).map(|(c, _)| c)).collect()
        }

        async fn record_care_visit(&self, id: CareId, by: Option<PersonId>, at: Millis, note: Option<&str>) -> Result<CareVisit> {
            let note = note.map(str::trim).filter(|n| !n.is_empty());
            if note.is_some_and(|n| n.chars().count() > 2000) {
                return Err(invalid("note", "is longer than 2000 characters"));
            }
            let mut tx = self.begin_write().await?;
            let (entry, _) = self
                .care_in(&mut tx, id, true)
                .await?
                .ok_or_else(|| invalid("care", format!("there is no person in care {id}")))?;
            if let Some(p) = by {
                Self::check_person(&mut tx, "by", p).await?;
            }
            let visit: i64 = sqlx::query_scalar("INSERT INTO care_visits (care_id, at, by_person, note) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(id.0)
                .bind(at)
                .bind(by)
                .bind(self.vault.seal_opt("care_visits.note", note))
                .fetch_one(&mut *tx)
                .await?;
            let latest = entry.last_visited_at.map_or(at, |l| l.max(at));
            sqlx::query("UPDATE care_people SET last_visited_at = $1, visit_due_at = $2 WHERE id = $3")
                .bind(latest)
                .bind(visit_due(latest, entry.data.visit_every_days))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(CareVisit { id: visit, care: id, at, by, note: note.map(str::to_string) })
        }

        async fn care_visits(&self, id: CareId) -> Result<Vec<CareVisit>> {
            sqlx::query("SELECT id, care_id, at, by_person, note FROM care_visits WHERE care_id = $1 ORDER BY at DESC, id DESC")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let note: Option<String> = r.try_get("note")?;
                    Ok(CareVisit {
                        id: r.try_get("id")?,
                        care: CareId(r.try_get("care_id")?),
                        at: r.try_get("at")?,
                        by: r.try_get("by_person")?,
                        note: self.vault.open_opt("care_visits.note", note.as_deref()).map_err(corrupt)?,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::registry::*;
    use sqlx::Row;

    use super::CareQuery;
    use crate::prelude::*;
    use crate::registry::fixtures::*;
    use crate::testing::on_both;

    const DAY: i64 = 86_400_000;

    on_both! {
        async fn people_in_care_are_visited_on_schedule(s) {
            let (member, _) = town(&s).await;
            let b = s.create_building(&building(GRID), None, 1).await.unwrap();
            let h = s.create_house(&house(b.id, "101", None), None, 1).await.unwrap();
            let b2 = s.create_building(&building(GRID2), None, 1).await.unwrap();
            let h2 = s.create_house(&house(b2.id, "201", None), None, 1).await.unwrap();
            let grandma = CareData {
                house: h.id,
                person: person("陈奶奶", Some("13600000000"), Some(ID)),
                kinds: [CareKind::ElderlyAlone, CareKind::LowIncome].into(),
                visit_every_days: 7,
            };
            assert_eq!(refused(s.add_person_in_care(&CareData { house: HouseId(99), ..grandma.clone() }, None, 0).await).field, "house");
            assert_eq!(refused(s.add_person_in_care(&CareData { kinds: Default::default(), ..grandma.clone() }, None, 0).await).field, "kinds");
            let c = s.add_person_in_care(&grandma, Some(member), 0).await.unwrap();
            assert_eq!((c.visit_due_at, c.grid.as_str(), c.data.person.name.as_str()), (7 * DAY, GRID, "陈**"));
            assert_eq!(s.person_in_care(c.id).await.unwrap(), Some(c.clone()));
            let child = CareData { house: h2.id, person: person("小明", None, None), kinds: [CareKind::LeftBehindChild].into(), visit_every_days: 30 };
            let kid = s.add_person_in_care(&child, None, 0).await.unwrap();
            let ids = |v: Vec<PersonInCare>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
            let due = |t: i64| CareQuery { due_by: Some(t), under: Some(code("330483101001")), ..Default::default() };
            assert_eq!(ids(s.people_in_care(&due(8 * DAY)).await.unwrap()), [c.id]);
            assert_eq!(ids(s.people_in_care(&due(31 * DAY)).await.unwrap()), [c.id, kid.id]);
            // A visit moves the next one; its note is sealed at rest and opened for the visit list.
            assert_eq!(refused(s.record_care_visit(CareId(99), Some(member), DAY, None).await).field, "care");
            let v = s.record_care_visit(c.id, Some(member), 6 * DAY, Some(" 身体好，药够 ")).await.unwrap();
            assert_eq!(v.note.as_deref(), Some("身体好，药够"));
            s.record_care_visit(c.id, None, 2 * DAY, None).await.unwrap();
            let after = s.person_in_care(c.id).await.unwrap().unwrap();
            assert_eq!((after.last_visited_at, after.visit_due_at), (Some(6 * DAY), 13 * DAY));
            assert!(s.people_in_care(&due(8 * DAY)).await.unwrap().is_empty());
            let visits = s.care_visits(c.id).await.unwrap();
            assert_eq!(visits.iter().map(|v| (v.at, v.note.as_deref())).collect::<Vec<_>>(), [(6 * DAY, Some("身体好，药够")), (2 * DAY, None)]);
            let raw: String = sqlx::query("SELECT note FROM care_visits WHERE note IS NOT NULL").fetch_one(&s.pool).await.unwrap().get(0);
            assert!(!raw.contains("药"));
            // An update: a shorter interval moves the due visit; the history masks the person.
            let p = CarePatch { visit_every_days: Some(3), person: Some(person("陈奶奶", Some("13611112222"), Some(ID))), ..Default::default() };
            let up = s.update_person_in_care(c.id, &p, Some(member), 7 * DAY).await.unwrap();
            assert_eq!(up.visit_due_at, 9 * DAY);
            let history = s.registry_history(EntityRef::new(EntityKind::Care, c.id.0)).await.unwrap();
            let fields: Vec<_> = history[1].changes.iter().map(|c| (c.field.as_str(), c.new.as_str().map(str::to_string))).collect();
            assert_eq!(fields, [("person.phone", Some("136****2222".to_string())), ("visit_every_days", None)]);
            let bad = CarePatch { visit_every_days: Some(0), ..Default::default() };
            assert_eq!(refused(s.update_person_in_care(c.id, &bad, None, 8 * DAY).await).field, "visit_every_days");
            assert_eq!(refused(s.update_person_in_care(CareId(99), &p, None, 8 * DAY).await).field, "care");
            assert_eq!(s.registry_history(EntityRef::new(EntityKind::Care, c.id.0)).await.unwrap().len(), 2);
            // Moving to another house moves the grid.
            let moved = s.update_person_in_care(c.id, &CarePatch { house: Some(h2.id), ..Default::default() }, None, 9 * DAY).await.unwrap();
            assert_eq!(moved.grid.as_str(), GRID2);
            // Filters.
            let q = |f: fn(&mut CareQuery)| {
                let mut q = CareQuery::default();
                f(&mut q);
                q
            };
            assert_eq!(ids(s.people_in_care(&q(|q| q.kind = Some(CareKind::LowIncome))).await.unwrap()), [c.id]);
            assert_eq!(ids(s.people_in_care(&q(|q| q.house = Some(HouseId(2)))).await.unwrap()), [c.id, kid.id]);
            assert_eq!(ids(s.people_in_care(&q(|q| q.phone = Some(Phone::parse("13611112222").unwrap()))).await.unwrap()), [c.id]);
            assert_eq!(ids(s.people_in_care(&q(|q| q.id_number = Some(ResidentIdNumber::parse(ID).unwrap()))).await.unwrap()), [c.id]);
            assert_eq!(ids(s.people_in_care(&q(|q| { q.after = Some(CareId(1)); q.limit = 5; })).await.unwrap()), [kid.id]);
        }
    }
}
