//! The demo town's geography: 乌镇镇 (Wuzhen Town) in 桐乡市 (Tongxiang, district code 330483),
//! ten communities and villages of ten grids each.
//!
//! The grids tile the town with no gaps and no overlaps by construction: they are the cells of one
//! jittered lattice of vertices (10 × 10 cells, about 400 m × 300 m each). Neighbouring cells
//! share the identical `f64` values of their common vertices, a community is a block of 2 × 5 cells
//! whose boundary is walked along the same vertices, and the town is the lattice's outline. Every
//! vertex moves by less than a quarter of a cell, so every cell stays a convex quadrilateral.

use gridkeeper_domain::{LatLon, Region, RegionCode};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

/// GB/T 2260 code of 桐乡市.
pub(crate) const DISTRICT: &str = "330483";
const STREET: &str = "330483101";

/// Centre of the town (WGS-84).
const CENTRE_LAT: f64 = 30.745;
const CENTRE_LON: f64 = 120.487;
/// Size of the town, east–west and north–south.
const WIDTH_M: f64 = 4000.0;
const HEIGHT_M: f64 = 3000.0;
/// Cells of the lattice: columns west→east, rows north→south.
const COLS: usize = 10;
const ROWS: usize = 10;
/// A community is a block of this many cells.
const BLOCK_COLS: usize = 2;
const BLOCK_ROWS: usize = 5;
/// Largest move of a vertex, as a fraction of a cell, in each axis (< 0.25 keeps cells convex).
const JITTER: f64 = 0.2;
/// Metres per degree of latitude near 30.7° N; a degree of longitude is this times cos(lat).
const METRES_PER_DEGREE: f64 = 110_950.0;

/// A community or village of the town, in the order of its code (001…010): the north row of
/// blocks west→east, then the south row.
pub(crate) struct CommunitySpec {
    pub name: &'static str,
    pub name_en: &'static str,
    /// Whether it has its own community team (a department of kind `CommunityTeam`).
    pub team: bool,
    /// Relative number of reports: the scenic areas and the town centre see the most.
    pub weight: f64,
    /// Roads for addresses; a village uses its groups (组) instead.
    pub roads: &'static [&'static str],
}

const COMMUNITIES: [CommunitySpec; 10] = [
    CommunitySpec {
        name: "西栅社区",
        name_en: "Xizha Community",
        team: true,
        weight: 1.6,
        roads: &["西栅大街", "子夜路", "石佛南路"],
    },
    CommunitySpec {
        name: "环河社区",
        name_en: "Huanhe Community",
        team: true,
        weight: 1.2,
        roads: &["环河路", "新华路", "常丰街"],
    },
    CommunitySpec {
        name: "银杏社区",
        name_en: "Yinxing Community",
        team: true,
        weight: 1.3,
        roads: &["银杏路", "隆源路", "茅盾路"],
    },
    CommunitySpec {
        name: "东栅社区",
        name_en: "Dongzha Community",
        team: true,
        weight: 1.5,
        roads: &["东栅大街", "财神湾路", "慈云路"],
    },
    CommunitySpec { name: "虹桥村", name_en: "Hongqiao Village", team: false, weight: 0.8, roads: &[] },
    CommunitySpec { name: "石佛村", name_en: "Shifo Village", team: false, weight: 0.6, roads: &[] },
    CommunitySpec { name: "陈庄村", name_en: "Chenzhuang Village", team: false, weight: 0.6, roads: &[] },
    CommunitySpec {
        name: "南栅社区",
        name_en: "Nanzha Community",
        team: true,
        weight: 1.0,
        roads: &["南栅大街", "金牛路", "乌镇大道"],
    },
    CommunitySpec { name: "民合村", name_en: "Minhe Village", team: false, weight: 0.7, roads: &[] },
    CommunitySpec { name: "横港村", name_en: "Henggang Village", team: false, weight: 0.6, roads: &[] },
];

/// Places just outside the town, for reports the linkage center turns away as outside its area.
const OUTSIDE_ADDRESSES: [&str; 4] =
    ["湖州市南浔区练市镇朝阳路", "桐乡市濮院镇新民路", "嘉兴市秀洲区新塍镇小营路", "湖州市南浔区双林镇蠡山路"];

/// A `[lon, lat]` vertex of the lattice.
type Vertex = [f64; 2];

