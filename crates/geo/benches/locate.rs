//! Points located per second: the grid index against an R-tree with exact tests, a brute-force
//! scan and (when `GRIDKEEPER_BENCH_PG` names a PostgreSQL database with PostGIS) PostGIS
//! `ST_Contains`, on San Francisco's 195 census tracts and on a synthetic 10,000-grid province.
//!
//! Run by hand, on an otherwise idle machine: `cargo bench -p gridkeeper-geo --bench locate`
//! (add `-- --quick` for a short run). Results go to BENCHMARKS.md. Single-threaded throughout.
//! `-- --sweep` tries index parameters on the province (`SWEEP_ROOTS`, `SWEEP_DEPTHS`,
//! `SWEEP_EDGES` narrow it); `-- --probe` locates points in growing windows of the province, which
//! shows where the index stops fitting in the caches.

use std::hint::black_box;
use std::time::{Duration, Instant};

use geo::{BoundingRect, Coord, MultiPolygon, Rect};
use gridkeeper_domain::RegionCode;
use gridkeeper_geo::baseline::{BruteForce, RTreeIndex};
use gridkeeper_geo::synthetic::Province;
use gridkeeper_geo::{GridIndex, IndexParams};
use rand::{rngs::StdRng, Rng, SeedableRng};

type Grids = Vec<(RegionCode, MultiPolygon<f64>)>;

fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn sf_tracts() -> Option<Grids> {
    let text = std::fs::read_to_string(data_dir().join("sf_census_tracts_with_analysis_neighborhood.geojson")).ok()?;
    let fc: serde_json::Value = serde_json::from_str(&text).ok()?;
    let features = fc["features"].as_array()?;
    let p = Province::square(20, 0);
    Some(
        features
            .iter()
            .enumerate()
            .map(|(n, f)| (p.code(n % 20, n / 20), gridkeeper_geo::parse_geometry(&f["geometry"]).expect("a polygon")))
            .collect(),
    )
}

fn bbox(grids: &Grids) -> Rect<f64> {
    grids
        .iter()
        .filter_map(|(_, g)| g.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .expect("grids")
}

fn random_points(r: Rect<f64>, n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| (rng.gen_range(r.min().x..r.max().x), rng.gen_range(r.min().y..r.max().y))).collect()
}

/// Points per second of `f` over `points`, best of `rounds` passes.
fn throughput(points: &[(f64, f64)], rounds: usize, mut f: impl FnMut(f64, f64) -> usize) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        let mut sum = 0usize;
        for &(x, y) in points {
            sum = sum.wrapping_add(f(black_box(x), black_box(y)));
        }
        black_box(sum);
        best = best.min(t.elapsed());
    }
    points.len() as f64 / best.as_secs_f64()
}

/// Runs SQL through `psql` (stdin), returning its standard output.
fn psql(url: &str, sql: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs (install postgresql-client)");
    child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("psql reads");
    let out = child.wait_with_output().expect("psql finishes");
    assert!(out.status.success(), "psql failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn wkt(mp: &MultiPolygon<f64>) -> String {
    let ring = |r: &geo::LineString<f64>| r.0.iter().map(|c| format!("{} {}", c.x, c.y)).collect::<Vec<_>>().join(",");
    let poly = |p: &geo::Polygon<f64>| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| format!("({})", ring(r)))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("SRID=4326;MULTIPOLYGON({})", mp.0.iter().map(|p| format!("({})", poly(p))).collect::<Vec<_>>().join(","))
}

