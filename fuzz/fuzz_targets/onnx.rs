//! The ONNX importer on arbitrary bytes: protobuf decoding, the graph's checks, and the model
//! file it writes, which must load.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(imported) = convscope::nn::onnx::model_file_from_onnx(data) {
        let loads = if imported.sequential {
            convscope::nn::io::load_model(&imported.file).is_ok()
        } else {
            convscope::nn::io::load_graph_model(&imported.file).is_ok()
        };
        assert!(loads, "an imported model file does not load");
    }
});
