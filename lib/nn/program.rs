//! A network as a small program of layers over numbered values, read by two
//! interpreters: burn (training, in [`super::burn_exec`]) and phasekit's ONNX
//! writer (export, here). One description, two executions, so the exported
//! file computes exactly what was trained.

use super::onnx::{encode, Attr, Dim, GraphBuilder};

/// One layer. Parameters are indices into the network's parameter list;
/// values are indices into the program's value list (0 is the input).
#[derive(Clone, Debug)]
pub enum Layer {
    /// 2-D convolution, square kernel, symmetric padding.
    Conv {
        w: usize,
        b: usize,
        stride: usize,
        pad: usize,
    },
    /// 2×2 transposed convolution with stride 2 (doubles H and W).
    Up {
        w: usize,
        b: usize,
    },
    Relu,
    /// concatenation along channels of this value and another
    Concat(usize),
    /// [N, C, H, W] -> [N, C·H·W]
    Flatten,
    /// [N, I] · W[I, O] + b
    Linear {
        w: usize,
        b: usize,
    },
    /// global average over H and W: [N, C, H, W] -> [N, C]
    Pool,
    /// multiplication by a fixed constant (a gain that lets O(1) parameters
    /// reach logits that grow with the number of sites)
    Scale(f32),
    /// the members of a bundle as separate images: [N, K, H, W] -> [N·K, 1, H, W]
    Members {
        h: usize,
        w: usize,
    },
    /// the mean over each bundle's K members: [N·K, C] -> [N, C]
    MemberMean {
        k: usize,
        c: usize,
    },
    /// [N, C·H·W] -> [N, C, H, W]
    Unflatten {
        c: usize,
        h: usize,
        w: usize,
    },
    /// [N, 1, H, W] or [N, H·W'] -> logits [N, gh, gw]: `rows` (gh × H) · X · `cols` (W × gw);
    /// identity matrices when the grid equals the image.
    ToGrid {
        h: usize,
        w: usize,
        rows: Vec<f32>,
        cols: Vec<f32>,
        gh: usize,
        gw: usize,
    },
}

/// `(layer, input value)`; the output is the next value.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub steps: Vec<(Layer, usize)>,
}

impl Program {
    /// Append a layer applied to value `input`; returns the new value's index.
    pub fn push(&mut self, layer: Layer, input: usize) -> usize {
        self.steps.push((layer, input));
        self.steps.len()
    }

    /// Index of the last value (the output).
    pub fn output(&self) -> usize {
        self.steps.len()
    }
}

/// Linear interpolation matrix (n_out × n_in) from cell centres of n_in to cell centres of n_out.
pub fn resample_matrix(n_in: usize, n_out: usize) -> Vec<f32> {
    let mut m = vec![0f32; n_out * n_in];
    for o in 0..n_out {
        if n_in == n_out {
            m[o * n_in + o] = 1.0;
            continue;
        }
        let x = ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).clamp(0.0, (n_in - 1) as f64);
        let i0 = x.floor() as usize;
        let i1 = (i0 + 1).min(n_in - 1);
        let f = x - i0 as f64;
        m[o * n_in + i0] += (1.0 - f) as f32;
        m[o * n_in + i1] += f as f32;
    }
    m
}

