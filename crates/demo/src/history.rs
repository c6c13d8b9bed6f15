//! The simulated year: cases reported over the 365 days before `now` (more by day than by night,
//! more in summer and at weekends), each carried through the one state machine
//! ([`report`], [`on_the_spot`], [`decide`]) by the people who may take each step, with realistic
//! delays between steps.
//!
//! Each case is lived from its report until it is finished, or until its next step would fall
//! after `now` — so recent cases are still open in every state. A share of recent cases also
//! stalls at some stage (the backlog a supervisor chases with supervision orders).
//!
//! The store assigns ids 1, 2, 3… in the order of the history, so the k-th case (0-based) is given
//! id k + 1 here already (`first_id + k` for a span of a longer history): duplicates name their
//! original by that id.

use chrono::{DateTime, Datelike, Timelike, Weekday};
use gridkeeper_domain::{
    decide, on_the_spot, report, Actor, Case, CaseId, CaseState, Command, DepartmentKind, LatLon, MediaId, Millis,
    NewEvent, NewReport, OnTheSpot, Original, PersonId, Rejection, Urgency, HOUR, MINUTE,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{
    org::{Org, Subclass, EMERGENCY, SPOT, TEAM},
    people::Roster,
    town::{Town, DISTRICT},
};

const DAY: Millis = 24 * HOUR;
/// China Standard Time, for the rhythm of the day.
const LOCAL_OFFSET: Millis = 8 * HOUR;

// How reports come in (shares of all reports).
const ON_THE_SPOT: f64 = 0.15;
const GRID_MEMBER_REPORT: f64 = 0.12;
const HOTLINE: f64 = 0.06;
const ANONYMOUS: f64 = 0.02;
// How the linkage center answers (shares of the other reports).
const DUPLICATE: f64 = 0.04;
const INVALID: f64 = 0.03;
const OUTSIDE_AREA: f64 = 0.015;
// What happens during handling (shares of accepted cases).
const TEAM_LEAD: f64 = 0.55;
const CO_DEPARTMENT: f64 = 0.07;
const RETURNED: f64 = 0.04;
const EXTENSION: f64 = 0.06;
const EXTENSION_APPROVED: f64 = 0.7;
const REWORK: f64 = 0.07;
const SPOT_REWORK: f64 = 0.03;
const RATED: f64 = 0.8;
/// Share of unhappy ratings (1 or 2) that make the supervisor reopen the case, and of other
/// closed cases reopened after a return visit.
const UNHAPPY_REOPENED: f64 = 0.3;
const REOPENED: f64 = 0.004;
/// Share of the newest cases that stall at some stage, falling to none for cases
/// [`BACKLOG_DAYS`] old.
const STALL: f64 = 0.12;
/// The newest reports of the simulated span, which still wait in the center's queue at `now` when
/// they came in within [`OVERNIGHT`].
const FRESH_REPORTS: usize = 4;
const OVERNIGHT: Millis = 12 * HOUR;
const BACKLOG_DAYS: Millis = 30;
/// Median share of its handling window a department takes; about 10% of cases run over.
const HANDLING_SHARE: f64 = 0.4;
const HANDLING_SPREAD: f64 = 0.62;

/// Relative number of reports per local hour of the day.
const HOURLY: [f64; 24] = [
    0.15, 0.08, 0.05, 0.05, 0.07, 0.15, 0.4, 0.8, 1.2, 1.5, 1.6, 1.4, 1.0, 1.1, 1.4, 1.5, 1.4, 1.2, 1.0, 0.9, 0.8, 0.6,
    0.4, 0.25,
];
/// Upper bound of [`activity`]: busiest hour × summer × weekend.
const MAX_ACTIVITY: f64 = 1.6 * 1.3 * 1.15;

/// Median minutes to accept, dispatch and sign for a case: routine, urgent, emergency.
const ACCEPT_MINUTES: [Millis; 3] = [25, 10, 4];
const DISPATCH_MINUTES: [Millis; 3] = [15, 8, 3];
const SIGN_MINUTES: [Millis; 3] = [60, 25, 8];

const DESCRIPTIONS: [&str; 5] = [
    "{a}{p}，请尽快处理。",
    "路过{a}，发现{p}。",
    "{a}{p}，已经好几天了，希望有关部门处理。",
    "{p}，地点：{a}。",
    "{a}{p}，麻烦派人来看看。",
];
const DISPATCHER_NOTES: [&str; 3] =
    ["已电话联系报告人核实具体位置。", "同类问题近期多次反映，请重点关注。", "已调取周边监控，确认情况属实。"];
const STAFF_NOTES: [&str; 3] =
    ["已安排人员前往现场查看。", "需联系业主配合，预计明天处理。", "已与报告人电话沟通处置方案。"];
const PART_NOTES: [&str; 3] = ["已配合完成现场管控。", "本部门职责范围内的工作已完成。", "已派员到场协助处置。"];
const RESULT_NOTES: [&str; 5] = [
    "已派人到现场处置完毕，恢复正常。",
    "已维修完毕，恢复正常使用。",
    "已整改到位，整改前后照片见附件。",
    "已清理完毕。",
    "已约谈当事人，当场整改完成。",
];
const SPOT_NOTES: [&str; 3] = ["已现场处置完毕，恢复原状。", "已劝导当事人当场整改。", "已现场清理，拍照留存。"];
const REWORK_NOTES: [&str; 3] =
    ["现场核查问题仍然存在，请继续整改。", "整改不到位，现场仍有残留。", "仅做了临时处理，需彻底修复。"];
const INVALID_NOTES: [&str; 3] = [
    "现场核实未发现所述问题。",
    "反映内容不属于网格治理事项，已电话答复报告人。",
    "照片与描述不符，且无法联系报告人核实。",
];
const EXTENSION_REASONS: [&str; 4] = [
    "需采购配件，无法按期完成。",
    "涉及多个部门协调，申请延期。",
    "连续降雨无法施工，申请延期。",
    "需等待当事人配合整改。",
];
const DENY_REASONS: [&str; 2] = ["该问题影响群众出行，不予延期，请加快处置。", "延期理由不充分，请按原时限办结。"];
const REOPEN_REASONS: [&str; 2] = ["回访发现问题反弹，重新派遣处置。", "报告人反映整改不到位，重新处置。"];
const GOOD_COMMENTS: [&str; 3] = ["处理很及时，点赞！", "速度很快，谢谢！", "非常满意。"];
const FAIR_COMMENTS: [&str; 3] = ["处理得不错。", "还可以，就是稍微慢了点。", "一般，时间有点长。"];
const POOR_COMMENTS: [&str; 3] = ["拖了很久才处理。", "问题没有彻底解决。", "对处理结果不满意。"];

/// Everything the simulation reads.
pub(crate) struct World<'a> {
    pub town: &'a Town,
    pub org: &'a Org,
    pub roster: &'a Roster,
    pub now: Millis,
}