pub(crate) struct Community {
    pub region: Region,
    pub spec: &'static CommunitySpec,
}

pub(crate) struct Grid {
    pub region: Region,
    /// Index of its community in [`Town::communities`].
    pub community: usize,
    /// Corners south-west, south-east, north-east, north-west.
    corners: [Vertex; 4],
}

impl Grid {
    /// A point inside the grid, away from its edges (the cell is convex, so the bilinear image of
    /// the unit square lies inside it).
    pub fn sample(&self, rng: &mut StdRng) -> LatLon {
        let u = rng.gen_range(0.05..0.95);
        let v = rng.gen_range(0.05..0.95);
        self.at(u, v)
    }

    /// The middle of the grid.
    pub fn centre(&self) -> LatLon {
        self.at(0.5, 0.5)
    }

    fn at(&self, u: f64, v: f64) -> LatLon {
        let [sw, se, ne, nw] = self.corners;
        let mix =
            |i: usize| (1.0 - u) * (1.0 - v) * sw[i] + u * (1.0 - v) * se[i] + u * v * ne[i] + (1.0 - u) * v * nw[i];
        LatLon { lat: mix(1), lon: mix(0) }
    }
}

pub(crate) struct Town {
    pub district: Region,
    pub street: Region,
    pub communities: Vec<Community>,
    /// All grids, community by community, each community's grids in number order.
    pub grids: Vec<Grid>,
}

impl Town {
    pub fn build(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x7457_4e5a_6865_6e00);
        let lattice = lattice(&mut rng);
        let street_code = code(STREET);
        let district = Region {
            code: code(DISTRICT),
            name: "桐乡市".into(),
            name_en: Some("Tongxiang City".into()),
            geometry: None,
        };
        let street = Region {
            code: street_code.clone(),
            name: "乌镇镇".into(),
            name_en: Some("Wuzhen Town".into()),
            geometry: Some(polygon(ring(&lattice, 0, 0, ROWS, COLS))),
        };
        let blocks_across = COLS / BLOCK_COLS;
        let mut communities = Vec::new();
        let mut grids = Vec::new();
        for (c, spec) in COMMUNITIES.iter().enumerate() {
            let community_code = child(&street_code, c + 1);
            let (r0, c0) = ((c / blocks_across) * BLOCK_ROWS, (c % blocks_across) * BLOCK_COLS);
            for g in 0..BLOCK_ROWS * BLOCK_COLS {
                let (r, col) = (r0 + g / BLOCK_COLS, c0 + g % BLOCK_COLS);
                grids.push(Grid {
                    region: Region {
                        code: child(&community_code, g + 1),
                        name: format!("{}第{:02}网格", spec.name, g + 1),
                        name_en: Some(format!("{} grid {:02}", spec.name_en, g + 1)),
                        geometry: Some(polygon(ring(&lattice, r, col, 1, 1))),
                    },
                    community: c,
                    corners: [lattice[r + 1][col], lattice[r + 1][col + 1], lattice[r][col + 1], lattice[r][col]],
                });
            }
            communities.push(Community {
                region: Region {
                    code: community_code,
                    name: spec.name.into(),
                    name_en: Some(spec.name_en.into()),
                    geometry: Some(polygon(ring(&lattice, r0, c0, BLOCK_ROWS, BLOCK_COLS))),
                },
                spec,
            });
        }
        Self { district, street, communities, grids }
    }

    /// Every region, parents before children.
    pub fn regions(&self) -> Vec<Region> {
        [self.district.clone(), self.street.clone()]
            .into_iter()
            .chain(self.communities.iter().map(|c| c.region.clone()))
            .chain(self.grids.iter().map(|g| g.region.clone()))
            .collect()
    }

    /// Index of the grid with this code.
    pub fn grid_index(&self, code: &RegionCode) -> Option<usize> {
        self.grids.iter().position(|g| &g.region.code == code)
    }

    /// A street address inside a grid: a house on one of the community's roads, or a house of a
    /// village group.
    pub fn address(&self, grid: usize, rng: &mut StdRng) -> String {
        let spec = self.communities[self.grids[grid].community].spec;
        let number = rng.gen_range(1..=260);
        if spec.roads.is_empty() {
            format!("{}{}组{}号", spec.name, rng.gen_range(1..=12), number)
        } else {
            format!("{}{}号", spec.roads[rng.gen_range(0..spec.roads.len())], number)
        }
    }

    /// A point and an address 0.6–2 km outside the town, to the north or the west.
    pub fn outside(&self, rng: &mut StdRng) -> (LatLon, String) {
        let beyond = rng.gen_range(600.0..2000.0);
        let along = rng.gen_range(-0.5..0.5);
        let location = if rng.gen_bool(0.5) {
            LatLon {
                lat: CENTRE_LAT + (HEIGHT_M / 2.0 + beyond) / METRES_PER_DEGREE,
                lon: CENTRE_LON + along * WIDTH_M / metres_per_degree_lon(),
            }
        } else {
            LatLon {
                lat: CENTRE_LAT + along * HEIGHT_M / METRES_PER_DEGREE,
                lon: CENTRE_LON - (WIDTH_M / 2.0 + beyond) / metres_per_degree_lon(),
            }
        };
        let road = OUTSIDE_ADDRESSES[rng.gen_range(0..OUTSIDE_ADDRESSES.len())];
        (location, format!("{road}{}号", rng.gen_range(1..=200)))
    }
}

