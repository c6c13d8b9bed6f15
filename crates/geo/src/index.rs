//! [`GridIndex`]: which grid contains a point — exactly, and in a few tens of nanoseconds.
//!
//! Most points lie far from any boundary, so the index answers them with one or two array
//! lookups. At build time the bounding box of all grids is cut into a uniform raster of root
//! cells, and every cell that a polygon edge touches is split 4 × 4, recursively. A cell is one
//! of three kinds:
//!
//! - **uniform**: no edge touches it, so every point in it has the same answer (a grid or none),
//!   computed once at build time from the cell's centre;
//! - **inner**: split into 16 children;
//! - **leaf**: a few edges cross it. The leaf stores a reference point `C` inside it (chosen off
//!   every edge), whether `C` lies in each polygon whose edges cross the leaf, and those edges.
//!   A point `Q` of the leaf is in such a polygon iff `C` is, flipped once per edge that the
//!   segment `C→Q` crosses. Crossings are decided with exact orientation predicates (Shewchuk's
//!   adaptive arithmetic through `geo`'s `RobustKernel`) and a consistent tie rule for vertices on
//!   the line `CQ`, so the answer is the exact one, also on edges and vertices.
//!
//! Cells are expanded by a margin far larger than the rounding of the cell arithmetic when edges
//! are assigned to them, so a point is always answered by a cell whose edge list is complete for
//! it. Semantics match [`crate::baseline::RTreeIndex`]: a point on a boundary belongs to the
//! polygon, and of several grids containing a point the one with the smallest code wins.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, Intersects, MultiPolygon};
use gridkeeper_domain::{LatLon, Region, RegionCode, RegionLevel};

use crate::baseline::RTreeIndex;
use crate::{to_multipolygon, GeoError};

const TAG_UNIFORM: u32 = 0;
const TAG_INNER: u32 = 1;
const TAG_LEAF: u32 = 2;
const PAYLOAD: u32 = (1 << 30) - 1;
/// Children per axis of an inner cell.
const FAN: usize = 4;

/// How finely the index is cut. The defaults suit tilings of a few to many thousand grids.
#[derive(Debug, Clone, Copy)]
pub struct IndexParams {
    /// Root cells per grid (the raster adapts its resolution to the number of grids).
    pub root_cells_per_grid: f64,
    /// A cell crossed by edges is split at least down to this depth...
    pub min_leaf_depth: u8,
    /// ...and further while more than this many edges cross it...
    pub leaf_edges: usize,
    /// ...but never below this depth.
    pub max_depth: u8,
}

impl Default for IndexParams {
    fn default() -> Self {
        // Chosen with `cargo bench -p gridkeeper-geo --bench locate -- --sweep` (BENCHMARKS.md).
        Self { root_cells_per_grid: 16.0, min_leaf_depth: 1, leaf_edges: 16, max_depth: 6 }
    }
}

// A leaf is one contiguous record of u32 words in `GridIndex::leaves`, so that answering a point
// in it costs one cache miss for the record and one for its vertices, not a chain of them:
//
//   c.x (two words), c.y (two words), base (smallest grid + 1 containing the whole leaf, 0 for
//   none), shape count, then per shape (in code order): grid, run count << 1 | C inside,
//   then per run of consecutive edges: first vertex, vertex count (into `GridIndex::vertices`).
//
// When the shapes partition the leaf (every edge in it belongs to exactly two of them and C to
// exactly one), the last shape is stored with no runs and "C inside": whatever the others do not
// hold is its, so it needs no test.
const LEAF_HEADER: usize = 6;

/// Sizes of the parts of an index, for benchmarks and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub grids: usize,
    pub root_cells: usize,
    pub inner_cells: usize,
    pub leaves: usize,
    pub bytes: usize,
}

/// The in-memory index of the grids that locates a point in its grid. Build it from the
/// regions; rebuild it when grids change.
#[derive(Debug, Clone, Default)]
pub struct GridIndex {
    codes: Vec<RegionCode>,
    origin: Coord<f64>,
    inv_cell: f64,
    nx: u32,
    ny: u32,
    root: Vec<u32>,
    inner: Vec<u32>,
    /// Leaf records, one after the other (see `LEAF_HEADER`).
    leaves: Vec<u32>,
    leaf_count: usize,
    /// Every ring of every polygon, closed, one after the other.
    vertices: Vec<Coord<f64>>,
}

