use geo::{coord, Area, Contains, LineString, MultiPolygon, Point, Polygon, Validation};
use gridkeeper_domain::RegionCode;

use super::*;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let ring = LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]);
    MultiPolygon(vec![Polygon::new(ring, vec![])])
}

fn node(code: &str, shape: Option<MultiPolygon<f64>>, derived: bool, editable: bool) -> (RegionCode, Node) {
    let code = RegionCode::parse(code).unwrap();
    (code.clone(), Node { name: format!("name {code}"), code, shape, derived, editable })
}

const COMMUNITY: &str = "330483101001";
fn grid(n: u32) -> String {
    format!("{COMMUNITY}{n:03}")
}

/// An explicit community 0.02° × 0.01° near Wuzhen and grids given as rectangles in it.
fn explicit_tree(grids: &[(f64, f64, f64, f64)]) -> Tree {
    let mut t: Tree = [node(COMMUNITY, Some(rect(120.0, 30.0, 120.02, 30.01)), false, false)].into_iter().collect();
    for (i, g) in grids.iter().enumerate() {
        t.extend([node(&grid(i as u32 + 1), Some(rect(g.0, g.1, g.2, g.3)), false, true)]);
    }
    t
}

fn valid(t: &Tree) {
    let r = check(t, &Tolerances::default());
    assert!(r.is_valid(), "{:#?}", r.issues);
}

#[test]
fn a_clean_tiling_is_valid() {
    valid(&explicit_tree(&[(120.0, 30.0, 120.01, 30.01), (120.01, 30.0, 120.02, 30.01)]));
    // A synthetic province under a derived community.
    let mut t: Tree = [node(COMMUNITY, None, true, false)].into_iter().collect();
    let province = crate::synthetic::Province { cols: 6, rows: 5, ..crate::synthetic::Province::square(0, 3) };
    for (i, (_, mp)) in province.polygons().into_iter().enumerate() {
        t.extend([node(&grid(i as u32 + 1), Some(mp), false, true)]);
    }
    derive_parents(&mut t);
    valid(&t);
}

#[test]
fn overlaps_are_named_and_go_to_the_smaller_code() {
    // Grid 1 reaches 0.002° into grid 2: 0.002° × 0.01° ≈ 193 m × 1,112 m.
    let mut t = explicit_tree(&[(120.0, 30.0, 120.012, 30.01), (120.01, 30.0, 120.02, 30.01)]);
    let r = check(&t, &Tolerances::default());
    let [Issue::Overlap { a, b, area_m2, at }] = &r.issues[..] else { panic!("{:#?}", r.issues) };
    assert_eq!((a.code.as_str(), b.code.as_str()), ("330483101001001", "330483101001002"));
    assert!(
        (area_m2 / (0.002 * 0.01 * 111_320.0 * 111_320.0 * 30f64.to_radians().cos()) - 1.0).abs() < 0.01,
        "{area_m2}"
    );
    let at = at.unwrap();
    assert!((120.01..=120.012).contains(&at.lon) && (30.0..=30.01).contains(&at.lat), "{at:?}");

    let changes = repair(&mut t, &Tolerances::default());
    let [Change::OverlapRemoved { region, kept_by, .. }] = &changes[..] else { panic!("{changes:#?}") };
    assert_eq!((region.code.as_str(), kept_by.code.as_str()), ("330483101001002", "330483101001001"));
    valid(&t);
    let g2 = t[&RegionCode::parse(&grid(2)).unwrap()].shape.clone().unwrap();
    assert!(!g2.contains(&Point::new(120.011, 30.005)));
    assert!(t[&RegionCode::parse(&grid(1)).unwrap()].shape.as_ref().unwrap().contains(&Point::new(120.011, 30.005)));
}

