//! Planning an import of regions from GeoJSON: which regions to create, update and retire, the
//! codes of new ones, where retired regions' area went, and the validation report. Pure: the
//! caller reads the file and the stored regions, and writes the plan.
//!
//! Each feature is one region at `level`. Its key is the value of the code property: when every
//! key is a region code of that level, the codes are used as they are; otherwise keys are the
//! source's own identifiers (census tract numbers, council ids) and codes are allocated under the
//! `under` region, remembered with the key so that importing again updates in place. A parent
//! property groups features into parents one level up (created on the fly, their geometry the
//! union of their children). Regions under the root that the file no longer has are retired,
//! never deleted: cases keep pointing at them. Codes are never reused.
//!
//! New children of a parent are numbered west → east, north → south (rows of about one child's
//! height), as the grid-coding standards do.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::{BoundingRect, InteriorPoint, MultiPolygon};
use gridkeeper_domain::{FieldError, Region, RegionCode, RegionLevel};
use serde::Serialize;

use crate::tree::{self, area_m2, Node, Report, Tolerances, Tree};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub level: RegionLevel,
    pub code_property: String,
    /// Defaults to the code property.
    pub name_property: Option<String>,
    pub parent_property: Option<String>,
    /// The region the imported regions (or their parents) hang under.
    pub under: Option<RegionCode>,
    /// Name for `under` if it does not exist yet (it is then created, derived from its children).
    pub under_name: Option<String>,
    pub repair: bool,
    pub tolerances: Tolerances,
}

/// One feature of the file.
#[derive(Debug, Clone)]
pub struct Feature {
    /// 1-based position in the file.
    pub number: usize,
    pub key: String,
    pub name: String,
    pub parent: Option<String>,
    pub shape: MultiPolygon<f64>,
}

/// A region as stored before the import.
#[derive(Debug, Clone)]
pub struct Existing {
    pub region: Region,
    pub key: Option<String>,
    pub derived: bool,
    pub retired: bool,
}

/// A region the import writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planned {
    pub code: RegionCode,
    pub name: String,
    pub key: Option<String>,
    pub geometry: Option<serde_json::Value>,
    pub derived: bool,
    /// It did not exist before.
    pub new: bool,
}

/// Part of a retired region's area now in another region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lineage {
    pub from: RegionCode,
    pub to: RegionCode,
    pub area_m2: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub features: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub retired: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Regions to write, parents before children.
    pub regions: Vec<Planned>,
    pub retire: Vec<RegionCode>,
    pub lineage: Vec<Lineage>,
    pub report: Report,
    pub summary: Summary,
    /// The code of every feature's key.
    pub codes: BTreeMap<String, RegionCode>,
}

impl Plan {
    /// Whether the tree is valid after the import (and its repairs, if asked for).
    pub fn accepted(&self) -> bool {
        self.report.is_valid()
    }
}

/// What the caller is told as the work goes on: a stage, items done, items in all.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

fn bad(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, reason)
}

fn property(f: &serde_json::Value, name: &str, number: usize) -> Result<Option<String>, FieldError> {
    match &f["properties"][name] {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.trim().to_string())),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(bad(
            format!("features[{}].properties.{name}", number - 1),
            format!("must be a string or a number, not {other}"),
        )),
    }
}

/// Reads the features of a GeoJSON FeatureCollection.
pub fn read_features(text: &str, opts: &ImportOptions, progress: Progress) -> Result<Vec<Feature>, FieldError> {
    let fc: serde_json::Value = serde_json::from_str(text).map_err(|e| bad("file", format!("is not JSON: {e}")))?;
    if fc["type"] != "FeatureCollection" {
        return Err(bad("file", "must be a GeoJSON FeatureCollection"));
    }
    let features = fc["features"].as_array().ok_or_else(|| bad("features", "must be an array"))?;
    let name_property = opts.name_property.as_deref().unwrap_or(&opts.code_property);
    let mut out: Vec<Feature> = Vec::with_capacity(features.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, f) in features.iter().enumerate() {
        let number = i + 1;
        let key = property(f, &opts.code_property, number)?.ok_or_else(|| {
            bad(format!("features[{i}].properties.{}", opts.code_property), "is missing (the code property)")
        })?;
        if let Some(first) = seen.insert(key.clone(), number) {
            return Err(bad(
                format!("features[{i}].properties.{}", opts.code_property),
                format!("`{key}` is also the key of feature {first}; keys must be unique"),
            ));
        }
        let name = property(f, name_property, number)?.ok_or_else(|| {
            bad(format!("features[{i}].properties.{name_property}"), "is missing (the name property)")
        })?;
        let parent = match &opts.parent_property {
            Some(p) => Some(
                property(f, p, number)?
                    .ok_or_else(|| bad(format!("features[{i}].properties.{p}"), "is missing (the parent property)"))?,
            ),
            None => None,
        };
        let shape = crate::parse_geometry(&f["geometry"]).map_err(|e| bad(format!("features[{i}].geometry"), e))?;
        out.push(Feature { number, key, name, parent, shape });
        progress("reading", number as u64, features.len() as u64);
    }
    if out.is_empty() {
        return Err(bad("features", "the file has no features"));
    }
    Ok(out)
}

