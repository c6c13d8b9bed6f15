//! The fast index against brute force: the same answer for every point, including points
//! exactly on shared edges and vertices, on overlapping polygons, holes and multipolygons.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use gridkeeper_domain::RegionCode;
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::*;
use crate::baseline::BruteForce;
use crate::synthetic::Province;

/// The float `k` steps away from `x` (towards +∞ for k > 0).
fn nudge(x: f64, k: i64) -> f64 {
    let mut v = x;
    for _ in 0..k.unsigned_abs() {
        v = if k > 0 { v.next_up() } else { v.next_down() };
    }
    v
}

fn code(n: usize) -> RegionCode {
    RegionCode::parse(&format!("330483101{:03}{:03}", n / 999 + 1, n % 999 + 1)).unwrap()
}

/// Random polygons that overlap each other, some with holes, some of several parts.
fn overlapping(rng: &mut StdRng, n: usize) -> Vec<(RegionCode, MultiPolygon<f64>)> {
    let mut star = |cx: f64, cy: f64, r: f64, k: usize| {
        let pts: Vec<Coord<f64>> = (0..k)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / k as f64;
                let rr = r * rng.gen_range(0.6..1.0);
                Coord { x: cx + rr * t.cos(), y: cy + rr * t.sin() }
            })
            .collect();
        LineString::new(pts)
    };
    (0..n)
        .map(|i| {
            let (cx, cy) = (120.0 + 0.01 * (i % 5) as f64, 30.0 + 0.01 * (i / 5) as f64);
            let outer = star(cx, cy, 0.012, 5 + i % 7);
            let holes = if i % 3 == 0 { vec![star(cx, cy, 0.003, 4)] } else { vec![] };
            let mut parts = vec![Polygon::new(outer, holes)];
            if i % 4 == 1 {
                parts.push(Polygon::new(star(cx + 0.03, cy - 0.02, 0.004, 6), vec![]));
            }
            (code(i), MultiPolygon(parts))
        })
        .collect()
}

/// Points that stress the index: random ones, every vertex, vertices moved by an ulp or two,
/// points on axis-parallel edges, and midpoints of edges (on or within an ulp of the edge).
fn probes(rng: &mut StdRng, grids: &[(RegionCode, MultiPolygon<f64>)], random: usize) -> Vec<Coord<f64>> {
    let mut lo = Coord { x: f64::INFINITY, y: f64::INFINITY };
    let mut hi = Coord { x: -f64::INFINITY, y: -f64::INFINITY };
    let mut out = Vec::new();
    for (_, mp) in grids {
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for l in ring.lines() {
                    lo = Coord { x: lo.x.min(l.start.x), y: lo.y.min(l.start.y) };
                    hi = Coord { x: hi.x.max(l.start.x), y: hi.y.max(l.start.y) };
                    out.push(l.start);
                    let (dx, dy) = (rng.gen_range(-2..=2), rng.gen_range(-2..=2));
                    out.push(Coord { x: nudge(l.start.x, dx), y: nudge(l.start.y, dy) });
                    out.push(Coord { x: (l.start.x + l.end.x) / 2.0, y: (l.start.y + l.end.y) / 2.0 });
                    let t = rng.gen_range(0.0..1.0);
                    if l.start.x == l.end.x {
                        out.push(Coord { x: l.start.x, y: l.start.y + t * (l.end.y - l.start.y) });
                    }
                    if l.start.y == l.end.y {
                        out.push(Coord { x: l.start.x + t * (l.end.x - l.start.x), y: l.start.y });
                    }
                }
            }
        }
    }
    let (w, h) = (hi.x - lo.x, hi.y - lo.y);
    for _ in 0..random {
        out.push(Coord {
            x: lo.x - 0.05 * w + 1.1 * w * rng.gen::<f64>(),
            y: lo.y - 0.05 * h + 1.1 * h * rng.gen::<f64>(),
        });
    }
    out
}

fn params() -> Vec<IndexParams> {
    vec![
        IndexParams::default(),
        // Coarse: leaves with many edges of several polygons.
        IndexParams { root_cells_per_grid: 0.05, min_leaf_depth: 0, leaf_edges: 64, max_depth: 2 },
        // Fine: deep trees, many small uniform cells.
        IndexParams { root_cells_per_grid: 16.0, min_leaf_depth: 3, leaf_edges: 2, max_depth: 6 },
    ]
}