/// A named f32 parameter tensor.
#[derive(Clone, Debug)]
pub struct ParamData {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Export `program` with its parameters as an ONNX model: input `input`
/// [N, in_dims...], output `output` with `out_dims` after the batch.
pub fn to_onnx(
    program: &Program,
    params: &[ParamData],
    input: (&str, &[usize]),
    output: (&str, &[usize]),
    metadata: &[(String, String)],
    doc: &str,
) -> Vec<u8> {
    let mut g = GraphBuilder::new("phasekit");
    let mut dims = vec![Dim::batch()];
    dims.extend(input.1.iter().map(|&d| Dim::Fixed(d)));
    let mut values = vec![g.input_f32(input.0, &dims)];
    let names: Vec<String> = params
        .iter()
        .map(|p| g.weight(&p.name, &p.shape, &p.data))
        .collect();
    let last = program.steps.len();
    for (k, (layer, inp)) in program.steps.iter().enumerate() {
        let x = values[*inp].clone();
        let out = match layer {
            Layer::Conv { w, b, stride, pad } => {
                let k = params[*w].shape[2] as i64;
                g.op(
                    "Conv",
                    &[&x, &names[*w], &names[*b]],
                    &[
                        ("kernel_shape", Attr::Ints(vec![k, k])),
                        ("strides", Attr::Ints(vec![*stride as i64; 2])),
                        ("pads", Attr::Ints(vec![*pad as i64; 4])),
                    ],
                )
            }
            Layer::Up { w, b } => g.op(
                "ConvTranspose",
                &[&x, &names[*w], &names[*b]],
                &[
                    ("kernel_shape", Attr::Ints(vec![2, 2])),
                    ("strides", Attr::Ints(vec![2, 2])),
                ],
            ),
            Layer::Relu => g.op("Relu", &[&x], &[]),
            Layer::Concat(other) => {
                let o = values[*other].clone();
                g.op("Concat", &[&x, &o], &[("axis", Attr::Int(1))])
            }
            Layer::Flatten => g.op("Flatten", &[&x], &[("axis", Attr::Int(1))]),
            Layer::Linear { w, b } => {
                let m = g.op("MatMul", &[&x, &names[*w]], &[]);
                g.op("Add", &[&m, &names[*b]], &[])
            }
            Layer::Pool => {
                let p = g.op("GlobalAveragePool", &[&x], &[]);
                g.op("Flatten", &[&p], &[("axis", Attr::Int(1))])
            }
            Layer::Scale(f) => {
                let c = g.weight(&format!("scale_{k}"), &[], &[*f]);
                g.op("Mul", &[&x, &c], &[])
            }
            Layer::Unflatten { c, h, w } => {
                let shape = g.const_i64("shape", &[-1, *c as i64, *h as i64, *w as i64]);
                g.op("Reshape", &[&x, &shape], &[])
            }
            Layer::Members { h, w } => {
                let shape = g.const_i64("shape", &[-1, 1, *h as i64, *w as i64]);
                g.op("Reshape", &[&x, &shape], &[])
            }
            Layer::MemberMean { k, c } => {
                let shape = g.const_i64("shape", &[-1, *k as i64, *c as i64]);
                let grouped = g.op("Reshape", &[&x, &shape], &[]);
                g.op(
                    "ReduceMean",
                    &[&grouped],
                    &[("axes", Attr::Ints(vec![1])), ("keepdims", Attr::Int(0))],
                )
            }
            Layer::ToGrid {
                h,
                w,
                rows,
                cols,
                gh,
                gw,
            } => {
                let shape = g.const_i64("shape", &[-1, *h as i64, *w as i64]);
                let x3 = g.op("Reshape", &[&x, &shape], &[]);
                let r = g.weight(&format!("grid_rows_{k}"), &[*gh, *h], rows);
                let c = g.weight(&format!("grid_cols_{k}"), &[*w, *gw], cols);
                let xc = g.op("MatMul", &[&x3, &c], &[]);
                g.op("MatMul", &[&r, &xc], &[])
            }
        };
        values.push(out);
        if k + 1 == last {
            let fin = values.last().unwrap().clone();
            g.op_into("Identity", &[&fin], &[output.0], &[]);
        }
    }
    let mut odims = vec![Dim::batch()];
    odims.extend(output.1.iter().map(|&d| Dim::Fixed(d)));
    g.output_f32(output.0, &odims);
    encode(&g.finish(doc, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_preserves_constants_and_identity() {
        for (a, b) in [(32usize, 32usize), (32, 16), (16, 40), (128, 128)] {
            let m = resample_matrix(a, b);
            for o in 0..b {
                let s: f32 = m[o * a..(o + 1) * a].iter().sum();
                assert!((s - 1.0).abs() < 1e-6);
            }
        }
        let id = resample_matrix(4, 4);
        assert_eq!(
            id,
            vec![1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.]
        );
    }
}
