//! The demo town's field inspections: fire-safety check lists for the three small kinds of
//! places (三小场所), a safety check list for rental houses and one for enterprises; the plan
//! (high risk monthly, medium quarterly, low twice a year or yearly); and a year of inspections
//! by the grid members of each place's grid, lived through the store and the state machine as
//! they would have happened: failures open hazard cases, the departments sign and report their
//! rectification (most on time, some late, some never), a follow-up inspection a few hours to
//! days after the reported rectification (or after the deadline, when none came) judges each
//! hazard, and the newest hazards are still open.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gridkeeper_domain::inspections::{
    next_due, rectify_by, ChecklistDraft, ChecklistItem, InspectionKind, ItemResult, Outcome, PlanRule, Severity,
    SubjectKind,
};
use gridkeeper_domain::registry::RiskLevel;
use gridkeeper_domain::{
    decide_on, find_hazard, Actor, Calendar, Case, CaseState, Command, FoundHazard, Millis, PersonId, RegionCode, Role,
    Scope, Source, HOUR,
};
use gridkeeper_store::{Found, NewInspection, Rechecked, Store, Subject};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{DemoTown, LoadError};

const DAY: Millis = 24 * HOUR;

/// Code, text, English text, severity, photo on failure, days to rectify, hazard category, and
/// how often the item fails in the demo (per thousand inspections).
pub(crate) type Item = (&'static str, &'static str, &'static str, Severity, bool, u16, &'static str, u32);

const FIRE: [Item; 8] = [
    (
        "F01",
        "安全出口、疏散通道畅通，未被占用、堵塞、封闭",
        "Exits and escape routes clear, not blocked or locked",
        Severity::Critical,
        true,
        3,
        "H0101",
        40,
    ),
    (
        "F02",
        "灭火器配置数量足够，在有效期内，压力正常",
        "Enough extinguishers, in date, pressure normal",
        Severity::Major,
        true,
        5,
        "H0101",
        60,
    ),
    (
        "F03",
        "未在经营场所内住人（“三合一”）",
        "Nobody lives in the business premises (\"three in one\")",
        Severity::Critical,
        true,
        7,
        "H0101",
        25,
    ),
    (
        "F04",
        "电线无私拉乱接，无超负荷用电",
        "No improvised wiring, no overloaded circuits",
        Severity::Major,
        true,
        5,
        "H0103",
        50,
    ),
    ("F05", "电动车未在室内停放、充电", "No e-bike parked or charged indoors", Severity::Major, false, 3, "H0101", 45),
    (
        "F06",
        "燃气瓶存放符合规定，安装燃气泄漏报警器",
        "Gas bottles stored as required, a gas alarm fitted",
        Severity::Major,
        true,
        5,
        "H0102",
        30,
    ),
    (
        "F07",
        "应急照明、疏散指示标志完好有效",
        "Emergency lights and exit signs working",
        Severity::Minor,
        false,
        10,
        "H0101",
        35,
    ),
    (
        "F08",
        "从业人员会报警、会使用灭火器、会组织疏散",
        "Staff can call 119, use an extinguisher, lead an evacuation",
        Severity::Minor,
        false,
        15,
        "H0101",
        20,
    ),
];

const RENTAL: [Item; 7] = [
    (
        "R01",
        "租住人员信息已登记，与实际居住一致",
        "Tenants registered as they actually live",
        Severity::Major,
        false,
        7,
        "H0105",
        50,
    ),
    (
        "R02",
        "无群租，人均居住面积不低于规定",
        "Not overcrowded: floor space per person as required",
        Severity::Critical,
        true,
        10,
        "H0105",
        15,
    ),
    (
        "R03",
        "电线无私拉乱接，无“飞线”充电",
        "No improvised wiring, no cable hung out to charge e-bikes",
        Severity::Major,
        true,
        5,
        "H0103",
        40,
    ),
    (
        "R04",
        "每层配置灭火器，疏散楼梯畅通",
        "An extinguisher on every floor, stairs clear",
        Severity::Major,
        true,
        5,
        "H0101",
        45,
    ),
    ("R05", "燃气使用安全，软管未老化", "Gas used safely, hoses not perished", Severity::Major, true, 5, "H0102", 25),
    (
        "R06",
        "房屋结构无明显开裂、沉降",
        "No visible cracks or settling in the structure",
        Severity::Critical,
        true,
        15,
        "H0104",
        8,
    ),
    (
        "R07",
        "出租人签订治安责任书",
        "Landlord signed the security responsibility pledge",
        Severity::Minor,
        false,
        15,
        "H0105",
        30,
    ),
];