fn metres_per_degree_lon() -> f64 {
    METRES_PER_DEGREE * CENTRE_LAT.to_radians().cos()
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("the demo's region codes are well formed")
}

fn child(parent: &RegionCode, n: usize) -> RegionCode {
    let n = u16::try_from(n).expect("the demo has fewer than 1000 children per region");
    parent.child(n).expect("the demo's regions have at most 999 children")
}

/// The `(ROWS + 1) × (COLS + 1)` vertices, row 0 in the north, column 0 in the west, each moved
/// by up to [`JITTER`] of a cell and rounded to 1e-7° (about a centimetre).
fn lattice(rng: &mut StdRng) -> Vec<Vec<Vertex>> {
    let cell_lon = WIDTH_M / COLS as f64 / metres_per_degree_lon();
    let cell_lat = HEIGHT_M / ROWS as f64 / METRES_PER_DEGREE;
    let west = CENTRE_LON - cell_lon * COLS as f64 / 2.0;
    let north = CENTRE_LAT + cell_lat * ROWS as f64 / 2.0;
    let round = |x: f64| (x * 1e7).round() / 1e7;
    (0..=ROWS)
        .map(|r| {
            (0..=COLS)
                .map(|c| {
                    let dx = rng.gen_range(-JITTER..JITTER);
                    let dy = rng.gen_range(-JITTER..JITTER);
                    [round(west + (c as f64 + dx) * cell_lon), round(north - (r as f64 + dy) * cell_lat)]
                })
                .collect()
        })
        .collect()
}

/// The closed, counter-clockwise boundary of the block of `rows × cols` cells whose north-west
/// cell is `(r0, c0)`, through every lattice vertex on it.
fn ring(lattice: &[Vec<Vertex>], r0: usize, c0: usize, rows: usize, cols: usize) -> Vec<Vertex> {
    let (south, east) = (r0 + rows, c0 + cols);
    let mut ring: Vec<Vertex> = (c0..east).map(|c| lattice[south][c]).collect();
    ring.extend((r0 + 1..=south).rev().map(|r| lattice[r][east]));
    ring.extend((c0 + 1..=east).rev().map(|c| lattice[r0][c]));
    ring.extend((r0..south).map(|r| lattice[r][c0]));
    ring.push(ring[0]);
    ring
}

