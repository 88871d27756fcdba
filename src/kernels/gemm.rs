//! General matrix multiply on row-major `f32` slices: the engine under convolution and dense layers.
//!
//! C (m, n) = op(A) (m, k) · op(B) (k, n), then optionally + old C, + bias per column, ReLU;
//! op is the identity or the transpose, chosen per operand.
//!
//! The fast path is register blocked: a 4x8 tile of C stays in eight f32x4 accumulators
//! while each step broadcasts four values of A and loads one 8-wide row of B. Rows of B
//! are read in place when they are contiguous in memory, and otherwise copied into a small
//! panel on the stack. When packing B would cost more, the same kernel computes
//! C^T = op(B)^T · op(A)^T and writes its tiles transposed: that way no call ever copies a
//! large operand (a dense layer's weights, say) just to transpose it.

/// Rows of C in one register tile.
pub const MR: usize = 4;
/// Columns of C in one register tile (two f32x4 vectors).
pub const NR: usize = 8;
/// Depth of one pass over a panel of B; KC x NR floats (8 KB) stay in the L1 cache.
const KC: usize = 256;

/// One input matrix: `data` is row-major with `ld` floats between rows as stored; with
/// `transposed` the logical matrix is the transpose of what is stored.
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    pub data: &'a [f32],
    pub ld: usize,
    pub transposed: bool,
}

impl<'a> Operand<'a> {
    /// The stored matrix itself.
    pub fn plain(data: &'a [f32], ld: usize) -> Self {
        Self { data, ld, transposed: false }
    }
    /// The transpose of the stored matrix.
    pub fn transposed(data: &'a [f32], ld: usize) -> Self {
        Self { data, ld, transposed: true }
    }
    /// Element (r, c) of the logical matrix.
    fn at(&self, r: usize, c: usize) -> f32 {
        if self.transposed {
            self.data[c * self.ld + r]
        } else {
            self.data[r * self.ld + c]
        }
    }
    /// Panics (a programmer error) unless the logical `rows x cols` matrix fits in `data`.
    fn check(&self, rows: usize, cols: usize, name: &str) {
        let (stored_rows, stored_cols) = if self.transposed { (cols, rows) } else { (rows, cols) };
        if stored_rows == 0 || stored_cols == 0 {
            return;
        }
        assert!(self.ld >= stored_cols, "gemm: {name} has ld {} < {stored_cols} columns", self.ld);
        assert!(self.data.len() >= (stored_rows - 1) * self.ld + stored_cols, "gemm: {name} is too short");
    }
}

/// What happens to a result before it lands in C.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epilogue<'a> {
    /// Add to the old contents of C instead of overwriting them.
    pub accumulate: bool,
    /// Added to every row of the result, one value per column of C: (n).
    pub bias: Option<&'a [f32]>,
    /// Clamp negative results to zero, after the bias.
    pub relu: bool,
}

/// Scalar reference: the definition, one dot product per element of C.
/// c (m, ldc) ; a: op(A) (m, k) ; b: op(B) (k, n) ; bias (n).
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference(c: &mut [f32], ldc: usize, a: Operand, b: Operand, epilogue: Epilogue, m: usize, n: usize, k: usize) {
    check_args(c, ldc, &a, &b, &epilogue, m, n, k);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a.at(i, p) * b.at(p, j);
            }
            let cell = &mut c[i * ldc + j];
            if epilogue.accumulate {
                acc += *cell;
            }
            if let Some(bias) = epilogue.bias {
                acc += bias[j];
            }
            *cell = if epilogue.relu { acc.max(0.0) } else { acc };
        }
    }
}

/// The fast multiply; same contract as [`gemm_reference`].
/// c (m, ldc) ; a: op(A) (m, k) ; b: op(B) (k, n) ; bias (n).
#[allow(clippy::too_many_arguments)]
pub fn gemm(c: &mut [f32], ldc: usize, a: Operand, b: Operand, epilogue: Epilogue, m: usize, n: usize, k: usize) {
    check_args(c, ldc, &a, &b, &epilogue, m, n, k);
    if m == 0 || n == 0 {
        return;
    }
    Plan::choose(ldc, a, b, epilogue, m, n, k).run(c);
}

#[allow(clippy::too_many_arguments)]
fn check_args(c: &[f32], ldc: usize, a: &Operand, b: &Operand, epilogue: &Epilogue, m: usize, n: usize, k: usize) {
    a.check(m, k, "A");
    b.check(k, n, "B");
    if m > 0 && n > 0 {
        assert!(ldc >= n, "gemm: ldc {ldc} < n {n}");
        assert!(c.len() >= (m - 1) * ldc + n, "gemm: C is too short");
    }
    if let Some(bias) = epilogue.bias {
        assert!(bias.len() >= n, "gemm: bias has {} values for {n} columns", bias.len());
    }
}