/// Finished histories of `cases` cases, oldest report first.
pub(crate) fn simulate(world: &World, seed: u64, cases: usize) -> Vec<(Case, Vec<NewEvent>)> {
    simulate_span(world, seed, world.now - 365 * DAY, world.now, cases, 1)
}

/// Finished histories of `cases` cases reported in `[from, to)`, oldest report first, lived
/// until `world.now`, with ids from `first_id` on. Duplicates only name cases of the same span.
pub(crate) fn simulate_span(
    world: &World,
    seed: u64,
    from: Millis,
    to: Millis,
    cases: usize,
    first_id: CaseId,
) -> Vec<(Case, Vec<NewEvent>)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6869_7374_6f72_7900);
    let tables = Tables::new(world);
    let times = report_times(&mut rng, from, to, cases);
    let mut history = Vec::with_capacity(cases);
    for (k, t0) in times.into_iter().enumerate() {
        let mut plan = plan(world, &tables, &mut rng, &history, t0);
        // The center's queue as a dispatcher finds it: the night's newest reports wait to be
        // accepted, the one before them to be dispatched.
        if to == world.now && k + FRESH_REPORTS >= cases && world.now - t0 < OVERNIGHT {
            plan.stall = Some(if k + FRESH_REPORTS > cases { Stage::Accept } else { Stage::Dispatch });
        }
        history.push(live(world, &mut rng, &plan, first_id + k as CaseId, t0));
    }
    history
}

/// A case with every event of its story.
type Lived = (Case, Vec<NewEvent>);

/// Reports in each of the morning's floods (problems many neighbours see at once: a burst main,
/// a fallen tree), newest reports of the demo.
const FLOODS: [usize; 2] = [5, 3];

/// The morning's floods: each a problem reported several times within the last hour by residents
/// of its grid, near one another (within 40 m), at one address, each in the reporter's own words;
/// they wait in the center's queue, to be handled once. After the history's last report (ids
/// following `history`), interleaved in time. Returns the cases and, per flood, its case ids (the
/// truth the folding is measured against).
pub(crate) fn floods(world: &World, seed: u64, history: &[(Case, Vec<NewEvent>)]) -> (Vec<Lived>, Vec<Vec<CaseId>>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x666c_6f6f_6473);
    let tables = Tables::new(world);
    let last = history.last().map_or(world.now - HOUR, |(c, _)| c.reported_at);
    let from = last.max(world.now - HOUR) + 1000;
    let mut plans = Vec::new();
    for (flood, &size) in FLOODS.iter().enumerate() {
        let grid = tables.grids.pick(&mut rng);
        // Something many neighbours see and report alike, not an emergency (which the first
        // call brings to the center at once).
        let subclass = loop {
            let s = tables.subclasses.pick(&mut rng);
            if !world.org.subclasses[s].has(EMERGENCY) {
                break s;
            }
        };
        let origin = world.town.grids[grid].sample(&mut rng);
        let address = world.town.address(grid, &mut rng);
        let community = world.town.grids[grid].community;
        for _ in 0..size {
            let plan = Plan {
                intake: Intake::Resident(pick(&mut rng, &world.roster.residents[community])),
                fate: Fate::Handle,
                grid: Some(grid),
                subclass,
                urgency: world.org.subclasses[subclass].urgency(&mut rng).min(Urgency::Urgent),
                location: towards(&mut rng, origin, world.town.grids[grid].centre(), 40.0),
                address: address.clone(),
                stall: Some(Stage::Accept),
            };
            plans.push((rng.gen_range(from..world.now.max(from + 1)), flood, plan));
        }
    }
    plans.sort_by_key(|(t, ..)| *t);
    let first_id = history.len() as CaseId + 1;
    let mut ids = vec![Vec::new(); FLOODS.len()];
    let cases = plans
        .iter()
        .enumerate()
        .map(|(k, (t0, flood, plan))| {
            let id = first_id + k as CaseId;
            ids[*flood].push(id);
            live(world, &mut rng, plan, id, *t0)
        })
        .collect();
    (cases, ids)
}