#[inline(always)]
fn orient(p: Coord<f64>, q: Coord<f64>, r: Coord<f64>) -> i8 {
    match <RobustKernel as Kernel<f64>>::orient2d(p, q, r) {
        Orientation::CounterClockwise => 1,
        Orientation::Clockwise => -1,
        Orientation::Collinear => 0,
    }
}

/// `p` lies on the closed segment a–b (exactly).
fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    orient(a, b, p) == 0 && a.x.min(b.x) <= p.x && p.x <= a.x.max(b.x) && a.y.min(b.y) <= p.y && p.y <= a.y.max(b.y)
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    min: Coord<f64>,
    max: Coord<f64>,
}

impl Cell {
    fn expand(self, m: f64) -> Cell {
        Cell {
            min: Coord { x: self.min.x - m, y: self.min.y - m },
            max: Coord { x: self.max.x + m, y: self.max.y + m },
        }
    }

    fn at(self, f: Coord<f64>) -> Coord<f64> {
        Coord { x: self.min.x + (self.max.x - self.min.x) * f.x, y: self.min.y + (self.max.y - self.min.y) * f.y }
    }

    /// Whether the closed segment a–b meets this closed box: bounding boxes overlap and the
    /// corners are not all strictly on one side of the segment's line (separating axes), decided
    /// exactly.
    fn meets(self, a: Coord<f64>, b: Coord<f64>) -> bool {
        if a.x.max(b.x) < self.min.x
            || a.x.min(b.x) > self.max.x
            || a.y.max(b.y) < self.min.y
            || a.y.min(b.y) > self.max.y
        {
            return false;
        }
        let corners =
            [self.min, Coord { x: self.max.x, y: self.min.y }, self.max, Coord { x: self.min.x, y: self.max.y }];
        let sides = corners.map(|c| orient(a, b, c));
        !(sides.iter().all(|s| *s > 0) || sides.iter().all(|s| *s < 0))
    }
}

/// Points of the unit square to try as a leaf's reference point: the centre, then a Halton
/// sequence (never on a grid line of the cell arithmetic).
fn reference_candidates() -> impl Iterator<Item = Coord<f64>> {
    fn halton(mut i: u32, base: u32) -> f64 {
        let (mut f, mut r) = (1.0, 0.0);
        while i > 0 {
            f /= base as f64;
            r += f * (i % base) as f64;
            i /= base;
        }
        r
    }
    std::iter::once(Coord { x: 0.5, y: 0.5 })
        .chain((1..256).map(|i| Coord { x: 0.05 + 0.9 * halton(i, 2), y: 0.05 + 0.9 * halton(i, 3) }))
}

struct Builder<'a> {
    oracle: &'a RTreeIndex,
    params: IndexParams,
    /// The shape each vertex's ring belongs to (edge `i` runs from vertex `i` to vertex `i + 1`
    /// of `out.vertices`; the last vertex of a ring starts no edge).
    shape_of: Vec<u32>,
    margin: f64,
    out: GridIndex,
}

