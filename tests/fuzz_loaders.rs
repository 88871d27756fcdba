//! Property tests of every loader that reads a user's file (issue 7): random bytes, valid files
//! with flipped bits, truncated at every length (small files) or at random lengths, and with
//! huge declared sizes. Each loader must return Ok or a message, never panic, and never
//! allocate beyond the limits in `convscope::data::limits`.
//!
//! `cargo fuzz` runs the same loaders for longer (fuzz/, README "Fuzzing");
//! `cargo run --example write_fuzz_seeds` refreshes its seeds.
// Native only: its huge declared sizes do not fit a 32-bit usize, and `wasm-pack test`
// compiles every test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod data_support;
mod fuzz_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use convscope::app::upload::decode_image;
use convscope::data::folder::{
    load_image_folder, plan_image_folder, read_zip_entries, FileEntry, FolderOptions,
};
use convscope::data::h5::read_happy_h5;
use convscope::data::npy::{read_happy_npy, read_npy};
use convscope::limits::*;
use convscope::nn::io::{file_kind, load_graph_model, load_model, FileKind};
use convscope::nn::keras::config::model_from_config;
use convscope::nn::keras::{model_file_from_keras, read_keras};
use convscope::nn::onnx::model_file_from_onnx;
use convscope::nn::ModelSpec;
use fuzz_support::*;
use proptest::prelude::*;
use std::sync::OnceLock;

// ---- The allocation watch: the largest single allocation made by this thread. ----

/// The system allocator, noting the largest request of each thread since the last reset, so
/// that a test can assert that a hostile file never made the loader ask for absurd memory.
struct Watch;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn note(size: usize) {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

#[global_allocator]
static ALLOCATOR: Watch = Watch;

/// The most one allocation may take while reading a hostile file: the largest limit in
/// `convscope::limits` that allows a single buffer (one decoded folder image), plus slack.
const ALLOCATION_CEILING: usize = MAX_FOLDER_DECODE_BYTES as usize + (16 << 20);

/// Runs `load`, then checks that no single allocation on this thread exceeded the ceiling.
fn watched<T>(what: &str, load: impl FnOnce() -> T) -> T {
    LARGEST.with(|l| l.set(0));
    let out = load();
    let largest = LARGEST.with(|l| l.get());
    assert!(
        largest <= ALLOCATION_CEILING,
        "{what}: one allocation of {largest} bytes, more than the {ALLOCATION_CEILING} allowed"
    );
    out
}

// ---- Strategies: random bytes, and a valid file damaged. ----

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `valid` with 1 to 8 bytes changed (bit flips or new values; most of them in the first
/// `hot` bytes, where the headers are) and sometimes cut short.
fn damaged(valid: Vec<u8>, hot: usize) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    let hot = hot.min(len);
    let position = prop_oneof![3 => 0..hot, 1 => 0..len];
    let edit = (position, any::<u8>(), any::<bool>());
    (
        prop::collection::vec(edit, 1..8),
        prop::option::weighted(0.3, 0..len),
    )
        .prop_map(move |(edits, cut)| {
            let mut bytes = valid.clone();
            for (at, value, flip_one_bit) in edits {
                bytes[at] = if flip_one_bit {
                    bytes[at] ^ (1 << (value % 8))
                } else {
                    value
                };
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            bytes
        })
}

fn random_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

/// Damaged files must be refused or read into something valid: Ok or Err, no panic.
fn check_h5(bytes: &[u8]) {
    if let Ok((_, d)) = watched("h5", || read_happy_h5(bytes)) {
        assert!(d.len() <= MAX_IMAGES && d.labels().iter().all(|&l| l <= 1));
    }
}

fn check_npy(bytes: &[u8]) {
    if let Ok(a) = watched("npy", || read_npy(bytes)) {
        assert!(a.shape.iter().product::<usize>() <= MAX_NPY_ELEMENTS);
    }
    let _ = watched("npy pair", || read_happy_npy(bytes, bytes));
}

fn check_image(bytes: &[u8]) {
    if let Ok(img) = watched("upload", || decode_image(bytes, 64, true)) {
        assert!(
            img.height <= 64 && img.width <= 64 && img.data.iter().all(|v| (0.0..=1.0).contains(v))
        );
    }
    let entries = [
        entry("a/x.png", bytes.to_vec()),
        entry("b/y.png", png(3, 3)),
    ];
    if let Ok(d) = watched("folder image", || {
        load_image_folder(
            &entries,
            &FolderOptions {
                height: 8,
                width: 8,
                channels: 1,
            },
        )
    }) {
        assert_eq!(d.len(), 2);
    }
}

fn check_zip(bytes: &[u8]) {
    if let Ok(entries) = watched("zip", || read_zip_entries(bytes)) {
        assert!(entries.len() <= MAX_ZIP_ENTRIES);
        assert!(entries.iter().map(|e| e.bytes.len() as u64).sum::<u64>() <= MAX_ZIP_BYTES);
        let _ = watched("zipped folder", || {
            load_image_folder(
                &entries,
                &FolderOptions {
                    height: 8,
                    width: 8,
                    channels: 3,
                },
            )
        });
    }
}

/// An ONNX file is refused or becomes a model file that loads.
fn check_onnx(bytes: &[u8]) {
    if let Ok(imported) = watched("onnx", || model_file_from_onnx(bytes)) {
        let kind = file_kind(&imported.file).expect("an imported model file has a kind");
        match kind {
            FileKind::Sequential => drop(load_model(&imported.file).expect("loads")),
            FileKind::Graph => drop(load_graph_model(&imported.file).expect("loads")),
        }
    }
}

/// The model description of the Keras fixture `variant` (read from its `.keras` once).
fn variant_spec() -> &'static ModelSpec {
    static SPEC: OnceLock<ModelSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let read = read_keras(&keras_variant().0, None).expect("the fixture reads");
        read.model.spec().clone()
    })
}

