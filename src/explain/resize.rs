//! Bilinear resizing of one single-channel map, as `tf.image.resize(..., "bilinear")` and
//! OpenCV's `INTER_LINEAR` do it (half-pixel centres, edges clamped): how a coarse Grad-CAM
//! map is brought up to the input's size so that it can be laid over the picture.

/// `src` (src_h, src_w) to (dst_h, dst_w); both sizes at least 1.
pub fn resize_bilinear(
    src: &[f32],
    src_h: usize,
    src_w: usize,
    dst_h: usize,
    dst_w: usize,
) -> Vec<f32> {
    assert_eq!(src.len(), src_h * src_w, "src must be (src_h, src_w)");
    assert!(
        src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0,
        "sizes must be positive"
    );
    // For each output coordinate: the two source indices and the weight of the second.
    let axis = |src_n: usize, dst_n: usize| -> Vec<(usize, usize, f32)> {
        let scale = src_n as f32 / dst_n as f32;
        (0..dst_n)
            .map(|d| {
                let s = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(src_n - 1);
                let i1 = (i0 + 1).min(src_n - 1);
                (i0, i1, s - i0 as f32)
            })
            .collect()
    };
    let (rows, cols) = (axis(src_h, dst_h), axis(src_w, dst_w));
    let mut dst = Vec::with_capacity(dst_h * dst_w); // (dst_h, dst_w)
    for &(y0, y1, fy) in &rows {
        for &(x0, x1, fx) in &cols {
            let top = src[y0 * src_w + x0] * (1.0 - fx) + src[y0 * src_w + x1] * fx;
            let bottom = src[y1 * src_w + x0] * (1.0 - fx) + src[y1 * src_w + x1] * fx;
            dst.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::resize_bilinear;

    #[test]
    fn doubling_interpolates_between_centres_and_clamps_at_edges() {
        // 1x2 -> 1x4: centres at 0.5 and 1.5 of the source; outer pixels clamp.
        let out = resize_bilinear(&[0.0, 4.0], 1, 2, 1, 4);
        assert_eq!(out, vec![0.0, 1.0, 3.0, 4.0]);
        let same = resize_bilinear(&[1.0, 2.0, 3.0, 4.0], 2, 2, 2, 2);
        assert_eq!(same, vec![1.0, 2.0, 3.0, 4.0]);
    }
}
