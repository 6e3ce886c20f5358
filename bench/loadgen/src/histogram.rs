//! A mergeable log-linear histogram of microsecond samples, and its percentiles.
//!
//! Values below 128 µs are kept exactly; above, each power of two is split into 64
//! buckets, so a reported percentile is within 1.6% of the true sample. Workers send
//! their histograms to the driver as text ([`Histogram::to_line`]), which merges them:
//! percentiles are computed from all raw samples, never averaged.

use std::fmt::Write as _;

/// Values below this are their own bucket.
const EXACT: u64 = 128;
/// Sub-buckets per power of two above [`EXACT`].
const SUB_BITS: u32 = 6;
/// The largest power of two tracked; larger samples land in the last bucket.
const MAX_EXPONENT: u32 = 40;
/// Number of buckets.
const BUCKETS: usize = EXACT as usize + ((MAX_EXPONENT - 7 + 1) as usize) * (1 << SUB_BITS);

/// Sample counts per bucket, plus the exact count, sum and maximum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of a value.
fn index(value: u64) -> usize {
    if value < EXACT {
        return value as usize;
    }
    let exponent = (63 - value.leading_zeros()).min(MAX_EXPONENT);
    let value = value.min((1u64 << (MAX_EXPONENT + 1)) - 1);
    let shift = exponent - SUB_BITS;
    // The top seven bits, 64..=127.
    let mantissa = (value >> shift) as usize;
    EXACT as usize + ((exponent - 7) as usize) * (1 << SUB_BITS) + (mantissa - (1 << SUB_BITS))
}

/// The smallest value and the width of a bucket.
fn bounds(index: usize) -> (u64, u64) {
    if index < EXACT as usize {
        return (index as u64, 1);
    }
    let above = index - EXACT as usize;
    let exponent = (above >> SUB_BITS) as u32 + 7;
    let mantissa = (above & ((1 << SUB_BITS) - 1)) as u64 + (1 << SUB_BITS);
    let shift = exponent - SUB_BITS;
    (mantissa << shift, 1 << shift)
}

impl Histogram {
    /// An empty histogram.
    pub(crate) fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Adds one sample.
    pub(crate) fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.count += 1;
        self.sum = self.sum.saturating_add(micros);
        self.max = self.max.max(micros);
    }

    /// Adds every sample of `other`.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.max = self.max.max(other.max);
    }

    /// The number of samples.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The largest sample, exact.
    #[cfg(test)]
    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The mean, exact; 0 when empty.
    #[cfg(test)]
    pub(crate) fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The `p`-th percentile (0–100) by the nearest-rank method: the smallest sample
    /// that at least `p`% of the samples do not exceed. Exact below 128 µs, else the
    /// middle of its bucket (never above the maximum); `None` when empty.
    pub(crate) fn percentile(&self, p: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let rank = rank.min(self.count);
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, width) = bounds(bucket);
                return Some((low + width / 2).min(self.max));
            }
        }
        Some(self.max)
    }

    /// The histogram as one line of text: `count sum max idx:n,idx:n…`.
    pub(crate) fn to_line(&self) -> String {
        let mut line = format!("{} {} {} ", self.count, self.sum, self.max);
        let mut first = true;
        for (bucket, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                if !first {
                    line.push(',');
                }
                first = false;
                let _ = write!(line, "{bucket}:{count}");
            }
        }
        if first {
            line.push('-');
        }
        line
    }

    /// Parses [`to_line`](Self::to_line)'s output.
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let mut histogram = Self::new();
        histogram.count = parts.next()?.parse().ok()?;
        histogram.sum = parts.next()?.parse().ok()?;
        histogram.max = parts.next()?.parse().ok()?;
        let buckets = parts.next()?;
        if buckets != "-" {
            for pair in buckets.split(',') {
                let (bucket, count) = pair.split_once(':')?;
                let bucket: usize = bucket.parse().ok()?;
                *histogram.counts.get_mut(bucket)? = count.parse().ok()?;
            }
        }
        Some(histogram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let mut histogram = Histogram::new();
        for value in 1..=100 {
            histogram.record(value);
        }
        assert_eq!(histogram.percentile(50.0), Some(50));
        assert_eq!(histogram.percentile(90.0), Some(90));
        assert_eq!(histogram.percentile(99.0), Some(99));
        assert_eq!(histogram.percentile(99.9), Some(100));
        assert_eq!(histogram.percentile(100.0), Some(100));
        assert_eq!(histogram.percentile(0.0), Some(1));
        assert_eq!(histogram.max(), 100);
        assert!((histogram.mean() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn empty_has_no_percentile() {
        assert_eq!(Histogram::new().percentile(50.0), None);
        assert_eq!(Histogram::new().mean(), 0.0);
    }

    #[test]
    fn large_values_are_within_two_percent() {
        for value in [128u64, 1_000, 4_567, 99_999, 1_234_567, 987_654_321] {
            let mut histogram = Histogram::new();
            histogram.record(value);
            histogram.record(value * 2);
            let p50 = histogram.percentile(50.0).unwrap();
            let error = (p50 as f64 - value as f64).abs() / value as f64;
            assert!(error < 0.02, "{value} reported as {p50}");
        }
    }

    #[test]
    fn bucket_bounds_invert_index() {
        for bucket in 0..BUCKETS {
            let (low, width) = bounds(bucket);
            assert_eq!(index(low), bucket);
            assert_eq!(index(low + width - 1), bucket);
        }
    }

    #[test]
    fn huge_values_land_in_the_last_bucket() {
        let mut histogram = Histogram::new();
        histogram.record(u64::MAX);
        assert!(histogram.percentile(50.0).unwrap() >= 1 << MAX_EXPONENT);
        assert_eq!(histogram.max(), u64::MAX);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn nearest_rank_on_skewed_data() {
        let mut histogram = Histogram::new();
        for _ in 0..990 {
            histogram.record(10);
        }
        for _ in 0..10 {
            histogram.record(100);
        }
        assert_eq!(histogram.percentile(99.0), Some(10));
        assert_eq!(histogram.percentile(99.1), Some(100));
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut left = Histogram::new();
        let mut right = Histogram::new();
        let mut both = Histogram::new();
        for value in 0..5_000u64 {
            let sample = value * 37 % 20_011;
            if value % 3 == 0 {
                left.record(sample);
            } else {
                right.record(sample);
            }
            both.record(sample);
        }
        left.merge(&right);
        assert_eq!(left, both);
    }

    #[test]
    fn text_round_trips() {
        let mut histogram = Histogram::new();
        assert_eq!(
            Histogram::from_line(&histogram.to_line()),
            Some(histogram.clone())
        );
        for value in [0, 5, 5, 300, 70_000] {
            histogram.record(value);
        }
        let line = histogram.to_line();
        assert_eq!(Histogram::from_line(&line), Some(histogram));
        assert_eq!(Histogram::from_line("1 2"), None);
        assert_eq!(Histogram::from_line("1 2 3 999999:1"), None);
    }
}
