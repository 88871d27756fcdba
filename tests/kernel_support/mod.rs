//! Helpers shared by the kernel tests: seeded random data, random geometries, comparisons.
#![allow(dead_code)] // each test file uses a different subset

use convscope::kernels::conv::{ConvGeometry, Padding};
use convscope::rng::{rng_from_seed, Rng};
use rand::RngExt;

/// `len` values uniform in [-1, 1).
pub fn random_vec(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Asserts |got - want| <= abs + rel * |want| elementwise, naming the first bad index.
pub fn assert_close(got: &[f32], want: &[f32], abs: f32, rel: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = abs + rel * w.abs();
        assert!((g - w).abs() <= tol && g.is_finite(), "{what}: index {idx}: got {g}, want {w} (tolerance {tol})");
    }
}

/// A random valid geometry with odd sizes; `seed` picks it.
pub fn random_geometry(rng: &mut Rng) -> ConvGeometry {
    loop {
        let batch = rng.random_range(1..=3);
        let in_h = rng.random_range(1..=12);
        let in_w = rng.random_range(1..=12);
        let in_c = [1, 2, 3, 5, 7, 16][rng.random_range(0..6)];
        let k_h = rng.random_range(1..=5);
        let k_w = rng.random_range(1..=5);
        let out_c = [1, 3, 4, 5, 8, 9, 16, 17][rng.random_range(0..8)];
        let stride = rng.random_range(1..=3);
        let dilation = rng.random_range(1..=2);
        let padding = match rng.random_range(0..3) {
            0 => Padding::Valid,
            1 => Padding::Same,
            _ => Padding::Explicit(rng.random_range(0..=2)),
        };
        if let Ok(g) = ConvGeometry::new(batch, (in_h, in_w, in_c), (k_h, k_w, out_c), stride, dilation, padding) {
            return g;
        }
    }
}

pub fn seeded(seed: u64) -> Rng {
    rng_from_seed(seed)
}

/// The reference-framework tolerance the fixtures are checked with: 1e-5 absolute + 1e-4 relative.
pub fn assert_matches_fixture(got: &[f32], want: &[f32], what: &str) {
    assert_close(got, want, 1e-5, 1e-4, what);
}

/// Reads `tests/fixtures/conv/<name>` as text.
pub fn fixture_text(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conv").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
