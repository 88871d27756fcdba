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
//!
//! The tile (`tile`) and its epilogue (`TileTarget`) are shared with the convolution
//! kernels, which feed the tile straight from an image (module `implicit`).
//!
//! Measured in V8 (Node 20, one thread): the tile runs at about 65% of the f32x4 mul+add
//! peak. Each step is 16 vector mul/add and about 18 other instructions (6 loads, address
//! arithmetic, V8's loop interrupt check); unrolling does not help, because LLVM then
//! schedules every load of a trip first and V8 spills the accumulators.
//!
//! Built with `+relaxed-simd` (the page's second wasm build), each mul+add pair of the tile
//! becomes one `f32x4.relaxed_madd`; where V8 emits an FMA that took about a quarter off the
//! CPU time of a training epoch in Node 20.

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
        Self {
            data,
            ld,
            transposed: false,
        }
    }
    /// The transpose of the stored matrix.
    pub fn transposed(data: &'a [f32], ld: usize) -> Self {
        Self {
            data,
            ld,
            transposed: true,
        }
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
        let (stored_rows, stored_cols) = if self.transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if stored_rows == 0 || stored_cols == 0 {
            return;
        }
        assert!(
            self.ld >= stored_cols,
            "gemm: {name} has ld {} < {stored_cols} columns",
            self.ld
        );
        assert!(
            self.data.len() >= (stored_rows - 1) * self.ld + stored_cols,
            "gemm: {name} is too short"
        );
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
pub fn gemm_reference(
    c: &mut [f32],
    ldc: usize,
    a: Operand,
    b: Operand,
    epilogue: Epilogue,
    m: usize,
    n: usize,
    k: usize,
) {
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
            *cell = if epilogue.relu { relu(acc) } else { acc };
        }
    }
}

/// The fast multiply; same contract as [`gemm_reference`].
/// c (m, ldc) ; a: op(A) (m, k) ; b: op(B) (k, n) ; bias (n).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    c: &mut [f32],
    ldc: usize,
    a: Operand,
    b: Operand,
    epilogue: Epilogue,
    m: usize,
    n: usize,
    k: usize,
) {
    check_args(c, ldc, &a, &b, &epilogue, m, n, k);
    if m == 0 || n == 0 {
        return;
    }
    Plan::choose(ldc, a, b, epilogue, m, n, k).run(c);
}

