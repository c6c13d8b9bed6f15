//! Loading the demo town into a fresh store through the store's public API: reference data,
//! people, the year of cases, and the registry (each grid's collection as one all-or-none
//! batch, then the later registrations, move-outs, visits and people in care in time order).

use gridkeeper_domain::{decide, Actor, Caller, CaseId, Command, Millis, PersonId, Source, MINUTE};
use gridkeeper_store::{Store, StoreError};

use crate::{DemoRegistry, DemoTown, RegistryStep};

const DAY: Millis = 24 * gridkeeper_domain::HOUR;

/// Why the demo could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Store(StoreError),
    /// The store numbered something differently than the demo expects: it was not fresh.
    NotFresh(String),
    /// The state machine refused one of the demo's own steps (a bug of the demo).
    Refused(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::NotFresh(what) => write!(f, "the demo needs a fresh database ({what}); use --fresh"),
            Self::Refused(why) => write!(f, "a step of the demo was refused: {why}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<StoreError> for LoadError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn expect_id(what: &str, got: i64, expected: i64) -> Result<(), LoadError> {
    if got == expected {
        Ok(())
    } else {
        Err(LoadError::NotFresh(format!("{what} got id {got}, not {expected}")))
    }
}

/// Loads the whole demo town into a fresh store: [`load_cases`], [`load_registry`], then
/// [`crate::load_participation`], [`crate::load_points`], [`crate::load_teams`],
/// [`crate::load_inspections`] and [`crate::load_patrols`].
pub async fn load(
    store: &dyn Store,
    town: &DemoTown,
    password_hash: Option<&str>,
    now: Millis,
    utc_offset_hours: i32,
) -> Result<(), LoadError> {
    load_cases(store, town, password_hash, now, utc_offset_hours).await?;
    load_registry(store, &town.registry).await?;
    crate::load_participation(store, &town.participation).await?;
    crate::load_points(store, town, now).await?;
    crate::load_teams(store, town, now).await?;
    crate::load_inspections(store, town, now).await?;
    crate::load_patrols(store, town, town.seed, now).await
}

/// Loads the reference data (with the Open311 questions of the standard's subclasses), the
/// people (each with `password_hash`; staff on duty from a year and a day before `now`) and the
/// year of cases into a fresh store.
pub async fn load_cases(
    store: &dyn Store,
    town: &DemoTown,
    password_hash: Option<&str>,
    now: Millis,
    utc_offset_hours: i32,
) -> Result<(), LoadError> {
    store.load_reference(&town.reference).await?;
    for (code, attributes) in gridkeeper_domain::standard::service_attributes() {
        let category = town.reference.categories.iter().find(|c| c.code == code);
        let category = category.ok_or_else(|| LoadError::Refused(format!("no category {code} for its questions")))?;
        store.set_category_attributes(category.id, &attributes).await?;
    }
    for (i, p) in town.people.iter().enumerate() {
        let mut person = p.person.clone();
        person.password_hash = password_hash.map(str::to_string);
        // Staff were on duty before the year of cases began: their grid assignments start then.
        let id = store.create_person(&person, now - 366 * DAY).await?;
        expect_id("people", id, i as PersonId + 1)?;
    }
    store.import_history(&town.history, utc_offset_hours).await?;
    attach_calls(store, town, now).await?;
    // The last two days' steps reach people's inboxes when the server starts.
    store.queue_notices_since(now - 2 * DAY).await?;
    Ok(())
}

/// Open hotline cases that a regular caller phoned about again, newest first.
const ATTACHED_CALLS: usize = 6;

/// The town's regular callers (`139000000NN`, see `history::caller`) phoned again about the
/// newest open hotline cases: each call attached through the state machine as the day-shift
/// dispatcher takes it (an `add_caller` event and a caller row), so that the call-taker's lookup
/// of such a number finds cases it called about beside those it left as the contact.
async fn attach_calls(store: &dyn Store, town: &DemoTown, now: Millis) -> Result<(), LoadError> {
    let Some((i, taker)) = town.people.iter().enumerate().find(|(_, p)| p.person.login == "dispatcher") else {
        return Ok(());
    };
    let actor = Actor::person(i as PersonId + 1, taker.person.grants.clone());
    let open: Vec<CaseId> = town
        .history
        .iter()
        .filter(|(c, _)| c.source == Source::Hotline && c.state.is_open() && c.grid.is_some())
        .map(|(c, _)| c.id)
        .collect();
    for id in open.into_iter().rev().take(ATTACHED_CALLS) {
        let Some(case) = store.case(id).await? else { continue };
        let caller = Caller::new(&format!("139000000{:02}", id % 12), Some("李女士"))
            .map_err(|e| LoadError::Refused(e.to_string()))?;
        let at = (case.updated_at + 10 * MINUTE).min(now).max(case.updated_at);
        let cmd = Command::AddCaller { caller: caller.clone(), note: Some("又来电反映，问题还在".into()) };
        let d = decide(&case, &actor, cmd, at).map_err(|r| LoadError::Refused(r.to_string()))?;
        store.add_caller(&d, &caller, None).await?;
    }
    Ok(())
}

/// Writes the registry (after the people it names).
pub async fn load_registry(store: &dyn Store, registry: &DemoRegistry) -> Result<(), LoadError> {
    for c in &registry.collections {
        let ids = store.import_registry(&c.batch, Some(c.by), c.at).await?;
        if let Some(b) = ids.buildings.first() {
            expect_id("a building", b.0, c.first.0)?;
        }
        if let Some(h) = ids.houses.first() {
            expect_id("a house", h.0, c.first.1)?;
        }
        if let Some(t) = ids.tenancies.first() {
            expect_id("a tenancy", t.0, c.first.2)?;
        }
        if let Some(p) = ids.places.first() {
            expect_id("a place", p.0, c.first.3)?;
        }
    }
    for step in &registry.steps {
        match step {
            RegistryStep::Register { id, tenancy, by, at } => {
                let t = store.register_tenancy(tenancy, *by, *at).await?;
                expect_id("a tenancy", t.id.0, id.0)?;
            }
            RegistryStep::End { tenancy, moved_out, by, at } => {
                store.end_tenancy(*tenancy, *moved_out, *by, *at).await?;
            }
            RegistryStep::VisitPlace { place, by, at } => {
                store.mark_place_visited(*place, *by, *at).await?;
            }
            RegistryStep::AddCare { id, care, by, at } => {
                let c = store.add_person_in_care(care, Some(*by), *at).await?;
                expect_id("a person in care", c.id.0, id.0)?;
            }
            RegistryStep::VisitCare { care, by, at, note } => {
                store.record_care_visit(*care, Some(*by), *at, Some(note)).await?;
            }
        }
    }
    Ok(())
}
