//! What the registry's parts share (housing.rs, places.rs, care.rs): the history of every change,
//! the sealing of the people an entry names, exact lookup by phone, ID number or credit code
//! across the registry, reveal, the counts of the measures, and the bulk import.
//!
//! Every write of an entry appends its [`RegistryChange`] in the write's own transaction, so a
//! refused change leaves the entry and its history as they were.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use gridkeeper_domain::registry::{
    BuildingData, BuildingId, ChangeAction, CreditCode, EntityKind, EntityRef, FieldChange, HouseData, HouseId,
    PersonalDetails, Phone, PlaceData, PlaceId, RegistryChange, ResidentIdNumber, TenancyData, TenancyId, Text,
};
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode, RegionLevel};
use serde::Serialize;
use sqlx::Row;

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, json, parse_field, Result, StoreError};

/// The blind-index purposes of the registry's lookups (the same as `people.phone_index`'s for
/// phones, so one hash finds a number everywhere).
pub(crate) const PHONE: &str = "phone";
pub(crate) const ID_NUMBER: &str = "id_number";

/// What to look up exactly, through a blind index or the credit code column.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupKey {
    Phone(Phone),
    IdNumber(ResidentIdNumber),
    CreditCode(CreditCode),
}

/// An entry that matched a lookup, and in which role it names the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryHit {
    pub entity: EntityRef,
    pub grid: RegionCode,
    /// `owner` (of a house), `tenant`, `responsible` (for a place), `in_care`, `credit_code`.
    pub role: &'static str,
    /// The place's name or the house's label (no personal data).
    pub label: String,
}

/// The period and thresholds of [`RegistryStore::registry_counts`].
#[derive(Debug, Clone)]
pub struct RegistryMeasureQuery {
    /// The grids of this subtree.
    pub under: RegionCode,
    pub now: Millis,
    /// A place is fresh when visited within this many days before `now` (30, 90).
    pub fresh_days: u32,
    /// Tenancies registered in `[registered_from, registered_to)`…
    pub registered_from: Millis,
    pub registered_to: Millis,
    /// …are on time when registered within this many days of the move-in (3)…
    pub registration_days: u32,
    /// …counting days in the jurisdiction's time zone.
    pub utc_offset_hours: i32,
}

/// The registry's counts of one grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GridRegistryCounts {
    /// Open places by kind.
    pub places: BTreeMap<String, i64>,
    /// Houses by use.
    pub houses: BTreeMap<String, i64>,
    pub places_open: i64,
    /// Open places visited within `fresh_days`.
    pub places_fresh: i64,
    pub tenancies_open: i64,
    /// Registered in the period.
    pub tenancies_registered: i64,
    /// Of those, registered within `registration_days` of the move-in.
    pub tenancies_on_time: i64,
    pub in_care: i64,
    /// People in care whose next visit is not overdue at `now`.
    pub in_care_on_schedule: i64,
}

/// An entry of a batch that refers to a building or house either stored already or new in the
/// same batch (its index in the batch's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRef<Id> {
    Stored(Id),
    New(usize),
}

/// Many entries written at once by an import: all of them, or none. The `building` of a house
/// and the `house` of a tenancy are given by the [`BatchRef`] beside them.
#[derive(Debug, Clone, Default)]
pub struct RegistryBatch {
    pub buildings: Vec<BuildingData>,
    pub houses: Vec<(BatchRef<BuildingId>, HouseData)>,
    pub tenancies: Vec<(BatchRef<HouseId>, TenancyData)>,
    pub places: Vec<PlaceData>,
}

/// The ids a batch's entries got, in the batch's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchIds {
    pub buildings: Vec<BuildingId>,
    pub houses: Vec<HouseId>,
    pub tenancies: Vec<TenancyId>,
    pub places: Vec<PlaceId>,
}

