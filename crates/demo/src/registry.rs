//! The demo town's registry (issue 15): in every grid the buildings on the town's roads and
//! village groups, their houses (own homes, rentals, shops, empty ones) with their owners, the
//! tenants of the rentals — the floating population from Anhui, Henan, Jiangxi, Guizhou, Sichuan,
//! … — with their move-ins and move-outs, the places a grid member watches (the three small,
//! restaurants, the homestays of the scenic areas, enterprises, markets, schools, clinics, a
//! construction site) and the people in care, with the grid members' visits.
//!
//! Every resident ID number carries its GB 11643 check digit, every credit code its GB 32100
//! check character (and its organisation code its GB 11714 one); every place's fields are valid
//! for its kind (`place_kinds.json`). A few landlords and social units get logins.
//!
//! The registry is written in the order a store numbers it on a fresh database: the
//! [`Collection`] of each grid (one all-or-none batch by its grid member, when the platform
//! started), then the [`RegistryStep`]s in time order. Ids below are those the store assigns.

use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, NaiveDate};
use gridkeeper_domain::registry::{
    BuildingData, BuildingId, BuildingUse, CareData, CareId, CareKind, CreditCode, Floors, HouseData, HouseId,
    HouseUse, Licence, PersonalDetails, Phone, PlaceData, PlaceFields, PlaceId, RegisteredBy, ResidentIdNumber,
    RiskLevel, Stay, TenancyData, TenancyId, Text,
};
use gridkeeper_domain::{Grant, Millis, PersonId, RegionCode, Role, Scope, HOUR};
use gridkeeper_store::{BatchRef, NewPerson, RegistryBatch};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

use crate::people::{Roster, GIVEN_NAMES, PASSWORD, PHONE_PREFIXES, SURNAMES};
use crate::town::{Town, DISTRICT};
use crate::DemoPerson;

const DAY: Millis = 24 * HOUR;
/// China Standard Time.
const OFFSET: Millis = 8 * HOUR;

/// What the grid member of one grid collected when the platform started, written as one batch.
#[derive(Debug, Clone)]
pub struct Collection {
    pub grid: RegionCode,
    /// Houses refer to the batch's buildings (`BatchRef::New`), tenancies to its houses.
    pub batch: RegistryBatch,
    pub by: PersonId,
    pub at: Millis,
    /// The ids the store gives the batch's first building, house, tenancy and place.
    pub first: (i64, i64, i64, i64),
}

/// What happened in the registry after the collection, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryStep {
    /// A tenancy registered (the store numbers it `id`) by a landlord, a grid member or the
    /// tenant (`by` is the account, none for a tenant).
    Register { id: TenancyId, tenancy: TenancyData, by: Option<PersonId>, at: Millis },
    /// A tenant moved out.
    End { tenancy: TenancyId, moved_out: NaiveDate, by: Option<PersonId>, at: Millis },
    /// A grid member visited a place.
    VisitPlace { place: PlaceId, by: PersonId, at: Millis },
    /// A person in care entered (numbered `id`).
    AddCare { id: CareId, care: CareData, by: PersonId, at: Millis },
    /// A visit to a person in care.
    VisitCare { care: CareId, by: PersonId, at: Millis, note: String },
}

impl RegistryStep {
    pub fn at(&self) -> Millis {
        match self {
            Self::Register { at, .. }
            | Self::End { at, .. }
            | Self::VisitPlace { at, .. }
            | Self::AddCare { at, .. }
            | Self::VisitCare { at, .. } => *at,
        }
    }
}

/// The demo's registry.
#[derive(Debug, Clone, Default)]
pub struct DemoRegistry {
    /// One per grid, in grid order (load them first, in this order).
    pub collections: Vec<Collection>,
    /// Then these, in this order (time order).
    pub steps: Vec<RegistryStep>,
}

impl DemoRegistry {
    pub fn buildings(&self) -> impl Iterator<Item = &BuildingData> {
        self.collections.iter().flat_map(|c| &c.batch.buildings)
    }
    pub fn houses(&self) -> impl Iterator<Item = &HouseData> {
        self.collections.iter().flat_map(|c| c.batch.houses.iter().map(|(_, h)| h))
    }
    pub fn places(&self) -> impl Iterator<Item = &PlaceData> {
        self.collections.iter().flat_map(|c| &c.batch.places)
    }
    /// Every tenancy as registered: the collections' and the later ones.
    pub fn tenancies(&self) -> impl Iterator<Item = &TenancyData> {
        let collected = self.collections.iter().flat_map(|c| c.batch.tenancies.iter().map(|(_, t)| t));
        let later = self.steps.iter().filter_map(|s| match s {
            RegistryStep::Register { tenancy, .. } => Some(tenancy),
            _ => None,
        });
        collected.chain(later)
    }
    pub fn care(&self) -> impl Iterator<Item = &CareData> {
        self.steps.iter().filter_map(|s| match s {
            RegistryStep::AddCare { care, .. } => Some(care),
            _ => None,
        })
    }
}

/// Where the floating population comes from: address code (GB/T 2260) and how it is said.
const ORIGINS: [(&str, &str, u32); 16] = [
    ("341221", "安徽省阜阳市临泉县", 6),
    ("341222", "安徽省阜阳市太和县", 5),
    ("341623", "安徽省亳州市利辛县", 4),
    ("341321", "安徽省宿州市砀山县", 3),
    ("411627", "河南省周口市太康县", 5),
    ("411628", "河南省周口市鹿邑县", 3),
    ("411526", "河南省信阳市潢川县", 4),
    ("411721", "河南省驻马店市西平县", 3),
    ("361128", "江西省上饶市鄱阳县", 4),
    ("361127", "江西省上饶市余干县", 3),
    ("360424", "江西省九江市修水县", 2),
    ("520521", "贵州省毕节市大方县", 3),
    ("520524", "贵州省毕节市织金县", 2),
    ("511722", "四川省达州市宣汉县", 3),
    ("510921", "四川省遂宁市蓬溪县", 2),
    ("320923", "江苏省盐城市阜宁县", 2),
];

const FEMALE_NAMES: [&str; 21] = [
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "桂英", "晓燕", "玉兰", "春梅", "丽萍", "雪梅", "欣怡",
    "梓涵", "佳琪", "雨桐", "美华", "红英",
];
const OLD_NAMES: [&str; 12] =
    ["秀英", "桂英", "建国", "国庆", "卫东", "玉兰", "建华", "红英", "永林", "春梅", "建新", "立群"];
const CHILD_NAMES: [&str; 8] = ["子豪", "欣怡", "浩然", "梓涵", "佳琪", "一鸣", "雨桐", "俊杰"];

/// Landlords with a login, and the grids of their rental houses (member001's grid first).
const LANDLORD_GRIDS: [usize; 7] = [0, 1, 12, 23, 35, 55, 71];
/// Places whose keepers get a social unit login: (kind, the grid it is looked for in first, label).
const SOCIAL_UNITS: [(&str, usize, &str); 5] = [
    ("hotel", 0, "social unit (homestay)"),
    ("restaurant", 30, "social unit (restaurant)"),
    ("enterprise", 45, "social unit (enterprise)"),
    ("school", 20, "social unit (school)"),
    ("workshop", 50, "social unit (workshop)"),
];

