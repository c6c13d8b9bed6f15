//! Simplifying a tiling for display at low zoom without opening gaps between neighbours.
//!
//! Simplifying each polygon on its own moves a shared boundary differently on its two sides.
//! Here every ring is cut into arcs at its junctions (vertices where the set of rings sharing
//! the boundary changes), each arc is simplified once (Douglas–Peucker, in one canonical
//! direction), and both neighbours get the same result.

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon, Simplify};

type Key = (u64, u64);

fn key(c: Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

fn edge_key(a: Coord<f64>, b: Coord<f64>) -> (Key, Key) {
    let (ka, kb) = (key(a), key(b));
    if ka <= kb {
        (ka, kb)
    } else {
        (kb, ka)
    }
}

/// Degrees that half a map pixel spans at a Web Mercator zoom level (at the equator).
pub fn tolerance_for_zoom(zoom: u8) -> f64 {
    360.0 / (256.0 * f64::from(1u32 << zoom.min(24))) / 2.0
}

fn rings(shapes: &[MultiPolygon<f64>]) -> Vec<&LineString<f64>> {
    shapes.iter().flat_map(|mp| mp.0.iter()).flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).collect()
}

/// Simplifies every shape with `tolerance` (degrees), keeping shared boundaries shared.
pub fn simplify_tiling(shapes: &[MultiPolygon<f64>], tolerance: f64) -> Vec<MultiPolygon<f64>> {
    // Which rings use each edge.
    let all = rings(shapes);
    let mut users: HashMap<(Key, Key), Vec<usize>> = HashMap::new();
    for (r, ring) in all.iter().enumerate() {
        for l in ring.lines().filter(|l| l.start != l.end) {
            let u = users.entry(edge_key(l.start, l.end)).or_default();
            if !u.contains(&r) {
                u.push(r);
            }
        }
    }
    for u in users.values_mut() {
        u.sort_unstable();
    }
    let mut done: HashMap<Vec<Key>, Vec<Coord<f64>>> = HashMap::new();
    let mut simplify_ring = |ring: &LineString<f64>| -> Option<LineString<f64>> {
        let mut pts: Vec<Coord<f64>> = ring.0.clone();
        pts.dedup();
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        let n = pts.len();
        if n < 3 {
            return None;
        }
        let users_of = |i: usize| users.get(&edge_key(pts[i], pts[(i + 1) % n])).map(Vec::as_slice).unwrap_or(&[]);
        // A junction is where the rings sharing the boundary change.
        let mut junctions: Vec<usize> = (0..n).filter(|&i| users_of((i + n - 1) % n) != users_of(i)).collect();
        if junctions.is_empty() {
            // One closed arc: start where every ring sharing it would start.
            junctions.push((0..n).min_by_key(|&i| key(pts[i])).expect("a ring has vertices"));
        }
        let mut out: Vec<Coord<f64>> = Vec::new();
        for (j, &start) in junctions.iter().enumerate() {
            let end = junctions[(j + 1) % junctions.len()];
            let len = if end > start { end - start } else { end + n - start };
            let arc: Vec<Coord<f64>> = (0..=len).map(|k| pts[(start + k) % n]).collect();
            // Canonical direction, so both neighbours simplify the same sequence.
            let forward = key(arc[0]) < key(arc[len]) || (arc[0] == arc[len] && key(arc[1]) <= key(arc[len - 1]));
            let canonical: Vec<Coord<f64>> = if forward { arc.clone() } else { arc.iter().rev().copied().collect() };
            let id: Vec<Key> = canonical.iter().map(|c| key(*c)).collect();
            let simple = done.entry(id).or_insert_with(|| LineString::new(canonical).simplify(tolerance).0).clone();
            let simple: Vec<Coord<f64>> = if forward { simple } else { simple.into_iter().rev().collect() };
            out.extend(&simple[..simple.len() - 1]);
        }
        out.push(out[0]);
        (out.len() >= 4).then(|| LineString::new(out))
    };
    shapes
        .iter()
        .map(|mp| {
            MultiPolygon(
                mp.0.iter()
                    .filter_map(|p| {
                        let exterior = simplify_ring(p.exterior());
                        let interiors: Vec<LineString<f64>> =
                            p.interiors().iter().filter_map(&mut simplify_ring).collect();
                        exterior.map(|e| Polygon::new(e, interiors))
                    })
                    .collect(),
            )
        })
        .collect()
}