const ENTERPRISE: [Item; 6] = [
    (
        "E01",
        "安全生产责任制和操作规程上墙",
        "Safety responsibilities and procedures posted",
        Severity::Minor,
        false,
        15,
        "H0101",
        30,
    ),
    (
        "E02",
        "消防设施完好，消防通道畅通",
        "Fire equipment working, fire lanes clear",
        Severity::Critical,
        true,
        5,
        "H0101",
        35,
    ),
    (
        "E03",
        "危险化学品分类存放、台账齐全",
        "Hazardous chemicals stored apart, with their records",
        Severity::Critical,
        true,
        7,
        "H0101",
        20,
    ),
    (
        "E04",
        "配电设施规范，无违规用电",
        "Switchgear as required, no unsafe power use",
        Severity::Major,
        true,
        5,
        "H0103",
        35,
    ),
    (
        "E05",
        "厂房无违章搭建、结构安全",
        "No illegal additions, structure sound",
        Severity::Major,
        true,
        15,
        "H0104",
        12,
    ),
    (
        "E06",
        "员工宿舍与生产区分隔",
        "Staff dormitory separated from production",
        Severity::Critical,
        true,
        10,
        "H0101",
        15,
    ),
];

fn draft(name: &str, name_en: &str, subject: SubjectKind, kind: &str, items: &[Item]) -> ChecklistDraft {
    ChecklistDraft {
        name: name.into(),
        name_en: name_en.into(),
        subject,
        kind: kind.into(),
        items: items
            .iter()
            .map(|&(code, text, text_en, severity, photo_on_fail, rectify_days, category, _)| ChecklistItem {
                code: code.into(),
                text: text.into(),
                text_en: text_en.into(),
                severity,
                photo_on_fail,
                rectify_days,
                category: category.into(),
            })
            .collect(),
    }
}

/// The check lists of the demo: per kind, with how often each item fails.
pub(crate) fn checklists() -> Vec<(ChecklistDraft, &'static [Item])> {
    let fire =
        |kind: &str, name: &str, name_en: &str| (draft(name, name_en, SubjectKind::Place, kind, &FIRE), &FIRE[..]);
    vec![
        fire("shop", "小商店消防安全检查表", "Fire safety check of a small shop"),
        fire("workshop", "小作坊消防安全检查表", "Fire safety check of a small workshop"),
        fire("venue", "小娱乐场所消防安全检查表", "Fire safety check of a small entertainment venue"),
        fire("restaurant", "餐饮店消防安全检查表", "Fire safety check of a restaurant"),
        (
            draft(
                "企业安全生产检查表",
                "Work safety check of an enterprise",
                SubjectKind::Place,
                "enterprise",
                &ENTERPRISE,
            ),
            &ENTERPRISE[..],
        ),
        (
            draft("出租房屋安全检查表", "Safety check of a rental house", SubjectKind::House, "rental", &RENTAL),
            &RENTAL[..],
        ),
    ]
}

/// The plan: every kind with a check list, by risk.
pub(crate) fn plan() -> Vec<PlanRule> {
    let mut rules = Vec::new();
    for (d, _) in checklists() {
        for (risk, every_days) in [(RiskLevel::High, 30), (RiskLevel::Medium, 90), (RiskLevel::Low, 180)] {
            rules.push(PlanRule { subject: d.subject, kind: d.kind.clone(), risk, every_days });
        }
    }
    rules
}

/// The grid members of each grid, a staff member of each department, and everyone as an actor.
pub(crate) struct Crew {
    pub(crate) members: BTreeMap<RegionCode, Vec<PersonId>>,
    pub(crate) staff: HashMap<i64, PersonId>,
    pub(crate) actors: Vec<Actor>,
}

