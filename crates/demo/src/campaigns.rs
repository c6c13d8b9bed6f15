//! The demo town's running campaign (专项整治): the fire safety of the three small kinds of places
//! (三小场所) over the whole town, started by the linkage center three weeks ago and due in a
//! week. It is written before the year's inspections (`load_inspections`), so the planned
//! inspections of its places made since its start count for it through the store's own path;
//! then the campaign's own round ([`inspect_for_campaign`]) inspects more of them, after their
//! last inspection, until about half are done — the failures opening hazards, the older ones
//! signed for by the department, a few past their deadline. A random stream of its own keeps the
//! rest of the demo as it was.

use std::collections::{BTreeMap, HashMap};

use gridkeeper_domain::campaigns::{CampaignDraft, CampaignId};
use gridkeeper_domain::inspections::{next_due, rectify_by, ChecklistId, InspectionKind, ItemResult, Outcome};
use gridkeeper_domain::teams::local_date;
use gridkeeper_domain::{
    decide_on, find_hazard, Calendar, Command, FoundHazard, Millis, PersonId, RegionLevel, Role, Source, HOUR,
};
use gridkeeper_store::{Found, NewAudit, NewInspection, Rechecked, Store};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{DemoTown, LoadError};

const DAY: Millis = 24 * HOUR;

/// The campaign's name, as the demo's browser tests find it.
pub const NAME: &str = "三小场所消防安全专项整治";

/// Starts the demo's campaign; `checklists` are the check lists in force (`place:shop`, ...).
pub async fn load_campaign(
    store: &dyn Store,
    town: &DemoTown,
    now: Millis,
    checklists: &BTreeMap<String, ChecklistId>,
) -> Result<CampaignId, LoadError> {
    let refused = |e: gridkeeper_domain::FieldError| LoadError::Refused(e.to_string());
    let street = town
        .reference
        .regions
        .iter()
        .find(|r| r.code.level() == RegionLevel::Street)
        .ok_or_else(|| LoadError::Refused("the demo town has no street".into()))?
        .code
        .clone();
    let dispatcher = town
        .people
        .iter()
        .position(|p| p.person.grants.iter().any(|g| g.role == Role::Dispatcher))
        .map(|i| i as PersonId + 1);
    let started = now - 21 * DAY;
    let first = local_date(started);
    let kinds = ["shop", "workshop", "venue"];
    let draft = CampaignDraft::checked(
        NAME,
        street,
        first,
        first + chrono::Days::new(59),
        Some(first + chrono::Days::new(27)),
        kinds.iter().map(|k| k.to_string()).collect(),
        vec![],
        false,
        first,
    )
    .map_err(refused)?;
    let lists = kinds
        .iter()
        .filter_map(|k| checklists.get(&format!("place:{k}")).map(|id| (format!("place:{k}"), *id)))
        .collect();
    let audit = NewAudit {
        at: started,
        actor: dispatcher,
        action: "campaign".into(),
        object: None,
        detail: serde_json::json!({}),
    };
    Ok(store.create_campaign(&draft, &lists, &audit).await?.id)
}