#[test]
fn a_gap_in_an_explicit_parent_is_filled_into_the_neighbour_with_the_longest_border() {
    // A strip 120.009–120.01 between grid 1 (left, tall border) and grids 2/3 (right, stacked):
    // grid 1 shares the whole strip's height with it, grids 2 and 3 half each.
    let mut t = explicit_tree(&[
        (120.0, 30.0, 120.009, 30.01),
        (120.01, 30.0, 120.02, 30.005),
        (120.01, 30.005, 120.02, 30.01),
    ]);
    let r = check(&t, &Tolerances::default());
    let [Issue::Gap { parent, area_m2, width_m, .. }] = &r.issues[..] else { panic!("{:#?}", r.issues) };
    assert_eq!(parent.code, COMMUNITY);
    assert!(*area_m2 > 100_000.0 && *width_m > 80.0, "{area_m2} {width_m}");
    let changes = repair(&mut t, &Tolerances::default());
    let [Change::GapFilled { into, .. }] = &changes[..] else { panic!("{changes:#?}") };
    assert_eq!(into.code, grid(1));
    valid(&t);
}

#[test]
fn children_sticking_out_of_their_parent_are_clipped() {
    let mut t = explicit_tree(&[(120.0, 30.0, 120.01, 30.01), (120.01, 30.0, 120.021, 30.01)]);
    let r = check(&t, &Tolerances::default());
    assert!(
        matches!(&r.issues[..], [Issue::OutsideParent { region, .. }] if region.code == grid(2)),
        "{:#?}",
        r.issues
    );
    let changes = repair(&mut t, &Tolerances::default());
    assert!(matches!(&changes[..], [Change::ClippedToParent { region, .. }] if region.code == grid(2)), "{changes:#?}");
    valid(&t);
}

#[test]
fn a_self_intersecting_grid_is_located_and_made_valid() {
    // A bow tie: its edges cross at (120.005, 30.005).
    let bow = LineString::from(vec![(120.0, 30.0), (120.01, 30.01), (120.01, 30.0), (120.0, 30.01), (120.0, 30.0)]);
    let mut t: Tree = [node(COMMUNITY, None, true, false)].into_iter().collect();
    t.extend([node(&grid(1), Some(MultiPolygon(vec![Polygon::new(bow, vec![])])), false, true)]);
    derive_parents(&mut t);
    let r = check(&t, &Tolerances::default());
    let Some(Issue::InvalidGeometry { region, reason, at }) = r.issues.first() else { panic!("{:#?}", r.issues) };
    assert_eq!(region.code, grid(1));
    assert!(reason.contains("self-intersection"), "{reason}");
    assert_eq!(at.unwrap(), At { lat: 30.005, lon: 120.005 });
    let changes = repair(&mut t, &Tolerances::default());
    assert!(matches!(&changes[0], Change::MadeValid { area_after_m2, .. } if *area_after_m2 > 0.0), "{changes:#?}");
    let shape = t[&RegionCode::parse(&grid(1)).unwrap()].shape.clone().unwrap();
    assert!(shape.is_valid());
    // Both lobes are kept (non-zero rule).
    assert!(shape.unsigned_area() > 0.4 * 0.01 * 0.01);
    valid(&t);
}