/// [`simplify_tiling`] over GeoJSON geometries (`null` or anything not a polygon stays as it is).
pub fn simplify_geojson(geometries: &[serde_json::Value], tolerance: f64) -> Vec<serde_json::Value> {
    let shapes: Vec<Option<MultiPolygon<f64>>> = geometries.iter().map(|g| crate::parse_geometry(g).ok()).collect();
    let present: Vec<MultiPolygon<f64>> = shapes.iter().flatten().cloned().collect();
    let mut simple = simplify_tiling(&present, tolerance).into_iter();
    shapes
        .iter()
        .zip(geometries)
        .map(|(s, g)| match s {
            Some(_) => simple.next().map_or(serde_json::Value::Null, |mp| {
                if mp.0.is_empty() {
                    serde_json::Value::Null
                } else {
                    crate::to_geojson(&mp)
                }
            }),
            None => g.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use geo::{Area, CoordsIter};

    use super::*;
    use crate::synthetic::Province;

    fn san_francisco() -> Vec<MultiPolygon<f64>> {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sf_census_tracts_with_analysis_neighborhood.geojson");
        let fc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        fc["features"].as_array().unwrap().iter().map(|f| crate::parse_geometry(&f["geometry"]).unwrap()).collect()
    }

    #[test]
    fn synthetic_neighbours_stay_seamless_and_vertices_drop() {
        let shapes: Vec<MultiPolygon<f64>> = Province { cols: 6, rows: 5, wiggle: 20, ..Province::square(0, 4) }
            .polygons()
            .into_iter()
            .map(|g| g.1)
            .collect();
        let before: usize = shapes.iter().map(|s| s.coords_count()).sum();
        let simple = simplify_tiling(&shapes, tolerance_for_zoom(11));
        let after: usize = simple.iter().map(|s| s.coords_count()).sum();
        assert!(after * 3 < before, "{after} of {before} vertices");
        let total: f64 = simple.iter().map(|s| s.unsigned_area()).sum();
        let union = geo::unary_union(simple.iter());
        assert!((union.unsigned_area() - total).abs() < 1e-12, "no overlaps");
        assert_eq!(union.0.len(), 1, "one piece");
        assert!(union.0[0].interiors().is_empty(), "no gaps");
        // Seamless: an edge only one ring uses lies on the outline of the tiling.
        assert_eq!(unshared_inner_edges(&shapes, &simple), 0);
    }

    #[test]
    fn san_francisco_tracts_stay_seamless() {
        let shapes = san_francisco();
        let simple = simplify_tiling(&shapes, tolerance_for_zoom(12));
        let (before, after): (usize, usize) =
            (shapes.iter().map(|s| s.coords_count()).sum(), simple.iter().map(|s| s.coords_count()).sum());
        assert!(after * 4 < before, "{after} of {before} vertices");
        assert_eq!(unshared_inner_edges(&shapes, &simple), 0);
        // Simplifying each tract on its own opens seams.
        let alone: Vec<MultiPolygon<f64>> = shapes.iter().map(|s| s.simplify(tolerance_for_zoom(12))).collect();
        assert!(unshared_inner_edges(&shapes, &alone) > 100, "{}", unshared_inner_edges(&shapes, &alone));
    }

    /// Edges of `out` used by one ring only whose ends are not both on the outline of `input`.
    fn unshared_inner_edges(input: &[MultiPolygon<f64>], out: &[MultiPolygon<f64>]) -> usize {
        let count = |shapes: &[MultiPolygon<f64>]| {
            let mut uses: HashMap<(Key, Key), usize> = HashMap::new();
            for r in rings(shapes) {
                for l in r.lines() {
                    *uses.entry(edge_key(l.start, l.end)).or_default() += 1;
                }
            }
            uses
        };
        let outline: std::collections::HashSet<Key> =
            count(input).into_iter().filter(|(_, n)| *n == 1).flat_map(|((a, b), _)| [a, b]).collect();
        count(out).into_iter().filter(|((a, b), n)| *n == 1 && !(outline.contains(a) && outline.contains(b))).count()
    }

    #[test]
    fn tolerance_halves_with_each_zoom_level() {
        assert_eq!(tolerance_for_zoom(0), 360.0 / 512.0);
        assert_eq!(tolerance_for_zoom(1) * 2.0, tolerance_for_zoom(0));
    }
}