/// The product as the tile kernel sees it: tile rows come from a broadcast source,
/// tile columns from 8-wide rows, and the tile lands in C with arbitrary strides.
struct Plan<'a> {
    /// Broadcast source, element (i, p) at `a[i * a_rs + p * a_cs]`.
    a: &'a [f32],
    a_rs: usize,
    a_cs: usize,
    /// Row source, element (p, j) at `b[p * b_ld + j]` when `b_rows`, else at `b[j * b_ld + p]`.
    b: &'a [f32],
    b_ld: usize,
    b_rows: bool,
    /// Tile element (i, j) lands at `c[i * c_rs + j * c_cs]`.
    c_rs: usize,
    c_cs: usize,
    /// Bias value for tile element (i, j): `bias[j]`, or `bias[i]` when `bias_by_row`.
    bias: Option<&'a [f32]>,
    bias_by_row: bool,
    accumulate: bool,
    relu: bool,
    m: usize,
    n: usize,
    k: usize,
}

impl<'a> Plan<'a> {
    /// Direct (C = op(A) op(B)) or transposed (C^T = op(B)^T op(A)^T), whichever packs less.
    fn choose(ldc: usize, a: Operand<'a>, b: Operand<'a>, e: Epilogue<'a>, m: usize, n: usize, k: usize) -> Self {
        // Only a row source that is not contiguous needs packing: op(B) when B is transposed
        // (direct form), op(A)^T when A is not (transposed form).
        let pack_direct = if b.transposed { k * n } else { 0 };
        let pack_transposed = if a.transposed { 0 } else { k * m };
        // At equal cost, broadcast the smaller matrix: it is re-read once per panel of 8 columns.
        let transposed = pack_transposed < pack_direct || (pack_transposed == pack_direct && n < m);
        if !transposed {
            let (a_rs, a_cs) = strides(&a);
            Self {
                a: a.data, a_rs, a_cs,
                b: b.data, b_ld: b.ld, b_rows: !b.transposed,
                c_rs: ldc, c_cs: 1,
                bias: e.bias, bias_by_row: false, accumulate: e.accumulate, relu: e.relu,
                m, n, k,
            }
        } else {
            // Broadcast source op(B)^T: element (j, p) = op(B)(p, j).
            let (b_rs, b_cs) = if b.transposed { (b.ld, 1) } else { (1, b.ld) };
            Self {
                a: b.data, a_rs: b_rs, a_cs: b_cs,
                b: a.data, b_ld: a.ld, b_rows: a.transposed,
                c_rs: 1, c_cs: ldc,
                bias: e.bias, bias_by_row: true, accumulate: e.accumulate, relu: e.relu,
                m: n, n: m, k,
            }
        }
    }

    fn run(&self, c: &mut [f32]) {
        if self.k == 0 {
            self.finish_without_products(c);
            return;
        }
        let mut panel = [0.0f32; KC * NR];
        let mut p0 = 0;
        while p0 < self.k {
            let kc = KC.min(self.k - p0);
            let first = p0 == 0;
            let last = p0 + kc == self.k;
            for j0 in (0..self.n).step_by(NR) {
                let nr = NR.min(self.n - j0);
                // SAFETY of the pointer below: `check_args` proved every (p, j) with p < k, j < n
                // lies in `self.b`; the panel holds kc * NR floats.
                let (b_ptr, b_rs) = if self.b_rows && nr == NR {
                    (self.b[p0 * self.b_ld + j0..].as_ptr(), self.b_ld)
                } else {
                    self.pack_panel(&mut panel, p0, kc, j0, nr);
                    (panel.as_ptr(), NR)
                };
                for i0 in (0..self.m).step_by(MR) {
                    let mr = MR.min(self.m - i0);
                    // Rows past the end repeat the last row; their results are discarded.
                    let rows: [*const f32; MR] =
                        std::array::from_fn(|r| self.a[(i0 + r.min(mr - 1)) * self.a_rs + p0 * self.a_cs..].as_ptr());
                    // SAFETY: every row pointer reads `kc` elements `a_cs` apart inside `self.a`
                    // (checked in `check_args`), and `b_ptr` reads kc rows of NR floats.
                    let tile = unsafe { tile_4x8(kc, rows, self.a_cs, b_ptr, b_rs) };
                    self.store(c, &tile, i0, j0, mr, nr, !first || self.accumulate, last);
                }
            }
            p0 += kc;
        }
    }

    /// Copies rows p0..p0+kc, columns j0..j0+nr of the row source into an NR-wide panel,
    /// zero-padding missing columns.
    fn pack_panel(&self, panel: &mut [f32; KC * NR], p0: usize, kc: usize, j0: usize, nr: usize) {
        for p in 0..kc {
            let dst = &mut panel[p * NR..(p + 1) * NR];
            for (j, d) in dst.iter_mut().enumerate() {
                *d = if j >= nr {
                    0.0
                } else if self.b_rows {
                    self.b[(p0 + p) * self.b_ld + j0 + j]
                } else {
                    self.b[(j0 + j) * self.b_ld + p0 + p]
                };
            }
        }
    }

