//! A realistic demo town for gridkeeper, modelled on Wuzhen (乌镇, Tongxiang, Zhejiang): its grids,
//! its linkage center's platforms, departments and categories, a login for every role, and a
//! simulated year of cases — all deterministic from a seed.
//!
//! Every case of the history was produced by the domain's one state machine
//! ([`gridkeeper_domain::report`], [`gridkeeper_domain::on_the_spot`],
//! [`gridkeeper_domain::decide`]); nothing here builds or edits a case by hand.
//!
//! - `town`: 桐乡市 → 乌镇镇 → 10 communities → 100 grids that tile the town exactly.
//! - `org`: the "1+4+X" organisation and the two-level categories of the national standard.
//! - `people`: administrators, dispatchers, supervisors, grid leaders and members, department
//!   staff and heads, residents.
//! - `history`: the year of cases.
//! - `registry`: the grids' registry — buildings, houses, tenancies, places, people in care —
//!   and the logins of landlords and social units.

mod campaigns;
mod history;
mod inspections;
mod load;
mod org;
mod participation;
mod patrols;
mod people;
mod points;
mod registry;
mod teams;
mod town;

pub use campaigns::NAME as CAMPAIGN_NAME;
pub use inspections::load_inspections;
pub use load::{load, load_cases, load_registry, LoadError};
pub use participation::{load_participation, DemoParticipation};
pub use patrols::load_patrols;
pub use points::load_points;
pub use registry::{Collection, DemoRegistry, RegistryStep};
pub use teams::load_teams;

use gridkeeper_domain::{Case, CaseId, Millis, NewEvent};
use gridkeeper_store::{NewPerson, ReferenceData};

/// A demo login.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    /// Without a password hash: the caller hashes [`DemoPerson::password`].
    pub person: NewPerson,
    pub password: String,
    /// What the login is for, e.g. "dispatcher (linkage center, day shift)".
    pub role_label: &'static str,
}

/// Everything the demo loads into a fresh store.
#[derive(Debug, Clone)]
pub struct DemoTown {
    /// Regions (parents first), platforms, departments and categories, with their ids.
    pub reference: ReferenceData,
    /// People in order; the store assigns ids 1, 2, 3… in this order on a fresh database, and the
    /// history's actors use those ids.
    pub people: Vec<DemoPerson>,
    /// Finished histories, each case with all its events, oldest report first. `case.id` is the
    /// id the store will assign (k + 1 for the k-th case), which `duplicate_of` links refer to;
    /// `case.reference` is empty (the store assigns it in this order).
    pub history: Vec<(Case, Vec<NewEvent>)>,
    /// The registry, written after the people (its landlords and social units are the last
    /// people).
    pub registry: DemoRegistry,
    /// The morning's floods: the ids of each flood's reports (the last cases of `history`, new
    /// reports of one problem each; none for a history of fewer than 100 cases).
    pub floods: Vec<Vec<CaseId>>,
    /// Articles, consultations and proposals (written after the people and cases).
    pub participation: DemoParticipation,
    /// The seed it was generated with (the inspections are simulated while loading).
    pub seed: u64,
}

/// The demo town for `seed`, with `cases` cases reported over the 365 days before `now`.
pub fn generate(seed: u64, now: Millis, cases: usize) -> DemoTown {
    let town = town::Town::build(seed);
    let org = org::Org::build(&town);
    let roster = people::Roster::build(seed, &town, &org);
    let world = history::World { town: &town, org: &org, roster: &roster, now };
    let mut history = history::simulate(&world, seed, cases);
    let floods = if cases >= 100 {
        let (flooded, floods) = history::floods(&world, seed, &history);
        history.extend(flooded);
        floods
    } else {
        vec![]
    };
    // Landlords and social units come after everyone the history knows, so no id moves.
    let mut people = roster.people.clone();
    let registry = registry::build(seed, &town, &roster, now, &mut people);
    // The teams' new accounts (volunteers, party workers, guards, auxiliary police) come last.
    teams::add_people(seed, town.communities.len(), &mut people);
    let participation = participation::build(seed, &town, &roster, now);
    let regions = town.regions();
    let org::Org { platforms, departments, categories, .. } = org;
    DemoTown {
        reference: ReferenceData { regions, platforms, departments, categories },
        people,
        history,
        registry,
        floods,
        participation,
        seed,
    }
}

