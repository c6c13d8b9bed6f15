//! Validation and repair of a region tree: the grids of a parent must tile it, with no gaps and
//! no overlaps, every geometry must be valid, and no child may stick out of its parent.
//!
//! A parent either has its own geometry (then its children must fill exactly that) or is
//! *derived*: its geometry is the union of its children. For derived parents there is no outline
//! to compare with, so a hole left between neighbouring children is a gap when it is thin (mean
//! width below [`Tolerances::max_gap_width_m`]: a sliver between two digitised boundaries) and an
//! enclave otherwise (a place that belongs to no child, such as another town inside a city),
//! which is reported as a note. On real data the two are far apart: the holes between Los
//! Angeles' neighbourhood councils are at most 3.2 m wide, the enclaves at least 62 m.
//!
//! [`repair`] fixes what can be fixed and lists every change:
//! - an invalid geometry is re-noded (self-intersections resolved with the non-zero rule);
//! - a child sticking out of its parent is clipped to it;
//! - where two regions overlap, the overlap stays with the smaller code (the one that
//!   [`crate::GridIndex`] already answers for points there), so repairing does not move any
//!   point from one region to another;
//! - a gap is merged into the neighbour that shares the longest boundary with it;
//! - crumbs smaller than [`Tolerances::min_area_m2`] left by the above are dropped.
//!
//! Areas are spherical (Chamberlain–Duquette, m²); lengths haversine (m).

use std::collections::BTreeMap;

use geo::algorithm::sweep::{Cross, Intersections};
use geo::line_intersection::LineIntersection;
use geo::{
    BooleanOps, BoundingRect, ChamberlainDuquetteArea, Coord, Distance, Euclidean, Haversine, InteriorPoint,
    Intersects, Line, LineString, MultiPolygon, Point, Polygon, Rect, Validation,
};
use gridkeeper_domain::{RegionCode, RegionLevel};
use serde::Serialize;

/// A point to look at (WGS-84), rounded to 7 decimals (1 cm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct At {
    pub lat: f64,
    pub lon: f64,
}

impl At {
    fn of(c: Coord<f64>) -> Self {
        let r = |v: f64| (v * 1e7).round() / 1e7;
        Self { lat: r(c.y), lon: r(c.x) }
    }
}

/// A region as named in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Named {
    pub code: String,
    pub name: String,
}

/// Something wrong with the tree. Any issue makes an import refused (unless repaired).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Issue {
    InvalidGeometry { region: Named, reason: String, at: Option<At> },
    Overlap { a: Named, b: Named, area_m2: f64, at: Option<At> },
    Gap { parent: Named, area_m2: f64, width_m: f64, at: Option<At> },
    OutsideParent { region: Named, parent: Named, area_m2: f64, at: Option<At> },
    NoArea { region: Named, reason: String },
}

/// A change made by [`repair`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    MadeValid { region: Named, reason: String, area_before_m2: f64, area_after_m2: f64, at: Option<At> },
    ClippedToParent { region: Named, parent: Named, area_m2: f64, at: Option<At> },
    OverlapRemoved { region: Named, kept_by: Named, area_m2: f64, at: Option<At> },
    GapFilled { parent: Named, into: Named, area_m2: f64, at: Option<At> },
    FragmentDropped { region: Named, area_m2: f64, at: Option<At> },
}

/// Facts worth knowing that are not errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// A wide hole among the children of a derived parent: left out of the parent.
    Enclave { parent: Named, area_m2: f64, width_m: f64, at: Option<At> },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub issues: Vec<Issue>,
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.issues.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Tolerances {
    /// Overlaps, gaps and protrusions below this area are rounding noise of the geometry
    /// operations, not findings.
    pub min_area_m2: f64,
    /// Holes among the children of a derived parent narrower than this (mean width, 2 × area /
    /// perimeter) are gaps; wider ones are enclaves.
    pub max_gap_width_m: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self { min_area_m2: 1.0, max_gap_width_m: 10.0 }
    }
}

/// A region of the tree being checked.
#[derive(Debug, Clone)]
pub struct Node {
    pub code: RegionCode,
    pub name: String,
    pub shape: Option<MultiPolygon<f64>>,
    /// Its geometry is the union of its children (and is recomputed from them).
    pub derived: bool,
    /// [`repair`] may change it.
    pub editable: bool,
}

impl Node {
    fn named(&self) -> Named {
        Named { code: self.code.to_string(), name: self.name.clone() }
    }
}