pub(crate) fn people(town: &DemoTown) -> Crew {
    let mut members: BTreeMap<RegionCode, Vec<PersonId>> = BTreeMap::new();
    let mut staff = HashMap::new();
    let mut actors = Vec::new();
    for (i, p) in town.people.iter().enumerate() {
        let id = i as PersonId + 1;
        actors.push(Actor::person(id, p.person.grants.clone()));
        for g in &p.person.grants {
            match (&g.role, &g.scope) {
                (Role::GridMember, Scope::Region { code }) => members.entry(code.clone()).or_default().push(id),
                (Role::DepartmentStaff, Scope::Department { id: d }) => {
                    staff.entry(*d).or_insert(id);
                }
                _ => {}
            }
        }
    }
    Crew { members, staff, actors }
}

/// The year of `at` in China Standard Time (the case references' year).
fn local_year(at: Millis) -> i32 {
    chrono::DateTime::from_timestamp_millis(at + 8 * HOUR).map_or(2026, |t| chrono::Datelike::year(&t))
}

/// What happens next to one subject.
enum Step {
    Inspect,
    Sign(usize),
    Submit(usize),
}

/// An open hazard of the simulation: its case as the store has it, its item.
struct Open {
    case: Case,
    item: &'static str,
    resolved: bool,
}

