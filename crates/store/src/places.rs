//! Places (场所) of the grids — the three small, enterprises, markets, schools, … — with their
//! kinds' field schemas, their visits (freshness) and the map layer. A place closes or moves; it
//! never vanishes. The responsible person's name, phone and ID number are sealed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gridkeeper_domain::registry::{
    changes, default_place_kinds, ChangeAction, CreditCode, EntityKind, EntityRef, FieldChange, Licence, Phone, Place,
    PlaceData, PlaceId, PlaceKind, PlacePatch, PlaceStatus, ResidentIdNumber, RiskLevel, Text,
};
use gridkeeper_domain::{LatLon, Millis, PersonId, RegionCode};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::dialect::generic;
use crate::registry::{invalid, page_limit, push_under, ID_NUMBER, PHONE};
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result, StoreError};

/// Filters of [`PlaceStore::places`]; pages by id.
#[derive(Debug, Clone, Default)]
pub struct PlaceQuery {
    pub under: Option<RegionCode>,
    /// Any of these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<PlaceStatus>,
    /// Names that start with this text (exactly, case and all).
    pub name_prefix: Option<String>,
    pub credit_code: Option<CreditCode>,
    /// The responsible person's phone or ID number (blind index).
    pub phone: Option<Phone>,
    pub id_number: Option<ResidentIdNumber>,
    pub functional_grid: Option<String>,
    pub risk: Option<RiskLevel>,
    /// Stale places: never visited, or last visited before this instant.
    pub not_visited_since: Option<Millis>,
    pub after: Option<PlaceId>,
    /// At most 1,000; 0 means 100.
    pub limit: u32,
}

/// Where a place moved to.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceMove {
    pub address: Text,
    pub location: LatLon,
    pub grid: RegionCode,
}

/// A place on a map layer: no personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceMarker {
    pub id: PlaceId,
    pub kind: String,
    pub name: String,
    pub location: LatLon,
    pub grid: RegionCode,
    pub status: PlaceStatus,
    pub risk: RiskLevel,
    pub last_visited_at: Option<Millis>,
}

/// A grid member's visit of a place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceVisit {
    pub place: PlaceId,
    pub at: Millis,
    pub by: Option<PersonId>,
}

#[async_trait]
pub trait PlaceStore: Send + Sync {
    /// The kinds of places, in their order (the defaults of a town until a deployment puts its own).
    async fn place_kinds(&self) -> Result<Vec<PlaceKind>>;
    /// Adds a kind or replaces the one of the same key (checked by `PlaceKind::check`); places
    /// already stored keep their fields.
    async fn put_place_kind(&self, kind: &PlaceKind, at: Millis) -> Result<()>;

    /// Refuses an unknown kind, fields its schema refuses, an unknown or retired grid, and a credit
    /// code another open place has.
    async fn create_place(&self, p: &PlaceData, actor: Option<PersonId>, at: Millis) -> Result<Place>;
    /// Changes the fields the patch gives (checked as on creation) and records them in the
    /// history; nothing is written when nothing changes. Refused once the place closed or moved.
    async fn update_place(&self, id: PlaceId, p: &PlacePatch, actor: Option<PersonId>, at: Millis) -> Result<Place>;
    /// The place closed (it stays, with status `closed`).
    async fn close_place(&self, id: PlaceId, actor: Option<PersonId>, at: Millis) -> Result<Place>;
    /// The place moved: its entry stays with status `moved` and `moved_to` its new entry, which is
    /// returned (the same place at the new address, open, not visited yet).
    async fn move_place(&self, id: PlaceId, to: &PlaceMove, actor: Option<PersonId>, at: Millis) -> Result<Place>;
    /// A grid member visited the place at `at` (freshness keeps the latest visit).
    async fn mark_place_visited(&self, id: PlaceId, by: PersonId, at: Millis) -> Result<Place>;
    /// The place with its responsible person masked.
    async fn place(&self, id: PlaceId) -> Result<Option<Place>>;
    async fn places(&self, q: &PlaceQuery) -> Result<Vec<Place>>;
    /// The places of a subtree for a map layer (open ones, or all), without personal data.
    async fn place_layer(&self, under: &RegionCode, all_statuses: bool) -> Result<Vec<PlaceMarker>>;
    /// The latest visits of a place, newest first.
    async fn place_visits(&self, id: PlaceId, limit: u32) -> Result<Vec<PlaceVisit>>;
}

