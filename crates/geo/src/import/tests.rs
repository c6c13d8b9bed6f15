use geo::{BooleanOps, MultiPolygon};
use gridkeeper_domain::{Region, RegionCode, RegionLevel};
use serde_json::json;

use super::*;
use crate::synthetic::Province;

fn opts(under: &str) -> ImportOptions {
    ImportOptions {
        level: RegionLevel::Grid,
        code_property: "tract".into(),
        name_property: Some("label".into()),
        parent_property: Some("hood".into()),
        under: Some(RegionCode::parse(under).unwrap()),
        under_name: Some("Testville".into()),
        repair: false,
        tolerances: Tolerances::default(),
    }
}

/// A 4 × 3 tiling: tracts T00..T11 (row-major from the south-west), hoods "west" (columns 0–1)
/// and "east" (columns 2–3).
fn features() -> Vec<Feature> {
    Province { cols: 4, rows: 3, wiggle: 2, ..Province::square(0, 2) }
        .polygons()
        .into_iter()
        .enumerate()
        .map(|(i, (_, shape))| Feature {
            number: i + 1,
            key: format!("T{i:02}"),
            name: format!("Tract {i}"),
            parent: Some(if i % 4 < 2 { "west" } else { "east" }.into()),
            shape,
        })
        .collect()
}

fn noop() -> impl FnMut(&str, u64, u64) {
    |_: &str, _: u64, _: u64| {}
}

/// What the store would hold after writing the plan over `before`.
fn apply(before: &[Existing], plan: &Plan) -> Vec<Existing> {
    let mut out: BTreeMap<RegionCode, Existing> = before.iter().map(|e| (e.region.code.clone(), e.clone())).collect();
    for p in &plan.regions {
        out.insert(
            p.code.clone(),
            Existing {
                region: Region {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    name_en: None,
                    geometry: p.geometry.clone(),
                },
                key: p.key.clone(),
                derived: p.derived,
                retired: false,
            },
        );
    }
    for c in &plan.retire {
        out.get_mut(c).unwrap().retired = true;
    }
    out.into_values().collect()
}

#[test]
fn first_import_allocates_codes_in_reading_order_and_creates_parents() {
    let mut noop = noop();
    let plan = plan(features(), &[], &opts("990001001"), &mut noop).unwrap();
    assert!(plan.accepted(), "{:#?}", plan.report);
    assert_eq!(plan.summary, Summary { features: 12, created: 12, ..Default::default() });
    let codes: Vec<&str> = plan.regions.iter().map(|p| p.code.as_str()).collect();
    // District and street created (derived), two communities in order of their keys, 12 grids,
    // every parent before its children.
    assert_eq!(&codes[..3], ["990001", "990001001", "990001001001"]);
    assert_eq!(codes.len(), 2 + 2 + 12);
    for (i, c) in codes.iter().enumerate() {
        assert!(c.len() == 6 || codes[..i].contains(&&c[..c.len() - 3]), "{c}");
    }
    let hood = |code: &str| plan.regions.iter().find(|p| p.code.as_str() == code).unwrap();
    assert_eq!((hood("990001001001").name.as_str(), hood("990001001001").key.as_deref()), ("east", Some("east")));
    assert!(hood("990001001001").derived && hood("990001001").derived);
    assert_eq!(hood("990001001").name, "Testville");
    // "west" holds columns 0–1: numbered west→east in rows north→south, so row 2 comes first.
    let west = |n: usize| plan.codes[&format!("T{n:02}")].as_str().to_string();
    assert_eq!(
        [west(8), west(9), west(4), west(5), west(0), west(1)].map(|c| c[12..].to_string()),
        ["001", "002", "003", "004", "005", "006"]
    );
    assert!(west(8).starts_with("990001001002"));
    // A derived parent is the union of its children.
    let community: MultiPolygon<f64> = crate::parse_geometry(hood("990001001002").geometry.as_ref().unwrap()).unwrap();
    let t8 = &features()[8].shape;
    assert!(tree::area_m2(&t8.difference(&community)) < 1.0);
}

#[test]
fn importing_again_updates_in_place_retires_and_records_where_area_went() {
    let mut noop = noop();
    let first = plan(features(), &[], &opts("990001001"), &mut noop).unwrap();
    let stored = apply(&[], &first);
    // The same file again: nothing to write.
    let again = plan(features(), &stored, &opts("990001001"), &mut noop).unwrap();
    assert!(again.regions.is_empty() && again.retire.is_empty(), "{:#?}", again.regions);
    assert_eq!(again.summary.unchanged, 12);
    assert_eq!(again.codes, first.codes);

    // T05 is split in two along a vertical line (new keys T05a, T05b), T03 is renamed.
    let mut next = features();
    let t5 = next.iter().position(|f| f.key == "T05").unwrap();
    let old = next.remove(t5);
    let bb = geo::BoundingRect::bounding_rect(&old.shape).unwrap();
    let mid = (bb.min().x + bb.max().x) / 2.0;
    let left = MultiPolygon(vec![geo::Rect::new(bb.min(), geo::Coord { x: mid, y: bb.max().y }).to_polygon()]);
    for (key, part) in [("T05a", old.shape.intersection(&left)), ("T05b", old.shape.difference(&left))] {
        next.push(Feature { number: 99, key: key.into(), name: key.into(), parent: old.parent.clone(), shape: part });
    }
    next.iter_mut().find(|f| f.key == "T03").unwrap().name = "Renamed".into();
    let split = plan(next, &stored, &opts("990001001"), &mut noop).unwrap();
    assert!(split.accepted(), "{:#?}", split.report);
    let old_code = &first.codes["T05"];
    assert_eq!(split.retire, vec![old_code.clone()]);
    assert_eq!(split.summary, Summary { features: 13, created: 2, updated: 1, unchanged: 10, retired: 1 });
    // New codes continue the numbering; the retired one is not reused.
    let (a, b) = (&split.codes["T05a"], &split.codes["T05b"]);
    assert_eq!((a.as_str(), b.as_str()), ("990001001002007", "990001001002008"));
    let mut to: Vec<&str> = split.lineage.iter().filter(|l| &l.from == old_code).map(|l| l.to.as_str()).collect();
    to.sort();
    assert_eq!(to, [a.as_str(), b.as_str()]);
    let whole = tree::area_m2(&old.shape);
    let moved: f64 = split.lineage.iter().map(|l| l.area_m2).sum();
    assert!((moved - whole).abs() < 0.001 * whole, "{moved} of {whole}");
    assert!(split.regions.iter().any(|p| p.code == first.codes["T03"] && p.name == "Renamed" && !p.new));
}

