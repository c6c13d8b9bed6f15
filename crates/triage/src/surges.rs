//! Surges: a grid reporting a category far more often today than its own history makes likely.
//!
//! **The test.** A grid's daily count of a category is taken as Poisson with an unknown rate. The
//! rate is learned from the same weekday of the last `weeks` weeks (weekly rhythm, and the season,
//! since the weeks are recent), shrunk towards the mean of all those days (`prior_days` days'
//! worth), plus half a report so that a grid with no history is not alarmed by its first: a
//! Gamma(shape = Σ same weekday + prior_days · daily mean + ½, rate = weeks + prior_days)
//! posterior. Today's count is tested against its posterior predictive, a negative binomial: the
//! p-value is P(X ≥ today's count). An alert needs p < `alpha` and at least `min_count` reports.
//!
//! Under the model, each test raises a false alarm with probability at most `alpha`; a grid has
//! one test per category reported there and day, so its false alarms per month are at most
//! 30 · categories · `alpha` (measured on the demo's history in BENCHMARKS.md, "Surges flagged").
//! Today's count is of the day so far, tested against whole days: a surge is flagged as soon as
//! it is unlikely for a whole day, never on a pro-rated guess.

/// How surges are tested.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurgeSettings {
    /// Largest p-value that raises an alert.
    pub alpha: f64,
    /// Fewest reports a day that can be a surge.
    pub min_count: u32,
    /// Weeks of history (the same weekday of each).
    pub weeks: usize,
    /// Weight, in days, of the mean of all recent days against the same weekdays.
    pub prior_days: f64,
}

impl Default for SurgeSettings {
    fn default() -> Self {
        SurgeSettings { alpha: 1e-3, min_count: 3, weeks: 8, prior_days: 2.0 }
    }
}

/// What the test found for one grid and category on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surge {
    pub count: u32,
    /// Reports expected on such a day (the posterior mean rate).
    pub expected: f64,
    /// P(at least `count` reports) on such a day.
    pub p_value: f64,
}

impl Surge {
    /// Whether the rise is unlikely by chance under `s`.
    pub fn alarming(&self, s: &SurgeSettings) -> bool {
        self.count >= s.min_count && self.p_value < s.alpha
    }
}

/// Tests `today`'s count against `history`: the daily counts of the days before, yesterday first
/// (`history[6]` is a week ago); days missing from its end count as none.
pub fn test(today: u32, history: &[u32], s: &SurgeSettings) -> Surge {
    let days = 7 * s.weeks;
    let day = |i: usize| f64::from(history.get(i).copied().unwrap_or(0));
    let same_weekday: f64 = (1..=s.weeks).map(|w| day(7 * w - 1)).sum();
    let mean = (0..days).map(day).sum::<f64>() / days.max(1) as f64;
    let shape = same_weekday + s.prior_days * mean + 0.5;
    let rate = s.weeks as f64 + s.prior_days;
    Surge { count: today, expected: shape / rate, p_value: negative_binomial_tail(today, shape, rate / (rate + 1.0)) }
}

/// Tests `day` of a series of daily counts (days without reports absent) against the
/// `7 · weeks` days before it.
pub fn test_day(days: &std::collections::BTreeMap<i64, u32>, day: i64, s: &SurgeSettings) -> Surge {
    let count = |d: i64| days.get(&d).copied().unwrap_or(0);
    let history: Vec<u32> = (1..=7 * s.weeks as i64).map(|k| count(day - k)).collect();
    test(count(day), &history, s)
}

