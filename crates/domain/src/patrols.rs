//! Patrols (巡查) of grid members: the positions a phone samples while a patrol runs, which of
//! them lie far outside the patrol's grid or imply an implausible speed (kept, flagged), the
//! length of the track, and the monthly quota of hours and visits with the share met. No I/O.

use serde::{Deserialize, Serialize};

use crate::{FieldError, LatLon, Millis, HOUR};

/// Most positions one upload may carry (a phone queues about one a minute; a day offline fits).
pub const MAX_BATCH: usize = 500;

/// How the server judges positions and running patrols (`[server.patrols]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatrolRules {
    /// A position farther than this from its grid's boundary (outside it) is flagged `far`.
    pub outside_m: f64,
    /// A position reached from the one before faster than this (metres a second) is flagged
    /// `implausible` and left out of the track's length.
    pub max_speed_mps: f64,
    /// Positions less accurate than this (metres) are kept but left out of the track's length.
    pub max_accuracy_m: f64,
    /// A patrol left running this long is ended by the server at its last position.
    pub max_hours: u32,
}

impl Default for PatrolRules {
    fn default() -> Self {
        Self { outside_m: 200.0, max_speed_mps: 25.0, max_accuracy_m: 100.0, max_hours: 12 }
    }
}

impl PatrolRules {
    pub fn validate(&self) -> Result<(), FieldError> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.outside_m) {
            return Err(FieldError::new("outside_m", "a distance in metres > 0"));
        }
        if !positive(self.max_speed_mps) {
            return Err(FieldError::new("max_speed_mps", "a speed in metres a second > 0"));
        }
        if !positive(self.max_accuracy_m) {
            return Err(FieldError::new("max_accuracy_m", "a distance in metres > 0"));
        }
        if !(1..=48).contains(&self.max_hours) {
            return Err(FieldError::new("max_hours", "between 1 and 48 hours"));
        }
        Ok(())
    }

    /// When a patrol that started at `started_at` is ended by the server.
    pub fn ends_by(&self, started_at: Millis) -> Millis {
        started_at + i64::from(self.max_hours) * HOUR
    }
}

/// A position as the phone sampled it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub at: Millis,
    pub point: LatLon,
    /// The phone's accuracy radius, metres.
    pub accuracy_m: f64,
}

impl Fix {
    /// A fix whose accuracy is a finite number ≥ 0 (`field` names the position in the batch).
    pub fn new(field: &str, at: Millis, lat: f64, lon: f64, accuracy_m: f64) -> Result<Self, FieldError> {
        let point = LatLon::new(lat, lon).map_err(|e| FieldError::new(format!("{field}.{}", e.field), e.reason))?;
        if !accuracy_m.is_finite() || !(0.0..=100_000.0).contains(&accuracy_m) {
            return Err(FieldError::new(format!("{field}.accuracy"), "metres between 0 and 100000"));
        }
        Ok(Self { at, point, accuracy_m })
    }
}

/// A stored position: the fix and what the server found of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub fix: Fix,
    /// Metres outside the grid's boundary (0 inside or on it).
    pub outside_m: f64,
    /// Farther outside the grid than the rules allow.
    pub far: bool,
    /// Reached from the position before faster than the rules allow.
    pub implausible: bool,
}

/// A grid's outline: polygons of rings (the first the shell, the others holes), WGS-84.
pub type Outline = Vec<Vec<Vec<LatLon>>>;

/// Metres from `p` to the nearest edge of `outline` when `p` lies outside every polygon, else 0
/// (a point in a hole is outside). Local equirectangular metres about `p`: exact enough for the
/// hundreds of metres a flag is about.
pub fn outside_m(p: LatLon, outline: &Outline) -> f64 {
    if outline.is_empty() {
        return 0.0;
    }
    let k = p.lat.to_radians().cos();
    const M: f64 = 111_195.0;
    let xy = |q: &LatLon| ((q.lon - p.lon) * k * M, (q.lat - p.lat) * M);
    let mut inside = false;
    let mut nearest = f64::INFINITY;
    for polygon in outline {
        let mut in_polygon = false;
        for (r, ring) in polygon.iter().enumerate() {
            let mut in_ring = false;
            for w in ring.windows(2) {
                let (a, b) = (xy(&w[0]), xy(&w[1]));
                nearest = nearest.min(segment_distance(a, b));
                // Crossing test of the ray from the origin (p) towards +x.
                if (a.1 > 0.0) != (b.1 > 0.0) {
                    let x = a.0 + (0.0 - a.1) * (b.0 - a.0) / (b.1 - a.1);
                    if x > 0.0 {
                        in_ring = !in_ring;
                    }
                }
            }
            if r == 0 {
                in_polygon = in_ring;
            } else if in_ring {
                in_polygon = false;
            }
        }
        inside |= in_polygon;
    }
    if inside || nearest < 1e-6 {
        0.0
    } else {
        nearest
    }
}

