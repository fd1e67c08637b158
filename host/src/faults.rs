//! Faults a test injects into a running [`Service`](crate::service::Service)
//! to prove that a failure stops the run loudly and loses nothing
//! acknowledged. Production code starts with no faults
//! ([`Service::start`](crate::service::Service::start)).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wasmpush_delivery::faults::StorageFaults;

/// The faults a service can be started with.
#[derive(Clone, Default)]
pub struct Faults {
    /// Makes the outbox's writes fail while set (a full disk).
    pub storage: Option<StorageFaults>,
    /// When set, the next event a generator worker takes makes that worker
    /// thread panic (a host bug or a library abort), once.
    pub worker_panic: Arc<AtomicBool>,
}
