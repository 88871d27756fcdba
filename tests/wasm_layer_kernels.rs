//! The layer kernels in the browser: SIMD128 fast paths against their scalar references on odd
//! sizes, and the Keras fixtures through the SIMD code. Run with `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

mod layer_support;

use layer_support::checks::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn built_with_simd128() {
    assert!(
        convscope::simd_enabled(),
        "the wasm build lost its +simd128 flag"
    );
}

#[wasm_bindgen_test]
fn simd_pooling_equals_reference_bit_for_bit() {
    check_pooling_fast_equals_reference();
}

#[wasm_bindgen_test]
fn simd_pooling_matches_keras() {
    check_pooling_against_keras();
}

#[wasm_bindgen_test]
fn simd_batchnorm_matches_reference_and_keras() {
    check_batchnorm_fast_matches_reference();
    check_batchnorm_against_keras();
}

#[wasm_bindgen_test]
fn simd_batchnorm_moving_statistics_equal_keras_bit_for_bit() {
    check_batchnorm_moving_statistics_bit_exact();
}

#[wasm_bindgen_test]
fn simd_adam_equals_reference_bit_for_bit_and_matches_keras() {
    check_adam_fast_equals_reference(1_000_003);
    check_adam_against_keras();
}

#[wasm_bindgen_test]
fn simd_adam_equals_keras_bit_for_bit() {
    check_adam_bit_exact();
}
