//! Names a request may use for host enums, parsed in one place: flow algorithms.

use crate::bindings::frameflow::media::flow::Algorithm;
use crate::http::{ApiError, ApiResult};

/// The flow algorithms by the names the API accepts.
pub const FLOW_ALGORITHMS: &[(&str, Algorithm)] = &[
    ("farneback", Algorithm::Farneback),
    ("dis-ultrafast", Algorithm::DisUltrafast),
    ("dis-fast", Algorithm::DisFast),
    ("dis-medium", Algorithm::DisMedium),
    ("tvl1", Algorithm::Tvl1),
];

/// The flow algorithm called `name`; a 400 naming `param` and the choices otherwise.
pub fn flow_algorithm(param: &str, name: &str) -> ApiResult<Algorithm> {
    FLOW_ALGORITHMS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a).ok_or_else(|| {
        let names: Vec<&str> = FLOW_ALGORITHMS.iter().map(|(n, _)| *n).collect();
        ApiError::bad_request(format!("'{param}' must be {}, got '{name}'", names.join(", ")))
    })
}

/// 64 random bits from the host's `wasi:random` (std's `RandomState` draws its keys there on
/// each construction): ids and seeds.
pub fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8)
}
