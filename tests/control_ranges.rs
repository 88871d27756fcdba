//! The table of control ranges the page builds its sliders and link parser from
//! (`convscope::limits::control_ranges`, exported as `controlRanges`).

use convscope::limits::{control_ranges, training, ControlRange};
use std::collections::HashSet;

fn range(key: &str) -> ControlRange {
    control_ranges()
        .into_iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("no range for {key}"))
}

#[test]
fn every_control_has_one_range_with_the_slider_inside_the_hard_limit() {
    let table = control_ranges();
    let keys: HashSet<_> = table.iter().map(|c| c.key).collect();
    assert_eq!(keys.len(), table.len(), "a key appears twice");
    assert!(table.len() >= 31);
    for c in &table {
        assert!(
            c.min <= c.ui_min && c.ui_min <= c.ui_max && c.ui_max <= c.max,
            "{}: slider {}..{} must lie within {}..{}",
            c.key,
            c.ui_min,
            c.ui_max,
            c.min,
            c.max
        );
    }
}

#[test]
fn the_page_gets_the_limits_the_core_enforces() {
    // The stride a link may carry is the core's, not a slider's: 12 is past the slider's 6.
    let stride = range("stride");
    assert_eq!((stride.ui_max, stride.max), (6.0, 16.0));
    // f32 limits arrive as the decimals they were written as, so the page neither prints
    // 9.99999997e-7 nor refuses a dropout of 0.9 as above 0.899999976.
    assert_eq!(range("learningRate").min, 1e-6);
    assert_eq!(range("learningRate").max, 10.0);
    assert_eq!(range("archDropout").max, 0.9);
    assert_eq!(range("bnMomentum").max, training::MAX_BN_MOMENTUM);
}