/// The registry of the town, the landlords' and social units' logins appended to `people`
/// (after everyone else, so no earlier id moves).
pub(crate) fn build(
    seed: u64,
    town: &Town,
    roster: &Roster,
    now: Millis,
    people: &mut Vec<DemoPerson>,
) -> DemoRegistry {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed ^ 0x7265_6769_7374_7279),
        phones: people.iter().filter_map(|p| p.person.phone.clone()).collect(),
        ids: HashSet::new(),
        codes: HashSet::new(),
        today: local_date(now),
    };
    let first_person = people.len() as PersonId + 1;
    let landlords: Vec<Landlord> = LANDLORD_GRIDS
        .iter()
        .enumerate()
        .map(|(i, &grid)| Landlord {
            id: first_person + i as PersonId,
            grid,
            details: g.local_person(1958..=1985),
            houses: 0,
        })
        .collect();
    let mut landlords = landlords;

    let mut collections = Vec::with_capacity(town.grids.len());
    let mut steps = Vec::new();
    let mut next = (1i64, 1i64, 1i64, 1i64);
    // (house id, grid) of own homes, for people in care.
    let mut homes: Vec<Vec<HouseId>> = vec![vec![]; town.grids.len()];
    // Place ids by kind and grid, for the social units.
    let mut place_index: Vec<(String, usize, PlaceId, PersonalDetails)> = Vec::new();
    // Stays of the later registrations, before they are numbered.
    let mut later: Vec<Later> = Vec::new();

    for (gi, grid) in town.grids.iter().enumerate() {
        let member = roster.members[gi][0];
        let setting = Setting::of(grid.community);
        // The collection campaign ran over a month when the registry started, four months ago.
        let at = now - 100 * DAY - g.rng.gen_range(0..30) * DAY + g.rng.gen_range(9 * HOUR..17 * HOUR);
        let collected_on = local_date(at);
        let first = next;
        let mut batch = RegistryBatch::default();
        let mut addresses = HashSet::new();

        let n_buildings = match setting {
            Setting::Scenic => g.rng.gen_range(2..=3),
            Setting::Town => g.rng.gen_range(2..=3),
            Setting::Village => g.rng.gen_range(3..=4),
        };
        for b in 0..n_buildings {
            let (building_use, floors, labels) = g.building_shape(setting, b);
            let address = loop {
                let mut a = town.address(gi, &mut g.rng);
                if building_use == BuildingUse::Residential && setting == Setting::Town {
                    a = format!("{a}{}幢", g.rng.gen_range(1..=12));
                }
                if addresses.insert(a.clone()) {
                    break a;
                }
            };
            let bi = batch.buildings.len();
            next.0 += 1;
            batch.buildings.push(BuildingData {
                grid: grid.region.code.clone(),
                address: text(&address),
                location: grid.sample(&mut g.rng),
                floors: Floors::new(floors).expect("1 to 200 floors"),
                building_use,
            });
            for label in labels {
                let mut house_use = g.house_use(setting, building_use, &label);
                // A landlord with a login has at least one rental house.
                if landlords.iter().any(|l| l.grid == gi && l.houses == 0) && house_use != HouseUse::Commercial {
                    house_use = HouseUse::Rental;
                }
                let house_id = HouseId(next.1);
                next.1 += 1;
                let mut landlord = None;
                let owner = match landlords.iter_mut().find(|l| l.grid == gi && l.houses < 3) {
                    Some(l) if house_use == HouseUse::Rental => {
                        l.houses += 1;
                        landlord = Some(l.id);
                        l.details.clone()
                    }
                    _ => g.local_person(1945..=1990),
                };
                if house_use == HouseUse::OwnHome {
                    homes[gi].push(house_id);
                }
                batch.houses.push((
                    BatchRef::New(bi),
                    HouseData { building: BuildingId(0), label: text(&label), house_use, owner, landlord },
                ));
                if house_use != HouseUse::Rental {
                    continue;
                }
                // The house's tenants over time: households one after the other.
                let mut moved_in = collected_on - chrono::Duration::days(g.rng.gen_range(20..700));
                while moved_in <= g.today {
                    let months = g.rng.gen_range(4..=36);
                    let end = moved_in + chrono::Duration::days(months * 30 + g.rng.gen_range(0..30));
                    let moved_out = (end <= g.today).then_some(end);
                    let household = g.household(setting, moved_in);
                    let ends_after_collection = moved_out.is_none_or(|o| o > collected_on);
                    for tenant in household {
                        let mut data = TenancyData {
                            house: house_id,
                            tenant: tenant.details,
                            origin: Some(text(tenant.origin)),
                            stay: Stay::new(moved_in, None).expect("an open stay"),
                            registered_by: RegisteredBy::GridMember,
                        };
                        // How it ended, and when that was entered.
                        let ending = moved_out.map(|out| {
                            let by = if landlord.is_some() && g.rng.gen_bool(0.6) { landlord } else { Some(member) };
                            (out, by, (day_at(out, &mut g.rng) + g.rng.gen_range(0..4) * DAY).min(now))
                        });
                        if moved_in <= collected_on {
                            if !ends_after_collection {
                                continue; // gone before the grid member came
                            }
                            let id = TenancyId(next.2);
                            next.2 += 1;
                            batch.tenancies.push((BatchRef::New(batch.houses.len() - 1), data));
                            if let Some((out, by, at)) = ending {
                                steps.push(RegistryStep::End { tenancy: id, moved_out: out, by, at });
                            }
                        } else {
                            // Registered after moving in: within three days as a rule, a few late.
                            let delay =
                                if g.rng.gen_bool(0.82) { g.rng.gen_range(0..=2) } else { g.rng.gen_range(4..=25) };
                            let at = day_at(moved_in + chrono::Duration::days(delay), &mut g.rng);
                            if at > now {
                                continue; // not registered yet
                            }
                            let by = match g.rng.gen_range(0..100) {
                                0..=44 if landlord.is_some() => {
                                    data.registered_by = RegisteredBy::Landlord;
                                    landlord
                                }
                                0..=14 => {
                                    data.registered_by = RegisteredBy::Tenant;
                                    None
                                }
                                _ => Some(member),
                            };
                            let ending = ending.map(|(out, by, end_at)| (out, by, end_at.max(at)));
                            later.push(Later { at, tenancy: data, by, ending });
                        }
                    }
                    moved_in = end + chrono::Duration::days(g.rng.gen_range(3..60));
                }
            }
        }

        // Places.
        for (kind, count) in g.place_counts(setting, gi) {
            for _ in 0..count {
                let place = g.place(town, gi, kind);
                let id = PlaceId(next.3);
                next.3 += 1;
                place_index.push((kind.to_string(), gi, id, place.responsible.clone()));
                // Freshness (the latest visit): most visited within the month, some not for a
                // season, some not since the collection, a few never (entered from a list).
                let last = match g.rng.gen_range(0..100) {
                    0..=62 => Some(now - g.rng.gen_range(HOUR..29 * DAY)),
                    63..=83 => Some(now - g.rng.gen_range(31 * DAY..89 * DAY)),
                    84..=95 => Some(at + g.rng.gen_range(0..HOUR)),
                    _ => None,
                };
                if let Some(last) = last {
                    steps.push(RegistryStep::VisitPlace { place: id, by: member, at: last });
                }
                batch.places.push(place);
            }
        }

        collections.push(Collection { grid: grid.region.code.clone(), batch, by: member, at, first });
    }

    // People in care, in houses that are homes; each grid a few, more in the villages.
    let mut care_id = 1i64;
    for (gi, grid) in town.grids.iter().enumerate() {
        let member = roster.members[gi][0];
        let setting = Setting::of(grid.community);
        let n = match setting {
            Setting::Village => g.rng.gen_range(1..=2),
            _ => g.rng.gen_range(0..=2),
        };
        let mut houses = homes[gi].clone();
        for _ in 0..n.min(houses.len()) {
            let house = houses.swap_remove(g.rng.gen_range(0..houses.len()));
            let (kinds, every, person) = g.in_care(setting);
            let added = collections[gi].at + g.rng.gen_range(1..20) * DAY;
            let id = CareId(care_id);
            care_id += 1;
            steps.push(RegistryStep::AddCare {
                id,
                care: CareData { house, person, kinds, visit_every_days: every },
                by: member,
                at: added,
            });
            // The latest visit: on schedule for most, overdue for about a third.
            let every_ms = i64::from(every) * DAY;
            let last = now - g.rng.gen_range(DAY / 2..every_ms * 3 / 2);
            if last > added {
                if g.rng.gen_bool(0.05) && last - every_ms - DAY > added {
                    let at = last - every_ms + g.rng.gen_range(-DAY..DAY);
                    steps.push(RegistryStep::VisitCare { care: id, by: member, at, note: g.visit_note() });
                }
                steps.push(RegistryStep::VisitCare { care: id, by: member, at: last, note: g.visit_note() });
            }
        }
    }

    // The later registrations, numbered in time order after the collections' tenancies.
    later.sort_by_key(|l| l.at);
    for (n, Later { at, tenancy, by, ending }) in (next.2..).zip(later) {
        let id = TenancyId(n);
        steps.push(RegistryStep::Register { id, tenancy, by, at });
        if let Some((out, by, end_at)) = ending {
            steps.push(RegistryStep::End { tenancy: id, moved_out: out, by, at: end_at });
        }
    }
    // Time order; a tenancy's end never before its registration (same instant: registration
    // first, which the stable sort keeps).
    steps.sort_by_key(RegistryStep::at);
    number_care_in_order(&mut steps);

    // The logins: landlords, then social units.
    for (i, l) in landlords.iter().enumerate() {
        people.push(DemoPerson {
            person: NewPerson {
                login: format!("landlord{:02}", i + 1),
                name: l.details.name.to_string(),
                phone: l.details.phone.as_ref().map(|p| p.as_str().to_string()),
                id_number: l.details.id_number.as_ref().map(|n| n.as_str().to_string()),
                password_hash: None,
                grants: vec![
                    Grant::new(Role::Resident, Scope::Region { code: code(DISTRICT) }).expect("a resident's scope")
                ],
            },
            password: PASSWORD.into(),
            role_label: "landlord (rental houses)",
        });
    }
    for (i, (kind, near, label)) in SOCIAL_UNITS.iter().enumerate() {
        let (_, _, id, keeper) = place_index
            .iter()
            .filter(|(k, ..)| k == kind)
            .min_by_key(|(_, gi, ..)| gi.abs_diff(*near))
            .expect("the demo has places of every social unit's kind");
        people.push(DemoPerson {
            person: NewPerson {
                login: format!("unit{:02}", i + 1),
                name: keeper.name.to_string(),
                phone: Some(g.phone()),
                id_number: None,
                password_hash: None,
                grants: vec![Grant::new(Role::SocialUnit, Scope::Place { id: id.0 }).expect("a social unit's scope")],
            },
            password: PASSWORD.into(),
            role_label: label,
        });
    }

    DemoRegistry { collections, steps }
}

