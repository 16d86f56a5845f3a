//! The maximum-entropy models: P(s) ∝ exp(Σ K_ij s_i s_j + Σ H_i s_i) with
//! the couplings K tied, per bond or per pair and the fields H uniform, per
//! site or absent. Every model is an exponential family θ·φ(s): each
//! parameter multiplies a sum of s_i s_j (or s_i) over the pairs (or sites)
//! it covers, and the local field at site i is linear in θ.

use serde::Serialize;

/// How the couplings are tied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Couplings {
    /// One nearest-neighbour K for the whole periodic L×L lattice.
    Tied,
    /// One K per nearest-neighbour bond of the periodic lattice.
    Bonds,
    /// One K per pair of spins, any n (no lattice).
    Pairs,
}

/// How the fields are tied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fields {
    /// One H for every site.
    Uniform,
    /// One H per site.
    Site,
    /// No field (H = 0).
    None,
}

/// What a parameter couples, as written to the couplings file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// "K" (a coupling) or "H" (a field)
    pub term: &'static str,
    /// "tied" (every nearest-neighbour bond, or every site), "bond", "pair" or "site"
    pub scope: &'static str,
    pub i: usize,
    pub j: usize,
}

/// A model on n spins: its parameters and, per site, the local field's
/// terms (neighbour, parameter) and field parameter.
#[derive(Clone, Debug)]
pub struct Model {
    pub couplings: Couplings,
    pub fields: Fields,
    /// lattice side (0 for `pairs`)
    pub l: usize,
    pub n: usize,
    pub terms: Vec<Term>,
    /// per site: (neighbour j, coupling parameter) for every pair holding the site
    pub neighbours: Vec<Vec<(u32, u32)>>,
    /// per site: its field parameter
    pub field_of: Vec<Option<u32>>,
    /// the coupling parameters' pairs (i < j), for the sufficient statistics
    pub pairs: Vec<(u32, u32, u32)>,
}

pub use crate::sim::ising::lattice::bonds as lattice_bonds;