/// Distance from the origin to the segment a–b (plane).
fn segment_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0) };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

/// Reads a GeoJSON Polygon or MultiPolygon geometry (`[lon, lat]` pairs) into an outline;
/// `None` when it is neither.
pub fn outline_of(geometry: &serde_json::Value) -> Option<Outline> {
    let ring = |r: &serde_json::Value| -> Option<Vec<LatLon>> {
        r.as_array()?
            .iter()
            .map(|c| {
                let c = c.as_array()?;
                Some(LatLon { lon: c.first()?.as_f64()?, lat: c.get(1)?.as_f64()? })
            })
            .collect()
    };
    let polygon = |p: &serde_json::Value| -> Option<Vec<Vec<LatLon>>> { p.as_array()?.iter().map(ring).collect() };
    let coordinates = geometry.get("coordinates")?;
    match geometry.get("type")?.as_str()? {
        "Polygon" => Some(vec![polygon(coordinates)?]),
        "MultiPolygon" => coordinates.as_array()?.iter().map(polygon).collect(),
        _ => None,
    }
}

/// Judges new fixes of a patrol against its grid's outline and the positions before each (the
/// stored ones and the batch's own, in time order). `before` is the stored position just before
/// the batch's first fix, if any. Fixes come back sorted by time, each judged.
pub fn judge(rules: &PatrolRules, outline: &Outline, before: Option<&Fix>, mut fixes: Vec<Fix>) -> Vec<Position> {
    fixes.sort_by_key(|f| f.at);
    let mut last = before.copied();
    let mut out = Vec::with_capacity(fixes.len());
    for fix in fixes {
        let outside = outside_m(fix.point, outline);
        let implausible = last.is_some_and(|l| too_fast(rules, &l, &fix));
        out.push(Position { fix, outside_m: outside, far: outside > rules.outside_m, implausible });
        if !implausible {
            last = Some(fix);
        }
    }
    out
}

/// Whether going from `a` to `b` needs more than the rules' speed (beyond the two accuracies).
fn too_fast(rules: &PatrolRules, a: &Fix, b: &Fix) -> bool {
    let seconds = (b.at - a.at).abs() as f64 / 1000.0;
    let metres = (a.point.distance_m(&b.point) - a.accuracy_m - b.accuracy_m).max(0.0);
    metres > rules.max_speed_mps * seconds.max(1.0)
}

/// The length of a track in metres: the distances between consecutive positions in time order,
/// leaving out implausible ones and those less accurate than the rules allow.
pub fn track_length_m(rules: &PatrolRules, positions: &[Position]) -> f64 {
    let mut sorted: Vec<&Position> =
        positions.iter().filter(|p| !p.implausible && p.fix.accuracy_m <= rules.max_accuracy_m).collect();
    sorted.sort_by_key(|p| p.fix.at);
    sorted.windows(2).map(|w| w[0].fix.point.distance_m(&w[1].fix.point)).sum()
}

/// A month's quota of a grid member: hours on patrol and places visited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Quota {
    #[cfg_attr(feature = "openapi", schema(maximum = 744))]
    pub hours: u32,
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub visits: u32,
}

impl Default for Quota {
    fn default() -> Self {
        Self { hours: 40, visits: 60 }
    }
}

impl Quota {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.hours > 744 {
            return Err(FieldError::new("hours", "at most 744 (a month of hours)"));
        }
        if self.visits > 10_000 {
            return Err(FieldError::new("visits", "at most 10000"));
        }
        Ok(())
    }
}

/// What a grid member did in a month against their quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaMet {
    pub quota: Quota,
    /// Hours on patrol (patrols that started in the month).
    pub hours: f64,
    /// Places visited in the month.
    pub visits: u32,
}

impl QuotaMet {
    /// The share of the hours met, at most 1 (a quota of 0 is met).
    pub fn hours_share(&self) -> f64 {
        share(self.hours, f64::from(self.quota.hours))
    }
    /// The share of the visits met, at most 1.
    pub fn visits_share(&self) -> f64 {
        share(f64::from(self.visits), f64::from(self.quota.visits))
    }
    /// Both met in full.
    pub fn met(&self) -> bool {
        self.hours_share() >= 1.0 && self.visits_share() >= 1.0
    }
}

