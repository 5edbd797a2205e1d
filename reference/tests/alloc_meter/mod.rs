//! A counting global allocator for the test binaries that bound work deterministically
//! (`limits.rs`, `fuzz_smoke.rs`): instead of asserting that a hostile input is handled within
//! some seconds (which depends on the machine and its load), they assert how many bytes the
//! code under test held at its peak, which is the same on every machine.
//!
//! Counts are per thread (the test harness runs tests on parallel threads): allocations and
//! frees made on the measuring thread while [`peak_during`] runs.
#![allow(dead_code)] // not every test file uses every helper

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The allocator: the system one, plus per-thread counters.
pub struct Meter;

thread_local! {
    /// Bytes currently held by this thread's allocations (may go negative when it frees what
    /// another thread allocated).
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    /// Highest [`CURRENT`] since the last reset.
    static PEAK: Cell<i64> = const { Cell::new(0) };
    /// The largest single allocation while [`largest_allocation`] runs (`None` otherwise).
    static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
}

fn note_size(size: usize) {
    let _ = LARGEST.try_with(|l| {
        if let Some(max) = l.get() {
            l.set(Some(max.max(size)));
        }
    });
}

fn add(delta: i64) {
    // `try_with`: during thread teardown the counters may be gone; nothing to count then.
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + delta;
        c.set(now);
        let _ = PEAK.try_with(|p| {
            if now > p.get() {
                p.set(now)
            }
        });
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are plain
// thread-local cells with constant initialisers (they never allocate).
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
            note_size(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as i64));
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as i64);
            note_size(layout.size());
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as i64 - layout.size() as i64);
            note_size(new_size);
        }
        p
    }
}

/// Run `f` on this thread and return its result and the most bytes it held at once beyond
/// what the thread held before (its peak heap use).
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = CURRENT.with(|c| c.get());
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(|p| p.get());
    (out, (peak - start).max(0) as u64)
}

/// Run `f` on this thread and return its result and the largest single allocation it made.
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(Some(0)));
    let out = f();
    let largest = LARGEST.with(|l| l.replace(None)).unwrap_or(0);
    (out, largest)
}

/// Run `f` on its own thread and fail the test if it has not finished after `net`: a safety
/// net against a hang (generous; never the thing asserted). Returns `f`'s result.
pub fn within_safety_net<T: Send + 'static>(
    what: &str,
    net: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(net) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what}: not finished after {net:?}: it hangs"),
    }
}