#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Every change of an entry, oldest first.
    async fn registry_history(&self, entity: EntityRef) -> Result<Vec<RegistryChange>>;
    /// The person an entry names, in clear (the caller audits it): a house's owner, a tenant
    /// (`None` once anonymised), a place's responsible person, a person in care. `None` for a
    /// building or an unknown entry.
    async fn reveal_person(&self, entity: EntityRef) -> Result<Option<PersonalDetails>>;
    /// Entries that name this phone or ID number (through its blind index), or the places of
    /// this credit code, in the subtree `under` if given.
    async fn registry_lookup(&self, key: &LookupKey, under: Option<&RegionCode>) -> Result<Vec<RegistryHit>>;
    /// The counts of the registry's measures for each grid of a subtree that has entries.
    async fn registry_counts(&self, q: &RegistryMeasureQuery) -> Result<Vec<(RegionCode, GridRegistryCounts)>>;
    /// Writes a batch in one transaction (all or none); a refusal names the entry
    /// (`places[3].credit_code`). Each entry's history records its creation.
    async fn import_registry(&self, batch: &RegistryBatch, actor: Option<PersonId>, at: Millis) -> Result<BatchIds>;
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldError::new(field, reason))
}

/// A refusal of entry `i` of a batch's `list`, its field prefixed (`houses[2].label`).
fn in_batch(list: &str, i: usize, e: StoreError) -> StoreError {
    match e {
        StoreError::Invalid(f) => invalid(format!("{list}[{i}].{}", f.field), f.reason),
        other => other,
    }
}

/// Days since 1970-01-01: how stays' dates are stored.
pub(crate) fn day_number(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")).num_days()
}

pub(crate) fn from_day_number(n: i64) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::Duration::days(n)))
        .ok_or_else(|| corrupt(format!("day {n} is not a date")))
}

/// The sealed columns of a person: `{prefix}_name`, `_phone`, `_phone_index`, `_id_number`,
/// `_id_index` of `table`.
pub(crate) struct SealedPerson {
    pub name: String,
    pub phone: Option<String>,
    pub phone_index: Option<String>,
    pub id_number: Option<String>,
    pub id_index: Option<String>,
}

impl crate::Vault {
    pub(crate) fn seal_person(&self, table: &str, prefix: &str, p: &PersonalDetails) -> SealedPerson {
        let phone = p.phone.as_ref().map(Phone::as_str);
        let id = p.id_number.as_ref().map(ResidentIdNumber::as_str);
        SealedPerson {
            name: self.seal(&format!("{table}.{prefix}_name"), p.name.as_str()),
            phone: self.seal_opt(&format!("{table}.{prefix}_phone"), phone),
            phone_index: phone.map(|v| self.blind_index(PHONE, v)),
            id_number: self.seal_opt(&format!("{table}.{prefix}_id_number"), id),
            id_index: id.map(|v| self.blind_index(ID_NUMBER, v)),
        }
    }
}

/// The SQL `grid` range of a subtree: ` AND (column >= $a AND column < $b)`.
pub(crate) fn push_under(b: &mut Sql, column: &str, under: Option<&RegionCode>) {
    if let Some(code) = under {
        b.push(format!(" AND {column} >= ")).push_bind(code.to_string());
        b.push(format!(" AND {column} < ")).push_bind(format!("{code}:"));
    }
}

/// At most 1,000 rows a page; 100 when not said.
pub(crate) fn page_limit(limit: u32) -> i64 {
    i64::from(if limit == 0 { 100 } else { limit.min(1000) })
}

