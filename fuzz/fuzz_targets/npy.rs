//! The `.npy` reader on arbitrary bytes, alone and as the image half of a Happy House pair.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::data::npy::read_npy(data);
    let _ = convscope::data::npy::read_happy_npy(data, data);
});
