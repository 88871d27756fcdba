//! The explorer's wasm-bindgen exports, run in headless Chromium (`wasm-pack test --headless
//! --chrome`): the SIMD128 build runs there, and bad requests come back as JS errors with a
//! readable message instead of a panic.
#![cfg(target_arch = "wasm32")]

use convscope::web::api::{
    describe_conv, input_preset, kernel_preset, pool_shape, ConvLab, PoolLab,
};
use convscope::web::simd_enabled;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn settings(kernel: u32, stride: u32, padding: &str, pad: u32, dilation: u32) -> JsValue {
    let o = Object::new();
    for (k, v) in [
        ("kernel", JsValue::from(kernel)),
        ("stride", stride.into()),
        ("padding", padding.into()),
        ("pad", pad.into()),
        ("dilation", dilation.into()),
    ] {
        Reflect::set(&o, &k.into(), &v).unwrap();
    }
    o.into()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn message(e: JsValue) -> String {
    get(&e, "message").as_string().unwrap()
}

#[wasm_bindgen_test]
fn the_browser_runs_the_simd128_build() {
    assert!(
        simd_enabled(),
        "built without SIMD128: is RUSTFLAGS set? It replaces .cargo/config.toml's flags"
    );
}

#[wasm_bindgen_test]
fn convolves_the_letter_x_and_writes_out_a_cell() {
    let x = input_preset("x").map_err(JsValue::from).unwrap();
    let filters = kernel_preset("cross", 3, 1).map_err(JsValue::from).unwrap();
    let lab = ConvLab::new(
        settings(3, 1, "valid", 0, 1),
        x.height(),
        x.width(),
        x.channels(),
        &x.data(),
        &filters,
        &[0.5],
    )
    .map_err(JsValue::from)
    .unwrap();
    assert_eq!(
        (lab.out_height(), lab.out_width(), lab.filters()),
        (7, 7, 1)
    );
    let map = lab.map(0).map_err(JsValue::from).unwrap();
    assert_eq!(
        map[3 * 7 + 3],
        9.5,
        "the cross filter matches the X's centre perfectly, plus the bias"
    );
    let cell = lab.cell(3, 3, 0).map_err(JsValue::from).unwrap();
    assert_eq!(get(&cell, "sum").as_f64(), Some(9.0));
    assert_eq!(get(&cell, "value").as_f64(), Some(9.5));
    assert_eq!(js_sys::Array::from(&get(&cell, "terms")).length(), 9);
}

#[wasm_bindgen_test]
fn bad_requests_are_js_errors_with_words() {
    let x = input_preset("x").map_err(JsValue::from).unwrap();
    let err = ConvLab::new(
        settings(3, 1, "valid", 0, 5),
        9,
        9,
        1,
        &x.data(),
        &[0.0; 9],
        &[0.0],
    )
    .map_err(JsValue::from)
    .err()
    .unwrap();
    assert!(message(err).contains("does not fit in the padded input"));
    let err = ConvLab::new(
        settings(3, 1, "sideways", 0, 1),
        9,
        9,
        1,
        &x.data(),
        &[0.0; 9],
        &[0.0],
    )
    .map_err(JsValue::from)
    .err()
    .unwrap();
    assert!(message(err).contains("'valid', 'same'"));
    let err = ConvLab::new(
        JsValue::from_str("nonsense"),
        9,
        9,
        1,
        &x.data(),
        &[0.0; 9],
        &[0.0],
    )
    .map_err(JsValue::from)
    .err()
    .unwrap();
    assert!(message(err).contains("settings could not be read"));
    let err = input_preset("nope").map_err(JsValue::from).err().unwrap();
    assert!(message(err).contains("no built-in input"));
}

#[wasm_bindgen_test]
fn describes_settings_that_do_not_fit() {
    let d = describe_conv(9, 9, settings(11, 1, "valid", 0, 1))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(
        get(&d, "outHeight").as_f64(),
        None,
        "no output size when the kernel does not fit"
    );
    let diags = js_sys::Array::from(&get(&d, "diagnostics"));
    assert_eq!(
        get(&diags.get(0), "control").as_string().as_deref(),
        Some("kernel")
    );
    let d = describe_conv(28, 28, settings(4, 1, "same", 0, 1))
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(
        (get(&d, "padTop").as_f64(), get(&d, "padBottom").as_f64()),
        (Some(1.0), Some(2.0))
    );
}

#[wasm_bindgen_test]
fn pools_and_computes_the_chapter_shape() {
    assert_eq!(
        pool_shape(224, 224, 64, 2, 2, "valid")
            .map_err(JsValue::from)
            .unwrap(),
        vec![112, 112, 64]
    );
    let lab = PoolLab::new(&[1.0, 2.0, 3.0, 4.0], 2, 2, "max", 2, 2, "valid")
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(lab.output(), vec![4.0]);
    assert!(PoolLab::new(&[1.0], 1, 1, "median", 1, 1, "valid").is_err());
}

mod backward_support;

/// The backward mode's breakdowns add up to the SIMD128 kernels in the browser too, and the
/// gradient check passes on them and fails with each planted bug.
#[wasm_bindgen_test]
fn the_backward_breakdowns_add_up_in_the_browser() {
    backward_support::conv_cases_add_up();
    backward_support::pool_cases_add_up();
    let setups = backward_support::explorer_setups();
    backward_support::gradient_check_tells_bugs(&setups[1], "the X");
}

/// Batch norm's paths, dropout, dense and the slow-motion step in the browser's build.
#[wasm_bindgen_test]
fn the_other_layers_and_the_slow_step_add_up_in_the_browser() {
    backward_support::batch_norm_paths_add_up();
    backward_support::dropout_and_dense_add_up();
    backward_support::slow_step_is_one_fit_step();
}
