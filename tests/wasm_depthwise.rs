//! The depthwise convolution, ReLU6, global average pooling and add kernels in a browser, SIMD128
//! on: the same checks as the native `depthwise_kernels.rs` (hand cases, fast against reference
//! on random odd geometries, finite differences, Keras/JAX fixtures), from `depthwise_support`.
//! Run with `cargo test --target wasm32-unknown-unknown --test wasm_depthwise` (see build.sh's
//! run_tests); in a relaxed-SIMD build (`RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd"`
//! with `CONVSCOPE_EXPECT_RELAXED_SIMD=1`) fast and reference agree within 1e-5 instead of bit for bit.
#![cfg(target_arch = "wasm32")]

mod depthwise_support;
mod kernel_support;

use depthwise_support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Fails loudly if the `+simd128` flag of .cargo/config.toml was lost (a RUSTFLAGS variable replaces it).
#[wasm_bindgen_test]
fn simd128_is_compiled_in() {
    assert!(
        convscope::simd_enabled(),
        "this wasm build has no SIMD128: is RUSTFLAGS set? It replaces .cargo/config.toml's flags"
    );
}

/// The relaxed-SIMD flags reached the compiler exactly when the run asked for them.
#[wasm_bindgen_test]
fn relaxed_simd_is_compiled_in_exactly_when_asked() {
    assert_eq!(
        convscope::relaxed_simd_enabled(),
        option_env!("CONVSCOPE_EXPECT_RELAXED_SIMD").is_some(),
        "CONVSCOPE_EXPECT_RELAXED_SIMD and the build's relaxed SIMD disagree"
    );
}

#[wasm_bindgen_test]
fn depthwise_hand_cases() {
    check_depthwise_hand_cases();
}

#[wasm_bindgen_test]
fn relu6_pool_and_add_hand_cases() {
    check_relu6_hand_cases();
    check_pool_and_add_hand_cases();
}

#[wasm_bindgen_test]
fn depthwise_simd_matches_reference_on_random_geometries() {
    check_depthwise_random_geometries(59, 200);
}

#[wasm_bindgen_test]
fn global_average_pool_simd_matches_reference() {
    check_global_average_pool_random(61);
}

#[wasm_bindgen_test]
fn gradients_match_finite_differences() {
    check_depthwise_finite_differences();
    check_other_finite_differences();
}

#[wasm_bindgen_test]
fn simd_matches_keras_fixtures() {
    check_depthwise_fixtures();
    check_relu6_fixtures();
    check_global_average_pool_fixtures();
}
