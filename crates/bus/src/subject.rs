//! Subjects name what an event is about, so that a node subscribes only to what its
//! sockets need. They travel between nodes as NATS subjects and follow NATS's rules:
//! tokens separated by `.`, each 1–64 of `A–Z a–z 0–9 _ -`; a pattern may use `*` for one
//! token and `>` (last) for the rest.
//!
//! momo's subjects start with `momo.` (so a NATS server can carry other applications too),
//! then what the event is about, then what happened:
//!
//! | subject | about |
//! |---|---|
//! | `momo.room.{room}.{kind}` | one live room: everyone in it, its chat, its stream |
//! | `momo.user.{user}.{kind}` | one account: its sockets, its sessions |
//! | `momo.ctx.{context}.{kind}` | a context's own news for the others (feed caches, …) |
//!
//! A node with members in room 7 subscribes to `momo.room.7.>`; one holding user 42's
//! sockets to `momo.user.42.>`.

use std::fmt;

/// Longest token.
const MAX_TOKEN: usize = 64;
/// Most tokens in a subject or pattern.
const MAX_TOKENS: usize = 16;

/// Why a subject or pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid subject: tokens of 1-64 of A-Z a-z 0-9 _ - separated by dots")]
pub struct BadSubject(pub String);

fn valid_token(t: &str) -> bool {
    (1..=MAX_TOKEN).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An id that goes into a subject as one token (a room id with a dot would add a token:
/// refused, not misrouted).
fn one_token(t: &str) -> Result<(), BadSubject> {
    if valid_token(t) {
        Ok(())
    } else {
        Err(BadSubject(t.to_owned()))
    }
}

/// A concrete subject an event is published to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

impl Subject {
    /// Checks `s` and makes it a subject.
    pub fn new(s: impl Into<String>) -> Result<Subject, BadSubject> {
        let s = s.into();
        let tokens: Vec<&str> = s.split('.').collect();
        if tokens.len() > MAX_TOKENS || !tokens.iter().all(|t| valid_token(t)) {
            return Err(BadSubject(s));
        }
        Ok(Subject(s))
    }

    /// `momo.room.{room}.{kind}`; the room id must be one token.
    pub fn room(room: &str, kind: &str) -> Result<Subject, BadSubject> {
        one_token(room)?;
        Subject::new(format!("momo.room.{room}.{kind}"))
    }

    /// `momo.user.{user}.{kind}`.
    pub fn user(user: i64, kind: &str) -> Result<Subject, BadSubject> {
        Subject::new(format!("momo.user.{user}.{kind}"))
    }

    /// `momo.ctx.{context}.{kind}`; the context's name must be one token.
    pub fn context(context: &str, kind: &str) -> Result<Subject, BadSubject> {
        one_token(context)?;
        Subject::new(format!("momo.ctx.{context}.{kind}"))
    }

    /// `momo.room.{room}.{kind}` for a numeric room id and a kind written in code (one
    /// token; checked in debug builds).
    pub fn of_room(room: i64, kind: &'static str) -> Subject {
        debug_assert!(valid_token(kind), "{kind:?} is not one token");
        Subject(format!("momo.room.{room}.{kind}"))
    }

    /// `momo.user.{user}.{kind}` for a kind written in code.
    pub fn of_user(user: i64, kind: &'static str) -> Subject {
        debug_assert!(valid_token(kind), "{kind:?} is not one token");
        Subject(format!("momo.user.{user}.{kind}"))
    }

    /// `momo.ctx.{context}.{kind}` for names written in code.
    pub fn of_context(context: &'static str, kind: &'static str) -> Subject {
        debug_assert!(valid_token(context) && valid_token(kind));
        Subject(format!("momo.ctx.{context}.{kind}"))
    }

    /// The id a `momo.room.{id}.…` or `momo.user.{id}.…` subject is about, when it is a
    /// number.
    pub fn numeric_id(&self) -> Option<i64> {
        let mut tokens = self.0.split('.');
        match (tokens.next(), tokens.next()) {
            (Some("momo"), Some("room" | "user")) => tokens.next()?.parse().ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a subscription listens to: a subject, or one with wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Token {
    Literal(String),
    /// `*`: any one token.
    One,
    /// `>`: one or more tokens, to the end.
    Rest,
}

impl Pattern {
    /// Checks `s` (wildcards allowed: `*` anywhere, `>` last) and makes it a pattern.
    pub fn new(s: impl Into<String>) -> Result<Pattern, BadSubject> {
        let text = s.into();
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() > MAX_TOKENS {
            return Err(BadSubject(text));
        }
        let mut tokens = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            tokens.push(match *p {
                "*" => Token::One,
                ">" if i == parts.len() - 1 => Token::Rest,
                t if valid_token(t) => Token::Literal(t.to_owned()),
                _ => return Err(BadSubject(text)),
            });
        }
        Ok(Pattern { text, tokens })
    }

    /// `momo.room.{room}.>`: everything about one room.
    pub fn room(room: &str) -> Result<Pattern, BadSubject> {
        one_token(room)?;
        Pattern::new(format!("momo.room.{room}.>"))
    }

    /// `momo.user.{user}.>`: everything about one account.
    pub fn user(user: i64) -> Result<Pattern, BadSubject> {
        Pattern::new(format!("momo.user.{user}.>"))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `subject` is one this pattern listens to.
    pub fn matches(&self, subject: &Subject) -> bool {
        let mut parts = subject.as_str().split('.');
        for token in &self.tokens {
            match token {
                Token::Rest => return parts.next().is_some(),
                Token::One => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                Token::Literal(want) => {
                    if parts.next() != Some(want.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }
}

impl From<&Subject> for Pattern {
    fn from(s: &Subject) -> Pattern {
        Pattern {
            text: s.0.clone(),
            tokens: s
                .0
                .split('.')
                .map(|t| Token::Literal(t.to_owned()))
                .collect(),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subject {
        Subject::new(x).unwrap()
    }

    #[test]
    fn ids_are_read_back_from_room_and_user_subjects() {
        assert_eq!(Subject::of_room(7, "gift").as_str(), "momo.room.7.gift");
        assert_eq!(Subject::of_room(7, "gift").numeric_id(), Some(7));
        assert_eq!(Subject::of_user(-3, "banned").numeric_id(), Some(-3));
        assert_eq!(Subject::of_context("talk", "x").numeric_id(), None);
        assert_eq!(s("momo.room.abc.gift").numeric_id(), None);
        assert_eq!(s("other.room.7.gift").numeric_id(), None);
    }

    #[test]
    fn subjects_follow_natss_rules() {
        assert_eq!(
            Subject::room("7", "gift").unwrap().as_str(),
            "momo.room.7.gift"
        );
        assert_eq!(
            Subject::user(42, "banned").unwrap().as_str(),
            "momo.user.42.banned"
        );
        for bad in [
            "",
            "a..b",
            "a.",
            ".a",
            "a b",
            "a.*",
            "a.>",
            "é",
            &"x".repeat(65),
        ] {
            assert!(Subject::new(bad).is_err(), "{bad:?}");
        }
        // A room id with a dot would add a token: refused, not misrouted.
        assert!(Subject::room("7.8", "gift").is_err());
        assert!(Pattern::room("*").is_err());
        assert!(Subject::new(vec!["a"; 17].join(".")).is_err());
    }

    #[test]
    fn patterns_match_as_nats_does() {
        let room = Pattern::room("7").unwrap();
        assert!(room.matches(&s("momo.room.7.gift")));
        assert!(room.matches(&s("momo.room.7.chat.recalled")));
        assert!(
            !room.matches(&s("momo.room.7")),
            "> needs at least one token"
        );
        assert!(!room.matches(&s("momo.room.70.gift")));
        let any_gift = Pattern::new("momo.room.*.gift").unwrap();
        assert!(any_gift.matches(&s("momo.room.1.gift")));
        assert!(!any_gift.matches(&s("momo.room.1.gift.x")));
        assert!(!any_gift.matches(&s("momo.user.1.gift")));
        let exact = Pattern::from(&s("momo.ctx.videos.feed"));
        assert!(exact.matches(&s("momo.ctx.videos.feed")));
        assert!(!exact.matches(&s("momo.ctx.videos.feed.x")));
        for bad in ["a.>.b", ">>", "a.**", "a..b", ""] {
            assert!(Pattern::new(bad).is_err(), "{bad:?}");
        }
    }
}
