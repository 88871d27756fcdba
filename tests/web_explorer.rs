//! The convolution explorer's computations, natively: presets, kernel recipes, cell
//! breakdowns, explanations of bad settings, pooling and picture uploads.
// Native only (it reads files or uses native-only loaders); `wasm-pack test` compiles every
// test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use convscope::app::explorer::{
    describe, diagnose, parse_padding, pool_shape, ConvRun, ConvSettings, PoolRun,
};
use convscope::app::filters::{kernel_preset, recipes_for, RECIPES};
use convscope::app::presets::{digit_seven, face_rgb, input_preset, letter_x, Image};
use convscope::app::upload::decode_image;
use convscope::kernels::geometry::Padding;
use convscope::kernels::pool::PoolKind;

fn settings(kernel: usize, stride: usize, padding: Padding, dilation: usize) -> ConvSettings {
    ConvSettings {
        kernel,
        stride,
        padding,
        dilation,
    }
}

fn run(input: Image, recipes: &[&str], s: ConvSettings) -> ConvRun {
    let c = input.channels;
    let filters: Vec<f32> = recipes
        .iter()
        .flat_map(|r| kernel_preset(r, s.kernel, c).unwrap())
        .collect();
    ConvRun::new(input, &filters, &vec![0.0; recipes.len()], &s, false).unwrap()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0
}

#[test]
fn letter_x_is_the_chapter_grid() {
    let x = letter_x();
    assert_eq!((x.height, x.width, x.channels), (9, 9, 1));
    assert_eq!(
        x.data.iter().filter(|&&v| v == 1.0).count(),
        13,
        "two diagonals of 7 sharing the centre"
    );
    assert!(x.data.iter().all(|&v| v == 1.0 || v == -1.0));
    for i in 0..9 {
        assert_eq!(x.data[i], -1.0, "top border");
        assert_eq!(x.data[i * 9], -1.0, "left border");
    }
}

#[test]
fn the_x_filters_match_the_x_where_expected() {
    // Hand-checked: a 3x3 window on the X's centre holds both diagonals (5 cells of +1) and
    // four -1s, so the cross filter gives 5*1 + 4*(-1)(-1) = 9, a perfect match.
    let r = run(
        letter_x(),
        &["diag_down", "cross", "diag_up"],
        settings(3, 1, Padding::Valid, 1),
    );
    assert_eq!((r.geometry.out_h, r.geometry.out_w), (7, 7));
    let cross = r.map(1).unwrap();
    assert_eq!(cross[3 * 7 + 3], 9.0);
    // One cell in from the top-left the X is a pure ↘ diagonal: 3 matching +1s, 6 matching -1s.
    assert_eq!(r.map(0).unwrap()[7 + 1], 9.0);
    // In the very corner the border cell (0, 0) is -1 where the filter wants +1: 9 - 2 = 7.
    assert_eq!(r.map(0).unwrap()[0], 7.0);
    assert_eq!(
        r.map(2).unwrap()[7 + 5],
        9.0,
        "↗ matches one cell in from the top-right"
    );
    // At the centre, the ↘ filter sees its diagonal but two wrong cells: 3 + 4 - 2 = 5.
    assert_eq!(r.map(0).unwrap()[3 * 7 + 3], 5.0);
}