/// A Keras file (as a `.keras` or a bare `.weights.h5`, into the chapter's model and into the
/// variant's) is refused or becomes a model of finite weights within the limits, whose model
/// file loads.
fn check_keras(bytes: &[u8]) {
    for spec in [None, Some(variant_spec())] {
        if let Ok(read) = watched("keras", || read_keras(bytes, spec)) {
            assert!(read.model.plan().total_params() <= MAX_PARAMETERS);
            assert!(read.model.layers().iter().all(|l| l
                .params()
                .iter()
                .chain(l.state())
                .all(|w| w.is_finite())));
            let imported = model_file_from_keras(bytes, spec).expect("read once, read again");
            load_model(&imported.file).expect("an imported Keras model file loads");
        }
    }
}

/// `valid`'s entry `name` damaged, in an otherwise valid zip (a damaged zip alone mostly fails
/// its checksums before the config or the weights are read).
fn damaged_keras_entry(
    valid: Vec<u8>,
    name: &'static str,
    hot: usize,
) -> impl Strategy<Value = Vec<u8>> {
    let entries = unzip_entries(&valid);
    let inner = entries
        .iter()
        .find(|e| e.path == name)
        .expect("the entry")
        .bytes
        .clone();
    damaged(inner, hot).prop_map(move |bytes| {
        let mut entries = entries.clone();
        for e in &mut entries {
            if e.path == name {
                e.bytes = bytes.clone();
            }
        }
        zip_of(&entries)
    })
}

fn check_model(bytes: &[u8]) {
    if let Ok(loaded) = watched("model file", || load_model(bytes)) {
        assert!(loaded.model.plan().total_params() <= MAX_PARAMETERS);
        assert!(loaded
            .model
            .layers()
            .iter()
            .all(|l| l.params().iter().all(|w| w.is_finite())));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(spec) = ModelSpec::from_json(text) {
            let _ = watched("model description", || spec.plan());
        }
    }
}

