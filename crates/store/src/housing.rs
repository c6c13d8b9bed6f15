//! Buildings, the houses in them (with their owner or landlord) and the tenancies of houses: the
//! rental registry a landlord keeps from their phone and a grid member checks. Owners' and
//! tenants' names, phones and ID numbers are sealed; lists answer them masked.

use async_trait::async_trait;
use chrono::NaiveDate;
use gridkeeper_domain::registry::{
    changes, Building, BuildingData, BuildingId, BuildingPatch, BuildingUse, ChangeAction, EntityKind, EntityRef,
    FieldChange, Floors, House, HouseData, HouseId, HousePatch, HouseUse, PersonalDetails, Phone, RegisteredBy,
    ResidentIdNumber, Stay, Tenancy, TenancyData, TenancyId, Text,
};
use gridkeeper_domain::{LatLon, Millis, PersonId, RegionCode};
use sqlx::Row;

use crate::dialect::generic;
use crate::registry::{day_number, from_day_number, invalid, page_limit, push_under, ID_NUMBER, PHONE};
use crate::sql::Sql;
use crate::{parse_field, Result};

/// Filters of [`HousingStore::buildings`]; pages by id.
#[derive(Debug, Clone, Default)]
pub struct BuildingQuery {
    pub under: Option<RegionCode>,
    pub after: Option<BuildingId>,
    /// At most 1,000; 0 means 100.
    pub limit: u32,
}

/// Filters of [`HousingStore::houses`]; pages by id.
#[derive(Debug, Clone, Default)]
pub struct HouseQuery {
    pub under: Option<RegionCode>,
    pub building: Option<BuildingId>,
    /// The houses of a landlord's account (their phone view).
    pub landlord: Option<PersonId>,
    /// Houses whose owner has this phone or ID number (blind index).
    pub owner_phone: Option<Phone>,
    pub owner_id_number: Option<ResidentIdNumber>,
    pub house_use: Option<HouseUse>,
    pub after: Option<HouseId>,
    pub limit: u32,
}

/// Filters of [`HousingStore::tenancies`]; pages by id.
#[derive(Debug, Clone, Default)]
pub struct TenancyQuery {
    pub under: Option<RegionCode>,
    pub house: Option<HouseId>,
    /// Tenancies of the houses of a landlord's account.
    pub landlord: Option<PersonId>,
    /// `Some(true)`: still living there; `Some(false)`: moved out.
    pub open: Option<bool>,
    pub tenant_phone: Option<Phone>,
    pub tenant_id_number: Option<ResidentIdNumber>,
    pub after: Option<TenancyId>,
    pub limit: u32,
}

#[async_trait]
pub trait HousingStore: Send + Sync {
    /// Refuses a grid that is unknown or retired.
    async fn create_building(&self, b: &BuildingData, actor: Option<PersonId>, at: Millis) -> Result<Building>;
    /// Changes the fields the patch gives (a new grid moves its houses, tenancies and people in
    /// care with it) and records them in the history; nothing is written when nothing changes.
    async fn update_building(
        &self,
        id: BuildingId,
        p: &BuildingPatch,
        actor: Option<PersonId>,
        at: Millis,
    ) -> Result<Building>;
    async fn building(&self, id: BuildingId) -> Result<Option<Building>>;
    async fn buildings(&self, q: &BuildingQuery) -> Result<Vec<Building>>;

    /// Refuses an unknown building or landlord, and a label its building has already.
    async fn create_house(&self, h: &HouseData, actor: Option<PersonId>, at: Millis) -> Result<House>;
    async fn update_house(&self, id: HouseId, p: &HousePatch, actor: Option<PersonId>, at: Millis) -> Result<House>;
    /// The house with its owner masked.
    async fn house(&self, id: HouseId) -> Result<Option<House>>;
    async fn houses(&self, q: &HouseQuery) -> Result<Vec<House>>;

    /// Registers a tenancy (checked by `TenancyData::check_registration` against the tenant's
    /// other tenancies of the house); refuses an unknown house.
    async fn register_tenancy(&self, t: &TenancyData, actor: Option<PersonId>, at: Millis) -> Result<Tenancy>;
    /// The tenant moved out on `moved_out` (refused before the move-in, or when ended already).
    async fn end_tenancy(
        &self,
        id: TenancyId,
        moved_out: NaiveDate,
        actor: Option<PersonId>,
        at: Millis,
    ) -> Result<Tenancy>;
    /// The tenancy with its tenant masked (`None` once anonymised).
    async fn tenancy(&self, id: TenancyId) -> Result<Option<Tenancy>>;
    async fn tenancies(&self, q: &TenancyQuery) -> Result<Vec<Tenancy>>;
    /// Wipes the tenant's details (and their blind indexes) of tenancies that ended before
    /// `moved_out_before`; the rows and their dates stay for the counts. Returns how many.
    async fn anonymise_tenancies(&self, moved_out_before: NaiveDate, at: Millis) -> Result<u64>;
}