impl Model {
    /// The model on an L×L periodic lattice (`l` ≥ 3, so a bond's two
    /// ends differ from every other bond's), or on `n` spins for `pairs`.
    pub fn new(couplings: Couplings, fields: Fields, l: usize, n: usize) -> Model {
        let n = if couplings == Couplings::Pairs {
            n
        } else {
            l * l
        };
        let mut terms = Vec::new();
        let mut pairs = Vec::new();
        match couplings {
            Couplings::Tied => {
                terms.push(Term {
                    term: "K",
                    scope: "tied",
                    i: 0,
                    j: 0,
                });
                pairs.extend(
                    lattice_bonds(l)
                        .into_iter()
                        .map(|(i, j)| (i as u32, j as u32, 0)),
                );
            }
            Couplings::Bonds => {
                for (b, (i, j)) in lattice_bonds(l).into_iter().enumerate() {
                    terms.push(Term {
                        term: "K",
                        scope: "bond",
                        i,
                        j,
                    });
                    pairs.push((i as u32, j as u32, b as u32));
                }
            }
            Couplings::Pairs => {
                for i in 0..n {
                    for j in i + 1..n {
                        pairs.push((i as u32, j as u32, terms.len() as u32));
                        terms.push(Term {
                            term: "K",
                            scope: "pair",
                            i,
                            j,
                        });
                    }
                }
            }
        }
        let mut field_of = vec![None; n];
        match fields {
            Fields::None => {}
            Fields::Uniform => {
                let p = terms.len() as u32;
                terms.push(Term {
                    term: "H",
                    scope: "tied",
                    i: 0,
                    j: 0,
                });
                field_of.iter_mut().for_each(|f| *f = Some(p));
            }
            Fields::Site => {
                for (i, f) in field_of.iter_mut().enumerate() {
                    *f = Some(terms.len() as u32);
                    terms.push(Term {
                        term: "H",
                        scope: "site",
                        i,
                        j: i,
                    });
                }
            }
        }
        let mut neighbours = vec![Vec::new(); n];
        for &(i, j, p) in &pairs {
            neighbours[i as usize].push((j, p));
            neighbours[j as usize].push((i, p));
        }
        Model {
            couplings,
            fields,
            l: if couplings == Couplings::Pairs { 0 } else { l },
            n,
            terms,
            neighbours,
            field_of,
            pairs,
        }
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The sufficient statistics φ(s): per coupling the sum of s_i s_j over
    /// its pairs, per field the sum of s_i over its sites.
    pub fn statistics(&self, s: &[i8], out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        for &(i, j, p) in &self.pairs {
            out[p as usize] += (s[i as usize] * s[j as usize]) as f64;
        }
        for (i, f) in self.field_of.iter().enumerate() {
            if let Some(p) = f {
                out[*p as usize] += s[i] as f64;
            }
        }
    }

    /// The local field at site i: Σ_j K_ij s_j + H_i.
    #[inline]
    pub fn local_field(&self, theta: &[f64], s: &[i8], i: usize) -> f64 {
        let mut f = self.field_of[i].map_or(0.0, |p| theta[p as usize]);
        for &(j, p) in &self.neighbours[i] {
            f += theta[p as usize] * s[j as usize] as f64;
        }
        f
    }

    /// θ·φ(s) (the log weight, up to ln Z).
    pub fn log_weight(&self, theta: &[f64], s: &[i8]) -> f64 {
        let mut phi = vec![0.0; self.len()];
        self.statistics(s, &mut phi);
        phi.iter().zip(theta).map(|(a, b)| a * b).sum()
    }

    /// Number of pairs (or sites) each parameter covers, to report moments
    /// per pair: ⟨φ_p⟩ / count_p.
    pub fn counts(&self) -> Vec<f64> {
        let mut c = vec![0.0; self.len()];
        for &(_, _, p) in &self.pairs {
            c[p as usize] += 1.0;
        }
        for p in self.field_of.iter().flatten() {
            c[*p as usize] += 1.0;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lattice_has_two_bonds_per_site_and_four_neighbours() {
        let m = Model::new(Couplings::Bonds, Fields::Site, 4, 0);
        assert_eq!(m.n, 16);
        assert_eq!(m.len(), 32 + 16);
        assert!(m.neighbours.iter().all(|nb| nb.len() == 4));
        let t = Model::new(Couplings::Tied, Fields::Uniform, 4, 0);
        assert_eq!(t.len(), 2);
        assert_eq!(t.counts(), vec![32.0, 16.0]);
        let p = Model::new(Couplings::Pairs, Fields::None, 0, 5);
        assert_eq!(p.len(), 10);
        assert!(p.neighbours.iter().all(|nb| nb.len() == 4));
    }

    #[test]
    fn statistics_match_the_ising_energy() {
        let l = 4;
        let s: Vec<i8> = (0..16)
            .map(|i| if (i * 7) % 5 < 2 { 1 } else { -1 })
            .collect();
        let m = Model::new(Couplings::Tied, Fields::Uniform, l, 0);
        let mut phi = vec![0.0; 2];
        m.statistics(&s, &mut phi);
        // E = −J Σ s s − h Σ s, so with J = 1, h = 0.3: θ·φ = −E at K = 1, H = 0.3
        let e = crate::sim::ising::lattice::energy(&s, l, 1.0, 0.3);
        assert!((m.log_weight(&[1.0, 0.3], &s) + e).abs() < 1e-12);
        // the local field's change equals the log-weight change of a flip
        let theta = [0.4, -0.2];
        for i in 0..16 {
            let mut t = s.clone();
            t[i] = -t[i];
            let d = m.log_weight(&theta, &t) - m.log_weight(&theta, &s);
            let f = m.local_field(&theta, &s, i);
            assert!((d + 2.0 * s[i] as f64 * f).abs() < 1e-12);
        }
    }
}