/// Report instants in `[start, end)`, sorted, to the second.
fn report_times(rng: &mut StdRng, start: Millis, now: Millis, n: usize) -> Vec<Millis> {
    let mut times = Vec::with_capacity(n);
    while times.len() < n {
        let t = rng.gen_range(start..now);
        if rng.gen::<f64>() * MAX_ACTIVITY < activity(t) {
            times.push(t - t.rem_euclid(1000));
        }
    }
    times.sort_unstable();
    times
}

/// Relative number of reports at `t`: by local hour, season (peak in mid-July) and weekday.
pub(crate) fn activity(t: Millis) -> f64 {
    let local =
        DateTime::from_timestamp_millis(t + LOCAL_OFFSET).expect("demo instants lie within chrono's range").naive_utc();
    let hour = HOURLY[local.hour() as usize];
    let season = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * (f64::from(local.ordinal()) - 196.0) / 365.0).cos();
    let weekend = if matches!(local.weekday(), Weekday::Sat | Weekday::Sun) { 1.15 } else { 1.0 };
    hour * season * weekend
}

/// Cumulative weights for picking grids and subclasses by how often they see reports.
struct Weighted {
    items: Vec<usize>,
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(items: impl IntoIterator<Item = (usize, f64)>) -> Self {
        let mut sum = 0.0;
        let (items, cumulative) = items
            .into_iter()
            .map(|(item, weight)| {
                sum += weight;
                (item, sum)
            })
            .unzip();
        Self { items, cumulative }
    }

    fn pick(&self, rng: &mut StdRng) -> usize {
        let total = *self.cumulative.last().expect("a table to pick from is not empty");
        let x = rng.gen_range(0.0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.items[i.min(self.items.len() - 1)]
    }
}

struct Tables {
    grids: Weighted,
    subclasses: Weighted,
    /// Subclasses a grid member may handle on the spot.
    spot: Weighted,
}

impl Tables {
    fn new(world: &World) -> Self {
        let subclass_weights = |only: u8| {
            Weighted::new(
                world
                    .org
                    .subclasses
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| only == 0 || s.has(only))
                    .map(|(i, s)| (i, f64::from(s.spec.weight))),
            )
        };
        Self {
            grids: Weighted::new(
                world.town.grids.iter().enumerate().map(|(i, g)| (i, world.town.communities[g.community].spec.weight)),
            ),
            subclasses: subclass_weights(0),
            spot: subclass_weights(SPOT),
        }
    }
}

/// Who reports.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Intake {
    Resident(PersonId),
    GridMember(PersonId),
    /// The dispatcher on duty takes a phone call.
    Hotline,
    Anonymous,
    /// A grid member reports and handles it at once.
    OnTheSpot(PersonId),
}

/// How the linkage center answers the report.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    Handle,
    Invalid,
    OutsideArea,
    Duplicate(Original),
}

/// A step a case may stall before.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    Accept,
    Dispatch,
    Sign,
    Submit,
    Verify,
    Close,
}

const STAGES: [Stage; 6] = [Stage::Accept, Stage::Dispatch, Stage::Sign, Stage::Submit, Stage::Verify, Stage::Close];

/// What is decided about a case before its story is lived.
struct Plan {
    intake: Intake,
    fate: Fate,
    /// `None` for a report from outside the town.
    grid: Option<usize>,
    subclass: usize,
    urgency: Urgency,
    location: LatLon,
    address: String,
    stall: Option<Stage>,
}

fn plan(world: &World, tables: &Tables, rng: &mut StdRng, history: &[(Case, Vec<NewEvent>)], t0: Millis) -> Plan {
    let (town, org, roster) = (world.town, world.org, world.roster);
    let stall = stall(rng, world.now - t0);
    if rng.gen_bool(ON_THE_SPOT) {
        let grid = tables.grids.pick(rng);
        let member = pick(rng, &roster.members[grid]);
        return Plan {
            intake: Intake::OnTheSpot(member),
            fate: Fate::Handle,
            grid: Some(grid),
            subclass: tables.spot.pick(rng),
            urgency: Urgency::Routine,
            location: town.grids[grid].sample(rng),
            address: town.address(grid, rng),
            stall,
        };
    }

    let x: f64 = rng.gen();
    let original = if x < DUPLICATE { find_original(world, rng, history, t0) } else { None };
    let (fate, grid, subclass, location, address) = if let Some(j) = original {
        let case = &history[j].0;
        let grid = case.grid.as_ref().and_then(|g| town.grid_index(g)).expect("an original is in a grid of the town");
        let subclass = case.category.and_then(|c| org.subclass_of(c)).expect("an original has a subclass");
        let category = &org.categories[org.subclasses[subclass].category];
        let origin = case.location.expect("an original has a location");
        let location = towards(rng, origin, town.grids[grid].centre(), f64::from(category.duplicate_radius_m) / 3.0);
        let address = case.address.clone().unwrap_or_else(|| town.address(grid, rng));
        let original = Original {
            id: case.id,
            district: case.district.clone(),
            state: case.state,
            duplicate_of: case.duplicate_of,
        };
        (Fate::Duplicate(original), Some(grid), subclass, location, address)
    } else if (DUPLICATE..DUPLICATE + OUTSIDE_AREA).contains(&x) {
        let (location, address) = town.outside(rng);
        let subclass = tables.subclasses.pick(rng);
        (Fate::OutsideArea, None, subclass, location, address)
    } else {
        let fate = if (DUPLICATE + OUTSIDE_AREA..DUPLICATE + OUTSIDE_AREA + INVALID).contains(&x) {
            Fate::Invalid
        } else {
            Fate::Handle
        };
        let grid = tables.grids.pick(rng);
        let location = town.grids[grid].sample(rng);
        let address = town.address(grid, rng);
        (fate, Some(grid), tables.subclasses.pick(rng), location, address)
    };

    let y = rng.gen_range(0.0..1.0 - ON_THE_SPOT);
    let intake = match grid {
        Some(g) if y < GRID_MEMBER_REPORT => Intake::GridMember(pick(rng, &roster.members[g])),
        _ if y < GRID_MEMBER_REPORT + HOTLINE => Intake::Hotline,
        _ if y < GRID_MEMBER_REPORT + HOTLINE + ANONYMOUS => Intake::Anonymous,
        Some(g) if rng.gen_bool(0.8) => Intake::Resident(pick(rng, &roster.residents[town.grids[g].community])),
        _ => {
            let community = rng.gen_range(0..roster.residents.len());
            Intake::Resident(pick(rng, &roster.residents[community]))
        }
    };
    Plan { intake, fate, grid, subclass, urgency: org.subclasses[subclass].urgency(rng), location, address, stall }
}