/// Numbers the people in care in the order they are entered (the steps' order), and their
/// visits to match.
fn number_care_in_order(steps: &mut [RegistryStep]) {
    let mut numbers = std::collections::HashMap::new();
    for s in steps.iter_mut() {
        match s {
            RegistryStep::AddCare { id, .. } => {
                let n = CareId(numbers.len() as i64 + 1);
                numbers.insert(*id, n);
                *id = n;
            }
            RegistryStep::VisitCare { care, .. } => *care = numbers[care],
            _ => {}
        }
    }
}

/// A tenancy registered after the collection, and how it ended (move-out, by whom, when entered).
struct Later {
    at: Millis,
    tenancy: TenancyData,
    by: Option<PersonId>,
    ending: Option<(NaiveDate, Option<PersonId>, Millis)>,
}

struct Landlord {
    id: PersonId,
    grid: usize,
    details: PersonalDetails,
    houses: usize,
}

struct Tenant {
    details: PersonalDetails,
    origin: &'static str,
}

/// What kind of place a grid is: the scenic water towns (西栅, 东栅), the town's streets, or
/// the villages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Scenic,
    Town,
    Village,
}

impl Setting {
    fn of(community: usize) -> Self {
        match community {
            0 | 3 => Self::Scenic,
            1 | 2 | 7 => Self::Town,
            _ => Self::Village,
        }
    }
}