fn share(done: f64, quota: f64) -> f64 {
    if quota <= 0.0 {
        1.0
    } else {
        (done / quota).clamp(0.0, 1.0)
    }
}

/// The quota met of a group (a grid, a community): the mean of its members' shares and how many
/// met both. `None` for a group without members.
pub fn group_met(members: &[QuotaMet]) -> Option<(f64, f64, usize)> {
    if members.is_empty() {
        return None;
    }
    let n = members.len() as f64;
    let hours = members.iter().map(QuotaMet::hours_share).sum::<f64>() / n;
    let visits = members.iter().map(QuotaMet::visits_share).sum::<f64>() / n;
    Some((hours, visits, members.iter().filter(|m| m.met()).count()))
}

/// A calendar month (`2026-12`) in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new(field, "a month as YYYY-MM, e.g. 2026-12");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    /// The month `at` falls in, local time.
    pub fn of(at: Millis, utc_offset_hours: i32) -> Self {
        use chrono::Datelike;
        let local = chrono::DateTime::from_timestamp_millis(at + i64::from(utc_offset_hours) * HOUR)
            .unwrap_or_default()
            .naive_utc();
        Self { year: local.year(), month: local.month() }
    }

    /// Its first instant and the first instant of the next month (UTC milliseconds).
    pub fn bounds(&self, utc_offset_hours: i32) -> (Millis, Millis) {
        let start = |y: i32, m: u32| {
            chrono::NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc().timestamp_millis())
                .unwrap_or_default()
                - i64::from(utc_offset_hours) * HOUR
        };
        let (ny, nm) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        (start(self.year, self.month), start(ny, nm))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(lon0: f64, lat0: f64, side: f64) -> Outline {
        let p = |lon, lat| LatLon { lat, lon };
        vec![vec![vec![
            p(lon0, lat0),
            p(lon0 + side, lat0),
            p(lon0 + side, lat0 + side),
            p(lon0, lat0 + side),
            p(lon0, lat0),
        ]]]
    }

    fn fix(at: Millis, lat: f64, lon: f64) -> Fix {
        Fix { at, point: LatLon { lat, lon }, accuracy_m: 5.0 }
    }

    #[test]
    fn distance_outside_a_grid() {
        let grid = square(120.0, 30.0, 0.01);
        assert_eq!(outside_m(LatLon { lat: 30.005, lon: 120.005 }, &grid), 0.0);
        // On the boundary is inside.
        assert_eq!(outside_m(LatLon { lat: 30.0, lon: 120.005 }, &grid), 0.0);
        // 0.001° of latitude south of the edge: about 111 m.
        let d = outside_m(LatLon { lat: 29.999, lon: 120.005 }, &grid);
        assert!((d - 111.2).abs() < 1.0, "{d}");
        // East of the edge, 0.002° of longitude at 30°N: about 193 m.
        let d = outside_m(LatLon { lat: 30.005, lon: 120.012 }, &grid);
        assert!((d - 192.6).abs() < 1.5, "{d}");
        // Diagonal from a corner.
        let d = outside_m(LatLon { lat: 29.999, lon: 119.999 }, &grid);
        let straight = LatLon { lat: 29.999, lon: 119.999 }.distance_m(&LatLon { lat: 30.0, lon: 120.0 });
        assert!((d - straight).abs() < 1.0, "{d} {straight}");
        // A hole is outside; a second polygon is inside.
        let mut holed = square(120.0, 30.0, 0.01);
        let hole = square(120.004, 30.004, 0.002).remove(0).remove(0);
        holed[0].push(hole);
        assert!(outside_m(LatLon { lat: 30.005, lon: 120.005 }, &holed) > 50.0);
        let mut two = square(120.0, 30.0, 0.01);
        two.extend(square(120.02, 30.0, 0.01));
        assert_eq!(outside_m(LatLon { lat: 30.005, lon: 120.025 }, &two), 0.0);
        assert_eq!(outside_m(LatLon { lat: 31.0, lon: 121.0 }, &vec![]), 0.0);
    }

    #[test]
    fn outlines_read_from_geojson() {
        let g = serde_json::json!({"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.01, 30.0], [120.01, 30.01], [120.0, 30.0]]]});
        let o = outline_of(&g).unwrap();
        assert_eq!(o[0][0][1], LatLon { lat: 30.0, lon: 120.01 });
        let m = serde_json::json!({"type": "MultiPolygon", "coordinates": [[[[120.0, 30.0], [120.01, 30.0], [120.0, 30.01], [120.0, 30.0]]]]});
        assert_eq!(outline_of(&m).unwrap().len(), 1);
        assert!(outline_of(&serde_json::json!({"type": "Point", "coordinates": [1, 2]})).is_none());
    }

    #[test]
    fn far_and_implausible_positions_are_flagged_not_dropped() {
        let rules = PatrolRules::default();
        let grid = square(120.0, 30.0, 0.01);
        let fixes = vec![
            fix(60_000, 30.0051, 120.005),
            fix(0, 30.005, 120.005),
            // 300 m south of the grid: far.
            fix(120_000, 29.9973, 120.005),
            // 10 km away a minute later: implausible.
            fix(180_000, 30.09, 120.005),
            // Back near the start: judged against the last plausible one.
            fix(240_000, 30.0052, 120.005),
        ];
        let judged = judge(&rules, &grid, None, fixes);
        assert_eq!(judged.len(), 5, "nothing dropped");
        assert_eq!(judged.iter().map(|p| p.fix.at).collect::<Vec<_>>(), [0, 60_000, 120_000, 180_000, 240_000]);
        assert_eq!(judged.iter().map(|p| p.far).collect::<Vec<_>>(), [false, false, true, true, false]);
        assert_eq!(judged.iter().map(|p| p.implausible).collect::<Vec<_>>(), [false, false, false, true, false]);
        assert!(judged[2].outside_m > 250.0);
        // The stored position before the batch is judged against too.
        let before = fix(0, 30.5, 120.005);
        let again = judge(&rules, &grid, Some(&before), vec![fix(10_000, 30.005, 120.005)]);
        assert!(again[0].implausible);
    }

    #[test]
    fn the_length_leaves_out_implausible_and_inaccurate_positions() {
        let rules = PatrolRules::default();
        let grid = square(120.0, 30.0, 0.01);
        let mut fixes = vec![fix(0, 30.001, 120.005), fix(60_000, 30.002, 120.005), fix(120_000, 30.003, 120.005)];
        fixes.push(fix(150_000, 30.2, 120.005));
        fixes.push(Fix { accuracy_m: 500.0, ..fix(170_000, 30.0035, 120.0055) });
        let judged = judge(&rules, &grid, None, fixes);
        let d = track_length_m(&rules, &judged);
        assert!((d - 222.4).abs() < 1.0, "{d}");
        assert_eq!(track_length_m(&rules, &[]), 0.0);
    }

    #[test]
    fn quotas_and_shares() {
        let q = |hours, visits, h: f64, v| QuotaMet { quota: Quota { hours, visits }, hours: h, visits: v };
        let a = q(40, 60, 20.0, 60);
        assert_eq!((a.hours_share(), a.visits_share(), a.met()), (0.5, 1.0, false));
        let b = q(40, 60, 50.0, 90);
        assert_eq!((b.hours_share(), b.visits_share(), b.met()), (1.0, 1.0, true));
        let zero = q(0, 0, 0.0, 0);
        assert!(zero.met());
        assert_eq!(group_met(&[a, b]), Some((0.75, 1.0, 1)));
        assert_eq!(group_met(&[]), None);
        assert!(Quota { hours: 800, visits: 1 }.validate().is_err());
        assert!(Quota::default().validate().is_ok());
    }

    #[test]
    fn months_in_local_time() {
        let m = Month::parse("month", "2026-12").unwrap();
        let (from, to) = m.bounds(8);
        assert_eq!(crate::time::to_rfc3339(from), "2026-11-30T16:00:00.000Z");
        assert_eq!(crate::time::to_rfc3339(to), "2026-12-31T16:00:00.000Z");
        assert_eq!(Month::of(from, 8), m);
        assert_eq!(Month::of(from - 1, 8), Month { year: 2026, month: 11 });
        assert_eq!(m.to_string(), "2026-12");
        for bad in ["2026-13", "2026-1", "26-01", "x", "2026-00"] {
            assert_eq!(Month::parse("month", bad).unwrap_err().field, "month", "{bad}");
        }
    }

    #[test]
    fn rules_are_checked() {
        assert!(PatrolRules::default().validate().is_ok());
        assert_eq!(PatrolRules { max_hours: 0, ..Default::default() }.validate().unwrap_err().field, "max_hours");
        assert_eq!(
            PatrolRules { outside_m: f64::NAN, ..Default::default() }.validate().unwrap_err().field,
            "outside_m"
        );
        assert_eq!(PatrolRules::default().ends_by(0), 12 * HOUR);
        assert_eq!(Fix::new("positions[0]", 0, 91.0, 0.0, 1.0).unwrap_err().field, "positions[0].lat");
        assert_eq!(Fix::new("positions[0]", 0, 1.0, 0.0, -1.0).unwrap_err().field, "positions[0].accuracy");
    }
}
