//! What fit-posterior reads: a bundles file and the microstates it points to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::bundle::target::TargetBuilder;
use crate::contract::{self, col_f64, col_str, col_u64, list_i8, list_u64};
use crate::meta::{FileMeta, Grid, Kind};
use crate::{bail_input, input_error};

pub struct Bundles {
    pub path: PathBuf,
    pub meta: FileMeta,
    pub grid: Grid,
    pub k_neib: usize,
    pub k_bundle: usize,
    pub ids: Vec<u64>,
    pub is_test: Vec<bool>,
    /// centre parameters
    pub params: Vec<[f64; 2]>,
    /// k_neib member ids per bundle
    pub members: Vec<u64>,
}

impl Bundles {
    pub fn load(path: &Path) -> Result<Bundles> {
        let ds = contract::open(path, Kind::Bundles)?;
        let grid: Grid = ds.meta.get(path, "grid")?;
        let k_neib: usize = ds.meta.get(path, "k_neib")?;
        let k_bundle: usize = ds.meta.get(path, "k_bundle")?;
        if k_bundle == 0 || k_bundle > k_neib {
            bail_input!(
                "{}: k_bundle {k_bundle} must be between 1 and k_neib {k_neib}",
                path.display()
            );
        }
        if ds.meta.params.len() != 2 {
            bail_input!(
                "{}: bundles need two parameters, found {:?}",
                path.display(),
                ds.meta.params
            );
        }
        let (p0, p1) = (ds.meta.params[0].clone(), ds.meta.params[1].clone());
        let mut b = Bundles {
            path: path.to_path_buf(),
            meta: ds.meta.clone(),
            grid,
            k_neib,
            k_bundle,
            ids: vec![],
            is_test: vec![],
            params: vec![],
            members: vec![],
        };
        for batch in ds.batches(None, 65536)? {
            let batch = batch?;
            b.ids.extend_from_slice(col_u64(&batch, "bundle_id")?);
            let split = col_str(&batch, "split")?;
            for s in split.iter() {
                match s {
                    Some("train") => b.is_test.push(false),
                    Some("test") => b.is_test.push(true),
                    other => bail_input!(
                        "{}: column 'split' holds {other:?}, expected train or test",
                        path.display()
                    ),
                }
            }
            let (a, c) = (col_f64(&batch, &p0)?, col_f64(&batch, &p1)?);
            b.params.extend(a.iter().zip(c).map(|(x, y)| [*x, *y]));
            b.members.extend_from_slice(list_u64(&batch, "members")?.0);
        }
        Ok(b)
    }

    pub fn members_of(&self, i: usize) -> &[u64] {
        &self.members[i * self.k_neib..(i + 1) * self.k_neib]
    }

    /// The dataset recorded in the bundles' provenance.
    pub fn recorded_dataset(&self) -> Result<PathBuf> {
        let input = self.meta.provenance.inputs.first().ok_or_else(|| {
            input_error!(
                "{}: provenance names no dataset; give --data",
                self.path.display()
            )
        })?;
        let p = PathBuf::from(&input.path);
        if crate::io::is_stdio(&p) {
            crate::bail_input!(
                "{}: these bundles were made from standard input; give --data",
                self.path.display()
            );
        }
        if p.exists() || p.is_absolute() {
            return Ok(p);
        }
        // a relative path as recorded may be relative to the bundles file
        let beside = self.path.parent().unwrap_or(Path::new(".")).join(&p);
        Ok(if beside.exists() { beside } else { p })
    }
}

/// The states of every sample, indexed by id, as bytes.
pub struct States {
    pub shape: [usize; 2],
    pub len: usize,
    index: HashMap<u64, usize>,
    data: Vec<i8>,
    pub params: Vec<[f64; 2]>,
}