/// How long the linkage center's own steps may wait: a center on duty accepts and dispatches
/// within hours and closes within a day or two. Departments and grid members may leave work for
/// weeks (the backlog supervision chases); the center does not.
fn center_patience(stage: Stage) -> Option<Millis> {
    match stage {
        Stage::Accept => Some(3 * HOUR),
        Stage::Dispatch => Some(8 * HOUR),
        Stage::Close => Some(2 * DAY),
        Stage::Sign | Stage::Submit | Stage::Verify => None,
    }
}

/// Whether a case reported `age` ago stalls, and before which step: at the center's own steps
/// only within [`center_patience`], else at a department's or a grid member's.
fn stall(rng: &mut StdRng, age: Millis) -> Option<Stage> {
    let p = STALL * (1.0 - age as f64 / (BACKLOG_DAYS * DAY) as f64);
    if !(p > 0.0 && rng.gen_bool(p)) {
        return None;
    }
    let stage = STAGES[rng.gen_range(0..STAGES.len())];
    match center_patience(stage) {
        Some(patience) if age > patience => Some(pick(rng, &[Stage::Sign, Stage::Submit, Stage::Verify])),
        _ => Some(stage),
    }
}

/// A recent case a new report may duplicate: not rejected, in a grid, with a category whose
/// duplicate window still covers `t0`.
fn find_original(world: &World, rng: &mut StdRng, history: &[(Case, Vec<NewEvent>)], t0: Millis) -> Option<usize> {
    let longest_window = 168 * HOUR;
    let candidates: Vec<usize> = history
        .iter()
        .enumerate()
        .rev()
        .take_while(|(_, (c, _))| t0 - c.reported_at <= longest_window)
        .filter(|(_, (c, _))| {
            let window = c
                .category
                .and_then(|id| world.org.categories.get(usize::try_from(id - 1).ok()?))
                .map(|cat| Millis::from(cat.duplicate_window_hours) * HOUR);
            c.state != CaseState::Rejected
                && c.grid.is_some()
                && c.location.is_some()
                && window.is_some_and(|w| t0 - c.reported_at <= w)
        })
        .map(|(i, _)| i)
        .collect();
    (!candidates.is_empty()).then(|| candidates[rng.gen_range(0..candidates.len())])
}