#[track_caller]
fn agrees(grids: Vec<(RegionCode, MultiPolygon<f64>)>, points: &[Coord<f64>]) -> (usize, usize) {
    let brute = BruteForce::new(grids.clone());
    let rtree = crate::baseline::RTreeIndex::new(grids.clone());
    let (mut inside, mut ties) = (0, 0);
    for params in params() {
        let index = GridIndex::new(grids.clone(), params).unwrap();
        assert_eq!(index.len(), grids.len());
        for p in points {
            let expected = brute.locate(p.x, p.y);
            assert_eq!(index.locate_lon_lat(p.x, p.y), expected, "{p:?} with {params:?}");
            assert_eq!(rtree.locate(p.x, p.y), expected, "{p:?}");
            if expected.is_some() {
                inside += 1;
                let holders = grids.iter().filter(|(_, mp)| geo::Intersects::intersects(mp, p)).count();
                ties += usize::from(holders > 1);
            }
        }
    }
    (inside, ties)
}

#[test]
fn matches_brute_force_on_a_wiggly_tiling() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(seed);
        let grids = Province { cols: 9, rows: 7, wiggle: 3, ..Province::square(0, seed) }.polygons();
        let points = probes(&mut rng, &grids, 20_000);
        let (inside, ties) = agrees(grids, &points);
        // The probes do reach shared boundaries, where the tie-break decides.
        assert!(inside > points.len(), "{inside}");
        assert!(ties > 1000, "{ties}");
    }
}

#[test]
fn matches_brute_force_on_a_straight_lattice_with_exact_edge_points() {
    // Without jitter or wiggle, edges are axis-parallel: probes lie exactly on them, and on the
    // corners shared by four grids.
    let mut rng = StdRng::seed_from_u64(11);
    let grids = Province { cols: 8, rows: 8, wiggle: 0, jitter: 0.0, ..Province::square(0, 11) }.polygons();
    let points = probes(&mut rng, &grids, 10_000);
    let (_, ties) = agrees(grids, &points);
    assert!(ties > 500, "{ties}");
}

#[test]
fn matches_brute_force_on_overlaps_holes_and_multipolygons() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(100 + seed);
        let grids = overlapping(&mut rng, 23);
        let points = probes(&mut rng, &grids, 20_000);
        let (_, ties) = agrees(grids, &points);
        assert!(ties > 100, "overlaps are exercised: {ties}");
    }
}

#[test]
fn matches_brute_force_far_from_the_origin_and_at_the_dateline() {
    // Large coordinates (relative rounding is coarser) and negative ones, like San Francisco's.
    let mut rng = StdRng::seed_from_u64(5);
    let base = Province { cols: 5, rows: 4, wiggle: 2, origin: (179.96, -45.0), ..Province::square(0, 5) };
    let grids = base.polygons();
    let points = probes(&mut rng, &grids, 5_000);
    agrees(grids, &points);
    let west = Province { origin: (-122.5, 37.7), ..base };
    let grids = west.polygons();
    let points = probes(&mut rng, &grids, 5_000);
    agrees(grids, &points);
}

#[test]
fn empty_and_single_grid_indexes() {
    let empty = GridIndex::new(vec![], IndexParams::default()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.locate_lon_lat(120.0, 30.0), None);
    let one = Province { cols: 1, rows: 1, ..Province::square(0, 3) }.polygons();
    let index = GridIndex::new(one.clone(), IndexParams::default()).unwrap();
    let brute = BruteForce::new(one.clone());
    let mut rng = StdRng::seed_from_u64(3);
    for p in probes(&mut rng, &one, 2000) {
        assert_eq!(index.locate_lon_lat(p.x, p.y), brute.locate(p.x, p.y), "{p:?}");
    }
    assert_eq!(index.locate_lon_lat(f64::NAN, 30.0), None);
}

#[test]
fn most_points_are_answered_without_a_polygon_test() {
    let grids = Province::square(30, 1).polygons();
    let index = GridIndex::new(grids.clone(), IndexParams::default()).unwrap();
    let s = index.stats();
    assert_eq!(s.grids, 900);
    let mut rng = StdRng::seed_from_u64(1);
    let points = probes(&mut rng, &grids, 20_000);
    let random = &points[points.len() - 20_000..];
    let in_leaves = random.iter().filter(|p| index.leaf_at(p.x, p.y)).count();
    assert!(in_leaves < random.len() / 4, "{in_leaves} of {} points fall in leaves; {s:?}", random.len());
}
