//! DynamoDB's reserved words: an attribute named by one of them must go through a `#name`
//! placeholder. The list is AWS's, one word a line, matched without regard to case
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html>).

const RESERVED_WORDS: &str = include_str!("reserved_words.txt");

pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED_WORDS
        .lines()
        .any(|reserved| reserved.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_awss_and_case_blind() {
        // AWS's page lists 573 words.
        assert_eq!(RESERVED_WORDS.lines().count(), 573);
        for word in ["status", "COUNT", "Name", "size", "data"] {
            assert!(is_reserved(word), "{word}");
        }
        for word in [
            "pk",
            "attempts",
            "lease_until_ms",
            "message",
            "body",
            "version",
        ] {
            assert!(!is_reserved(word), "{word}");
        }
    }
}
