//! The demo town's patrols (巡查): each grid member patrols their grid on most working days, an
//! hour and a half to two and a half, walking from place to place of the grid's registry (each
//! place reached is visited: a `place_visits` row, as marking it visited would write). The last
//! [`TRACKED_DAYS`] days keep their tracks (a position a minute, GPS noise, now and then a jump
//! flagged implausible); older patrols, back to [`PATROL_DAYS`] days, keep only their summaries
//! (their positions went after their retention). One member is on patrol now.

use std::collections::BTreeMap;

use gridkeeper_domain::patrols::{judge, outline_of, Fix, Outline, PatrolRules, Quota};
use gridkeeper_domain::{LatLon, Millis, PersonId, RegionCode, RegionLevel, Role, Scope, HOUR, MINUTE};
use gridkeeper_store::{PastPatrol, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{DemoTown, LoadError};

/// Patrols with their positions: the recent ones.
pub const TRACKED_DAYS: i64 = 30;
/// Patrols back this far (summaries only beyond [`TRACKED_DAYS`]).
pub const PATROL_DAYS: i64 = 120;
/// Walking pace, metres a minute.
const PACE_M: f64 = 65.0;

/// The patrols of the demo town, with the places visited on the tracked ones.
pub fn build(seed: u64, town: &DemoTown, now: Millis, rules: &PatrolRules) -> Vec<PastPatrol> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7061_7472_6f6c_7321);
    let outlines: BTreeMap<RegionCode, Outline> = town
        .reference
        .regions
        .iter()
        .filter_map(|r| Some((r.code.clone(), outline_of(r.geometry.as_ref()?)?)))
        .collect();
    // The places of each grid with their ids (the store numbers each collection's places from
    // its `first`).
    let mut places: BTreeMap<RegionCode, Vec<(i64, LatLon)>> = BTreeMap::new();
    for c in &town.registry.collections {
        for (k, p) in c.batch.places.iter().enumerate() {
            // Patrols pass by the places on their usual rounds: about two in three. The others are
            // visited now and then for the registry (`registry.rs`), so not every place is fresh.
            let id = c.first.3 + k as i64;
            if id % 3 != 0 {
                places.entry(p.grid.clone()).or_default().push((id, p.location));
            }
        }
    }
    let members: Vec<(PersonId, RegionCode)> = town
        .people
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.person.grants.iter().filter(|g| g.role == Role::GridMember).filter_map(move |g| match &g.scope {
                Scope::Region { code } if code.level() == gridkeeper_domain::RegionLevel::Grid => {
                    Some((i as PersonId + 1, code.clone()))
                }
                _ => None,
            })
        })
        .collect();
    let today = gridkeeper_domain::time::local_day(now, 8);
    let mut out = vec![];
    for (m, (person, grid)) in members.iter().enumerate() {
        let Some(outline) = outlines.get(grid) else { continue };
        let diligence: f64 = rng.gen_range(0.55..0.95);
        for day in (today - PATROL_DAYS)..=today {
            let start_of_day = gridkeeper_domain::time::local_day_start(day, 8);
            let weekday = (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday: 0 = Monday.
            if weekday >= 5 || !rng.gen_bool(diligence) {
                continue;
            }
            let morning = rng.gen_bool(0.6);
            let started_at =
                start_of_day + if morning { 8 * HOUR + 30 * MINUTE } else { 14 * HOUR } + rng.gen_range(0..90) * MINUTE;
            let minutes = rng.gen_range(80..150);
            let ended_at = started_at + minutes * MINUTE;
            // One member is on patrol now; nobody patrols the future.
            let running = m == 1 && day == today;
            if running {
                let started_at = now - 40 * MINUTE;
                let walk = walk(&mut rng, outline, places.get(grid).map(Vec::as_slice).unwrap_or(&[]), started_at, 40);
                out.push(PastPatrol {
                    person: *person,
                    grid: grid.clone(),
                    started_at,
                    ended_at: None,
                    positions: judge(rules, outline, None, walk.fixes),
                    summary: None,
                    visits: walk.visits,
                });
                continue;
            }
            if ended_at > now {
                continue;
            }
            if day > today - TRACKED_DAYS {
                let walk =
                    walk(&mut rng, outline, places.get(grid).map(Vec::as_slice).unwrap_or(&[]), started_at, minutes);
                out.push(PastPatrol {
                    person: *person,
                    grid: grid.clone(),
                    started_at,
                    ended_at: Some(ended_at),
                    positions: judge(rules, outline, None, walk.fixes),
                    summary: None,
                    visits: walk.visits,
                });
            } else {
                let metres = minutes as f64 * PACE_M * rng.gen_range(0.7..0.95);
                out.push(PastPatrol {
                    person: *person,
                    grid: grid.clone(),
                    started_at,
                    ended_at: Some(ended_at),
                    positions: vec![],
                    summary: Some((metres.round(), minutes, 0)),
                    visits: vec![],
                });
            }
        }
    }
    out.sort_by_key(|p| (p.started_at, p.person));
    out
}

struct Walk {
    fixes: Vec<Fix>,
    visits: Vec<(i64, Millis)>,
}