struct Gen {
    rng: StdRng,
    phones: HashSet<String>,
    ids: HashSet<String>,
    codes: HashSet<String>,
    today: NaiveDate,
}

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    fn phone(&mut self) -> String {
        loop {
            let p = format!("{}{:08}", self.pick(&PHONE_PREFIXES), self.rng.gen_range(0..100_000_000));
            if self.phones.insert(p.clone()) {
                return p;
            }
        }
    }

    /// A name for someone born in `year`, and whether it is a woman's.
    fn name(&mut self, year: i32, surname: Option<&str>) -> (String, bool) {
        let surname = surname.map_or_else(|| self.pick(&SURNAMES).to_string(), str::to_string);
        let age = self.today.year() - year;
        let given = if age >= 60 && self.rng.gen_bool(0.7) {
            self.pick(&OLD_NAMES)
        } else if age < 16 {
            self.pick(&CHILD_NAMES)
        } else {
            self.pick(&GIVEN_NAMES)
        };
        (format!("{surname}{given}"), FEMALE_NAMES.contains(given))
    }

    /// A valid resident ID number (GB 11643) of someone registered in `area`, born on `birth`.
    fn id_number(&mut self, area: &str, birth: NaiveDate, female: bool) -> ResidentIdNumber {
        loop {
            let sequence = self.rng.gen_range(0..500) * 2 + if female { 2 } else { 1 };
            let body = format!("{area}{}{:03}", birth.format("%Y%m%d"), sequence.min(999));
            let n = with_id_check(&body);
            if self.ids.insert(n.clone()) {
                return ResidentIdNumber::parse(&n).expect("a computed check digit");
            }
        }
    }

    fn birth(&mut self, years: std::ops::RangeInclusive<i32>) -> NaiveDate {
        let year = self.rng.gen_range(years);
        NaiveDate::from_yo_opt(year, self.rng.gen_range(1..=365)).expect("a day of the year")
    }

    /// Someone of the town (Tongxiang's address code) born in `years`.
    fn local_person(&mut self, years: std::ops::RangeInclusive<i32>) -> PersonalDetails {
        let birth = self.birth(years);
        let (name, female) = self.name(birth.year(), None);
        let area = if self.rng.gen_bool(0.9) { DISTRICT } else { "330411" };
        PersonalDetails {
            name: text(&name),
            phone: Some(Phone::parse(&self.phone()).expect("a mobile number")),
            id_number: Some(self.id_number(area, birth, female)),
        }
    }

    /// The tenants who move in together: a worker, a couple, a family with a child, co-workers.
    fn household(&mut self, setting: Setting, moved_in: NaiveDate) -> Vec<Tenant> {
        let total: u32 = ORIGINS.iter().map(|o| o.2).sum();
        let mut k = self.rng.gen_range(0..total);
        let &(area, origin, _) = ORIGINS
            .iter()
            .find(|o| {
                if k < o.2 {
                    true
                } else {
                    k -= o.2;
                    false
                }
            })
            .expect("a weighted pick");
        // Workers of the villages' workshops come more often as couples and families.
        let (single, couple) = if setting == Setting::Village { (5, 9) } else { (7, 10) };
        let roll = self.rng.gen_range(0..10);
        let size = if roll < single {
            1
        } else if roll < couple {
            2
        } else {
            3
        };
        let mut out = Vec::new();
        let adult_years = (moved_in.year() - 52)..=(moved_in.year() - 19);
        let first = self.birth(adult_years.clone());
        let (name, female) = self.name(first.year(), None);
        let surname: String = name.chars().next().into_iter().collect();
        out.push(self.tenant(area, origin, first, &name, female));
        if size >= 2 {
            let birth = self.birth((first.year() - 4)..=(first.year() + 4).min(moved_in.year() - 19));
            let (name, female) = self.name(birth.year(), None);
            out.push(self.tenant(area, origin, birth, &name, female));
        }
        if size == 3 {
            let from = (first.year() + 22).min(moved_in.year() - 1);
            let birth = self.birth(from..=(from + 12).min(moved_in.year() - 1));
            let (name, female) = self.name(birth.year(), Some(&surname));
            out.push(self.tenant(area, origin, birth, &name, female));
        }
        out
    }

    fn tenant(&mut self, area: &str, origin: &'static str, birth: NaiveDate, name: &str, female: bool) -> Tenant {
        let adult = self.today.year() - birth.year() >= 16;
        let phone = adult.then(|| Phone::parse(&self.phone()).expect("a mobile number"));
        Tenant {
            details: PersonalDetails { name: text(name), phone, id_number: Some(self.id_number(area, birth, female)) },
            origin,
        }
    }

    /// A building's use, floors and the labels of its houses.
    fn building_shape(&mut self, setting: Setting, index: usize) -> (BuildingUse, i64, Vec<String>) {
        match setting {
            // Old timber houses along the water: a shop in front, the home behind and upstairs.
            Setting::Scenic => {
                let floors = self.rng.gen_range(2..=3);
                let labels = (1..=floors).map(|f| format!("{f}层")).collect();
                (if index.is_multiple_of(3) { BuildingUse::Residential } else { BuildingUse::Mixed }, floors, labels)
            }
            Setting::Town if index % 3 == 2 => {
                let floors = self.rng.gen_range(2..=4);
                let labels =
                    ["一楼店面", "二楼", "三楼", "四楼"][..floors as usize].iter().map(|l| l.to_string()).collect();
                (BuildingUse::Mixed, floors, labels)
            }
            Setting::Town => {
                let floors = self.rng.gen_range(5..=7);
                let n = self.rng.gen_range(3..=4);
                let mut labels = BTreeSet::new();
                while labels.len() < n {
                    let unit = self.rng.gen_range(1..=2);
                    let floor = self.rng.gen_range(1..=floors);
                    let door = self.rng.gen_range(1..=2);
                    labels.insert(format!("{unit}单元{floor}0{door}"));
                }
                (BuildingUse::Residential, floors, labels.into_iter().collect())
            }
            // A farmhouse of a village group, its own home and often rooms let to workers.
            Setting::Village => {
                let floors = self.rng.gen_range(2..=4);
                let labels = if self.rng.gen_bool(0.5) {
                    vec!["主屋".into(), "出租房".into()]
                } else {
                    vec!["主屋".into()]
                };
                (BuildingUse::Residential, floors, labels)
            }
        }
    }

    fn house_use(&mut self, setting: Setting, building: BuildingUse, label: &str) -> HouseUse {
        if label == "出租房" {
            return if self.rng.gen_bool(0.85) { HouseUse::Rental } else { HouseUse::Vacant };
        }
        if label == "一楼店面" || (building == BuildingUse::Mixed && label == "1层") {
            return if self.rng.gen_bool(0.9) { HouseUse::Commercial } else { HouseUse::Vacant };
        }
        let rental = match setting {
            Setting::Scenic => 0.3,
            Setting::Town => 0.35,
            Setting::Village => 0.15,
        };
        let r: f64 = self.rng.gen();
        if r < rental {
            HouseUse::Rental
        } else if r < rental + 0.08 {
            HouseUse::Vacant
        } else {
            HouseUse::OwnHome
        }
    }

    /// How many places of each kind a grid has.
    fn place_counts(&mut self, setting: Setting, grid: usize) -> Vec<(&'static str, usize)> {
        let mut out = match setting {
            Setting::Scenic => vec![
                ("hotel", self.rng.gen_range(1..=2)),
                ("restaurant", usize::from(self.rng.gen_bool(0.7))),
                ("shop", 1),
                ("workshop", usize::from(self.rng.gen_bool(0.2))),
                ("venue", usize::from(self.rng.gen_bool(0.1))),
            ],
            Setting::Town => vec![
                ("shop", self.rng.gen_range(1..=2)),
                ("restaurant", usize::from(self.rng.gen_bool(0.5))),
                ("venue", usize::from(self.rng.gen_bool(0.2))),
                ("hotel", usize::from(self.rng.gen_bool(0.2))),
                ("enterprise", usize::from(self.rng.gen_bool(0.2))),
                ("clinic", usize::from(self.rng.gen_bool(0.1))),
            ],
            Setting::Village => vec![
                ("workshop", self.rng.gen_range(0..=1)),
                ("enterprise", usize::from(self.rng.gen_bool(0.4))),
                ("shop", usize::from(self.rng.gen_bool(0.3))),
                ("venue", usize::from(self.rng.gen_bool(0.1))),
            ],
        };
        // The town's single places: markets, schools, the health centre and stations, sites.
        let single: &[&str] = match grid {
            14 => &["market"],           // 环河: the farmers' market
            33 => &["market"],           // 东栅: the night market
            20 => &["school"],           // 银杏: the kindergarten
            11 => &["school"],           // 环河: the primary school
            72 => &["school", "clinic"], // 南栅: the middle school, the health centre
            27 => &["school"],           // 银杏: a training school
            44 | 86 => &["clinic"],      // village health stations
            75 => &["construction_site"],
            84 => &["construction_site"],
            _ => &[],
        };
        out.extend(single.iter().map(|k| (*k, 1)));
        out.retain(|(_, n)| *n > 0);
        out
    }

    /// A valid unified social credit code: registration authority and kind (`91` a company,
    /// `92` a sole trader, `12` a public institution, `52` a private non-enterprise unit), the
    /// division code of Tongxiang, an organisation code with its GB 11714 check character.
    fn credit_code(&mut self, kind: &str) -> CreditCode {
        const LETTERS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        loop {
            let body8: String = match kind {
                "12" => format!("4704{:04}", self.rng.gen_range(0..10_000)),
                "52" => format!("MJ{:06}", self.rng.gen_range(0..1_000_000)),
                _ if self.rng.gen_bool(0.3) => {
                    format!("{}{:06}", self.pick(&["14", "70", "72", "74", "79"]), self.rng.gen_range(0..1_000_000))
                }
                _ => {
                    let tail: String = (0..5).map(|_| LETTERS[self.rng.gen_range(0..LETTERS.len())] as char).collect();
                    format!("MA2{tail}")
                }
            };
            let body = format!("{kind}{DISTRICT}{body8}{}", organisation_check(&body8));
            let code = format!("{body}{}", credit_check(&body));
            if self.codes.insert(code.clone()) {
                return CreditCode::parse(&code).expect("a computed check character");
            }
        }
    }

    fn food_licence(&mut self) -> Licence {
        let serial = format!("13304830{:05}", self.rng.gen_range(0..100_000));
        Licence {
            kind: text("食品经营许可证"), number: text(&format!("JY{serial}{}", self.rng.gen_range(0..10)))
        }
    }

    /// A place of `kind` in grid `gi`, with fields valid for its kind.
    fn place(&mut self, town: &Town, gi: usize, kind: &str) -> PlaceData {
        let community = town.communities[town.grids[gi].community].spec;
        let short = community.name.trim_end_matches("社区").trim_end_matches('村');
        let surname = self.pick(&SURNAMES).to_string();
        let n = |g: &mut Self, r: std::ops::RangeInclusive<i64>| json!(g.rng.gen_range(r));
        let (name, credit, staff, risk, fields, mut licences): (
            String,
            Option<CreditCode>,
            u32,
            RiskLevel,
            Value,
            Vec<Licence>,
        ) = match kind {
            "shop" => {
                let name = format!(
                    "{}{}",
                    if self.rng.gen_bool(0.5) { format!("{surname}记") } else { short.to_string() },
                    self.pick(&[
                        "杂货店",
                        "便利店",
                        "蓝印花布店",
                        "杭白菊专卖店",
                        "姑嫂饼店",
                        "丝绵店",
                        "五金店",
                        "水果店",
                        "茶叶店",
                        "理发店",
                        "手机维修店",
                        "超市"
                    ])
                );
                let credit = self.rng.gen_bool(0.8).then(|| self.credit_code("92"));
                let fields = json!({"area_m2": n(self, 12..=120), "sells_tobacco": self.rng.gen_bool(0.3), "extinguishers": n(self, 0..=3)});
                (
                    name,
                    credit,
                    self.rng.gen_range(1..=4),
                    if self.rng.gen_bool(0.1) { RiskLevel::Medium } else { RiskLevel::Low },
                    fields,
                    vec![],
                )
            }
            "workshop" => {
                let (trade, what, flammable) = *self.pick(&[
                    ("酿酒", "三白酒作坊", true),
                    ("印染", "蓝印花布染坊", false),
                    ("糕点加工", "姑嫂饼加工坊", true),
                    ("羊毛衫加工", "羊毛衫加工点", false),
                    ("木雕", "木雕工作室", false),
                    ("汽车维修", "汽修店", true),
                    ("竹编", "竹编作坊", false),
                ]);
                let lives = self.rng.gen_bool(0.25);
                let risk = if lives && flammable {
                    RiskLevel::High
                } else if lives || flammable {
                    RiskLevel::Medium
                } else {
                    RiskLevel::Low
                };
                let fields = json!({"trade": trade, "flammables": flammable, "lives_on_site": lives, "extinguishers": n(self, 0..=4)});
                (
                    format!("{surname}氏{what}"),
                    Some(self.credit_code("92")),
                    self.rng.gen_range(2..=15),
                    risk,
                    fields,
                    vec![],
                )
            }
            "venue" => {
                let (venue_type, what) = *self.pick(&[
                    ("chess_room", "棋牌室"),
                    ("ktv", "KTV"),
                    ("internet_cafe", "网吧"),
                    ("bath", "足浴店"),
                    ("dance_hall", "舞厅"),
                ]);
                let fields = json!({"venue_type": venue_type, "capacity": n(self, 20..=120), "exits": n(self, 1..=3)});
                let risk = if venue_type == "chess_room" { RiskLevel::Low } else { RiskLevel::Medium };
                (
                    format!("{short}{what}"),
                    Some(self.credit_code("92")),
                    self.rng.gen_range(2..=10),
                    risk,
                    fields,
                    vec![],
                )
            }
            "enterprise" => {
                let (industry, what) = *self.pick(&[
                    ("纺织", "纺织有限公司"),
                    ("针织服装", "针织服饰有限公司"),
                    ("化纤", "化纤有限公司"),
                    ("信息技术", "网络科技有限公司"),
                    ("旅游", "旅游开发有限公司"),
                    ("物流", "物流有限公司"),
                    ("新材料", "新材料有限公司"),
                    ("农产品加工", "菊业有限公司"),
                ]);
                let staff = self.rng.gen_range(8..=260);
                let scale = match staff {
                    0..=19 => "micro",
                    20..=99 => "small",
                    100..=199 => "medium",
                    _ => "large",
                };
                let chemicals = matches!(industry, "化纤" | "新材料") && self.rng.gen_bool(0.5);
                let fields = json!({"industry": industry, "scale": scale, "hazardous_chemicals": chemicals});
                let prefix = *self.pick(&["桐乡市", "乌镇", "浙江"]);
                let mark =
                    *self.pick(&["恒丰", "宏达", "锦程", "华越", "永昌", "振兴", "新凯", "嘉禾", "金蝶", "鸿运"]);
                (
                    format!("{prefix}{mark}{what}"),
                    Some(self.credit_code("91")),
                    staff,
                    if chemicals { RiskLevel::High } else { RiskLevel::Medium },
                    fields,
                    vec![],
                )
            }
            "market" => {
                let night = gi == 33;
                let fields = if night {
                    json!({"market_type": "night", "stalls": 60})
                } else {
                    json!({"market_type": "farmers", "stalls": 140})
                };
                let name = if night { "乌镇东栅夜市" } else { "乌镇农贸市场" };
                (
                    name.into(),
                    Some(self.credit_code("91")),
                    if night { 12 } else { 36 },
                    RiskLevel::Medium,
                    fields,
                    vec![],
                )
            }
            "school" => {
                let (name, level, students, staff, boarding, kind) = match gi {
                    20 => ("乌镇镇中心幼儿园", "kindergarten", 420, 58, false, "12"),
                    11 => ("乌镇植材小学", "primary", 1260, 86, false, "12"),
                    72 => ("桐乡市乌镇中学", "middle", 1480, 132, true, "12"),
                    _ => ("乌镇育才培训学校", "training", 160, 14, false, "52"),
                };
                let fields = json!({"level": level, "students": students, "boarding": boarding});
                (name.into(), Some(self.credit_code(kind)), staff, RiskLevel::Medium, fields, vec![])
            }
            "clinic" => {
                let (name, clinic_type, beds, staff, kind) = match gi {
                    72 => ("乌镇镇社区卫生服务中心".to_string(), "hospital", 60, 85, "12"),
                    44 | 86 => (format!("{short}村卫生服务站"), "health_station", 0, 3, "12"),
                    _ => (format!("{short}{}大药房", self.pick(&["康民", "百姓", "仁和"])), "pharmacy", 0, 4, "91"),
                };
                let fields = json!({"clinic_type": clinic_type, "beds": beds});
                let licence = Licence {
                    kind: text("医疗机构执业许可证"),
                    number: text(&format!("PDY{:05}{}", self.rng.gen_range(10_000..100_000), "33048317")),
                };
                (name, Some(self.credit_code(kind)), staff, RiskLevel::Low, fields, vec![licence])
            }
            "construction_site" => {
                let (name, project) = if gi == 75 {
                    ("南栅大街提升改造工程", "南栅大街道路及管线提升改造")
                } else {
                    ("民合村安置房项目工地", "民合村农民安置房一期")
                };
                let completion = self.today + chrono::Duration::days(self.rng.gen_range(90..400));
                let fields = json!({"project": project, "builder": "浙江恒丰建设有限公司", "completion": completion.format("%Y-%m-%d").to_string(), "dust_monitor": gi == 75});
                (
                    name.into(),
                    Some(self.credit_code("91")),
                    self.rng.gen_range(40..=160),
                    RiskLevel::High,
                    fields,
                    vec![],
                )
            }
            "hotel" => {
                let homestay = self.rng.gen_bool(0.8);
                let name = if homestay {
                    format!("{}民宿{}号", short, self.rng.gen_range(1..=120))
                } else {
                    format!(
                        "乌镇{}{}",
                        self.pick(&["水乡", "枕水", "锦堂", "望津", "临河"]),
                        self.pick(&["客栈", "酒店", "大酒店"])
                    )
                };
                let rooms = if homestay { self.rng.gen_range(3..=12) } else { self.rng.gen_range(20..=90) };
                let fields = if homestay {
                    json!({"rooms": rooms, "police_system": self.rng.gen_bool(0.9)})
                } else {
                    json!({"rooms": rooms, "star_rating": self.rng.gen_range(2..=4), "police_system": true})
                };
                let licence = Licence {
                    kind: text("特种行业许可证"),
                    number: text(&format!("桐公特旅字第{:04}号", self.rng.gen_range(1..2000))),
                };
                let staff = if homestay { self.rng.gen_range(2..=5) } else { self.rng.gen_range(12..=40) };
                (
                    name,
                    Some(self.credit_code(if homestay { "92" } else { "91" })),
                    staff,
                    RiskLevel::Medium,
                    fields,
                    vec![licence],
                )
            }
            _ => {
                let what = *self.pick(&["羊肉面馆", "家常菜馆", "白水鱼馆", "臭豆腐店", "小吃店", "农家菜馆", "茶馆"]);
                let name =
                    if self.rng.gen_bool(0.5) { format!("{surname}家{what}") } else { format!("{short}{what}") };
                let gas = self.rng.gen_bool(0.8);
                let fields = json!({"seats": n(self, 12..=120), "uses_gas": gas, "food_grade": *self.pick(&["a", "b", "b", "c"])});
                (
                    name,
                    Some(self.credit_code("92")),
                    self.rng.gen_range(2..=20),
                    if gas { RiskLevel::Medium } else { RiskLevel::Low },
                    fields,
                    vec![],
                )
            }
        };
        if let Some(c) = &credit {
            licences.insert(0, Licence { kind: text("营业执照"), number: text(c.as_str()) });
        }
        if matches!(kind, "restaurant" | "market") || (kind == "shop" && self.rng.gen_bool(0.4)) {
            let l = self.food_licence();
            licences.push(l);
        }
        let address = town.address(gi, &mut self.rng);
        PlaceData {
            kind: kind.into(),
            name: text(&name),
            address: text(&address),
            location: town.grids[gi].sample(&mut self.rng),
            grid: town.grids[gi].region.code.clone(),
            functional_grid: None,
            credit_code: credit,
            licences,
            responsible: self.local_person(1960..=1995),
            staff,
            risk,
            fields: fields_of(fields),
        }
    }

    /// A person in care: the kinds of care, how often they are visited, who they are.
    fn in_care(&mut self, setting: Setting) -> (BTreeSet<CareKind>, u16, PersonalDetails) {
        let roll = self.rng.gen_range(0..100);
        let child = setting == Setting::Village && roll >= 80;
        let (mut kinds, every, years) = if child {
            (BTreeSet::from([CareKind::LeftBehindChild]), 30, (self.today.year() - 15)..=(self.today.year() - 6))
        } else if roll < 65 {
            (BTreeSet::from([CareKind::ElderlyAlone]), if self.rng.gen_bool(0.5) { 7 } else { 14 }, 1928..=1952)
        } else {
            (BTreeSet::from([CareKind::Disabled]), 30, 1950..=2000)
        };
        if !child && self.rng.gen_bool(0.2) {
            kinds.insert(CareKind::LowIncome);
        }
        let birth = self.birth(years);
        let (name, female) = self.name(birth.year(), None);
        let phone = (!child && self.rng.gen_bool(0.6)).then(|| Phone::parse(&self.phone()).expect("a mobile number"));
        let id_number = Some(self.id_number(DISTRICT, birth, female));
        (kinds, every, PersonalDetails { name: text(&name), phone, id_number })
    }

    fn visit_note(&mut self) -> String {
        self.pick(&[
            "身体状况良好，已提醒注意用电安全",
            "血压偏高，已联系家庭医生上门",
            "家中无异常，送去米和油",
            "与子女电话联系，告知近况",
            "天气转冷，检查取暖设备",
            "学习生活正常，与监护人沟通",
            "行动不便，协助预约助残服务",
        ])
        .to_string()
    }
}

