//! The demo town's five teams (五支队伍): in every community a team of party workers, of grid
//! members, of auxiliary police, of security guards and of volunteers, kept by the community's
//! grid leader. The grid members' team holds the community's grid members; the others new accounts
//! with Chinese names (`volunteer01`…, `party01`…, `guard01`…, `auxpolice01`…) and some of the
//! community's residents. Volunteers logged a year of service hours, each confirmed by the team's
//! leader (or the grid leader, for the leader's own) a couple of days later — a few refused — and
//! the last two weeks' still awaiting confirmation.

use std::collections::HashSet;

use chrono::Days;
use gridkeeper_domain::teams::{local_date, Duty, TeamKind};
use gridkeeper_domain::{Grant, Millis, PersonId, RegionCode, RegionLevel, Role, Scope, HOUR};
use gridkeeper_store::{NewAudit, NewMember, NewPerson, NewServiceLog, NewTeam, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::people::{GIVEN_NAMES, PASSWORD, PHONE_PREFIXES, SURNAMES};
use crate::{DemoPerson, DemoTown, LoadError};

const DAY: Millis = 24 * HOUR;

/// The new accounts of each community: login stem, how many, label.
const ACCOUNTS: [(&str, usize, &str); 4] = [
    ("volunteer", 3, "volunteer (志愿者队伍; logs service hours: 我的服务)"),
    ("party", 2, "party worker (党员队伍)"),
    ("guard", 2, "security guard (保安队伍)"),
    ("auxpolice", 2, "auxiliary police (辅警队伍)"),
];

/// What volunteers did.
const SERVICE: [&str; 8] = [
    "夜间治安巡逻",
    "清理河道垃圾",
    "垃圾分类宣传",
    "景区文明劝导",
    "独居老人探访",
    "防汛物资清点",
    "消防安全宣传",
    "交通路口劝导",
];

/// Appends the teams' new accounts (after everyone else, so that no id moves): per community the
/// counts of [`ACCOUNTS`], with Chinese names and phones of their own.
pub(crate) fn add_people(seed: u64, communities: usize, people: &mut Vec<DemoPerson>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7ea5);
    let mut names: HashSet<String> = people.iter().map(|p| p.person.name.clone()).collect();
    let mut phones: HashSet<String> = people.iter().filter_map(|p| p.person.phone.clone()).collect();
    let district = Scope::Region { code: RegionCode::parse("330483").expect("the demo district") };
    for (stem, per, label) in ACCOUNTS {
        for n in 0..communities * per {
            let name = loop {
                let name = format!(
                    "{}{}",
                    SURNAMES[rng.gen_range(0..SURNAMES.len())],
                    GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())]
                );
                if names.insert(name.clone()) {
                    break name;
                }
            };
            let phone = loop {
                let phone = format!(
                    "{}{:08}",
                    PHONE_PREFIXES[rng.gen_range(0..PHONE_PREFIXES.len())],
                    rng.gen_range(0..100_000_000)
                );
                if phones.insert(phone.clone()) {
                    break phone;
                }
            };
            people.push(DemoPerson {
                person: NewPerson {
                    login: format!("{stem}{:02}", n + 1),
                    name,
                    phone: Some(phone),
                    id_number: None,
                    password_hash: None,
                    grants: vec![Grant::new(Role::Resident, district.clone()).expect("a resident's scope")],
                },
                password: PASSWORD.into(),
                role_label: label,
            });
        }
    }
}

fn audit(at: Millis, actor: PersonId) -> NewAudit {
    NewAudit {
        at,
        actor: Some(actor),
        action: "team".into(),
        object: None,
        detail: serde_json::json!({ "demo": true }),
    }
}

/// The ids of the accounts `stem01`… of community `c` (`per` each).
fn accounts(town: &DemoTown, stem: &str, per: usize, c: usize) -> Vec<PersonId> {
    (0..per)
        .filter_map(|k| {
            let login = format!("{stem}{:02}", c * per + k + 1);
            town.people.iter().position(|p| p.person.login == login).map(|i| i as PersonId + 1)
        })
        .collect()
}