#[allow(clippy::too_many_arguments)]
fn check_args(
    c: &[f32],
    ldc: usize,
    a: &Operand,
    b: &Operand,
    epilogue: &Epilogue,
    m: usize,
    n: usize,
    k: usize,
) {
    a.check(m, k, "A");
    b.check(k, n, "B");
    if m > 0 && n > 0 {
        assert!(ldc >= n, "gemm: ldc {ldc} < n {n}");
        assert!(c.len() >= (m - 1) * ldc + n, "gemm: C is too short");
    }
    if let Some(bias) = epilogue.bias {
        assert!(
            bias.len() >= n,
            "gemm: bias has {} values for {n} columns",
            bias.len()
        );
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
    fn choose(
        ldc: usize,
        a: Operand<'a>,
        b: Operand<'a>,
        e: Epilogue<'a>,
        m: usize,
        n: usize,
        k: usize,
    ) -> Self {
        // Only a row source that is not contiguous needs packing: op(B) when B is transposed
        // (direct form), op(A)^T when A is not (transposed form).
        let pack_direct = if b.transposed { k * n } else { 0 };
        let pack_transposed = if a.transposed { 0 } else { k * m };
        // At equal cost, broadcast the smaller matrix: it is re-read once per panel of 8 columns.
        let transposed = pack_transposed < pack_direct || (pack_transposed == pack_direct && n < m);
        if !transposed {
            let (a_rs, a_cs) = strides(&a);
            Self {
                a: a.data,
                a_rs,
                a_cs,
                b: b.data,
                b_ld: b.ld,
                b_rows: !b.transposed,
                c_rs: ldc,
                c_cs: 1,
                bias: e.bias,
                bias_by_row: false,
                accumulate: e.accumulate,
                relu: e.relu,
                m,
                n,
                k,
            }
        } else {
            // Broadcast source op(B)^T: element (j, p) = op(B)(p, j).
            let (b_rs, b_cs) = if b.transposed { (b.ld, 1) } else { (1, b.ld) };
            Self {
                a: b.data,
                a_rs: b_rs,
                a_cs: b_cs,
                b: a.data,
                b_ld: a.ld,
                b_rows: a.transposed,
                c_rs: 1,
                c_cs: ldc,
                bias: e.bias,
                bias_by_row: true,
                accumulate: e.accumulate,
                relu: e.relu,
                m: n,
                n: m,
                k,
            }
        }
    }

    fn run(&self, c: &mut [f32]) {
        if self.k == 0 {
            self.finish_without_products(c);
            return;
        }
        if self.m == 1 && self.b_rows {
            self.run_one_row(c);
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
                let target = TileTarget {
                    c_rs: self.c_rs,
                    c_cs: self.c_cs,
                    add: !first || self.accumulate,
                    bias: if last { self.bias } else { None },
                    bias_by_row: self.bias_by_row,
                    relu: last && self.relu,
                };
                for i0 in (0..self.m).step_by(MR) {
                    let mr = MR.min(self.m - i0);
                    // Rows past the end repeat the last row; their results are discarded.
                    let rows: [*const f32; MR] = std::array::from_fn(|r| {
                        self.a[(i0 + r.min(mr - 1)) * self.a_rs + p0 * self.a_cs..].as_ptr()
                    });
                    // SAFETY: every row pointer reads `kc` elements `a_cs` apart inside `self.a`
                    // (checked in `check_args`), and `b_ptr` reads kc rows of NR floats.
                    let acc = unsafe { tile::multiply(&[0], kc, rows, self.a_cs, b_ptr, b_rs) };
                    target.write(c, acc, i0, j0, mr, nr);
                }
            }
            p0 += kc;
        }
    }

    /// A single row of A (one image through a dense layer), with B's rows in place. The tile
    /// would multiply MR rows to keep one, and read B in NR-wide strips; here B is read row
    /// after row, in order, into a row of sums that stays in L1. In V8 that took 12-15% off
    /// single-image inference of the chapter's model (interleaved A/B against the tile); for
    /// its first dense layer alone (8192 x 128, 4 MB of weights), rows took 0.25 ms where
    /// 32-wide strips with the sums in registers took 0.36 ms.
    fn run_one_row(&self, c: &mut [f32]) {
        /// Columns per pass down B: 1 KB of sums.
        const BLOCK: usize = 256;
        let mut sums = [0.0f32; BLOCK];
        for j0 in (0..self.n).step_by(BLOCK) {
            let width = BLOCK.min(self.n - j0);
            let sums = &mut sums[..width];
            sums.fill(0.0);
            for p in 0..self.k {
                let x = self.a[p * self.a_cs];
                let row = &self.b[p * self.b_ld + j0..][..width];
                for (sum, &b) in sums.iter_mut().zip(row) {
                    *sum += x * b;
                }
            }
            for (j, &sum) in sums.iter().enumerate() {
                let cell = &mut c[(j0 + j) * self.c_cs];
                let mut v = if self.accumulate { *cell + sum } else { sum };
                if let Some(b) = self.bias {
                    v += if self.bias_by_row { b[0] } else { b[j0 + j] };
                }
                *cell = if self.relu { relu(v) } else { v };
            }
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

    /// k = 0: the product is empty, so C becomes (old C or 0) + bias, then ReLU.
    fn finish_without_products(&self, c: &mut [f32]) {
        for i in 0..self.m {
            for j in 0..self.n {
                let cell = &mut c[i * self.c_rs + j * self.c_cs];
                let mut v = if self.accumulate { *cell } else { 0.0 };
                if let Some(b) = self.bias {
                    v += if self.bias_by_row { b[i] } else { b[j] };
                }
                *cell = if self.relu { relu(v) } else { v };
            }
        }
    }
}

/// Where tiles of results land in C, and what happens to them on the way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TileTarget<'a> {
    /// Tile element (i, j) lands at `c[i * c_rs + j * c_cs]`; one of the two strides must be 1.
    pub c_rs: usize,
    pub c_cs: usize,
    /// Add to the old contents of C instead of overwriting them.
    pub add: bool,
    /// Bias for element (i, j): `bias[j]`, or `bias[i]` when `bias_by_row`.
    pub bias: Option<&'a [f32]>,
    pub bias_by_row: bool,
    pub relu: bool,
}

impl TileTarget<'_> {
    /// Writes the `mr x nr` corner of the tile whose top-left element is (i0, j0).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn write(
        &self,
        c: &mut [f32],
        acc: tile::Acc,
        i0: usize,
        j0: usize,
        mr: usize,
        nr: usize,
    ) {
        let at = i0 * self.c_rs + j0 * self.c_cs;
        if mr == MR && nr == NR && (self.c_cs == 1 || self.c_rs == 1) {
            assert!(
                at + (MR - 1) * self.c_rs + (NR - 1) * self.c_cs < c.len(),
                "gemm: tile outside C"
            );
            // SAFETY: the assert above bounds the tile's last element; the bias slices are checked.
            unsafe {
                let at = c.as_mut_ptr().add(at);
                if self.c_cs == 1 && !self.bias_by_row {
                    tile::store(
                        acc,
                        at,
                        self.c_rs,
                        self.add,
                        self.bias.map(|b| b[j0..j0 + NR].as_ptr()),
                        self.relu,
                    );
                    return;
                }
                if self.c_rs == 1 && self.bias_by_row {
                    tile::store_transposed(
                        acc,
                        at,
                        self.c_cs,
                        self.add,
                        self.bias.map(|b| b[i0..i0 + MR].as_ptr()),
                        self.relu,
                    );
                    return;
                }
            }
        }
        let values = tile::to_array(acc);
        for (r, row) in values.iter().enumerate().take(mr) {
            for (j, &value) in row.iter().enumerate().take(nr) {
                let cell = &mut c[(i0 + r) * self.c_rs + (j0 + j) * self.c_cs];
                let mut v = value;
                if self.add {
                    v += *cell;
                }
                if let Some(b) = self.bias {
                    v += if self.bias_by_row {
                        b[i0 + r]
                    } else {
                        b[j0 + j]
                    };
                }
                *cell = if self.relu { relu(v) } else { v };
            }
        }
    }
}