generic! {
    impl SqlStore {
        /// The person sealed in `{prefix}_*` of a row of `table`, or `None` when wiped.
        pub(crate) fn open_person(&self, r: &D::Row, table: &str, prefix: &str) -> Result<Option<PersonalDetails>> {
            let column = |c: &str| format!("{prefix}_{c}");
            let open = |c: &str| -> Result<Option<String>> {
                let sealed: Option<String> = r.try_get(column(c).as_str())?;
                self.vault.open_opt(&format!("{table}.{}", column(c)), sealed.as_deref()).map_err(corrupt)
            };
            let Some(name) = open("name")? else { return Ok(None) };
            Ok(Some(PersonalDetails {
                name: parse_field(Text::parse("name", &name))?,
                phone: open("phone")?.map(|p| parse_field(Phone::parse(&p))).transpose()?,
                id_number: open("id_number")?.map(|i| parse_field(ResidentIdNumber::parse(&i))).transpose()?,
            }))
        }

        /// Refuses a code that is not a grid, an unknown grid and a retired one.
        pub(crate) async fn check_grid(conn: &mut D::Connection, field: &str, grid: &RegionCode) -> Result<()> {
            if grid.level() != RegionLevel::Grid {
                return Err(invalid(field, format!("{grid} is not a grid (a grid's code has 15 digits)")));
            }
            let live: Option<Option<i64>> = sqlx::query_scalar("SELECT retired_at FROM regions WHERE code = $1")
                .bind(grid.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            match live {
                None => Err(invalid(field, format!("there is no grid {grid}"))),
                Some(Some(_)) => Err(invalid(field, format!("grid {grid} is retired"))),
                Some(None) => Ok(()),
            }
        }

        /// Refuses a person id that is not a person.
        pub(crate) async fn check_person(conn: &mut D::Connection, field: &str, id: PersonId) -> Result<()> {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
            found.map(|_| ()).ok_or_else(|| invalid(field, format!("there is no person {id}")))
        }

        /// Appends one change of an entry.
        pub(crate) async fn record_change(
            conn: &mut D::Connection,
            entity: EntityRef,
            action: ChangeAction,
            actor: Option<PersonId>,
            at: Millis,
            changes: &[FieldChange],
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO registry_changes (entity, entity_id, at, actor, action, changes) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(entity.kind.as_str())
            .bind(entity.id)
            .bind(at)
            .bind(actor)
            .bind(action.as_str())
            .bind(json(&changes))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        fn change_row(r: &D::Row) -> Result<RegistryChange> {
            let changes: String = r.try_get("changes")?;
            Ok(RegistryChange {
                id: r.try_get("id")?,
                entity: EntityRef {
                    kind: parse_field(EntityKind::parse(r.try_get("entity")?))?,
                    id: r.try_get("entity_id")?,
                },
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: parse_field(ChangeAction::parse(r.try_get("action")?))?,
                changes: serde_json::from_str(&changes).map_err(corrupt)?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl RegistryStore for SqlStore {
        async fn registry_history(&self, entity: EntityRef) -> Result<Vec<RegistryChange>> {
            sqlx::query(
                "SELECT id, entity, entity_id, at, actor, action, changes FROM registry_changes \
                 WHERE entity = $1 AND entity_id = $2 ORDER BY id",
            )
            .bind(entity.kind.as_str())
            .bind(entity.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::change_row)
            .collect()
        }

        async fn reveal_person(&self, entity: EntityRef) -> Result<Option<PersonalDetails>> {
            let (table, prefix) = match entity.kind {
                EntityKind::Building => return Ok(None),
                EntityKind::House => ("houses", "owner"),
                EntityKind::Tenancy => ("tenancies", "tenant"),
                EntityKind::Place => ("places", "responsible"),
                EntityKind::Care => ("care_people", "person"),
            };
            let sql = format!(
                "SELECT {prefix}_name, {prefix}_phone, {prefix}_id_number FROM {table} WHERE id = $1"
            );
            match sqlx::query(&sql).bind(entity.id).fetch_optional(&self.pool).await? {
                Some(r) => self.open_person(&r, table, prefix),
                None => Ok(None),
            }
        }

        async fn registry_lookup(&self, key: &LookupKey, under: Option<&RegionCode>) -> Result<Vec<RegistryHit>> {
            // (kind, role, SQL of id, grid, label where the key column matches)
            let (column, value, sources): (&str, String, Vec<(EntityKind, &'static str, &str, &str)>) = match key {
                LookupKey::CreditCode(c) => (
                    "credit_code",
                    c.to_string(),
                    vec![(EntityKind::Place, "credit_code", "SELECT id, grid, name AS label FROM places x", "x.credit_code")],
                ),
                LookupKey::Phone(_) | LookupKey::IdNumber(_) => {
                    let (purpose, plain, suffix) = match key {
                        LookupKey::Phone(p) => (PHONE, p.as_str(), "phone_index"),
                        LookupKey::IdNumber(i) => (ID_NUMBER, i.as_str(), "id_index"),
                        LookupKey::CreditCode(_) => unreachable!("matched above"),
                    };
                    (
                        suffix,
                        self.vault.blind_index(purpose, plain),
                        vec![
                            (EntityKind::House, "owner", "SELECT id, grid, label FROM houses x", "x.owner_"),
                            (
                                EntityKind::Tenancy,
                                "tenant",
                                "SELECT x.id, x.grid, h.label FROM tenancies x JOIN houses h ON h.id = x.house_id",
                                "x.tenant_",
                            ),
                            (EntityKind::Place, "responsible", "SELECT id, grid, name AS label FROM places x", "x.responsible_"),
                            (
                                EntityKind::Care,
                                "in_care",
                                "SELECT x.id, x.grid, h.label FROM care_people x JOIN houses h ON h.id = x.house_id",
                                "x.person_",
                            ),
                        ],
                    )
                }
            };
            let mut hits = Vec::new();
            for (kind, role, select, key_column) in sources {
                let key_column =
                    if column == "credit_code" { key_column.to_string() } else { format!("{key_column}{column}") };
                let mut b = Sql::new(format!("{select} WHERE {key_column} = "));
                b.push_bind(value.clone());
                push_under(&mut b, "x.grid", under);
                b.push(" ORDER BY x.id LIMIT 1000");
                for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                    hits.push(RegistryHit {
                        entity: EntityRef::new(kind, r.try_get(0usize)?),
                        grid: parse_field(RegionCode::parse(r.try_get(1usize)?))?,
                        role,
                        label: r.try_get(2usize)?,
                    });
                }
            }
            Ok(hits)
        }

        async fn registry_counts(&self, q: &RegistryMeasureQuery) -> Result<Vec<(RegionCode, GridRegistryCounts)>> {
            const DAY: i64 = 86_400_000;
            let mut out: BTreeMap<String, GridRegistryCounts> = BTreeMap::new();
            let under = Some(&q.under);

            let mut b = Sql::new("SELECT grid, kind, count(*) AS n, count(*) FILTER (WHERE last_visited_at >= ");
            b.push_bind(q.now - i64::from(q.fresh_days) * DAY);
            b.push(") AS fresh FROM places WHERE status = 'open'");
            push_under(&mut b, "grid", under);
            b.push(" GROUP BY grid, kind");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let g = out.entry(r.try_get("grid")?).or_default();
                let n: i64 = r.try_get("n")?;
                g.places.insert(r.try_get("kind")?, n);
                g.places_open += n;
                g.places_fresh += r.try_get::<i64, _>("fresh")?;
            }

            let mut b = Sql::new("SELECT grid, house_use, count(*) AS n FROM houses WHERE TRUE");
            push_under(&mut b, "grid", under);
            b.push(" GROUP BY grid, house_use");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                out.entry(r.try_get("grid")?).or_default().houses.insert(r.try_get("house_use")?, r.try_get("n")?);
            }

            let mut b = Sql::new("SELECT grid, count(*) FILTER (WHERE moved_out IS NULL) AS open, count(*) FILTER (WHERE registered_at >= ");
            b.push_bind(q.registered_from).push(" AND registered_at < ").push_bind(q.registered_to);
            b.push(") AS registered, count(*) FILTER (WHERE registered_at >= ").push_bind(q.registered_from);
            b.push(" AND registered_at < ").push_bind(q.registered_to);
            b.push(" AND (registered_at + ").push_bind(i64::from(q.utc_offset_hours) * 3_600_000);
            b.push(format!(") / {DAY} - moved_in <= ")).push_bind(i64::from(q.registration_days));
            b.push(") AS on_time FROM tenancies WHERE TRUE");
            push_under(&mut b, "grid", under);
            b.push(" GROUP BY grid");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let g = out.entry(r.try_get("grid")?).or_default();
                g.tenancies_open = r.try_get("open")?;
                g.tenancies_registered = r.try_get("registered")?;
                g.tenancies_on_time = r.try_get("on_time")?;
            }

            let mut b = Sql::new("SELECT grid, count(*) AS n, count(*) FILTER (WHERE visit_due_at >= ");
            b.push_bind(q.now).push(") AS on_schedule FROM care_people WHERE TRUE");
            push_under(&mut b, "grid", under);
            b.push(" GROUP BY grid");
            for r in Self::query_of(&b).fetch_all(&self.pool).await? {
                let g = out.entry(r.try_get("grid")?).or_default();
                g.in_care = r.try_get("n")?;
                g.in_care_on_schedule = r.try_get("on_schedule")?;
            }
            out.into_iter().map(|(code, c)| Ok((parse_field(RegionCode::parse(&code))?, c))).collect()
        }

        #[tracing::instrument(skip_all, fields(
            buildings = batch.buildings.len(), houses = batch.houses.len(),
            tenancies = batch.tenancies.len(), places = batch.places.len()
        ))]
        async fn import_registry(&self, batch: &RegistryBatch, actor: Option<PersonId>, at: Millis) -> Result<BatchIds> {
            let mut tx = self.begin_write().await?;
            let mut ids = BatchIds::default();
            for (i, b) in batch.buildings.iter().enumerate() {
                let id = self.insert_building(&mut tx, b, actor, at).await.map_err(|e| in_batch("buildings", i, e))?;
                ids.buildings.push(id);
            }
            let resolve = |r: BatchRef<i64>, list: &[i64], field: &str, i: usize, of: &str| match r {
                BatchRef::Stored(id) => Ok(id),
                BatchRef::New(n) => list.get(n).copied().ok_or_else(|| {
                    invalid(format!("{of}[{i}].{field}"), format!("the batch has no {field} number {n}"))
                }),
            };
            let building_ids: Vec<i64> = ids.buildings.iter().map(|b| b.0).collect();
            for (i, (r, h)) in batch.houses.iter().enumerate() {
                let r = match r {
                    BatchRef::Stored(b) => BatchRef::Stored(b.0),
                    BatchRef::New(n) => BatchRef::New(*n),
                };
                let mut h = h.clone();
                h.building = BuildingId(resolve(r, &building_ids, "building", i, "houses")?);
                let id = self.insert_house(&mut tx, &h, actor, at).await.map_err(|e| in_batch("houses", i, e))?;
                ids.houses.push(id);
            }
            let house_ids: Vec<i64> = ids.houses.iter().map(|h| h.0).collect();
            for (i, (r, t)) in batch.tenancies.iter().enumerate() {
                let r = match r {
                    BatchRef::Stored(h) => BatchRef::Stored(h.0),
                    BatchRef::New(n) => BatchRef::New(*n),
                };
                let mut t = t.clone();
                t.house = HouseId(resolve(r, &house_ids, "house", i, "tenancies")?);
                let id = self.insert_tenancy(&mut tx, &t, actor, at).await.map_err(|e| in_batch("tenancies", i, e))?;
                ids.tenancies.push(id);
            }
            let mut kinds = BTreeMap::new();
            for (i, p) in batch.places.iter().enumerate() {
                let id = self
                    .insert_place(&mut tx, p, &mut kinds, actor, at)
                    .await
                    .map_err(|e| in_batch("places", i, e))?;
                ids.places.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        }
    }
}

/// Fixtures of the registry's tests: a street of two live grids and a retired one, people, and
/// entries of each kind.
#[cfg(test)]
pub(crate) mod fixtures {
    use gridkeeper_domain::registry::*;
    use gridkeeper_domain::{LatLon, Region, RegionCode};
    use serde_json::json;

    use crate::prelude::*;
    use crate::{NewPerson, RegionImport, RegionWrite};

    /// The field refusal of a write expected to be refused.
    pub fn refused<T: std::fmt::Debug>(r: crate::Result<T>) -> gridkeeper_domain::FieldError {
        match r {
            Err(crate::StoreError::Invalid(f)) => f,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    pub const GRID: &str = "330483101001001";
    pub const GRID2: &str = "330483101001002";
    pub const OTHER: &str = "330483101002001";
    pub const RETIRED: &str = "330483101001003";
    pub const PHONE: &str = "13812341234";
    pub const ID: &str = "11010519491231002X";
    pub const ID2: &str = "110101199003074477";
    pub const HUAWEI: &str = "914403001922038216";

    pub fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }
    pub fn text(s: &str) -> Text {
        Text::parse("text", s).unwrap()
    }
    pub fn date(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }
    pub fn person(name: &str, phone: Option<&str>, id: Option<&str>) -> PersonalDetails {
        PersonalDetails {
            name: text(name),
            phone: phone.map(|p| Phone::parse(p).unwrap()),
            id_number: id.map(|i| ResidentIdNumber::parse(i).unwrap()),
        }
    }

    /// The regions, and two people (a grid member and a landlord); returns their ids.
    pub async fn town(s: &impl Store) -> (i64, i64) {
        let write = |c: &str| RegionWrite {
            region: Region { code: code(c), name: c.into(), name_en: None, geometry: None },
            key: None,
            derived: false,
        };
        let regions: Vec<_> =
            ["330483", "330483101", "330483101001", "330483101002", GRID, GRID2, OTHER, RETIRED].map(write).into();
        s.apply_region_import(&import(&regions, &[])).await.unwrap();
        s.apply_region_import(&import(&[], &[code(RETIRED)])).await.unwrap();
        let new = |login: &str| NewPerson {
            login: login.into(),
            name: login.into(),
            phone: None,
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        let member = s.create_person(&new("member"), 1).await.unwrap();
        let landlord = s.create_person(&new("landlord"), 1).await.unwrap();
        (member, landlord)
    }

    fn import<'a>(regions: &'a [RegionWrite], retire: &'a [RegionCode]) -> RegionImport<'a> {
        RegionImport {
            at: 1,
            by: None,
            source: "test",
            options: json!({}),
            summary: json!({}),
            report: json!({}),
            regions,
            retire,
            lineage: &[],
        }
    }

    pub fn building(grid: &str) -> BuildingData {
        BuildingData {
            grid: code(grid),
            address: text("乌镇镇银杏路8号"),
            location: LatLon::new(30.745, 120.49).unwrap(),
            floors: Floors::new(6).unwrap(),
            building_use: BuildingUse::Residential,
        }
    }

    pub fn house(building: BuildingId, label: &str, landlord: Option<i64>) -> HouseData {
        HouseData {
            building,
            label: text(label),
            house_use: HouseUse::Rental,
            owner: person("张伟", Some(PHONE), Some(ID)),
            landlord,
        }
    }

    pub fn tenancy(house: HouseId, id: &str, moved_in: &str) -> TenancyData {
        TenancyData {
            house,
            tenant: person("王芳", Some("13900001111"), Some(id)),
            origin: Some(text("河南省周口市")),
            stay: Stay::new(date(moved_in), None).unwrap(),
            registered_by: RegisteredBy::Landlord,
        }
    }

    pub fn place(kind: &str, name: &str, grid: &str) -> PlaceData {
        let fields = match kind {
            "hotel" => json!({"rooms": 12}),
            "enterprise" => json!({"industry": "纺织"}),
            _ => json!({}),
        };
        PlaceData {
            kind: kind.into(),
            name: text(name),
            address: text("乌镇镇西栅大街1号"),
            location: LatLon::new(30.746, 120.48).unwrap(),
            grid: code(grid),
            functional_grid: None,
            credit_code: None,
            licences: vec![],
            responsible: person("李雷", Some(PHONE), None),
            staff: 3,
            risk: RiskLevel::Low,
            fields: serde_json::from_value(fields).unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::registry::*;

    use super::fixtures::*;
    use crate::prelude::*;
    use crate::testing::on_both;
    use crate::{BatchRef, GridRegistryCounts, HouseQuery, LookupKey, PlaceQuery, RegistryBatch, RegistryMeasureQuery};

    const DAY: i64 = 86_400_000;

    on_both! {
        async fn lookup_finds_a_phone_or_id_number_everywhere_and_a_credit_code(s) {
            let (_, landlord) = town(&s).await;
            let b = s.create_building(&building(GRID), None, 1).await.unwrap();
            let h = s.create_house(&house(b.id, "301", Some(landlord)), None, 1).await.unwrap();
            let t = s.register_tenancy(&tenancy(h.id, ID2, "2026-01-01"), None, 1).await.unwrap();
            let mut p = place("enterprise", "乌镇纺织厂", GRID2);
            p.credit_code = Some(CreditCode::parse(HUAWEI).unwrap());
            let p = s.create_place(&p, None, 1).await.unwrap();
            let c = s
                .add_person_in_care(
                    &CareData { house: h.id, person: person("陈奶奶", Some(PHONE), None), kinds: [CareKind::ElderlyAlone].into(), visit_every_days: 7 },
                    None,
                    1,
                )
                .await
                .unwrap();
            let phone = LookupKey::Phone(Phone::parse(PHONE).unwrap());
            let hits: Vec<_> = s.registry_lookup(&phone, None).await.unwrap().into_iter().map(|h| (h.entity, h.role)).collect();
            assert_eq!(hits, [
                (EntityRef::new(EntityKind::House, h.id.0), "owner"),
                (EntityRef::new(EntityKind::Place, p.id.0), "responsible"),
                (EntityRef::new(EntityKind::Care, c.id.0), "in_care"),
            ]);
            let under = code(GRID);
            assert_eq!(s.registry_lookup(&phone, Some(&under)).await.unwrap().len(), 2, "the place is in another grid");
            let tenant = LookupKey::IdNumber(ResidentIdNumber::parse(ID2).unwrap());
            let hits = s.registry_lookup(&tenant, None).await.unwrap();
            assert_eq!(hits.len(), 1);
            assert_eq!((hits[0].entity, hits[0].label.as_str()), (EntityRef::new(EntityKind::Tenancy, t.id.0), "301"));
            let credit = LookupKey::CreditCode(CreditCode::parse(HUAWEI).unwrap());
            let hits = s.registry_lookup(&credit, None).await.unwrap();
            assert_eq!((hits[0].entity.id, hits[0].label.as_str(), hits[0].grid.as_str()), (p.id.0, "乌镇纺织厂", GRID2));
            // Reveal opens what lists mask.
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::House, h.id.0)).await.unwrap(), Some(person("张伟", Some(PHONE), Some(ID))));
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::Tenancy, t.id.0)).await.unwrap().unwrap().name.as_str(), "王芳");
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::Place, p.id.0)).await.unwrap().unwrap().name.as_str(), "李雷");
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::Care, c.id.0)).await.unwrap().unwrap().name.as_str(), "陈奶奶");
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::Building, b.id.0)).await.unwrap(), None);
            assert_eq!(s.reveal_person(EntityRef::new(EntityKind::House, 999)).await.unwrap(), None);
        }

        async fn counts_for_the_measures_per_grid(s) {
            let (member, _) = town(&s).await;
            let now = 100 * DAY;
            let b = s.create_building(&building(GRID), None, 1).await.unwrap();
            let h = s.create_house(&house(b.id, "301", None), None, 1).await.unwrap();
            let mut own = house(b.id, "302", None);
            own.house_use = HouseUse::OwnHome;
            s.create_house(&own, None, 1).await.unwrap();
            // Moved in on day 90 (1970-04-01); one registered on day 91 (on time), one on day 95.
            s.register_tenancy(&tenancy(h.id, ID, "1970-04-01"), None, 91 * DAY + 3_600_000).await.unwrap();
            s.register_tenancy(&tenancy(h.id, ID2, "1970-04-01"), None, 95 * DAY).await.unwrap();
            let fresh = s.create_place(&place("shop", "小卖部", GRID), None, 1).await.unwrap();
            s.mark_place_visited(fresh.id, member, now - 5 * DAY).await.unwrap();
            let stale = s.create_place(&place("shop", "杂货店", GRID), None, 1).await.unwrap();
            s.mark_place_visited(stale.id, member, now - 50 * DAY).await.unwrap();
            s.create_place(&place("hotel", "客栈", GRID), None, 1).await.unwrap();
            let closed = s.create_place(&place("shop", "关了", GRID), None, 1).await.unwrap();
            s.close_place(closed.id, None, 2).await.unwrap();
            s.create_place(&place("shop", "别处", GRID2), None, 1).await.unwrap();
            let care = |every| CareData { house: h.id, person: person("陈奶奶", None, None), kinds: [CareKind::Disabled].into(), visit_every_days: every };
            s.add_person_in_care(&care(7), None, now - 10 * DAY).await.unwrap();
            s.add_person_in_care(&care(30), None, now - 10 * DAY).await.unwrap();
            let q = RegistryMeasureQuery {
                under: code("330483101001"),
                now,
                fresh_days: 30,
                registered_from: 0,
                registered_to: now,
                registration_days: 3,
                utc_offset_hours: 8,
            };
            let counts = s.registry_counts(&q).await.unwrap();
            let grids: Vec<_> = counts.iter().map(|(g, _)| g.as_str()).collect();
            assert_eq!(grids, [GRID, GRID2]);
            let expected = GridRegistryCounts {
                places: [("hotel".to_string(), 1), ("shop".to_string(), 2)].into(),
                houses: [("own_home".to_string(), 1), ("rental".to_string(), 1)].into(),
                places_open: 3,
                places_fresh: 1,
                tenancies_open: 2,
                tenancies_registered: 2,
                tenancies_on_time: 1,
                in_care: 2,
                in_care_on_schedule: 1,
            };
            assert_eq!(counts[0].1, expected);
            assert_eq!(counts[1].1.places_open, 1);
        }

        async fn a_batch_is_stored_whole_or_not_at_all(s) {
            town(&s).await;
            let good = |n: usize| RegistryBatch {
                buildings: vec![building(GRID), building(GRID2)],
                houses: vec![(BatchRef::New(1), house(BuildingId(0), "101", None)), (BatchRef::New(1), house(BuildingId(0), "102", None))],
                tenancies: vec![(BatchRef::New(n), tenancy(HouseId(0), ID2, "2026-01-01"))],
                places: vec![place("shop", "小卖部", GRID), place("hotel", "客栈", GRID2)],
            };
            // The second place's credit code is wrong for the registry: another place has it.
            let mut bad = good(0);
            let mut a = place("enterprise", "甲厂", GRID);
            a.credit_code = Some(CreditCode::parse(HUAWEI).unwrap());
            bad.places = vec![a.clone(), a.clone()];
            let err = s.import_registry(&bad, None, 1).await.unwrap_err();
            assert!(matches!(&err, crate::StoreError::Invalid(f) if f.field == "places[1].credit_code"), "{err}");
            let err = s.import_registry(&good(5), None, 1).await.unwrap_err();
            assert!(matches!(&err, crate::StoreError::Invalid(f) if f.field == "tenancies[0].house"), "{err}");
            assert!(s.buildings(&Default::default()).await.unwrap().is_empty(), "nothing of a refused batch stays");
            assert!(s.places(&PlaceQuery::default()).await.unwrap().is_empty());
            let ids = s.import_registry(&good(1), Some(1), 5).await.unwrap();
            assert_eq!((ids.buildings.len(), ids.houses.len(), ids.tenancies.len(), ids.places.len()), (2, 2, 1, 2));
            let houses = s.houses(&HouseQuery { building: Some(ids.buildings[1]), ..Default::default() }).await.unwrap();
            assert_eq!(houses.iter().map(|h| h.grid.as_str()).collect::<Vec<_>>(), [GRID2, GRID2]);
            let t = s.tenancy(ids.tenancies[0]).await.unwrap().unwrap();
            assert_eq!(t.data.house, ids.houses[1]);
            let history = s.registry_history(EntityRef::new(EntityKind::Place, ids.places[1].0)).await.unwrap();
            assert_eq!((history.len(), history[0].action, history[0].actor, history[0].at), (1, ChangeAction::Created, Some(1), 5));
        }
    }
}