fn level_above(l: RegionLevel) -> Option<RegionLevel> {
    match l {
        RegionLevel::District => None,
        RegionLevel::Street => Some(RegionLevel::District),
        RegionLevel::Community => Some(RegionLevel::Street),
        RegionLevel::Grid => Some(RegionLevel::Community),
    }
}

fn parse_shape(r: &Region) -> Option<MultiPolygon<f64>> {
    r.geometry.as_ref().and_then(|g| crate::parse_geometry(g).ok())
}

/// Allocates child numbers: never one used before (retired codes stay taken).
struct Numbers {
    last: HashMap<RegionCode, u16>,
}

impl Numbers {
    fn new(existing: &[Existing]) -> Self {
        let mut last: HashMap<RegionCode, u16> = HashMap::new();
        for e in existing {
            if let Some(parent) = e.region.code.parent() {
                let n: u16 = e.region.code.as_str()[parent.as_str().len()..].parse().unwrap_or(0);
                let slot = last.entry(parent).or_default();
                *slot = (*slot).max(n);
            }
        }
        Self { last }
    }

    fn next(&mut self, parent: &RegionCode) -> Result<RegionCode, FieldError> {
        let slot = self.last.entry(parent.clone()).or_default();
        *slot += 1;
        parent.child(*slot).map_err(|_| {
            bad("features", format!("{parent} would get more than 999 children; group them with a parent property"))
        })
    }
}

/// Orders new siblings west → east in rows north → south, each row about one child high.
fn reading_order(items: &mut [(String, &MultiPolygon<f64>)]) {
    let mut heights: Vec<f64> = items.iter().filter_map(|(_, s)| s.bounding_rect()).map(|r| r.height()).collect();
    heights.sort_by(f64::total_cmp);
    let row = heights.get(heights.len() / 2).copied().filter(|h| *h > 0.0).unwrap_or(1.0);
    let top = items.iter().filter_map(|(_, s)| s.bounding_rect()).map(|r| r.max().y).fold(f64::MIN, f64::max);
    let place =
        |s: &MultiPolygon<f64>| s.interior_point().map_or((0, 0.0), |p| (((top - p.y()) / row).floor() as i64, p.x()));
    items.sort_by(|a, b| {
        let (ra, xa) = place(a.1);
        let (rb, xb) = place(b.1);
        ra.cmp(&rb).then(xa.total_cmp(&xb)).then_with(|| a.0.cmp(&b.0))
    });
}

