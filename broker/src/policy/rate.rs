//! Rate limits on what one browser can make the broker do: logins per client address
//! (`/auth/login`, `/auth/callback`, `POST /auth/bankid`), API calls per client address and per session
//! (`/api/…`). GCRA buckets (`governor`) in process memory, one per key; a key idle for a
//! while is forgotten by a sweep every minute, so the state stays bounded. Over a limit the
//! answer is 429 `rate_limited` with `Retry-After`, and nothing reaches the bank or the
//! store. With several replicas each enforces its own share.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::Quota;

use crate::config::{Rate, RateLimits};

/// A fast keyed hash, randomly seeded per process (an API call checks two buckets).
type Hasher = foldhash::fast::RandomState;

/// One limit: a bucket per key.
struct Limit<K: std::hash::Hash + Eq + Clone> {
    limiter: governor::RateLimiter<K, DashMapStateStore<K, Hasher>, DefaultClock>,
}

impl<K: std::hash::Hash + Eq + Clone> Limit<K> {
    fn new(rate: &Rate) -> Option<Self> {
        let Rate::Per { count, period } = rate else { return None };
        let burst = NonZeroU32::new(*count)?;
        let every = *period / burst.get();
        let quota = Quota::with_period(every.max(Duration::from_nanos(1)))?.allow_burst(burst);
        Some(Self { limiter: governor::RateLimiter::dashmap_with_hasher(quota, Hasher::default()) })
    }

    /// `Err(wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The broker's rate limits (see the module header).
pub struct RateLimiter {
    logins_per_ip: Option<Limit<IpAddr>>,
    api_per_ip: Option<Limit<IpAddr>>,
    api_per_session: Option<Limit<u128>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("logins_per_ip", &self.logins_per_ip.is_some())
            .field("api_per_ip", &self.api_per_ip.is_some())
            .field("api_per_session", &self.api_per_session.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// The limits of `config` (`off` ones are not enforced).
    pub fn new(config: &RateLimits) -> Self {
        Self {
            logins_per_ip: Limit::new(&config.logins_per_ip),
            api_per_ip: Limit::new(&config.api_per_ip),
            api_per_session: Limit::new(&config.api_per_session),
        }
    }

    /// A login step from `ip`: `Err(wait)` when over the limit.
    pub fn login(&self, ip: IpAddr) -> Result<(), Duration> {
        self.logins_per_ip.as_ref().map_or(Ok(()), |l| l.check(&ip))
    }

    /// An API call from `ip`.
    pub fn api_from(&self, ip: IpAddr) -> Result<(), Duration> {
        self.api_per_ip.as_ref().map_or(Ok(()), |l| l.check(&ip))
    }

    /// An API call of session `id` (its 128 bits).
    pub fn api_of(&self, id: u128) -> Result<(), Duration> {
        self.api_per_session.as_ref().map_or(Ok(()), |l| l.check(&id))
    }

    /// Forgets keys whose buckets are full again (they behave as new ones).
    pub fn sweep(&self) {
        if let Some(l) = &self.logins_per_ip {
            l.sweep();
        }
        if let Some(l) = &self.api_per_ip {
            l.sweep();
        }
        if let Some(l) = &self.api_per_session {
            l.sweep();
        }
    }
}

/// The `rate_limited` answer: 429 with `Retry-After` (whole seconds, at least 1).
pub fn too_many(wait: Duration) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut res =
        crate::error::ApiError::new(crate::error::ErrorCode::RateLimited, "Too many requests; try again shortly.").into_response();
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limits = RateLimits {
            logins_per_ip: Rate::Per { count: 3, period: Duration::from_secs(60) },
            api_per_ip: Rate::Off,
            api_per_session: Rate::Per { count: 2, period: Duration::from_secs(1) },
        };
        let r = RateLimiter::new(&limits);
        let ip: IpAddr = "198.51.100.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for _ in 0..3 {
            assert!(r.login(ip).is_ok());
        }
        let wait = r.login(ip).expect_err("the fourth login in a minute is refused");
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(r.login("198.51.100.8".parse().unwrap_or(ip)).is_ok(), "another address has its own bucket");
        for _ in 0..100 {
            assert!(r.api_from(ip).is_ok(), "off");
        }
        assert!(r.api_of(1).is_ok() && r.api_of(1).is_ok());
        assert!(r.api_of(1).is_err());
        assert!(r.api_of(2).is_ok());
    }
}