impl States {
    /// Load the states of `dataset`; its state shape must be `expected` when given.
    pub fn load(dataset: &Path, expected: Option<&[usize]>) -> Result<States> {
        let ds = contract::open(dataset, Kind::Microstates)?;
        let shape: Vec<usize> = ds.meta.get(dataset, "state_shape")?;
        if let Some(e) = expected {
            if e != shape.as_slice() {
                bail_input!(
                    "{}: state shape {shape:?} differs from {e:?} recorded with the bundles",
                    dataset.display()
                );
            }
        }
        let shape2 = match shape.as_slice() {
            [h, w] => [*h, *w],
            [m] => [1, *m],
            _ => bail_input!(
                "{}: state shape {shape:?} is not 1-D or 2-D",
                dataset.display()
            ),
        };
        let len = shape2[0] * shape2[1];
        let p = ds.meta.params.clone();
        if p.len() != 2 {
            bail_input!(
                "{}: two parameters expected, found {p:?}",
                dataset.display()
            );
        }
        let mut s = States {
            shape: shape2,
            len,
            index: HashMap::new(),
            data: Vec::with_capacity(ds.num_rows as usize * len),
            params: Vec::new(),
        };
        for batch in ds.batches(Some(&["id", &p[0], &p[1], "state"]), 8192)? {
            let batch = batch?;
            for &id in col_u64(&batch, "id")? {
                s.index.insert(id, s.index.len());
            }
            let (a, c) = (col_f64(&batch, &p[0])?, col_f64(&batch, &p[1])?);
            s.params.extend(a.iter().zip(c).map(|(x, y)| [*x, *y]));
            s.data.extend_from_slice(list_i8(&batch, "state")?.0);
        }
        Ok(s)
    }

    pub fn position(&self, id: u64) -> Option<usize> {
        self.index.get(&id).copied()
    }

    pub fn state(&self, pos: usize) -> &[i8] {
        &self.data[pos * self.len..(pos + 1) * self.len]
    }

    /// Check every member of every bundle is present.
    pub fn check_covers(&self, bundles: &Bundles, dataset: &Path) -> Result<()> {
        if let Some(id) = bundles
            .members
            .iter()
            .find(|id| !self.index.contains_key(id))
        {
            bail_input!(
                "{}: has no sample with id {id}, which {} names; is it the dataset these bundles were made from?",
                dataset.display(),
                bundles.path.display()
            );
        }
        Ok(())
    }
}

/// Fill `x` ([B, K, H, W] floats) and `target` ([B, G]) for bundle centres
/// `centres`: K_bundle of the K_neib members at random, in random order, and
/// the averaged Gaussian target of exactly those members.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    bundles: &Bundles,
    states: &States,
    centres: &[usize],
    rng: &mut ChaCha8Rng,
    targets: &mut TargetBuilder,
    x: &mut Vec<f32>,
    target: &mut Vec<f32>,
) {
    let (k, len, g) = (bundles.k_bundle, states.len, bundles.grid.len());
    x.resize(centres.len() * k * len, 0.0);
    target.resize(centres.len() * g, 0.0);
    let mut order: Vec<usize> = (0..bundles.k_neib).collect();
    let mut chosen = Vec::with_capacity(k);
    for (b, &c) in centres.iter().enumerate() {
        let (picked, _) = order.partial_shuffle(rng, k);
        chosen.clear();
        for (slot, &m) in picked.iter().enumerate() {
            let pos = states
                .position(bundles.members_of(c)[m])
                .expect("checked by check_covers");
            let dst = &mut x[(b * k + slot) * len..(b * k + slot + 1) * len];
            for (d, &s) in dst.iter_mut().zip(states.state(pos)) {
                *d = s as f32;
            }
            chosen.push(states.params[pos]);
        }
        targets.build(&chosen, &mut target[b * g..(b + 1) * g]);
    }
}

/// Fill `x` with the first K_bundle members (the centre and its nearest
/// neighbours) of each bundle: the deterministic input used for prediction.
pub fn assemble_nearest(bundles: &Bundles, states: &States, centres: &[usize], x: &mut Vec<f32>) {
    let (k, len) = (bundles.k_bundle, states.len);
    x.resize(centres.len() * k * len, 0.0);
    for (b, &c) in centres.iter().enumerate() {
        for (slot, &id) in bundles.members_of(c)[..k].iter().enumerate() {
            let pos = states.position(id).expect("checked by check_covers");
            let dst = &mut x[(b * k + slot) * len..(b * k + slot + 1) * len];
            for (d, &s) in dst.iter_mut().zip(states.state(pos)) {
                *d = s as f32;
            }
        }
    }
}
