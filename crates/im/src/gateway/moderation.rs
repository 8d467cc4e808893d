//! The sensitive-word filter for room messages: every listed word (ASCII letters matched
//! regardless of case, anything else exactly) is either masked with `*`, one per
//! character, or makes the message refused, as the operator configures.
//!
//! Cost per message: one Aho-Corasick scan of the text, whatever the size of the list.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, MatchKind};

/// What to do with a message that contains a listed word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordMode {
    /// Mask the words with `*` and deliver the message.
    #[default]
    Replace,
    /// Refuse the message (`sensitive_words`).
    Reject,
}

/// A compiled word list.
#[derive(Debug, Clone)]
pub struct WordFilter {
    matcher: Option<AhoCorasick>,
    mode: WordMode,
}

impl WordFilter {
    /// A filter for `words` (blank entries are ignored; an empty list filters nothing).
    pub fn new(words: &[String], mode: WordMode) -> WordFilter {
        let words: Vec<&str> = words
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty())
            .collect();
        let matcher = if words.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .ok()
        };
        WordFilter { matcher, mode }
    }

    /// The text to deliver, or `None` when it must be refused.
    pub fn apply<'a>(&self, text: &'a str) -> Option<Cow<'a, str>> {
        let Some(matcher) = &self.matcher else {
            return Some(Cow::Borrowed(text));
        };
        let mut found = matcher.find_iter(text).peekable();
        if found.peek().is_none() {
            return Some(Cow::Borrowed(text));
        }
        if self.mode == WordMode::Reject {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for m in found {
            out.push_str(&text[at..m.start()]);
            out.extend(text[m.start()..m.end()].chars().map(|_| '*'));
            at = m.end();
        }
        out.push_str(&text[at..]);
        Some(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        vec!["spam".into(), "坏话".into(), " ".into()]
    }

    #[test]
    fn listed_words_are_masked_whatever_their_case() {
        let f = WordFilter::new(&words(), WordMode::Replace);
        assert_eq!(f.apply("buy SPAM now, 坏话!").unwrap(), "buy **** now, **!");
        assert_eq!(f.apply("clean text").unwrap(), "clean text");
    }

    #[test]
    fn reject_mode_refuses_the_message() {
        let f = WordFilter::new(&words(), WordMode::Reject);
        assert!(f.apply("spam").is_none());
        assert_eq!(f.apply("fine").unwrap(), "fine");
    }

    #[test]
    fn an_empty_list_filters_nothing() {
        let f = WordFilter::new(&[], WordMode::Reject);
        assert_eq!(f.apply("anything").unwrap(), "anything");
    }
}
