//! phasekit's own ONNX writer: no Rust training framework exports ONNX, so we
//! build the ModelProto ourselves (prost messages with onnx.proto's field
//! numbers, no protoc needed) for the small set of operators our networks use.

pub mod graph;
pub mod proto;

pub use graph::{
    decode, encode, initializer_f32, metadata, Attr, Dim, GraphBuilder, IR_VERSION, OPSET,
};
