//! A tiny antialiased painter for the synthetic faces: shapes are signed distance
//! functions (negative inside, in pixels), painted back to front with 2x2 supersampling
//! and a half-sample soft edge, so strokes one pixel wide still look like a drawing.
//!
//! Transcendental functions come from `libm` so that a seed gives the same image
//! natively and in wasm.

/// An RGB colour, components in [0, 1].
pub type Rgb = [f32; 3];

/// Linear blend from `a` (t = 0) to `b` (t = 1).
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// `c` with every component multiplied by `k`.
pub fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// An axis-aligned pixel rectangle `[x0, y0, x1, y1]` that bounds a shape; painting
/// only visits pixels inside it.
pub type Bounds = [f32; 4];

/// An RGB image being painted, `(H, W, 3)`.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<f32>, // (H, W, 3)
}

/// Sample offsets of the 2x2 supersampling grid, in pixels from the pixel centre.
const SUBSAMPLES: [f32; 2] = [-0.25, 0.25];

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            rgb: vec![0.0; width * height * 3],
        }
    }

    /// Sets every pixel to `color(x, y)` at the pixel centre (backgrounds).
    pub fn fill(&mut self, color: impl Fn(f32, f32) -> Rgb) {
        for y in 0..self.height {
            for x in 0..self.width {
                let c = color(x as f32 + 0.5, y as f32 + 0.5);
                self.rgb[(y * self.width + x) * 3..][..3].copy_from_slice(&c);
            }
        }
    }

    /// Paints the shape `sdf` (signed distance in pixels at pixel coordinates) inside
    /// `bounds` with `color(x, y)` at the given opacity, blending by coverage.
    ///
    /// The shape and colour are `dyn`: one copy of this loop serves every shape of a face
    /// (generic, each shape's copy was inlined into the painter, some 50 KB of wasm).
    #[inline(never)]
    pub fn paint(
        &mut self,
        bounds: Bounds,
        opacity: f32,
        sdf: &dyn Fn(f32, f32) -> f32,
        color: &dyn Fn(f32, f32) -> Rgb,
    ) {
        let x0 = bounds[0].floor().max(0.0) as usize;
        let y0 = bounds[1].floor().max(0.0) as usize;
        let x1 = (bounds[2].ceil().max(0.0) as usize).min(self.width);
        let y1 = (bounds[3].ceil().max(0.0) as usize).min(self.height);
        for y in y0..y1 {
            for x in x0..x1 {
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let mut coverage = 0.0;
                for dy in SUBSAMPLES {
                    for dx in SUBSAMPLES {
                        // A soft edge half a sample wide turns the distance into coverage.
                        coverage += (0.5 - 2.0 * sdf(cx + dx, cy + dy)).clamp(0.0, 1.0);
                    }
                }
                let a = coverage * 0.25 * opacity;
                if a <= 0.0 {
                    continue;
                }
                let c = color(cx, cy);
                let px = &mut self.rgb[(y * self.width + x) * 3..][..3];
                for k in 0..3 {
                    px[k] += (c[k] - px[k]) * a;
                }
            }
        }
    }
}

/// A similarity transform from a face's own frame (unit = face half-width, y down,
/// origin at the face centre) to pixels: rotation, uniform scale and translation, so a
/// distance in the face frame times `scale` is a distance in pixels.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub cx: f32,
    pub cy: f32,
    pub scale: f32,
    cos: f32,
    sin: f32,
}

impl Frame {
    pub fn new(cx: f32, cy: f32, scale: f32, angle: f32) -> Self {
        Frame {
            cx,
            cy,
            scale,
            cos: libm::cosf(angle),
            sin: libm::sinf(angle),
        }
    }

