//! [`GuestError`]: why a component produced no answer, decided from typed facts — the
//! epoch deadline, a flag the [`Limiter`] raises when it refuses memory — never from error
//! strings. The runtime says what happened; the server decides what HTTP status it is.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, Trap};

/// Why a component (HTTP handler, job step, sampler) gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// It ran past its deadline and was stopped.
    #[error("component '{component}' stopped after its deadline of {deadline:?}")]
    Timeout { component: String, deadline: Duration },
    /// It asked for more linear memory than its limit.
    #[error("component '{component}' stopped at its memory limit of {} MiB", .limit >> 20)]
    OutOfMemory { component: String, limit: usize },
    /// It trapped (a panic, an unreachable, a forbidden import called).
    #[error("component '{component}' trapped: {reason}")]
    Trap { component: String, reason: String },
    /// It returned without answering, or answered with an error code.
    #[error("component '{component}' {reason}")]
    NoResponse { component: String, reason: String },
    /// It could not start: every instance slot stayed busy.
    #[error("component '{component}': {reason}")]
    Busy { component: String, reason: String },
    /// The request could not be handed to it (malformed for `wasi:http`).
    #[error("component '{component}' cannot take this request: {reason}")]
    Rejected { component: String, reason: String },
    /// It ran and reported a failure of its own (a job step's error string).
    #[error("component '{component}': {reason}")]
    Failed { component: String, reason: String },
}

impl GuestError {
    /// Classifies a wasmtime error from running `component`: `memory_refused` is the
    /// [`Limiter`]'s flag, `deadline` the time it was given.
    pub(crate) fn classify(component: &str, err: wasmtime::Error, memory_refused: bool, limit: usize, deadline: Duration) -> GuestError {
        let component = component.to_string();
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => GuestError::Timeout { component, deadline },
            _ if memory_refused => GuestError::OutOfMemory { component, limit },
            Some(trap) => GuestError::Trap { component, reason: trap.to_string() },
            None => GuestError::Trap { component, reason: format!("{:#}", err.root_cause()) },
        }
    }

    /// Counts this failure of a component run for `tenant`
    /// (`frameflow_component_failures_total{tenant, component, kind}`).
    pub fn record(&self, tenant: &str) {
        let (GuestError::Timeout { component, .. }
        | GuestError::OutOfMemory { component, .. }
        | GuestError::Trap { component, .. }
        | GuestError::NoResponse { component, .. }
        | GuestError::Busy { component, .. }
        | GuestError::Rejected { component, .. }
        | GuestError::Failed { component, .. }) = self;
        metrics::counter!("frameflow_component_failures_total", "tenant" => tenant.to_string(), "component" => component.clone(), "kind" => self.code())
            .increment(1);
    }

    /// A stable, machine-readable name for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            GuestError::Timeout { .. } => "component_timeout",
            GuestError::OutOfMemory { .. } => "component_out_of_memory",
            GuestError::Trap { .. } => "component_trapped",
            GuestError::NoResponse { .. } => "no_response",
            GuestError::Busy { .. } => "busy",
            GuestError::Rejected { .. } => "bad_request",
            GuestError::Failed { .. } => "component_failed",
        }
    }
}

/// A store's resource limits that remember whether they refused memory, so that an
/// out-of-memory trap is told apart from any other by a flag, not by its message.
pub(crate) struct Limiter {
    limits: StoreLimits,
    pub memory_refused: bool,
}

impl Limiter {
    pub fn new(limits: StoreLimits) -> Limiter {
        Limiter { limits, memory_refused: false }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum);
        if !matches!(granted, Ok(true)) {
            self.memory_refused = true;
        }
        granted
    }

    /// Growth permitted but impossible (past the instance allocator's maximum): refused too.
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_remembers_a_refused_growth_and_classification_uses_it() {
        let mut limiter = Limiter::new(wasmtime::StoreLimitsBuilder::new().memory_size(1 << 20).trap_on_grow_failure(true).build());
        assert!(matches!(limiter.memory_growing(0, 1 << 19, None), Ok(true)));
        assert!(!limiter.memory_refused);
        assert!(limiter.memory_growing(1 << 19, 2 << 20, None).is_err());
        assert!(limiter.memory_refused);
        // The same trap is out of memory with the flag and a plain trap without it.
        let deadline = Duration::from_secs(1);
        let oom = GuestError::classify("c", wasmtime::Error::from(Trap::UnreachableCodeReached), true, 1 << 20, deadline);
        assert!(matches!(oom, GuestError::OutOfMemory { limit: 1048576, .. }), "{oom}");
        assert_eq!(oom.code(), "component_out_of_memory");
        let trap = GuestError::classify("c", wasmtime::Error::from(Trap::UnreachableCodeReached), false, 1 << 20, deadline);
        assert!(matches!(trap, GuestError::Trap { .. }), "{trap}");
        let late = GuestError::classify("c", wasmtime::Error::from(Trap::Interrupt), true, 1 << 20, deadline);
        assert!(matches!(late, GuestError::Timeout { .. }), "{late}");
    }
}
