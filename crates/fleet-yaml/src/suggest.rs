//! "Did you mean ...?" suggestions for misspelt keys, names and modules.
//!
//! The one rule of the project: a candidate is a likely typo of `word` when
//! their edit distance is at most a third of the length of `word` (and at
//! least 1), so `host` suggests `hosts` but `db` suggests nothing far away.
//! Of several such candidates the nearest wins; on a tie, the first one
//! given, so callers order candidates by preference.

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

/// ``did you mean `x`?`` for the [`closest`] candidate, if there is one:
/// the wording of every such hint.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
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
    fn on_a_tie_the_first_candidate_wins() {
        assert_eq!(closest("webb", ["web", "web1"]), Some("web"));
        assert_eq!(closest("webb", ["web1", "web"]), Some("web1"));
    }

    #[test]
    fn the_limit_is_a_third_of_the_word_and_at_least_one() {
        // Two-letter words: one edit.
        assert_eq!(closest("db", ["dbs"]), Some("dbs"));
        assert_eq!(closest("db", ["dbms"]), None);
        // Six letters: two edits, not three.
        assert_eq!(closest("sevice", ["service"]), Some("service"));
        assert_eq!(closest("rollbk", ["rollback"]), Some("rollback"));
        assert_eq!(closest("rolbk", ["rollback"]), None);
        // Counted in characters, not bytes.
        assert_eq!(closest("héllo", ["hello"]), Some("hello"));
    }

    #[test]
    fn did_you_mean_words_the_suggestion() {
        let keys = ["vars", "hosts", "children"];
        assert_eq!(
            did_you_mean("chidren", keys).as_deref(),
            Some("did you mean `children`?")
        );
        assert_eq!(did_you_mean("groups", keys), None);
        assert_eq!(
            did_you_mean("copyy", ["command", "copy", "cron"]).as_deref(),
            Some("did you mean `copy`?")
        );
    }

    #[test]
    fn distance_counts_characters() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("héllo", "hello"), 1);
    }
}