impl Builder<'_> {
    fn word(tag: u32, payload: usize) -> Result<u32, GeoError> {
        u32::try_from(payload)
            .ok()
            .filter(|p| *p <= PAYLOAD)
            .map(|p| (tag << 30) | p)
            .ok_or_else(|| GeoError::Index("the grids are too complex for the index".into()))
    }

    fn uniform(grid: Option<u32>) -> u32 {
        grid.map_or(0, |g| g + 1)
    }

    fn node(&mut self, cell: Cell, edges: Vec<u32>, depth: u8) -> Result<u32, GeoError> {
        if edges.is_empty() {
            let centre = cell.at(Coord { x: 0.5, y: 0.5 });
            return Ok(Self::uniform(self.oracle.locate_id(centre)));
        }
        let p = self.params;
        if depth >= p.max_depth || (depth >= p.min_leaf_depth && edges.len() <= p.leaf_edges) {
            if let Some(word) = self.leaf(cell, &edges)? {
                return Ok(word);
            }
            if depth >= p.max_depth {
                return Err(GeoError::Index("no reference point off the edges of a cell".into()));
            }
        }
        let block = self.out.inner.len();
        self.out.inner.resize(block + FAN * FAN, 0);
        let (w, h) = ((cell.max.x - cell.min.x) / FAN as f64, (cell.max.y - cell.min.y) / FAN as f64);
        for sy in 0..FAN {
            for sx in 0..FAN {
                let min = Coord { x: cell.min.x + w * sx as f64, y: cell.min.y + h * sy as f64 };
                let child = Cell { min, max: Coord { x: min.x + w, y: min.y + h } };
                let wide = child.expand(self.margin);
                let inside: Vec<u32> = edges.iter().copied().filter(|e| self.edge_meets(*e, wide)).collect();
                let word = self.node(child, inside, depth + 1)?;
                self.out.inner[block + sy * FAN + sx] = word;
            }
        }
        Self::word(TAG_INNER, block / (FAN * FAN))
    }

    fn edge(&self, e: u32) -> (Coord<f64>, Coord<f64>) {
        (self.out.vertices[e as usize], self.out.vertices[e as usize + 1])
    }

    fn edge_meets(&self, e: u32, cell: Cell) -> bool {
        let (a, b) = self.edge(e);
        cell.meets(a, b)
    }

    /// A leaf for `edges`, or `None` when no candidate reference point lies off them all.
    fn leaf(&mut self, cell: Cell, edges: &[u32]) -> Result<Option<u32>, GeoError> {
        let Some(c) = reference_candidates().map(|f| cell.at(f)).find(|c| {
            edges.iter().all(|e| {
                let (a, b) = self.edge(*e);
                !on_segment(a, b, *c)
            })
        }) else {
            return Ok(None);
        };
        let shapes = &self.oracle.shapes;
        // (grid, shape, edge), so that shapes come in code order and edges in ring order.
        let mut by_shape: Vec<(u32, u32, u32)> = edges
            .iter()
            .map(|e| {
                let s = self.shape_of[*e as usize];
                (shapes[s as usize].grid, s, *e)
            })
            .collect();
        by_shape.sort_unstable();
        // Shapes that contain C and have no edge in the leaf contain the whole leaf.
        let base = self
            .oracle
            .containing(c)
            .filter(|s| !by_shape.iter().any(|x| x.1 == *s))
            .map(|s| shapes[s as usize].grid)
            .min();
        by_shape.retain(|x| base.is_none_or(|b| x.0 < b));
        if by_shape.is_empty() {
            return Ok(Some(Self::uniform(base)));
        }
        let groups: Vec<&[(u32, u32, u32)]> = by_shape.chunk_by(|x, y| x.1 == y.1).collect();
        let inside: Vec<bool> = groups.iter().map(|g| shapes[g[0].1 as usize].polygon.intersects(&c)).collect();
        let partition = base.is_none() && groups.len() > 1 && inside.iter().filter(|i| **i).count() == 1 && {
            let mut keys: Vec<[u64; 4]> = by_shape
                .iter()
                .map(|(_, _, e)| {
                    let (a, b) = self.edge(*e);
                    let (a, b) = if (a.x, a.y) <= (b.x, b.y) { (a, b) } else { (b, a) };
                    [a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits()]
                })
                .collect();
            keys.sort_unstable();
            keys.chunk_by(|a, b| a == b).all(|k| k.len() == 2)
        };
        let leaf = self.out.leaves.len();
        let bits = |v: f64| [v.to_bits() as u32, (v.to_bits() >> 32) as u32];
        self.out.leaves.extend(bits(c.x));
        self.out.leaves.extend(bits(c.y));
        self.out.leaves.extend([Self::uniform(base), groups.len() as u32]);
        for (n, group) in groups.iter().enumerate() {
            let grid = group[0].0;
            if partition && n == groups.len() - 1 {
                self.out.leaves.extend([grid, 1]);
                break;
            }
            // Consecutive edges of a ring become one run of vertices.
            let runs: Vec<&[(u32, u32, u32)]> = group.chunk_by(|x, y| y.2 == x.2 + 1).collect();
            self.out.leaves.extend([grid, (runs.len() as u32) << 1 | u32::from(inside[n])]);
            for run in runs {
                self.out.leaves.extend([run[0].2, run.len() as u32 + 1]);
            }
        }
        self.out.leaf_count += 1;
        Self::word(TAG_LEAF, leaf).map(Some)
    }
}

impl GridIndex {
    /// Builds the index from the grids among `regions` (other levels and grids without a
    /// geometry are skipped).
    pub fn build(regions: &[Region]) -> Result<Self, GeoError> {
        let grids = regions
            .iter()
            .filter(|r| r.level() == RegionLevel::Grid)
            .filter_map(|r| r.geometry.as_ref().map(|g| Ok((r.code.clone(), to_multipolygon(&r.code, g)?))))
            .collect::<Result<Vec<_>, GeoError>>()?;
        Self::new(grids, IndexParams::default())
    }

