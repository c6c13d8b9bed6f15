//! Floods of reports of one problem, folded as they arrive: reports near in space and time, of
//! the same or a related category, whose texts are alike, form one group that the center handles
//! once.
//!
//! Precision matters more than recall: a report wrongly folded into another's group would be
//! closed as a duplicate of a problem that is not its own, while a missed duplicate costs the
//! dispatcher one more look. So a report joins a group only when it is close to the group's
//! **first** report on every count (no chaining from neighbour to neighbour), and of several
//! groups it could join it takes the one whose first report is most alike.

use std::collections::HashMap;

use crate::text::normalise;

/// One report, as the folding sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<'a> {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// WGS-84 latitude and longitude; a report without a point is never folded.
    pub location: Option<(f64, f64)>,
    pub text: &'a str,
    /// The category reported or suggested, if any.
    pub category: Option<i64>,
    /// The category's class (its parent), if any: categories of one class are related.
    pub class: Option<i64>,
    /// The category's own reach for duplicates, when it has one: (metres, milliseconds). A pair is
    /// compared within the smaller reach of the two (else the settings').
    pub reach: Option<(f64, i64)>,
}

/// When two reports are taken for one problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldSettings {
    /// At most this far apart (metres).
    pub radius_m: f64,
    /// At most this long apart (milliseconds).
    pub window_ms: i64,
    /// Their texts at least this alike: the cosine of their character bigrams weighted by
    /// tf·idf over the reports folded together (so the words every report uses — "please deal
    /// with it" — count little), 0..=1.
    pub min_similarity: f32,
}

impl Default for FoldSettings {
    /// The defaults chosen on the demo's labelled floods (BENCHMARKS.md, "Floods folded").
    fn default() -> Self {
        FoldSettings { radius_m: 150.0, window_ms: 72 * 3_600_000, min_similarity: 0.30 }
    }
}

/// A report's text as character bigram counts (sorted).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shingles(Vec<(u64, u32)>);

impl Shingles {
    /// The bigrams of the text, normalised as the classifier does; the first 1,000 characters.
    pub fn of(text: &str) -> Shingles {
        let chars: Vec<char> = normalise(text, 1000).chars().filter(|c| !c.is_whitespace()).collect();
        let mut grams: Vec<u64> = chars.windows(2).map(|w| (u64::from(w[0]) << 32) | u64::from(w[1])).collect();
        if grams.is_empty() {
            grams.extend(chars.first().map(|c| u64::from(*c)));
        }
        grams.sort_unstable();
        let mut counts: Vec<(u64, u32)> = Vec::with_capacity(grams.len());
        for g in grams {
            match counts.last_mut() {
                Some((last, n)) if *last == g => *n += 1,
                _ => counts.push((g, 1)),
            }
        }
        Shingles(counts)
    }

    /// The unit vector of the bigrams weighted by `(1 + ln tf) · idf(bigram)`.
    pub fn weighted(&self, idf: impl Fn(u64) -> f32) -> Vector {
        let mut v: Vec<(u64, f32)> = self.0.iter().map(|&(g, n)| (g, (1.0 + (n as f32).ln()) * idf(g))).collect();
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        Vector(v)
    }
}

/// A text as a unit vector of weighted bigrams, sorted by bigram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vector(Vec<(u64, f32)>);