/// Loads grids and points into PostGIS and times the batch queries, one core (no parallel
/// workers). Returns (query, points/s), fastest first.
fn postgis(url: &str, grids: &Grids, pts: &[(f64, f64)]) -> Vec<(&'static str, f64)> {
    let mut load = String::from(
        "DROP SCHEMA IF EXISTS gk_bench CASCADE; CREATE SCHEMA gk_bench;\n\
         CREATE TABLE gk_bench.grids (code text, geom geometry(MultiPolygon, 4326));\n\
         CREATE TABLE gk_bench.pts (id int, geom geometry(Point, 4326));\n\
         COPY gk_bench.grids FROM stdin;\n",
    );
    for (code, mp) in grids {
        load.push_str(&format!("{code}\t{}\n", wkt(mp)));
    }
    load.push_str("\\.\nCOPY gk_bench.pts FROM stdin;\n");
    for (i, (x, y)) in pts.iter().enumerate() {
        load.push_str(&format!("{i}\tSRID=4326;POINT({x} {y})\n"));
    }
    load.push_str(
        "\\.\nCREATE INDEX ON gk_bench.grids USING gist (geom); CREATE INDEX ON gk_bench.pts USING gist (geom);\n\
         VACUUM ANALYZE gk_bench.grids; VACUUM ANALYZE gk_bench.pts;\n",
    );
    psql(url, &load);
    let queries: [(&'static str, &str); 3] = [
        (
            "polygon-outer (for each grid, its points)",
            "SELECT count(*) FROM gk_bench.grids g CROSS JOIN LATERAL \
             (SELECT 1 FROM gk_bench.pts p WHERE ST_Contains(g.geom, p.geom) OFFSET 0) x",
        ),
        (
            "point-outer (for each point, its grid)",
            "SELECT count(g.code) FROM gk_bench.pts p LEFT JOIN LATERAL \
             (SELECT code FROM gk_bench.grids g WHERE ST_Contains(g.geom, p.geom) ORDER BY code LIMIT 1) g ON true",
        ),
        (
            "planner's choice",
            "SELECT count(*) FROM gk_bench.grids g JOIN gk_bench.pts p ON ST_Contains(g.geom, p.geom)",
        ),
    ];
    let mut out = Vec::new();
    for (name, q) in queries {
        let sql = format!(
            "SET max_parallel_workers_per_gather = 0; SET jit = off;\n\
             EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {q};\nEXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {q};\n"
        );
        let text = psql(url, &sql);
        let best = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Execution Time: "))
            .filter_map(|l| l.trim_end_matches(" ms").parse::<f64>().ok())
            .fold(f64::INFINITY, f64::min);
        out.push((name, pts.len() as f64 / (best / 1e3)));
    }
    psql(url, "DROP SCHEMA gk_bench CASCADE;");
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// Points per second of [`GridIndex::locate_many`], best of `rounds` passes.
fn batch_throughput(index: &GridIndex, points: &[(f64, f64)], rounds: usize) -> f64 {
    let mut out = Vec::with_capacity(points.len());
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        index.locate_many(black_box(points), &mut out);
        black_box(&out);
        best = best.min(t.elapsed());
    }
    points.len() as f64 / best.as_secs_f64()
}

/// Tries index parameters on the synthetic province: throughput, memory and build time.
fn sweep() {
    let grids = Province::square(100, 1).polygons();
    let pts = random_points(bbox(&grids), 2_000_000, 1);
    println!("| root cells/grid | min leaf depth | leaf edges | max depth | points/s | MB | build s |\n|---|---|---|---|---|---|---|");
    let roots: Vec<f64> = std::env::var("SWEEP_ROOTS")
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![4.0, 16.0, 64.0]);
    let depths: Vec<u8> = std::env::var("SWEEP_DEPTHS")
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![0, 1, 2]);
    let edges: Vec<usize> = std::env::var("SWEEP_EDGES")
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![4, 8, 16, 32]);
    for &root in &roots {
        for &min_leaf_depth in &depths {
            for &leaf_edges in &edges {
                let params = IndexParams { root_cells_per_grid: root, min_leaf_depth, leaf_edges, max_depth: 6 };
                let t = Instant::now();
                let index = GridIndex::new(grids.clone(), params).expect("index builds");
                let build = t.elapsed().as_secs_f64();
                let fast = batch_throughput(&index, &pts, 3);
                let mb = index.stats().bytes as f64 / 1e6;
                println!(
                    "| {root} | {min_leaf_depth} | {leaf_edges} | 6 | {:.1}M | {mb:.0} | {build:.1} |",
                    fast / 1e6
                );
            }
        }
    }
}

