//! Time, as the caller supplies it. `std::time::Instant` panics on wasm32-unknown-unknown and
//! nothing below `web` may know JavaScript, so a training run is handed a [`Clock`]: the page's
//! worker passes one that reads JS time, native code [`system_ms`].

/// Milliseconds since an arbitrary fixed point; only differences are meaningful.
pub type Clock = fn() -> f64;

/// The machine's monotonic clock (native builds).
#[cfg(not(target_arch = "wasm32"))]
pub fn system_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// A clock that never moves: runs timed by it report no speed.
pub fn stopped() -> f64 {
    0.0
}

/// What a run uses when its caller gives no clock: the system's natively, none in wasm.
pub fn default_clock() -> Clock {
    #[cfg(not(target_arch = "wasm32"))]
    {
        system_ms
    }
    #[cfg(target_arch = "wasm32")]
    {
        stopped
    }
}
