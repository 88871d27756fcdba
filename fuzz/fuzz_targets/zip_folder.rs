//! A zipped image folder on arbitrary bytes: unpacked under the limits, then read as classes.
#![no_main]
use convscope::data::folder::{load_image_folder, read_zip_entries, FolderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = read_zip_entries(data) {
        let _ = load_image_folder(
            &entries,
            &FolderOptions {
                height: 8,
                width: 8,
                channels: 3,
            },
        );
    }
});