    /// Pixel coordinates to the face frame.
    pub fn to_local(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.cx, y - self.cy);
        (
            (self.cos * dx + self.sin * dy) / self.scale,
            (-self.sin * dx + self.cos * dy) / self.scale,
        )
    }

    /// Face frame to pixel coordinates.
    pub fn to_pixel(&self, u: f32, v: f32) -> (f32, f32) {
        let (dx, dy) = (u * self.scale, v * self.scale);
        (
            self.cx + self.cos * dx - self.sin * dy,
            self.cy + self.sin * dx + self.cos * dy,
        )
    }

    /// Pixel bounds of a face-frame rectangle (its four corners, rotated), with a margin.
    pub fn bounds(&self, u0: f32, v0: f32, u1: f32, v1: f32) -> Bounds {
        let mut b = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for (u, v) in [(u0, v0), (u1, v0), (u0, v1), (u1, v1)] {
            let (x, y) = self.to_pixel(u, v);
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        [b[0] - 1.5, b[1] - 1.5, b[2] + 1.5, b[3] + 1.5]
    }

    /// Paints a shape given in the face frame (`sdf` in face units) with a flat colour.
    pub fn paint(
        &self,
        canvas: &mut Canvas,
        local_bounds: [f32; 4],
        opacity: f32,
        color: Rgb,
        sdf: impl Fn(f32, f32) -> f32,
    ) {
        let [u0, v0, u1, v1] = local_bounds;
        self.paint_pixels(canvas, self.bounds(u0, v0, u1, v1), opacity, color, sdf);
    }

    /// `paint`, visiting only the pixels near `extent`, a face-frame rectangle that holds
    /// the shape (every point where `sdf` is below zero, `sdf` growing like the distance
    /// outside it, as polylines and polygons do). The picture is the same as `paint`'s:
    /// the pixels left out are more than the bounds' 1.5-pixel margin away from the shape,
    /// so all their samples lie beyond the soft edge and `paint` leaves them unchanged.
    /// A thin shape in a large box (a mouth) then costs a fraction of the box.
    pub fn paint_within(
        &self,
        canvas: &mut Canvas,
        local_bounds: [f32; 4],
        extent: [f32; 4],
        opacity: f32,
        color: Rgb,
        sdf: impl Fn(f32, f32) -> f32,
    ) {
        let [u0, v0, u1, v1] = local_bounds;
        let outer = self.bounds(u0, v0, u1, v1);
        let [e0, f0, e1, f1] = extent;
        let near = self.bounds(e0, f0, e1, f1);
        let pixels = [
            outer[0].max(near[0]),
            outer[1].max(near[1]),
            outer[2].min(near[2]),
            outer[3].min(near[3]),
        ];
        self.paint_pixels(canvas, pixels, opacity, color, sdf);
    }

    fn paint_pixels(
        &self,
        canvas: &mut Canvas,
        pixels: Bounds,
        opacity: f32,
        color: Rgb,
        sdf: impl Fn(f32, f32) -> f32,
    ) {
        canvas.paint(
            pixels,
            opacity,
            &|x, y| {
                let (u, v) = self.to_local(x, y);
                sdf(u, v) * self.scale
            },
            &|_, _| color,
        );
    }
}

/// The face-frame rectangle `[u0, v0, u1, v1]` around `points`, widened by `margin` (a
/// stroke's half width): the extent [`Frame::paint_within`] needs for strokes through them.
pub fn points_extent<'a>(
    points: impl IntoIterator<Item = &'a (f32, f32)>,
    margin: f32,
) -> [f32; 4] {
    let [u0, v0, u1, v1] = points.into_iter().fold(
        [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ],
        |e, &(u, v)| [e[0].min(u), e[1].min(v), e[2].max(u), e[3].max(v)],
    );
    [u0 - margin, v0 - margin, u1 + margin, v1 + margin]
}

/// `x * x` (plain multiplication: the same bits on every platform).
pub fn sq(x: f32) -> f32 {
    x * x
}

/// Approximate signed distance to an ellipse (exact on circles; first order near the
/// edge elsewhere, which is all that antialiasing needs).
pub fn ellipse(u: f32, v: f32, cu: f32, cv: f32, ru: f32, rv: f32) -> f32 {
    let (px, py) = ((u - cu) / ru, (v - cv) / rv);
    let r = (px * px + py * py).sqrt();
    if r < 1e-6 {
        return -ru.min(rv);
    }
    let grad = (sq(px / ru) + sq(py / rv)).sqrt() / r;
    (r - 1.0) / grad
}

/// Distance to the segment from `a` to `b`.
pub fn segment(u: f32, v: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    segment_squared(u, v, a, b).sqrt()
}

/// The squared distance to the segment from `a` to `b`. Polylines take the square root once,
/// of the smallest: `sqrt` is correctly rounded and monotonic, so that is the same number
/// as the smallest root. The division only runs where the projection falls inside the
/// segment: elsewhere the clamp would give exactly 0 or 1.
fn segment_squared(u: f32, v: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let along = (u - a.0) * dx + (v - a.1) * dy;
    let (ex, ey) = if !(len2 > 0.0) || along <= 0.0 {
        (u - a.0, v - a.1)
    } else if along >= len2 {
        (u - a.0 - dx, v - a.1 - dy)
    } else {
        let t = along / len2;
        (u - a.0 - t * dx, v - a.1 - t * dy)
    };
    ex * ex + ey * ey
}

/// Distance to a polyline through `points`.
pub fn polyline(u: f32, v: f32, points: &[(f32, f32)]) -> f32 {
    points
        .windows(2)
        .map(|w| segment_squared(u, v, w[0], w[1]))
        .fold(f32::INFINITY, f32::min)
        .sqrt()
}

/// Signed distance to a rectangle centred at `(cu, cv)` with half sizes and corner radius.
pub fn rounded_rect(u: f32, v: f32, cu: f32, cv: f32, hu: f32, hv: f32, radius: f32) -> f32 {
    let qx = (u - cu).abs() - hu + radius;
    let qy = (v - cv).abs() - hv + radius;
    let outside = (sq(qx.max(0.0)) + sq(qy.max(0.0))).sqrt();
    outside + qx.max(qy).min(0.0) - radius
}