/// The regions to check, by code.
pub type Tree = BTreeMap<RegionCode, Node>;

fn ring_area(r: &LineString<f64>) -> f64 {
    Polygon::new(r.clone(), vec![]).chamberlain_duquette_unsigned_area()
}

/// Spherical area in m², whatever the winding of the rings.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(|p| ring_area(p.exterior()) - p.interiors().iter().map(ring_area).sum::<f64>()).sum()
}

fn ring_length_m(r: &LineString<f64>) -> f64 {
    r.lines().map(|l| Haversine.distance(Point(l.start), Point(l.end))).sum()
}

/// Mean width in metres: 2 × area / perimeter.
fn width_m(p: &Polygon<f64>) -> f64 {
    let perimeter = ring_length_m(p.exterior()) + p.interiors().iter().map(ring_length_m).sum::<f64>();
    if perimeter > 0.0 {
        2.0 * area_m2(&MultiPolygon(vec![p.clone()])) / perimeter
    } else {
        0.0
    }
}

fn at(mp: &MultiPolygon<f64>) -> Option<At> {
    mp.interior_point().map(|p| At::of(p.0))
}

fn bbox(mp: &MultiPolygon<f64>) -> Option<Rect<f64>> {
    mp.bounding_rect()
}

fn round_m2(a: f64) -> f64 {
    (a * 100.0).round() / 100.0
}

#[derive(Clone)]
struct Seg {
    ring: usize,
    i: usize,
    len: usize,
    line: Line<f64>,
}

impl Cross for Seg {
    type Scalar = f64;
    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// Where a polygon's rings cross themselves or each other (other than at shared endpoints of
/// consecutive edges).
fn self_intersection(mp: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    let rings: Vec<&LineString<f64>> =
        mp.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).collect();
    let segs = rings.iter().enumerate().flat_map(|(r, ring)| {
        let len = ring.0.len().saturating_sub(1);
        ring.lines().enumerate().map(move |(i, line)| Seg { ring: r, i, len, line })
    });
    Intersections::from_iter(segs).find_map(|(a, b, x)| {
        let neighbours = a.ring == b.ring && {
            let d = a.i.abs_diff(b.i);
            d == 1 || d + 1 == a.len
        };
        match x {
            LineIntersection::SinglePoint { intersection, .. } => {
                let shared = neighbours
                    && (intersection == a.line.start || intersection == a.line.end)
                    && (intersection == b.line.start || intersection == b.line.end);
                (!shared).then_some(intersection)
            }
            LineIntersection::Collinear { intersection } => Some(intersection.start),
        }
    })
}

/// Valid for sure without the full OGC check: enough points per ring, no two rings or edges
/// meeting anywhere (one sweep), every hole inside its shell and no part inside another.
fn surely_valid(mp: &MultiPolygon<f64>) -> bool {
    let rings_ok = mp.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).all(|r| {
        let mut distinct = r.0.clone();
        distinct.dedup();
        r.is_closed() && distinct.len() >= 4 && r.0.iter().all(|c| c.x.is_finite() && c.y.is_finite())
    });
    if !rings_ok || self_intersection(mp).is_some() {
        return false;
    }
    // Rings that do not meet are nested or apart: one vertex tells which.
    let inside =
        |ring: &LineString<f64>, shell: &LineString<f64>| Polygon::new(shell.clone(), vec![]).intersects(&ring.0[0]);
    let holes_inside = mp.0.iter().all(|p| p.interiors().iter().all(|h| inside(h, p.exterior())));
    let parts_apart = mp.0.iter().enumerate().all(|(i, a)| {
        mp.0.iter().enumerate().all(|(j, b)| {
            i == j || !inside(a.exterior(), b.exterior()) || b.interiors().iter().any(|h| inside(a.exterior(), h))
        })
    });
    holes_inside && parts_apart
}

fn invalid_reason(mp: &MultiPolygon<f64>) -> Option<(String, Option<At>)> {
    if surely_valid(mp) {
        return None;
    }
    let errors = mp.validation_errors();
    let first = errors.first()?;
    let place = self_intersection(mp)
        .map(At::of)
        .or_else(|| mp.0.first().and_then(|p| p.exterior().0.first()).map(|c| At::of(*c)));
    Some((first.to_string(), place))
}