fn probe() {
    let grids = Province::square(100, 1).polygons();
    let r = bbox(&grids);
    let index = GridIndex::new(grids.clone(), IndexParams::default()).expect("index builds");
    for frac in [0.02, 0.1, 0.3, 1.0] {
        let small = Rect::new(
            r.min(),
            Coord { x: r.min().x + (r.max().x - r.min().x) * frac, y: r.min().y + (r.max().y - r.min().y) * frac },
        );
        let pts = random_points(small, 2_000_000, 1);
        let fast = throughput(&pts, 3, |x, y| index.locate_id(x, y).map_or(0, |i| i as usize));
        let batch = batch_throughput(&index, &pts, 3);
        println!("window {frac}: {:.1}M/s, batched {:.1}M/s", fast / 1e6, batch / 1e6);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--probe") {
        return probe();
    }
    if std::env::args().any(|a| a == "--sweep") {
        return sweep();
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let mut sets: Vec<(&str, Grids)> = Vec::new();
    if let Some(sf) = sf_tracts() {
        sets.push(("San Francisco, 195 tracts", sf));
    } else {
        eprintln!("(../shared/data not found: San Francisco skipped)");
    }
    sets.push(("synthetic province, 10,000 grids", Province::square(100, 1).polygons()));
    for (name, grids) in &sets {
        let r = bbox(grids);
        let t = Instant::now();
        let index = GridIndex::new(grids.clone(), IndexParams::default()).expect("index builds");
        let build = t.elapsed();
        let rtree = RTreeIndex::new(grids.clone());
        let brute = BruteForce::new(grids.clone());
        let pts = random_points(r, 2_000_000 / scale, 1);
        // The fast index must give the exact answer before it is timed.
        for &(x, y) in pts.iter().take(20_000) {
            assert_eq!(index.locate_lon_lat(x, y), rtree.locate(x, y));
        }
        let fast = throughput(&pts, 5, |x, y| index.locate_id(x, y).map_or(0, |i| i as usize));
        let batched = batch_throughput(&index, &pts, 5);
        let tree = throughput(&pts[..200_000 / scale], 3, |x, y| rtree.locate(x, y).map_or(0, |c| c.as_str().len()));
        let n_brute = if grids.len() > 1000 { 5_000 } else { 50_000 } / scale;
        let scan = throughput(&pts[..n_brute], 2, |x, y| brute.locate(x, y).map_or(0, |c| c.as_str().len()));
        let s = index.stats();
        println!("## {name}");
        println!(
            "index: built in {:.0} ms, {:.1} MB, {} root cells, {} inner cells, {} leaves",
            build.as_secs_f64() * 1e3,
            s.bytes as f64 / 1e6,
            s.root_cells,
            s.inner_cells,
            s.leaves
        );
        println!("| method | points/s (one core) |\n|---|---|");
        println!("| grid index, batched (`locate_many`) | {:.1}M |", batched / 1e6);
        println!("| grid index, one at a time (`locate`) | {:.1}M |", fast / 1e6);
        println!("| R-tree + exact test | {:.2}M |", tree / 1e6);
        println!("| brute force | {:.3}M |", scan / 1e6);
        match std::env::var("GRIDKEEPER_BENCH_PG") {
            Ok(url) => {
                let results = postgis(&url, grids, &pts[..200_000 / scale]);
                for (q, rate) in &results {
                    println!("| PostGIS ST_Contains, {q} | {:.3}M |", rate / 1e6);
                }
                if let Some((q, best)) = results.first() {
                    println!("batched index / best PostGIS ({q}): {:.0}×", batched / best);
                }
            }
            Err(_) => println!("(PostGIS skipped: set GRIDKEEPER_BENCH_PG to a PostgreSQL URL with PostGIS)"),
        }
        println!("batched index / R-tree: {:.0}×, / brute force: {:.0}×", batched / tree, batched / scan);
    }
}
