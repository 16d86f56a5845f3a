//! The burn side of a [`Program`]: parameters as flat autodiff tensors,
//! the forward pass, Adam, and checkpoints. Every burn-specific line of
//! phasekit lives under `nn`, so the framework could be swapped without
//! touching tools or file contracts.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use burn::tensor::activation::relu;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::icnn::{IcnnSpec, Weights};
use super::program::{Layer, ParamData, Program};
use crate::runtime::Device as RunDevice;

/// The device a [`Net`] trains on.
pub type TrainDevice = Device;

/// A scalar training loss in the autodiff graph of a [`Net`]; [`Adam::step`]
/// differentiates it.
pub struct Loss(Tensor<1>);

impl Loss {
    pub fn new(t: Tensor<1>) -> Loss {
        Loss(t)
    }

    /// The loss's value.
    pub fn value(&self) -> Result<f64> {
        Ok(to_vec(self.0.clone())?[0] as f64)
    }
}

/// The burn device for training on `device`, with autodiff.
pub fn train_device(device: RunDevice) -> Result<Device> {
    match device {
        RunDevice::Cpu => Ok(Device::flex().autodiff()),
        RunDevice::Cuda => cuda_device(),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device> {
    crate::cuda::prepare()?;
    // the backend starts lazily: one small op makes it start (or fail) here
    let device = crate::cuda::without_panic_noise(|| {
        let device = Device::cuda(0).autodiff();
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32], [1]), &device);
        let doubled = to_vec(t.clone() + t);
        (device, doubled)
    })?;
    match device {
        (device, Ok(v)) if v == [2.0] => Ok(device),
        (_, r) => Err(anyhow!(
            "--device cuda: the GPU gave a wrong answer to 1 + 1 ({r:?})"
        )),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device> {
    Err(crate::input_error!(
        "--device cuda: this phasekit was built without CUDA support; rebuild with `make build FEATURES=cuda`"
    ))
}

/// A value flowing through the program.
enum V {
    D4(Tensor<4>),
    D2(Tensor<2>),
    D3(Tensor<3>),
}

impl V {
    fn d4(self) -> Tensor<4> {
        match self {
            V::D4(t) => t,
            _ => panic!("layer expects an image tensor"),
        }
    }
}

/// A network ready to train: its program, parameter shapes and values.
pub struct Net {
    pub program: Program,
    pub names: Vec<String>,
    pub shapes: Vec<Vec<usize>>,
    /// flat parameters on the training device (autodiff, require_grad)
    pub params: Vec<Tensor<1>>,
    pub device: Device,
}

fn shape4(s: &[usize]) -> [usize; 4] {
    [s[0], s[1], s[2], s[3]]
}

impl Net {
    pub fn new(program: Program, init: Vec<ParamData>, device: &Device) -> Net {
        let names = init.iter().map(|p| p.name.clone()).collect();
        let shapes = init.iter().map(|p| p.shape.clone()).collect();
        let params = init
            .into_iter()
            .map(|p| {
                let n = p.data.len();
                Tensor::<1>::from_data(TensorData::new(p.data, [n]), device).require_grad()
            })
            .collect();
        Net {
            program,
            names,
            shapes,
            params,
            device: device.clone(),
        }
    }

    /// Forward pass: input [N, C, H, W] to the program's output; the last
    /// value must be a ToGrid (rank 3) result.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        forward(&self.program, &self.params, &self.shapes, x)
    }

    /// Parameters copied to the host, in order (for export and checkpoints).
    pub fn host_params(&self) -> Result<Vec<ParamData>> {
        self.params
            .iter()
            .zip(&self.names)
            .zip(&self.shapes)
            .map(|((t, name), shape)| {
                Ok(ParamData {
                    name: name.clone(),
                    shape: shape.clone(),
                    data: to_vec(t.clone())?,
                })
            })
            .collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.shapes
            .iter()
            .map(|s| s.iter().product::<usize>())
            .sum()
    }
}

/// Tensor contents as a Vec<f32>.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("reading tensor: {e:?}"))
}