/// max(v, 0) written as a comparison: `f32::max` becomes a libm call on wasm, which blocks vectorisation.
#[inline(always)]
pub(crate) fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

fn strides(o: &Operand) -> (usize, usize) {
    if o.transposed {
        (1, o.ld)
    } else {
        (o.ld, 1)
    }
}

/// The register tile with SIMD128: eight f32x4 accumulators, rows r = 0..4, columns 0..4 and 4..8.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod tile {
    use super::{MR, NR};
    use core::arch::wasm32::*;

    pub type Acc = [v128; 8];

    /// acc(r, j) = sum over steps of A(r, step) * B(step, j): the steps run through the
    /// segments in order; segment s covers `seg_len` steps of row r, read at
    /// `a[r] + segments[s] + q * a_cs` (q < seg_len); B advances `b_rs` per step throughout.
    ///
    /// # Safety
    /// Every such A address, and `b + t * b_rs + j` for t < segments.len() * seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply(
        segments: &[usize],
        seg_len: usize,
        a: [*const f32; MR],
        a_cs: usize,
        b: *const f32,
        b_rs: usize,
    ) -> Acc {
        let mut c = [f32x4_splat(0.0); 8];
        let mut bp = b;
        // One step per trip: unrolled loops measured slower in V8, because LLVM hoists
        // every load of a trip ahead of the arithmetic and V8 then runs out of registers.
        for &offset in segments {
            let mut rows = a.map(|row| row.add(offset));
            for _ in 0..seg_len {
                step(
                    &mut c,
                    rows.map(|row| v128_load32_splat(row as *const u32)),
                    bp,
                );
                rows = rows.map(|row| row.add(a_cs));
                bp = bp.add(b_rs);
            }
        }
        c
    }

    /// [`multiply`] with the MR rows of A neighbouring floats, row r at `a + r`, and B packed
    /// (`b_rs` = NR): one pointer and constant offsets instead of four row pointers, so each
    /// step has fewer address computations besides its loads and multiply-adds.
    ///
    /// # Safety
    /// `a + segments[s] + q * a_cs + r` for q < seg_len, r < MR, and `b + t * NR + j` for
    /// t < segments.len() * seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply_adjacent(
        segments: &[usize],
        seg_len: usize,
        a: *const f32,
        a_cs: usize,
        b: *const f32,
    ) -> Acc {
        let mut c = [f32x4_splat(0.0); 8];
        let mut bp = b;
        for &offset in segments {
            let mut row = a.add(offset);
            for _ in 0..seg_len {
                let x = [0, 1, 2, 3].map(|r| v128_load32_splat(row.add(r) as *const u32));
                step(&mut c, x, bp);
                row = row.add(a_cs);
                bp = bp.add(NR);
            }
        }
        c
    }

    /// The tile with B read from planes: acc(r, j) = sum over steps of A(r, step) * B(step, j),
    /// with A(r, step) at `a[r] + step` (rows contiguous across segments) and, for step q of
    /// segment s, B(step, 0..NR) at `b + segments[s] + q * plane` (one row of one plane).
    ///
    /// # Safety
    /// `a[r] + t` for t < segments.len() * seg_len, and `b + segments[s] + q * plane + j` for
    /// q < seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply_planes(
        segments: &[usize],
        seg_len: usize,
        a: [*const f32; MR],
        b: *const f32,
        plane: usize,
    ) -> Acc {
        let mut c = [f32x4_splat(0.0); 8];
        let mut rows = a;
        for &offset in segments {
            let mut bp = b.add(offset);
            for _ in 0..seg_len {
                step(
                    &mut c,
                    rows.map(|row| v128_load32_splat(row as *const u32)),
                    bp,
                );
                rows = rows.map(|row| row.add(1));
                bp = bp.add(plane);
            }
        }
        c
    }

    /// One step of the tile: c(r, 0..8) += x(r) * b(0..8).
    #[inline(always)]
    unsafe fn step(c: &mut Acc, x: [v128; MR], b: *const f32) {
        let b0 = v128_load(b as *const v128);
        let b1 = v128_load(b.add(4) as *const v128);
        for r in 0..MR {
            c[2 * r] = madd(x[r], b0, c[2 * r]);
            c[2 * r + 1] = madd(x[r], b1, c[2 * r + 1]);
        }
    }

    /// acc + x * b. The relaxed-SIMD build (`+relaxed-simd`) uses one multiply-add, which
    /// the engine may or may not fuse (one rounding or two): both are within the tests'
    /// tolerance, and an FMA unit does the work of two instructions.
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn madd(x: v128, b: v128, acc: v128) -> v128 {
        f32x4_relaxed_madd(x, b, acc)
    }

    /// acc + x * b: a multiply, then an add (plain SIMD128; every engine with SIMD has them).
    #[cfg(not(target_feature = "relaxed-simd"))]
    #[inline(always)]
    fn madd(x: v128, b: v128, acc: v128) -> v128 {
        f32x4_add(acc, f32x4_mul(x, b))
    }

    /// (old + ) v (+ bias), then ReLU (negative and NaN lanes become 0, like `super::relu`).
    #[inline(always)]
    unsafe fn finish(v: v128, at: *mut f32, add: bool, bias: Option<v128>, relu: bool) {
        let mut v = v;
        if add {
            v = f32x4_add(v, v128_load(at as *const v128));
        }
        if let Some(b) = bias {
            v = f32x4_add(v, b);
        }
        if relu {
            v = v128_and(v, f32x4_gt(v, f32x4_splat(0.0)));
        }
        v128_store(at as *mut v128, v);
    }

    /// Stores a full tile at `c` (row r at `c + r * ldc`); `bias` points at its NR column biases.
    ///
    /// # Safety
    /// `c + r * ldc + j` must be writable for r < MR, j < NR, and `bias + j` readable for j < NR.
    #[inline(always)]
    pub unsafe fn store(
        acc: Acc,
        c: *mut f32,
        ldc: usize,
        add: bool,
        bias: Option<*const f32>,
        relu: bool,
    ) {
        let (b0, b1) = match bias {
            Some(b) => (
                Some(v128_load(b as *const v128)),
                Some(v128_load(b.add(4) as *const v128)),
            ),
            None => (None, None),
        };
        for r in 0..MR {
            let row = c.add(r * ldc);
            finish(acc[2 * r], row, add, b0, relu);
            finish(acc[2 * r + 1], row.add(4), add, b1, relu);
        }
    }

    /// Stores a full tile transposed: tile column j goes to `c + j * ldc` as MR contiguous
    /// values; `bias` points at the MR row biases.
    ///
    /// # Safety
    /// `c + j * ldc + r` must be writable for r < MR, j < NR, and `bias + r` readable for r < MR.
    #[inline(always)]
    pub unsafe fn store_transposed(
        acc: Acc,
        c: *mut f32,
        ldc: usize,
        add: bool,
        bias: Option<*const f32>,
        relu: bool,
    ) {
        let bias = bias.map(|b| v128_load(b as *const v128));
        for half in 0..2 {
            let [r0, r1, r2, r3] = [acc[half], acc[2 + half], acc[4 + half], acc[6 + half]];
            // 4x4 transpose: column j of rows r0..r3 becomes one vector.
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
            let cols = [
                i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
            ];
            for (j, col) in cols.into_iter().enumerate() {
                finish(col, c.add((4 * half + j) * ldc), add, bias, relu);
            }
        }
    }

    pub fn to_array(acc: Acc) -> [[f32; NR]; MR] {
        let mut out = [[0.0f32; NR]; MR];
        for (r, row) in out.iter_mut().enumerate() {
            // SAFETY: each row holds NR = 8 floats, two vectors.
            unsafe {
                v128_store(row.as_mut_ptr() as *mut v128, acc[2 * r]);
                v128_store(row.as_mut_ptr().add(4) as *mut v128, acc[2 * r + 1]);
            }
        }
        out
    }
}