/// Signed distance to a closed polygon (even-odd inside test, edges by segment distance).
pub fn polygon(u: f32, v: f32, points: &[(f32, f32)]) -> f32 {
    let n = points.len();
    let mut d2 = f32::INFINITY;
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (points[i], points[(i + 1) % n]);
        d2 = d2.min(segment_squared(u, v, a, b));
        if (a.1 > v) != (b.1 > v) && u < a.0 + (v - a.1) * (b.0 - a.0) / (b.1 - a.1) {
            inside = !inside;
        }
    }
    let d = d2.sqrt();
    if inside {
        -d
    } else {
        d
    }
}

/// Smooth value noise in [0, 1] on a `cells` x `cells` lattice of random values
/// (`lattice` holds `(cells + 1)^2` values), at `(x, y)` in [0, 1)^2.
pub fn value_noise(lattice: &[f32], cells: usize, x: f32, y: f32) -> f32 {
    let (gx, gy) = (x * cells as f32, y * cells as f32);
    let (ix, iy) = (
        (gx.floor() as usize).min(cells - 1),
        (gy.floor() as usize).min(cells - 1),
    );
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let (tx, ty) = (smooth(gx - ix as f32), smooth(gy - iy as f32));
    let at = |i: usize, j: usize| lattice[j * (cells + 1) + i];
    let top = at(ix, iy) + (at(ix + 1, iy) - at(ix, iy)) * tx;
    let bottom = at(ix, iy + 1) + (at(ix + 1, iy + 1) - at(ix, iy + 1)) * tx;
    top + (bottom - top) * ty
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;
    use rand::RngExt;

    /// The segment distance as first written: clamp the projection, then the root.
    fn segment_plain(u: f32, v: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((u - a.0) * dx + (v - a.1) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ex, ey) = (u - a.0 - t * dx, v - a.1 - t * dy);
        (ex * ex + ey * ey).sqrt()
    }

    #[test]
    fn distances_are_bit_identical_to_the_plain_formula() {
        let rng = &mut rng_from_seed(3);
        let mut point = || {
            (
                rng.random::<f32>() * 4.0 - 2.0,
                rng.random::<f32>() * 4.0 - 2.0,
            )
        };
        for _ in 0..20_000 {
            let (p, a, b) = (point(), point(), point());
            let plain = segment_plain(p.0, p.1, a, b);
            assert_eq!(segment(p.0, p.1, a, b).to_bits(), plain.to_bits());
            assert_eq!(
                segment(p.0, p.1, a, a).to_bits(),
                segment_plain(p.0, p.1, a, a).to_bits()
            );
            let line = [a, b, point(), point()];
            let min = line
                .windows(2)
                .map(|w| segment_plain(p.0, p.1, w[0], w[1]))
                .fold(f32::INFINITY, f32::min);
            assert_eq!(polyline(p.0, p.1, &line).to_bits(), min.to_bits());
            let closed = line
                .iter()
                .zip(line.iter().cycle().skip(1))
                .map(|(&a, &b)| segment_plain(p.0, p.1, a, b))
                .fold(f32::INFINITY, f32::min);
            assert_eq!(polygon(p.0, p.1, &line).abs().to_bits(), closed.to_bits());
        }
    }

    #[test]
    fn painting_within_the_extent_gives_the_same_picture() {
        let rng = &mut rng_from_seed(4);
        let mut painted = 0;
        for _ in 0..200 {
            let mut r = |lo: f32, hi: f32| lo + (hi - lo) * rng.random::<f32>();
            let frame = Frame::new(r(16.0, 48.0), r(16.0, 48.0), r(8.0, 24.0), r(-0.5, 0.5));
            let points: Vec<(f32, f32)> = (0..5).map(|_| (r(-0.6, 0.6), r(-0.3, 0.3))).collect();
            let width = r(0.01, 0.08);
            let extent = points_extent(&points, width);
            let bounds = [-1.0, -1.0, 1.0, r(-0.2, 1.0)];
            let shapes: [&dyn Fn(f32, f32) -> f32; 2] =
                [&|u, v| polyline(u, v, &points) - width, &|u, v| {
                    polygon(u, v, &points).abs() - width
                }];
            for sdf in shapes {
                let mut whole = Canvas::new(64, 64);
                let mut within = Canvas::new(64, 64);
                frame.paint(&mut whole, bounds, 0.9, [1.0, 0.5, 0.25], sdf);
                frame.paint_within(&mut within, bounds, extent, 0.9, [1.0, 0.5, 0.25], sdf);
                painted += whole.rgb.iter().any(|&c| c > 0.0) as usize;
                assert_eq!(whole.rgb, within.rgb);
            }
        }
        assert!(painted > 300, "most shapes show ({painted} of 400)");
    }
}