pub fn forward(
    program: &Program,
    params: &[Tensor<1>],
    shapes: &[Vec<usize>],
    x: Tensor<4>,
) -> Tensor<3> {
    let p4 = |i: usize| params[i].clone().reshape(shape4(&shapes[i]));
    let mut values: Vec<Option<V>> = vec![Some(V::D4(x))];
    // values are used at most twice (skip connections): keep clones where needed
    let mut uses = vec![0usize; program.steps.len() + 1];
    for (layer, inp) in &program.steps {
        uses[*inp] += 1;
        if let Layer::Concat(o) = layer {
            uses[*o] += 1;
        }
    }
    let mut take = |values: &mut Vec<Option<V>>, i: usize| -> V {
        uses[i] -= 1;
        if uses[i] == 0 {
            values[i].take().expect("value consumed once")
        } else {
            match values[i].as_ref().expect("value present") {
                V::D4(t) => V::D4(t.clone()),
                V::D2(t) => V::D2(t.clone()),
                V::D3(t) => V::D3(t.clone()),
            }
        }
    };
    for (layer, inp) in &program.steps {
        let x = take(&mut values, *inp);
        let y = match layer {
            Layer::Conv { w, b, stride, pad } => {
                let opts = ConvOptions {
                    stride: [*stride; 2],
                    padding: [(*pad, *pad); 2],
                    dilation: [1, 1],
                    groups: 1,
                };
                V::D4(conv2d(x.d4(), p4(*w), Some(params[*b].clone()), opts))
            }
            Layer::Up { w, b } => {
                let opts = ConvTransposeOptions {
                    stride: [2, 2],
                    padding: [0, 0],
                    padding_out: [0, 0],
                    dilation: [1, 1],
                    groups: 1,
                };
                V::D4(conv_transpose2d(
                    x.d4(),
                    p4(*w),
                    Some(params[*b].clone()),
                    opts,
                ))
            }
            Layer::Relu => match x {
                V::D4(t) => V::D4(relu(t)),
                V::D2(t) => V::D2(relu(t)),
                V::D3(t) => V::D3(relu(t)),
            },
            Layer::Concat(other) => {
                let o = take(&mut values, *other).d4();
                V::D4(Tensor::cat(vec![x.d4(), o], 1))
            }
            Layer::Flatten => {
                let t = x.d4();
                let [n, c, h, w] = t.dims();
                V::D2(t.reshape([n, c * h * w]))
            }
            Layer::Linear { w, b } => {
                let t = match x {
                    V::D2(t) => t,
                    _ => panic!("linear expects a flat tensor"),
                };
                let (i, o) = (shapes[*w][0], shapes[*w][1]);
                let wt = params[*w].clone().reshape([i, o]);
                V::D2(t.matmul(wt) + params[*b].clone().reshape([1, o]))
            }
            Layer::Pool => {
                let t = x.d4();
                let [n, c, _, _] = t.dims();
                V::D2(t.mean_dim(3).mean_dim(2).reshape([n, c]))
            }
            Layer::Scale(f) => match x {
                V::D4(t) => V::D4(t * *f),
                V::D2(t) => V::D2(t * *f),
                V::D3(t) => V::D3(t * *f),
            },
            Layer::Members { h, w } => {
                let t = x.d4();
                let [n, k, _, _] = t.dims();
                V::D4(t.reshape([n * k, 1, *h, *w]))
            }
            Layer::MemberMean { k, c } => {
                let t = match x {
                    V::D2(t) => t,
                    _ => panic!("member mean expects a flat tensor"),
                };
                let n = t.dims()[0] / k;
                V::D2(t.reshape([n, *k, *c]).mean_dim(1).reshape([n, *c]))
            }
            Layer::Unflatten { c, h, w } => {
                let t = match x {
                    V::D2(t) => t,
                    _ => panic!("unflatten expects a flat tensor"),
                };
                let n = t.dims()[0];
                V::D4(t.reshape([n, *c, *h, *w]))
            }
            Layer::ToGrid {
                h,
                w,
                rows,
                cols,
                gh,
                gw,
            } => {
                let t3: Tensor<3> = match x {
                    V::D4(t) => {
                        let n = t.dims()[0];
                        t.reshape([n, *h, *w])
                    }
                    V::D2(t) => {
                        let n = t.dims()[0];
                        t.reshape([n, *h, *w])
                    }
                    V::D3(t) => t,
                };
                let n = t3.dims()[0];
                let dev = t3.device();
                let c = Tensor::<3>::from_data(TensorData::new(cols.clone(), [1, *w, *gw]), &dev)
                    .expand([n, *w, *gw]);
                let r = Tensor::<3>::from_data(TensorData::new(rows.clone(), [1, *gh, *h]), &dev)
                    .expand([n, *gh, *h]);
                V::D3(r.matmul(t3.matmul(c)))
            }
        };
        values.push(Some(y));
    }
    match values.pop().flatten() {
        Some(V::D3(t)) => t,
        _ => panic!("a posterior program ends with ToGrid"),
    }
}