// ---- Random bytes and damaged valid files, for every loader. ----

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in random_bytes()) {
        check_h5(&bytes);
        check_npy(&bytes);
        check_image(&bytes);
        check_zip(&bytes);
        check_model(&bytes);
        check_onnx(&bytes);
        check_keras(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_signature_never_panic(tail in random_bytes(), which in 0..5usize) {
        let head: &[u8] = [&b"\x89HDF\r\n\x1a\n"[..], b"\x93NUMPY\x01\x00", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"\xff\xd8\xff"][which];
        let bytes = [head, &tail].concat();
        check_h5(&bytes);
        check_npy(&bytes);
        check_image(&bytes);
        check_zip(&bytes);
        check_keras(&bytes);
    }
}

proptest! {
    #![proptest_config(cases(150))]

    #[test]
    fn damaged_h5_files_never_panic(bytes in damaged(small_h5(1), 2200)) {
        check_h5(&bytes);
    }

    #[test]
    fn damaged_npy_files_never_panic(bytes in damaged(small_npy_pair(1).0, 128)) {
        check_npy(&bytes);
    }

    #[test]
    fn damaged_png_files_never_panic(bytes in damaged(png(7, 5), 64)) {
        check_image(&bytes);
    }

    #[test]
    fn damaged_jpeg_files_never_panic(bytes in damaged(jpeg(7, 5), 700)) {
        check_image(&bytes);
    }

    #[test]
    fn damaged_zip_files_never_panic(bytes in damaged(small_zip(), 4096)) {
        check_zip(&bytes);
    }

    #[test]
    fn damaged_onnx_files_never_panic(bytes in damaged(small_onnx(), 4096)) {
        check_onnx(&bytes);
    }

    #[test]
    fn damaged_keras_weights_files_never_panic(bytes in damaged(keras_variant().1, 4096)) {
        check_keras(&bytes);
    }

    #[test]
    fn damaged_keras_files_never_panic(bytes in damaged(keras_variant().0, 4096)) {
        check_keras(&bytes);
    }

    #[test]
    fn keras_files_with_a_damaged_config_never_panic(bytes in damaged_keras_entry(keras_variant().0, "config.json", 1 << 20)) {
        check_keras(&bytes);
    }

    #[test]
    fn keras_files_with_damaged_weights_never_panic(bytes in damaged_keras_entry(keras_variant().0, "model.weights.h5", 4096)) {
        check_keras(&bytes);
    }

    #[test]
    fn damaged_model_files_never_panic(bytes in damaged(small_model_file(), 1024)) {
        check_model(&bytes);
    }

    #[test]
    fn damaged_model_descriptions_never_panic(bytes in damaged(ModelSpec::chapter().to_json().into_bytes(), 4096)) {
        check_model(&bytes);
    }

    /// Any sizes at all in an otherwise valid description: refused in words or planned.
    #[test]
    fn model_descriptions_with_any_sizes_never_panic(
        side in any::<usize>(), channels in any::<usize>(), filters in any::<usize>(),
        kernel in any::<usize>(), stride in any::<usize>(), units in any::<usize>(), pad in any::<usize>(),
    ) {
        let json = format!(
            r#"{{"input": {{"height": {side}, "width": {side}, "channels": {channels}}}, "layers": [
            {{"type": "conv2d", "filters": {filters}, "kernel": {kernel}, "stride": {stride}, "padding": {{"explicit": {pad}}}}},
            {{"type": "max_pool", "pool": {kernel}, "stride": {stride}}}, {{"type": "flatten"}},
            {{"type": "dense", "units": {units}, "activation": "relu"}}, {{"type": "dense", "units": 1, "activation": "sigmoid"}}]}}"#
        );
        let spec = ModelSpec::from_json(&json).expect("the JSON is well formed");
        if let Ok(plan) = watched("model sizes", || spec.plan()) {
            prop_assert!(plan.total_params() <= MAX_PARAMETERS);
        }
    }
}