/// A point moved from `origin` towards `target` (both in one convex grid) by at most `metres`.
fn towards(rng: &mut StdRng, origin: LatLon, target: LatLon, metres: f64) -> LatLon {
    let d = origin.distance_m(&target);
    let f = if d > 0.0 { (rng.gen_range(0.0..metres) / d).min(1.0) } else { 0.0 };
    LatLon { lat: origin.lat + f * (target.lat - origin.lat), lon: origin.lon + f * (target.lon - origin.lon) }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

fn pick_text(rng: &mut StdRng, texts: &[&str]) -> String {
    pick(rng, texts).to_string()
}

/// A log-normal duration with the given median, rounded to the second.
fn lognormal(rng: &mut StdRng, median: Millis, sigma: f64) -> Millis {
    let factor = spread(rng, 1.0, sigma).min(20.0);
    (median as f64 * factor / 1000.0).round() as Millis * 1000
}

/// A log-normal factor with the given median (Box–Muller).
fn spread(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    let (u1, u2): (f64, f64) = (1.0 - rng.gen::<f64>(), rng.gen());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

/// How long the linkage center or a department takes for a prompt step, by urgency.
fn prompt(rng: &mut StdRng, minutes: [Millis; 3], urgency: Urgency) -> Millis {
    let (median, sigma) = match urgency {
        Urgency::Routine => (minutes[0], 0.85),
        Urgency::Urgent => (minutes[1], 0.6),
        Urgency::Emergency => (minutes[2], 0.5),
    };
    lognormal(rng, median * MINUTE, sigma)
}

/// `t`, or the next morning (07:30–09:00 local time) when `t` falls at night.
fn office_hours(rng: &mut StdRng, t: Millis) -> Millis {
    let since_midnight = (t + LOCAL_OFFSET).rem_euclid(DAY);
    let hour = since_midnight / HOUR;
    if (7..22).contains(&hour) {
        return t;
    }
    let morning = t - since_midnight + 7 * HOUR + 30 * MINUTE + rng.gen_range(0..90) * MINUTE;
    if hour >= 22 {
        morning + DAY
    } else {
        morning
    }
}

/// The dispatcher on duty at `t`: day (8–16 h), evening (16–24 h) or night shift.
fn shift(t: Millis) -> usize {
    match (t + LOCAL_OFFSET).rem_euclid(DAY) / HOUR {
        8..=15 => 0,
        16..=23 => 1,
        _ => 2,
    }
}

fn describe(rng: &mut StdRng, subclass: &Subclass, address: &str, urgency: Urgency) -> String {
    let text = pick(rng, &DESCRIPTIONS).replace("{a}", address).replace("{p}", pick(rng, subclass.spec.phrases));
    if urgency == Urgency::Emergency {
        text + "情况紧急！"
    } else {
        text
    }
}

/// Media ids of a case's photos: `demo-<case>-<n>` (the demo has no files for them).
struct Media {
    case: CaseId,
    taken: u32,
}

impl Media {
    fn take(&mut self, n: usize) -> Vec<MediaId> {
        (0..n)
            .map(|_| {
                self.taken += 1;
                format!("demo-{}-{}", self.case, self.taken)
            })
            .collect()
    }
}

/// Reports the case with this id at `t0` and lives its story.
fn live(world: &World, rng: &mut StdRng, plan: &Plan, id: CaseId, t0: Millis) -> (Case, Vec<NewEvent>) {
    let mut media = Media { case: id, taken: 0 };
    let subclass = &world.org.subclasses[plan.subclass];
    let category = &world.org.categories[subclass.category];
    let description = describe(rng, subclass, &plan.address, plan.urgency);
    let grid = plan.grid.map(|g| world.town.grids[g].region.code.clone());
    let anonymous = Actor::anonymous();
    let decision = if let Intake::OnTheSpot(member) = plan.intake {
        let photos = media.take(rng.gen_range(1..=2));
        let evidence = media.take(rng.gen_range(1..=2));
        let r = OnTheSpot {
            district: DISTRICT.into(),
            grid: grid.expect("on-the-spot handling happens in a grid"),
            location: plan.location,
            address: Some(plan.address.clone()),
            description,
            category: category.clone(),
            photos,
            evidence,
            note: pick_text(rng, &SPOT_NOTES),
        };
        on_the_spot(world.roster.actor(member), r, t0)
    } else {
        let actor = match plan.intake {
            Intake::Resident(p) | Intake::GridMember(p) | Intake::OnTheSpot(p) => world.roster.actor(p),
            Intake::Hotline => world.roster.actor(world.roster.dispatchers[shift(t0)]),
            Intake::Anonymous => &anonymous,
        };
        let photos = match plan.intake {
            Intake::Hotline => 0,
            _ if rng.gen_bool(0.85) => rng.gen_range(1..=3),
            _ => 0,
        };
        // Reporters sometimes think a routine problem is urgent; the dispatcher corrects it.
        let urgency =
            if plan.urgency == Urgency::Routine && rng.gen_bool(0.08) { Urgency::Urgent } else { plan.urgency };
        let r = NewReport {
            district: DISTRICT.into(),
            grid,
            location: Some(plan.location),
            address: Some(plan.address.clone()),
            description,
            urgency,
            suggested_category: rng.gen_bool(0.55).then(|| category.clone()),
            photos: media.take(photos),
            anonymous: matches!(plan.intake, Intake::Resident(_)) && rng.gen_bool(0.05),
            // Callers to the hotline leave a name and a number to call back.
            contact: matches!(plan.intake, Intake::Hotline).then(|| caller(world, plan.grid, rng)),
            source: None,
        };
        report(actor, r, t0)
    }
    .expect("the demo's reports are complete");
    let mut case = decision.case;
    case.id = id;
    let mut life = Life { world, rng, plan, case, events: vec![decision.event], t: t0, media };
    // `None` only says the story stops here (its next step falls after `now`, or it stalls):
    // the case stays in the state it reached.
    life.run();
    (life.case, life.events)
}

/// Regular callers of the hotline who never signed up: `139000000NN`.
const REGULAR_CALLERS: u32 = 12;

/// The name and number a hotline caller leaves (as many draws of `rng` as ever: two). A third
/// of them are residents of the place's community, with the number they signed up with, so the
/// call-taker's lookup of a resident finds their calls beside their own reports; a third are the
/// town's regular callers, each calling about several problems over the year; the rest call once.
fn caller(world: &World, grid: Option<usize>, rng: &mut StdRng) -> gridkeeper_domain::Contact {
    let name = ["王先生", "李女士", "张师傅", "陈阿姨", "刘先生"][rng.gen_range(0..5)];
    let n: u32 = rng.gen_range(0..100_000_000);
    let residents = grid.map(|g| &world.roster.residents[world.town.grids[g].community]).filter(|r| !r.is_empty());
    match (n % 3, residents) {
        (0, Some(residents)) => {
            let who = &world.roster.people[(residents[(n / 3) as usize % residents.len()] - 1) as usize].person;
            gridkeeper_domain::Contact { name: Some(who.name.clone()), phone: who.phone.clone() }
        }
        (1, _) => gridkeeper_domain::Contact {
            name: Some(name.to_string()),
            phone: Some(format!("139000000{:02}", n / 3 % REGULAR_CALLERS)),
        },
        _ => gridkeeper_domain::Contact { name: Some(name.to_string()), phone: Some(format!("139{n:08}")) },
    }
}

/// Who takes a step. Resolved to a person when the step is taken.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// The dispatcher on duty.
    Dispatcher,
    Supervisor,
    /// Staff (now and then the head) of the lead department.
    Lead,
    /// Staff of the department at this index.
    Department(usize),
    /// A grid member of the case's grid.
    GridMember,
    /// The grid leader of the case's community.
    GridLeader,
    Reporter,
}

/// One case's story in progress. Every step returns `None` when the story stops.
struct Life<'a> {
    world: &'a World<'a>,
    rng: &'a mut StdRng,
    plan: &'a Plan,
    case: Case,
    events: Vec<NewEvent>,
    /// The time of the last step.
    t: Millis,
    media: Media,
}