#[test]
fn dropping_a_whole_parent_retires_it() {
    let mut noop = noop();
    let first = plan(features(), &[], &opts("990001001"), &mut noop).unwrap();
    let stored = apply(&[], &first);
    let west_only: Vec<Feature> = features().into_iter().filter(|f| f.parent.as_deref() == Some("west")).collect();
    let p = plan(west_only, &stored, &opts("990001001"), &mut noop).unwrap();
    assert_eq!(p.retire.len(), 7, "six grids and the east community: {:?}", p.retire);
    assert!(p.retire.iter().any(|c| c.as_str() == "990001001001"));
}

#[test]
fn region_codes_as_keys_are_used_as_they_are() {
    let mut noop = noop();
    let community = RegionCode::parse("330483101001").unwrap();
    let stored = vec![Existing {
        region: Region { code: community.clone(), name: "西栅社区".into(), name_en: None, geometry: None },
        key: None,
        derived: true,
        retired: false,
    }];
    let mut fs = features();
    fs.truncate(3);
    for (i, f) in fs.iter_mut().enumerate() {
        f.key = format!("330483101001{:03}", i + 1);
        f.parent = None;
    }
    let o = ImportOptions { parent_property: None, under: None, ..opts("990001001") };
    let p = plan(fs.clone(), &stored, &o, &mut noop).unwrap();
    assert!(p.accepted(), "{:#?}", p.report);
    assert_eq!(p.codes["330483101001002"].as_str(), "330483101001002");
    // The parent must exist.
    fs[0].key = "330483101009001".into();
    let err = plan(fs, &stored, &o, &mut noop).unwrap_err();
    assert!(err.reason.contains("330483101009 of 330483101009001 does not exist"), "{err}");
}

#[test]
fn overlaps_are_refused_unless_repaired() {
    let mut noop = noop();
    let mut fs = features();
    // T01 swallows part of T02.
    let t2 = fs[2].shape.clone();
    let grown = fs[1].shape.union(&geo::Scale::scale(&t2, 0.5));
    fs[1].shape = grown;
    let refused = plan(fs.clone(), &[], &opts("990001001"), &mut noop).unwrap();
    assert!(!refused.accepted());
    assert!(refused.report.issues.iter().any(|i| matches!(i, tree::Issue::Overlap { .. })), "{:#?}", refused.report);
    let o = ImportOptions { repair: true, ..opts("990001001") };
    let repaired = plan(fs, &[], &o, &mut noop).unwrap();
    assert!(repaired.accepted(), "{:#?}", repaired.report);
    assert!(!repaired.report.changes.is_empty());
}

#[test]
fn bad_files_and_options_name_the_field() {
    let mut noop = noop();
    let o = opts("990001001");
    let read = |v: serde_json::Value| read_features(&v.to_string(), &o, &mut |_: &str, _: u64, _: u64| {});
    let square = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]});
    let f = |props: serde_json::Value, g: &serde_json::Value| json!({"type": "Feature", "properties": props, "geometry": g});
    assert_eq!(read(json!({"type": "Feature"})).unwrap_err().field, "file");
    let e = read(json!({"type": "FeatureCollection", "features": [f(json!({"label": "a", "hood": "h"}), &square)]}))
        .unwrap_err();
    assert_eq!(e.field, "features[0].properties.tract");
    let e = read(json!({"type": "FeatureCollection", "features": [
        f(json!({"tract": 7, "label": "a", "hood": "h"}), &square), f(json!({"tract": "7", "label": "b", "hood": "h"}), &square)]}))
    .unwrap_err();
    assert_eq!(e.field, "features[1].properties.tract");
    assert!(e.reason.contains("feature 1"), "{e}");
    let e = read(json!({"type": "FeatureCollection", "features": [f(json!({"tract": 1, "label": "a", "hood": "h"}), &json!({"type": "Point", "coordinates": [0, 0]}))]})).unwrap_err();
    assert_eq!(e.field, "features[0].geometry");
    let e = read(json!({"type": "FeatureCollection", "features": [f(json!({"tract": 1, "label": "a"}), &square)]}))
        .unwrap_err();
    assert_eq!(e.field, "features[0].properties.hood");
    // Grids grouped into communities hang under a street, not a community.
    let e = plan(features(), &[], &opts("990001001001"), &mut noop).unwrap_err();
    assert_eq!(e.field, "under");
    let e = plan(features(), &[], &ImportOptions { under: None, ..opts("990001001") }, &mut noop).unwrap_err();
    assert_eq!(e.field, "under");
}
