//! [`Backoff`]: exponential backoff with full jitter, shared by the persistors.

use std::time::Duration;

/// Exponential backoff with full jitter: before attempt `n + 1`, sleep a random time between
/// zero and `min(initial * 2^n, max)`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use eventosaurus::persist::Backoff;
/// let mut backoff = Backoff::new(3, Duration::from_millis(1), Duration::from_millis(4));
/// assert_eq!(backoff.attempt(), 1);
/// assert!(backoff.wait().await);   // before attempt 2
/// assert!(backoff.wait().await);   // before attempt 3
/// assert!(!backoff.wait().await);  // the budget is spent
/// assert_eq!(backoff.attempt(), 3);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    max_attempts: u32,
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// A budget of `max_attempts` attempts (the first included).
    pub fn new(max_attempts: u32, initial: Duration, max: Duration) -> Backoff {
        Backoff {
            attempt: 1,
            max_attempts: max_attempts.max(1),
            initial,
            max,
        }
    }

    /// The attempt about to be made (or last made), from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt, or `None` if the budget is spent.
    pub fn next_delay(&self) -> Option<Duration> {
        if self.attempt >= self.max_attempts {
            return None;
        }
        let exp = self.initial.saturating_mul(1u32 << self.attempt.min(16));
        Some(exp.min(self.max).mul_f64(fastrand::f64()))
    }

    /// Sleeps before the next attempt and counts it; `false` (without sleeping) if the
    /// budget is spent.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(delay) => {
                self.attempt += 1;
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }
}
