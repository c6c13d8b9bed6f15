use gridkeeper_domain::*;
use std::collections::BTreeMap;
fn main() {
    let now: Millis = 1_782_871_200_000;
    let t = std::time::Instant::now();
    let demo = gridkeeper_demo::generate(2026, now, 30_000);
    println!("generate: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = gridkeeper_demo::generate(2026, now, 30_000);
    println!("generate again: {:?}", t.elapsed());
    println!(
        "regions {} platforms {} departments {} categories {} (subclasses {}) people {}",
        demo.reference.regions.len(),
        demo.reference.platforms.len(),
        demo.reference.departments.len(),
        demo.reference.categories.len(),
        demo.reference.categories.iter().filter(|c| c.parent_id.is_some()).count(),
        demo.people.len()
    );
    let mut states = BTreeMap::new();
    let mut actions = BTreeMap::new();
    let mut events = 0;
    let mut months = BTreeMap::new();
    let mut hours = [0; 24];
    let mut sources = BTreeMap::new();
    let mut rej = BTreeMap::new();
    let mut ratings = BTreeMap::new();
    let mut late = 0;
    let mut resolved = 0;
    let mut team = 0;
    let mut dispatched = 0;
    let mut overdue = 0;
    let mut stage_hours: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (c, e) in &demo.history {
        *states.entry(c.state.as_str()).or_insert(0) += 1;
        *sources.entry(c.source.as_str()).or_insert(0) += 1;
        if let Some(r) = c.rejection {
            *rej.entry(r.as_str()).or_insert(0) += 1;
        }
        if let Some(r) = c.rating {
            *ratings.entry(r).or_insert(0) += 1;
        }
        if c.is_overdue(now) {
            overdue += 1;
        }
        if let (Some(r), Some(h)) = (c.resolved_at, c.handle_by) {
            resolved += 1;
            if r > h {
                late += 1;
            }
        }
        if let Some(d) = c.lead_department {
            dispatched += 1;
            if demo.reference.departments[d as usize - 1].kind == DepartmentKind::CommunityTeam {
                team += 1;
            }
        }
        if let Some(a) = c.accepted_at {
            if !c.on_the_spot {
                stage_hours.entry("accept").or_default().push((a - c.reported_at) as f64 / 3.6e6);
            }
        }
        if let (Some(a), Some(d)) = (c.resolved_at, c.dispatched_at) {
            if !c.on_the_spot {
                stage_hours.entry("dispatch->resolve").or_default().push((a - d) as f64 / 3.6e6);
            }
        }
        if let Some(cl) = c.closed_at {
            stage_hours.entry("report->close").or_default().push((cl - c.reported_at) as f64 / 3.6e6);
        }
        events += e.len();
        for ev in e {
            *actions.entry(ev.action.as_str()).or_insert(0) += 1;
        }
        let local = chrono::DateTime::from_timestamp_millis(c.reported_at + 8 * HOUR).unwrap().naive_utc();
        *months.entry(local.format("%Y-%m").to_string()).or_insert(0) += 1;
        use chrono::Timelike;
        hours[local.hour() as usize] += 1;
    }
    println!("events {events} ({:.1}/case)", events as f64 / 30000.0);
    println!("states {states:?}\nactions {actions:?}\nsources {sources:?}\nrejections {rej:?}\nratings {ratings:?}");
    println!(
        "late {:.3} of {resolved}; team-led {:.3} of {dispatched}; overdue open {overdue}",
        late as f64 / resolved as f64,
        team as f64 / dispatched as f64
    );
    println!("months {months:?}\nhours {hours:?}");
    for (k, mut v) in stage_hours {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("{k}: median {:.2}h p90 {:.2}h", v[v.len() / 2], v[v.len() * 9 / 10]);
    }
    let (c, e) = demo.history.iter().find(|(c, e)| c.reopens > 0 && c.returns > 0 || e.len() > 14).unwrap();
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"case": c, "events": e})).unwrap());
    for p in demo.people.iter().step_by(23) {
        println!(
            "{} {} {:?} {} {:?}",
            p.person.login,
            p.person.name,
            p.person.phone,
            p.role_label,
            p.person.grants.iter().map(|g| g.scope.to_string()).collect::<Vec<_>>()
        );
    }
}