/// A JSON value a config field might hold: small and huge numbers, negatives, strings, lists,
/// null.
fn config_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        (0u64..8).prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-3i64..0).prop_map(|n| json!(n)),
        (-1.0f64..2.0).prop_map(|x| json!(x)),
        prop::sample::select(vec![
            "same",
            "valid",
            "relu",
            "softmax",
            "sigmoid",
            "tanh",
            "channels_first",
            ""
        ])
        .prop_map(|s| json!(s)),
        ((0u64..6), (0u64..6)).prop_map(|(a, b)| json!([a, b])),
        Just(json!([])),
        Just(json!(null)),
    ]
}

/// A Keras config of random layers as a Sequential or a Functional model: each layer starts
/// from a valid config of its class, then up to three fields take random values; mostly an
/// input first, a sigmoid Dense last and every layer reading the one before (so that many read).
fn keras_config() -> impl Strategy<Value = String> {
    use serde_json::json;
    let base = |class: &str| match class {
        "Conv2D" => {
            json!({"filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "relu"})
        }
        "BatchNormalization" => json!({"momentum": 0.9}),
        "MaxPooling2D" | "AveragePooling2D" => json!({"pool_size": [2, 2]}),
        "Dropout" => json!({"rate": 0.1}),
        "Dense" => json!({"units": 3, "activation": "relu"}),
        "Activation" => json!({"activation": "relu"}),
        _ => json!({}),
    };
    let maps = vec![
        "Conv2D",
        "Conv2D",
        "BatchNormalization",
        "MaxPooling2D",
        "AveragePooling2D",
        "Dropout",
        "Activation",
        "ReLU",
    ];
    let flat = vec!["Dense", "Dropout", "Activation", "ReLU", "Softmax"];
    let odd = vec![
        "InputLayer",
        "Add",
        "Sequential",
        "Flatten",
        "Softmax",
        "Dense",
        "Conv2D",
    ];
    let keys = vec![
        "batch_shape",
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "dilation_rate",
        "activation",
        "use_bias",
        "units",
        "rate",
        "pool_size",
        "axis",
        "momentum",
        "epsilon",
        "center",
        "scale",
        "data_format",
        "groups",
        "max_value",
        "negative_slope",
    ];
    let fields = prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec((prop::sample::select(keys), config_value()), 1..3),
    ];
    let reads = prop_oneof![12 => Just(1usize), 1 => 0usize..4];
    let layer = |classes: Vec<&'static str>| {
        (
            prop_oneof![12 => prop::sample::select(classes), 1 => prop::sample::select(odd.clone())],
            fields.clone(),
            reads.clone(),
        )
    };
    // Feature-map layers, a Flatten, vector layers.
    let body = (
        prop::collection::vec(layer(maps), 0..5),
        prop::bool::weighted(0.9),
        prop::collection::vec(layer(flat), 0..3),
    )
        .prop_map(|(mut a, flatten, b)| {
            if flatten {
                a.push(("Flatten", Vec::new(), 1));
            }
            a.extend(b);
            a
        });
    let side = prop_oneof![3 => 1u64..20, 1 => any::<u64>()];
    (
        any::<bool>(),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.8),
        side,
        body,
    )
        .prop_map(move |(functional, with_input, with_head, side, mut layers)| {
            if with_input {
                layers.insert(0, ("InputLayer", Vec::new(), 1));
            }
            if with_head {
                layers.push(("Dense", vec![("activation", json!("sigmoid")), ("units", json!(1))], 1));
            }
            let names: Vec<String> = (0..layers.len()).map(|i| format!("l{i}")).collect();
            let list: Vec<serde_json::Value> = layers
                .into_iter()
                .enumerate()
                .map(|(i, (class, fields, reads))| {
                    let mut config = base(class);
                    if class == "InputLayer" {
                        config["batch_shape"] = json!([null, side, side, 3]);
                    }
                    for (k, v) in fields {
                        config[k] = v;
                    }
                    config["name"] = names[i].clone().into();
                    let from = names.get(i.wrapping_sub(reads)).cloned().unwrap_or_default();
                    json!({"class_name": class, "config": config, "inbound_nodes": [{"args": [
                        {"class_name": "__keras_tensor__", "config": {"keras_history": [from, 0, 0]}}]}]})
                })
                .collect();
            let last = names.last().cloned().unwrap_or_default();
            json!({
                "class_name": if functional { "Functional" } else { "Sequential" },
                "config": {"name": "m", "layers": list, "input_layers": [["l0", 0, 0]], "output_layers": [[last, 0, 0]]},
            })
            .to_string()
        })
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Any layers with any fields: a message or a model description that plans.
    #[test]
    fn keras_configs_of_any_layers_never_panic(config in keras_config()) {
        if let Ok(read) = watched("keras config", || model_from_config(&config)) {
            let plan = read.spec.plan().expect("a config read into a spec plans");
            prop_assert!(plan.total_params() <= MAX_PARAMETERS);
            prop_assert!(read.bindings.iter().filter_map(|b| b.layer).all(|i| i < read.spec.layers.len()));
        }
    }
}

