//! The SIMD128 kernels in a browser: the flag is really on, and the fast kernels agree with
//! the scalar references and with the Keras/JAX fixtures on odd sizes.
//! Run with `wasm-pack test --headless --chrome` (or `cargo test --target wasm32-unknown-unknown`).
//! `./build.sh test` runs this suite twice: once as is, once as the relaxed-SIMD build
//! (`RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd"` with `CONVSCOPE_EXPECT_RELAXED_SIMD=1`),
//! whose register tile uses a multiply-add.
#![cfg(target_arch = "wasm32")]

mod kernel_support;

use kernel_support::*;
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

/// The build is the one the run asked for: the relaxed-SIMD flags really reached the compiler
/// (then the tile's multiply-add is what the checks below test), or they are really absent.
#[wasm_bindgen_test]
fn relaxed_simd_is_compiled_in_exactly_when_asked() {
    let asked = option_env!("CONVSCOPE_EXPECT_RELAXED_SIMD").is_some();
    assert_eq!(
        convscope::relaxed_simd_enabled(),
        asked,
        "CONVSCOPE_EXPECT_RELAXED_SIMD is {}set, but the build has relaxed SIMD {}",
        if asked { "" } else { "not " },
        if convscope::relaxed_simd_enabled() {
            "on"
        } else {
            "off"
        }
    );
}

#[wasm_bindgen_test]
fn conv_simd_matches_reference_on_random_geometries() {
    check_conv_random_geometries(17, 120);
}

#[wasm_bindgen_test]
fn conv_weight_gradient_passes_match_reference() {
    check_conv_weight_gradient_passes();
}

#[wasm_bindgen_test]
fn conv_simd_matches_keras_fixtures() {
    check_conv_forward_fixtures();
    check_conv_gradient_fixtures();
}

#[wasm_bindgen_test]
fn gemm_simd_matches_reference_on_odd_sizes() {
    check_gemm_odd_sizes();
}

#[wasm_bindgen_test]
fn dense_simd_matches_reference_and_keras_fixtures() {
    check_dense_odd_sizes();
    check_dense_fixtures();
}
