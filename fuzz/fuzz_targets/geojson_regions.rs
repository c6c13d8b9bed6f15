//! The GeoJSON region import: the bytes as the file of `gridkeeper import regions` /
//! `POST /api/v1/regions/import`, planned as a dry run against the fixture's stored regions by
//! the function both use (`gridkeeper_server::regions::import_regions`: `read_features`, `plan`,
//! the tree's validation and, when asked, its repair). The first byte picks the options.
//! Property: an answer (a plan or a field error), never a panic.
#![no_main]

use gridkeeper_domain::{RegionCode, RegionLevel};
use gridkeeper_geo::import::ImportOptions;
use gridkeeper_server::regions::{import_regions, import_scopes, ImportRequest};
use libfuzzer_sys::fuzz_target;

fn options(selector: u8) -> ImportOptions {
    let code = |c: &str| Some(RegionCode::parse(c).expect("a code"));
    let mut o = ImportOptions {
        level: RegionLevel::Grid,
        code_property: "code".into(),
        name_property: Some("name".into()),
        parent_property: None,
        under: None,
        under_name: None,
        repair: false,
        tolerances: Default::default(),
    };
    match selector % 4 {
        // Keys are region codes of the level.
        0 => {}
        // Keys are the source's own; codes allocated under a community.
        1 => o.under = code("330483101001"),
        // Grouped into new communities by a parent property, under the street.
        2 => {
            o.parent_property = Some("parent".into());
            o.under = code("330483101");
        }
        // As 1, repaired when invalid.
        _ => {
            o.under = code("330483101001");
            o.repair = true;
        }
    }
    o
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    // The endpoint refuses a body that is not UTF-8 before anything else; the CLI reads text.
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let options = options(selector);
    let f = gridkeeper_fuzz::fixture();
    if import_scopes(text, &options).is_err() {
        return;
    }
    let request = ImportRequest {
        text: text.to_string(),
        source: "fuzz".into(),
        options,
        dry_run: true,
        by: None,
        now: 1_767_225_600_000,
    };
    let outcome =
        f.rt.block_on(import_regions(f.app.store.as_ref(), request, Box::new(|_: &str, _: u64, _: u64| {})));
    if let Ok(outcome) = outcome {
        // The endpoint answers with the plan and its report as JSON.
        let _ = serde_json::to_string(&outcome);
    }
});