/// Cuts a ring that passes through the same point more than once into simple loops.
fn split_ring(ring: &LineString<f64>) -> Vec<LineString<f64>> {
    let key = |c: &Coord<f64>| (c.x.to_bits(), c.y.to_bits());
    let mut path: Vec<Coord<f64>> = Vec::new();
    let mut seen: std::collections::HashMap<(u64, u64), usize> = std::collections::HashMap::new();
    let mut loops = Vec::new();
    let n = if ring.is_closed() { ring.0.len().saturating_sub(1) } else { ring.0.len() };
    for v in &ring.0[..n] {
        if let Some(&i) = seen.get(&key(v)) {
            let mut l: Vec<Coord<f64>> = path[i..].to_vec();
            l.push(*v);
            for c in &path[i + 1..] {
                seen.remove(&key(c));
            }
            path.truncate(i + 1);
            loops.push(LineString::new(l));
        } else {
            seen.insert(key(v), path.len());
            path.push(*v);
        }
    }
    if let Some(first) = path.first().copied() {
        path.push(first);
        loops.push(LineString::new(path));
    }
    // Fewer than three distinct points: a spike or a point, no area.
    loops.retain(|l| l.0.len() >= 4);
    loops
}

/// Boolean operations may return rings that pinch (touch themselves at a vertex), which are not
/// valid polygons: splits them into lobes (same winding as the shell) and holes (opposite).
fn unpinch(mp: MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::Area;
    let mut out = Vec::new();
    for p in mp.0 {
        let shell_sign = Polygon::new(p.exterior().clone(), vec![]).signed_area().signum();
        let (mut shells, mut holes) = (Vec::new(), Vec::new());
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in split_ring(ring) {
                // Loops winding like the shell are lobes (or islands in a hole), the others holes.
                if Polygon::new(l.clone(), vec![]).signed_area().signum() == shell_sign {
                    shells.push(l);
                } else {
                    holes.push(l);
                }
            }
        }
        let mut polys: Vec<Polygon<f64>> = shells.into_iter().map(|s| Polygon::new(s, vec![])).collect();
        for h in holes {
            let probe = Polygon::new(h.clone(), vec![]).interior_point();
            let owner = polys.iter().position(|s| {
                probe.is_some_and(|q| {
                    s.exterior().is_closed() && Polygon::new(s.exterior().clone(), vec![]).intersects(&q)
                })
            });
            if let Some(i) = owner.or(if polys.is_empty() { None } else { Some(0) }) {
                polys[i].interiors_push(h);
            }
        }
        out.extend(polys);
    }
    MultiPolygon(out)
}

/// The result of a boolean operation made valid and rid of crumbs smaller than `min` m²;
/// returns what remains and what was dropped.
fn without_crumbs(mp: MultiPolygon<f64>, min: f64) -> (MultiPolygon<f64>, Vec<Polygon<f64>>) {
    let (keep, drop): (Vec<_>, Vec<_>) =
        unpinch(mp).0.into_iter().partition(|p| area_m2(&MultiPolygon(vec![p.clone()])) >= min);
    (MultiPolygon(keep), drop)
}

/// Pairs of nodes at the same level whose areas overlap by more than the tolerance, in code
/// order, with the overlap.
fn overlaps(tree: &Tree, level: RegionLevel, min: f64) -> Vec<(RegionCode, RegionCode, MultiPolygon<f64>)> {
    // A derived region overlaps a neighbour only where its children do: those are reported.
    let nodes: Vec<(&RegionCode, &MultiPolygon<f64>, Rect<f64>)> = tree
        .values()
        .filter(|n| n.code.level() == level && !n.derived)
        .filter_map(|n| n.shape.as_ref().and_then(|s| Some((&n.code, s, bbox(s)?))))
        .collect();
    if nodes.len() < 2 {
        return vec![];
    }
    // Cheap test first: no overlap at all when the union is as large as the sum of the parts.
    let sum: f64 = nodes.iter().map(|n| area_m2(n.1)).sum();
    let union = geo::unary_union(nodes.iter().map(|n| n.1));
    if sum - area_m2(&union) <= min {
        return vec![];
    }
    let tree = rstar::RTree::bulk_load(
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners([n.2.min().x, n.2.min().y], [n.2.max().x, n.2.max().y]),
                    i,
                )
            })
            .collect(),
    );
    let mut out = Vec::new();
    for (i, a) in nodes.iter().enumerate() {
        let envelope = rstar::AABB::from_corners([a.2.min().x, a.2.min().y], [a.2.max().x, a.2.max().y]);
        let mut js: Vec<usize> =
            tree.locate_in_envelope_intersecting(&envelope).map(|g| g.data).filter(|j| *j > i).collect();
        js.sort_unstable();
        for j in js {
            let b = &nodes[j];
            let x = a.1.intersection(b.1);
            if area_m2(&x) > min {
                out.push((a.0.clone(), b.0.clone(), x));
            }
        }
    }
    out
}

