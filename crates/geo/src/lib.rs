//! Grid geometry: GeoJSON in and out, validation and repair of region trees, the spatial index
//! that locates a point in its grid, and the Chinese map coordinate systems.
//!
//! **Architecture invariant:** no I/O and no storage here. Callers read files and rows, hand
//! their contents in, and get values back; the index is built from regions the caller loaded and
//! rebuilt when grids change.

pub mod baseline;
pub mod crs;
pub mod import;
mod index;
pub mod simplify;
pub mod synthetic;
pub mod tree;

use geo::MultiPolygon;
use gridkeeper_domain::RegionCode;

pub use crs::Crs;
pub use index::{GridIndex, IndexParams, IndexStats};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeoError {
    #[error("region {code}: {reason}")]
    Geometry { code: String, reason: String },
    #[error("grid index: {0}")]
    Index(String),
}

/// Parses a GeoJSON Polygon or MultiPolygon geometry (WGS-84 lon/lat) into a MultiPolygon.
pub fn to_multipolygon(code: &RegionCode, geometry: &serde_json::Value) -> Result<MultiPolygon<f64>, GeoError> {
    parse_geometry(geometry).map_err(|reason| GeoError::Geometry { code: code.to_string(), reason })
}

/// Parses a GeoJSON Polygon or MultiPolygon geometry; the error says why it is not one.
pub fn parse_geometry(geometry: &serde_json::Value) -> Result<MultiPolygon<f64>, String> {
    let g = geojson::Geometry::from_json_value(geometry.clone()).map_err(|e| e.to_string())?;
    let g: geo::Geometry<f64> = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
    match g {
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        other => Err(format!("expected a Polygon or MultiPolygon, got a {}", geometry_name(&other))),
    }
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "Point",
        geo::Geometry::Line(_) | geo::Geometry::LineString(_) => "LineString",
        geo::Geometry::Polygon(_) => "Polygon",
        geo::Geometry::MultiPoint(_) => "MultiPoint",
        geo::Geometry::MultiLineString(_) => "MultiLineString",
        geo::Geometry::MultiPolygon(_) => "MultiPolygon",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
        geo::Geometry::Rect(_) => "Rect",
        geo::Geometry::Triangle(_) => "Triangle",
    }
}

/// A MultiPolygon as a GeoJSON geometry: a Polygon when it has one part.
pub fn to_geojson(mp: &MultiPolygon<f64>) -> serde_json::Value {
    let g = if mp.0.len() == 1 {
        geojson::Geometry::new(geojson::Value::from(&mp.0[0]))
    } else {
        geojson::Geometry::new(geojson::Value::from(mp))
    };
    serde_json::to_value(g).expect("a geometry serialises")
}

#[cfg(test)]
mod tests;
