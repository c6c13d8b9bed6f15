//! Assessment: a weighted score per department, grid or grid member, built from its measures.
//! The weights and every component's contribution are shown next to the score, so people can
//! see why they rank where they do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fieldwork::FieldMeasures;
use crate::measures::Measures;

/// Who is assessed; each kind has its own components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessed {
    Department,
    Grid,
    GridMember,
}

/// Weights by component name. Components missing from the map weigh nothing.
pub type Weights = BTreeMap<String, f64>;

/// The components of a kind, each a value from 0 (worst) to 1 (best), or `None` when there was
/// nothing to measure. `f`: the field work of a grid member (inspections, hazards, patrols;
/// unmeasured for the other kinds).
pub fn components(kind: Assessed, m: &Measures, f: &FieldMeasures) -> Vec<(&'static str, Option<f64>)> {
    let inverse = |r: Option<f64>| r.map(|x| 1.0 - x);
    match kind {
        Assessed::Department => vec![
            ("on_time_handling", m.on_time_handling_rate),
            ("on_time_closure", m.on_time_closure_rate),
            ("satisfaction", m.satisfaction_rate),
            ("no_rework", inverse(m.rework_rate)),
            ("no_return", inverse(m.return_rate)),
            ("no_extension", inverse(m.extension_rate)),
        ],
        Assessed::Grid => vec![
            ("closure", m.closure_rate),
            ("on_time_closure", m.on_time_closure_rate),
            ("satisfaction", m.satisfaction_rate),
            ("self_resolution", m.self_resolution_rate),
            ("timely_dispatch", m.timely_dispatch_rate),
        ],
        Assessed::GridMember => vec![
            // Patrol work: ten reports and ten on-site verifications in the period are full marks.
            ("reporting", Some((m.reports as f64 / 10.0).min(1.0))),
            ("verifying", Some((m.verifications as f64 / 10.0).min(1.0))),
            ("satisfaction", m.satisfaction_rate),
            // Field work (docs/MEASURES.md, "Field work").
            ("inspection_coverage", f.coverage_on_time),
            ("hazards_rectified", f.hazards_rectified_on_time),
            ("patrol_quota", f.patrol_quota_met),
        ],
    }
}

pub fn default_weights(kind: Assessed) -> Weights {
    let w: &[(&str, f64)] = match kind {
        Assessed::Department => &[
            ("on_time_handling", 0.3),
            ("on_time_closure", 0.2),
            ("satisfaction", 0.2),
            ("no_rework", 0.1),
            ("no_return", 0.1),
            ("no_extension", 0.1),
        ],
        Assessed::Grid => &[
            ("closure", 0.25),
            ("on_time_closure", 0.25),
            ("satisfaction", 0.2),
            ("self_resolution", 0.2),
            ("timely_dispatch", 0.1),
        ],
        Assessed::GridMember => &[
            ("reporting", 0.4),
            ("verifying", 0.3),
            ("satisfaction", 0.3),
            ("inspection_coverage", 0.2),
            ("hazards_rectified", 0.1),
            ("patrol_quota", 0.1),
        ],
    };
    w.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub value: Option<f64>,
    pub weight: f64,
    /// Points this component adds to the score (0–100 in all).
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// 0–100, or `None` when no weighted component could be measured.
    pub score: Option<f64>,
    pub components: Vec<Component>,
}

/// The weighted mean of the measured components, on 0–100. Unmeasured components are left out
/// and the weights of the others renormalised, so nobody is punished for having no cases of a kind.
pub fn score(kind: Assessed, m: &Measures, f: &FieldMeasures, weights: &Weights) -> Score {
    let parts = components(kind, m, f);
    let total: f64 =
        parts.iter().filter(|(_, v)| v.is_some()).map(|(n, _)| weights.get(*n).copied().unwrap_or(0.0)).sum();
    let components = parts
        .iter()
        .map(|(name, value)| {
            let weight = weights.get(*name).copied().unwrap_or(0.0);
            let points = match value {
                Some(v) if total > 0.0 => 100.0 * weight * v / total,
                _ => 0.0,
            };
            Component { name: name.to_string(), value: *value, weight, points }
        })
        .collect::<Vec<_>>();
    let score = (total > 0.0).then(|| components.iter().map(|c| c.points).sum());
    Score { score, components }
}

/// Ranks (1 = best) of scores, ties sharing a rank; unscored entries come last without a rank.
pub fn ranks(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    scores.iter().map(|s| s.map(|s| 1 + scores.iter().filter(|o| o.is_some_and(|o| o > s)).count())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_is_a_renormalised_weighted_mean() {
        let m = Measures {
            on_time_handling_rate: Some(1.0),
            on_time_closure_rate: Some(0.5),
            satisfaction_rate: None,
            rework_rate: Some(0.0),
            return_rate: Some(0.5),
            extension_rate: Some(0.0),
            ..Default::default()
        };
        let none = FieldMeasures::default();
        let s = score(Assessed::Department, &m, &none, &default_weights(Assessed::Department));
        // Satisfaction (0.2) is unmeasured: the other weights sum to 0.8.
        // (0.3·1 + 0.2·0.5 + 0.1·1 + 0.1·0.5 + 0.1·1) / 0.8 = 0.65 / 0.8 = 81.25
        assert!((s.score.unwrap() - 81.25).abs() < 1e-9, "{s:?}");
        assert_eq!(s.components.len(), 6);
        assert_eq!(s.components.iter().find(|c| c.name == "satisfaction").unwrap().points, 0.0);
        assert_eq!(score(Assessed::Grid, &Measures::default(), &none, &default_weights(Assessed::Grid)).score, None);
    }

    #[test]
    fn field_work_joins_a_grid_members_score_only_when_measured() {
        let m = Measures { reports: 5, verifications: 10, satisfaction_rate: Some(1.0), ..Default::default() };
        let w = default_weights(Assessed::GridMember);
        // Without field work: (0.4·0.5 + 0.3·1 + 0.3·1) / 1.0 = 80, as before field work was measured.
        let before = score(Assessed::GridMember, &m, &FieldMeasures::default(), &w);
        assert!((before.score.unwrap() - 80.0).abs() < 1e-9, "{before:?}");
        // With it: (0.8 + 0.2·0.5 + 0.1·1 + 0.1·0) / 1.4 = 1.0 / 1.4.
        let f = FieldMeasures {
            coverage_on_time: Some(0.5),
            hazards_rectified_on_time: Some(1.0),
            patrol_quota_met: Some(0.0),
            ..Default::default()
        };
        let with = score(Assessed::GridMember, &m, &f, &w);
        assert!((with.score.unwrap() - 100.0 / 1.4).abs() < 1e-9, "{with:?}");
        let coverage = with.components.iter().find(|c| c.name == "inspection_coverage").unwrap();
        assert!((coverage.points - 100.0 * 0.2 * 0.5 / 1.4).abs() < 1e-9);
        // A department's score ignores field work.
        let d = score(Assessed::Department, &Measures::default(), &f, &default_weights(Assessed::Department));
        assert_eq!(d.score, None);
    }

    #[test]
    fn ties_share_a_rank() {
        assert_eq!(ranks(&[Some(80.0), Some(90.0), None, Some(80.0)]), vec![Some(2), Some(1), None, Some(2)]);
    }
}
