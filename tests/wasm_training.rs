//! The training worker's wasm-bindgen exports in headless Chromium (`wasm-pack test --headless
//! --chrome`): webcam frames become a dataset, a frame is predicted, and bad requests (a
//! one-class capture, a non-image photo, garbled pixels or folder) come back as JS errors
//! with a sentence, leaving the session as it was.
#![cfg(target_arch = "wasm32")]

use convscope::web::training::TrainingSession;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn message(e: JsError) -> String {
    get(&JsValue::from(e), "message").as_string().unwrap()
}

const SIDE: usize = 64;

fn frames(labels: &[u8]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| vec![if l == 1 { 220 } else { 30 }; SIDE * SIDE * 4])
        .collect()
}

fn names() -> Vec<String> {
    vec!["no smile".into(), "smile".into()]
}

#[wasm_bindgen_test]
fn captured_frames_train_data_and_frames_are_predicted() {
    let mut s = TrainingSession::new();
    let labels: Vec<u8> = (0..10).map(|i| (i % 2) as u8).collect();
    let info = s
        .load_captured(&frames(&labels), &labels, SIDE, names(), 3)
        .map_err(JsValue::from)
        .unwrap();
    assert_eq!(get(&info, "train").as_f64(), Some(8.0));
    assert_eq!(get(&info, "test").as_f64(), Some(2.0));
    s.build_model(None, 0).map_err(JsValue::from).unwrap();
    let p = s
        .predict_rgba(&frames(&[1]), SIDE, SIDE)
        .map_err(JsValue::from)
        .unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-5);

    // Refusals keep the frames loaded before.
    let err = message(
        s.load_captured(&frames(&[1, 1, 1]), &[1, 1, 1], SIDE, names(), 3)
            .unwrap_err(),
    );
    assert!(err.contains("at least two frames of “no smile”"), "{err}");
    let err = message(convscope::web::api::check_picture(b"not a picture").unwrap_err());
    assert!(err.contains("not a PNG or JPEG"), "{err}");
    let err = message(s.predict_photo(vec![0; 10], 4, 4).unwrap_err());
    assert!(err.contains("garbled"), "{err}");
    s.begin_folder(vec!["a/x.png".into(), "b/y.png".into()], "a", 0)
        .map_err(JsValue::from)
        .unwrap();
    let err = message(s.add_folder_picture(vec![0; 10], 4, 4).unwrap_err());
    assert!(err.contains("garbled"), "{err}");
    let err = message(s.finish_folder().unwrap_err());
    assert!(
        err.contains("only 0 of the folder's 2 pictures arrived"),
        "{err}"
    );
    s.cancel_folder();
    assert_eq!(s.labels("train").map_err(JsValue::from).unwrap().len(), 8);
}
