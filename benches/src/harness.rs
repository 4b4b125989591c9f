//! Timing: warm up, calibrate a batch size, take samples, report medians.
//! Wall-clock timings on a shared machine are noisy: the median of many
//! batches is what we report, never a single run, and nothing here is ever
//! asserted in a test.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub warm_up: Duration,
    pub samples: usize,
    pub sample_time: Duration,
}

impl Plan {
    /// The default: 300 ms warm-up, 31 samples of ~20 ms.
    pub const STANDARD: Plan =
        Plan { warm_up: Duration::from_millis(300), samples: 31, sample_time: Duration::from_millis(20) };
    /// For load-time measurements and smoke runs.
    pub const QUICK: Plan =
        Plan { warm_up: Duration::from_millis(50), samples: 11, sample_time: Duration::from_millis(5) };
}

/// The result of timing one operation.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Median over samples of (sample time / operations in the sample).
    pub median_ns: f64,
    pub min_ns: f64,
    pub max_ns: f64,
    pub samples: usize,
    pub ops_per_sample: u64,
}

/// Times `op` under `plan`.
pub fn measure<R>(plan: Plan, mut op: impl FnMut() -> R) -> Timing {
    let start = Instant::now();
    let mut warm_ops = 0u64;
    while start.elapsed() < plan.warm_up || warm_ops == 0 {
        black_box(op());
        warm_ops += 1;
    }
    let per_op = start.elapsed().as_secs_f64() / warm_ops as f64;
    let ops_per_sample = ((plan.sample_time.as_secs_f64() / per_op) as u64).max(1);
    let mut ns: Vec<f64> = (0..plan.samples.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..ops_per_sample {
                black_box(op());
            }
            t.elapsed().as_secs_f64() * 1e9 / ops_per_sample as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    Timing { median_ns: ns[ns.len() / 2], min_ns: ns[0], max_ns: ns[ns.len() - 1], samples: ns.len(), ops_per_sample }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_something_and_orders_its_statistics() {
        let plan = Plan { warm_up: Duration::from_millis(1), samples: 5, sample_time: Duration::from_micros(200) };
        let mut n = 0u64;
        let t = measure(plan, || {
            n += 1;
            n
        });
        assert_eq!(t.samples, 5);
        assert!(n >= 5 * t.ops_per_sample);
        assert!(t.min_ns <= t.median_ns && t.median_ns <= t.max_ns);
    }
}