/// A large history over several years (benchmark databases: millions of cases), cut into
/// slices (a month, or shorter so that a slice holds about 40,000 cases) that can be generated
/// in parallel, each on its own, and stored in order. A duplicate names an original of its own
/// slice, so slices much shorter than the duplicate windows (three to seven days) would make
/// duplicates rarer. Same town, organisation and people as the demo; reports follow the demo's rhythm of
/// the day, the week and the seasons, in the demo's grids and categories, and their number
/// grows by [`YEARLY_GROWTH`] a year. Every case is lived through the state machine until `now`.
pub struct LargeHistory {
    town: town::Town,
    org: org::Org,
    roster: people::Roster,
    seed: u64,
    now: Millis,
    slices: Vec<Slice>,
}

/// Yearly growth of the number of reports in a [`LargeHistory`].
pub const YEARLY_GROWTH: f64 = 1.15;

/// A span of report times of a [`LargeHistory`] and the ids of its cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    pub index: usize,
    pub from: Millis,
    pub to: Millis,
    pub cases: usize,
    /// Id of its first case (the store assigns ids in order: load the slices in order).
    pub first_id: i64,
}

impl LargeHistory {
    /// `cases` cases reported over the `years` (at least one) before `now`.
    pub fn new(seed: u64, now: Millis, years: u32, cases: usize) -> Self {
        const DAY: Millis = 24 * gridkeeper_domain::HOUR;
        // Slices of at most 30 days and about 40,000 cases (a slice is held in memory whole).
        let start = now - i64::from(years.max(1)) * 365 * DAY;
        let count = ((now - start) as f64 / (30 * DAY) as f64).ceil().max((cases as f64 / 40_000.0).ceil()) as i64;
        let slice = (now - start + count - 1) / count;
        // The weight of each slice: its reports per hour summed, times the growth of its year.
        let mut bounds = vec![];
        let mut from = start;
        while from < now {
            let to = (from + slice).min(now);
            let age_years = (now - from) as f64 / (365 * DAY) as f64;
            let hours = (from..to).step_by(gridkeeper_domain::HOUR as usize);
            let weight: f64 = hours.map(history::activity).sum::<f64>() / YEARLY_GROWTH.powf(age_years);
            bounds.push((from, to, weight));
            from = to;
        }
        let total: f64 = bounds.iter().map(|b| b.2).sum();
        let mut slices = Vec::with_capacity(bounds.len());
        let (mut given, mut first_id, mut cumulative) = (0usize, 1i64, 0.0);
        for (index, (from, to, weight)) in bounds.into_iter().enumerate() {
            cumulative += weight;
            let upto = (cases as f64 * cumulative / total).round() as usize;
            let n = upto.saturating_sub(given).min(cases - given);
            slices.push(Slice { index, from, to, cases: n, first_id });
            given += n;
            first_id += n as i64;
        }
        let town = town::Town::build(seed);
        let org = org::Org::build(&town);
        let roster = people::Roster::build(seed, &town, &org);
        Self { town, org, roster, seed, now, slices }
    }

    /// Regions, platforms, departments and categories (load them first).
    pub fn reference(&self) -> ReferenceData {
        let org = &self.org;
        ReferenceData {
            regions: self.town.regions(),
            platforms: org.platforms.clone(),
            departments: org.departments.clone(),
            categories: org.categories.clone(),
        }
    }

    /// The people, in the order the store must number them (before the history).
    pub fn people(&self) -> &[DemoPerson] {
        &self.roster.people
    }

    pub fn slices(&self) -> &[Slice] {
        &self.slices
    }