/// A gap to report or fill: where, in which parent's area, and the child it borders most.
struct Gap {
    shape: MultiPolygon<f64>,
    parent: Named,
    neighbour: Option<RegionCode>,
}

/// The child whose boundary the gap shares most of (by length), among `candidates`.
fn best_neighbour<'a>(gap: &Polygon<f64>, candidates: impl Iterator<Item = &'a Node>) -> Option<RegionCode> {
    let gb = gap.bounding_rect()?;
    let span = (gb.max().x - gb.min().x).max(gb.max().y - gb.min().y);
    // Gaps are bounded by their neighbours' own edges, up to the rounding of the boolean
    // operations: a centimetre or a millionth of the gap's size is "on" the boundary.
    let eps = 1e-7_f64.max(span * 1e-6);
    let segments: Vec<(Point<f64>, f64)> = std::iter::once(gap.exterior())
        .chain(gap.interiors())
        .flat_map(|r| r.lines())
        .map(|l| (Point((l.start + l.end) / 2.0), Haversine.distance(Point(l.start), Point(l.end))))
        .collect();
    let mut best: Option<(f64, RegionCode)> = None;
    for n in candidates {
        let Some(shape) = &n.shape else { continue };
        let Some(nb) = bbox(shape) else { continue };
        if nb.max().x < gb.min().x - eps
            || nb.min().x > gb.max().x + eps
            || nb.max().y < gb.min().y - eps
            || nb.min().y > gb.max().y + eps
        {
            continue;
        }
        let rings: Vec<&LineString<f64>> =
            shape.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).collect();
        let shared: f64 = segments
            .iter()
            .filter(|(m, _)| rings.iter().any(|r| Euclidean.distance(m, *r) <= eps))
            .map(|(_, len)| len)
            .sum();
        if shared > 0.0 && best.as_ref().is_none_or(|(b, _)| shared > *b) {
            best = Some((shared, n.code.clone()));
        }
    }
    best.map(|(_, c)| c)
}

fn children<'a>(tree: &'a Tree, parent: &'a RegionCode) -> impl Iterator<Item = &'a Node> + 'a {
    tree.values().filter(move |n| n.code.parent().as_ref() == Some(parent))
}

/// Gaps of every parent (explicit: its area not covered by children; derived: thin holes among
/// the children of its level), and the enclaves of derived parents.
fn gaps(tree: &Tree, tol: &Tolerances) -> (Vec<Gap>, Vec<Note>) {
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    for parent in tree.values().filter(|p| p.code.level() != RegionLevel::Grid && !p.derived) {
        let Some(outline) = &parent.shape else { continue };
        let kids: Vec<&Node> = children(tree, &parent.code).filter(|c| c.shape.is_some()).collect();
        if kids.is_empty() {
            continue;
        }
        let union = geo::unary_union(kids.iter().filter_map(|k| k.shape.as_ref()));
        for hole in outline.difference(&union).0 {
            let shape = MultiPolygon(vec![hole.clone()]);
            if area_m2(&shape) > tol.min_area_m2 {
                let neighbour = best_neighbour(&hole, kids.iter().copied());
                out.push(Gap { shape, parent: parent.named(), neighbour });
            }
        }
    }
    // Derived parents: the holes of the union of their level, outside every explicit parent.
    let explicit: Vec<&Node> = tree.values().filter(|p| !p.derived && p.shape.is_some()).collect();
    for level in [RegionLevel::Street, RegionLevel::Community, RegionLevel::Grid] {
        // Derived regions have the holes of their children: those are looked at one level down.
        let level_nodes: Vec<&Node> =
            tree.values().filter(|n| n.code.level() == level && n.shape.is_some() && !n.derived).collect();
        let under_derived =
            level_nodes.iter().any(|n| n.code.parent().and_then(|p| tree.get(&p)).is_some_and(|p| p.derived));
        if !under_derived {
            continue;
        }
        let union = geo::unary_union(level_nodes.iter().filter_map(|n| n.shape.as_ref()));
        for hole in union.0.iter().flat_map(|p| p.interiors()) {
            let hole = Polygon::new(hole.clone(), vec![]);
            let shape = MultiPolygon(vec![hole.clone()]);
            let area = area_m2(&shape);
            if area <= tol.min_area_m2 {
                continue;
            }
            let inside_explicit = at(&shape).is_some_and(|a| {
                let p = Point::new(a.lon, a.lat);
                explicit.iter().any(|e| e.code.level() < level && e.shape.as_ref().is_some_and(|s| s.intersects(&p)))
            });
            if inside_explicit {
                continue;
            }
            let neighbour = best_neighbour(&hole, level_nodes.iter().copied());
            let parent = neighbour
                .as_ref()
                .and_then(|c| c.parent())
                .and_then(|p| tree.get(&p))
                .map(Node::named)
                .unwrap_or(Named { code: String::new(), name: String::new() });
            let width = width_m(&hole);
            if width < tol.max_gap_width_m {
                out.push(Gap { shape, parent, neighbour });
            } else {
                notes.push(Note::Enclave {
                    parent,
                    area_m2: round_m2(area),
                    width_m: (width * 10.0).round() / 10.0,
                    at: at(&MultiPolygon(vec![hole])),
                });
            }
        }
    }
    (out, notes)
}

