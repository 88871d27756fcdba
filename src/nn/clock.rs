//! Wall-clock seconds for throughput (images per second). `std::time::Instant` panics on
//! wasm32-unknown-unknown, so the wasm build asks JavaScript's `Date.now()` (works in workers).

/// Seconds since an arbitrary fixed point; only differences are meaningful.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Seconds since an arbitrary fixed point; only differences are meaningful.
#[cfg(target_arch = "wasm32")]
pub fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}