#[test]
fn cell_breakdown_adds_up_to_the_map() {
    let face = face_rgb(20);
    for (k, stride, padding, dilation) in [
        (3, 1, Padding::Same, 1),
        (4, 2, Padding::Same, 1),
        (3, 3, Padding::Explicit(2), 2),
        (5, 2, Padding::Valid, 1),
    ] {
        let s = settings(k, stride, padding, dilation);
        let filters: Vec<f32> = (0..2 * k * k * 3)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let r = ConvRun::new(face.clone(), &filters, &[0.25, -0.5], &s, false).unwrap();
        let g = r.geometry;
        for f in 0..2 {
            let map = r.map(f).unwrap();
            assert_eq!(map.len(), g.out_h * g.out_w);
            for (oy, ox) in [
                (0, 0),
                (g.out_h - 1, g.out_w - 1),
                (g.out_h / 2, 1 % g.out_w),
            ] {
                let cell = r.cell(oy, ox, f).unwrap();
                assert_eq!(cell.terms.len(), k * k * 3);
                let products: f32 = cell.terms.iter().map(|t| t.x * t.w).sum();
                assert!((products - cell.sum).abs() < 1e-5);
                assert!(
                    (cell.value - map[oy * g.out_w + ox]).abs() < 1e-4,
                    "{k} {stride} {padding:?} {dilation}: {} vs {}",
                    cell.value,
                    map[oy * g.out_w + ox]
                );
                assert!(cell.terms.iter().filter(|t| t.padding).all(|t| t.x == 0.0));
                assert_eq!(cell.bias, [0.25, -0.5][f]);
                let t0 = &cell.terms[0];
                assert_eq!(
                    (t0.row, t0.col),
                    (oy * stride, ox * stride),
                    "receptive field starts at o*stride on the padded input"
                );
                let last = cell.terms.last().unwrap();
                assert_eq!(last.row - t0.row + 1, cell.span);
            }
        }
    }
}

#[test]
fn padding_cells_show_up_in_the_breakdown() {
    let r = run(
        letter_x(),
        &["identity"],
        settings(3, 1, Padding::Explicit(1), 1),
    );
    let corner = r.cell(0, 0, 0).unwrap();
    assert_eq!(
        corner.terms.iter().filter(|t| t.padding).count(),
        5,
        "top row and left column of the window are padding"
    );
    let centre = r.cell(4, 4, 0).unwrap();
    assert!(centre.terms.iter().all(|t| !t.padding));
}

#[test]
fn relu_clips_the_map_but_the_breakdown_keeps_the_sum() {
    let s = settings(3, 1, Padding::Valid, 1);
    let filters = kernel_preset("diag_down", 3, 1).unwrap();
    let r = ConvRun::new(letter_x(), &filters, &[-6.0], &s, true).unwrap();
    assert!(r.map(0).unwrap().iter().all(|&v| v >= 0.0));
    let c = r.cell(3, 3, 0).unwrap();
    assert_eq!(c.value, 5.0 - 6.0);
    assert_eq!(c.output, 0.0);
}

#[test]
fn the_seven_edge_maps_show_its_pieces() {
    let seven = digit_seven(28);
    assert_eq!((seven.height, seven.width, seven.channels), (28, 28, 1));
    assert!(seven.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let ink = seven.data.iter().filter(|&&v| v > 0.5).count();
    assert!(
        (60..250).contains(&ink),
        "a stroke-sized amount of ink, got {ink}"
    );
    let r = run(
        seven,
        &["edge_top", "edge_bottom", "edge_left", "edge_right"],
        settings(3, 1, Padding::Valid, 1),
    );
    let row_of_max = |f| argmax(&r.map(f).unwrap()) / 26;
    // The horizontal edge filters light up on the top bar, the vertical ones on the down-stroke.
    assert!(
        row_of_max(0) < 8,
        "top edge of the bar, row {}",
        row_of_max(0)
    );
    assert!(
        row_of_max(1) < 9,
        "bottom edge of the bar, row {}",
        row_of_max(1)
    );
    let vertical_rows = |f| -> usize {
        let m = r.map(f).unwrap();
        let strong = m
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 1.5)
            .map(|(i, _)| i / 26)
            .collect::<Vec<_>>();
        strong.iter().sum::<usize>() / strong.len().max(1)
    };
    assert!(
        vertical_rows(2) > 9 && vertical_rows(3) > 9,
        "vertical edges sit on the down-stroke: rows {} {}",
        vertical_rows(2),
        vertical_rows(3)
    );
}

