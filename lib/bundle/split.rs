//! The seeded train/test split: exactly round(f·N) samples go to test,
//! chosen by a ChaCha8 shuffle of the ids in ascending order, so the split
//! depends only on the seed and the set of ids.

use rand::seq::SliceRandom;

use crate::sim::rng::chain_rng;

/// Stream of the split's shuffle (distinct from every generator's chains).
const SPLIT_STREAM: u64 = 0x5350_4c49_5400_0001;

/// `true` for test, per position of `ids`.
pub fn split_test(ids: &[u64], test_fraction: f64, seed: u64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i]);
    order.shuffle(&mut chain_rng(seed, SPLIT_STREAM));
    let n_test = (test_fraction * ids.len() as f64).round() as usize;
    let mut test = vec![false; ids.len()];
    for &i in &order[..n_test] {
        test[i] = true;
    }
    test
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_has_the_asked_size_and_ignores_row_order() {
        let ids: Vec<u64> = (0..1000).collect();
        let t = split_test(&ids, 0.2, 3);
        assert_eq!(t.iter().filter(|&&x| x).count(), 200);
        let rev: Vec<u64> = ids.iter().rev().cloned().collect();
        let tr = split_test(&rev, 0.2, 3);
        for (i, id) in rev.iter().enumerate() {
            assert_eq!(tr[i], t[*id as usize]);
        }
        assert_ne!(split_test(&ids, 0.2, 4), t);
    }
}
