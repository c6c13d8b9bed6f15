//! The grid's registry (人、地、事、物、组织): buildings, the houses in them and their tenancies,
//! places of many kinds, and people in care with their visits — what a grid member collects and
//! keeps current. Every change to an entry is a [`RegistryChange`] (history.rs).
//!
//! Each entity comes in two forms: `…Data`, what is written (personal details in clear, checked
//! here), and the stored entry (`House`, `Place`, `Tenancy`, `PersonInCare`), read with its
//! personal details masked ([`MaskedPerson`]); the clear details are read only by an explicit
//! reveal of the store. No I/O.

mod codes;
mod history;
mod kinds;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use codes::{CreditCode, Phone, ResidentIdNumber};
pub use history::{changes, ChangeAction, EntityKind, EntityRef, FieldChange, RegistryChange};
pub use kinds::{default_place_kinds, is_key, FieldSpec, FieldType, PlaceFields, PlaceKind};

use crate::{FieldError, LatLon, Millis, PersonId, RegionCode};

/// A closed list of snake_case codes with `ALL`, `as_str` and `parse` (naming `$field`).
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }
            pub fn parse(s: &str) -> Result<Self, $crate::FieldError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let all: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::FieldError::new($field, format!("unknown value `{s}`; one of {}", all.join(", ")))
                })
            }
        }
    };
}
pub(crate) use code_enum;

/// Ids of registry entries: distinct types, plain numbers on the wire.
macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),*) => {$(
        $(#[$m])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

pub(crate) use id_type;

id_type!(
    /// A building (楼栋).
    BuildingId,
    /// A house or unit in a building (房屋).
    HouseId,
    /// A place (场所).
    PlaceId,
    /// A tenancy registration (租住登记).
    TenancyId,
    /// A person in care (关爱对象).
    CareId
);

code_enum!(
    /// What a building is used for.
    BuildingUse, "use" {
        Residential = "residential",
        Commercial = "commercial",
        Mixed = "mixed",
        Industrial = "industrial",
        Public = "public",
        Other = "other",
    }
);

code_enum!(
    /// What a house or unit is used for.
    HouseUse, "use" {
        OwnHome = "own_home",
        Rental = "rental",
        Commercial = "commercial",
        Vacant = "vacant",
    }
);

code_enum!(
    /// Who registered a tenancy.
    RegisteredBy, "registered_by" {
        Landlord = "landlord",
        GridMember = "grid_member",
        Tenant = "tenant",
    }
);

code_enum!(
    /// The safety risk a grid member assesses for a place.
    RiskLevel, "risk" {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
);

code_enum!(
    /// Places close or move; they never vanish.
    PlaceStatus, "status" {
        Open = "open",
        Closed = "closed",
        /// Moved away; `moved_to` is its entry at the new address.
        Moved = "moved",
    }
);

code_enum!(
    /// Why a person is in care.
    CareKind, "kinds" {
        ElderlyAlone = "elderly_alone",
        Disabled = "disabled",
        LeftBehindChild = "left_behind_child",
        LowIncome = "low_income",
        Other = "other",
    }
);

/// Text as people type it, trimmed: 1 to 200 characters, no control characters.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub const MAX: usize = 200;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let t = crate::required_text(field, s, Self::MAX)?;
        // One line: not even the line breaks and tabs that longer text may hold.
        if t.chars().any(char::is_control) {
            return Err(FieldError::new(field, "may not contain control characters"));
        }
        Ok(Self(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse("text", &s)
    }
}
impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}
impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Floors above ground: 1 to 200.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = u8))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Floors(u8);

impl Floors {
    pub fn new(n: i64) -> Result<Self, FieldError> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=200).contains(n))
            .map(Self)
            .ok_or_else(|| FieldError::new("floors", "must be between 1 and 200"))
    }
    pub fn get(self) -> u8 {
        self.0
    }
}
impl TryFrom<i64> for Floors {
    type Error = FieldError;
    fn try_from(n: i64) -> Result<Self, FieldError> {
        Self::new(n)
    }
}
impl From<Floors> for i64 {
    fn from(f: Floors) -> i64 {
        i64::from(f.0)
    }
}

/// Masks a name for lists: `张伟` → `张*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// A person named in the registry — an owner or landlord, a tenant, a place's responsible
/// person, a person in care — in clear: personal data, sealed at rest.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDetails {
    pub name: Text,
    #[serde(default)]
    pub phone: Option<Phone>,
    #[serde(default)]
    pub id_number: Option<ResidentIdNumber>,
}