const PLACE_COLUMNS: &str = "id, kind, name, address, lat, lon, grid, functional_grid, credit_code, licences, \
    responsible_name, responsible_phone, responsible_id_number, staff, risk, fields, status, moved_to, \
    last_visited_at, last_visited_by, created_at, updated_at";

generic! {
    impl SqlStore {
        /// The default kinds, put when the store has none (at migration).
        pub(crate) async fn ensure_place_kinds(&self) -> Result<()> {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM place_kinds").fetch_one(&self.pool).await?;
            if n == 0 {
                for k in default_place_kinds() {
                    self.put_place_kind(&k, 0).await?;
                }
            }
            Ok(())
        }

        /// A place row: the entry (responsible person masked) and its data in clear.
        fn place_row(&self, r: &D::Row) -> Result<(Place, PlaceData)> {
            let responsible = self
                .open_person(r, "places", "responsible")?
                .ok_or_else(|| corrupt("a place without its responsible person"))?;
            let text = |c: &str| -> Result<Text> { parse_field(Text::parse(c, r.try_get(c)?)) };
            let licences: String = r.try_get("licences")?;
            let fields: String = r.try_get("fields")?;
            let functional: Option<String> = r.try_get("functional_grid")?;
            let credit: Option<String> = r.try_get("credit_code")?;
            let staff: i64 = r.try_get("staff")?;
            let data = PlaceData {
                kind: r.try_get("kind")?,
                name: text("name")?,
                address: text("address")?,
                location: parse_field(LatLon::new(r.try_get("lat")?, r.try_get("lon")?))?,
                grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                functional_grid: functional.map(|f| parse_field(Text::parse("functional_grid", &f))).transpose()?,
                credit_code: credit.map(|c| parse_field(CreditCode::parse(&c))).transpose()?,
                licences: serde_json::from_str::<Vec<Licence>>(&licences).map_err(corrupt)?,
                responsible,
                staff: crate::unsigned(staff)?,
                risk: parse_field(RiskLevel::parse(r.try_get("risk")?))?,
                fields: serde_json::from_str(&fields).map_err(corrupt)?,
            };
            let place = Place {
                id: PlaceId(r.try_get("id")?),
                data: PlaceData {
                    kind: data.kind.clone(),
                    name: data.name.clone(),
                    address: data.address.clone(),
                    location: data.location,
                    grid: data.grid.clone(),
                    functional_grid: data.functional_grid.clone(),
                    credit_code: data.credit_code.clone(),
                    licences: data.licences.clone(),
                    responsible: data.responsible.masked(),
                    staff: data.staff,
                    risk: data.risk,
                    fields: data.fields.clone(),
                },
                status: parse_field(PlaceStatus::parse(r.try_get("status")?))?,
                moved_to: r.try_get::<Option<i64>, _>("moved_to")?.map(PlaceId),
                last_visited_at: r.try_get("last_visited_at")?,
                last_visited_by: r.try_get("last_visited_by")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            };
            Ok((place, data))
        }

        async fn place_in(&self, conn: &mut D::Connection, id: PlaceId, lock: bool) -> Result<Option<(Place, PlaceData)>> {
            let lock = if lock { D::FOR_UPDATE } else { "" };
            sqlx::query(&format!("SELECT {PLACE_COLUMNS} FROM places WHERE id = $1{lock}"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| self.place_row(&r))
                .transpose()
        }

        async fn open_place_in(&self, conn: &mut D::Connection, id: PlaceId) -> Result<(Place, PlaceData)> {
            let (place, data) =
                self.place_in(conn, id, true).await?.ok_or_else(|| invalid("place", format!("there is no place {id}")))?;
            if place.status != PlaceStatus::Open {
                return Err(invalid("status", format!("place {id} is {} already", place.status.as_str())));
            }
            Ok((place, data))
        }

        /// `p` as its kind accepts it, refusing what the registry refuses (see `create_place`).
        /// `kinds` caches the kinds read (for a batch).
        async fn check_place(
            conn: &mut D::Connection,
            id: Option<PlaceId>,
            p: &PlaceData,
            kinds: &mut BTreeMap<String, Option<PlaceKind>>,
        ) -> Result<PlaceData> {
            if !kinds.contains_key(&p.kind) {
                let text: Option<String> = sqlx::query_scalar("SELECT kind FROM place_kinds WHERE key = $1")
                    .bind(&p.kind)
                    .fetch_optional(&mut *conn)
                    .await?;
                let kind = text.map(|t| serde_json::from_str::<PlaceKind>(&t).map_err(corrupt)).transpose()?;
                kinds.insert(p.kind.clone(), kind);
            }
            let kind = kinds[&p.kind].as_ref().ok_or_else(|| invalid("kind", format!("there is no kind of place `{}`", p.kind)))?;
            let p = p.clone().checked(kind).map_err(StoreError::Invalid)?;
            Self::check_grid(conn, "grid", &p.grid).await?;
            if let Some(code) = &p.credit_code {
                let other: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM places WHERE credit_code = $1 AND status = 'open' AND id <> $2",
                )
                .bind(code.as_str())
                .bind(id.map_or(0, |i| i.0))
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(o) = other {
                    return Err(invalid("credit_code", format!("{code} is registered for place {o} already")));
                }
            }
            Ok(p)
        }

        pub(crate) async fn insert_place(
            &self,
            conn: &mut D::Connection,
            p: &PlaceData,
            kinds: &mut BTreeMap<String, Option<PlaceKind>>,
            actor: Option<PersonId>,
            at: Millis,
        ) -> Result<PlaceId> {
            let p = Self::check_place(conn, None, p, kinds).await?;
            let id = self.write_place(conn, None, &p, at).await?;
            Self::record_change(conn, EntityRef::new(EntityKind::Place, id.0), ChangeAction::Created, actor, at, &changes(None, &p)).await?;
            Ok(id)
        }

        /// Inserts (`id` None) or updates the columns of a place's data.
        async fn write_place(&self, conn: &mut D::Connection, id: Option<PlaceId>, p: &PlaceData, at: Millis) -> Result<PlaceId> {
            let s = self.vault.seal_person("places", "responsible", &p.responsible);
            let sql = match id {
                None => "INSERT INTO places (kind, name, address, lat, lon, grid, functional_grid, credit_code, licences, \
                         responsible_name, responsible_phone, responsible_phone_index, responsible_id_number, \
                         responsible_id_index, staff, risk, fields, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'open', $18, $18) \
                         RETURNING id",
                Some(_) => "UPDATE places SET kind = $1, name = $2, address = $3, lat = $4, lon = $5, grid = $6, \
                            functional_grid = $7, credit_code = $8, licences = $9, responsible_name = $10, \
                            responsible_phone = $11, responsible_phone_index = $12, responsible_id_number = $13, \
                            responsible_id_index = $14, staff = $15, risk = $16, fields = $17, updated_at = $18 \
                            WHERE id = $19 RETURNING id",
            };
            let mut q = sqlx::query_scalar(sql)
                .bind(&p.kind)
                .bind(p.name.as_str())
                .bind(p.address.as_str())
                .bind(p.location.lat)
                .bind(p.location.lon)
                .bind(p.grid.as_str())
                .bind(p.functional_grid.as_ref().map(|f| f.as_str().to_string()))
                .bind(p.credit_code.as_ref().map(|c| c.as_str().to_string()))
                .bind(crate::json(&p.licences))
                .bind(s.name)
                .bind(s.phone)
                .bind(s.phone_index)
                .bind(s.id_number)
                .bind(s.id_index)
                .bind(i64::from(p.staff))
                .bind(p.risk.as_str())
                .bind(crate::json(&p.fields))
                .bind(at);
            if let Some(i) = id {
                q = q.bind(i.0);
            }
            let id: i64 = q.fetch_one(&mut *conn).await?;
            Ok(PlaceId(id))
        }

        async fn set_status(conn: &mut D::Connection, id: PlaceId, status: PlaceStatus, moved_to: Option<PlaceId>, at: Millis) -> Result<()> {
            sqlx::query("UPDATE places SET status = $1, moved_to = $2, updated_at = $3 WHERE id = $4")
                .bind(status.as_str())
                .bind(moved_to.map(|m| m.0))
                .bind(at)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        async fn read_place(&self, conn: &mut D::Connection, id: PlaceId) -> Result<Place> {
            Ok(self.place_in(conn, id, false).await?.ok_or_else(|| corrupt("a place just written"))?.0)
        }
    }
}

generic! {
    #[async_trait]
    impl PlaceStore for SqlStore {
        async fn place_kinds(&self) -> Result<Vec<PlaceKind>> {
            sqlx::query_scalar::<_, String>("SELECT kind FROM place_kinds ORDER BY position, key")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|t| serde_json::from_str(t).map_err(corrupt))
                .collect()
        }

        async fn put_place_kind(&self, kind: &PlaceKind, at: Millis) -> Result<()> {
            kind.check().map_err(StoreError::Invalid)?;
            sqlx::query(
                "INSERT INTO place_kinds (key, position, kind, updated_at) \
                 VALUES ($1, (SELECT CAST(count(*) AS INTEGER) FROM place_kinds), $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, updated_at = excluded.updated_at",
            )
            .bind(&kind.key)
            .bind(crate::json(kind))
            .bind(at)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn create_place(&self, p: &PlaceData, actor: Option<PersonId>, at: Millis) -> Result<Place> {
            let mut tx = self.begin_write().await?;
            let id = self.insert_place(&mut tx, p, &mut BTreeMap::new(), actor, at).await?;
            let place = self.read_place(&mut tx, id).await?;
            tx.commit().await?;
            Ok(place)
        }

        async fn update_place(&self, id: PlaceId, p: &PlacePatch, actor: Option<PersonId>, at: Millis) -> Result<Place> {
            let mut tx = self.begin_write().await?;
            let (place, old) = self.open_place_in(&mut tx, id).await?;
            let new = Self::check_place(&mut tx, Some(id), &old.patched(p), &mut BTreeMap::new()).await?;
            let changed = changes(Some(&old), &new);
            if changed.is_empty() {
                return Ok(place);
            }
            self.write_place(&mut tx, Some(id), &new, at).await?;
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Place, id.0), ChangeAction::Updated, actor, at, &changed).await?;
            let place = self.read_place(&mut tx, id).await?;
            tx.commit().await?;
            Ok(place)
        }

        async fn close_place(&self, id: PlaceId, actor: Option<PersonId>, at: Millis) -> Result<Place> {
            let mut tx = self.begin_write().await?;
            self.open_place_in(&mut tx, id).await?;
            Self::set_status(&mut tx, id, PlaceStatus::Closed, None, at).await?;
            let change = FieldChange { field: "status".into(), old: json!("open"), new: json!("closed") };
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Place, id.0), ChangeAction::Closed, actor, at, &[change]).await?;
            let place = self.read_place(&mut tx, id).await?;
            tx.commit().await?;
            Ok(place)
        }

        async fn move_place(&self, id: PlaceId, to: &PlaceMove, actor: Option<PersonId>, at: Millis) -> Result<Place> {
            let mut tx = self.begin_write().await?;
            let (_, old) = self.open_place_in(&mut tx, id).await?;
            // The old entry leaves the open ones first, so that its credit code may move with it.
            Self::set_status(&mut tx, id, PlaceStatus::Moved, None, at).await?;
            let mut new = old.clone();
            new.address = to.address.clone();
            new.location = to.location;
            new.grid = to.grid.clone();
            let new = Self::check_place(&mut tx, None, &new, &mut BTreeMap::new()).await?;
            let new_id = self.write_place(&mut tx, None, &new, at).await?;
            Self::set_status(&mut tx, id, PlaceStatus::Moved, Some(new_id), at).await?;
            let moved = vec![
                FieldChange { field: "moved_to".into(), old: json!(null), new: json!(new_id.0) },
                FieldChange { field: "status".into(), old: json!("open"), new: json!("moved") },
            ];
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Place, id.0), ChangeAction::Moved, actor, at, &moved).await?;
            let mut created = changes(None, &new);
            created.insert(0, FieldChange { field: "moved_from".into(), old: json!(null), new: json!(id.0) });
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Place, new_id.0), ChangeAction::Moved, actor, at, &created).await?;
            let place = self.read_place(&mut tx, new_id).await?;
            tx.commit().await?;
            Ok(place)
        }

        async fn mark_place_visited(&self, id: PlaceId, by: PersonId, at: Millis) -> Result<Place> {
            let mut tx = self.begin_write().await?;
            Self::check_person(&mut tx, "by", by).await?;
            let done = sqlx::query(
                "UPDATE places SET last_visited_by = CASE WHEN last_visited_at IS NULL OR last_visited_at <= $1 THEN $2 ELSE last_visited_by END, \
                 last_visited_at = CASE WHEN last_visited_at IS NULL OR last_visited_at <= $1 THEN $1 ELSE last_visited_at END \
                 WHERE id = $3",
            )
            .bind(at)
            .bind(by)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            if D::rows_affected(&done) == 0 {
                return Err(invalid("place", format!("there is no place {id}")));
            }
            sqlx::query("INSERT INTO place_visits (place_id, at, by_person) VALUES ($1, $2, $3)")
                .bind(id.0)
                .bind(at)
                .bind(by)
                .execute(&mut *tx)
                .await?;
            let place = self.read_place(&mut tx, id).await?;
            tx.commit().await?;
            Ok(place)
        }

        async fn place(&self, id: PlaceId) -> Result<Option<Place>> {
            let mut conn = self.pool.acquire().await?;
            Ok(self.place_in(&mut conn, id, false).await?.map(|(p, _)| p))
        }

        async fn places(&self, q: &PlaceQuery) -> Result<Vec<Place>> {
            let mut b = Sql::new(format!("SELECT {PLACE_COLUMNS} FROM places WHERE id > "));
            b.push_bind(q.after.map_or(0, |a| a.0));
            push_under(&mut b, "grid", q.under.as_ref());
            if !q.kinds.is_empty() {
                b.push(" AND kind IN ").push_in(q.kinds.iter().map(String::as_str));
            }
            if !q.statuses.is_empty() {
                b.push(" AND status IN ").push_in(q.statuses.iter().map(|s| s.as_str()));
            }
            if let Some(prefix) = q.name_prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                // A range on the index `places_name`: every name that starts with the prefix sorts
                // between it and the prefix followed by the last code point (both compare bytes).
                b.push(" AND name >= ").push_bind(prefix).push(" AND name < ").push_bind(format!("{prefix}\u{10FFFF}"));
            }
            if let Some(c) = &q.credit_code {
                b.push(" AND credit_code = ").push_bind(c.as_str());
            }
            if let Some(p) = &q.phone {
                b.push(" AND responsible_phone_index = ").push_bind(self.vault.blind_index(PHONE, p.as_str()));
            }
            if let Some(i) = &q.id_number {
                b.push(" AND responsible_id_index = ").push_bind(self.vault.blind_index(ID_NUMBER, i.as_str()));
            }
            if let Some(f) = &q.functional_grid {
                b.push(" AND functional_grid = ").push_bind(f.as_str());
            }
            if let Some(r) = q.risk {
                b.push(" AND risk = ").push_bind(r.as_str());
            }
            if let Some(t) = q.not_visited_since {
                b.push(" AND (last_visited_at IS NULL OR last_visited_at < ").push_bind(t).push(")");
            }
            b.push(" ORDER BY id LIMIT ").push_bind(page_limit(q.limit));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.place_row(r).map(|(p, _)| p)).collect()
        }

        async fn place_layer(&self, under: &RegionCode, all_statuses: bool) -> Result<Vec<PlaceMarker>> {
            let mut b = Sql::new("SELECT id, kind, name, lat, lon, grid, status, risk, last_visited_at FROM places WHERE TRUE");
            push_under(&mut b, "grid", Some(under));
            if !all_statuses {
                b.push(" AND status = 'open'");
            }
            b.push(" ORDER BY id");
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(PlaceMarker {
                        id: PlaceId(r.try_get("id")?),
                        kind: r.try_get("kind")?,
                        name: r.try_get("name")?,
                        location: parse_field(LatLon::new(r.try_get("lat")?, r.try_get("lon")?))?,
                        grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                        status: parse_field(PlaceStatus::parse(r.try_get("status")?))?,
                        risk: parse_field(RiskLevel::parse(r.try_get("risk")?))?,
                        last_visited_at: r.try_get("last_visited_at")?,
                    })
                })
                .collect()
        }

        async fn place_visits(&self, id: PlaceId, limit: u32) -> Result<Vec<PlaceVisit>> {
            sqlx::query("SELECT place_id, at, by_person FROM place_visits WHERE place_id = $1 ORDER BY at DESC, id DESC LIMIT $2")
                .bind(id.0)
                .bind(page_limit(limit))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok(PlaceVisit { place: PlaceId(r.try_get("place_id")?), at: r.try_get("at")?, by: r.try_get("by_person")? }))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::registry::*;
    use gridkeeper_domain::{LatLon, RegionCode};
    use serde_json::json;

    use super::{PlaceMove, PlaceQuery};
    use crate::prelude::*;
    use crate::registry::fixtures::*;
    use crate::testing::on_both;

    on_both! {
        async fn kinds_are_the_towns_until_replaced(s) {
            let kinds = s.place_kinds().await.unwrap();
            assert_eq!(kinds, default_place_kinds());
            let mut farm = kinds[0].clone();
            farm.key = "farm_stay".into();
            farm.name = "农家乐".into();
            s.put_place_kind(&farm, 5).await.unwrap();
            let mut shop = kinds[0].clone();
            shop.fields.clear();
            s.put_place_kind(&shop, 6).await.unwrap();
            let now = s.place_kinds().await.unwrap();
            assert_eq!((now.len(), now[0].fields.len(), now.last().unwrap().key.as_str()), (11, 0, "farm_stay"));
            farm.key = "Farm".into();
            assert_eq!(refused(s.put_place_kind(&farm, 7).await).field, "key");
        }

        async fn places_are_checked_changed_closed_and_moved_with_their_history(s) {
            let (member, _) = town(&s).await;
            let mut hotel = place("hotel", "乌镇客栈", GRID);
            hotel.credit_code = Some(CreditCode::parse(HUAWEI).unwrap());
            let p = s.create_place(&hotel, Some(member), 10).await.unwrap();
            assert_eq!((p.status, p.data.responsible.name.as_str(), p.data.responsible.phone.as_deref()), (PlaceStatus::Open, "李*", Some("138****1234")));
            assert_eq!(s.place(p.id).await.unwrap(), Some(p.clone()));
            // Refusals name the field.
            assert_eq!(refused(s.create_place(&place("zoo", "动物园", GRID), None, 1).await).field, "kind");
            let mut no_rooms = place("hotel", "无房", GRID);
            no_rooms.fields.clear();
            assert_eq!(refused(s.create_place(&no_rooms, None, 1).await).field, "fields.rooms");
            assert_eq!(refused(s.create_place(&place("shop", "店", RETIRED), None, 1).await).field, "grid");
            let mut twin = place("enterprise", "同码厂", GRID);
            twin.credit_code = hotel.credit_code.clone();
            let err = refused(s.create_place(&twin, None, 1).await);
            assert_eq!((err.field.as_str(), err.reason.contains(&format!("place {}", p.id))), ("credit_code", true));
            // An update records the changed fields; a refused one changes nothing.
            let patch = PlacePatch { name: Some(text("乌镇民宿")), fields: Some(serde_json::from_value(json!({"rooms": 14})).unwrap()), ..Default::default() };
            let p2 = s.update_place(p.id, &patch, Some(member), 20).await.unwrap();
            assert_eq!((p2.data.name.as_str(), p2.data.fields["rooms"].clone(), p2.updated_at), ("乌镇民宿", json!(14), 20));
            let bad = PlacePatch { fields: Some(serde_json::from_value(json!({"rooms": 0})).unwrap()), ..Default::default() };
            assert_eq!(refused(s.update_place(p.id, &bad, Some(member), 21).await).field, "fields.rooms");
            let bad_kind = PlacePatch { kind: Some("shop".into()), ..Default::default() };
            assert_eq!(refused(s.update_place(p.id, &bad_kind, Some(member), 21).await).field, "fields.rooms");
            assert_eq!(s.place(p.id).await.unwrap(), Some(p2.clone()));
            assert_eq!(s.update_place(p.id, &patch, None, 22).await.unwrap(), p2, "no change, no write");
            assert_eq!(refused(s.update_place(PlaceId(99), &patch, None, 22).await).field, "place");
            let history = s.registry_history(EntityRef::new(EntityKind::Place, p.id.0)).await.unwrap();
            assert_eq!(history.len(), 2);
            assert_eq!(history[1].changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["fields.rooms", "name"]);
            // It moves: the old entry stays as moved, the new one carries the credit code.
            let to = PlaceMove { address: text("乌镇镇北栅路2号"), location: LatLon::new(30.75, 120.49).unwrap(), grid: code(GRID2) };
            assert_eq!(refused(s.move_place(p.id, &PlaceMove { grid: code(RETIRED), ..to.clone() }, None, 29).await).field, "grid");
            assert_eq!(s.place(p.id).await.unwrap().unwrap().status, PlaceStatus::Open, "a refused move leaves it open");
            let moved = s.move_place(p.id, &to, Some(member), 30).await.unwrap();
            assert_eq!((moved.data.grid.as_str(), moved.data.name.as_str(), moved.status, moved.data.credit_code.clone()), (GRID2, "乌镇民宿", PlaceStatus::Open, hotel.credit_code.clone()));
            let old = s.place(p.id).await.unwrap().unwrap();
            assert_eq!((old.status, old.moved_to), (PlaceStatus::Moved, Some(moved.id)));
            assert_eq!(refused(s.update_place(p.id, &patch, None, 31).await).field, "status");
            let new_history = s.registry_history(EntityRef::new(EntityKind::Place, moved.id.0)).await.unwrap();
            assert_eq!((new_history[0].action, new_history[0].changes[0].field.as_str()), (ChangeAction::Moved, "moved_from"));
            // It closes; it is not gone.
            let closed = s.close_place(moved.id, Some(member), 40).await.unwrap();
            assert_eq!(closed.status, PlaceStatus::Closed);
            assert_eq!(refused(s.close_place(moved.id, None, 41).await).reason, format!("place {} is closed already", moved.id));
            assert_eq!(refused(s.move_place(moved.id, &to, None, 41).await).field, "status");
            let all = s.places(&PlaceQuery { credit_code: hotel.credit_code.clone(), ..Default::default() }).await.unwrap();
            assert_eq!(all.iter().map(|p| p.status).collect::<Vec<_>>(), [PlaceStatus::Moved, PlaceStatus::Closed]);
            // Its code is free for a new place now.
            s.create_place(&twin, None, 50).await.unwrap();
        }

        async fn visits_freshness_search_and_the_map_layer(s) {
            let (member, _) = town(&s).await;
            let shop = s.create_place(&place("shop", "乌镇小卖部", GRID), None, 1).await.unwrap();
            let mut risky = place("venue", "乌镇KTV", GRID);
            risky.fields = serde_json::from_value(json!({"venue_type": "ktv"})).unwrap();
            risky.risk = RiskLevel::High;
            risky.functional_grid = Some(text("西栅景区"));
            risky.responsible = person("赵六", Some("13700000000"), Some(ID2));
            let venue = s.create_place(&risky, None, 1).await.unwrap();
            let far = s.create_place(&place("shop", "桐乡超市", OTHER), None, 1).await.unwrap();
            assert_eq!(refused(s.mark_place_visited(PlaceId(99), member, 5).await).field, "place");
            assert_eq!(refused(s.mark_place_visited(shop.id, 999, 5).await).field, "by");
            let v = s.mark_place_visited(shop.id, member, 100).await.unwrap();
            assert_eq!((v.last_visited_at, v.last_visited_by), (Some(100), Some(member)));
            // A visit synchronised late does not make the place look staler.
            let v = s.mark_place_visited(shop.id, member, 50).await.unwrap();
            assert_eq!(v.last_visited_at, Some(100));
            let visits = s.place_visits(shop.id, 10).await.unwrap();
            assert_eq!(visits.iter().map(|v| v.at).collect::<Vec<_>>(), [100, 50]);
            let ids = |v: Vec<Place>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
            let q = |f: fn(&mut PlaceQuery)| {
                let mut q = PlaceQuery::default();
                f(&mut q);
                q
            };
            assert_eq!(ids(s.places(&q(|q| q.not_visited_since = Some(90))).await.unwrap()), [venue.id, far.id]);
            assert_eq!(ids(s.places(&q(|q| q.not_visited_since = Some(101))).await.unwrap()), [shop.id, venue.id, far.id]);
            assert_eq!(ids(s.places(&q(|q| q.name_prefix = Some("乌镇".into()))).await.unwrap()), [shop.id, venue.id]);
            assert_eq!(ids(s.places(&q(|q| { q.name_prefix = Some("乌镇K".into()); })).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| q.under = Some(RegionCode::parse("330483101002").unwrap()))).await.unwrap()), [far.id]);
            assert_eq!(ids(s.places(&q(|q| q.kinds = vec!["venue".into()])).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| q.risk = Some(RiskLevel::High))).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| q.functional_grid = Some("西栅景区".into()))).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| q.phone = Some(Phone::parse("13700000000").unwrap()))).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| q.id_number = Some(ResidentIdNumber::parse(ID2).unwrap()))).await.unwrap()), [venue.id]);
            assert_eq!(ids(s.places(&q(|q| { q.statuses = vec![PlaceStatus::Open]; q.limit = 1; })).await.unwrap()), [shop.id]);
            assert_eq!(ids(s.places(&PlaceQuery { after: Some(venue.id), ..Default::default() }).await.unwrap()), [far.id]);
            // The map layer: the subtree's places, without personal data.
            s.close_place(shop.id, None, 200).await.unwrap();
            let layer = s.place_layer(&RegionCode::parse("330483101001").unwrap(), false).await.unwrap();
            assert_eq!(layer.iter().map(|m| (m.id, m.kind.as_str(), m.risk)).collect::<Vec<_>>(), [(venue.id, "venue", RiskLevel::High)]);
            let all = s.place_layer(&RegionCode::parse("330483101001").unwrap(), true).await.unwrap();
            assert_eq!((all.len(), all[0].last_visited_at, all[0].status), (2, Some(100), PlaceStatus::Closed));
            assert!(!serde_json::to_string(&all).unwrap().contains("138"));
        }
    }
}