impl<'a> Life<'a> {
    fn run(&mut self) -> Option<()> {
        let plan = self.plan;
        if let Intake::OnTheSpot(_) = plan.intake {
            return self.check_on_the_spot();
        }
        self.checkpoint(Stage::Accept)?;
        let delay = prompt(self.rng, ACCEPT_MINUTES, self.case.urgency);
        let reject = |reason, original, note: &str| Command::Reject { reason, original, note: Some(note.to_string()) };
        match &plan.fate {
            Fate::Invalid => {
                let note = pick_text(self.rng, &INVALID_NOTES);
                self.act(delay, Who::Dispatcher, reject(Rejection::Invalid, None, &note))
            }
            Fate::OutsideArea => {
                let note = "该位置不属于乌镇镇辖区，已告知报告人向属地反映。";
                self.act(delay, Who::Dispatcher, reject(Rejection::OutsideArea, None, note))
            }
            Fate::Duplicate(original) => {
                let note = "与已受理的案件为同一问题，合并处理。";
                let cmd = reject(Rejection::Duplicate, Some(original.clone()), note);
                self.act(delay, Who::Dispatcher, cmd)
            }
            Fate::Handle => {
                if self.rng.gen_bool(0.06) {
                    let text = pick_text(self.rng, &DISPATCHER_NOTES);
                    self.act(delay / 2, Who::Dispatcher, Command::Note { text })?;
                }
                let world = self.world;
                let category = &world.org.categories[world.org.subclasses[plan.subclass].category];
                let accept = Command::Accept { category: category.clone(), urgency: plan.urgency, note: None };
                self.act(delay / 2, Who::Dispatcher, accept)?;
                self.handle(false)
            }
        }
    }

    /// The grid leader checks on-the-spot handling and closes it; a failed check sends the case
    /// to the linkage center for dispatch.
    fn check_on_the_spot(&mut self) -> Option<()> {
        self.checkpoint(Stage::Verify)?;
        let after = lognormal(self.rng, 3 * HOUR, 0.8);
        if self.rng.gen_bool(SPOT_REWORK) {
            let note = Some("现场复核仍有问题，需专业部门处置。".to_string());
            let verify = Command::Verify { passed: false, note, evidence: vec![] };
            self.act(after, Who::GridLeader, verify)?;
            return self.handle(false);
        }
        let verify = Command::Verify { passed: true, note: None, evidence: vec![] };
        self.act(after, Who::GridLeader, verify)?;
        self.checkpoint(Stage::Close)?;
        let after = lognormal(self.rng, 30 * MINUTE, 0.8);
        self.act(after, Who::GridLeader, Command::Close { note: None })
    }

    /// From accepted to closed (and rated): dispatch, handling, verification, closing.
    fn handle(&mut self, reopened: bool) -> Option<()> {
        self.checkpoint(Stage::Dispatch)?;
        let (lead, co) = self.departments();
        if !reopened && self.rng.gen_bool(RETURNED) {
            let wrong = self.wrong_department(lead);
            self.dispatch(wrong, vec![])?;
            if self.rng.gen_bool(0.5) {
                let after = self.sign_delay();
                self.act(after, Who::Lead, Command::Sign)?;
            }
            let reason = format!("经核实不属于本单位职责范围，请改派{}。", self.world.org.departments[lead].name);
            let after = lognormal(self.rng, 90 * MINUTE, 0.8);
            self.act(after, Who::Lead, Command::Return { reason })?;
        }
        self.dispatch(lead, co)?;
        self.checkpoint(Stage::Sign)?;
        let after = self.sign_delay();
        self.act(after, Who::Lead, Command::Sign)?;
        if self.rng.gen_bool(0.1) {
            let after = lognormal(self.rng, 40 * MINUTE, 0.8);
            let text = pick_text(self.rng, &STAFF_NOTES);
            self.act(after, Who::Lead, Command::Note { text })?;
        }
        self.work()?;
        self.verify()?;
        self.checkpoint(Stage::Close)?;
        let after = lognormal(self.rng, 20 * MINUTE, 0.8);
        self.act(after, Who::Dispatcher, Command::Close { note: None })?;
        self.rate_or_reopen(reopened)
    }

    /// How long until the lead department signs for the case: routine cases in office hours.
    fn sign_delay(&mut self) -> Millis {
        let after = prompt(self.rng, SIGN_MINUTES, self.case.urgency);
        if self.case.urgency == Urgency::Routine {
            office_hours(self.rng, self.t + after) - self.t
        } else {
            after
        }
    }

