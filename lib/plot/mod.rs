//! Pictures people would rather look at than read: PNG figures drawn with
//! plotters in an embedded font, with axis titles, round ticks, colour bars
//! and legends.

pub mod chart;
pub mod figures;
pub mod heat;
pub mod maxent;
pub mod mosaic;
pub mod render;
pub mod style;
pub mod vae;
