//! Pictures people would rather look at than read: PNG figures.

pub mod canvas;
pub mod mosaic;
