//! fit-maxent's figures: the fitted couplings on the lattice (a map per bond
//! direction, the fields, or the pair matrix) and every matched moment of
//! the fitted model against the data's.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::SeriesLabelPosition;

use super::chart::{padded_range, Line, LineChart, Stroke};
use super::figures::chart_row;
use super::heat::{Axis, ColourScale, HeatMap};
use super::render::{drawing, render};
use super::style::{BLUE, FONT, ORANGE};
use crate::contract::couplings::CouplingRow;
use crate::maxent::{Couplings, Fields, Model};

pub const MOMENTS_SIZE: (u32, u32) = (760, 680);
pub const COUPLINGS_PANEL: (u32, u32) = (560, 500);

/// moments.png, and couplings.png where the model has couplings or fields
/// that vary over the lattice.
pub fn maxent_figures(dir: &Path, model: &Model, rows: &[CouplingRow]) -> Result<()> {
    moments(&dir.join("moments.png"), rows)?;
    let mut panels: Vec<(String, Vec<f64>, usize)> = Vec::new();
    let l = model.l;
    // lattice values go to the map as value[column · L + row]
    let on_lattice = |site_value: &dyn Fn(usize) -> f64| -> Vec<f64> {
        (0..l * l)
            .map(|k| site_value((k % l) * l + k / l))
            .collect()
    };
    let k_of = |scope: &str| -> Vec<&CouplingRow> {
        rows.iter()
            .filter(|r| r.term == "K" && r.scope == scope)
            .collect()
    };
    match model.couplings {
        Couplings::Bonds => {
            let bonds = k_of("bond");
            for (dir_name, d) in [("right", 0), ("down", 1)] {
                let v = on_lattice(&|site| bonds[2 * site + d].value);
                panels.push((format!("K to the {dir_name} neighbour"), v, l));
            }
        }
        Couplings::Pairs => {
            let n = model.n;
            let mut m = vec![0.0; n * n];
            for r in k_of("pair") {
                let (i, j) = (r.i as usize, r.j as usize);
                m[i * n + j] = r.value;
                m[j * n + i] = r.value;
            }
            panels.push(("K_ij (pairs)".into(), m, n));
        }
        Couplings::Tied => {}
    }
    if model.fields == Fields::Site && l > 0 {
        let h: Vec<&CouplingRow> = rows.iter().filter(|r| r.term == "H").collect();
        panels.push(("H per site".into(), on_lattice(&|site| h[site].value), l));
    }
    if panels.is_empty() {
        return Ok(());
    }
    let (w, h) = COUPLINGS_PANEL;
    let size = (w * panels.len() as u32, h + 40);
    render(&dir.join("couplings.png"), size, |root| {
        let (head, body) = root.split_vertically(40);
        head.titled("fit-maxent: fitted parameters", (FONT, 20))
            .map_err(drawing)?;
        for ((name, values, side), area) in panels.iter().zip(body.split_evenly((1, panels.len())))
        {
            let (xl, yl) =
                if model.couplings == Couplings::Pairs && *side == model.n && model.l == 0 {
                    ("spin j", "spin i")
                } else {
                    ("column", "row")
                };
            HeatMap {
                title: name,
                values,
                nx: *side,
                ny: *side,
                x: Axis::new(xl, [0.0, *side as f64]),
                y: Axis::new(yl, [0.0, *side as f64]),
                colours: ColourScale::percentiles(values),
                marker: None,
            }
            .draw(&area)?;
        }
        Ok(())
    })
}

/// Model against data moment of every parameter, couplings and fields apart.
fn moments(path: &Path, rows: &[CouplingRow]) -> Result<()> {
    let pick = |term: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.term == term)
            .map(|r| (r.data_moment, r.model_moment))
            .collect()
    };
    let range = padded_range(rows.iter().flat_map(|r| [r.data_moment, r.model_moment]));
    let mut lines = vec![Line {
        name: "⟨s_i s_j⟩ (couplings)",
        colour: BLUE,
        points: pick("K"),
        style: Stroke::Dots,
    }];
    let fields = pick("H");
    if !fields.is_empty() {
        lines.push(Line {
            name: "⟨s_i⟩ (fields)",
            colour: ORANGE,
            points: fields,
            style: Stroke::Dots,
        });
    }
    lines.push(Line::diagonal("model = data", range));
    let chart = LineChart {
        title: "matched moments: fitted model against data",
        x_label: "data moment",
        y_label: "fitted model's moment",
        legend: SeriesLabelPosition::UpperLeft,
        lines,
    };
    chart_row(path, "fit-maxent", &[chart], MOMENTS_SIZE)
}