    /// The lead department (a community team for light problems where the community has one)
    /// and now and then a co-department.
    fn departments(&mut self) -> (usize, Vec<usize>) {
        let org = self.world.org;
        let subclass = &org.subclasses[self.plan.subclass];
        let grid = self.plan.grid.expect("a handled case lies in a grid");
        let team = org.teams[self.world.town.grids[grid].community];
        let lead = match team {
            Some(t) if subclass.has(TEAM) && self.rng.gen_bool(TEAM_LEAD) => t,
            _ => subclass.department,
        };
        let co = if lead != subclass.department {
            if self.rng.gen_bool(0.15) {
                vec![subclass.department]
            } else {
                vec![]
            }
        } else if self.rng.gen_bool(CO_DEPARTMENT) {
            let platform = org.departments[lead].platform_id;
            let peers: Vec<usize> = (0..org.departments.len())
                .filter(|&d| {
                    d != lead
                        && org.departments[d].platform_id == platform
                        && org.departments[d].kind != DepartmentKind::CommunityTeam
                })
                .collect();
            if peers.is_empty() {
                vec![]
            } else {
                vec![pick(self.rng, &peers)]
            }
        } else {
            vec![]
        };
        (lead, co)
    }

    /// A department the case is sent to by mistake.
    fn wrong_department(&mut self, lead: usize) -> usize {
        let org = self.world.org;
        let others: Vec<usize> = (0..org.departments.len())
            .filter(|&d| d != lead && org.departments[d].kind != DepartmentKind::CommunityTeam)
            .collect();
        pick(self.rng, &others)
    }

    fn dispatch(&mut self, lead: usize, co: Vec<usize>) -> Option<()> {
        let after = prompt(self.rng, DISPATCH_MINUTES, self.case.urgency);
        let departments = &self.world.org.departments;
        let dispatch = Command::Dispatch {
            lead: departments[lead].clone(),
            co: co.into_iter().map(|d| departments[d].clone()).collect(),
            deadline: None,
            note: None,
        };
        self.act(after, Who::Dispatcher, dispatch)
    }

    /// Handling until the lead submits its result: co-departments' parts, an extension request,
    /// a supervision order when it runs over.
    fn work(&mut self) -> Option<()> {
        let dispatched = self.case.dispatched_at.expect("a dispatched case has a dispatch time");
        let mut deadline = self.case.handle_by.expect("a dispatched case has a deadline");
        let window = deadline - dispatched;
        let mut share = HANDLING_SHARE;
        for co in self.case.co_departments.clone() {
            let after = (window as f64 * self.rng.gen_range(0.1..0.5)) as Millis;
            let note = pick_text(self.rng, &PART_NOTES);
            let evidence = self.media.take(1);
            let department = usize::try_from(co - 1).expect("department ids start at 1");
            self.act(after, Who::Department(department), Command::ReportPart { note, evidence })?;
        }
        if self.rng.gen_bool(EXTENSION) {
            let after = ((deadline - self.t).max(HOUR) as f64 * self.rng.gen_range(0.3..0.8)) as Millis;
            self.wait(after)?;
            let more = (window as f64 * self.rng.gen_range(0.5..1.5)) as Millis + HOUR;
            let until = (self.t.max(deadline) + more).div_euclid(HOUR) * HOUR + HOUR;
            let reason = pick_text(self.rng, &EXTENSION_REASONS);
            self.apply(Who::Lead, Command::RequestExtension { until, reason });
            let after = lognormal(self.rng, 90 * MINUTE, 0.7);
            if self.rng.gen_bool(EXTENSION_APPROVED) {
                let note = Some("同意延期，请在新的时限内办结。".to_string());
                self.act(after, Who::Dispatcher, Command::ApproveExtension { note })?;
                deadline = until;
            } else {
                let reason = pick_text(self.rng, &DENY_REASONS);
                self.act(after, Who::Dispatcher, Command::DenyExtension { reason })?;
                share = 0.9;
            }
        }
        self.checkpoint(Stage::Submit)?;
        let taken = spread(self.rng, share, HANDLING_SPREAD) * (deadline - dispatched) as f64;
        let finish = (dispatched + taken as Millis).max(self.t + 15 * MINUTE);
        if finish > deadline {
            self.supervise(deadline, finish)?;
        }
        self.wait(finish - self.t)?;
        self.submit();
        Some(())
    }

    fn submit(&mut self) {
        let note = pick_text(self.rng, &RESULT_NOTES);
        let n = self.rng.gen_range(1..=3);
        let evidence = self.media.take(n);
        self.apply(Who::Lead, Command::SubmitResult { note, evidence });
    }

    /// A grid member checks the result on site; a failed check sends it back once.
    fn verify(&mut self) -> Option<()> {
        let mut failed = false;
        loop {
            self.checkpoint(Stage::Verify)?;
            let after = lognormal(self.rng, self.case.urgency.verify_within() * 3 / 10, 0.75);
            let evidence = self.media.take(1);
            if failed || !self.rng.gen_bool(REWORK) {
                let verify = Command::Verify { passed: true, note: None, evidence };
                return self.act(after, Who::GridMember, verify);
            }
            let note = Some(pick_text(self.rng, &REWORK_NOTES));
            let verify = Command::Verify { passed: false, note, evidence };
            self.act(after, Who::GridMember, verify)?;
            failed = true;
            let window = self.case.handle_within.unwrap_or(DAY);
            let redo = lognormal(self.rng, window / 5, 0.6).max(HOUR);
            self.wait(redo)?;
            self.submit();
        }
    }

