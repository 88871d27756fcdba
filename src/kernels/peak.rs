//! The engine's arithmetic peak, for the bench's yardstick: loops of independent f32x4 chains
//! that do nothing but multiply and add in registers. Only the wasm build has them.
/// Flops of one call of [`simd128_mul_add_loop`] with `iterations`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd128_loop_flops(iterations: u32) -> f64 {
    // Each iteration: MUL_CHAINS f32x4 multiplies twice and ADD_CHAINS f32x4 adds twice.
    (2 * 4 * (MUL_CHAINS + ADD_CHAINS)) as f64 * iterations as f64
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const MUL_CHAINS: usize = 6;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const ADD_CHAINS: usize = 6;

/// The SIMD128 peak: independent chains of f32x4 multiplies and adds (no loads), as many as
/// hide their latency and fit in registers. A multiply by m is undone by a multiply by 1/m and
/// an add of a by an add of -a, so the values neither overflow nor become slow denormals, and
/// since floats do not reassociate no compiler may fold the pairs away. Returns a sum of the
/// chains so that the work cannot be skipped.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd128_mul_add_loop(iterations: u32, seed: f32) -> f32 {
    use core::arch::wasm32::*;
    let (m, m_inv) = (f32x4_splat(1.000_1), f32x4_splat(1.0 / 1.000_1));
    let (a, minus_a) = (f32x4_splat(0.5), f32x4_splat(-0.5));
    let mut p = [f32x4_splat(seed); MUL_CHAINS];
    let mut s = [f32x4_splat(seed); ADD_CHAINS];
    for (i, v) in p.iter_mut().chain(s.iter_mut()).enumerate() {
        *v = f32x4_add(*v, f32x4_splat(i as f32));
    }
    for _ in 0..iterations {
        for v in &mut p {
            *v = f32x4_mul(*v, m);
        }
        for v in &mut s {
            *v = f32x4_add(*v, a);
        }
        for v in &mut p {
            *v = f32x4_mul(*v, m_inv);
        }
        for v in &mut s {
            *v = f32x4_add(*v, minus_a);
        }
    }
    let total = p
        .iter()
        .chain(s.iter())
        .fold(f32x4_splat(0.0), |t, v| f32x4_add(t, *v));
    f32x4_extract_lane::<0>(total)
        + f32x4_extract_lane::<1>(total)
        + f32x4_extract_lane::<2>(total)
        + f32x4_extract_lane::<3>(total)
}

/// Flops of one call of [`relaxed_madd_loop`] with `iterations`.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn relaxed_loop_flops(iterations: u32) -> f64 {
    // Each iteration: MADD_CHAINS f32x4 multiply-adds twice, two flops per lane.
    (2 * 2 * 4 * MADD_CHAINS) as f64 * iterations as f64
}

/// Independent multiply-add chains: as many as hide the FMA latency and, with the four
/// constants, fit in x64's 16 vector registers (V8 keeps one for itself).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
const MADD_CHAINS: usize = 10;

/// The relaxed-SIMD peak: independent chains of f32x4 multiply-adds (no loads). Each chain
/// does v = v * m + a, then v = v * (1/m) - a/m, which returns to about v, so the values
/// stay in range; a fused and an unfused multiply-add both qualify. Returns a sum of the
/// chains so that the work cannot be skipped.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn relaxed_madd_loop(iterations: u32, seed: f32) -> f32 {
    use core::arch::wasm32::*;
    let (m, m_inv) = (f32x4_splat(1.000_1), f32x4_splat(1.0 / 1.000_1));
    let (a, minus_a_over_m) = (f32x4_splat(0.5), f32x4_splat(-0.5 / 1.000_1));
    let mut v = [f32x4_splat(seed); MADD_CHAINS];
    for (i, x) in v.iter_mut().enumerate() {
        *x = f32x4_add(*x, f32x4_splat(i as f32));
    }
    for _ in 0..iterations {
        for x in &mut v {
            *x = f32x4_relaxed_madd(*x, m, a);
        }
        for x in &mut v {
            *x = f32x4_relaxed_madd(*x, m_inv, minus_a_over_m);
        }
    }
    let total = v.iter().fold(f32x4_splat(0.0), |t, x| f32x4_add(t, *x));
    f32x4_extract_lane::<0>(total)
        + f32x4_extract_lane::<1>(total)
        + f32x4_extract_lane::<2>(total)
        + f32x4_extract_lane::<3>(total)
}
