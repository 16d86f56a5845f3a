//! Bundles (the BTI paper's augmentation, eqs. 10–11 and Algorithm 2): every
//! sample is the centre of a bundle of its K_neib nearest neighbours in
//! parameter space; training draws K_bundle of them, whose averaged Gaussians
//! on the parameter grid are the target posterior.
//!
//! * [`knn`]: exact k nearest neighbours in the unit-scaled parameter box.
//! * [`target`]: the grid targets, shared by bundle-knn and fit-posterior.
//! * [`split`]: the seeded train/test split.
//! * [`build`]: the whole bundle-knn step on a dataset.

pub mod build;
pub mod knn;
pub mod split;
pub mod target;
