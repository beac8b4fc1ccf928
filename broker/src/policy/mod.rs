//! The rules the broker applies to what the browser sends before anything goes to a bank:
//! CSRF and origins, `returnTo`, API path normalisation, the route allowlist, which headers
//! cross the broker each way, and rate limits. Tested here.

pub mod allowlist;
pub mod csrf;
pub mod headers;
pub mod path;
pub mod rate;
pub mod return_to;