    /// Builds the index from grids given as polygons.
    pub fn new(grids: Vec<(RegionCode, MultiPolygon<f64>)>, params: IndexParams) -> Result<Self, GeoError> {
        let oracle = RTreeIndex::new(grids);
        let mut out = GridIndex { codes: oracle.codes().to_vec(), ..Default::default() };
        // Edges are named by their first vertex; the last vertex of a ring starts none.
        let (mut edges, mut shape_of) = (Vec::new(), Vec::new());
        let (mut lo, mut hi) =
            (Coord { x: f64::INFINITY, y: f64::INFINITY }, Coord { x: -f64::INFINITY, y: -f64::INFINITY });
        for (i, s) in oracle.shapes.iter().enumerate() {
            for ring in std::iter::once(s.polygon.exterior()).chain(s.polygon.interiors()) {
                let first = out.vertices.len() as u32;
                out.vertices.extend(ring.0.iter().copied());
                shape_of.resize(out.vertices.len(), i as u32);
                edges.extend(first..out.vertices.len().saturating_sub(1) as u32);
            }
            lo = Coord { x: lo.x.min(s.bbox.min().x), y: lo.y.min(s.bbox.min().y) };
            hi = Coord { x: hi.x.max(s.bbox.max().x), y: hi.y.max(s.bbox.max().y) };
        }
        if u32::try_from(out.vertices.len()).is_err() {
            return Err(GeoError::Index("the grids have too many vertices for the index".into()));
        }
        if edges.is_empty() {
            return Ok(out);
        }
        if ![lo.x, lo.y, hi.x, hi.y].iter().all(|v| v.is_finite()) {
            return Err(GeoError::Index("a grid has a coordinate that is not a finite number".into()));
        }
        // Far above the rounding of the cell arithmetic (a few ulps of the coordinates and of the
        // span), far below anything geographic (1e-9 of the span: millimetres for a province).
        let span = (hi.x - lo.x).max(hi.y - lo.y).max(1e-9);
        let biggest = lo.x.abs().max(lo.y.abs()).max(hi.x.abs()).max(hi.y.abs());
        let margin = span * 1e-9 + biggest * 1e-13;
        let (lo, hi) = (
            Coord { x: lo.x - 2.0 * margin, y: lo.y - 2.0 * margin },
            Coord { x: hi.x + 2.0 * margin, y: hi.y + 2.0 * margin },
        );
        let (w, h) = (hi.x - lo.x, hi.y - lo.y);
        let target = (out.codes.len() as f64 * params.root_cells_per_grid).clamp(1.0, 4.0e6);
        let cell = (w * h / target).sqrt().max(w / 4096.0).max(h / 4096.0);
        let (nx, ny) = (((w / cell).ceil() as u32).max(1), ((h / cell).ceil() as u32).max(1));
        out.origin = lo;
        out.inv_cell = 1.0 / cell;
        out.nx = nx;
        out.ny = ny;
        let root_cell = |ix: u32, iy: u32| {
            let min = Coord { x: lo.x + cell * ix as f64, y: lo.y + cell * iy as f64 };
            Cell { min, max: Coord { x: min.x + cell, y: min.y + cell } }
        };
        // Distribute the edges over the root cells their bounding boxes touch.
        let mut per_cell: Vec<Vec<u32>> = vec![Vec::new(); (nx * ny) as usize];
        let index_of = |v: f64, o: f64, n: u32| (((v - o) / cell).floor().max(0.0) as u32).min(n - 1);
        for &e in &edges {
            let (a, b) = (&out.vertices[e as usize], &out.vertices[e as usize + 1]);
            let (x0, x1) = (index_of(a.x.min(b.x) - margin, lo.x, nx), index_of(a.x.max(b.x) + margin, lo.x, nx));
            let (y0, y1) = (index_of(a.y.min(b.y) - margin, lo.y, ny), index_of(a.y.max(b.y) + margin, lo.y, ny));
            for iy in y0..=y1 {
                for ix in x0..=x1 {
                    if root_cell(ix, iy).expand(margin).meets(*a, *b) {
                        per_cell[(iy * nx + ix) as usize].push(e);
                    }
                }
            }
        }
        let mut b = Builder { oracle: &oracle, params, shape_of, margin, out };
        let mut root = Vec::with_capacity(per_cell.len());
        for (i, cell_edges) in per_cell.into_iter().enumerate() {
            let (ix, iy) = (i as u32 % nx, i as u32 / nx);
            root.push(b.node(root_cell(ix, iy), cell_edges, 0)?);
        }
        b.out.root = root;
        let mut out = b.out;
        out.inner.shrink_to_fit();
        out.leaves.shrink_to_fit();
        Ok(out)
    }

