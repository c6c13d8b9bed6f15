//! The CSV case import with its mapping (`gridkeeper import cases FILE --mapping MAP.toml`): the
//! input is a TOML mapping, a line `%%`, and the CSV file; without that line, all of it is the
//! CSV file and the mapping is the one below. Read by the code the command runs
//! (`gridkeeper::import`: the mapping resolved against the header row and the fixture's
//! reference data, each row parsed, located and lived through the state machine by the `import`
//! account); nothing is stored, as in a dry run. Property: each row is a case or a reason, never
//! a panic; an accepted row's events come after its report.
#![no_main]

use gridkeeper::import::{importer, CaseRows, Mapping};
use gridkeeper_domain::Actor;
use libfuzzer_sys::fuzz_target;

const MAPPING: &str = r#"
system = "fuzz"
utc_offset_hours = 8
time_format = "%Y-%m-%d %H:%M:%S"

[columns]
id = "id"
reported_at = "opened"
closed_at = "closed"
status = "status"
description = ["type", "details"]
address = "address"
lat = "lat"
lon = "lon"
category = "category"
department = "agency"
notes = "notes"
media_url = "media"
keep = ["source"]

[states]
new = "reported"
accepted = "accepted"
dispatched = "dispatched"
open = "in_progress"
resolved = "resolved"
verified = "verified"
closed = "closed"
dup = "rejected:duplicate"
bad = "rejected:invalid"

[categories]
manhole = "C0101"
light = "C0102"
vendor = "E0101"
"*" = "C0101"

[departments]
city = "D1"
power = "D2"
"#;

fn actor() -> &'static Actor {
    static ACTOR: std::sync::OnceLock<Actor> = std::sync::OnceLock::new();
    ACTOR.get_or_init(|| {
        let f = gridkeeper_fuzz::fixture();
        f.rt.block_on(importer(&*f.app.store, &f.app)).expect("the import account")
    })
}

fuzz_target!(|data: &[u8]| {
    let f = gridkeeper_fuzz::fixture();
    let actor = actor();
    let (mapping, csv) = match data.windows(4).position(|w| w == b"\n%%\n") {
        Some(at) => match std::str::from_utf8(&data[..at]).ok().and_then(|t| toml::from_str::<Mapping>(t).ok()) {
            Some(m) => (m, &data[at + 4..]),
            None => return,
        },
        None => (toml::from_str::<Mapping>(MAPPING).expect("the default mapping"), data),
    };
    let Ok(mut rows) = CaseRows::new(&f.app, mapping, csv) else { return };
    while let Some(row) = rows.next_row(&f.app, actor) {
        if let Ok((_, case, events)) = row.result {
            assert!(!events.is_empty(), "a case without events");
            assert!(events.iter().all(|e| e.at >= case.reported_at), "an event before the report");
            // The store writes the events as JSON (times as RFC 3339).
            serde_json::to_value(&events).expect("events serialise");
        }
    }
});
