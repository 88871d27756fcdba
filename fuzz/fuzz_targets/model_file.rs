//! The model-file loader on arbitrary bytes (safetensors container, JSON model description),
//! and the same bytes as a bare model description, which is where absurd sizes hide.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::nn::io::load_model(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = convscope::nn::ModelSpec::from_json(text) {
            let _ = spec.plan();
        }
    }
});
