//! The statistics of the benchmark: medians, percentiles and ratios.

/// The median of `samples` (the mean of the two middle values for an even count);
/// `NaN` when there are none. `NaN` samples are ignored.
pub fn median(samples: &[f64]) -> f64 {
    percentile_sorted(&sorted(samples), 50.0)
}

/// The `p`-th percentile (0–100) of `samples`, interpolating linearly between ranks;
/// `NaN` when there are none.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    percentile_sorted(&sorted(samples), p)
}

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn percentile_sorted(v: &[f64], p: f64) -> f64 {
    match v.len() {
        0 => f64::NAN,
        1 => v[0],
        n => {
            let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = rank.ceil() as usize;
            v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
        }
    }
}

/// How eventosaurus compares with the raw SDK, oriented so that **≥ 1.0 means eventosaurus
/// is at least as fast**: `ours / raw` for throughputs (higher is better) and `raw / ours`
/// for latencies and costs (lower is better). `NaN` if either side is missing or zero.
pub fn ratio(raw: f64, ours: f64, higher_is_better: bool) -> f64 {
    let (num, den) = if higher_is_better {
        (ours, raw)
    } else {
        (raw, ours)
    };
    if den > 0.0 && num.is_finite() && den.is_finite() {
        num / den
    } else {
        f64::NAN
    }
}

/// The median of the per-round ratios (round `i` of `raw` paired with round `i` of `ours`),
/// oriented like [`ratio`]: more robust than the ratio of medians when the machine drifts,
/// since both sides of a round ran back to back. `NaN` without pairs.
pub fn paired_ratio(raw: &[f64], ours: &[f64], higher_is_better: bool) -> f64 {
    let ratios: Vec<f64> = raw
        .iter()
        .zip(ours)
        .map(|(r, o)| ratio(*r, *o, higher_is_better))
        .collect();
    median(&ratios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
        assert_eq!(median(&[f64::NAN, 5.0, 1.0]), 3.0);
    }

    #[test]
    fn percentiles_interpolate() {
        let v: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 99.0), 100.0);
        assert_eq!(percentile(&v, 100.0), 101.0);
        assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.5);
    }

    #[test]
    fn ratio_is_oriented_so_that_one_or_more_means_as_fast() {
        // Throughput: 950 ev/s against 1000 ev/s is 0.95.
        assert_eq!(ratio(1000.0, 950.0, true), 0.95);
        // Latency: 2 µs against 1 µs raw is 0.5 (twice as slow).
        assert_eq!(ratio(1.0, 2.0, false), 0.5);
        assert!(ratio(0.0, 5.0, true).is_nan());
        assert!(ratio(f64::NAN, 5.0, true).is_nan());
    }

    #[test]
    fn paired_ratio_is_the_median_of_round_ratios() {
        let raw = [100.0, 200.0, 400.0];
        let ours = [100.0, 100.0, 440.0];
        // Round ratios 1.0, 0.5, 1.1: the median is 1.0.
        assert_eq!(paired_ratio(&raw, &ours, true), 1.0);
        assert!(paired_ratio(&raw, &[], true).is_nan());
    }
}