// ---- Truncation at every length, for the small files. ----

#[test]
fn every_truncation_of_a_small_onnx_file_is_refused_or_read() {
    // A protobuf cut at a field boundary is still a valid message, so some cuts read: into
    // a model that loads, or an error.
    let onnx = small_onnx();
    let refused = (0..onnx.len())
        .filter(|&len| {
            check_onnx(&onnx[..len]);
            model_file_from_onnx(&onnx[..len]).is_err()
        })
        .count();
    assert!(
        refused > onnx.len() * 9 / 10,
        "only {refused} of {} cuts refused",
        onnx.len()
    );
    model_file_from_onnx(&onnx).expect("the whole file reads");
}

#[test]
fn every_truncation_of_small_files_is_refused_or_read() {
    let (npy_x, npy_y) = small_npy_pair(1);
    for len in 0..npy_x.len() {
        check_npy(&npy_x[..len]);
    }
    for len in 0..npy_y.len() {
        check_npy(&npy_y[..len]);
    }
    for picture in [png(7, 5), jpeg(7, 5)] {
        for len in 0..picture.len() {
            check_image(&picture[..len]);
        }
    }
    let zip = small_zip();
    for len in 0..zip.len() {
        check_zip(&zip[..len]);
    }
    let model = small_model_file();
    for len in 0..model.len() {
        assert!(
            load_model(&model[..len]).is_err(),
            "a model file cut at {len} bytes must be refused"
        );
    }
    let (keras, weights) = keras_variant();
    for len in (0..keras.len()).step_by(97) {
        assert!(
            watched("keras", || read_keras(&keras[..len], None)).is_err(),
            "a .keras file cut at {len} bytes must be refused"
        );
    }
    for len in (0..weights.len()).step_by(61) {
        assert!(
            watched("keras weights", || read_keras(
                &weights[..len],
                Some(variant_spec())
            ))
            .is_err(),
            "a .weights.h5 cut at {len} bytes must be refused"
        );
    }
    let h5 = small_h5(1);
    for len in (0..h5.len()).step_by(7) {
        assert!(
            watched("h5", || read_happy_h5(&h5[..len])).is_err(),
            "an h5 file cut at {len} bytes must be refused"
        );
    }
}

// ---- Limits: absurd sizes are refused before allocation, and the message names the limit. ----

fn message<T: std::fmt::Debug>(result: convscope::Result<T>) -> String {
    result.expect_err("must be refused").to_string()
}

#[test]
fn a_30000_pixel_png_is_refused_by_both_decoders() {
    let huge = png_claiming(30_000, 30_000);
    let err = watched("upload", || message(decode_image(&huge, 64, true)));
    assert!(
        err.contains("too large (30000x30000 pixels); please use one of at most 4096x4096"),
        "{err}"
    );
    let entries = [entry("a/huge.png", huge), entry("b/small.png", png(2, 2))];
    let err = watched("folder", || {
        message(load_image_folder(&entries, &FolderOptions::default()))
    });
    assert!(
        err.contains("'a/huge.png' is 30000x30000 pixels; images may be at most 8192x8192"),
        "{err}"
    );
}

