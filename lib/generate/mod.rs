//! Dataset generation shared by the samplers: chains split into shards,
//! run in parallel blocks, written in id order.

pub mod ising;
pub mod tasep;

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;

use crate::bail_input;

/// `--shard i/n`: this process generates the i-th of n contiguous slices of chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or("expected i/n, e.g. 0/4")?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| "i in i/n must be a whole number")?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| "n in i/n must be a whole number")?;
        if count == 0 || index >= count {
            return Err(format!("need 0 <= i < n, got {index}/{count}"));
        }
        Ok(Shard { index, count })
    }
}

/// Chains of this shard (all chains without one).
pub fn chain_range(n_chains: u64, shard: Option<Shard>) -> Range<u64> {
    match shard {
        None => 0..n_chains,
        Some(Shard { index, count }) => {
            let (i, n) = (index as u128, count as u128);
            let lo = (n_chains as u128 * i / n) as u64;
            let hi = (n_chains as u128 * (i + 1) / n) as u64;
            lo..hi
        }
    }
}

/// Where a (possibly sharded) generator writes: `-o` itself, or for a shard
/// the part file `part-IIIII-of-NNNNN.parquet` inside the folder `-o`
/// (`-o -`: the shard's rows go to standard output).
pub fn output_path(out: &Path, shard: Option<Shard>) -> Result<PathBuf> {
    match shard {
        None => Ok(out.to_path_buf()),
        Some(_) if crate::io::is_stdio(out) => Ok(out.to_path_buf()),
        Some(Shard { index, count }) => {
            if out.extension().is_some_and(|e| e == "parquet") {
                bail_input!(
                    "-o {}: with --shard, -o names a dataset folder, not a .parquet file",
                    out.display()
                );
            }
            std::fs::create_dir_all(out).map_err(|e| {
                crate::input_error!("-o {}: cannot create dataset folder ({e})", out.display())
            })?;
            Ok(out.join(format!("part-{index:05}-of-{count:05}.parquet")))
        }
    }
}

/// Run `work` for every chain in `chains`, in parallel blocks of `block`
/// chains, and hand the results to `sink` in chain order.
pub fn run_in_order<T: Send>(
    chains: Range<u64>,
    block: usize,
    work: impl Fn(u64) -> T + Sync,
    mut sink: impl FnMut(u64, T) -> Result<()>,
) -> Result<()> {
    let block = block.max(1) as u64;
    let mut start = chains.start;
    while start < chains.end {
        let end = (start + block).min(chains.end);
        let results: Vec<T> = (start..end).into_par_iter().map(&work).collect();
        for (c, r) in (start..end).zip(results) {
            sink(c, r)?;
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_chains() {
        for n_chains in [0u64, 1, 7, 100] {
            for count in 1..6 {
                let mut next = 0;
                for index in 0..count {
                    let r = chain_range(n_chains, Some(Shard { index, count }));
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, n_chains);
            }
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert_eq!(
            "2/5".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 5 }
        );
    }
}