#[test]
fn the_face_is_rgb_and_redness_finds_the_mouth() {
    let face = face_rgb(64);
    assert_eq!((face.height, face.width, face.channels), (64, 64, 3));
    assert!(face.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let r = run(
        face,
        &["redness", "sobel_x"],
        settings(5, 1, Padding::Valid, 1),
    );
    let best = argmax(&r.map(0).unwrap());
    let (row, col) = (best / 60 + 2, best % 60 + 2);
    assert!(
        (38..50).contains(&row) && (20..44).contains(&col),
        "reddest 5x5 window at ({row}, {col})"
    );
}

#[test]
fn input_presets_by_name() {
    assert_eq!(input_preset("seven14").unwrap().height, 14);
    assert_eq!(input_preset("face").unwrap().channels, 3);
    assert!(input_preset("nope")
        .unwrap_err()
        .to_string()
        .contains("no built-in input"));
}

#[test]
fn chapter_size_example_gives_six_by_six() {
    let s = settings(4, 2, Padding::Valid, 1);
    let d = describe(14, 14, &s);
    assert_eq!((d.out_height, d.out_width), (Some(6), Some(6)));
    assert!(d.diagnostics.is_empty(), "{:?}", d.diagnostics);
    let r = run(digit_seven(14), &["edge_top"], s);
    assert_eq!(r.map(0).unwrap().len(), 36);
}

#[test]
fn same_padding_puts_the_extra_row_at_the_bottom() {
    let d = describe(28, 28, &settings(4, 1, Padding::Same, 1));
    assert_eq!(
        (d.pad_top, d.pad_bottom, d.pad_left, d.pad_right),
        (1, 2, 1, 2)
    );
    assert_eq!(d.out_height, Some(28));
    let d = describe(9, 9, &settings(3, 2, Padding::Same, 1));
    assert_eq!(d.out_height, Some(5));
}

#[test]
fn impossible_settings_are_explained_next_to_the_right_control() {
    let too_big = diagnose(9, 9, &settings(11, 1, Padding::Valid, 1));
    assert_eq!(too_big.len(), 1);
    assert_eq!((too_big[0].control, too_big[0].level), ("kernel", "error"));
    assert!(
        too_big[0]
            .message
            .contains("does not fit in the padded input (9x9)"),
        "{}",
        too_big[0].message
    );
    assert!(diagnose(9, 9, &settings(11, 1, Padding::Explicit(1), 1))
        .iter()
        .all(|d| d.level != "error"));
    let dilated = diagnose(9, 9, &settings(3, 1, Padding::Valid, 5));
    assert_eq!(dilated[0].control, "dilation");
    assert!(dilated[0].message.contains("spans 11x11"));
    let jumpy = diagnose(28, 28, &settings(3, 5, Padding::Valid, 1));
    assert!(jumpy.iter().any(|d| d.control == "stride"
        && d.level == "note"
        && d.message.contains("never looked at")));
    let floor = diagnose(9, 9, &settings(2, 2, Padding::Valid, 1));
    assert!(
        floor
            .iter()
            .any(|d| d.message.contains("last 1 row(s) and 1 column(s)")),
        "{floor:?}"
    );
    let wide = diagnose(9, 9, &settings(3, 1, Padding::Explicit(3), 1));
    assert!(wide
        .iter()
        .any(|d| d.control == "padding" && d.message.contains("only padding zeros")));
    assert_eq!(
        diagnose(9, 9, &settings(0, 1, Padding::Valid, 1))[0].control,
        "kernel"
    );
    assert_eq!(
        diagnose(9, 9, &settings(3, 0, Padding::Valid, 1))[0].control,
        "stride"
    );
    assert_eq!(
        diagnose(9, 9, &settings(3, 1, Padding::Valid, 0))[0].control,
        "dilation"
    );
    assert_eq!(
        diagnose(9, 9, &settings(3, 1, Padding::Explicit(99), 1))[0].control,
        "padding"
    );
    let d = describe(9, 9, &settings(3, 1, Padding::Valid, 99));
    assert_eq!(d.out_height, None);
    assert!(parse_padding("sideways", 0).is_err());
    assert!(parse_padding("explicit", 1000).is_err());
}

#[test]
fn bad_conv_requests_are_errors_not_panics() {
    let s = settings(3, 1, Padding::Valid, 1);
    let k = kernel_preset("identity", 3, 1).unwrap();
    assert!(ConvRun::new(letter_x(), &k[..8], &[0.0], &s, false)
        .unwrap_err()
        .to_string()
        .contains("need 9 weights"));
    assert!(ConvRun::new(letter_x(), &k, &[], &s, false).is_err());
    assert!(ConvRun::new(letter_x(), &k, &[f32::NAN], &s, false).is_err());
    assert!(ConvRun::new(
        letter_x(),
        &k,
        &[0.0],
        &settings(3, 1, Padding::Valid, 9),
        false
    )
    .is_err());
    assert!(Image::new(2, 2, 1, vec![0.0; 3]).is_err());
    let r = ConvRun::new(letter_x(), &k, &[0.0], &s, false).unwrap();
    assert!(r.map(1).is_err());
    assert!(r.cell(7, 0, 0).is_err());
}

#[test]
fn every_recipe_builds_or_explains_at_every_size() {
    for c in [1, 3] {
        for r in recipes_for(c) {
            for k in 1..=9 {
                match kernel_preset(r.id, k, c) {
                    Ok(w) => {
                        assert!(k >= r.min_size);
                        assert_eq!(w.len(), k * k * c, "{} {k} {c}", r.id);
                        assert!(w.iter().all(|v| v.is_finite()));
                    }
                    Err(e) => assert!(k < r.min_size, "{} at {k}: {e}", r.id),
                }
            }
        }
    }
    assert!(recipes_for(1).iter().all(|r| r.id != "redness"));
    assert_eq!(recipes_for(3).len(), RECIPES.len());
    assert!(kernel_preset("redness", 3, 1).is_err());
    assert!(kernel_preset("nope", 3, 1).is_err());
    assert!(kernel_preset("identity", 0, 1).is_err());
}

#[test]
fn recipes_reproduce_the_classic_kernels() {
    assert_eq!(
        kernel_preset("sobel_x", 3, 1).unwrap(),
        [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0]
    );
    assert_eq!(
        kernel_preset("edge_right", 3, 1).unwrap(),
        [1.0, 0.0, -1.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0],
        "the chapter's vertical edge detector"
    );
    assert_eq!(
        kernel_preset("edge_bottom", 3, 1).unwrap(),
        [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0]
    );
    assert_eq!(
        kernel_preset("sharpen", 3, 1).unwrap(),
        [0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0]
    );
    assert_eq!(
        kernel_preset("cross", 3, 1).unwrap(),
        [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0]
    );
    for id in ["box_blur", "gaussian"] {
        for k in [2, 3, 5] {
            let sum: f32 = kernel_preset(id, k, 3).unwrap().iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{id} {k}: a blur keeps the brightness"
            );
        }
    }
    // On a grey RGB picture, a copied-across-channels recipe gives the grey picture's result.
    let grey = digit_seven(12);
    let rgb = Image::new(
        12,
        12,
        3,
        grey.data.iter().flat_map(|&v| [v, v, v]).collect(),
    )
    .unwrap();
    let s = settings(3, 1, Padding::Same, 1);
    let a = run(grey, &["sobel_x"], s).map(0).unwrap();
    let b = run(rgb, &["sobel_x"], s).map(0).unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
    // The identity kernel copies the input.
    let x = letter_x();
    assert_eq!(run(x.clone(), &["identity"], s).map(0).unwrap(), x.data);
}

