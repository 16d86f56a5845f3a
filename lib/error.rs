//! Error categories shared by every tool.
//!
//! Two kinds of failure matter to a caller: bad input or usage (exit code 2:
//! the user must change something) and everything else (exit code 1). Bad
//! input is marked by wrapping the message in [`InputError`]; anything else
//! travelling through `anyhow` is a plain failure.

use std::fmt;

/// A problem with the user's input: a flag value, a missing or malformed file.
/// The message names the flag or file and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

impl InputError {
    pub fn new(msg: impl Into<String>) -> Self {
        InputError(msg.into())
    }
}

/// Build an `anyhow::Error` that carries an [`InputError`], e.g.
/// `bail_input!("--L: must be at least 2, got {l}")`.
#[macro_export]
macro_rules! input_error {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::error::InputError::new(format!($($arg)*)))
    };
}

/// Return early with an [`InputError`].
#[macro_export]
macro_rules! bail_input {
    ($($arg:tt)*) => {
        return Err($crate::input_error!($($arg)*))
    };
}

/// True when the error, or anything in its chain, is an [`InputError`].
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<InputError>().is_some())
}

/// One line: the whole context chain joined with ": ".
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.chain() {
        let s = e.to_string().replace('\n', " ");
        // anyhow repeats a wrapped error's text when context is added with the
        // same message; keep each distinct piece once.
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}