/// P(X ≥ x) for X negative binomial with `r` > 0 and success probability `p` (the predictive of
/// a Poisson whose rate is Gamma(r, rate) with p = rate / (rate + 1)): 1 − Σ_{k<x} P(X = k), by
/// the recurrence P(k+1) = P(k) · (r + k)/(k + 1) · (1 − p).
pub fn negative_binomial_tail(x: u32, r: f64, p: f64) -> f64 {
    let mut pk = p.powf(r);
    let mut below = 0.0;
    for k in 0..x {
        below += pk;
        pk *= (r + f64::from(k)) / f64::from(k + 1) * (1.0 - p);
    }
    (1.0 - below).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_geometric_is_exact() {
        // r = 1: geometric, P(X ≥ x) = (1 − p)^x.
        for x in 0..12 {
            let t = negative_binomial_tail(x, 1.0, 0.8);
            assert!((t - 0.2f64.powi(x as i32)).abs() < 1e-12, "{x}: {t}");
        }
        assert_eq!(negative_binomial_tail(0, 3.5, 0.4), 1.0);
    }

    #[test]
    fn a_usual_day_is_not_a_surge_and_a_tripling_is() {
        let s = SurgeSettings::default();
        // Four reports every day for eight weeks.
        let history = vec![4u32; 56];
        let usual = test(5, &history, &s);
        assert!((usual.expected - 4.05).abs() < 0.01, "{usual:?}");
        assert!(!usual.alarming(&s));
        let tripled = test(14, &history, &s);
        assert!(tripled.p_value < 1e-3 && tripled.alarming(&s), "{tripled:?}");
    }

    #[test]
    fn the_weekday_counts_more_than_the_average() {
        let s = SurgeSettings::default();
        // Mondays (a week ago, two weeks ago…) have 10 reports, other days 1.
        let history: Vec<u32> = (0..56).map(|i| if i % 7 == 6 { 10 } else { 1 }).collect();
        assert!(!test(12, &history, &s).alarming(&s));
        // On another weekday (yesterday's: history[0] is that weekday a day later) 12 is a surge.
        let shifted: Vec<u32> = history[1..].to_vec();
        assert!(test(12, &shifted, &s).alarming(&s));
    }

    #[test]
    fn a_day_of_a_series_is_tested_against_the_days_before_it() {
        let s = SurgeSettings::default();
        // Four reports a day for eight weeks before day 100, none after; day 100 has 14.
        let mut days: std::collections::BTreeMap<i64, u32> = (44..100).map(|d| (d, 4)).collect();
        days.insert(100, 14);
        assert_eq!(test_day(&days, 100, &s), test(14, &[4; 56], &s));
        // Day 101 has none, against seven weeks of four and one day of fourteen.
        let mut before = vec![14];
        before.extend([4; 55]);
        assert_eq!(test_day(&days, 101, &s), test(0, &before, &s));
    }

    #[test]
    fn a_grid_without_history_needs_several_reports() {
        let s = SurgeSettings::default();
        assert!(!test(1, &[], &s).alarming(&s));
        assert!(!test(2, &[], &s).alarming(&s));
        let t = test(6, &[], &s);
        assert!(t.alarming(&s), "{t:?}");
    }

    #[test]
    fn false_alarms_stay_near_alpha_on_poisson_days() {
        // Days drawn from a Poisson(3) by inversion with a fixed generator: the share of
        // alarming days stays below a few times alpha.
        let s = SurgeSettings::default();
        let mut rng = crate::model::SplitMix::new(7);
        let mut poisson = || {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let (mut k, mut p) = (0u32, (-3.0f64).exp());
            let mut cdf = p;
            while u > cdf && k < 60 {
                k += 1;
                p *= 3.0 / f64::from(k);
                cdf += p;
            }
            k
        };
        let days: Vec<u32> = (0..20_000).map(|_| poisson()).collect();
        let mut alarms = 0;
        for d in 56..days.len() {
            let history: Vec<u32> = days[d - 56..d].iter().rev().copied().collect();
            alarms += usize::from(test(days[d], &history, &s).alarming(&s));
        }
        let rate = alarms as f64 / (days.len() - 56) as f64;
        assert!(rate < 3.0 * s.alpha, "false alarm rate {rate}");
    }
}