/// Checks the tree: geometries, overlaps at each level, gaps, children outside their parent.
pub fn check(tree: &Tree, tol: &Tolerances) -> Report {
    let mut r = Report::default();
    for n in tree.values() {
        match &n.shape {
            None if !n.derived && n.code.level() == RegionLevel::Grid => {
                r.issues.push(Issue::NoArea { region: n.named(), reason: "a grid needs a geometry".into() })
            }
            // A derived geometry is made by the union: its children carry its faults.
            Some(s) if !n.derived => {
                if let Some((reason, at)) = invalid_reason(s) {
                    r.issues.push(Issue::InvalidGeometry { region: n.named(), reason, at });
                } else if area_m2(s) <= tol.min_area_m2 {
                    r.issues.push(Issue::NoArea { region: n.named(), reason: "the geometry has no area".into() });
                }
            }
            _ => {}
        }
    }
    for level in [RegionLevel::Street, RegionLevel::Community, RegionLevel::Grid] {
        for (a, b, x) in overlaps(tree, level, tol.min_area_m2) {
            r.issues.push(Issue::Overlap {
                a: tree[&a].named(),
                b: tree[&b].named(),
                area_m2: round_m2(area_m2(&x)),
                at: at(&x),
            });
        }
    }
    for child in tree.values() {
        let Some(parent) = child.code.parent().and_then(|p| tree.get(&p)) else { continue };
        if parent.derived {
            continue;
        }
        if let (Some(c), Some(p)) = (&child.shape, &parent.shape) {
            let outside = c.difference(p);
            let a = area_m2(&outside);
            if a > tol.min_area_m2 {
                r.issues.push(Issue::OutsideParent {
                    region: child.named(),
                    parent: parent.named(),
                    area_m2: round_m2(a),
                    at: at(&outside),
                });
            }
        }
    }
    let (gaps, notes) = gaps(tree, tol);
    for g in gaps {
        let hole = &g.shape.0[0];
        r.issues.push(Issue::Gap {
            parent: g.parent,
            area_m2: round_m2(area_m2(&g.shape)),
            width_m: (width_m(hole) * 10.0).round() / 10.0,
            at: at(&g.shape),
        });
    }
    r.notes = notes;
    r
}

/// Recomputes the geometry of every derived region from its children, deepest first.
pub fn derive_parents(tree: &mut Tree) {
    for level in [RegionLevel::Community, RegionLevel::Street, RegionLevel::District] {
        let parents: Vec<RegionCode> =
            tree.values().filter(|n| n.derived && n.code.level() == level).map(|n| n.code.clone()).collect();
        for p in parents {
            // A parent whose children are not in the tree keeps the geometry it has.
            if children(tree, &p).next().is_none() {
                continue;
            }
            let union = geo::unary_union(children(tree, &p).filter_map(|c| c.shape.as_ref()));
            if let Some(n) = tree.get_mut(&p) {
                n.shape = (!union.0.is_empty()).then_some(union);
            }
        }
    }
}