/// The check character of a resident ID number's first 17 digits, appended.
fn with_id_check(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// GB 11714's check character of an organisation code's first 8 characters.
fn organisation_check(body: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let value = |c: char| c.to_digit(36).expect("digits and capital letters");
    let sum: u32 = body.chars().zip(W).map(|(c, w)| value(c) * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from_digit(c, 10).expect("a digit"),
    }
}

/// GB 32100's check character of a credit code's first 17 characters.
fn credit_check(body: &str) -> char {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(c, w)| ALPHABET.iter().position(|&a| a == c).expect("in the alphabet") as u32 * w)
        .sum();
    ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

fn fields_of(v: Value) -> PlaceFields {
    serde_json::from_value(v).expect("an object of fields")
}

fn text(s: &str) -> Text {
    Text::parse("text", s).expect("the demo's texts are short")
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("a region code")
}

/// The local (China) date of an instant.
fn local_date(at: Millis) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch") + chrono::Duration::days((at + OFFSET).div_euclid(DAY))
}

/// An instant in the working hours of a local day.
fn day_at(d: NaiveDate, rng: &mut StdRng) -> Millis {
    let days = (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")).num_days();
    days * DAY - OFFSET + rng.gen_range(8 * HOUR..19 * HOUR)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use geo::{Contains, Point};
    use gridkeeper_domain::registry::default_place_kinds;
    use gridkeeper_domain::{CaseState, LatLon};
    use gridkeeper_store::{CareQuery, HouseQuery, LookupKey, PlaceQuery, RegistryMeasureQuery, TenancyQuery};

    use super::*;
    use crate::town::tests::geo_polygon;

    /// 2026-07-01 10:00 China Standard Time.
    const NOW: Millis = 1_782_871_200_000;

    #[test]
    fn check_characters_follow_the_standards() {
        // Examples of the standards: 11010519491231002X, and a credit code of a company.
        assert_eq!(with_id_check("11010519491231002"), "11010519491231002X");
        assert_eq!(with_id_check("44052418800101001"), "440524188001010014");
        assert_eq!(format!("91440300192203821{}", credit_check("91440300192203821")), "914403001922038216");
        // GB 11714: the organisation code of the same company, 19220382-1.
        assert_eq!(organisation_check("19220382"), '1');
    }

    fn check_person(p: &PersonalDetails, born: std::ops::RangeInclusive<i32>, what: &str) {
        let id = p.id_number.as_ref().unwrap_or_else(|| panic!("{what} {} has an ID number", p.name));
        let again = ResidentIdNumber::parse(id.as_str()).unwrap_or_else(|e| panic!("{what} {}: {e}", id.as_str()));
        assert!(born.contains(&again.birth_date().year()), "{what} born {}", again.birth_date());
        if let Some(phone) = &p.phone {
            Phone::parse(phone.as_str()).unwrap_or_else(|e| panic!("{what} {}: {e}", phone.as_str()));
        }
        assert!(Text::parse("name", p.name.as_str()).is_ok());
    }

    fn inside(town: &crate::DemoTown, grid: &RegionCode, at: LatLon) -> bool {
        let region = town.reference.regions.iter().find(|r| &r.code == grid).expect("a grid of the town");
        geo_polygon(region).contains(&Point::new(at.lon, at.lat))
    }

    #[test]
    fn the_registry_is_valid_realistic_and_deterministic() {
        let demo = crate::generate(7, NOW, 0);
        let r = &demo.registry;
        let today = local_date(NOW);
        assert_eq!(r.collections.len(), 100, "every grid collected");

        // Buildings and places lie in their grids, at addresses of the town.
        for c in &r.collections {
            for b in &c.batch.buildings {
                assert_eq!(b.grid, c.grid);
                assert!(inside(&demo, &b.grid, b.location), "{} lies in {}", b.address, b.grid);
            }
            for p in &c.batch.places {
                assert_eq!(p.grid, c.grid);
                assert!(inside(&demo, &p.grid, p.location), "{} lies in {}", p.name, p.grid);
            }
            // Labels are unique in their building.
            let mut labels = HashSet::new();
            for (b, h) in &c.batch.houses {
                assert!(labels.insert((format!("{b:?}"), h.label.clone())), "{} twice", h.label);
            }
            assert!(c.at < NOW - 95 * DAY && c.at > NOW - 135 * DAY);
        }

        // People: valid ID numbers and phones, plausible ages; tenants from other provinces.
        let year = today.year();
        for h in r.houses() {
            check_person(&h.owner, 1945..=1990, "owner");
        }
        let mut origins = HashMap::new();
        for t in r.tenancies() {
            check_person(&t.tenant, (year - 80)..=year, "tenant");
            let id = t.tenant.id_number.as_ref().unwrap().as_str();
            assert!(!id.starts_with("33"), "a tenant of the floating population: {id}");
            let origin = t.origin.as_ref().expect("an origin").as_str();
            let province = ORIGINS.iter().find(|o| o.1 == origin).expect("a known origin");
            assert_eq!(&id[..6], province.0, "the ID number's address code is the origin's");
            *origins.entry(&origin[..9]).or_insert(0) += 1;
        }
        assert!(origins.len() >= 5, "tenants from many provinces: {origins:?}");
        let kinds: HashMap<String, _> = default_place_kinds().into_iter().map(|k| (k.key.clone(), k)).collect();
        let mut codes = HashSet::new();
        let mut by_kind: HashMap<&str, usize> = HashMap::new();
        for p in r.places() {
            check_person(&p.responsible, 1960..=1995, "responsible");
            let kind = &kinds[&p.kind];
            let checked = p.clone().checked(kind).unwrap_or_else(|e| panic!("{} ({}): {e}", p.name, p.kind));
            assert_eq!(&checked, p, "fields as their kind has them");
            if let Some(c) = &p.credit_code {
                let again = CreditCode::parse(c.as_str()).unwrap_or_else(|e| panic!("{}: {e}", c.as_str()));
                assert_eq!(again.division(), DISTRICT);
                assert!(codes.insert(c.clone()), "{} is one place's", c.as_str());
                assert_eq!(p.licences[0].number.as_str(), c.as_str(), "the business licence carries the code");
            }
            assert!(p.staff > 0);
            *by_kind.entry(p.kind.as_str()).or_default() += 1;
        }
        for k in kinds.keys() {
            assert!(by_kind.get(k.as_str()).is_some_and(|&n| n > 0), "some place is a {k}: {by_kind:?}");
        }
        assert!(by_kind["enterprise"] >= 10 && by_kind["hotel"] >= 20, "{by_kind:?}");
        for c in r.care() {
            c.check().expect("a valid entry of care");
            check_person(&c.person, 1928..=year, "in care");
        }

        // Houses of every use; tenancies open and ended; most registered in time, a few late.
        let uses: HashSet<HouseUse> = r.houses().map(|h| h.house_use).collect();
        assert_eq!(uses.len(), HouseUse::ALL.len());
        let tenancies: Vec<&TenancyData> = r.tenancies().collect();
        let ended = r.steps.iter().filter(|s| matches!(s, RegistryStep::End { .. })).count();
        assert!(ended > 10 && ended * 2 < tenancies.len(), "{ended} of {} ended", tenancies.len());
        let (mut on_time, mut late) = (0, 0);
        let mut known_tenancies: HashSet<TenancyId> =
            (1..=r.collections.iter().map(|c| c.batch.tenancies.len() as i64).sum()).map(TenancyId).collect();
        let mut known_care = HashSet::new();
        let mut previous = i64::MIN;
        for s in &r.steps {
            assert!(s.at() >= previous && s.at() <= NOW, "steps in time order, none in the future");
            previous = s.at();
            match s {
                RegistryStep::Register { id, tenancy, at, .. } => {
                    assert!(known_tenancies.insert(*id), "tenancy {id} numbered once");
                    let days = (local_date(*at) - tenancy.stay.moved_in()).num_days();
                    assert!(days >= 0);
                    if days <= 3 {
                        on_time += 1;
                    } else {
                        late += 1;
                    }
                }
                RegistryStep::End { tenancy, moved_out, .. } => {
                    assert!(known_tenancies.contains(tenancy), "an end follows its registration");
                    assert!(*moved_out <= today);
                }
                RegistryStep::AddCare { id, .. } => assert!(known_care.insert(*id)),
                RegistryStep::VisitCare { care, .. } => assert!(known_care.contains(care)),
                RegistryStep::VisitPlace { place, .. } => assert!(place.0 >= 1 && place.0 <= r.places().count() as i64),
            }
        }
        assert!(late > 0 && late * 2 < on_time, "{late} late, {on_time} on time");

        // Freshness: most places visited within 30 days, some stale, a few never visited.
        let mut last: HashMap<PlaceId, Millis> = HashMap::new();
        for s in &r.steps {
            if let RegistryStep::VisitPlace { place, at, .. } = s {
                last.insert(*place, *at);
            }
        }
        let places = r.places().count();
        let fresh = last.values().filter(|&&at| at >= NOW - 30 * DAY).count();
        let stale90 = places - last.values().filter(|&&at| at >= NOW - 90 * DAY).count();
        assert!(fresh * 2 > places && stale90 * 20 > places && last.len() < places, "{fresh} {stale90} {places}");

        // Landlords own rentals; social units keep a place of their kind.
        let landlords: Vec<&crate::DemoPerson> =
            demo.people.iter().filter(|p| p.person.login.starts_with("landlord")).collect();
        assert_eq!(landlords.len(), LANDLORD_GRIDS.len());
        // (The teams' accounts follow the landlords and social units.)
        let first_landlord = demo.people.iter().position(|p| p.person.login == "landlord01").unwrap() + 1;
        for (i, l) in landlords.iter().enumerate() {
            let id = (first_landlord + i) as PersonId;
            let houses: Vec<&HouseData> = r.houses().filter(|h| h.landlord == Some(id)).collect();
            assert!(!houses.is_empty(), "{} has houses", l.person.login);
            for h in houses {
                assert_eq!(h.house_use, HouseUse::Rental);
                assert_eq!(
                    h.owner.phone.as_ref().map(|p| p.as_str().to_string()),
                    l.person.phone,
                    "the owner is the landlord"
                );
            }
        }
        let places: Vec<&PlaceData> = r.places().collect();
        for (i, (kind, ..)) in SOCIAL_UNITS.iter().enumerate() {
            let unit = &demo.people[first_landlord - 1 + LANDLORD_GRIDS.len() + i];
            let [grant] = unit.person.grants.as_slice() else { panic!("one grant") };
            assert_eq!(grant.role, Role::SocialUnit);
            let Scope::Place { id } = grant.scope else { panic!("a place's scope") };
            assert_eq!(places[id as usize - 1].kind, *kind);
        }
        let phones: HashSet<_> = demo.people.iter().filter_map(|p| p.person.phone.clone()).collect();
        assert_eq!(phones.len(), demo.people.len(), "logins' phones are unique");

        let again = crate::generate(7, NOW, 0);
        assert_eq!(format!("{:?}", again.registry), format!("{r:?}"), "same seed, same registry");
        let other = crate::generate(8, NOW, 0);
        assert_ne!(format!("{:?}", other.registry.collections[0]), format!("{:?}", r.collections[0]));
    }

    #[tokio::test]
    async fn the_demo_loads_into_a_store_with_its_registry() {
        let demo = crate::generate(5, NOW, 300);
        let vault = std::sync::Arc::new(gridkeeper_store::Vault::ephemeral());
        let store = gridkeeper_store::open("sqlite::memory:", vault).await.unwrap();
        store.migrate().await.unwrap();
        crate::load(store.as_ref(), &demo, None, NOW, 8).await.unwrap();
        // The history's cases, then the hazards the inspections found.
        let all = store.count_cases().await.unwrap();
        assert!(all > demo.history.len() as i64);
        for id in demo.history.len() as i64 + 1..=all {
            assert_eq!(store.events(id).await.unwrap()[0].event.action, gridkeeper_domain::Action::FindHazard);
        }
        assert!(demo.history.iter().any(|(c, _)| c.state == CaseState::Rated));
        // The standard's Open311 questions, as `gridkeeper init` gives them.
        let light = demo.reference.categories.iter().find(|c| c.code == "C0107").unwrap();
        let asked = store.category_attributes(light.id).await.unwrap();
        assert_eq!(asked.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["pole_number", "lights_out"]);
        assert_eq!(store.categories_with_attributes().await.unwrap().len(), 10);

        let r = &demo.registry;
        let counts = store
            .registry_counts(&RegistryMeasureQuery {
                under: code(DISTRICT),
                now: NOW,
                fresh_days: 30,
                registered_from: NOW - 90 * DAY,
                registered_to: NOW,
                registration_days: 3,
                utc_offset_hours: 8,
            })
            .await
            .unwrap();
        assert_eq!(counts.len(), 100, "every grid has entries");
        let sum =
            |f: &dyn Fn(&gridkeeper_store::GridRegistryCounts) -> i64| counts.iter().map(|(_, c)| f(c)).sum::<i64>();
        assert_eq!(sum(&|c| c.houses.values().sum()), r.houses().count() as i64);
        assert_eq!(sum(&|c| c.places_open), r.places().count() as i64);
        assert_eq!(sum(&|c| c.in_care), r.care().count() as i64);
        let ended = r.steps.iter().filter(|s| matches!(s, RegistryStep::End { .. })).count() as i64;
        assert_eq!(sum(&|c| c.tenancies_open), r.tenancies().count() as i64 - ended);
        let (fresh, open) = (sum(&|c| c.places_fresh), sum(&|c| c.places_open));
        assert!(fresh * 2 > open && fresh < open, "{fresh} of {open} fresh");
        let (on_time, registered) = (sum(&|c| c.tenancies_on_time), sum(&|c| c.tenancies_registered));
        assert!(registered > 0 && on_time < registered, "{on_time} of {registered} on time");
        let (on_schedule, in_care) = (sum(&|c| c.in_care_on_schedule), sum(&|c| c.in_care));
        assert!(on_schedule < in_care && on_schedule * 2 > in_care, "{on_schedule} of {in_care}");

        // A landlord's houses and their tenants; a social unit's place; lookups.
        let landlord = demo.people.iter().position(|p| p.person.login == "landlord01").unwrap() as PersonId + 1;
        let houses = store.houses(&HouseQuery { landlord: Some(landlord), ..Default::default() }).await.unwrap();
        assert!(!houses.is_empty());
        let tenants = store.tenancies(&TenancyQuery { landlord: Some(landlord), ..Default::default() }).await.unwrap();
        assert!(!tenants.is_empty(), "the landlord's houses have tenants");
        assert!(tenants.iter().all(|t| houses.iter().any(|h| h.id == t.data.house)));
        let place = r.places().find(|p| p.credit_code.is_some()).unwrap();
        let hits =
            store.registry_lookup(&LookupKey::CreditCode(place.credit_code.clone().unwrap()), None).await.unwrap();
        assert_eq!(hits.len(), 1);
        let stale =
            store.places(&PlaceQuery { not_visited_since: Some(NOW - 90 * DAY), ..Default::default() }).await.unwrap();
        assert!(!stale.is_empty());
        let due = store.people_in_care(&CareQuery { due_by: Some(NOW), ..Default::default() }).await.unwrap();
        assert!(!due.is_empty(), "some visits are overdue");
    }
}