/// The campaign's own round: each open task is inspected with a chance that brings the campaign
/// to about half done, at a working hour between its start (or the place's last inspection) and
/// now, by a grid member of its grid. Places with an open hazard wait for their re-inspection.
pub async fn inspect_for_campaign(
    store: &dyn Store,
    town: &DemoTown,
    now: Millis,
    campaign: CampaignId,
) -> Result<usize, LoadError> {
    let mut rng = StdRng::seed_from_u64(town.seed ^ 0xca3a_1617);
    let Some(c) = store.campaign(campaign).await? else { return Ok(0) };
    let tasks = store.open_campaign_tasks(std::slice::from_ref(&c.region), now, 100_000).await?;
    let want = (c.subjects / 2).saturating_sub(c.inspected) as usize;
    if tasks.is_empty() || want == 0 {
        return Ok(0);
    }
    let chance = (want as f64 / tasks.len() as f64).min(1.0);
    let items: HashMap<String, &'static [crate::inspections::Item]> =
        crate::inspections::checklists().into_iter().map(|(d, items)| (d.kind, items)).collect();
    let rules = crate::inspections::plan();
    let calendars: HashMap<String, Calendar> = store.calendars().await?.into_iter().collect();
    let wall = Calendar::wall_clock();
    let crew = crate::inspections::people(town);
    let (categories, departments) = (&town.reference.categories, &town.reference.departments);
    let mut written = 0;
    for task in tasks {
        if !rng.gen_bool(chance) {
            continue;
        }
        let s = &task.subject;
        let (Some(list), Some(odds)) = (store.checklist_for(s.subject, &s.kind).await?, items.get(&s.kind)) else {
            continue;
        };
        let Some(inspectors) = crew.members.get(&s.grid) else { continue };
        if store.hazards_of(s.subject, s.id).await?.iter().any(|h| h.state.is_open()) {
            continue;
        }
        let last = store.inspections_of(s.subject, s.id, 1).await?.first().map(|i| i.at);
        let from = last.map_or(c.starts_at, |l| l.max(c.starts_at)) + DAY;
        if from >= now - DAY {
            continue;
        }
        let day = rng.gen_range(from..now - DAY);
        let at = day - (day + 8 * HOUR).rem_euclid(DAY) + rng.gen_range(9..17) * HOUR;
        let inspector = inspectors[rng.gen_range(0..inspectors.len())];
        let who = &crew.actors[inspector as usize - 1];
        let cal = calendars.get(s.grid.district()).unwrap_or(&wall);
        let mut results = Vec::new();
        let mut found = Vec::new();
        for (item, &(code, text, _, _, _, _, _, per_mille)) in list.items.iter().zip(odds.iter()) {
            // A campaign looks harder than a routine round.
            let fails = rng.gen_range(0..1000) < per_mille * 2;
            let note =
                fails.then(|| format!("专项整治检查发现：{}不符合要求", text.split('，').next().unwrap_or(text)));
            results.push(ItemResult {
                item: code.into(),
                outcome: if fails { Outcome::Fail } else { Outcome::Pass },
                note: note.clone(),
                photos: vec![],
            });
            if !fails {
                continue;
            }
            let Some(category) = categories.iter().find(|x| x.code == item.category) else { continue };
            let Some(department) = category.default_department.and_then(|d| departments.iter().find(|x| x.id == d))
            else {
                continue;
            };
            let h = FoundHazard {
                district: s.grid.district().to_string(),
                grid: s.grid.clone(),
                location: s.location,
                address: Some(s.address.clone()),
                description: format!("{}（{}）{}：{}", s.name, item.code, item.text, note.unwrap_or_default()),
                category: category.clone(),
                department: department.clone(),
                deadline: rectify_by(cal, at, item),
                photos: vec![],
                item: item.code.clone(),
                subject: serde_json::json!({ s.subject.as_str(): s.id, "checklist": list.id.0 }),
                source: Source::GridMember,
            };
            let d = find_hazard(who, h, at).map_err(|e| LoadError::Refused(e.to_string()))?;
            found.push((item.code.clone(), item.severity, d));
        }
        let every = rules.iter().find(|r| r.subject == s.subject && r.kind == s.kind && r.risk == s.risk);
        let next = every.map(|r| next_due(cal, Some(at), s.registered_at, r.every_days));
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
            .map(|(item, severity, d)| Found { item, severity: *severity, decision: d, photos: &[] })
            .collect();
        let year = chrono::DateTime::from_timestamp_millis(at + 8 * HOUR).map_or(2026, |t| chrono::Datelike::year(&t));
        let (_, cases) = store.record_inspection(&ins, &opened, &[], year, next).await?;
        written += 1;
        // The department signs and reports most rectifications; a follow-up inspection after the
        // last deadline judges them (most put right), unless that day has not come yet.
        let mut open = Vec::new();
        let mut last_deadline = at;
        for case in cases {
            let Some(&staff) = case.lead_department.and_then(|d| crew.staff.get(&d)) else { continue };
            let dept = &crew.actors[staff as usize - 1];
            let deadline = case.handle_by.unwrap_or(at + 5 * DAY);
            last_deadline = last_deadline.max(deadline);
            let mut case = case;
            let signed = at + rng.gen_range(4..40) * HOUR;
            if signed < now - HOUR {
                let d = decide_on(&case, dept, Command::Sign, signed, cal)
                    .map_err(|e| LoadError::Refused(e.to_string()))?;
                case = store.apply(&d, &[]).await?;
                let done = signed + (deadline - signed).max(DAY) * rng.gen_range(30..110) / 100;
                if done < now - HOUR && rng.gen_range(0..10) < 8 {
                    let evidence = vec![format!("demo-campaign-{}", case.id)];
                    let cmd = Command::SubmitResult {
                        note: "已督促经营者整改，现场复查整改到位".into(), evidence
                    };
                    let d = decide_on(&case, dept, cmd, done, cal).map_err(|e| LoadError::Refused(e.to_string()))?;
                    case = store.apply(&d, &[]).await?;
                }
            }
            open.push(case);
        }
        let follow = last_deadline + rng.gen_range(1..4) * DAY;
        if open.is_empty() || follow >= now - HOUR {
            continue;
        }
        let item_of = |case: &gridkeeper_domain::Case| {
            list.items.iter().find(|i| case.description.contains(&format!("（{}）", i.code))).map(|i| i.code.clone())
        };
        let mut verdicts: HashMap<String, bool> = HashMap::new();
        for case in &open {
            if let Some(code) = item_of(case) {
                let fixed = case.state == gridkeeper_domain::CaseState::Resolved;
                verdicts.insert(code, rng.gen_bool(if fixed { 0.9 } else { 0.4 }));
            }
        }
        let mut judged = Vec::new();
        for case in &open {
            let Some(code) = item_of(case) else { continue };
            let passed = verdicts[&code];
            let cmd =
                Command::Reinspect {
                    passed, note: (!passed).then(|| "复查仍未整改".to_string()), evidence: vec![]
                };
            let d = decide_on(case, who, cmd, follow, cal).map_err(|e| LoadError::Refused(e.to_string()))?;
            judged.push((code, d));
        }
        let results = list
            .items
            .iter()
            .map(|i| {
                let failed = verdicts.get(&i.code) == Some(&false);
                ItemResult {
                    item: i.code.clone(),
                    outcome: if failed { Outcome::Fail } else { Outcome::Pass },
                    note: failed.then(|| "复查仍未整改".to_string()),
                    photos: vec![],
                }
            })
            .collect();
        let again = NewInspection { at: follow, results, ..ins };
        let rechecked: Vec<Rechecked> =
            judged.iter().map(|(item, d)| Rechecked { item, decision: d, photos: &[] }).collect();
        let next = every.map(|r| next_due(cal, Some(follow), s.registered_at, r.every_days));
        store.record_inspection(&again, &[], &rechecked, year, next).await?;
        written += 1;
    }
    Ok(written)
}
