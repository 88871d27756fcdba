//! Both image decoders on arbitrary bytes: the explorer's upload and a class folder's image.
#![no_main]
use convscope::data::folder::{load_image_folder, FileEntry, FolderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::app::upload::decode_image(data, 64, true);
    // A two-class folder whose first image is the fuzzed bytes.
    let entries = [
        FileEntry {
            path: "a/x.png".into(),
            bytes: data.to_vec(),
        },
        FileEntry {
            path: "b/y.png".into(),
            bytes: data.to_vec(),
        },
    ];
    let _ = load_image_folder(
        &entries,
        &FolderOptions {
            height: 8,
            width: 8,
            channels: 1,
        },
    );
});