#[test]
fn thin_holes_among_derived_children_are_gaps_and_wide_ones_enclaves() {
    let mut t: Tree = [node(COMMUNITY, None, true, false)].into_iter().collect();
    // Four grids around a wide hole (an enclave, 0.004° ≈ 400 m across), and a slot 1 m wide and
    // 100 m deep cut into grid 1 from its eastern edge, closed by grid 5.
    let ring = |pts: Vec<(f64, f64)>| MultiPolygon(vec![Polygon::new(LineString::from(pts), vec![])]);
    let g1 = ring(vec![
        (120.0, 30.0),
        (120.01, 30.0),
        (120.01, 30.004),
        (120.009, 30.004),
        (120.009, 30.00401),
        (120.01, 30.00401),
        (120.01, 30.01),
        (120.0, 30.01),
        (120.0, 30.0),
    ]);
    let g2 = ring(vec![(120.01, 30.0), (120.02, 30.0), (120.02, 30.003), (120.01, 30.003), (120.01, 30.0)]);
    let g3 = ring(vec![(120.01, 30.007), (120.02, 30.007), (120.02, 30.01), (120.01, 30.01), (120.01, 30.007)]);
    let g4 = rect(120.016, 30.003, 120.02, 30.007);
    let g5 = ring(vec![(120.01, 30.003), (120.012, 30.003), (120.012, 30.007), (120.01, 30.007), (120.01, 30.003)]);
    for (i, g) in [g1, g2, g3, g4, g5].into_iter().enumerate() {
        t.extend([node(&grid(i as u32 + 1), Some(g), false, true)]);
    }
    derive_parents(&mut t);
    let r = check(&t, &Tolerances::default());
    let [Issue::Gap { width_m, .. }] = &r.issues[..] else { panic!("{:#?}", r.issues) };
    assert!(*width_m < 2.0, "{width_m}");
    let [Note::Enclave { width_m, .. }] = &r.notes[..] else { panic!("{:#?}", r.notes) };
    assert!(*width_m > 100.0, "{width_m}");
    let changes = repair(&mut t, &Tolerances::default());
    assert!(matches!(&changes[..], [Change::GapFilled { into, .. }] if into.code == grid(1)), "{changes:#?}");
    valid(&t);
    // The enclave stays out of the community.
    let community = t[&RegionCode::parse(COMMUNITY).unwrap()].shape.clone().unwrap();
    assert!(!community.contains(&Point::new(120.014, 30.005)));
    assert!(community.contains(&Point::from(coord! { x: 120.0095, y: 30.004005 })));
}

/// Los Angeles' neighbourhood councils: real boundaries with overlaps and an invalid geometry.
#[test]
fn los_angeles_is_refused_then_repaired_into_a_valid_tiling() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/la_neighborhood_councils_2021.geojson");
    let fc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut t: Tree = [node(COMMUNITY, None, true, false)].into_iter().collect();
    for (i, f) in fc["features"].as_array().unwrap().iter().enumerate() {
        let (code, mut n) =
            node(&grid(i as u32 + 1), Some(crate::parse_geometry(&f["geometry"]).unwrap()), false, true);
        n.name = f["properties"]["name"].as_str().unwrap().to_string();
        t.insert(code, n);
    }
    derive_parents(&mut t);
    let tol = Tolerances::default();
    let r = check(&t, &tol);
    let invalid: Vec<&str> = r
        .issues
        .iter()
        .filter_map(|i| match i {
            Issue::InvalidGeometry { region, .. } => Some(region.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(invalid, ["HARBOR GATEWAY SOUTH NC"]);
    let pairs: Vec<(&str, &str, f64)> = r
        .issues
        .iter()
        .filter_map(|i| match i {
            Issue::Overlap { a, b, area_m2, .. } => Some((a.name.as_str(), b.name.as_str(), *area_m2)),
            _ => None,
        })
        .collect();
    assert!(pairs.len() > 100, "{}", pairs.len());
    let big = pairs.iter().find(|p| p.0 == "ARROYO SECO NC" && p.1 == "HERMON NC").expect("a known overlap");
    assert!(big.2 > 1.0e6, "{big:?}");
    assert!(r.issues.iter().any(|i| matches!(i, Issue::Gap { .. })));
    assert!(r.notes.len() >= 5, "cities inside Los Angeles are enclaves: {:#?}", r.notes);

    let changes = repair(&mut t, &tol);
    let after = check(&t, &tol);
    assert!(after.is_valid(), "{:#?}", after.issues);
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::MadeValid { region, .. } if region.name == "HARBOR GATEWAY SOUTH NC")));
    let removed = changes.iter().filter(|c| matches!(c, Change::OverlapRemoved { .. })).count();
    assert!(removed >= pairs.len() / 2, "{removed} of {}", pairs.len());
    assert!(changes.iter().any(|c| matches!(c, Change::GapFilled { .. })));
}
