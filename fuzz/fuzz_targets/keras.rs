//! The Keras import on arbitrary bytes: as a `.keras` zip (config.json, model.weights.h5) or a
//! bare `.weights.h5` loaded into the chapter's model. Seeds: the Keras-made files of
//! tests/fixtures/keras (give that folder as a second corpus directory).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::nn::keras::read_keras(data, None);
});
