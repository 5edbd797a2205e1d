//! Shards: a deterministic share of the vectors per machine (`run --shard K/N`), so a CI matrix
//! or a batch system can fan a run out with no coordinator; `aigc-conform merge` joins them.
//!
//! The assignment is a pure function of the vector ids: the ids are sorted and dealt round-robin,
//! so every machine computes the same split from the same vectors, the shards are disjoint,
//! their union is the whole suite, and their sizes differ by at most one.

use std::collections::BTreeSet;

use crate::vector::Suite;

/// Parse `K/N` (1 ≤ K ≤ N).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: a shard is K/N, e.g. 1/4"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: K is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("{s:?}: a shard K/N needs 1 <= K <= N"));
    }
    Ok((k, n))
}

/// The ids of shard `k` of `n` (1-based): the ids sorted, every n-th from the (k-1)-th.
/// Duplicate ids count once. Empty when `k` is out of range.
pub fn shard<'a, I>(ids: I, k: usize, n: usize) -> BTreeSet<String>
where
    I: IntoIterator<Item = &'a str>,
{
    if n == 0 || k == 0 || k > n {
        return BTreeSet::new();
    }
    let sorted: BTreeSet<&str> = ids.into_iter().collect();
    sorted
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// A predicate on vector ids for `run`: everything when `shard` is `None`, else the ids of
/// that shard of `suite`.
pub fn selector(suite: &Suite, shard_kn: Option<(usize, usize)>) -> impl Fn(&str) -> bool {
    let keep = shard_kn.map(|(k, n)| shard(suite.vectors.iter().map(|v| v.id.as_str()), k, n));
    move |id: &str| keep.as_ref().is_none_or(|s| s.contains(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_shard("1/2"), Ok((1, 2)));
        assert_eq!(parse_shard("4/4"), Ok((4, 4)));
        for bad in ["0/2", "3/2", "1/0", "1", "a/2", "1/b", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_ids_deterministically() {
        let ids: Vec<String> = (0..23).map(|i| format!("v-{:02}", (i * 7) % 23)).collect();
        for n in 1..=5 {
            let parts: Vec<BTreeSet<String>> = (1..=n)
                .map(|k| shard(ids.iter().map(String::as_str), k, n))
                .collect();
            let union: BTreeSet<String> = parts.iter().flatten().cloned().collect();
            assert_eq!(union.len(), ids.len(), "n={n}: union is the whole set");
            assert_eq!(
                parts.iter().map(BTreeSet::len).sum::<usize>(),
                ids.len(),
                "n={n}: disjoint"
            );
            let (min, max) = (
                parts.iter().map(BTreeSet::len).min().unwrap(),
                parts.iter().map(BTreeSet::len).max().unwrap(),
            );
            assert!(max - min <= 1, "n={n}: balanced");
            // The input order does not matter.
            let mut rev = ids.clone();
            rev.reverse();
            for (k, part) in parts.iter().enumerate() {
                assert_eq!(&shard(rev.iter().map(String::as_str), k + 1, n), part);
            }
        }
        assert!(shard(ids.iter().map(String::as_str), 3, 2).is_empty());
    }
}
