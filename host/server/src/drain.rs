//! [`Drain`]: how this host stops without losing work. SIGTERM (how Kubernetes stops a
//! pod) or Ctrl-C starts a drain: `/readyz` answers 503 at once, the HTTP trigger stops
//! accepting connections and lets the requests in flight finish (keep-alive connections are
//! closed after their current request), the jobs trigger starts no new step and lets the
//! running one finish, the object trigger stops polling and lets deliveries in progress end,
//! analysis tasks save their checkpoints and release their leases so another host resumes
//! them at once. All of it waits at most `shutdown_grace_ms`; then the process exits 0.
//!
//! In-flight work is counted by [`Working`] guards (one per connection, event delivery and
//! job step): the drain is over when none is left.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

/// How long a drain waits for in-flight work by default: 25 s, under Kubernetes' default
/// `terminationGracePeriodSeconds` of 30 (the shipped Deployment gives 45 with a 10 s
/// `preStop`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(25);

/// The drain state this host's triggers share (cheap to clone).
#[derive(Clone)]
pub struct Drain(Arc<Inner>);

struct Inner {
    started: watch::Sender<bool>,
    /// When the drain started plus the grace: nothing waits past it.
    deadline: OnceLock<Instant>,
    grace: Duration,
    working: AtomicUsize,
    idle: Notify,
}

/// One unit of work in flight (a connection, an event delivery, a job step); the drain
/// waits for every guard to be dropped.
pub struct Working(Arc<Inner>);

impl Drop for Working {
    fn drop(&mut self) {
        if self.0.working.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    pub fn new(grace: Duration) -> Drain {
        let (started, _) = watch::channel(false);
        Drain(Arc::new(Inner { started, deadline: OnceLock::new(), grace, working: AtomicUsize::new(0), idle: Notify::new() }))
    }

    /// Starts the drain (again: no effect).
    pub fn start(&self) {
        self.0.deadline.get_or_init(|| Instant::now() + self.0.grace);
        if !self.0.started.send_replace(true) {
            let working = self.0.working.load(Ordering::Acquire);
            tracing::info!(grace_ms = self.0.grace.as_millis() as u64, working, "draining: no new work is taken; in-flight work may finish");
            metrics::gauge!("frameflow_draining").set(1.0);
        }
    }

    pub fn is_draining(&self) -> bool {
        *self.0.started.borrow()
    }

    /// Resolves once the drain has started.
    pub async fn started(&self) {
        let mut rx = self.0.started.subscribe();
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Counts one unit of in-flight work until the guard is dropped.
    pub fn working(&self) -> Working {
        self.0.working.fetch_add(1, Ordering::AcqRel);
        Working(self.0.clone())
    }

    /// Units of work in flight now.
    pub fn in_flight(&self) -> usize {
        self.0.working.load(Ordering::Acquire)
    }

    /// When waiting ends whatever is still running (`None` before the drain starts).
    pub fn deadline(&self) -> Option<Instant> {
        self.0.deadline.get().copied()
    }

    /// Time left until the deadline (the whole grace before the drain starts).
    pub fn time_left(&self) -> Duration {
        self.deadline().map_or(self.0.grace, |d| d.saturating_duration_since(Instant::now()))
    }

    /// Waits until no work is in flight or the deadline passes; whether all work ended.
    pub async fn idle(&self) -> bool {
        let wait = async {
            loop {
                let notified = self.0.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.0.working.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(self.time_left(), wait).await.is_ok()
    }
}

/// SIGTERM or Ctrl-C (SIGINT), whichever comes first.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the server cleanly");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_drain_waits_for_work_in_flight_and_no_longer_than_the_grace() {
        let drain = Drain::new(Duration::from_millis(300));
        assert!(!drain.is_draining());
        let guard = drain.working();
        let waiter = {
            let drain = drain.clone();
            tokio::spawn(async move {
                drain.started().await;
                drain.idle().await
            })
        };
        drain.start();
        assert!(drain.is_draining());
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(guard);
        assert!(waiter.await.unwrap(), "all work ended before the deadline");

        let drain = Drain::new(Duration::from_millis(100));
        let _stuck = drain.working();
        drain.start();
        let started = Instant::now();
        assert!(!drain.idle().await, "work still running at the deadline");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(drain.in_flight(), 1);
    }
}