/// Loads the demo's check lists, plan and a year of inspections (after the registry and cases).
pub async fn load_inspections(store: &dyn Store, town: &DemoTown, now: Millis) -> Result<usize, LoadError> {
    let mut rng = StdRng::seed_from_u64(town.seed ^ 0x001a_5ec7);
    let admin = town
        .people
        .iter()
        .position(|p| p.person.grants.iter().any(|g| g.role == Role::Admin))
        .map(|i| i as PersonId + 1);
    let mut lists = HashMap::new();
    for (d, items) in checklists() {
        let saved = store.save_checklist(None, &d, admin, now - 400 * DAY).await?;
        lists.insert((d.subject, d.kind.clone()), (saved, items));
    }
    let calendars: HashMap<String, Calendar> = store.calendars().await?.into_iter().collect();
    store.set_inspection_plan(&plan(), &calendars).await?;
    // The running campaign (campaigns.rs): started before the year's inspections, which count for it.
    let in_force = lists.iter().map(|((s, k), (c, _))| (format!("{}:{k}", s.as_str()), c.id)).collect();
    let campaign = crate::campaigns::load_campaign(store, town, now, &in_force).await?;
    let district = town.reference.regions[0].code.clone();
    let subjects: Vec<Subject> =
        store.due_inspections(&[district], i64::MAX, 100_000).await?.into_iter().map(|d| d.subject).collect();
    let rules = plan();
    let Crew { members, staff, actors } = people(town);
    let actor = |id: PersonId| &actors[id as usize - 1];
    let wall = Calendar::wall_clock();
    let categories = &town.reference.categories;
    let departments = &town.reference.departments;
    let mut written = 0;
    let mut photo = 0;
    for s in subjects {
        let Some((list, items)) = lists.get(&(s.subject, s.kind.clone())) else { continue };
        let Some(rule) = rules.iter().find(|r| r.subject == s.subject && r.kind == s.kind && r.risk == s.risk) else {
            continue;
        };
        let Some(inspectors) = members.get(&s.grid) else { continue };
        let cal = calendars.get(s.grid.district()).unwrap_or(&wall);
        let every = i64::from(rule.every_days) * DAY;
        // The year's visits, oldest first: the first within one period of a year ago.
        let mut queue: BTreeMap<Millis, Vec<Step>> = BTreeMap::new();
        let start = (now - 365 * DAY).max(s.registered_at) + rng.gen_range(0..every);
        let mut t = start;
        while t < now - HOUR {
            let hour = rng.gen_range(9..17) * HOUR;
            queue.entry(t - t.rem_euclid(DAY) + hour - 8 * HOUR).or_default().push(Step::Inspect);
            // Mostly before the plan's due date, now and then a few days late.
            t += every + rng.gen_range(-(every / 6)..=every / 12);
        }
        let mut open: Vec<Open> = Vec::new();
        while let Some((at, steps)) = queue.pop_first() {
            if at >= now {
                break;
            }
            for step in steps {
                match step {
                    Step::Sign(h) | Step::Submit(h) if open[h].case.state.is_open() => {
                        let o = &mut open[h];
                        let Some(dept) = o.case.lead_department else { continue };
                        let Some(&who) = staff.get(&dept) else { continue };
                        let cmd = match step {
                            Step::Sign(_) if o.case.state == CaseState::Dispatched => Command::Sign,
                            Step::Submit(_) if o.case.state == CaseState::InProgress => {
                                photo += 1;
                                Command::SubmitResult {
                                    note: "已督促经营者（房东）整改，现场复查整改到位".into(),
                                    evidence: vec![format!("demo-hazard-{photo}")],
                                }
                            }
                            _ => continue,
                        };
                        let d = decide_on(&o.case, actor(who), cmd, at, cal)
                            .map_err(|e| LoadError::Refused(e.to_string()))?;
                        o.case = store.apply(&d, &[]).await?;
                        o.resolved |= o.case.state == CaseState::Resolved;
                    }
                    Step::Sign(_) | Step::Submit(_) => {}
                    Step::Inspect => {
                        let inspector = inspectors[rng.gen_range(0..inspectors.len())];
                        let who = actor(inspector);
                        let judged: BTreeSet<&str> =
                            open.iter().filter(|o| o.case.state.is_open()).map(|o| o.item).collect();
                        let mut results = Vec::new();
                        for &(code, text, _, _, _, _, _, per_mille) in items.iter() {
                            let outcome = if judged.contains(code) {
                                let o = open.iter().find(|o| o.item == code && o.case.state.is_open());
                                let fixed = if o.is_some_and(|o| o.resolved) { 0.9 } else { 0.55 };
                                if rng.gen_bool(fixed) {
                                    Outcome::Pass
                                } else {
                                    Outcome::Fail
                                }
                            } else if rng.gen_range(0..1000) < per_mille {
                                Outcome::Fail
                            } else if rng.gen_range(0..100) < 3 {
                                Outcome::NotApplicable
                            } else {
                                Outcome::Pass
                            };
                            let note = (outcome == Outcome::Fail)
                                .then(|| format!("现场发现：{}不符合要求", text.split('，').next().unwrap_or(text)));
                            results.push(ItemResult { item: code.into(), outcome, note, photos: vec![] });
                        }
                        let mut found = Vec::new();
                        let mut rechecked = Vec::new();
                        for (r, item) in results.iter().zip(list.items.iter()) {
                            let prior = open.iter().position(|o| o.item == item.code && o.case.state.is_open());
                            match (prior, r.outcome) {
                                (None, Outcome::Fail) => {
                                    let Some(category) = categories.iter().find(|c| c.code == item.category) else {
                                        continue;
                                    };
                                    let Some(department) = category
                                        .default_department
                                        .and_then(|d| departments.iter().find(|x| x.id == d))
                                    else {
                                        continue;
                                    };
                                    photo += 1;
                                    let h = FoundHazard {
                                        district: s.grid.district().to_string(),
                                        grid: s.grid.clone(),
                                        location: s.location,
                                        address: Some(s.address.clone()),
                                        description: format!(
                                            "{}（{}）{}：{}",
                                            s.name,
                                            item.code,
                                            item.text,
                                            r.note.clone().unwrap_or_default()
                                        ),
                                        category: category.clone(),
                                        department: department.clone(),
                                        deadline: rectify_by(cal, at, item),
                                        photos: vec![format!("demo-hazard-{photo}")],
                                        item: item.code.clone(),
                                        subject: serde_json::json!({ s.subject.as_str(): s.id, "checklist": list.id.0 }),
                                        source: Source::GridMember,
                                    };
                                    let d = find_hazard(who, h, at).map_err(|e| LoadError::Refused(e.to_string()))?;
                                    found.push((item.code.clone(), item.severity, d, rectify_by(cal, at, item)));
                                }
                                (Some(o), Outcome::Pass | Outcome::Fail) => {
                                    let cmd = Command::Reinspect {
                                        passed: r.outcome == Outcome::Pass,
                                        note: r.note.clone(),
                                        evidence: vec![],
                                    };
                                    let d = decide_on(&open[o].case, who, cmd, at, cal)
                                        .map_err(|e| LoadError::Refused(e.to_string()))?;
                                    rechecked.push((o, item.code.clone(), d));
                                }
                                _ => {}
                            }
                        }
                        let next = next_due(cal, Some(at), s.registered_at, rule.every_days);
                        let ins = NewInspection {
                            subject: s.subject,
                            subject_id: s.id,
                            grid: s.grid.clone(),
                            checklist_id: list.id,
                            version: list.version,
                            kind: InspectionKind::Routine,
                            inspector,
                            at,
                            location: Some(s.location),
                            accuracy_m: Some(f64::from(rng.gen_range(5..30))),
                            distance_m: Some(f64::from(rng.gen_range(0..40))),
                            far: false,
                            note: None,
                            client_key: None,
                            spot_check: None,
                            results,
                        };
                        let opened: Vec<Found> = found
                            .iter()
                            .map(|(item, severity, d, _)| Found { item, severity: *severity, decision: d, photos: &[] })
                            .collect();
                        let judged: Vec<Rechecked> =
                            rechecked.iter().map(|(_, item, d)| Rechecked { item, decision: d, photos: &[] }).collect();
                        let (_, cases) =
                            store.record_inspection(&ins, &opened, &judged, local_year(at), Some(next)).await?;
                        written += 1;
                        let (new, again) = cases.split_at(opened.len());
                        for (c, (o, _, _)) in again.iter().zip(&rechecked) {
                            open[*o].case = c.clone();
                            if c.state.is_open() {
                                // Not put right: another look a week later.
                                queue.entry(at + 7 * DAY).or_default().push(Step::Inspect);
                            }
                        }
                        for (c, (item, _, _, deadline)) in new.iter().zip(&found) {
                            let h = open.len();
                            let item = items.iter().find(|i| i.0 == item.as_str()).map_or("", |i| i.0);
                            open.push(Open { case: c.clone(), item, resolved: false });
                            queue.entry(at + rng.gen_range(2..20) * HOUR).or_default().push(Step::Sign(h));
                            // Most departments report the rectification before the deadline.
                            let span = (deadline - at).max(DAY);
                            let done = at + span * rng.gen_range(30..130) / 100;
                            if rng.gen_range(0..10) < 8 {
                                queue.entry(done).or_default().push(Step::Submit(h));
                                // The grid member looks again once told it is put right, within
                                // a few days: often before the deadline, sometimes after.
                                queue.entry(done + rng.gen_range(4..72) * HOUR).or_default().push(Step::Inspect);
                            } else {
                                queue.entry(deadline + rng.gen_range(1..4) * DAY).or_default().push(Step::Inspect);
                            }
                        }
                    }
                }
            }
        }
    }
    written += self_inspections(store, town, &lists, &members, &actors, &calendars, &mut rng, now).await?;
    // The campaign's own round: about half its places not inspected since it began.
    written += crate::campaigns::inspect_for_campaign(store, town, now, campaign).await?;
    Ok(written)
}