    /// Writes one tile into C: add the old value (`add`), then on the last depth pass the bias and ReLU.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn store(&self, c: &mut [f32], tile: &[[f32; NR]; MR], i0: usize, j0: usize, mr: usize, nr: usize, add: bool, last: bool) {
        let bias = if last { self.bias } else { None };
        let relu = last && self.relu;
        if self.c_cs == 1 && mr == MR && nr == NR && !self.bias_by_row {
            // The common full tile, written so that the compiler keeps it in vectors.
            let bias_row: Option<&[f32]> = bias.map(|b| &b[j0..j0 + NR]);
            for (r, acc) in tile.iter().enumerate() {
                let row = &mut c[(i0 + r) * self.c_rs + j0..][..NR];
                for j in 0..NR {
                    let mut v = acc[j];
                    if add {
                        v += row[j];
                    }
                    if let Some(b) = bias_row {
                        v += b[j];
                    }
                    row[j] = if relu { v.max(0.0) } else { v };
                }
            }
            return;
        }
        for (r, acc) in tile.iter().enumerate().take(mr) {
            for (j, &value) in acc.iter().enumerate().take(nr) {
                let cell = &mut c[(i0 + r) * self.c_rs + (j0 + j) * self.c_cs];
                let mut v = value;
                if add {
                    v += *cell;
                }
                if let Some(b) = bias {
                    v += if self.bias_by_row { b[i0 + r] } else { b[j0 + j] };
                }
                *cell = if relu { v.max(0.0) } else { v };
            }
        }
    }

    /// k = 0: the product is empty, so C becomes (old C or 0) + bias, then ReLU.
    fn finish_without_products(&self, c: &mut [f32]) {
        for i in 0..self.m {
            for j in 0..self.n {
                let cell = &mut c[i * self.c_rs + j * self.c_cs];
                let mut v = if self.accumulate { *cell } else { 0.0 };
                if let Some(b) = self.bias {
                    v += if self.bias_by_row { b[i] } else { b[j] };
                }
                *cell = if self.relu { v.max(0.0) } else { v };
            }
        }
    }
}

fn strides(o: &Operand) -> (usize, usize) {
    if o.transposed {
        (1, o.ld)
    } else {
        (o.ld, 1)
    }
}

/// The register tile with SIMD128: acc(r, j) = sum over p < kc of A(r, p) * B(p, j).
///
/// # Safety
/// `a[r].add(p * a_cs)` and `b.add(p * b_rs + j)` must be readable for p < kc, j < NR.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn tile_4x8(kc: usize, a: [*const f32; MR], a_cs: usize, b: *const f32, b_rs: usize) -> [[f32; NR]; MR] {
    use core::arch::wasm32::*;
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) = (z, z, z, z, z, z, z, z);
    let (mut a0, mut a1, mut a2, mut a3, mut bp) = (a[0], a[1], a[2], a[3], b);
    for _ in 0..kc {
        let b0 = v128_load(bp as *const v128);
        let b1 = v128_load(bp.add(4) as *const v128);
        let x0 = v128_load32_splat(a0 as *const u32);
        let x1 = v128_load32_splat(a1 as *const u32);
        let x2 = v128_load32_splat(a2 as *const u32);
        let x3 = v128_load32_splat(a3 as *const u32);
        c00 = f32x4_add(c00, f32x4_mul(x0, b0));
        c01 = f32x4_add(c01, f32x4_mul(x0, b1));
        c10 = f32x4_add(c10, f32x4_mul(x1, b0));
        c11 = f32x4_add(c11, f32x4_mul(x1, b1));
        c20 = f32x4_add(c20, f32x4_mul(x2, b0));
        c21 = f32x4_add(c21, f32x4_mul(x2, b1));
        c30 = f32x4_add(c30, f32x4_mul(x3, b0));
        c31 = f32x4_add(c31, f32x4_mul(x3, b1));
        a0 = a0.add(a_cs);
        a1 = a1.add(a_cs);
        a2 = a2.add(a_cs);
        a3 = a3.add(a_cs);
        bp = bp.add(b_rs);
    }
    let mut out = [[0.0f32; NR]; MR];
    for (row, (lo, hi)) in out.iter_mut().zip([(c00, c01), (c10, c11), (c20, c21), (c30, c31)]) {
        v128_store(row.as_mut_ptr() as *mut v128, lo);
        v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
    }
    out
}

/// The register tile in portable Rust (native builds); the compiler vectorises the 8-wide rows.
///
/// # Safety
/// `a[r].add(p * a_cs)` and `b.add(p * b_rs + j)` must be readable for p < kc, j < NR.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
unsafe fn tile_4x8(kc: usize, a: [*const f32; MR], a_cs: usize, b: *const f32, b_rs: usize) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for p in 0..kc {
        let brow = &*(b.add(p * b_rs) as *const [f32; NR]);
        for r in 0..MR {
            let x = *a[r].add(p * a_cs);
            for j in 0..NR {
                acc[r][j] += x * brow[j];
            }
        }
    }
    acc
}

/// sums (n) += column sums of `matrix` (m, n): the bias gradient of a layer whose output is `matrix`'s gradient.
pub fn add_column_sums(sums: &mut [f32], matrix: &[f32], m: usize, n: usize) {
    assert_eq!(sums.len(), n);
    assert_eq!(matrix.len(), m * n);
    if n == 0 {
        return;
    }
    for row in matrix.chunks_exact(n) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}
