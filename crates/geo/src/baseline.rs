//! Exact, simple ways to locate a point: an R-tree of polygon bounding boxes with an exact
//! point-in-polygon test behind it, and a linear scan. [`crate::GridIndex`] uses the R-tree while
//! it is being built; tests use both as oracles, and the benchmark compares against them.

use geo::{BoundingRect, Coord, Intersects, MultiPolygon, Polygon, Rect};
use gridkeeper_domain::RegionCode;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// One polygon of a grid (a grid's MultiPolygon is split into its polygons).
pub(crate) struct Shape {
    /// Position of the grid in code order: the smallest id is the smallest code.
    pub grid: u32,
    pub polygon: Polygon<f64>,
    pub bbox: Rect<f64>,
}

/// Splits grids (sorted by code) into shapes; polygons without a bounding box (empty) are dropped.
pub(crate) fn shapes(grids: &[(RegionCode, MultiPolygon<f64>)]) -> Vec<Shape> {
    grids
        .iter()
        .enumerate()
        .flat_map(|(i, (_, mp))| {
            mp.0.iter()
                .filter_map(move |p| Some(Shape { grid: i as u32, bbox: p.bounding_rect()?, polygon: p.clone() }))
        })
        .collect()
}

fn sorted(mut grids: Vec<(RegionCode, MultiPolygon<f64>)>) -> Vec<(RegionCode, MultiPolygon<f64>)> {
    grids.sort_by(|a, b| a.0.cmp(&b.0));
    grids
}

/// R-tree of polygon bounding boxes + exact point-in-polygon (boundary included). A point on a
/// boundary shared by several grids goes to the smallest code.
pub struct RTreeIndex {
    codes: Vec<RegionCode>,
    pub(crate) shapes: Vec<Shape>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

impl RTreeIndex {
    pub fn new(grids: Vec<(RegionCode, MultiPolygon<f64>)>) -> Self {
        let grids = sorted(grids);
        let shapes = shapes(&grids);
        let tree = RTree::bulk_load(
            shapes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (lo, hi) = (s.bbox.min(), s.bbox.max());
                    GeomWithData::new(Rectangle::from_corners([lo.x, lo.y], [hi.x, hi.y]), i as u32)
                })
                .collect(),
        );
        Self { codes: grids.into_iter().map(|(c, _)| c).collect(), shapes, tree }
    }

    /// Indices of the shapes whose polygon contains `p` (boundary included).
    pub(crate) fn containing(&self, p: Coord<f64>) -> impl Iterator<Item = u32> + '_ {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.x, p.y]))
            .map(|g| g.data)
            .filter(move |i| self.shapes[*i as usize].polygon.intersects(&p))
    }

    /// The smallest grid id containing `p`.
    pub(crate) fn locate_id(&self, p: Coord<f64>) -> Option<u32> {
        self.containing(p).map(|i| self.shapes[i as usize].grid).min()
    }

    pub fn locate(&self, lon: f64, lat: f64) -> Option<&RegionCode> {
        self.locate_id(Coord { x: lon, y: lat }).map(|i| &self.codes[i as usize])
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub(crate) fn codes(&self) -> &[RegionCode] {
        &self.codes
    }
}

/// Tests every grid in turn (bounding box first, then the exact test).
pub struct BruteForce {
    grids: Vec<(RegionCode, Rect<f64>, MultiPolygon<f64>)>,
}

impl BruteForce {
    pub fn new(grids: Vec<(RegionCode, MultiPolygon<f64>)>) -> Self {
        let grids = sorted(grids).into_iter().filter_map(|(c, mp)| Some((c, mp.bounding_rect()?, mp))).collect();
        Self { grids }
    }

    pub fn locate(&self, lon: f64, lat: f64) -> Option<&RegionCode> {
        let p = Coord { x: lon, y: lat };
        // In code order, so the first hit is the smallest code.
        self.grids.iter().find(|(_, r, mp)| r.intersects(&p) && mp.intersects(&p)).map(|(c, _, _)| c)
    }
}