/// The social units' self-inspections of their places every month of the last four, a fifth of
/// them spot-checked by a grid member a few days later — most agreeing, some finding an item the
/// unit passed wrong.
#[allow(clippy::too_many_arguments)] // the simulation's state, passed once
async fn self_inspections(
    store: &dyn Store,
    town: &DemoTown,
    lists: &HashMap<(SubjectKind, String), (gridkeeper_store::Checklist, &'static [Item])>,
    members: &BTreeMap<RegionCode, Vec<PersonId>>,
    actors: &[Actor],
    calendars: &HashMap<String, Calendar>,
    rng: &mut StdRng,
    now: Millis,
) -> Result<usize, LoadError> {
    let wall = Calendar::wall_clock();
    let mut written = 0;
    for (i, p) in town.people.iter().enumerate() {
        let unit = i as PersonId + 1;
        let places = p.person.grants.iter().filter_map(|g| match (g.role, &g.scope) {
            (Role::SocialUnit, Scope::Place { id }) => Some(*id),
            _ => None,
        });
        for place in places.collect::<Vec<_>>() {
            let Some(s) = store.subject(SubjectKind::Place, place).await? else { continue };
            let Some((list, items)) = lists.get(&(SubjectKind::Place, s.kind.clone())) else { continue };
            let Some(inspectors) = members.get(&s.grid) else { continue };
            let cal = calendars.get(s.grid.district()).unwrap_or(&wall);
            for month in (1..=4).rev() {
                let at = now - month * 30 * DAY + rng.gen_range(0..5) * DAY;
                let passed = |_: &str| Outcome::Pass;
                let results: Vec<ItemResult> = items
                    .iter()
                    .map(|i| ItemResult { item: i.0.into(), outcome: passed(i.0), note: None, photos: vec![] })
                    .collect();
                let ins = |kind, inspector, at, results: Vec<ItemResult>, spot_check| NewInspection {
                    subject: s.subject,
                    subject_id: s.id,
                    grid: s.grid.clone(),
                    checklist_id: list.id,
                    version: list.version,
                    kind,
                    inspector,
                    at,
                    location: Some(s.location),
                    accuracy_m: Some(10.0),
                    distance_m: Some(5.0),
                    far: false,
                    note: None,
                    client_key: None,
                    spot_check,
                    results,
                };
                let spot_due = cal.end_of_working_days(at, 10);
                let (own, _) = store
                    .record_inspection(
                        &ins(InspectionKind::SelfInspection, unit, at, results.clone(), Some((20, spot_due))),
                        &[],
                        &[],
                        local_year(at),
                        None,
                    )
                    .await?;
                written += 1;
                let picked = store.spot_checks_of(s.subject, s.id).await?.iter().any(|k| k.self_inspection == own.id);
                let when = at + rng.gen_range(2..8) * DAY;
                if !picked || when >= now {
                    continue;
                }
                // The grid member's spot check: now and then an item the unit passed is wrong —
                // noted (no hazard is opened twice: an item with an open hazard is left as passed).
                let open: BTreeSet<String> = store
                    .hazards_of(s.subject, s.id)
                    .await?
                    .into_iter()
                    .filter(|h| h.state.is_open())
                    .map(|h| h.item)
                    .collect();
                let mut checked = results.clone();
                let wrong = items.iter().position(|i| !open.contains(i.0)).filter(|_| rng.gen_bool(0.4));
                let inspector = inspectors[rng.gen_range(0..inspectors.len())];
                let mut found = Vec::new();
                if let Some(w) = wrong {
                    let item = &list.items[w];
                    checked[w] = ItemResult {
                        item: item.code.clone(),
                        outcome: Outcome::Fail,
                        note: Some("抽查发现与自查不符：现场不符合要求".into()),
                        photos: vec![],
                    };
                    let category = town.reference.categories.iter().find(|c| c.code == item.category);
                    let department = category
                        .and_then(|c| c.default_department)
                        .and_then(|d| town.reference.departments.iter().find(|x| x.id == d));
                    if let (Some(category), Some(department)) = (category, department) {
                        let h = FoundHazard {
                            district: s.grid.district().to_string(),
                            grid: s.grid.clone(),
                            location: s.location,
                            address: Some(s.address.clone()),
                            description: format!("{}（{}）{}：抽查发现与自查不符", s.name, item.code, item.text),
                            category: category.clone(),
                            department: department.clone(),
                            deadline: rectify_by(cal, when, item),
                            photos: vec![],
                            item: item.code.clone(),
                            subject: serde_json::json!({ "place": s.id, "checklist": list.id.0 }),
                            source: Source::GridMember,
                        };
                        let d = find_hazard(&actors[inspector as usize - 1], h, when)
                            .map_err(|e| LoadError::Refused(e.to_string()))?;
                        found.push((item.code.clone(), item.severity, d));
                    }
                }
                let opened: Vec<Found> = found
                    .iter()
                    .map(|(item, severity, d)| Found { item, severity: *severity, decision: d, photos: &[] })
                    .collect();
                store
                    .record_inspection(
                        &ins(InspectionKind::SpotCheck, inspector, when, checked, None),
                        &opened,
                        &[],
                        local_year(when),
                        None,
                    )
                    .await?;
                written += 1;
            }
        }
    }
    Ok(written)
}