fn polygon(ring: Vec<Vertex>) -> serde_json::Value {
    json!({ "type": "Polygon", "coordinates": [ring] })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Contains, Coord, IsConvex, LineString, Point, Polygon, Validation};

    pub(crate) fn geo_polygon(region: &Region) -> Polygon<f64> {
        let geometry = region.geometry.as_ref().expect("has a geometry");
        assert_eq!(geometry["type"], "Polygon");
        let rings = geometry["coordinates"].as_array().expect("coordinates");
        assert_eq!(rings.len(), 1, "no holes");
        let coords: Vec<Coord<f64>> = rings[0]
            .as_array()
            .expect("ring")
            .iter()
            .map(|p| Coord { x: p[0].as_f64().expect("lon"), y: p[1].as_f64().expect("lat") })
            .collect();
        assert_eq!(coords.first(), coords.last(), "ring is closed");
        Polygon::new(LineString::new(coords), vec![])
    }

    #[test]
    fn codes_names_and_numbering() {
        let town = Town::build(1);
        let regions = town.regions();
        assert_eq!(regions.len(), 2 + 10 + 100);
        assert_eq!(town.grids[0].region.code.as_str(), "330483101001001");
        assert_eq!(town.grids[99].region.code.as_str(), "330483101010010");
        for (i, grid) in town.grids.iter().enumerate() {
            let parent = grid.region.code.parent().expect("grid has a parent");
            assert_eq!(parent, town.communities[grid.community].region.code);
            assert_eq!(town.grid_index(&grid.region.code), Some(i));
        }
        // West→east, north→south inside a community: grid 2 lies east of grid 1, grid 3 south of it.
        let [g1, g2, g3] = [0, 1, 2].map(|i| town.grids[i].centre());
        assert!(g2.lon > g1.lon && (g2.lat - g1.lat).abs() < 0.002);
        assert!(g3.lat < g1.lat && (g3.lon - g1.lon).abs() < 0.002);
    }

    #[test]
    fn grids_tile_the_town_without_gaps_or_overlaps() {
        let town = Town::build(42);
        let town_polygon = geo_polygon(&town.street);
        assert!(town_polygon.is_valid());
        assert!(town_polygon.signed_area() > 0.0, "counter-clockwise exterior");
        let grids: Vec<Polygon<f64>> = town.grids.iter().map(|g| geo_polygon(&g.region)).collect();
        let communities: Vec<Polygon<f64>> = town.communities.iter().map(|c| geo_polygon(&c.region)).collect();

        for (grid, polygon) in town.grids.iter().zip(&grids) {
            assert!(polygon.is_valid(), "{} is valid", grid.region.code);
            assert!(polygon.signed_area() > 0.0, "{} is counter-clockwise", grid.region.code);
            assert!(polygon.exterior().is_strictly_ccw_convex(), "{} is convex", grid.region.code);
            let community = &communities[grid.community];
            assert!(community.contains(polygon), "{} lies in its community", grid.region.code);
            let inside = community.intersection(polygon).unsigned_area();
            // Boolean operations snap to a fixed-point grid, hence the looser tolerance here.
            let relative = (inside - polygon.unsigned_area()).abs() / polygon.unsigned_area();
            assert!(relative < 1e-7, "{} lies in its community ({relative:e})", grid.region.code);
        }
        for community in &communities {
            assert!(community.is_valid());
            assert!(community.signed_area() > 0.0);
        }

        let total = town_polygon.unsigned_area();
        let grid_sum: f64 = grids.iter().map(Area::unsigned_area).sum();
        let community_sum: f64 = communities.iter().map(Area::unsigned_area).sum();
        assert!((grid_sum - total).abs() / total < 1e-9, "grids cover the town");
        assert!((community_sum - total).abs() / total < 1e-9, "communities cover the town");

        for (i, a) in grids.iter().enumerate() {
            for b in &grids[i + 1..] {
                let overlap = a.intersection(b).unsigned_area();
                assert!(overlap < 1e-12 * total, "grids {i} and another overlap by {overlap}");
            }
        }

        // Every point of the town lies in exactly one grid; points outside lie in none.
        let mut rng = StdRng::seed_from_u64(9);
        let (lon0, lat0) = (CENTRE_LON, CENTRE_LAT);
        for _ in 0..2000 {
            let p = Point::new(lon0 + rng.gen_range(-0.03..0.03), lat0 + rng.gen_range(-0.02..0.02));
            let hits = grids.iter().filter(|g| g.contains(&p)).count();
            let expected = usize::from(town_polygon.contains(&p));
            assert_eq!(hits, expected, "{p:?}");
        }
    }

    #[test]
    fn samples_fall_in_their_grid_and_outside_points_outside_the_town() {
        let town = Town::build(5);
        let town_polygon = geo_polygon(&town.street);
        let mut rng = StdRng::seed_from_u64(3);
        for grid in &town.grids {
            let polygon = geo_polygon(&grid.region);
            for _ in 0..20 {
                let p = grid.sample(&mut rng);
                assert!(polygon.contains(&Point::new(p.lon, p.lat)));
            }
        }
        for _ in 0..200 {
            let (p, address) = town.outside(&mut rng);
            assert!(!town_polygon.contains(&Point::new(p.lon, p.lat)), "{address}");
        }
    }
}
