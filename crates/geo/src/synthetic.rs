//! Synthetic tilings for tests and benchmarks: a province of `cols × rows` grids that tile a
//! rectangle-ish area with no gaps and no overlaps.
//!
//! The grids are the cells of a jittered lattice. Every lattice edge wiggles through `wiggle`
//! intermediate vertices, stored once and walked forwards by one neighbour and backwards by the
//! other, so neighbours share identical `f64` vertices, as real cadastral data does. The wiggle
//! tapers to zero at the lattice vertices and stays below a tenth of a cell, and lattice vertices
//! move by less than a sixth of a cell, so every grid is a simple polygon.
//!
//! Codes: district `990001`; a community is a block of 10 × 10 lattice cells, a street ten
//! communities (numbered row by row).

use geo::{Coord, LineString, MultiPolygon, Polygon};
use gridkeeper_domain::{Region, RegionCode};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// The district of synthetic provinces.
pub const DISTRICT: &str = "990001";

/// Shape of a synthetic province.
#[derive(Debug, Clone, Copy)]
pub struct Province {
    pub cols: usize,
    pub rows: usize,
    /// Intermediate vertices per lattice edge (a grid has `4 × (wiggle + 1)` vertices).
    pub wiggle: usize,
    /// South-west corner (lon, lat) and cell size in degrees.
    pub origin: (f64, f64),
    pub cell: (f64, f64),
    /// Largest move of a lattice vertex, as a fraction of a cell (0 keeps the lattice straight).
    pub jitter: f64,
    pub seed: u64,
}

impl Province {
    /// `n × n` grids of about 500 m × 450 m near Hangzhou, 16 vertices per side.
    pub fn square(n: usize, seed: u64) -> Self {
        Self { cols: n, rows: n, wiggle: 15, origin: (119.5, 29.5), cell: (0.005, 0.004), jitter: 0.15, seed }
    }

    /// The code of the grid in column `i`, row `j`.
    pub fn code(&self, i: usize, j: usize) -> RegionCode {
        let blocks_per_row = self.cols.div_ceil(10);
        let community = (j / 10) * blocks_per_row + i / 10;
        let (street, community) = (community / 10 + 1, community % 10 + 1);
        let grid = (j % 10) * 10 + i % 10 + 1;
        RegionCode::parse(&format!("{DISTRICT}{street:03}{community:03}{grid:03}")).expect("a valid grid code")
    }

    /// The grids as polygons, in row-major order.
    pub fn polygons(&self) -> Vec<(RegionCode, MultiPolygon<f64>)> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let (cols, rows) = (self.cols, self.rows);
        let (cw, ch) = self.cell;
        let vertex: Vec<Vec<Coord<f64>>> = (0..=rows)
            .map(|j| {
                (0..=cols)
                    .map(|i| Coord {
                        x: self.origin.0 + cw * (i as f64 + self.jitter * rng.gen_range(-1.0..=1.0)),
                        y: self.origin.1 + ch * (j as f64 + self.jitter * rng.gen_range(-1.0..=1.0)),
                    })
                    .collect()
            })
            .collect();
        let mut wiggle = |a: Coord<f64>, b: Coord<f64>| -> Vec<Coord<f64>> {
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len = (dx * dx + dy * dy).sqrt();
            let (nx, ny) = (-dy / len, dx / len);
            let amplitude = 0.1 * cw.min(ch);
            let mut pts = vec![a];
            for k in 1..=self.wiggle {
                let t = k as f64 / (self.wiggle + 1) as f64;
                let off = amplitude * (std::f64::consts::PI * t).sin() * rng.gen_range(-1.0..=1.0);
                pts.push(Coord { x: a.x + dx * t + nx * off, y: a.y + dy * t + ny * off });
            }
            pts.push(b);
            pts
        };
        // Horizontal edges h[j][i]: (i, j) → (i+1, j); vertical edges v[j][i]: (i, j) → (i, j+1).
        let h: Vec<Vec<Vec<Coord<f64>>>> =
            (0..=rows).map(|j| (0..cols).map(|i| wiggle(vertex[j][i], vertex[j][i + 1])).collect()).collect();
        let v: Vec<Vec<Vec<Coord<f64>>>> =
            (0..rows).map(|j| (0..=cols).map(|i| wiggle(vertex[j][i], vertex[j + 1][i])).collect()).collect();
        let mut out = Vec::with_capacity(cols * rows);
        for j in 0..rows {
            for i in 0..cols {
                // Counter-clockwise: bottom, right, top backwards, left backwards.
                let mut ring: Vec<Coord<f64>> = h[j][i].clone();
                ring.extend(v[j][i + 1].iter().skip(1));
                ring.extend(h[j + 1][i].iter().rev().skip(1));
                ring.extend(v[j][i].iter().rev().skip(1));
                out.push((self.code(i, j), MultiPolygon(vec![Polygon::new(LineString::new(ring), vec![])])));
            }
        }
        out
    }

    /// The grids as regions with GeoJSON geometries.
    pub fn regions(&self) -> Vec<Region> {
        self.polygons()
            .into_iter()
            .map(|(code, mp)| Region {
                name: format!("网格 {code}"),
                name_en: None,
                geometry: Some(crate::to_geojson(&mp)),
                code,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Validation};

    #[test]
    fn grids_are_valid_and_tile_without_overlaps() {
        let p = Province { cols: 12, rows: 11, ..Province::square(0, 7) };
        let grids = p.polygons();
        assert_eq!(grids.len(), 132);
        let mut codes: Vec<_> = grids.iter().map(|g| g.0.clone()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 132, "codes are unique");
        for (code, g) in &grids {
            assert!(g.is_valid(), "{code}: {:?}", g.validation_errors());
            assert!(g.signed_area() > 0.0, "{code} is counter-clockwise");
        }
        let total: f64 = grids.iter().map(|g| g.1.unsigned_area()).sum();
        let union = geo::unary_union(grids.iter().map(|g| &g.1));
        assert!((union.unsigned_area() - total).abs() < 1e-9 * total, "no overlaps");
        assert_eq!(union.0.len(), 1, "one piece");
        assert!(union.0[0].interiors().is_empty(), "no holes");
        let a = &grids[0].1;
        assert!(a.intersection(&grids[1].1).unsigned_area() < 1e-12 * total);
    }
}
