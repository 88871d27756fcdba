//! ONNX files in and out: a student carries a convscope model to ONNX Runtime or PyTorch
//! ([`export`]), and a teacher brings one from there into the page.

pub mod export;
pub mod import;
pub mod proto;

pub use export::{graph_to_onnx, sequential_to_onnx, transfer_to_onnx, OPSET};
pub use import::{import_onnx, model_file_from_onnx, read_graph, Ending, Imported, ImportedModel};
