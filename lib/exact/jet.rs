//! Second-order forward-mode derivatives ("jets"): a value with its first and
//! second derivative in one variable. Used to differentiate exact partition
//! functions analytically (energy and heat capacity from ln Z).

use std::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jet {
    pub v: f64,
    pub d1: f64,
    pub d2: f64,
}

impl Jet {
    pub const fn constant(v: f64) -> Jet {
        Jet {
            v,
            d1: 0.0,
            d2: 0.0,
        }
    }

    /// The independent variable itself at `v`.
    pub const fn variable(v: f64) -> Jet {
        Jet {
            v,
            d1: 1.0,
            d2: 0.0,
        }
    }

    /// Apply f with f(v), f'(v), f''(v) (chain rule to second order).
    fn chain(self, f: f64, df: f64, ddf: f64) -> Jet {
        Jet {
            v: f,
            d1: df * self.d1,
            d2: ddf * self.d1 * self.d1 + df * self.d2,
        }
    }

    pub fn exp(self) -> Jet {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    pub fn ln(self) -> Jet {
        self.chain(self.v.ln(), 1.0 / self.v, -1.0 / (self.v * self.v))
    }

    pub fn cosh(self) -> Jet {
        self.chain(self.v.cosh(), self.v.sinh(), self.v.cosh())
    }

    pub fn sinh(self) -> Jet {
        self.chain(self.v.sinh(), self.v.cosh(), self.v.sinh())
    }

    pub fn tanh(self) -> Jet {
        let t = self.v.tanh();
        let s = 1.0 - t * t;
        self.chain(t, s, -2.0 * t * s)
    }

    /// acosh for arguments > 1.
    pub fn acosh(self) -> Jet {
        let x = self.v;
        let r = (x * x - 1.0).sqrt();
        self.chain(x.acosh(), 1.0 / r, -x / (r * r * r))
    }

    /// ln(2 cosh x), stable for large |x|.
    pub fn ln_2cosh(self) -> Jet {
        let x = self.v;
        let a = x.abs();
        let f = a + (-2.0 * a).exp().ln_1p();
        let t = x.tanh();
        self.chain(f, t, 1.0 - t * t)
    }

    /// ln|2 sinh x| for x != 0, stable for large |x|.
    pub fn ln_2sinh_abs(self) -> Jet {
        let x = self.v;
        let a = x.abs();
        let f = a + (-(-2.0 * a).exp()).ln_1p();
        let c = 1.0 / x.tanh();
        self.chain(f, c, 1.0 - c * c)
    }

    pub fn scale(self, k: f64) -> Jet {
        Jet {
            v: self.v * k,
            d1: self.d1 * k,
            d2: self.d2 * k,
        }
    }
}

impl Add for Jet {
    type Output = Jet;
    fn add(self, o: Jet) -> Jet {
        Jet {
            v: self.v + o.v,
            d1: self.d1 + o.d1,
            d2: self.d2 + o.d2,
        }
    }
}

impl Sub for Jet {
    type Output = Jet;
    fn sub(self, o: Jet) -> Jet {
        Jet {
            v: self.v - o.v,
            d1: self.d1 - o.d1,
            d2: self.d2 - o.d2,
        }
    }
}

impl Neg for Jet {
    type Output = Jet;
    fn neg(self) -> Jet {
        Jet {
            v: -self.v,
            d1: -self.d1,
            d2: -self.d2,
        }
    }
}

impl Mul for Jet {
    type Output = Jet;
    fn mul(self, o: Jet) -> Jet {
        Jet {
            v: self.v * o.v,
            d1: self.d1 * o.v + self.v * o.d1,
            d2: self.d2 * o.v + 2.0 * self.d1 * o.d1 + self.v * o.d2,
        }
    }
}

impl Div for Jet {
    type Output = Jet;
    fn div(self, o: Jet) -> Jet {
        self * o.chain(1.0 / o.v, -1.0 / (o.v * o.v), 2.0 / (o.v * o.v * o.v))
    }
}

impl Add<f64> for Jet {
    type Output = Jet;
    fn add(self, o: f64) -> Jet {
        Jet {
            v: self.v + o,
            ..self
        }
    }
}

impl Sub<f64> for Jet {
    type Output = Jet;
    fn sub(self, o: f64) -> Jet {
        Jet {
            v: self.v - o,
            ..self
        }
    }
}

/// ln(Σ s_i exp(a_i)) for terms with signs s_i = ±1, whose sum is positive.
pub fn log_sum_exp_signed(terms: &[(f64, Jet)]) -> Jet {
    let m = terms
        .iter()
        .map(|(_, a)| a.v)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut sum = Jet::constant(0.0);
    for (s, a) in terms {
        sum = sum + (*a - m).exp().scale(*s);
    }
    sum.ln() + m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl Fn(Jet) -> Jet, x: f64) {
        let h = 1e-4;
        let j = f(Jet::variable(x));
        let fp = f(Jet::constant(x + h)).v;
        let fm = f(Jet::constant(x - h)).v;
        let d1 = (fp - fm) / (2.0 * h);
        let d2 = (fp - 2.0 * j.v + fm) / (h * h);
        assert!(
            (j.d1 - d1).abs() < 1e-6 * (1.0 + d1.abs()),
            "d1 {} vs {d1}",
            j.d1
        );
        assert!(
            (j.d2 - d2).abs() < 1e-4 * (1.0 + d2.abs()),
            "d2 {} vs {d2}",
            j.d2
        );
    }

    #[test]
    fn derivatives_match_finite_differences() {
        check(|x| x.exp() * x.sinh(), 0.7);
        check(|x| (x.cosh() / x.sinh()).ln(), 0.9);
        check(|x| (x + 2.0).acosh(), 0.3);
        check(|x| x.scale(3.0).ln_2cosh(), -1.2);
        check(|x| x.scale(3.0).ln_2sinh_abs(), -0.8);
        check(|x| x.tanh().ln() + x.scale(2.0), 0.5);
        check(
            |x| log_sum_exp_signed(&[(1.0, x.scale(2.0)), (-1.0, x), (1.0, x.exp())]),
            0.4,
        );
    }
}