/// Fixes what can be fixed among the editable regions and returns every change, in order.
/// Derived parents are recomputed at the end. Run [`check`] afterwards for what remains.
pub fn repair(tree: &mut Tree, tol: &Tolerances) -> Vec<Change> {
    let mut changes = Vec::new();
    let editable: Vec<RegionCode> =
        tree.values().filter(|n| n.editable && n.shape.is_some()).map(|n| n.code.clone()).collect();
    // 1. Invalid geometries: re-noded with the non-zero rule.
    for code in &editable {
        let n = tree.get_mut(code).expect("listed above");
        let Some(shape) = n.shape.clone() else { continue };
        let Some((reason, place)) = invalid_reason(&shape) else { continue };
        let fixed =
            shape.union_with_fill_rule(&MultiPolygon::<f64>(vec![]), geo::algorithm::bool_ops::FillRule::NonZero);
        let (fixed, _) = without_crumbs(fixed, tol.min_area_m2);
        changes.push(Change::MadeValid {
            region: n.named(),
            reason,
            area_before_m2: round_m2(area_m2(&shape)),
            area_after_m2: round_m2(area_m2(&fixed)),
            at: place,
        });
        n.shape = Some(fixed);
    }
    // 2. Children sticking out of an explicit parent: clipped to it.
    for code in &editable {
        let Some(parent) = code.parent().and_then(|p| tree.get(&p)).filter(|p| !p.derived).cloned() else { continue };
        let Some(outline) = &parent.shape else { continue };
        let n = tree.get_mut(code).expect("listed above");
        let Some(shape) = n.shape.clone() else { continue };
        let outside = shape.difference(outline);
        let a = area_m2(&outside);
        if a > tol.min_area_m2 {
            changes.push(Change::ClippedToParent {
                region: n.named(),
                parent: parent.named(),
                area_m2: round_m2(a),
                at: at(&outside),
            });
            let (clipped, crumbs) = without_crumbs(shape.intersection(outline), tol.min_area_m2);
            n.shape = Some(clipped);
            crumbs_dropped(&mut changes, n, crumbs);
        }
    }
    // 3. Overlaps: the smaller code keeps the overlap (unless only it may be changed).
    for level in [RegionLevel::Street, RegionLevel::Community, RegionLevel::Grid] {
        for (a, b, _) in overlaps(tree, level, tol.min_area_m2) {
            let (loser, keeper) = if tree[&b].editable {
                (b, a)
            } else if tree[&a].editable {
                (a, b)
            } else {
                continue;
            };
            let (Some(l), Some(k)) = (tree[&loser].shape.clone(), tree[&keeper].shape.clone()) else { continue };
            // Earlier removals may have shrunk it already.
            let x = l.intersection(&k);
            let area = area_m2(&x);
            if area <= tol.min_area_m2 {
                continue;
            }
            let keeper_named = tree[&keeper].named();
            let n = tree.get_mut(&loser).expect("an overlap's region");
            changes.push(Change::OverlapRemoved {
                region: n.named(),
                kept_by: keeper_named,
                area_m2: round_m2(area),
                at: at(&x),
            });
            let (rest, crumbs) = without_crumbs(l.difference(&k), tol.min_area_m2);
            n.shape = Some(rest);
            crumbs_dropped(&mut changes, n, crumbs);
        }
    }
    // 4. Gaps: merged into the editable neighbour sharing the longest boundary.
    derive_parents(tree);
    let (found, _) = gaps(tree, tol);
    for g in found {
        let into = g.neighbour.filter(|c| tree[c].editable).or_else(|| {
            let editable_nodes: Vec<&Node> = tree.values().filter(|n| n.editable && n.shape.is_some()).collect();
            best_neighbour(&g.shape.0[0], editable_nodes.into_iter())
        });
        let Some(into) = into else { continue };
        let n = tree.get_mut(&into).expect("a neighbour");
        let Some(shape) = n.shape.clone() else { continue };
        changes.push(Change::GapFilled {
            parent: g.parent,
            into: n.named(),
            area_m2: round_m2(area_m2(&g.shape)),
            at: at(&g.shape),
        });
        n.shape = Some(unpinch(shape.union(&g.shape)));
    }
    derive_parents(tree);
    changes
}

fn crumbs_dropped(changes: &mut Vec<Change>, n: &Node, crumbs: Vec<Polygon<f64>>) {
    for c in crumbs {
        let mp = MultiPolygon(vec![c]);
        changes.push(Change::FragmentDropped { region: n.named(), area_m2: round_m2(area_m2(&mp)), at: at(&mp) });
    }
}

#[cfg(test)]
mod tests;