    /// The histories of one slice, oldest report first (deterministic for the seed).
    pub fn generate(&self, slice: &Slice) -> Vec<(Case, Vec<NewEvent>)> {
        let world = history::World { town: &self.town, org: &self.org, roster: &self.roster, now: self.now };
        let seed = self.seed ^ (slice.index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        history::simulate_span(&world, seed, slice.from, slice.to, slice.cases, slice.first_id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use gridkeeper_domain::{Action, CaseState, Role, HOUR};

    use super::*;

    /// 2026-07-01 10:00 China Standard Time.
    const NOW: Millis = 1_782_871_200_000;
    const CASES: usize = 6_000;

    #[test]
    fn history_is_complete_consistent_and_deterministic() {
        let demo = generate(7, NOW, CASES);
        let flooded: usize = demo.floods.iter().map(Vec::len).sum();
        assert_eq!(demo.history.len(), CASES + flooded);
        assert_eq!(demo.floods.iter().map(Vec::len).collect::<Vec<_>>(), [5, 3]);
        for flood in &demo.floods {
            let cases: Vec<&Case> = flood.iter().map(|id| &demo.history[*id as usize - 1].0).collect();
            assert!(cases.iter().all(|c| c.state == CaseState::Reported && NOW - c.reported_at <= HOUR));
            assert!(cases.iter().all(|c| c.address == cases[0].address && c.grid == cases[0].grid));
            assert!(cases.iter().all(|c| c.location.unwrap().distance_m(&cases[0].location.unwrap()) <= 80.0));
        }

        let mut states = HashSet::new();
        let mut actions = HashSet::new();
        let mut previous_report = i64::MIN;
        for (k, (case, events)) in demo.history.iter().enumerate() {
            assert_eq!(case.id, k as i64 + 1);
            assert!(case.reference.is_empty());
            assert_eq!(case.version, events.len() as i64, "case {}", case.id);
            assert!(case.reported_at >= previous_report, "oldest report first");
            assert!(case.reported_at >= NOW - 365 * 24 * HOUR);
            previous_report = case.reported_at;
            states.insert(case.state);

            let mut at = case.reported_at;
            let mut state = None;
            for e in events {
                assert_eq!(e.from, state, "case {}: {:?} follows {:?}", case.id, e.action, state);
                assert!(e.at >= at, "case {}: time goes forward", case.id);
                assert!(e.at <= NOW, "case {}: nothing happens after now", case.id);
                at = e.at;
                state = Some(e.to);
                actions.insert(e.action);
            }
            assert_eq!(state, Some(case.state));
            assert_eq!(case.updated_at, at);
            if let Some(original) = case.duplicate_of {
                assert!(original >= 1 && original <= k as i64, "an original comes earlier");
                let (o, _) = &demo.history[original as usize - 1];
                assert_ne!(o.state, CaseState::Rejected);
                assert_eq!(o.grid, case.grid);
                if let Some(suggested) = case.suggested_category {
                    assert_eq!(o.category, Some(suggested));
                }
                let (a, b) = (o.location.expect("located"), case.location.expect("located"));
                assert!(a.distance_m(&b) <= 70.0, "a duplicate lies near its original");
            }
        }
        for s in CaseState::ALL {
            assert!(states.contains(&s), "some case ends {}", s.as_str());
        }
        // Anonymisation happens only after the retention period (two years), beyond the demo's
        // year; warnings, overdue marks, escalations and the responses to them are made by the
        // clock job of the running server; calls are attached to cases when the town is loaded
        // (`load::attach_calls`), beside their caller rows; hazards are found and re-inspected
        // by the demo's inspections (`load_inspections`).
        let at_run_time = [
            Action::Anonymise,
            Action::Warn,
            Action::MarkOverdue,
            Action::Escalate,
            Action::Respond,
            Action::AddCaller,
            Action::FindHazard,
            Action::Reinspect,
        ];
        for a in Action::ALL.into_iter().filter(|a| !at_run_time.contains(a)) {
            assert!(actions.contains(&a), "some event is {}", a.as_str());
        }
        let open_overdue = demo.history.iter().filter(|(c, _)| c.is_overdue(NOW)).count();
        assert!(open_overdue > 0, "some open cases are overdue");

        let again = generate(7, NOW, CASES);
        assert_eq!(again.history, demo.history, "same seed, same history");
        assert_eq!(again.reference.regions, demo.reference.regions);
        let logins = |d: &DemoTown| -> Vec<(String, String)> {
            d.people.iter().map(|p| (p.person.login.clone(), p.person.name.clone())).collect()
        };
        assert_eq!(logins(&again), logins(&demo));
        let other = generate(8, NOW, 200);
        assert_ne!(other.history, demo.history[..200]);
    }

    #[test]
    fn shares_look_like_a_real_town() {
        let demo = generate(11, NOW, CASES);
        let count = |f: &dyn Fn(&Case, &[NewEvent]) -> bool| demo.history.iter().filter(|(c, e)| f(c, e)).count();
        let share = |n: usize| n as f64 / CASES as f64;
        let on_the_spot = share(count(&|_, e| e[0].action == Action::OnTheSpot));
        assert!((0.1..0.2).contains(&on_the_spot), "{on_the_spot}");
        let rejected = share(count(&|c, _| c.state == CaseState::Rejected));
        assert!((0.05..0.13).contains(&rejected), "{rejected}");
        let rated = share(count(&|c, _| c.state == CaseState::Rated));
        assert!(rated > 0.4, "{rated}");
        let handled: Vec<&Case> =
            demo.history.iter().map(|(c, _)| c).filter(|c| c.resolved_at.is_some() && c.handle_by.is_some()).collect();
        let late = handled.iter().filter(|c| c.resolved_at > c.handle_by).count() as f64 / handled.len() as f64;
        assert!((0.04..0.2).contains(&late), "about one case in ten is handled late: {late}");
    }

    #[test]
    fn a_large_history_spreads_over_years_in_order_and_grows() {
        let years = 3;
        let big = LargeHistory::new(5, NOW, years, 3_000);
        let slices = big.slices();
        assert_eq!(slices.iter().map(|s| s.cases).sum::<usize>(), 3_000);
        assert_eq!(slices[0].from, NOW - 3 * 365 * 24 * HOUR);
        assert_eq!(slices.last().unwrap().to, NOW);
        let mut next_id = 1;
        let mut history = vec![];
        for s in slices {
            assert_eq!(s.first_id, next_id, "ids continue from slice to slice");
            next_id += s.cases as i64;
            let h = big.generate(s);
            assert_eq!(h.len(), s.cases);
            assert_eq!(h, big.generate(s), "a slice is deterministic");
            for (k, (c, e)) in h.iter().enumerate() {
                assert_eq!(c.id, s.first_id + k as i64);
                assert!((s.from..s.to).contains(&c.reported_at));
                assert_eq!(c.version, e.len() as i64);
                assert!(e.iter().all(|e| e.at <= NOW));
                if let Some(o) = c.duplicate_of {
                    assert!((s.first_id..c.id).contains(&o), "a duplicate names an earlier case of its slice");
                }
            }
            history.extend(h);
        }
        // More reports every year; old cases are finished, recent ones still open in places.
        let year = |y: i64| {
            let end = NOW - (years as i64 - 1 - y) * 365 * 24 * HOUR;
            history.iter().filter(|(c, _)| (end - 365 * 24 * HOUR..end).contains(&c.reported_at)).count()
        };
        assert!(year(0) < year(1) && year(1) < year(2), "{} {} {}", year(0), year(1), year(2));
        let open = |(c, _): &&(Case, Vec<NewEvent>)| c.state.is_open();
        let old_open = history.iter().filter(|h| h.0.reported_at < NOW - 365 * 24 * HOUR).filter(open).count();
        let recent_open = history.iter().filter(|h| h.0.reported_at > NOW - 7 * 24 * HOUR).filter(open).count();
        assert!(old_open * 100 < year(0) + year(1), "cases older than a year are almost all finished: {old_open}");
        assert!(recent_open > 0);
        // The center's backlog is hours old, never weeks: no report waits long to be accepted.
        let waiting = |state: CaseState, hours: i64| {
            history.iter().filter(|(c, _)| c.state == state && c.reported_at < NOW - hours * HOUR).count()
        };
        assert_eq!(waiting(CaseState::Reported, 12), 0, "reports left unaccepted for longer than a night");
        assert_eq!(waiting(CaseState::Accepted, 24), 0, "accepted cases left undispatched for a day");
        // Reports come by day more than by night, as in the demo, in many grids.
        let local_hour = |t: Millis| (t + 8 * HOUR).rem_euclid(24 * HOUR) / HOUR;
        let day = history.iter().filter(|(c, _)| (8..18).contains(&local_hour(c.reported_at))).count();
        assert!(day * 2 > history.len(), "{day} of {} by day", history.len());
        let grids: HashSet<_> = history.iter().filter_map(|(c, _)| c.grid.clone()).collect();
        assert!(grids.len() > 80, "{}", grids.len());
    }

    #[test]
    fn people_have_valid_logins_for_every_role() {
        let demo = generate(3, NOW, 0);
        assert!(demo.history.is_empty());
        let mut logins = HashSet::new();
        let mut roles = HashMap::new();
        for p in &demo.people {
            assert!(logins.insert(p.person.login.clone()), "{} is unique", p.person.login);
            assert!(p.person.password_hash.is_none());
            assert!(!p.password.is_empty() && !p.role_label.is_empty());
            let phone = p.person.phone.as_deref().expect("has a phone");
            assert!(phone.len() == 11 && phone.starts_with('1'));
            for g in &p.person.grants {
                *roles.entry(g.role).or_insert(0) += 1;
            }
        }
        for role in Role::ALL {
            assert!(roles.contains_key(&role), "someone is a {}", role.as_str());
        }
        for login in [
            "admin",
            "dispatcher",
            "supervisor",
            "analyst",
            "auditor",
            "leader01",
            "member001",
            "dept01",
            "head01",
            "resident01",
            "resident50",
            "landlord01",
            "volunteer01",
            "party01",
            "guard01",
            "auxpolice01",
            "unit01",
            "police",
        ] {
            assert!(logins.contains(login), "{login}");
        }
        assert_eq!(roles[&Role::GridLeader], 10);
        assert!(roles[&Role::GridMember] >= 100);
    }
}