#[test]
fn a_png_needing_more_decoder_memory_than_allowed_is_refused() {
    // 8000x8000 is within the side limit, but 16-bit RGBA needs 512 MB: the decoder's own
    // limit (set explicitly, not the crate's default) refuses it before allocating.
    let mut deep = png_claiming(8000, 8000);
    deep[24] = 16; // bit depth
    deep[25] = 6; // RGBA
    let crc = crc32(&deep[12..29]);
    deep[29..33].copy_from_slice(&crc.to_be_bytes());
    let entries = [entry("a/deep.png", deep), entry("b/small.png", png(2, 2))];
    let err = watched("folder", || {
        message(load_image_folder(&entries, &FolderOptions::default()))
    });
    assert!(
        err.contains("'a/deep.png' needs more than 256 MB to decode"),
        "{err}"
    );
}

#[test]
fn an_h5_declaring_a_trillion_images_is_refused_before_reading() {
    let mut bytes = small_h5(1);
    let at = find_dims(&bytes, &[1, 64, 64, 3]);
    bytes[at..at + 8].copy_from_slice(&1_000_000_000_000u64.to_le_bytes());
    let err = watched("h5", || message(read_happy_h5(&bytes)));
    assert!(
        err.contains("declares 1000000000000 images, more than the 20000 this page can hold"),
        "{err}"
    );
}

#[test]
fn an_npy_with_a_huge_shape_or_header_is_refused_before_reading() {
    let bytes = npy_bytes("|u1", &[1_000_000_000_000, 64, 64], &[0; 16]);
    let err = watched("npy", || message(read_npy(&bytes)));
    assert!(
        err.contains("has shape [1000000000000, 64, 64], more than the 245760000 values allowed"),
        "{err}"
    );
    // Axes whose product overflows 64 bits.
    let bytes = npy_bytes("|u1", &[1 << 40, 1 << 40], &[]);
    assert!(watched("npy", || message(read_npy(&bytes)))
        .contains("more than the 245760000 values allowed"));
    // A version-2 header that claims to be 4 GB long.
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(b"{'descr': '|u1'}");
    let err = watched("npy", || message(read_npy(&bytes)));
    assert!(
        err.contains("truncated: its header needs 4294967307 bytes"),
        "{err}"
    );
    let bytes = npy_bytes("|u1", &[1; 9], &[0]);
    assert!(message(read_npy(&bytes)).contains("has 9 axes; at most 8 are accepted"));
}

#[test]
fn a_zip_of_100k_files_is_refused_from_its_directory() {
    let many: Vec<FileEntry> = (0..100_000)
        .map(|i| entry(&format!("a/{i}"), vec![]))
        .collect();
    let bytes = zip_of(&many);
    let err = watched("zip", || message(read_zip_entries(&bytes)));
    assert!(
        err.contains("lists 100000 entries, more than the 50000 accepted"),
        "{err}"
    );
}

