//! A small builder for ONNX graphs: inputs, weights as initializers, nodes,
//! outputs and metadata_props, serialised to bytes with prost.

use prost::Message;

use super::proto::*;

/// ONNX operator set we target.
pub const OPSET: i64 = 17;
/// IR version matching opset 17.
pub const IR_VERSION: i64 = 8;

/// One dimension of an input or output: fixed, or symbolic (the batch size).
#[derive(Clone, Debug)]
pub enum Dim {
    Fixed(usize),
    Sym(String),
}

impl Dim {
    pub fn batch() -> Dim {
        Dim::Sym("N".into())
    }

    /// [N, 1, L, L]: a batch of L×L lattices (a sampler's `x` and `logits`).
    pub fn lattice(l: usize) -> [Dim; 4] {
        [Dim::batch(), Dim::Fixed(1), Dim::Fixed(l), Dim::Fixed(l)]
    }
}

#[derive(Clone, Debug)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Floats(Vec<f32>),
    Str(String),
}

#[derive(Default)]
pub struct GraphBuilder {
    name: String,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    counter: usize,
}

fn value_info(name: &str, elem_type: i32, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => DimensionValue::DimValue(*n as i64),
                Dim::Sym(s) => DimensionValue::DimParam(s.clone()),
            }),
            denotation: String::new(),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            }),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        GraphBuilder {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// A fresh, unique tensor name with a readable prefix.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    pub fn input_f32(&mut self, name: &str, dims: &[Dim]) -> String {
        self.inputs.push(value_info(name, data_type::FLOAT, dims));
        name.to_string()
    }

    pub fn input_i64(&mut self, name: &str, dims: &[Dim]) -> String {
        self.inputs.push(value_info(name, data_type::INT64, dims));
        name.to_string()
    }

    pub fn output_f32(&mut self, name: &str, dims: &[Dim]) {
        self.outputs.push(value_info(name, data_type::FLOAT, dims));
    }

    /// A float weight tensor stored as little-endian raw data.
    pub fn weight(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        assert_eq!(
            dims.iter().product::<usize>(),
            data.len(),
            "weight '{name}' has the wrong size"
        );
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            name: name.to_string(),
            raw_data: raw,
            ..Default::default()
        });
        name.to_string()
    }

    /// An int64 constant (shapes for Reshape, axes, ...).
    pub fn const_i64(&mut self, prefix: &str, values: &[i64]) -> String {
        let name = self.fresh(prefix);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: data_type::INT64,
            name: name.clone(),
            raw_data: raw,
            ..Default::default()
        });
        name
    }

    /// Add a node with one output, named after the operator; returns that name.
    pub fn op(&mut self, op_type: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        let out = self.fresh(&op_type.to_lowercase());
        self.op_into(op_type, inputs, &[&out], attrs);
        out
    }

    /// Add a node writing the given output names.
    pub fn op_into(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, Attr)],
    ) {
        let attribute = attrs
            .iter()
            .map(|(name, a)| {
                let mut p = AttributeProto {
                    name: name.to_string(),
                    ..Default::default()
                };
                match a {
                    Attr::Int(i) => {
                        p.i = *i;
                        p.r#type = attribute_type::INT;
                    }
                    Attr::Ints(v) => {
                        p.ints = v.clone();
                        p.r#type = attribute_type::INTS;
                    }
                    Attr::Float(f) => {
                        p.f = *f;
                        p.r#type = attribute_type::FLOAT;
                    }
                    Attr::Floats(v) => {
                        p.floats = v.clone();
                        p.r#type = attribute_type::FLOATS;
                    }
                    Attr::Str(s) => {
                        p.s = s.as_bytes().to_vec();
                        p.r#type = attribute_type::STRING;
                    }
                }
                p
            })
            .collect();
        let name = self.fresh(&format!("{}_node", op_type.to_lowercase()));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name,
            op_type: op_type.to_string(),
            attribute,
            ..Default::default()
        });
    }

    /// The finished model; `metadata` goes into metadata_props in the given order.
    pub fn finish(self, doc: &str, metadata: &[(String, String)]) -> ModelProto {
        ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "phasekit".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            domain: "org.phasekit".into(),
            model_version: 1,
            doc_string: doc.to_string(),
            graph: Some(GraphProto {
                node: self.nodes,
                name: self.name,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            metadata_props: metadata
                .iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        }
    }
}

/// Serialise a model to the bytes of a .onnx file.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Parse the bytes of a .onnx file (used to read metadata_props back).
pub fn decode(bytes: &[u8]) -> Result<ModelProto, prost::DecodeError> {
    ModelProto::decode(bytes)
}

/// A metadata_props value of a model.
pub fn metadata(model: &ModelProto, key: &str) -> Option<String> {
    model
        .metadata_props
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.clone())
}

/// A float initializer stored as raw data: (dims, values).
pub fn initializer_f32(model: &ModelProto, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
    let t = model
        .graph
        .as_ref()?
        .initializer
        .iter()
        .find(|t| t.name == name)?;
    let values = t
        .raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some((t.dims.iter().map(|&d| d as usize).collect(), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_bytes() {
        let mut g = GraphBuilder::new("t");
        let x = g.input_f32("x", &[Dim::batch(), Dim::Fixed(3)]);
        let w = g.weight("w", &[3, 2], &[1., 2., 3., 4., 5., 6.]);
        let y = g.op("MatMul", &[&x, &w], &[]);
        g.op_into("Relu", &[&y], &["y"], &[]);
        g.output_f32("y", &[Dim::batch(), Dim::Fixed(2)]);
        let m = g.finish("doc", &[("k".into(), "v".into())]);
        let back = decode(&encode(&m)).unwrap();
        assert_eq!(back, m);
        let graph = back.graph.unwrap();
        assert_eq!(graph.node.len(), 2);
        assert_eq!(graph.initializer[0].raw_data.len(), 24);
        assert_eq!(back.metadata_props[0].key, "k");
    }
}