/// Plans the import of `features` given the regions stored now.
pub fn plan(
    features: Vec<Feature>,
    existing: &[Existing],
    opts: &ImportOptions,
    progress: Progress,
) -> Result<Plan, FieldError> {
    let level = opts.level;
    let as_codes: Option<Vec<RegionCode>> =
        features.iter().map(|f| RegionCode::parse(&f.key).ok().filter(|c| c.level() == level)).collect();
    let live: Vec<&Existing> = existing.iter().filter(|e| !e.retired).collect();
    let by_code: HashMap<&RegionCode, &Existing> = live.iter().map(|e| (&e.region.code, *e)).collect();
    let mut numbers = Numbers::new(existing);
    // Regions created on the way (root, its missing ancestors, parents): code → (name, key).
    let mut created: BTreeMap<RegionCode, (String, Option<String>)> = BTreeMap::new();
    // Each feature's code and parent.
    let mut codes: BTreeMap<String, RegionCode> = BTreeMap::new();
    // The codes whose regions at `level` the file describes completely.
    let scopes: Vec<RegionCode>;

    if let Some(list) = as_codes {
        for (f, code) in features.iter().zip(&list) {
            let parent =
                code.parent().ok_or_else(|| bad("level", "districts cannot be imported by code without a parent"))?;
            if !by_code.contains_key(&parent) {
                return Err(bad(
                    format!("features[{}].properties.{}", f.number - 1, opts.code_property),
                    format!("the parent {parent} of {code} does not exist; import the level above first"),
                ));
            }
            if let Some(u) = &opts.under {
                if !u.contains(code) {
                    return Err(bad("under", format!("{code} does not lie under {u}")));
                }
            }
            codes.insert(f.key.clone(), code.clone());
        }
        scopes = match &opts.under {
            Some(u) => vec![u.clone()],
            None => list.iter().filter_map(RegionCode::parent).collect::<BTreeSet<_>>().into_iter().collect(),
        };
    } else {
        let root = opts.under.clone().ok_or_else(|| {
            bad("under", "the keys are not region codes: name the region to import under (--under CODE)")
        })?;
        let parent_level = match opts.parent_property {
            Some(_) => level_above(level).ok_or_else(|| bad("parent_property", "districts have no parent"))?,
            None => level,
        };
        let wanted = level_above(parent_level).ok_or_else(|| bad("level", "districts are imported by their codes"))?;
        if root.level() != wanted {
            return Err(bad(
                "under",
                format!(
                    "{root} is a {}; {} regions{} hang under a {}",
                    root.level().as_str(),
                    level.as_str(),
                    if opts.parent_property.is_some() { " grouped by a parent" } else { "" },
                    wanted.as_str()
                ),
            ));
        }
        // The root and its ancestors, created when missing.
        let mut up = Some(root.clone());
        while let Some(c) = up {
            if !by_code.contains_key(&c) {
                let name =
                    if c == root { opts.under_name.clone().unwrap_or_else(|| c.to_string()) } else { c.to_string() };
                created.insert(c.clone(), (name, None));
            }
            up = c.parent();
        }
        // Parents: an existing region under the root with that key (or code), or a new one.
        let mut parent_of: HashMap<String, RegionCode> = HashMap::new();
        if opts.parent_property.is_some() {
            let values: BTreeSet<&String> = features.iter().filter_map(|f| f.parent.as_ref()).collect();
            for v in values {
                let found = live
                    .iter()
                    .filter(|e| e.region.code.level() == parent_level && root.contains(&e.region.code))
                    .find(|e| e.key.as_deref() == Some(v.as_str()) || e.region.code.as_str() == v.as_str())
                    .map(|e| e.region.code.clone());
                let code = match found {
                    Some(c) => c,
                    None => {
                        let c = numbers.next(&root)?;
                        created.insert(c.clone(), (v.clone(), Some(v.clone())));
                        c
                    }
                };
                parent_of.insert(v.clone(), code);
            }
        }
        let parent = |f: &Feature| f.parent.as_ref().map_or(root.clone(), |p| parent_of[p].clone());
        // Features already stored (same key under the root, same parent) keep their code.
        let mut fresh: BTreeMap<RegionCode, Vec<(String, &MultiPolygon<f64>)>> = BTreeMap::new();
        for f in &features {
            let p = parent(f);
            let same = live.iter().find(|e| {
                e.region.code.level() == level
                    && root.contains(&e.region.code)
                    && e.key.as_deref() == Some(f.key.as_str())
            });
            match same {
                Some(e) if e.region.code.parent().as_ref() == Some(&p) => {
                    codes.insert(f.key.clone(), e.region.code.clone());
                }
                _ => fresh.entry(p).or_default().push((f.key.clone(), &f.shape)),
            }
        }
        for (p, mut items) in fresh {
            reading_order(&mut items);
            for (key, _) in items {
                codes.insert(key, numbers.next(&p)?);
            }
        }
        scopes = vec![root];
    }

    // The tree after the import: what stays of the stored regions under the scopes, and the file.
    let imported: BTreeSet<&RegionCode> = codes.values().collect();
    let in_scope = |c: &RegionCode| scopes.iter().any(|s| s.contains(c));
    let mut retire: BTreeSet<RegionCode> = BTreeSet::new();
    for e in &live {
        let c = &e.region.code;
        if c.level() == level && in_scope(c) && !imported.contains(c) {
            retire.insert(c.clone());
        }
    }
    // Below a retired region, everything goes too.
    for e in &live {
        if retire.iter().any(|r| r != &e.region.code && r.contains(&e.region.code)) {
            retire.insert(e.region.code.clone());
        }
    }
    let mut t: Tree = Tree::new();
    // The scopes, their ancestors, and the other children of those ancestors (so that an
    // ancestor with its own outline is compared with all of its children).
    let ancestor = |c: &RegionCode| scopes.iter().any(|s| c.contains(s));
    for e in &live {
        let c = &e.region.code;
        let sibling = c.parent().is_some_and(|p| ancestor(&p));
        if retire.contains(c) || !(in_scope(c) || ancestor(c) || sibling) {
            continue;
        }
        t.insert(
            c.clone(),
            Node {
                code: c.clone(),
                name: e.region.name.clone(),
                shape: parse_shape(&e.region),
                derived: e.derived,
                editable: false,
            },
        );
    }
    for (c, (name, _)) in &created {
        t.insert(c.clone(), Node { code: c.clone(), name: name.clone(), shape: None, derived: true, editable: false });
    }
    let names: HashMap<&String, &Feature> = features.iter().map(|f| (&f.key, f)).collect();
    for (key, code) in &codes {
        let f = names[key];
        t.insert(
            code.clone(),
            Node {
                code: code.clone(),
                name: f.name.clone(),
                shape: Some(f.shape.clone()),
                derived: false,
                editable: true,
            },
        );
    }
    // Derived parents left without children go too.
    loop {
        let empty: Vec<RegionCode> = t
            .values()
            .filter(|n| {
                n.derived && n.code.level() != RegionLevel::Grid && in_scope(&n.code) && !scopes.contains(&n.code)
            })
            .filter(|n| !t.keys().any(|k| k.parent().as_ref() == Some(&n.code)))
            .map(|n| n.code.clone())
            .collect();
        if empty.is_empty() {
            break;
        }
        for c in empty {
            t.remove(&c);
            if by_code.contains_key(&c) {
                retire.insert(c);
            }
        }
    }
    tree::derive_parents(&mut t);
    progress("validating", 0, 1);
    let mut report = tree::check(&t, &opts.tolerances);
    if !report.is_valid() && opts.repair {
        progress("repairing", 0, 1);
        let changes = tree::repair(&mut t, &opts.tolerances);
        report = tree::check(&t, &opts.tolerances);
        report.changes = changes;
    }
    progress("validating", 1, 1);

    // What to write: new regions, and stored ones whose name or geometry changed.
    let keys: HashMap<&RegionCode, &String> = codes.iter().map(|(k, c)| (c, k)).collect();
    let mut summary = Summary { features: features.len(), retired: retire.len(), ..Default::default() };
    let mut regions = Vec::new();
    for n in t.values() {
        let geometry = n.shape.as_ref().map(crate::to_geojson);
        let key = keys.get(&n.code).map(|k| (*k).clone()).or_else(|| created.get(&n.code).and_then(|c| c.1.clone()));
        let before = by_code.get(&n.code);
        let is_feature = keys.contains_key(&n.code);
        match before {
            None => {
                summary.created += usize::from(is_feature);
                regions.push(Planned {
                    code: n.code.clone(),
                    name: n.name.clone(),
                    key,
                    geometry,
                    derived: n.derived,
                    new: true,
                });
            }
            Some(e) => {
                let same_shape = parse_shape(&e.region) == n.shape;
                if same_shape && e.region.name == n.name {
                    summary.unchanged += usize::from(is_feature);
                } else {
                    summary.updated += usize::from(is_feature);
                    regions.push(Planned {
                        code: n.code.clone(),
                        name: n.name.clone(),
                        key: key.or_else(|| e.key.clone()),
                        geometry,
                        derived: n.derived,
                        new: false,
                    });
                }
            }
        }
    }
    // Where retired regions' area went.
    let mut lineage = Vec::new();
    for code in &retire {
        let Some(old) = by_code.get(code).and_then(|e| parse_shape(&e.region)) else { continue };
        for n in t.values().filter(|n| n.code.level() == code.level()) {
            let Some(shape) = &n.shape else { continue };
            let overlap = geo::BooleanOps::intersection(&old, shape);
            let a = area_m2(&overlap);
            if a > opts.tolerances.min_area_m2 {
                lineage.push(Lineage { from: code.clone(), to: n.code.clone(), area_m2: (a * 100.0).round() / 100.0 });
            }
        }
    }
    Ok(Plan { regions, retire: retire.into_iter().collect(), lineage, report, summary, codes })
}

#[cfg(test)]
mod tests;