#[test]
fn pooling_shape_calculator_reproduces_the_chapter() {
    assert_eq!(
        pool_shape(224, 224, 64, 2, 2, Padding::Valid).unwrap(),
        (112, 112, 64)
    );
    assert_eq!(pool_shape(7, 7, 3, 2, 2, Padding::Same).unwrap(), (4, 4, 3));
    assert!(pool_shape(1, 1, 1, 3, 1, Padding::Valid).is_err());
    assert!(pool_shape(224, 224, 64, 0, 2, Padding::Valid).is_err());
    assert!(pool_shape(usize::MAX, 1, 1, 1, 1, Padding::Valid).is_err());
}

#[test]
fn pooling_cells_show_their_window() {
    let map: Vec<f32> = (0..25).map(|i| ((i * 7) % 10) as f32).collect(); // (5, 5)
    let max = PoolRun::new(map.clone(), 5, 5, PoolKind::Max, 2, 2, Padding::Same).unwrap();
    assert_eq!(
        (
            max.geometry.out_h,
            max.geometry.out_w,
            max.pad_bottom,
            max.pad_right
        ),
        (3, 3, 1, 1)
    );
    let c = max.cell(0, 0).unwrap();
    assert_eq!(
        c.cells.iter().map(|t| t.x).collect::<Vec<_>>(),
        [0.0, 7.0, 5.0, 2.0]
    );
    assert_eq!((c.output, c.winner), (7.0, Some(1)));
    let avg = PoolRun::new(map, 5, 5, PoolKind::Average, 2, 2, Padding::Same).unwrap();
    let corner = avg.cell(2, 2).unwrap();
    assert_eq!(corner.count, 1, "padding is not counted in the average");
    assert_eq!(corner.output, 8.0);
    assert!(avg.cell(3, 0).is_err());
    assert!(PoolRun::new(vec![0.0; 3], 2, 2, PoolKind::Max, 2, 2, Padding::Valid).is_err());
}

