//! "Did you mean ...?" suggestions for misspelt keys and names.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|(dist, _)| *dist <= limit)
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, candidate)| candidate)
}

/// `"; did you mean `x`?"` or an empty string.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => String::new(),
    }
}

/// Levenshtein distance, counted in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["vars", "hosts", "children"];
        assert_eq!(closest("host", keys), Some("hosts"));
        assert_eq!(closest("chidren", keys), Some("children"));
        assert_eq!(closest("var", keys), Some("vars"));
        assert_eq!(closest("zzzzzz", keys), None);
    }

    #[test]
    fn picks_the_nearest_candidate() {
        assert_eq!(closest("copyy", ["command", "copy", "cron"]), Some("copy"));
        assert_eq!(closest("anything", []), None);
    }

    #[test]
    fn did_you_mean_is_empty_without_a_near_miss() {
        let keys = ["vars", "hosts", "children"];
        assert_eq!(did_you_mean("chidren", keys), "; did you mean `children`?");
        assert_eq!(did_you_mean("groups", keys), "");
    }

    #[test]
    fn distance_counts_characters() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("héllo", "hello"), 1);
    }
}
