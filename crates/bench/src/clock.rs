//! A clock shared between processes: `CLOCK_MONOTONIC` in nanoseconds.
//!
//! The end-to-end bench stamps each event when it is submitted and the
//! receiver (another process) stamps each request when it arrives; both read
//! this clock, so the difference is the report's latency.

/// Nanoseconds of `CLOCK_MONOTONIC` (same origin in every process of the machine).
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