/// Loads the teams and the volunteers' year of hours (after the people and the points' rules).
pub async fn load_teams(store: &dyn Store, town: &DemoTown, now: Millis) -> Result<(), LoadError> {
    let mut rng = StdRng::seed_from_u64(0x7ea5_0001);
    let holders = |role: Role| -> Vec<(PersonId, RegionCode)> {
        town.people
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                p.person.grants.iter().filter(move |g| g.role == role).filter_map(move |g| match &g.scope {
                    Scope::Region { code } => Some((i as PersonId + 1, code.clone())),
                    _ => None,
                })
            })
            .collect()
    };
    let (leaders, members) = (holders(Role::GridLeader), holders(Role::GridMember));
    let residents: Vec<PersonId> = town
        .people
        .iter()
        .enumerate()
        .filter(|(_, p)| p.person.login.starts_with("resident"))
        .map(|(i, _)| i as PersonId + 1)
        .collect();
    let communities: Vec<RegionCode> = town
        .reference
        .regions
        .iter()
        .filter(|r| r.code.level() == RegionLevel::Community)
        .map(|r| r.code.clone())
        .collect();
    let today = local_date(now);
    let started = now - 400 * DAY;
    for (c, community) in communities.iter().enumerate() {
        let Some((keeper, _)) = leaders.iter().find(|(_, r)| r == community).cloned() else { continue };
        let mut grid_members: Vec<PersonId> =
            members.iter().filter(|(_, g)| community.contains(g)).map(|(p, _)| *p).collect();
        grid_members.dedup();
        let locals: Vec<PersonId> = residents.iter().skip(c * 5).take(5).copied().collect();
        let volunteers = accounts(town, "volunteer", 3, c);
        let teams: [(TeamKind, Vec<PersonId>, Vec<Duty>); 5] = [
            (
                TeamKind::PartyWorkers,
                accounts(town, "party", 2, c).into_iter().chain(locals.iter().take(2).copied()).collect(),
                vec![Duty::Patrol, Duty::Report],
            ),
            (TeamKind::GridMembers, grid_members, vec![Duty::Patrol, Duty::Inspect, Duty::Report]),
            (TeamKind::AuxiliaryPolice, accounts(town, "auxpolice", 2, c), vec![Duty::Patrol, Duty::Inspect]),
            (TeamKind::SecurityGuards, accounts(town, "guard", 2, c), vec![Duty::Patrol]),
            (
                TeamKind::Volunteers,
                volunteers.iter().copied().chain(locals.iter().skip(2).take(2).copied()).collect(),
                vec![Duty::Patrol, Duty::Report],
            ),
        ];
        let name =
            town.reference.regions.iter().find(|r| &r.code == community).map(|r| r.name.clone()).unwrap_or_default();
        for (kind, people, duties) in teams {
            let new = NewTeam { kind, region: community.clone(), name: format!("{name}{}", kind.name_zh()) };
            let team = store.create_team(&new, keeper, &audit(started, keeper)).await?;
            // The volunteers' leader is their third account; the other teams' their first member.
            let leader =
                if kind == TeamKind::Volunteers { volunteers.get(2).copied() } else { people.first().copied() };
            for (k, p) in people.iter().enumerate() {
                // Most joined before the year; the last of each team during it.
                let joined =
                    if k + 1 == people.len() && k > 1 { today - Days::new(120) } else { today - Days::new(400) };
                let m = NewMember { person: *p, duties: duties.clone(), leader: Some(*p) == leader, joined };
                store.add_member(team.id, &m, keeper, &audit(started, keeper)).await?;
            }
            if kind != TeamKind::Volunteers {
                continue;
            }
            // A year of service: every three weeks or so, two to four hours.
            for (k, p) in people.iter().enumerate() {
                let first = if k + 1 == people.len() { 118 } else { 360 };
                let mut back: u64 = first - rng.gen_range(0..10);
                loop {
                    let date = today - Days::new(back);
                    let logged_at = now - back as i64 * DAY + 20 * HOUR;
                    let log = NewServiceLog {
                        team: team.id,
                        person: *p,
                        date,
                        hours: rng.gen_range(2..=4),
                        what: SERVICE[rng.gen_range(0..SERVICE.len())].into(),
                        region: community.clone(),
                        place: None,
                    };
                    let l = store.log_service(&log, logged_at).await?;
                    if back > 14 {
                        let by = match leader {
                            Some(lead) if lead != *p => lead,
                            _ => keeper,
                        };
                        let at = logged_at + 2 * DAY;
                        let confirm = rng.gen_range(0..15) != 0;
                        let reason = (!confirm).then_some("当日未到岗，请核实后重新登记");
                        store.decide_service(l.id, confirm, reason, by, at, &audit(at, by)).await?;
                    }
                    let step = rng.gen_range(14..28);
                    if back < step + 1 {
                        break;
                    }
                    back -= step;
                }
                // The last days' service awaits confirmation.
                if back > 7 {
                    let date = today - Days::new(rng.gen_range(1..=5));
                    let what = SERVICE[rng.gen_range(0..SERVICE.len())].to_string();
                    let log = NewServiceLog {
                        team: team.id,
                        person: *p,
                        date,
                        hours: 2,
                        what,
                        region: community.clone(),
                        place: None,
                    };
                    store.log_service(&log, now - 3 * HOUR).await?;
                }
            }
        }
    }
    Ok(())
}
