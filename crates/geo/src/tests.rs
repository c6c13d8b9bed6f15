use serde_json::json;

use super::*;
use gridkeeper_domain::{LatLon, Region};

fn square(code: &str, x0: f64, y0: f64, size: f64) -> Region {
    Region {
        code: RegionCode::parse(code).unwrap(),
        name: code.into(),
        name_en: None,
        geometry: Some(
            json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]}),
        ),
    }
}

#[test]
fn locates_points_and_breaks_boundary_ties_by_code() {
    let regions = vec![
        square("330483101001002", 120.01, 30.0, 0.01),
        square("330483101001001", 120.0, 30.0, 0.01),
        square("330483101001", 120.0, 30.0, 0.02),
    ];
    let idx = GridIndex::build(&regions).unwrap();
    assert_eq!(idx.len(), 2);
    assert_eq!(idx.locate(LatLon { lat: 30.005, lon: 120.005 }).unwrap().as_str(), "330483101001001");
    assert_eq!(idx.locate(LatLon { lat: 30.005, lon: 120.015 }).unwrap().as_str(), "330483101001002");
    // On the shared edge: the smaller code, whatever the order of the input.
    assert_eq!(idx.locate(LatLon { lat: 30.005, lon: 120.01 }).unwrap().as_str(), "330483101001001");
    assert_eq!(idx.locate(LatLon { lat: 31.0, lon: 120.0 }), None);
}

#[test]
fn refuses_what_is_not_a_polygon() {
    let code = RegionCode::parse("330483101001001").unwrap();
    let err = to_multipolygon(&code, &json!({"type": "Point", "coordinates": [1.0, 2.0]})).unwrap_err();
    assert_eq!(err.to_string(), "region 330483101001001: expected a Polygon or MultiPolygon, got a Point");
    assert!(to_multipolygon(&code, &json!({"type": "Polygon"})).is_err());
}

#[test]
fn geojson_round_trips() {
    let grids = synthetic::Province { cols: 2, rows: 1, ..synthetic::Province::square(0, 1) }.polygons();
    for (code, mp) in grids {
        assert_eq!(to_multipolygon(&code, &to_geojson(&mp)).unwrap(), mp);
    }
}
