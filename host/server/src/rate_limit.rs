//! [`RateLimiter`]: each tenant's requests per second on this host, a token bucket per
//! tenant (burst: one second's worth). Over it a request is answered 429 with
//! `Retry-After`, before its body is read or a component runs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request of `tenant` allowed `per_second`; `Err` holds how long until the
    /// next one would be allowed.
    pub fn take(&self, tenant: &str, per_second: f64) -> Result<(), Duration> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Ok(());
        }
        let burst = per_second.max(1.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry(tenant.to_string()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::default();
        for _ in 0..5 {
            limiter.take("a", 5.0).unwrap();
        }
        let wait = limiter.take("a", 5.0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
        limiter.take("b", 5.0).expect("tenants have their own buckets");
        limiter.take("a", 0.0).expect("no limit");
        std::thread::sleep(Duration::from_millis(250));
        limiter.take("a", 5.0).expect("refilled");
    }
}
