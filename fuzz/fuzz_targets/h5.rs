//! The Happy House `.h5` reader on arbitrary bytes: Ok or a message, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::data::h5::read_happy_h5(data);
});