impl PersonalDetails {
    pub fn masked(&self) -> MaskedPerson {
        MaskedPerson {
            name: mask_name(self.name.as_str()),
            phone: self.phone.as_ref().map(Phone::masked),
            id_number: self.id_number.as_ref().map(ResidentIdNumber::masked),
        }
    }
}

/// A person as lists and entries show them: `张*`, `138****1234`, `1101**********002X`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedPerson {
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

/// A building (楼栋): where it is, in which grid, how high, what for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingData {
    /// The administrative grid it lies in (located through the grid index).
    pub grid: RegionCode,
    pub address: Text,
    pub location: LatLon,
    pub floors: Floors,
    #[serde(rename = "use")]
    pub building_use: BuildingUse,
}

/// The fields of a building an update changes (absent: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildingPatch {
    pub grid: Option<RegionCode>,
    pub address: Option<Text>,
    pub location: Option<LatLon>,
    pub floors: Option<Floors>,
    #[serde(rename = "use")]
    pub building_use: Option<BuildingUse>,
}

impl BuildingData {
    pub fn patched(&self, p: &BuildingPatch) -> Self {
        Self {
            grid: p.grid.clone().unwrap_or_else(|| self.grid.clone()),
            address: p.address.clone().unwrap_or_else(|| self.address.clone()),
            location: p.location.unwrap_or(self.location),
            floors: p.floors.unwrap_or(self.floors),
            building_use: p.building_use.unwrap_or(self.building_use),
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub id: BuildingId,
    #[serde(flatten)]
    pub data: BuildingData,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
}

/// A house or unit in a building (房屋), with its owner or landlord. `P` is the owner's form:
/// [`PersonalDetails`] when written, [`MaskedPerson`] when read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseData<P = PersonalDetails> {
    pub building: BuildingId,
    /// The unit's label in its building (`2单元301`); unique there.
    pub label: Text,
    #[serde(rename = "use")]
    pub house_use: HouseUse,
    /// The owner, or the landlord of a rental.
    pub owner: P,
    /// The owner's account, for the landlord's phone view of their houses.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub landlord: Option<PersonId>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HousePatch {
    pub label: Option<Text>,
    #[serde(rename = "use")]
    pub house_use: Option<HouseUse>,
    pub owner: Option<PersonalDetails>,
    /// `Some(None)` unlinks the landlord's account.
    #[serde(with = "double_option", skip_serializing_if = "Option::is_none")]
    pub landlord: Option<Option<PersonId>>,
}

impl HouseData {
    pub fn patched(&self, p: &HousePatch) -> Self {
        Self {
            building: self.building,
            label: p.label.clone().unwrap_or_else(|| self.label.clone()),
            house_use: p.house_use.unwrap_or(self.house_use),
            owner: p.owner.clone().unwrap_or_else(|| self.owner.clone()),
            landlord: p.landlord.unwrap_or(self.landlord),
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct House {
    pub id: HouseId,
    #[serde(flatten)]
    pub data: HouseData<MaskedPerson>,
    /// Its building's grid.
    pub grid: RegionCode,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
}

/// When a tenant lived in a house: moved in on a day, moved out on a day not before it (or not
/// yet). Cannot hold a move-out before the move-in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StayFields")]
pub struct Stay {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    moved_in: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    moved_out: Option<NaiveDate>,
}

/// The wire form of a [`Stay`], checked into one.
#[derive(Debug, Clone, Deserialize)]
pub struct StayFields {
    pub moved_in: NaiveDate,
    #[serde(default)]
    pub moved_out: Option<NaiveDate>,
}

impl TryFrom<StayFields> for Stay {
    type Error = FieldError;
    fn try_from(f: StayFields) -> Result<Self, FieldError> {
        Stay::new(f.moved_in, f.moved_out)
    }
}

impl Stay {
    pub fn new(moved_in: NaiveDate, moved_out: Option<NaiveDate>) -> Result<Self, FieldError> {
        match moved_out {
            Some(out) if out < moved_in => {
                Err(FieldError::new("moved_out", format!("{out} is before the move-in on {moved_in}")))
            }
            _ => Ok(Self { moved_in, moved_out }),
        }
    }
    pub fn moved_in(&self) -> NaiveDate {
        self.moved_in
    }
    pub fn moved_out(&self) -> Option<NaiveDate> {
        self.moved_out
    }
    /// Still living there.
    pub fn is_open(&self) -> bool {
        self.moved_out.is_none()
    }
    /// The stay ended on `moved_out`: refused before the move-in, or when it has ended already.
    pub fn end(&self, moved_out: NaiveDate) -> Result<Self, FieldError> {
        if let Some(out) = self.moved_out {
            return Err(FieldError::new("moved_out", format!("the tenancy ended already, on {out}")));
        }
        Self::new(self.moved_in, Some(moved_out))
    }
    /// Whether two stays share a night: `[moved_in, moved_out)`, an open stay without end; a
    /// stay that ends the day another begins does not overlap it.
    pub fn overlaps(&self, other: &Stay) -> bool {
        let before = |a: &Stay, b: &Stay| a.moved_out.is_some_and(|out| out <= b.moved_in);
        !(before(self, other) || before(other, self))
    }
}

/// A tenant's stay in a house (租住登记): who, from where (the floating population's origin),
/// when, registered by whom. `P` is the tenant's form: [`PersonalDetails`] when written; when
/// read, `Option<MaskedPerson>` (`None` once anonymised).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenancyData<P = PersonalDetails> {
    pub house: HouseId,
    pub tenant: P,
    /// Where the tenant comes from (province and city, as said), for the floating population.
    #[serde(default)]
    pub origin: Option<Text>,
    #[serde(flatten)]
    pub stay: Stay,
    pub registered_by: RegisteredBy,
}

impl TenancyData {
    /// Checks a new registration against the same tenant's other tenancies in the same house
    /// (`others`): the tenant's ID number is required, and their stays may not overlap (so one
    /// tenant has at most one open tenancy in a house).
    pub fn check_registration(&self, others: &[(TenancyId, Stay)]) -> Result<(), FieldError> {
        if self.tenant.id_number.is_none() {
            return Err(FieldError::new("tenant.id_number", "is required to register a tenancy"));
        }
        if let Some((id, other)) = others.iter().find(|(_, s)| s.overlaps(&self.stay)) {
            let what = if other.is_open() { "an open tenancy" } else { "a tenancy" };
            return Err(FieldError::new(
                "moved_in",
                format!("the tenant has {what} in this house over this period already (tenancy {id})"),
            ));
        }
        Ok(())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenancy {
    pub id: TenancyId,
    #[serde(flatten)]
    pub data: TenancyData<Option<MaskedPerson>>,
    /// The house's grid.
    pub grid: RegionCode,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub registered_at: Millis,
    /// The account that registered it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub registered_by_person: Option<PersonId>,
    /// When the tenant's personal details were wiped (the row and its dates stay, for counts).
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub anonymised_at: Option<Millis>,
}

/// A licence a place holds (营业执照, 食品经营许可证, …) and its number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    pub kind: Text,
    pub number: Text,
}

/// A place (场所) a grid watches. `P` is the responsible person's form: [`PersonalDetails`]
/// when written, [`MaskedPerson`] when read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceData<P = PersonalDetails> {
    /// The key of its [`PlaceKind`].
    pub kind: String,
    pub name: Text,
    pub address: Text,
    pub location: LatLon,
    /// The administrative grid it belongs to.
    pub grid: RegionCode,
    /// A functional grid (a school, an industrial park, a road) it also belongs to.
    #[serde(default)]
    pub functional_grid: Option<Text>,
    /// An enterprise's unified social credit code.
    #[serde(default)]
    pub credit_code: Option<CreditCode>,
    #[serde(default)]
    pub licences: Vec<Licence>,
    pub responsible: P,
    pub staff: u32,
    pub risk: RiskLevel,
    /// Kind-specific fields, checked by the kind's schema.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: PlaceFields,
}

impl PlaceData {
    /// The place as its kind's schema accepts it (fields normalised), or the refusal naming the
    /// field. `kind` must be the place's kind.
    pub fn checked(mut self, kind: &PlaceKind) -> Result<Self, FieldError> {
        if kind.key != self.kind {
            return Err(FieldError::new("kind", format!("the place is a {}, not a {}", self.kind, kind.key)));
        }
        self.fields = kind.validate(&self.fields)?;
        Ok(self)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlacePatch {
    pub kind: Option<String>,
    pub name: Option<Text>,
    pub address: Option<Text>,
    pub location: Option<LatLon>,
    pub grid: Option<RegionCode>,
    #[serde(with = "double_option", skip_serializing_if = "Option::is_none")]
    pub functional_grid: Option<Option<Text>>,
    #[serde(with = "double_option", skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<Option<CreditCode>>,
    pub licences: Option<Vec<Licence>>,
    pub responsible: Option<PersonalDetails>,
    pub staff: Option<u32>,
    pub risk: Option<RiskLevel>,
    /// Replaces the kind-specific fields as a whole.
    pub fields: Option<PlaceFields>,
}

impl PlaceData {
    pub fn patched(&self, p: &PlacePatch) -> Self {
        Self {
            kind: p.kind.clone().unwrap_or_else(|| self.kind.clone()),
            name: p.name.clone().unwrap_or_else(|| self.name.clone()),
            address: p.address.clone().unwrap_or_else(|| self.address.clone()),
            location: p.location.unwrap_or(self.location),
            grid: p.grid.clone().unwrap_or_else(|| self.grid.clone()),
            functional_grid: p.functional_grid.clone().unwrap_or_else(|| self.functional_grid.clone()),
            credit_code: p.credit_code.clone().unwrap_or_else(|| self.credit_code.clone()),
            licences: p.licences.clone().unwrap_or_else(|| self.licences.clone()),
            responsible: p.responsible.clone().unwrap_or_else(|| self.responsible.clone()),
            staff: p.staff.unwrap_or(self.staff),
            risk: p.risk.unwrap_or(self.risk),
            fields: p.fields.clone().unwrap_or_else(|| self.fields.clone()),
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub id: PlaceId,
    #[serde(flatten)]
    pub data: PlaceData<MaskedPerson>,
    pub status: PlaceStatus,
    /// Its entry at the new address, once moved.
    pub moved_to: Option<PlaceId>,
    /// Freshness: the last visit of a grid member.
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_visited_at: Option<Millis>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub last_visited_by: Option<PersonId>,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
}

/// A person in care (关爱对象) living in a house, visited every `visit_every_days` days. `P` is
/// their details' form: [`PersonalDetails`] when written, [`MaskedPerson`] when read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareData<P = PersonalDetails> {
    pub house: HouseId,
    pub person: P,
    /// At least one.
    pub kinds: BTreeSet<CareKind>,
    /// 1 to 366.
    pub visit_every_days: u16,
}

impl<P> CareData<P> {
    pub fn check(&self) -> Result<(), FieldError> {
        if self.kinds.is_empty() {
            return Err(FieldError::new("kinds", "name at least one kind of care"));
        }
        if !(1..=366).contains(&self.visit_every_days) {
            return Err(FieldError::new("visit_every_days", "must be between 1 and 366"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CarePatch {
    pub house: Option<HouseId>,
    pub person: Option<PersonalDetails>,
    pub kinds: Option<BTreeSet<CareKind>>,
    pub visit_every_days: Option<u16>,
}

impl CareData {
    pub fn patched(&self, p: &CarePatch) -> Self {
        Self {
            house: p.house.unwrap_or(self.house),
            person: p.person.clone().unwrap_or_else(|| self.person.clone()),
            kinds: p.kinds.clone().unwrap_or_else(|| self.kinds.clone()),
            visit_every_days: p.visit_every_days.unwrap_or(self.visit_every_days),
        }
    }
}

/// A visit is due `visit_every_days` after the last one (or after the entry was made).
pub fn visit_due(since: Millis, every_days: u16) -> Millis {
    since + i64::from(every_days) * 86_400_000
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonInCare {
    pub id: CareId,
    #[serde(flatten)]
    pub data: CareData<MaskedPerson>,
    /// The house's grid.
    pub grid: RegionCode,
    #[serde(with = "crate::time::rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_visited_at: Option<Millis>,
    /// When the next visit is due.
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub visit_due_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
}

/// A visit to a person in care.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareVisit {
    pub id: i64,
    pub care: CareId,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Millis,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub by: Option<PersonId>,
    /// What was found (personal data: sealed at rest).
    pub note: Option<String>,
}

/// `#[serde(with = "double_option")]`: absent → `None` (unchanged), `null` → `Some(None)`
/// (cleared), a value → `Some(Some(v))`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests;
