//! Chinese map coordinate systems: WGS-84 (GPS), GCJ-02 (AMap, Tencent, WeChat) and BD-09 (Baidu).
//!
//! GCJ-02 is WGS-84 shifted by an obfuscating offset of a few hundred metres inside China (a
//! closed formula on the Krasovsky ellipsoid); BD-09 is a further closed transform of GCJ-02.
//! The forward directions are closed formulas; the inverses are found by fixed-point iteration
//! to 1e-10 degrees (about 0.01 mm), far below the 1 m the platform needs. gridkeeper stores
//! WGS-84 only and converts at the edges.
//!
//! Outside a rough rectangle around China, GCJ-02 applies no offset (as the map providers do);
//! BD-09's own transform applies everywhere.

use std::f64::consts::PI;

use gridkeeper_domain::{FieldError, LatLon};
use serde::{Deserialize, Serialize};

/// A coordinate reference system a client may send points in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// What GPS reports; the stored form.
    #[default]
    Wgs84,
    /// AMap (Gaode), Tencent, WeChat.
    Gcj02,
    /// Baidu.
    Bd09,
}

impl Crs {
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Accepts `wgs84`, `gcj02`, `bd09` (case-insensitive, with or without a dash), and
    /// `bd09ll`, the name Baidu's own APIs use.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let k: String = s.trim().to_ascii_lowercase().chars().filter(|c| *c != '-' && *c != '_').collect();
        match k.as_str() {
            "wgs84" | "gps" | "epsg4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" => Ok(Crs::Bd09),
            _ => Err(FieldError::new("crs", format!("`{s}` is not a coordinate system: use wgs84, gcj02 or bd09"))),
        }
    }

    /// Converts a point given in this system to WGS-84.
    /// The offsets of BD-09 apply everywhere, so a point at a pole or on the antimeridian would
    /// leave the globe by a few metres: the result is kept within ±90° and ±180°.
    pub fn to_wgs84(self, p: LatLon) -> LatLon {
        let q = match self {
            Crs::Wgs84 => p,
            Crs::Gcj02 => gcj02_to_wgs84(p),
            Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
        };
        LatLon { lat: q.lat.clamp(-90.0, 90.0), lon: q.lon.clamp(-180.0, 180.0) }
    }

    /// Converts a WGS-84 point to this system.
    pub fn from_wgs84(self, p: LatLon) -> LatLon {
        match self {
            Crs::Wgs84 => p,
            Crs::Gcj02 => wgs84_to_gcj02(p),
            Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(p)),
        }
    }
}