/// The register tile in portable Rust (native builds); the compiler vectorises the 8-wide rows.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub(crate) mod tile {
    use super::{relu, MR, NR};

    pub type Acc = [[f32; NR]; MR];

    /// acc(r, j) = sum over steps of A(r, step) * B(step, j): the steps run through the
    /// segments in order; segment s covers `seg_len` steps of row r, read at
    /// `a[r] + segments[s] + q * a_cs` (q < seg_len); B advances `b_rs` per step throughout.
    ///
    /// # Safety
    /// Every such A address, and `b + t * b_rs + j` for t < segments.len() * seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply(
        segments: &[usize],
        seg_len: usize,
        a: [*const f32; MR],
        a_cs: usize,
        b: *const f32,
        b_rs: usize,
    ) -> Acc {
        let mut acc = [[0.0f32; NR]; MR];
        let mut bp = b;
        for &offset in segments {
            let rows = a.map(|row| row.add(offset));
            for q in 0..seg_len {
                let brow = &*(bp as *const [f32; NR]);
                for r in 0..MR {
                    let x = *rows[r].add(q * a_cs);
                    for j in 0..NR {
                        acc[r][j] += x * brow[j];
                    }
                }
                bp = bp.add(b_rs);
            }
        }
        acc
    }

    /// [`multiply`] with the MR rows of A neighbouring floats, row r at `a + r`, and B packed
    /// (`b_rs` = NR). (The weight gradient calls it only in the SIMD128 build.)
    ///
    /// # Safety
    /// `a + segments[s] + q * a_cs + r` for q < seg_len, r < MR, and `b + t * NR + j` for
    /// t < segments.len() * seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply_adjacent(
        segments: &[usize],
        seg_len: usize,
        a: *const f32,
        a_cs: usize,
        b: *const f32,
    ) -> Acc {
        let rows = std::array::from_fn(|r| a.add(r));
        multiply(segments, seg_len, rows, a_cs, b, NR)
    }

    /// The tile with B read from planes: acc(r, j) = sum over steps of A(r, step) * B(step, j),
    /// with A(r, step) at `a[r] + step` (rows contiguous across segments) and, for step q of
    /// segment s, B(step, 0..NR) at `b + segments[s] + q * plane` (one row of one plane).
    ///
    /// # Safety
    /// `a[r] + t` for t < segments.len() * seg_len, and `b + segments[s] + q * plane + j` for
    /// q < seg_len, j < NR, must be readable.
    #[inline(always)]
    pub unsafe fn multiply_planes(
        segments: &[usize],
        seg_len: usize,
        a: [*const f32; MR],
        b: *const f32,
        plane: usize,
    ) -> Acc {
        let mut acc = [[0.0f32; NR]; MR];
        let mut step = 0;
        for &offset in segments {
            for q in 0..seg_len {
                let brow = &*(b.add(offset + q * plane) as *const [f32; NR]);
                for r in 0..MR {
                    let x = *a[r].add(step);
                    for j in 0..NR {
                        acc[r][j] += x * brow[j];
                    }
                }
                step += 1;
            }
        }
        acc
    }

    /// Stores a full tile at `c` (row r at `c + r * ldc`); `bias` points at its NR column biases.
    ///
    /// # Safety
    /// `c + r * ldc + j` must be writable for r < MR, j < NR, and `bias + j` readable for j < NR.
    #[inline(always)]
    pub unsafe fn store(
        acc: Acc,
        c: *mut f32,
        ldc: usize,
        add: bool,
        bias: Option<*const f32>,
        relu_on: bool,
    ) {
        for (r, row) in acc.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let at = c.add(r * ldc + j);
                let v = v + if add { *at } else { 0.0 } + bias.map_or(0.0, |b| *b.add(j));
                *at = if relu_on { relu(v) } else { v };
            }
        }
    }

    /// Stores a full tile transposed: tile element (r, j) goes to `c + j * ldc + r`; `bias`
    /// points at the MR row biases.
    ///
    /// # Safety
    /// `c + j * ldc + r` must be writable for r < MR, j < NR, and `bias + r` readable for r < MR.
    #[inline(always)]
    pub unsafe fn store_transposed(
        acc: Acc,
        c: *mut f32,
        ldc: usize,
        add: bool,
        bias: Option<*const f32>,
        relu_on: bool,
    ) {
        for (r, row) in acc.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let at = c.add(j * ldc + r);
                let v = v + if add { *at } else { 0.0 } + bias.map_or(0.0, |b| *b.add(r));
                *at = if relu_on { relu(v) } else { v };
            }
        }
    }

    pub fn to_array(acc: Acc) -> [[f32; NR]; MR] {
        acc
    }
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