/// A walk of `minutes` inside `outline` from place to place (a few of `places`, or points of the
/// grid when it has none), a position a minute with GPS noise, lingering a few minutes at each
/// place (visited then).
fn walk(rng: &mut StdRng, outline: &Outline, places: &[(i64, LatLon)], start: Millis, minutes: i64) -> Walk {
    let (mut lat0, mut lon0, mut lat1, mut lon1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in outline.iter().flatten().flatten() {
        (lat0, lon0, lat1, lon1) = (lat0.min(p.lat), lon0.min(p.lon), lat1.max(p.lat), lon1.max(p.lon));
    }
    let inside_point = |rng: &mut StdRng| -> LatLon {
        for _ in 0..200 {
            let p = LatLon { lat: rng.gen_range(lat0..lat1), lon: rng.gen_range(lon0..lon1) };
            if gridkeeper_domain::patrols::outside_m(p, outline) == 0.0 {
                return p;
            }
        }
        LatLon { lat: (lat0 + lat1) / 2.0, lon: (lon0 + lon1) / 2.0 }
    };
    let mut targets: Vec<(Option<i64>, LatLon)> = vec![];
    let stops = rng.gen_range(2..5);
    for _ in 0..stops {
        if !places.is_empty() && rng.gen_bool(0.8) {
            let (id, at) = places[rng.gen_range(0..places.len())];
            targets.push((Some(id), at));
        } else {
            targets.push((None, inside_point(rng)));
        }
    }
    let mut here = inside_point(rng);
    let (mut fixes, mut visits) = (vec![], vec![]);
    let mut target = 0;
    let mut linger = 0;
    let metres_per_degree = 111_195.0;
    for minute in 0..minutes {
        let at = start + minute * MINUTE + rng.gen_range(0..5_000);
        if linger > 0 {
            linger -= 1;
        } else if let Some((place, goal)) = targets.get(target).copied() {
            let d = here.distance_m(&goal);
            if d <= PACE_M {
                here = goal;
                if let Some(id) = place {
                    visits.push((id, at));
                }
                linger = rng.gen_range(3..9);
                target += 1;
            } else {
                let f = PACE_M / d;
                here = LatLon { lat: here.lat + (goal.lat - here.lat) * f, lon: here.lon + (goal.lon - here.lon) * f };
            }
        } else {
            // Done with the stops: stroll about the grid.
            let heading: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
            let k = here.lat.to_radians().cos();
            let next = LatLon {
                lat: here.lat + PACE_M * heading.sin() / metres_per_degree,
                lon: here.lon + PACE_M * heading.cos() / (metres_per_degree * k),
            };
            if gridkeeper_domain::patrols::outside_m(next, outline) == 0.0 {
                here = next;
            }
        }
        let accuracy = rng.gen_range(4.0..20.0);
        let noise = |rng: &mut StdRng| rng.gen_range(-1.0..1.0) * accuracy / 2.0 / metres_per_degree;
        let mut point = LatLon { lat: here.lat + noise(rng), lon: here.lon + noise(rng) };
        // Now and then the phone jumps far away (a bad fix): flagged, kept.
        if rng.gen_ratio(1, 400) {
            point.lat += 0.03;
        }
        fixes.push(Fix { at, point, accuracy_m: (accuracy * 10.0_f64).round() / 10.0 });
    }
    Walk { fixes, visits }
}

/// Loads the demo town's patrols (after its registry: the visits name its places).
pub async fn load_patrols(store: &dyn Store, town: &DemoTown, seed: u64, now: Millis) -> Result<(), LoadError> {
    let rules = PatrolRules::default();
    let patrols = build(seed, town, now, &rules);
    for chunk in patrols.chunks(500) {
        store.import_patrols(chunk, &rules).await?;
    }
    // The town's monthly quota, within reach of a diligent member (docs/MEASURES.md).
    let district = town.reference.regions.iter().map(|r| r.code.clone()).find(|c| c.level() == RegionLevel::District);
    if let Some(district) = district {
        let admin = town
            .people
            .iter()
            .position(|p| p.person.grants.iter().any(|g| g.role == Role::Admin))
            .map_or(1, |i| i as PersonId + 1);
        store.set_patrol_quota(&district, Quota { hours: 30, visits: 40 }, admin, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::patrols::Position;

    use super::*;

    const DAY: Millis = 24 * HOUR;

    #[test]
    fn members_patrol_inside_their_grids_visiting_places() {
        let now = 1_782_871_200_000; // 2026-07-01 10:00 China Standard Time
        let town = crate::generate(3, now, 0);
        let rules = PatrolRules::default();
        let patrols = build(3, &town, now, &rules);
        assert_eq!(patrols, build(3, &town, now, &rules), "deterministic");
        let tracked: Vec<&PastPatrol> = patrols.iter().filter(|p| !p.positions.is_empty()).collect();
        assert!(tracked.len() > 500, "{}", tracked.len());
        assert!(patrols.len() > tracked.len() * 3, "older patrols as summaries");
        assert_eq!(patrols.iter().filter(|p| p.ended_at.is_none()).count(), 1, "one running now");
        assert!(patrols
            .iter()
            .all(|p| p.ended_at.unwrap_or(now) <= now && p.started_at >= now - (PATROL_DAYS + 1) * DAY));
        let positions: Vec<&Position> = tracked.iter().flat_map(|p| &p.positions).collect();
        let far = positions.iter().filter(|p| p.far).count();
        assert!(far * 100 < positions.len(), "tracks stay inside their grids: {far} of {}", positions.len());
        assert!(tracked.iter().filter(|p| !p.visits.is_empty()).count() * 2 > tracked.len(), "most visit places");
        let length = track_length(&rules, tracked[0]);
        assert!(length > 1000.0, "{length}");
    }

    fn track_length(rules: &PatrolRules, p: &PastPatrol) -> f64 {
        gridkeeper_domain::patrols::track_length_m(rules, &p.positions)
    }
}
