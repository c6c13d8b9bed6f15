//! Grid geometry: turning GeoJSON into polygons and locating a point in its grid.
//!
//! **Architecture invariant:** no I/O and no storage here; the index is built from regions the
//! caller loaded and rebuilt when grids change.

use geo::{BoundingRect, Intersects, MultiPolygon, Point};
use gridkeeper_domain::{LatLon, Region, RegionCode, RegionLevel};
use rstar::{RTree, RTreeObject, AABB};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeoError {
    #[error("region {code}: {reason}")]
    Geometry { code: String, reason: String },
}

/// Parses a GeoJSON Polygon or MultiPolygon geometry (WGS-84 lon/lat) into a MultiPolygon.
pub fn to_multipolygon(code: &RegionCode, geometry: &serde_json::Value) -> Result<MultiPolygon<f64>, GeoError> {
    let err = |reason: String| GeoError::Geometry { code: code.to_string(), reason };
    let g = geojson::Geometry::from_json_value(geometry.clone()).map_err(|e| err(e.to_string()))?;
    let g: geo::Geometry<f64> = g.try_into().map_err(|e: geojson::Error| err(e.to_string()))?;
    match g {
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        other => Err(err(format!("expected a Polygon or MultiPolygon, got {other:?}").chars().take(80).collect())),
    }
}

struct Entry {
    code: RegionCode,
    shape: MultiPolygon<f64>,
    bbox: AABB<[f64; 2]>,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.bbox
    }
}

/// An R-tree over the grids' bounding boxes with an exact point-in-polygon test behind it.
#[derive(Default)]
pub struct GridIndex {
    tree: RTree<Entry>,
}

impl GridIndex {
    /// Builds the index from the grids among `regions` (other levels are skipped).
    pub fn build(regions: &[Region]) -> Result<Self, GeoError> {
        let mut entries = Vec::new();
        for r in regions.iter().filter(|r| r.level() == RegionLevel::Grid) {
            let Some(g) = &r.geometry else { continue };
            let shape = to_multipolygon(&r.code, g)?;
            let Some(rect) = shape.bounding_rect() else { continue };
            let bbox = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
            entries.push(Entry { code: r.code.clone(), shape, bbox });
        }
        Ok(Self { tree: RTree::bulk_load(entries) })
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The grid containing `p`. A point on a boundary shared by several grids goes to the one
    /// with the smallest code, so the answer never depends on insertion order.
    pub fn locate(&self, p: LatLon) -> Option<RegionCode> {
        let point = Point::new(p.lon, p.lat);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.lon, p.lat]))
            .filter(|e| e.shape.intersects(&point))
            .map(|e| &e.code)
            .min()
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert!(to_multipolygon(&code, &json!({"type": "Point", "coordinates": [1.0, 2.0]})).is_err());
        assert!(to_multipolygon(&code, &json!({"type": "Polygon"})).is_err());
    }
}