/// Adam (Kingma & Ba) on flat parameters, with bias correction.
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub step: u64,
    /// rescale the gradient to at most this global L2 norm (PyTorch's clip_grad_norm_)
    pub clip: Option<f64>,
    m: Vec<Tensor<1>>,
    v: Vec<Tensor<1>>,
}

impl Adam {
    pub fn new(net: &Net, lr: f64) -> Adam {
        let zeros = |n: usize| Tensor::<1>::zeros([n], &net.device).inner();
        let m = net
            .shapes
            .iter()
            .map(|s| zeros(s.iter().product()))
            .collect();
        let v = net
            .shapes
            .iter()
            .map(|s| zeros(s.iter().product()))
            .collect();
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            clip: None,
            m,
            v,
        }
    }

    /// One update of every parameter from the gradients of `loss`.
    pub fn step(&mut self, net: &mut Net, loss: Loss) -> Result<()> {
        let grads = loss.0.backward();
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let mut gs = net
            .params
            .iter()
            .enumerate()
            .map(|(k, p)| {
                p.grad(&grads)
                    .ok_or_else(|| anyhow!("parameter {} has no gradient", k))
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(max) = self.clip {
            let mut sq = 0.0f64;
            for g in &gs {
                sq += to_vec((g.clone() * g.clone()).sum())?[0] as f64;
            }
            let coef = max / (sq.sqrt() + 1e-6);
            if coef < 1.0 {
                gs = gs.into_iter().map(|g| g * coef).collect();
            }
        }
        for (k, (p, g)) in net.params.iter_mut().zip(gs).enumerate() {
            let m = self.m[k].clone() * b1 + g.clone() * (1.0 - b1);
            let v = self.v[k].clone() * b2 + g.clone() * g * (1.0 - b2);
            let update = (m.clone() / c1) / ((v.clone() / c2).sqrt() + self.eps) * self.lr;
            let new = p.clone().inner() - update;
            *p = Tensor::from_inner(new).require_grad();
            self.m[k] = m;
            self.v[k] = v;
        }
        Ok(())
    }

    /// Save parameters and optimiser state (a small self-describing format).
    pub fn save_checkpoint(&self, net: &Net, path: &Path, extra: &serde_json::Value) -> Result<()> {
        let mut blobs: Vec<f32> = Vec::new();
        for p in &net.params {
            blobs.extend(to_vec(p.clone())?);
        }
        for t in self.m.iter().chain(&self.v) {
            blobs.extend(to_vec(t.clone())?);
        }
        let header = serde_json::json!({
            "format": "phasekit-checkpoint-1",
            "names": net.names,
            "shapes": net.shapes,
            "adam_step": self.step,
            "extra": extra,
        });
        let head = serde_json::to_vec(&header)?;
        let mut bytes = Vec::with_capacity(8 + head.len() + 4 * blobs.len());
        bytes.extend((head.len() as u64).to_le_bytes());
        bytes.extend(head);
        bytes.extend(blobs.iter().flat_map(|v| v.to_le_bytes()));
        crate::io::atomic::write_bytes(path, &bytes)
    }

    /// Restore parameters and optimiser state saved by [`Adam::save_checkpoint`];
    /// returns the `extra` value stored with them.
    pub fn load_checkpoint(&mut self, net: &mut Net, path: &Path) -> Result<serde_json::Value> {
        let bad =
            |why: &str| crate::input_error!("{}: not a usable checkpoint ({why})", path.display());
        let bytes = crate::io::read_input(path, "checkpoint")?;
        if bytes.len() < 8 {
            return Err(bad("truncated"));
        }
        let hl = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        if bytes.len() < 8 + hl {
            return Err(bad("truncated header"));
        }
        let header: serde_json::Value =
            serde_json::from_slice(&bytes[8..8 + hl]).map_err(|_| bad("header is not JSON"))?;
        if header["format"] != "phasekit-checkpoint-1" {
            return Err(bad("unknown format"));
        }
        let shapes: Vec<Vec<usize>> =
            serde_json::from_value(header["shapes"].clone()).map_err(|_| bad("shapes"))?;
        if shapes != net.shapes {
            bail!(bad("its network has other layer shapes than the one asked for (--arch/--width/--depth or the data)"));
        }
        let floats: Vec<f32> = bytes[8 + hl..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let total: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        if floats.len() != 3 * total {
            return Err(bad("data size does not match its header"));
        }
        let mut at = 0;
        let mut next = |n: usize| {
            let v = floats[at..at + n].to_vec();
            at += n;
            Tensor::<1>::from_data(TensorData::new(v, [n]), &net.device)
        };
        for (k, s) in shapes.iter().enumerate() {
            net.params[k] = next(s.iter().product()).require_grad();
        }
        for (m, s) in self.m.iter_mut().zip(&shapes) {
            *m = next(s.iter().product()).inner();
        }
        for (v, s) in self.v.iter_mut().zip(&shapes) {
            *v = next(s.iter().product()).inner();
        }
        self.step = header["adam_step"].as_u64().unwrap_or(0);
        Ok(header["extra"].clone())
    }
}

/// The ICNN's operations on burn tensors (autodiff flows through all of them,
/// so the gradient of F in t stays differentiable in the weights).
pub struct BurnAlgebra;

impl super::icnn::Algebra for BurnAlgebra {
    type V = Tensor<2>;
    fn matmul(&mut self, a: &Tensor<2>, b: &Tensor<2>) -> Tensor<2> {
        a.clone().matmul(b.clone())
    }
    fn add(&mut self, a: &Tensor<2>, b: &Tensor<2>) -> Tensor<2> {
        a.clone() + b.clone()
    }
    fn sub(&mut self, a: &Tensor<2>, b: &Tensor<2>) -> Tensor<2> {
        a.clone() - b.clone()
    }
    fn mul(&mut self, a: &Tensor<2>, b: &Tensor<2>) -> Tensor<2> {
        a.clone() * b.clone()
    }
    fn softplus(&mut self, a: &Tensor<2>) -> Tensor<2> {
        burn::tensor::activation::softplus(a.clone(), 1.0)
    }
    fn sigmoid(&mut self, a: &Tensor<2>) -> Tensor<2> {
        burn::tensor::activation::sigmoid(a.clone())
    }
}

/// Effective ICNN weights from the flat parameters of `net` (built from
/// [`IcnnSpec::init`]): softplus on the raw hidden weights and the output
/// scale folded in, inside the autodiff graph.
pub fn icnn_weights(spec: &IcnnSpec, net: &Net) -> Weights<Tensor<2>> {
    let dev = &net.device;
    let (norm, shift, dx) = spec.normalisation();
    let np = spec.inputs();
    let constant = |data: &[f32], rows: usize, cols: usize| {
        Tensor::<2>::from_data(TensorData::new(data.to_vec(), [rows, cols]), dev)
    };
    let param = |name: &str, rows: usize, cols: usize| -> Tensor<2> {
        let k = net
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("ICNN parameter {name} missing"));
        net.params[k].clone().reshape([rows, cols])
    };
    let positive = |t: Tensor<2>| burn::tensor::activation::softplus(t, 1.0);
    let (h, s) = (spec.hidden, spec.scale);
    Weights {
        norm: constant(&norm, np, np),
        shift: constant(&shift, 1, np),
        dx: dx.iter().map(|d| constant(d, 1, np)).collect(),
        w_in: (0..spec.layers)
            .map(|l| param(&format!("in{l}.weight"), np, h))
            .collect(),
        bias: (0..spec.layers)
            .map(|l| param(&format!("in{l}.bias"), 1, h))
            .collect(),
        u: (1..spec.layers)
            .map(|l| positive(param(&format!("z{l}.raw"), h, h)))
            .collect(),
        u_out: positive(param("out.z_raw", h, 1)) * s,
        w_out: param("out.x", np, 1) * s,
        b_out: param("out.bias", 1, 1) * s,
    }
}