/// The cosine of two texts' vectors: 1 for the same text, 0 when they share no bigram (or one is
/// empty).
pub fn similarity(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
    while i < a.0.len() && j < b.0.len() {
        match a.0[i].0.cmp(&b.0[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a.0[i].1 * b.0[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot.min(1.0)
}

/// The texts as vectors weighted by their bigrams' rarity among these texts:
/// idf = ln((n + 1) / (df + 1)) + 1.
pub fn vectors(texts: &[Shingles]) -> Vec<Vector> {
    let mut df: HashMap<u64, u32> = HashMap::new();
    for t in texts {
        for (g, _) in &t.0 {
            *df.entry(*g).or_default() += 1;
        }
    }
    let n = texts.len() as f32;
    texts
        .iter()
        .map(|t| t.weighted(|g| ((n + 1.0) / (df.get(&g).copied().unwrap_or(0) as f32 + 1.0)).ln() + 1.0))
        .collect()
}

/// Metres between two WGS-84 points (haversine).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let (dla, dlo) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

/// Whether two categories may be of one problem: the same, of one class, or either unknown.
fn related(a: &Report, b: &Report) -> bool {
    match (a.category, b.category) {
        (Some(x), Some(y)) if x != y => a.class.is_some() && a.class == b.class,
        _ => true,
    }
}

/// How alike `later` is to a group's first report `first`, when it may join that group.
fn joins(first: &Report, fs: &Vector, later: &Report, ls: &Vector, s: &FoldSettings) -> Option<f32> {
    let (Some(p), Some(q)) = (first.location, later.location) else { return None };
    let (radius, window) = match (first.reach, later.reach) {
        (Some(a), Some(b)) => (a.0.min(b.0), a.1.min(b.1)),
        (Some(r), None) | (None, Some(r)) => r,
        (None, None) => (s.radius_m, s.window_ms),
    };
    if (later.at - first.at).abs() > window || distance_m(p, q) > radius || !related(first, later) {
        return None;
    }
    let sim = similarity(fs, ls);
    (sim >= s.min_similarity).then_some(sim)
}

/// Groups the reports, taken in order of arrival (`at`, then index): each joins the most alike
/// group whose first report it is close to, else starts its own. Returns the groups as indexes
/// into `reports`, each in order of arrival, groups in order of their first report; every report
/// is in exactly one group.
pub fn fold(reports: &[Report], s: &FoldSettings) -> Vec<Vec<usize>> {
    let shingles = vectors(&reports.iter().map(|r| Shingles::of(r.text)).collect::<Vec<_>>());
    let mut order: Vec<usize> = (0..reports.len()).collect();
    order.sort_by_key(|&i| (reports[i].at, i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let best = groups
            .iter()
            .enumerate()
            .filter_map(|(g, members)| {
                let first = members[0];
                joins(&reports[first], &shingles[first], &reports[i], &shingles[i], s).map(|sim| (g, sim))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        match best {
            Some((g, _)) => groups[g].push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Pairwise precision and recall of `groups` against the true problem of each report: of the
/// pairs folded together, the share that are one problem; of the pairs that are one problem, the
/// share folded together. `None` where there are no such pairs.
pub fn pair_scores(groups: &[Vec<usize>], truth: &[u64]) -> (Option<f64>, Option<f64>, u64, u64) {
    let mut folded = 0u64;
    let mut right = 0u64;
    for g in groups {
        for (k, &a) in g.iter().enumerate() {
            for &b in &g[k + 1..] {
                folded += 1;
                right += u64::from(truth[a] == truth[b]);
            }
        }
    }
    let mut sizes: std::collections::HashMap<u64, u64> = Default::default();
    for t in truth {
        *sizes.entry(*t).or_default() += 1;
    }
    let same: u64 = sizes.values().map(|n| n * (n - 1) / 2).sum();
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    (ratio(right, folded), ratio(right, same), folded, same)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn r(at: i64, lat: f64, text: &str, category: Option<i64>) -> Report<'_> {
        Report { at, location: Some((lat, 113.75)), text, category, class: category.map(|c| c / 100), reach: None }
    }

    #[test]
    fn similarity_is_one_for_the_same_text_and_zero_for_nothing_shared() {
        let plain = |t: &str| Shingles::of(t).weighted(|_| 1.0);
        let a = plain("东城街道主干道路灯不亮");
        assert!((similarity(&a, &a) - 1.0).abs() < 1e-6);
        assert_eq!(similarity(&a, &plain("垃圾桶满了")), 0.0);
        assert_eq!(similarity(&a, &plain("")), 0.0);
        assert_eq!(similarity(&plain("！！！"), &plain("？？")), 0.0);
        let s = similarity(&a, &plain("东城街道主干道的路灯不亮了"));
        assert!(s > 0.6 && s < 1.0, "{s}");
    }

    #[test]
    fn words_every_report_uses_count_little() {
        let texts = ["路灯不亮，请尽快处理。", "井盖丢了，请尽快处理。", "垃圾没人收，请尽快处理。", "路灯不亮了"];
        let v = vectors(&texts.iter().map(|t| Shingles::of(t)).collect::<Vec<_>>());
        // The boilerplate shared by three of four makes two problems less alike than one problem
        // in two wordings.
        assert!(similarity(&v[0], &v[1]) < similarity(&v[0], &v[3]), "{v:?}");
    }

    #[test]
    fn distance_of_a_known_pair() {
        // One thousandth of a degree of latitude is about 111 m.
        let d = distance_m((22.8, 113.75), (22.801, 113.75));
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }

    #[test]
    fn a_flood_is_one_group_and_its_neighbours_stay_apart() {
        let s = FoldSettings::default();
        let reports = [
            r(0, 22.8, "莞太路128号门口水管爆裂，路面积水严重", Some(301)),
            r(HOUR / 4, 22.8002, "莞太路128号门口水管爆了，路面都是积水", Some(301)),
            // Same place and time, another problem of another class.
            r(HOUR / 3, 22.8001, "莞太路128号门口流动摊贩占道经营", Some(501)),
            r(HOUR / 2, 22.8001, "莞太路128号附近水管破裂，积水很深", None),
            // The same words far away.
            r(HOUR, 22.9, "莞太路128号门口水管爆裂，路面积水严重", Some(301)),
            // The same words long after.
            r(100 * HOUR, 22.8, "莞太路128号门口水管爆裂，路面积水严重", Some(301)),
            // No point: never folded.
            Report {
                at: HOUR,
                location: None,
                text: "莞太路128号门口水管爆裂",
                category: Some(301),
                class: Some(3),
                reach: None,
            },
        ];
        // A day's other reports elsewhere, which make the rarity of words what it is in a real queue.
        let others =
            ["路灯不亮了", "垃圾桶满了没人清运", "小区门口有人占道经营", "噪音扰民", "井盖缺失很危险", "树枝折断挡路"];
        let mut all = reports.to_vec();
        for (i, t) in others.iter().enumerate() {
            all.push(r(i as i64 * HOUR, 23.0 + i as f64, t, None));
        }
        let groups: Vec<Vec<usize>> = fold(&all, &s).into_iter().filter(|g| g[0] < reports.len()).collect();
        assert_eq!(groups, vec![vec![0, 1, 3], vec![2], vec![4], vec![6], vec![5]]);
        let truth = [1, 1, 2, 1, 3, 4, 5];
        let (precision, recall, folded, same) = pair_scores(&groups, &truth);
        assert_eq!((precision, recall, folded, same), (Some(1.0), Some(1.0), 3, 3));
    }

    #[test]
    fn a_report_joins_the_first_report_it_is_like_not_a_chain() {
        let s = FoldSettings { radius_m: 100.0, ..FoldSettings::default() };
        // b is 80 m from a, c is 80 m from b but 160 m from a: c does not chain onto a's group.
        let reports = [
            r(0, 22.8, "路灯不亮了晚上很黑", Some(301)),
            r(1, 22.80072, "路灯不亮了晚上很黑", Some(301)),
            r(2, 22.80144, "路灯不亮了晚上很黑", Some(301)),
        ];
        assert_eq!(fold(&reports, &s), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn scores_count_pairs() {
        // Truth {0,1,2} one problem, {3} another; folded {0,1}, {2,3}.
        let (p, r, folded, same) = pair_scores(&[vec![0, 1], vec![2, 3]], &[7, 7, 7, 8]);
        assert_eq!((folded, same), (2, 3));
        assert_eq!(p, Some(0.5));
        assert!((r.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(pair_scores(&[vec![0], vec![1]], &[1, 2]), (None, None, 0, 0));
    }
}
