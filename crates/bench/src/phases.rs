//! Where one fresh generator call goes, timed through the product's own
//! call: [`wasmpush::runtime::Generator::generate_marked`] reports the end
//! of each [`Step`] (store, instantiate, call, output, drop) and [`timed`]
//! turns the marks into durations and minor page faults. Nothing here
//! re-implements the sandbox: what is timed is what the service runs.

use std::time::{Duration, Instant};

use wasmpush::runtime::{GenerateError, Generator, Report, Step};
use wasmpush_sources::EventKind;

/// Time spent in each step of one fresh-instance call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// Store and sandbox state (WASI context, pipes, limiter, epoch deadline).
    pub store: Duration,
    /// `instantiate_pre`'s instantiation (pool slot, memory image, guest start).
    pub instantiate: Duration,
    /// `generate`: the event copied in, the guest's work, the reports copied out.
    pub call: Duration,
    /// The guest's stdout/stderr forwarded to the log.
    pub output: Duration,
    /// Dropping the store (the slot is reset and goes back to the pool).
    pub drop: Duration,
    /// Minor page faults of the calling thread in instantiate, call, drop.
    pub faults: [u64; 3],
}

impl Phases {
    /// The whole call (the marks' own cost excluded).
    pub fn total(&self) -> Duration {
        self.store + self.instantiate + self.call + self.output + self.drop
    }
}

/// Minor page faults of the calling thread so far (`getrusage(RUSAGE_THREAD)`).
pub fn minor_faults() -> u64 {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_minflt as u64
}

/// One fresh call of `g` (exactly the service's `generate_all`), step by step.
pub fn timed(
    g: &Generator,
    kind: EventKind,
    payload: &str,
    settings: &[(String, String)],
) -> Result<(Phases, Vec<Report>), GenerateError> {
    let mut ph = Phases::default();
    let mut last = (Instant::now(), minor_faults());
    let reports = g.generate_marked(kind, payload, settings, &mut |step| {
        let now = Instant::now();
        let faults = minor_faults();
        let (d, f) = (now - last.0, faults - last.1);
        match step {
            Step::Store => ph.store = d,
            Step::Instantiate => (ph.instantiate, ph.faults[0]) = (d, f),
            Step::Call => (ph.call, ph.faults[1]) = (d, f),
            Step::Output => ph.output = d,
            Step::Drop => (ph.drop, ph.faults[2]) = (d, f),
        }
        // Restart the clock after the getrusage call, so it is not counted.
        last = (Instant::now(), minor_faults());
    })?;
    Ok((ph, reports))
}

/// Calls of `generate` on one reused instance, each timed, in instances of
/// at most [`REUSED_PER_INSTANCE`] calls: the guest's own work, the floor
/// under any fresh-instance scheme (benchmarks only; the service never
/// reuses an instance).
pub fn reused(g: &Generator, kind: EventKind, payload: &str, calls: usize) -> Result<Vec<Duration>, GenerateError> {
    let mut out = Vec::with_capacity(calls);
    while out.len() < calls {
        let n = (calls - out.len()).min(REUSED_PER_INSTANCE);
        out.extend(g.time_reused_calls(kind, payload, &[], n)?);
    }
    Ok(out)
}

/// Calls per reused instance: guests built for one call per instance may
/// never free memory (the WAT examples use a bump allocator), and all the
/// calls share one timeout.
pub const REUSED_PER_INSTANCE: usize = 100;