const BUILDING_COLUMNS: &str = "id, grid, address, lat, lon, floors, building_use, created_at, updated_at";
const HOUSE_COLUMNS: &str = "id, building_id, grid, label, house_use, owner_name, owner_phone, owner_id_number, \
                             landlord_id, created_at, updated_at";
const TENANCY_COLUMNS: &str = "id, house_id, grid, tenant_name, tenant_phone, tenant_id_number, origin, moved_in, \
                               moved_out, registered_by, registered_by_person, registered_at, anonymised_at";

generic! {
    impl SqlStore {
        fn building_row(r: &D::Row) -> Result<Building> {
            Ok(Building {
                id: BuildingId(r.try_get("id")?),
                data: BuildingData {
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    address: parse_field(Text::parse("address", r.try_get("address")?))?,
                    location: parse_field(LatLon::new(r.try_get("lat")?, r.try_get("lon")?))?,
                    floors: parse_field(Floors::new(i64::from(r.try_get::<i32, _>("floors")?)))?,
                    building_use: parse_field(BuildingUse::parse(r.try_get("building_use")?))?,
                },
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        /// A house row: the entry (owner masked) and the owner in clear.
        fn house_row(&self, r: &D::Row) -> Result<(House, PersonalDetails)> {
            let owner = self
                .open_person(r, "houses", "owner")?
                .ok_or_else(|| crate::corrupt("a house without its owner"))?;
            Ok((
                House {
                    id: HouseId(r.try_get("id")?),
                    data: HouseData {
                        building: BuildingId(r.try_get("building_id")?),
                        label: parse_field(Text::parse("label", r.try_get("label")?))?,
                        house_use: parse_field(HouseUse::parse(r.try_get("house_use")?))?,
                        owner: owner.masked(),
                        landlord: r.try_get("landlord_id")?,
                    },
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                },
                owner,
            ))
        }

        /// A tenancy row: the entry (tenant masked) and the tenant in clear (`None` once wiped).
        fn tenancy_row(&self, r: &D::Row) -> Result<(Tenancy, Option<PersonalDetails>)> {
            let tenant = self.open_person(r, "tenancies", "tenant")?;
            let origin: Option<String> = r.try_get("origin")?;
            let stay = parse_field(Stay::new(
                from_day_number(r.try_get("moved_in")?)?,
                r.try_get::<Option<i64>, _>("moved_out")?.map(from_day_number).transpose()?,
            ))?;
            Ok((
                Tenancy {
                    id: TenancyId(r.try_get("id")?),
                    data: TenancyData {
                        house: HouseId(r.try_get("house_id")?),
                        tenant: tenant.as_ref().map(PersonalDetails::masked),
                        origin: origin.map(|o| parse_field(Text::parse("origin", &o))).transpose()?,
                        stay,
                        registered_by: parse_field(RegisteredBy::parse(r.try_get("registered_by")?))?,
                    },
                    grid: parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    registered_at: r.try_get("registered_at")?,
                    registered_by_person: r.try_get("registered_by_person")?,
                    anonymised_at: r.try_get("anonymised_at")?,
                },
                tenant,
            ))
        }

        pub(crate) async fn insert_building(
            &self,
            conn: &mut D::Connection,
            b: &BuildingData,
            actor: Option<PersonId>,
            at: Millis,
        ) -> Result<BuildingId> {
            Self::check_grid(conn, "grid", &b.grid).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO buildings (grid, address, lat, lon, floors, building_use, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(b.grid.as_str())
            .bind(b.address.as_str())
            .bind(b.location.lat)
            .bind(b.location.lon)
            .bind(i32::from(b.floors.get()))
            .bind(b.building_use.as_str())
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
            let entity = EntityRef::new(EntityKind::Building, id);
            Self::record_change(conn, entity, ChangeAction::Created, actor, at, &changes(None, b)).await?;
            Ok(BuildingId(id))
        }

        pub(crate) async fn insert_house(
            &self,
            conn: &mut D::Connection,
            h: &HouseData,
            actor: Option<PersonId>,
            at: Millis,
        ) -> Result<HouseId> {
            let grid: String = sqlx::query_scalar("SELECT grid FROM buildings WHERE id = $1")
                .bind(h.building.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid("building", format!("there is no building {}", h.building)))?;
            Self::check_house(conn, None, h).await?;
            let o = self.vault.seal_person("houses", "owner", &h.owner);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO houses (building_id, grid, label, house_use, owner_name, owner_phone, owner_phone_index, \
                 owner_id_number, owner_id_index, landlord_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            )
            .bind(h.building.0)
            .bind(grid)
            .bind(h.label.as_str())
            .bind(h.house_use.as_str())
            .bind(o.name)
            .bind(o.phone)
            .bind(o.phone_index)
            .bind(o.id_number)
            .bind(o.id_index)
            .bind(h.landlord)
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
            let entity = EntityRef::new(EntityKind::House, id);
            Self::record_change(conn, entity, ChangeAction::Created, actor, at, &changes(None, h)).await?;
            Ok(HouseId(id))
        }

        /// The landlord exists and no other house of the building has the label.
        async fn check_house(conn: &mut D::Connection, id: Option<HouseId>, h: &HouseData) -> Result<()> {
            if let Some(l) = h.landlord {
                Self::check_person(conn, "landlord", l).await?;
            }
            let other: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM houses WHERE building_id = $1 AND label = $2 AND id <> $3",
            )
            .bind(h.building.0)
            .bind(h.label.as_str())
            .bind(id.map_or(0, |i| i.0))
            .fetch_optional(&mut *conn)
            .await?;
            match other {
                Some(o) => Err(invalid("label", format!("building {} has a house {} already (house {o})", h.building, h.label))),
                None => Ok(()),
            }
        }

        pub(crate) async fn insert_tenancy(
            &self,
            conn: &mut D::Connection,
            t: &TenancyData,
            actor: Option<PersonId>,
            at: Millis,
        ) -> Result<TenancyId> {
            // The house's row is locked, so that two registrations of one tenant queue.
            let grid: String = sqlx::query_scalar(&format!("SELECT grid FROM houses WHERE id = $1{}", D::FOR_UPDATE))
                .bind(t.house.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid("house", format!("there is no house {}", t.house)))?;
            let s = self.vault.seal_person("tenancies", "tenant", &t.tenant);
            let mut others = Vec::new();
            if let Some(index) = &s.id_index {
                for r in sqlx::query("SELECT id, moved_in, moved_out FROM tenancies WHERE house_id = $1 AND tenant_id_index = $2")
                    .bind(t.house.0)
                    .bind(index)
                    .fetch_all(&mut *conn)
                    .await?
                {
                    let out: Option<i64> = r.try_get("moved_out")?;
                    let stay = parse_field(Stay::new(from_day_number(r.try_get("moved_in")?)?, out.map(from_day_number).transpose()?))?;
                    others.push((TenancyId(r.try_get("id")?), stay));
                }
            }
            t.check_registration(&others).map_err(crate::StoreError::Invalid)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tenancies (house_id, grid, tenant_name, tenant_phone, tenant_phone_index, tenant_id_number, \
                 tenant_id_index, origin, moved_in, moved_out, registered_by, registered_by_person, registered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(t.house.0)
            .bind(grid)
            .bind(s.name)
            .bind(s.phone)
            .bind(s.phone_index)
            .bind(s.id_number)
            .bind(s.id_index)
            .bind(t.origin.as_ref().map(|o| o.as_str().to_string()))
            .bind(day_number(t.stay.moved_in()))
            .bind(t.stay.moved_out().map(day_number))
            .bind(t.registered_by.as_str())
            .bind(actor)
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
            let entity = EntityRef::new(EntityKind::Tenancy, id);
            Self::record_change(conn, entity, ChangeAction::Created, actor, at, &changes(None, t)).await?;
            Ok(TenancyId(id))
        }

        async fn building_in(conn: &mut D::Connection, id: BuildingId, lock: bool) -> Result<Option<Building>> {
            let lock = if lock { D::FOR_UPDATE } else { "" };
            sqlx::query(&format!("SELECT {BUILDING_COLUMNS} FROM buildings WHERE id = $1{lock}"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(Self::building_row)
                .transpose()
        }

        async fn house_in(&self, conn: &mut D::Connection, id: HouseId, lock: bool) -> Result<Option<(House, PersonalDetails)>> {
            let lock = if lock { D::FOR_UPDATE } else { "" };
            sqlx::query(&format!("SELECT {HOUSE_COLUMNS} FROM houses WHERE id = $1{lock}"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| self.house_row(&r))
                .transpose()
        }

        async fn tenancy_in(&self, conn: &mut D::Connection, id: TenancyId, lock: bool) -> Result<Option<Tenancy>> {
            let lock = if lock { D::FOR_UPDATE } else { "" };
            sqlx::query(&format!("SELECT {TENANCY_COLUMNS} FROM tenancies WHERE id = $1{lock}"))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| self.tenancy_row(&r).map(|(t, _)| t))
                .transpose()
        }
    }
}

generic! {
    #[async_trait]
    impl HousingStore for SqlStore {
        async fn create_building(&self, b: &BuildingData, actor: Option<PersonId>, at: Millis) -> Result<Building> {
            let mut tx = self.begin_write().await?;
            let id = self.insert_building(&mut tx, b, actor, at).await?;
            tx.commit().await?;
            Ok(Building { id, data: b.clone(), created_at: at, updated_at: at })
        }

        async fn update_building(&self, id: BuildingId, p: &BuildingPatch, actor: Option<PersonId>, at: Millis) -> Result<Building> {
            let mut tx = self.begin_write().await?;
            let old = Self::building_in(&mut tx, id, true).await?.ok_or_else(|| invalid("building", format!("there is no building {id}")))?;
            let new = old.data.patched(p);
            let changed = changes(Some(&old.data), &new);
            if changed.is_empty() {
                return Ok(old);
            }
            if new.grid != old.data.grid {
                Self::check_grid(&mut tx, "grid", &new.grid).await?;
                for sql in [
                    "UPDATE houses SET grid = $1 WHERE building_id = $2",
                    "UPDATE tenancies SET grid = $1 WHERE house_id IN (SELECT id FROM houses WHERE building_id = $2)",
                    "UPDATE care_people SET grid = $1 WHERE house_id IN (SELECT id FROM houses WHERE building_id = $2)",
                ] {
                    sqlx::query(sql).bind(new.grid.as_str()).bind(id.0).execute(&mut *tx).await?;
                }
            }
            sqlx::query(
                "UPDATE buildings SET grid = $1, address = $2, lat = $3, lon = $4, floors = $5, building_use = $6, \
                 updated_at = $7 WHERE id = $8",
            )
            .bind(new.grid.as_str())
            .bind(new.address.as_str())
            .bind(new.location.lat)
            .bind(new.location.lon)
            .bind(i32::from(new.floors.get()))
            .bind(new.building_use.as_str())
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let entity = EntityRef::new(EntityKind::Building, id.0);
            Self::record_change(&mut tx, entity, ChangeAction::Updated, actor, at, &changed).await?;
            tx.commit().await?;
            Ok(Building { id, data: new, created_at: old.created_at, updated_at: at })
        }

        async fn building(&self, id: BuildingId) -> Result<Option<Building>> {
            let mut conn = self.pool.acquire().await?;
            Self::building_in(&mut conn, id, false).await
        }

        async fn buildings(&self, q: &BuildingQuery) -> Result<Vec<Building>> {
            let mut b = Sql::new(format!("SELECT {BUILDING_COLUMNS} FROM buildings WHERE id > "));
            b.push_bind(q.after.map_or(0, |a| a.0));
            push_under(&mut b, "grid", q.under.as_ref());
            b.push(" ORDER BY id LIMIT ").push_bind(page_limit(q.limit));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::building_row).collect()
        }

        async fn create_house(&self, h: &HouseData, actor: Option<PersonId>, at: Millis) -> Result<House> {
            let mut tx = self.begin_write().await?;
            let id = self.insert_house(&mut tx, h, actor, at).await?;
            let (house, _) = self.house_in(&mut tx, id, false).await?.ok_or_else(|| crate::corrupt("a house just written"))?;
            tx.commit().await?;
            Ok(house)
        }

        async fn update_house(&self, id: HouseId, p: &HousePatch, actor: Option<PersonId>, at: Millis) -> Result<House> {
            let mut tx = self.begin_write().await?;
            let (house, owner) =
                self.house_in(&mut tx, id, true).await?.ok_or_else(|| invalid("house", format!("there is no house {id}")))?;
            let old = HouseData {
                building: house.data.building,
                label: house.data.label.clone(),
                house_use: house.data.house_use,
                owner,
                landlord: house.data.landlord,
            };
            let new = old.patched(p);
            let changed = changes(Some(&old), &new);
            if changed.is_empty() {
                return Ok(house);
            }
            Self::check_house(&mut tx, Some(id), &new).await?;
            let o = self.vault.seal_person("houses", "owner", &new.owner);
            sqlx::query(
                "UPDATE houses SET label = $1, house_use = $2, owner_name = $3, owner_phone = $4, owner_phone_index = $5, \
                 owner_id_number = $6, owner_id_index = $7, landlord_id = $8, updated_at = $9 WHERE id = $10",
            )
            .bind(new.label.as_str())
            .bind(new.house_use.as_str())
            .bind(o.name)
            .bind(o.phone)
            .bind(o.phone_index)
            .bind(o.id_number)
            .bind(o.id_index)
            .bind(new.landlord)
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            Self::record_change(&mut tx, EntityRef::new(EntityKind::House, id.0), ChangeAction::Updated, actor, at, &changed).await?;
            let (house, _) = self.house_in(&mut tx, id, false).await?.ok_or_else(|| crate::corrupt("a house just written"))?;
            tx.commit().await?;
            Ok(house)
        }

        async fn house(&self, id: HouseId) -> Result<Option<House>> {
            let mut conn = self.pool.acquire().await?;
            Ok(self.house_in(&mut conn, id, false).await?.map(|(h, _)| h))
        }

        async fn houses(&self, q: &HouseQuery) -> Result<Vec<House>> {
            let mut b = Sql::new(format!("SELECT {HOUSE_COLUMNS} FROM houses WHERE id > "));
            b.push_bind(q.after.map_or(0, |a| a.0));
            push_under(&mut b, "grid", q.under.as_ref());
            if let Some(x) = q.building {
                b.push(" AND building_id = ").push_bind(x.0);
            }
            if let Some(l) = q.landlord {
                b.push(" AND landlord_id = ").push_bind(l);
            }
            if let Some(p) = &q.owner_phone {
                b.push(" AND owner_phone_index = ").push_bind(self.vault.blind_index(PHONE, p.as_str()));
            }
            if let Some(i) = &q.owner_id_number {
                b.push(" AND owner_id_index = ").push_bind(self.vault.blind_index(ID_NUMBER, i.as_str()));
            }
            if let Some(u) = q.house_use {
                b.push(" AND house_use = ").push_bind(u.as_str());
            }
            b.push(" ORDER BY id LIMIT ").push_bind(page_limit(q.limit));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.house_row(r).map(|(h, _)| h)).collect()
        }

        async fn register_tenancy(&self, t: &TenancyData, actor: Option<PersonId>, at: Millis) -> Result<Tenancy> {
            let mut tx = self.begin_write().await?;
            let id = self.insert_tenancy(&mut tx, t, actor, at).await?;
            let out = self.tenancy_in(&mut tx, id, false).await?.ok_or_else(|| crate::corrupt("a tenancy just written"))?;
            tx.commit().await?;
            Ok(out)
        }

        async fn end_tenancy(&self, id: TenancyId, moved_out: NaiveDate, actor: Option<PersonId>, at: Millis) -> Result<Tenancy> {
            let mut tx = self.begin_write().await?;
            let mut t = self
                .tenancy_in(&mut tx, id, true)
                .await?
                .ok_or_else(|| invalid("tenancy", format!("there is no tenancy {id}")))?;
            let stay = t.data.stay.end(moved_out).map_err(crate::StoreError::Invalid)?;
            sqlx::query("UPDATE tenancies SET moved_out = $1 WHERE id = $2")
                .bind(day_number(moved_out))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let change = FieldChange {
                field: "moved_out".into(),
                old: serde_json::Value::Null,
                new: serde_json::json!(moved_out.to_string()),
            };
            Self::record_change(&mut tx, EntityRef::new(EntityKind::Tenancy, id.0), ChangeAction::Ended, actor, at, &[change]).await?;
            tx.commit().await?;
            t.data.stay = stay;
            Ok(t)
        }

        async fn tenancy(&self, id: TenancyId) -> Result<Option<Tenancy>> {
            let mut conn = self.pool.acquire().await?;
            self.tenancy_in(&mut conn, id, false).await
        }

        async fn tenancies(&self, q: &TenancyQuery) -> Result<Vec<Tenancy>> {
            let mut b = Sql::new(format!("SELECT {TENANCY_COLUMNS} FROM tenancies WHERE id > "));
            b.push_bind(q.after.map_or(0, |a| a.0));
            push_under(&mut b, "grid", q.under.as_ref());
            if let Some(h) = q.house {
                b.push(" AND house_id = ").push_bind(h.0);
            }
            if let Some(l) = q.landlord {
                b.push(" AND house_id IN (SELECT id FROM houses WHERE landlord_id = ").push_bind(l).push(")");
            }
            match q.open {
                Some(true) => {
                    b.push(" AND moved_out IS NULL");
                }
                Some(false) => {
                    b.push(" AND moved_out IS NOT NULL");
                }
                None => {}
            }
            if let Some(p) = &q.tenant_phone {
                b.push(" AND tenant_phone_index = ").push_bind(self.vault.blind_index(PHONE, p.as_str()));
            }
            if let Some(i) = &q.tenant_id_number {
                b.push(" AND tenant_id_index = ").push_bind(self.vault.blind_index(ID_NUMBER, i.as_str()));
            }
            b.push(" ORDER BY id LIMIT ").push_bind(page_limit(q.limit));
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(|r| self.tenancy_row(r).map(|(t, _)| t)).collect()
        }

        #[tracing::instrument(skip_all, fields(%moved_out_before))]
        async fn anonymise_tenancies(&self, moved_out_before: NaiveDate, at: Millis) -> Result<u64> {
            let mut tx = self.begin_write().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "UPDATE tenancies SET tenant_name = NULL, tenant_phone = NULL, tenant_phone_index = NULL, \
                 tenant_id_number = NULL, tenant_id_index = NULL, anonymised_at = $1 \
                 WHERE anonymised_at IS NULL AND moved_out IS NOT NULL AND moved_out < $2 RETURNING id",
            )
            .bind(at)
            .bind(day_number(moved_out_before))
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                Self::record_change(&mut tx, EntityRef::new(EntityKind::Tenancy, *id), ChangeAction::Anonymised, None, at, &[]).await?;
            }
            tx.commit().await?;
            Ok(ids.len() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::registry::*;
    use sqlx::Row;

    use super::{BuildingQuery, HouseQuery, TenancyQuery};
    use crate::prelude::*;
    use crate::registry::fixtures::*;
    use crate::testing::on_both;

    on_both! {
        async fn buildings_and_houses_are_kept_with_their_history(s) {
            let (member, landlord) = town(&s).await;
            assert_eq!(refused(s.create_building(&building("330483101001"), None, 1).await).field, "grid");
            assert_eq!(refused(s.create_building(&building("330483101001009"), None, 1).await).reason, "there is no grid 330483101001009");
            assert_eq!(refused(s.create_building(&building(RETIRED), None, 1).await).reason, format!("grid {RETIRED} is retired"));
            let b = s.create_building(&building(GRID), Some(member), 10).await.unwrap();
            assert_eq!(s.building(b.id).await.unwrap(), Some(b.clone()));
            let h = s.create_house(&house(b.id, "2单元301", Some(landlord)), Some(landlord), 11).await.unwrap();
            assert_eq!(h.grid.as_str(), GRID);
            assert_eq!(h.data.owner, MaskedPerson { name: "张*".into(), phone: Some("138****1234".into()), id_number: Some("1101**********002X".into()) });
            assert_eq!(s.house(h.id).await.unwrap(), Some(h.clone()));
            // Sealed at rest.
            let raw: String = sqlx::query("SELECT owner_phone FROM houses").fetch_one(&s.pool).await.unwrap().get(0);
            assert!(raw.starts_with("enc:v1:") && !raw.contains("1381234"));
            // Refusals: an unknown building, a label taken, an unknown landlord.
            assert_eq!(refused(s.create_house(&house(BuildingId(99), "1", None), None, 1).await).reason, "there is no building 99");
            assert_eq!(refused(s.create_house(&house(b.id, "2单元301", None), None, 1).await).field, "label");
            assert_eq!(refused(s.create_house(&house(b.id, "9", Some(999)), None, 1).await).field, "landlord");
            // Moving the building to another grid moves its houses (and what hangs on them).
            let t = s.register_tenancy(&tenancy(h.id, ID2, "2026-01-01"), None, 12).await.unwrap();
            let p = BuildingPatch { grid: Some(code(GRID2)), floors: Some(Floors::new(7).unwrap()), ..Default::default() };
            let b2 = s.update_building(b.id, &p, Some(member), 20).await.unwrap();
            assert_eq!((b2.data.grid.as_str(), b2.data.floors.get(), b2.updated_at), (GRID2, 7, 20));
            assert_eq!(s.house(h.id).await.unwrap().unwrap().grid.as_str(), GRID2);
            assert_eq!(s.tenancy(t.id).await.unwrap().unwrap().grid.as_str(), GRID2);
            let bad = BuildingPatch { grid: Some(code(RETIRED)), ..Default::default() };
            assert_eq!(refused(s.update_building(b.id, &bad, None, 21).await).field, "grid");
            assert_eq!(refused(s.update_building(BuildingId(99), &p, None, 21).await).field, "building");
            assert_eq!(s.update_building(b.id, &p, None, 22).await.unwrap(), b2, "no change, no write");
            let history = s.registry_history(EntityRef::new(EntityKind::Building, b.id.0)).await.unwrap();
            assert_eq!(history.iter().map(|c| c.action).collect::<Vec<_>>(), [ChangeAction::Created, ChangeAction::Updated]);
            assert_eq!(history[1].changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["floors", "grid"]);
            assert_eq!((history[1].actor, history[1].at), (Some(member), 20));
            // The owner changes phone: recorded masked.
            let hp = HousePatch { owner: Some(person("张伟", Some("13912345678"), Some(ID))), ..Default::default() };
            let h2 = s.update_house(h.id, &hp, Some(landlord), 30).await.unwrap();
            assert_eq!(h2.data.owner.phone.as_deref(), Some("139****5678"));
            let history = s.registry_history(EntityRef::new(EntityKind::House, h.id.0)).await.unwrap();
            let last = &history.last().unwrap().changes;
            assert_eq!(last.len(), 1);
            assert_eq!((last[0].field.as_str(), last[0].old.as_str(), last[0].new.as_str()), ("owner.phone", Some("138****1234"), Some("139****5678")));
            let other = s.create_house(&house(b.id, "302", None), None, 31).await.unwrap();
            let taken = HousePatch { label: Some(text("2单元301")), ..Default::default() };
            assert_eq!(refused(s.update_house(other.id, &taken, None, 32).await).field, "label");
            assert_eq!(s.registry_history(EntityRef::new(EntityKind::House, other.id.0)).await.unwrap().len(), 1, "a refused change leaves the history");
            assert_eq!(refused(s.update_house(HouseId(99), &taken, None, 32).await).field, "house");
            // Lists: a landlord's phone view, by owner phone or ID number, by subtree and use.
            let ids = |v: Vec<House>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
            assert_eq!(ids(s.houses(&HouseQuery { landlord: Some(landlord), ..Default::default() }).await.unwrap()), [h.id]);
            let by_phone = HouseQuery { owner_phone: Some(Phone::parse("13912345678").unwrap()), ..Default::default() };
            assert_eq!(ids(s.houses(&by_phone).await.unwrap()), [h.id]);
            let by_id = HouseQuery { owner_id_number: Some(ResidentIdNumber::parse(ID).unwrap()), ..Default::default() };
            assert_eq!(ids(s.houses(&by_id).await.unwrap()), [h.id, other.id]);
            let under = HouseQuery { under: Some(code(GRID)), ..Default::default() };
            assert!(s.houses(&under).await.unwrap().is_empty());
            let page = HouseQuery { under: Some(code("330483101")), house_use: Some(HouseUse::Rental), after: Some(h.id), limit: 1, ..Default::default() };
            assert_eq!(ids(s.houses(&page).await.unwrap()), [other.id]);
            let bq = BuildingQuery { under: Some(code(GRID2)), ..Default::default() };
            assert_eq!(s.buildings(&bq).await.unwrap().len(), 1);
            assert!(s.buildings(&BuildingQuery { after: Some(b.id), ..Default::default() }).await.unwrap().is_empty());
        }

        async fn tenancies_are_registered_ended_and_anonymised(s) {
            let (member, landlord) = town(&s).await;
            let b = s.create_building(&building(GRID), None, 1).await.unwrap();
            let h = s.create_house(&house(b.id, "301", Some(landlord)), None, 1).await.unwrap();
            let h2 = s.create_house(&house(b.id, "302", None), None, 1).await.unwrap();
            assert_eq!(refused(s.register_tenancy(&tenancy(HouseId(99), ID2, "2026-01-01"), None, 1).await).reason, "there is no house 99");
            let mut no_id = tenancy(h.id, ID2, "2026-01-01");
            no_id.tenant.id_number = None;
            assert_eq!(refused(s.register_tenancy(&no_id, None, 1).await).field, "tenant.id_number");
            let t = s.register_tenancy(&tenancy(h.id, ID2, "2026-01-01"), Some(landlord), 5).await.unwrap();
            assert_eq!((t.registered_by_person, t.registered_at, t.data.tenant.as_ref().unwrap().name.as_str()), (Some(landlord), 5, "王*"));
            // The same tenant cannot have two open tenancies in the same house, but may in another.
            let err = refused(s.register_tenancy(&tenancy(h.id, ID2, "2026-03-01"), None, 6).await);
            assert!(err.reason.contains(&format!("tenancy {}", t.id)), "{err}");
            let other = s.register_tenancy(&tenancy(h2.id, ID2, "2026-03-01"), None, 6).await.unwrap();
            let second = s.register_tenancy(&tenancy(h.id, ID, "2026-02-01"), Some(member), 7).await.unwrap();
            // Ending before the move-in is refused by the domain and changes nothing.
            let err = refused(s.end_tenancy(t.id, date("2025-12-31"), None, 8).await);
            assert_eq!(err.field, "moved_out");
            assert_eq!(s.tenancy(t.id).await.unwrap().unwrap().data.stay.moved_out(), None);
            assert_eq!(s.registry_history(EntityRef::new(EntityKind::Tenancy, t.id.0)).await.unwrap().len(), 1);
            assert_eq!(refused(s.end_tenancy(TenancyId(99), date("2026-02-01"), None, 8).await).field, "tenancy");
            let ended = s.end_tenancy(t.id, date("2026-02-01"), Some(landlord), 9).await.unwrap();
            assert_eq!(ended.data.stay.moved_out(), Some(date("2026-02-01")));
            assert_eq!(s.tenancy(t.id).await.unwrap().unwrap(), ended);
            assert_eq!(refused(s.end_tenancy(t.id, date("2026-02-02"), None, 10).await).reason, "the tenancy ended already, on 2026-02-01");
            let history = s.registry_history(EntityRef::new(EntityKind::Tenancy, t.id.0)).await.unwrap();
            assert_eq!((history[1].action, history[1].changes[0].new.as_str()), (ChangeAction::Ended, Some("2026-02-01")));
            // Back in the same house after moving out: allowed.
            s.register_tenancy(&tenancy(h.id, ID2, "2026-02-01"), None, 11).await.unwrap();
            // Lists.
            let ids = |v: Vec<Tenancy>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
            let of_house = s.tenancies(&TenancyQuery { house: Some(h.id), open: Some(true), ..Default::default() }).await.unwrap();
            assert_eq!(of_house.len(), 2);
            assert_eq!(ids(s.tenancies(&TenancyQuery { open: Some(false), ..Default::default() }).await.unwrap()), [t.id]);
            assert_eq!(s.tenancies(&TenancyQuery { landlord: Some(landlord), ..Default::default() }).await.unwrap().len(), 3);
            let by_id = TenancyQuery { tenant_id_number: Some(ResidentIdNumber::parse(ID).unwrap()), ..Default::default() };
            assert_eq!(ids(s.tenancies(&by_id).await.unwrap()), [second.id]);
            let by_phone = TenancyQuery { tenant_phone: Some(Phone::parse("13900001111").unwrap()), under: Some(code(GRID)), after: Some(t.id), limit: 1, ..Default::default() };
            assert_eq!(ids(s.tenancies(&by_phone).await.unwrap()), [other.id]);
            // Anonymised after the retention time: details and blind indexes go, the row stays.
            assert_eq!(s.anonymise_tenancies(date("2026-02-01"), 50).await.unwrap(), 0, "moved out on the cut-off day: kept");
            assert_eq!(s.anonymise_tenancies(date("2026-03-01"), 50).await.unwrap(), 1);
            let gone = s.tenancy(t.id).await.unwrap().unwrap();
            assert_eq!((gone.data.tenant.clone(), gone.anonymised_at, gone.data.stay), (None, Some(50), ended.data.stay));
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::Tenancy, t.id.0)).await.unwrap(), None);
            let by_old_id = TenancyQuery { tenant_id_number: Some(ResidentIdNumber::parse(ID2).unwrap()), ..Default::default() };
            assert!(!ids(s.tenancies(&by_old_id).await.unwrap()).contains(&t.id));
            assert_eq!(s.registry_history(EntityRef::new(EntityKind::Tenancy, t.id.0)).await.unwrap().last().unwrap().action, ChangeAction::Anonymised);
            assert_eq!(s.anonymise_tenancies(date("2026-03-01"), 60).await.unwrap(), 0, "once");
        }
    }
}