    /// Number of grids.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn stats(&self) -> IndexStats {
        use std::mem::size_of;
        IndexStats {
            grids: self.codes.len(),
            root_cells: self.root.len(),
            inner_cells: self.inner.len() / (FAN * FAN),
            leaves: self.leaf_count,
            bytes: (self.root.len() + self.inner.len() + self.leaves.len()) * size_of::<u32>()
                + self.vertices.len() * size_of::<Coord<f64>>(),
        }
    }

    /// The grid containing `p`. A point on a boundary shared by several grids goes to the one
    /// with the smallest code, so the answer never depends on insertion order.
    pub fn locate(&self, p: LatLon) -> Option<RegionCode> {
        self.locate_lon_lat(p.lon, p.lat).cloned()
    }

    /// [`GridIndex::locate`] without the copy.
    #[inline]
    pub fn locate_lon_lat(&self, lon: f64, lat: f64) -> Option<&RegionCode> {
        self.locate_id(lon, lat).map(|i| &self.codes[i as usize])
    }

    /// Position (in code order) of the grid containing the point.
    #[inline]
    pub fn locate_id(&self, x: f64, y: f64) -> Option<u32> {
        let fx = (x - self.origin.x) * self.inv_cell;
        let fy = (y - self.origin.y) * self.inv_cell;
        // Also refuses NaN.
        if !(fx >= 0.0 && fy >= 0.0) {
            return None;
        }
        // `as` saturates; scaling by powers of four is exact, so every level agrees with the root.
        let (ix, iy) = (fx as u32, fy as u32);
        if ix >= self.nx || iy >= self.ny {
            return None;
        }
        let mut word = self.root[(iy * self.nx + ix) as usize];
        let mut scale = 1.0;
        loop {
            let payload = word & PAYLOAD;
            match word >> 30 {
                TAG_UNIFORM => return payload.checked_sub(1),
                TAG_INNER => {
                    scale *= FAN as f64;
                    let sx = (fx * scale) as u64 as usize % FAN;
                    let sy = (fy * scale) as u64 as usize % FAN;
                    word = self.inner[payload as usize * FAN * FAN + sy * FAN + sx];
                }
                _ => return self.in_leaf(payload as usize, Coord { x, y }),
            }
        }
    }

    /// Whether the point falls in a leaf (needs polygon tests) rather than a uniform cell.
    #[cfg(test)]
    fn leaf_at(&self, x: f64, y: f64) -> bool {
        let (fx, fy) = ((x - self.origin.x) * self.inv_cell, (y - self.origin.y) * self.inv_cell);
        if !(fx >= 0.0 && fy >= 0.0) || fx as u32 >= self.nx || fy as u32 >= self.ny {
            return false;
        }
        let mut word = self.root[(fy as u32 * self.nx + fx as u32) as usize];
        let mut scale = 1.0;
        while word >> 30 == TAG_INNER {
            scale *= FAN as f64;
            let (sx, sy) = ((fx * scale) as u64 as usize % FAN, (fy * scale) as u64 as usize % FAN);
            word = self.inner[(word & PAYLOAD) as usize * FAN * FAN + sy * FAN + sx];
        }
        word >> 30 == TAG_LEAF
    }

    /// Locates many points at once: [`GridIndex::locate_id`] for each, but walking a batch of
    /// points down the cells level by level, so that their memory accesses overlap instead of
    /// waiting for each other. `out` receives one answer per point.
    pub fn locate_many(&self, points: &[(f64, f64)], out: &mut Vec<Option<u32>>) {
        const BATCH: usize = 16;
        out.clear();
        out.reserve(points.len());
        if self.root.is_empty() {
            out.resize(points.len(), None);
            return;
        }
        for chunk in points.chunks(BATCH) {
            let mut word = [0u32; BATCH];
            let mut f = [(0.0f64, 0.0f64); BATCH];
            for (i, &(x, y)) in chunk.iter().enumerate() {
                let (fx, fy) = ((x - self.origin.x) * self.inv_cell, (y - self.origin.y) * self.inv_cell);
                f[i] = (fx, fy);
                if fx >= 0.0 && fy >= 0.0 && (fx as u32) < self.nx && (fy as u32) < self.ny {
                    word[i] = self.root[(fy as u32 * self.nx + fx as u32) as usize];
                }
            }
            let mut scale = 1.0;
            loop {
                scale *= FAN as f64;
                let mut deeper = false;
                for i in 0..chunk.len() {
                    if word[i] >> 30 == TAG_INNER {
                        let sx = (f[i].0 * scale) as u64 as usize % FAN;
                        let sy = (f[i].1 * scale) as u64 as usize % FAN;
                        word[i] = self.inner[(word[i] & PAYLOAD) as usize * FAN * FAN + sy * FAN + sx];
                        deeper = true;
                    }
                }
                if !deeper {
                    break;
                }
            }
            // Fetch the leaves of the batch together, then their first vertices, before testing
            // any: the loads of different points overlap instead of queueing.
            let mut first = [usize::MAX; BATCH];
            for (i, w) in word[..chunk.len()].iter().enumerate() {
                if w >> 30 == TAG_LEAF {
                    first[i] = self.leaves[(w & PAYLOAD) as usize + LEAF_HEADER + 2] as usize;
                }
            }
            let mut touched = 0.0;
            for v in first[..chunk.len()].iter().filter(|v| **v != usize::MAX) {
                touched += self.vertices.get(*v).map_or(0.0, |c| c.x);
            }
            std::hint::black_box(touched);
            for (i, &(x, y)) in chunk.iter().enumerate() {
                let payload = word[i] & PAYLOAD;
                out.push(match word[i] >> 30 {
                    TAG_UNIFORM => payload.checked_sub(1),
                    _ => self.in_leaf(payload as usize, Coord { x, y }),
                });
            }
        }
    }

    fn in_leaf(&self, at: usize, q: Coord<f64>) -> Option<u32> {
        let r = &self.leaves[at..];
        let f = |i: usize| f64::from_bits(u64::from(r[i]) | u64::from(r[i + 1]) << 32);
        let c = Coord { x: f(0), y: f(2) };
        let (base, shapes) = (r[4], r[5] as usize);
        let mut pos = LEAF_HEADER;
        // Shapes come in code order and all beat `base`: the first that contains q wins.
        for _ in 0..shapes {
            let (grid, runs, inside) = (r[pos], (r[pos + 1] >> 1) as usize, r[pos + 1] & 1 == 1);
            let run_words = &r[pos + 2..pos + 2 + 2 * runs];
            if self.shape_contains(run_words, inside, c, q) {
                return Some(grid);
            }
            pos += 2 + 2 * runs;
        }
        base.checked_sub(1)
    }

    /// Whether a leaf's shape contains q (boundary included), from its status at C and the edges
    /// that the segment C→Q crosses. Vertices on the line CQ count as lying on its left (a
    /// symbolic perturbation), so a crossing through a vertex is counted exactly once; C lies on
    /// no edge of the leaf, and a q on an edge is caught before its crossings matter.
    #[inline]
    fn shape_contains(&self, runs: &[u32], inside_c: bool, c: Coord<f64>, q: Coord<f64>) -> bool {
        let mut inside = inside_c;
        let (min_x, max_x) = if c.x < q.x { (c.x, q.x) } else { (q.x, c.x) };
        let (min_y, max_y) = if c.y < q.y { (c.y, q.y) } else { (q.y, c.y) };
        for run in runs.chunks_exact(2) {
            let vs = &self.vertices[run[0] as usize..(run[0] + run[1]) as usize];
            for e in vs.windows(2) {
                let (a, b) = (e[0], e[1]);
                if a.x.max(b.x) < min_x || a.x.min(b.x) > max_x || a.y.max(b.y) < min_y || a.y.min(b.y) > max_y {
                    continue;
                }
                let side_q = orient(a, b, q);
                if side_q == 0 {
                    if a.x.min(b.x) <= q.x && q.x <= a.x.max(b.x) && a.y.min(b.y) <= q.y && q.y <= a.y.max(b.y) {
                        return true;
                    }
                    continue;
                }
                // C and Q must lie strictly on opposite sides of the edge's line...
                let side_c = orient(a, b, c);
                if side_c == 0 || side_q == side_c {
                    continue;
                }
                // ...and the edge's ends on opposite sides of the line CQ.
                if (orient(c, q, a) >= 0) != (orient(c, q, b) >= 0) {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests;