/// Offsets of every central-directory record (signature PK\x01\x02) and local header (PK\x03\x04).
fn records(bytes: &[u8], signature: &[u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == signature)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_zip_entry_that_unpacks_to_more_than_it_declares_is_stopped() {
    // 32 MB of zeros deflate to a few kB; the headers are rewritten to declare 100 bytes.
    let mut bytes = zip_of(&[
        entry("a/bomb.png", vec![0; 32 << 20]),
        entry("b/x.png", png(2, 2)),
    ]);
    let (central, local) = (
        records(&bytes, b"PK\x01\x02")[0],
        records(&bytes, b"PK\x03\x04")[0],
    );
    bytes[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes());
    bytes[local + 22..local + 26].copy_from_slice(&100u32.to_le_bytes());
    let err = watched("zip", || message(read_zip_entries(&bytes)));
    assert!(err.contains("'a/bomb.png' in the zip archive"), "{err}");
}

#[test]
fn a_zip_declaring_more_than_the_total_cap_is_refused() {
    // Each entry claims 60 MB (under the 64 MB for one file): too much together.
    let mut bytes = zip_of(
        &(0..10)
            .map(|i| entry(&format!("a/{i}.png"), vec![0; 10]))
            .collect::<Vec<_>>(),
    );
    for at in records(&bytes, b"PK\x01\x02") {
        bytes[at + 24..at + 28].copy_from_slice(&(60u32 << 20).to_le_bytes());
    }
    let err = watched("zip", || message(read_zip_entries(&bytes)));
    assert!(
        err.contains("would unpack to 600 MB, more than the 512 MB accepted"),
        "{err}"
    );
}

#[test]
fn a_dataset_larger_than_the_page_can_hold_is_subsampled_before_decoding() {
    // 100 images at 1024x1024x3 are 314 million values; the page holds 245,760,000: 78 images.
    let entries: Vec<FileEntry> = (0..100)
        .map(|i| entry(&format!("{}/{i}.png", ["a", "b"][i % 2]), png(2, 2)))
        .collect();
    let options = FolderOptions {
        height: 1024,
        width: 1024,
        channels: 3,
    };
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let plan = watched("folder", || plan_image_folder(&paths, &options).unwrap());
    assert_eq!(plan.class_counts(), vec![39, 39]);
    let note = plan.notes().join(" ");
    assert!(
        note.contains("the folder holds 100 pictures, more than the 78 a dataset here can hold"),
        "{note}"
    );
}

#[test]
fn a_model_file_with_absurd_sizes_is_refused() {
    // The description declares 100000x100000 images.
    let mut spec = small_spec();
    spec.input.height = 100_000;
    spec.input.width = 100_000;
    let file = safetensors::serialize(
        Vec::<(&str, safetensors::tensor::TensorView)>::new(),
        Some(std::collections::HashMap::from([
            ("format".to_string(), "convscope-model".to_string()),
            ("version".to_string(), "1".to_string()),
            ("model".to_string(), spec.to_json()),
        ])),
    )
    .unwrap();
    let err = watched("model file", || message(load_model(&file)));
    assert!(
        err.contains("not a valid model") && err.contains("more than the 16000000"),
        "{err}"
    );
    // A tensor declaring a trillion values in the container header.
    let header =
        r#"{"conv2d.kernel":{"dtype":"F32","shape":[1000000000000],"data_offsets":[0,4]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0; 4]);
    let err = watched("model file", || message(load_model(&file)));
    assert!(err.contains("the model file"), "{err}");
}

/// Regression: sizes whose products overflow `usize` once made planning panic (debug) or pass
/// the limits after wrapping around (release, 32-bit wasm).
#[test]
fn model_sizes_that_overflow_are_refused_in_words() {
    let json = |side: usize, kernel: usize, units: usize| {
        format!(
            r#"{{"input": {{"height": {side}, "width": {side}, "channels": 3}}, "layers": [
            {{"type": "conv2d", "filters": 2, "kernel": {kernel}, "padding": "same"}}, {{"type": "flatten"}},
            {{"type": "dense", "units": {units}, "activation": "relu"}}, {{"type": "dense", "units": 1, "activation": "sigmoid"}}]}}"#
        )
    };
    for (spec, needle) in [
        (json(1 << 32, 3, 4), "more than the 16000000"),
        (json(usize::MAX, 3, 4), "more than the 16000000"),
        (
            json(8, usize::MAX, 4),
            "the kernel size is 18446744073709551615, more than the 4096 allowed",
        ),
        (json(8, 3, usize::MAX), "more than the 16000000"),
        (json(8, 3, 1 << 40), "more than the 16000000"),
    ] {
        let spec = ModelSpec::from_json(&spec).unwrap();
        let err = watched("plan", || message(spec.plan()));
        assert!(err.contains(needle), "'{err}' should mention '{needle}'");
    }
}