/// Semi-major axis and first eccentricity squared of the Krasovsky 1940 ellipsoid (GCJ-02's).
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's angular constant.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// True outside the rectangle in which GCJ-02 shifts coordinates.
pub fn out_of_china(p: LatLon) -> bool {
    !(72.004..=137.8347).contains(&p.lon) || !(0.8293..=55.8271).contains(&p.lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02 (closed formula).
pub fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    if out_of_china(p) {
        return p;
    }
    let (x, y) = (p.lon - 105.0, p.lat - 35.0);
    let rad_lat = p.lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = shift_lat(x, y) * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LatLon { lat: p.lat + dlat, lon: p.lon + dlon }
}

/// GCJ-02 → BD-09 (closed formula).
pub fn gcj02_to_bd09(p: LatLon) -> LatLon {
    let (x, y) = (p.lon, p.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    LatLon { lat: z * theta.sin() + 0.006, lon: z * theta.cos() + 0.0065 }
}

/// Inverts a forward transform by fixed-point iteration: the offsets vary slowly, so each step
/// gains several digits.
fn invert(target: LatLon, forward: impl Fn(LatLon) -> LatLon) -> LatLon {
    let mut guess = target;
    for _ in 0..30 {
        let f = forward(guess);
        let (dlat, dlon) = (f.lat - target.lat, f.lon - target.lon);
        guess = LatLon { lat: guess.lat - dlat, lon: guess.lon - dlon };
        if dlat.abs() < 1e-10 && dlon.abs() < 1e-10 {
            break;
        }
    }
    guess
}

/// GCJ-02 → WGS-84 (iterative inverse of [`wgs84_to_gcj02`]).
pub fn gcj02_to_wgs84(p: LatLon) -> LatLon {
    if out_of_china(p) {
        return p;
    }
    invert(p, wgs84_to_gcj02)
}

/// BD-09 → GCJ-02 (iterative inverse of [`gcj02_to_bd09`]; the usual closed approximation is
/// off by up to a few decimetres).
pub fn bd09_to_gcj02(p: LatLon) -> LatLon {
    invert(p, gcj02_to_bd09)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lon: f64, lat: f64) -> LatLon {
        LatLon { lat, lon }
    }

    #[track_caller]
    fn within_m(a: LatLon, b: LatLon, metres: f64) {
        let d = a.distance_m(&b);
        assert!(d <= metres, "{a:?} and {b:?} are {d:.3} m apart");
    }

    /// AMap's coordinate-convert API documentation (lbs.amap.com, "坐标转换", coordsys=gps):
    /// GPS 116.481499,39.990475 → 116.487585177952,39.991754014757 and
    /// GPS 116.481499,39.990375 → 116.487585177952,39.991653917101. AMap defines GCJ-02 in practice.
    #[test]
    fn agrees_with_amaps_published_conversions_both_ways() {
        for (wgs, gcj) in [
            (ll(116.481499, 39.990475), ll(116.487585177952, 39.991754014757)),
            (ll(116.481499, 39.990375), ll(116.487585177952, 39.991653917101)),
        ] {
            within_m(Crs::Gcj02.from_wgs84(wgs), gcj, 1.0);
            within_m(Crs::Gcj02.to_wgs84(gcj), wgs, 1.0);
        }
    }

    /// Alibaba Cloud's address-purification API documents one point in GCJ-02 and BD-09
    /// (help.aliyun.com, "TransferCoord", Hangzhou): 120.026268,30.279164 = BD-09
    /// 120.032768,30.285238. (Its WGS-84 value, 120.021519,30.281543, is the usual one-step
    /// approximation of the inverse, 1.7 m from the exact one; it is not used here.)
    #[test]
    fn agrees_with_alibaba_clouds_published_bd09_both_ways() {
        let (gcj, bd) = (ll(120.026268, 30.279164), ll(120.032768, 30.285238));
        within_m(gcj02_to_bd09(gcj), bd, 1.0);
        within_m(bd09_to_gcj02(bd), gcj, 1.0);
        within_m(Crs::Bd09.from_wgs84(Crs::Gcj02.to_wgs84(gcj)), bd, 1.0);
    }

    /// The reference values of wandergis/coordtransform (also the test values of Hutool and
    /// coordtransform-rs) at 116.404, 39.915 (Beijing).
    #[test]
    fn agrees_with_the_coordtransform_reference_values() {
        let p = ll(116.404, 39.915);
        within_m(wgs84_to_gcj02(p), ll(116.41024449916938, 39.91640428150164), 1.0);
        within_m(gcj02_to_bd09(p), ll(116.41036949371029, 39.92133699351021), 1.0);
        // Their inverses are one-step approximations; ours are exact inverses, within a metre of them.
        within_m(gcj02_to_wgs84(p), ll(116.39775550083061, 39.91359571849836), 1.0);
        within_m(bd09_to_gcj02(p), ll(116.39762729119315, 39.90865673957631), 1.0);
    }

    #[test]
    fn inverses_round_trip_to_a_millimetre_across_china() {
        for i in 0..40 {
            for j in 0..40 {
                let p = ll(74.0 + 62.0 * i as f64 / 39.0, 18.0 + 35.0 * j as f64 / 39.0);
                for crs in Crs::ALL {
                    within_m(crs.to_wgs84(crs.from_wgs84(p)), p, 0.001);
                }
                // The offset is real inside China: hundreds of metres, never more than a few km.
                let shift = wgs84_to_gcj02(p).distance_m(&p);
                assert!((1.0..3000.0).contains(&shift), "{p:?}: {shift}");
            }
        }
    }

    #[test]
    fn no_offset_outside_china_for_gcj02() {
        let sf = ll(-122.4194, 37.7749);
        assert_eq!(wgs84_to_gcj02(sf), sf);
        assert_eq!(gcj02_to_wgs84(sf), sf);
    }

    #[test]
    fn parses_names_and_refuses_others() {
        assert_eq!(Crs::parse("GCJ-02").unwrap(), Crs::Gcj02);
        assert_eq!(Crs::parse("bd09ll").unwrap(), Crs::Bd09);
        assert_eq!(Crs::parse("wgs84").unwrap(), Crs::Wgs84);
        assert_eq!(Crs::parse("mercator").unwrap_err().field, "crs");
    }
}
