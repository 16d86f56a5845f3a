//! Neural networks: model definitions, training and ONNX export.
//! Every framework-specific (burn) line lives under this module.

pub mod autoreg;
pub mod burn_exec;
pub mod ednn;
pub mod gru;
pub mod icnn;
pub mod made;
pub mod objectives;
pub mod onnx;
pub mod pixelcnn;
pub mod posterior;
pub mod program;
pub mod vae;
