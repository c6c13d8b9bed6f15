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