/// A JPEG of one colour.
fn jpeg(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb(rgb))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    bytes
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            200,
            if x == 0 { 0 } else { 255 },
        ])
    });
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    bytes
}

#[test]
fn uploads_are_decoded_and_shrunk() {
    let grey = decode_image(&png(100, 50), 64, false).unwrap();
    assert_eq!((grey.height, grey.width, grey.channels), (32, 64, 1));
    assert!(grey.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let colour = decode_image(&png(20, 30), 64, true).unwrap();
    assert_eq!(
        (colour.height, colour.width, colour.channels),
        (30, 20, 3),
        "small pictures are not enlarged"
    );
    assert_eq!(
        &colour.data[..3],
        &[1.0, 1.0, 1.0],
        "transparent pixels become white paper"
    );
    let red = decode_image(&jpeg(40, 40, [255, 0, 0]), 10, true).unwrap();
    assert_eq!((red.height, red.width), (10, 10));
    assert!(red.data[0] > 0.9 && red.data[1] < 0.1);
}

#[test]
fn bad_or_huge_uploads_get_a_message() {
    assert!(decode_image(b"hello, not a picture", 64, false)
        .unwrap_err()
        .to_string()
        .contains("not a PNG or JPEG"));
    let mut truncated = png(10, 10);
    truncated.truncate(40);
    assert!(decode_image(&truncated, 64, false).is_err());
    let err = decode_image(&png(5000, 1), 64, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("too large (5000x1 pixels)"), "{err}");
    assert!(decode_image(&png(4, 4), 0, false).is_err());
}

/// The header check the page runs before the browser decodes an upload: the format named in
/// words, the size read from the header alone (no pixel data needed), damaged headers refused.
#[test]
fn upload_headers_are_checked_before_decoding() {
    use convscope::app::upload::check_upload;
    let header = check_upload(&png(300, 200)).unwrap();
    assert_eq!((header.width, header.height), (300, 200));
    let header = check_upload(&jpeg(33, 17, [1, 2, 3])).unwrap();
    assert_eq!((header.width, header.height), (33, 17));
    for (bytes, needle) in [
        (
            &b"GIF89a\x01\x00\x01\x00"[..],
            "this is a GIF picture; only PNG or JPEG",
        ),
        (
            &b"RIFF\x10\x00\x00\x00WEBPVP8 "[..],
            "this is a WebP picture",
        ),
        (&b"hello"[..], "this file is not a PNG or JPEG picture"),
    ] {
        let err = check_upload(bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    // Only the signature and the start of the header: the size cannot be read.
    let err = check_upload(&png(10, 10)[..12]).unwrap_err().to_string();
    assert!(err.contains("this picture could not be read"), "{err}");
    let err = check_upload(&png(4097, 1)[..40]).unwrap_err().to_string();
    assert!(err.contains("too large (4097x1 pixels)"), "{err}");
}
