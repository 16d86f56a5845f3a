//! Neural networks: model definitions, training and ONNX export.
//! Every framework-specific line lives under this module.

pub mod onnx;