    /// The reporter (a resident) rates most closed cases; an unhappy rating, or now and then a
    /// return visit, makes the supervisor reopen it once.
    fn rate_or_reopen(&mut self, reopened: bool) -> Option<()> {
        let mut unhappy = false;
        if matches!(self.plan.intake, Intake::Resident(_)) && self.rng.gen_bool(RATED) {
            let score = self.score();
            let comments: &[&str] = match score {
                5 => &GOOD_COMMENTS,
                3 | 4 => &FAIR_COMMENTS,
                _ => &POOR_COMMENTS,
            };
            let comment = self.rng.gen_bool(0.5).then(|| pick_text(self.rng, comments));
            let after = lognormal(self.rng, 6 * HOUR, 1.0);
            self.act(after, Who::Reporter, Command::Rate { score, comment })?;
            unhappy = score <= 2 && self.rng.gen_bool(UNHAPPY_REOPENED);
        }
        if reopened || !(unhappy || self.rng.gen_bool(REOPENED)) {
            return Some(());
        }
        let after = lognormal(self.rng, 2 * DAY, 0.5);
        let reason = pick_text(self.rng, &REOPEN_REASONS);
        self.act(after, Who::Supervisor, Command::Reopen { reason })?;
        self.handle(true)
    }

    /// A score from 1 to 5: mostly 5, lower when the case ran late, was reworked or returned.
    fn score(&mut self) -> u8 {
        let c = &self.case;
        let late = matches!((c.resolved_at, c.handle_by), (Some(r), Some(d)) if r > d);
        let troubled = late || c.reworks > 0 || c.returns > 0;
        let odds: [f64; 5] = if troubled { [0.35, 0.25, 0.2, 0.12, 0.08] } else { [0.74, 0.17, 0.05, 0.025, 0.015] };
        let mut x: f64 = self.rng.gen();
        for (score, p) in (1..=5).rev().zip(odds) {
            if x < p {
                return score;
            }
            x -= p;
        }
        1
    }

    /// Stops the story when the plan stalls it before `stage`; a supervisor then chases the case
    /// once its clock has run out.
    fn checkpoint(&mut self, stage: Stage) -> Option<()> {
        if self.plan.stall != Some(stage) {
            return Some(());
        }
        if let Some(due) = self.case.due_at {
            // Whether or not the order falls before `now`, the story stops here.
            self.supervise(due, self.world.now);
        }
        None
    }

    /// A supervision order some hours after `due` passed, if that comes before `before`.
    fn supervise(&mut self, due: Millis, before: Millis) -> Option<()> {
        let at = (due + lognormal(self.rng, 4 * HOUR, 0.7)).max(self.t + MINUTE);
        if at >= before {
            return Some(());
        }
        self.wait(at - self.t)?;
        let note = match self.case.state {
            CaseState::Reported | CaseState::Accepted => "该案件超时未派遣，请联动中心立即处理。".to_string(),
            CaseState::Resolved => "该案件超时未核查，请网格员尽快到现场核查。".to_string(),
            CaseState::Verified => "该案件已核查通过，请及时结案。".to_string(),
            _ => {
                let lead = self
                    .case
                    .lead_department
                    .and_then(|d| self.world.org.departments.get(usize::try_from(d - 1).ok()?))
                    .map_or("承办单位", |d| d.name.as_str());
                format!("该案件已超过处置时限，请{lead}于24小时内处置完毕并反馈。")
            }
        };
        let deadline = Some(self.t + DAY);
        self.apply(Who::Supervisor, Command::Supervise { note, deadline });
        Some(())
    }

    /// Moves the clock on by `after` (at least a minute, to the second); `None` if that passes
    /// `now`.
    fn wait(&mut self, after: Millis) -> Option<()> {
        let t = self.t + after.max(MINUTE);
        let t = t - t.rem_euclid(1000);
        (t <= self.world.now).then(|| self.t = t)
    }

    fn act(&mut self, after: Millis, who: Who, cmd: Command) -> Option<()> {
        self.wait(after)?;
        self.apply(who, cmd);
        Some(())
    }

    /// Takes a step now through the state machine.
    fn apply(&mut self, who: Who, cmd: Command) {
        let actor = self.actor(who);
        let decision =
            decide(&self.case, actor, cmd, self.t).expect("the demo only takes steps the state machine allows");
        self.case = decision.case;
        self.events.push(decision.event);
    }

    fn actor(&mut self, who: Who) -> &'a Actor {
        let world = self.world;
        let roster = world.roster;
        let grid = || self.plan.grid.expect("a case handled in the town lies in a grid");
        let id = match who {
            Who::Dispatcher => roster.dispatchers[shift(self.t)],
            Who::Supervisor => roster.supervisor,
            Who::Lead => {
                let lead = self.case.lead_department.expect("the case has a lead department");
                let d = usize::try_from(lead - 1).expect("department ids start at 1");
                self.department_person(d)
            }
            Who::Department(d) => self.department_person(d),
            Who::GridMember => pick(self.rng, &roster.members[grid()]),
            Who::GridLeader => roster.leaders[world.town.grids[grid()].community],
            Who::Reporter => self.case.reporter.expect("a rated case has a reporter"),
        };
        roster.actor(id)
    }

    fn department_person(&mut self, d: usize) -> PersonId {
        let roster = self.world.roster;
        if self.rng.gen_bool(0.1) {
            roster.heads[d]
        } else {
            roster.staff[d]
        }
    }
}
