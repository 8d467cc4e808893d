//! The rules a username, password and nickname must follow.

use api::http::Fields;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const NICKNAME_MAX: usize = 32;

/// 3–32 ASCII letters, digits or `_`.
pub fn check_username(f: &mut Fields, username: &str) {
    f.check(
        "username",
        (USERNAME_MIN..=USERNAME_MAX).contains(&username.len())
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "must be 3 to 32 letters, digits or underscores",
    );
}

/// 8–128 characters.
pub fn check_password(f: &mut Fields, field: &str, password: &str) {
    let n = password.chars().count();
    f.check(
        field,
        (PASSWORD_MIN..=PASSWORD_MAX).contains(&n),
        "must be 8 to 128 characters",
    );
}

/// 1–32 characters with something visible in them.
pub fn check_nickname(f: &mut Fields, nickname: &str) {
    f.text("nickname", nickname, 1, NICKNAME_MAX);
    f.check("nickname", !nickname.trim().is_empty(), "must not be blank");
}

/// The key a username is unique by, and searched by.
pub fn key(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["abc", "a_b_9", &"x".repeat(32)] {
            let mut f = Fields::new();
            check_username(&mut f, ok);
            assert!(f.finish().is_ok(), "{ok}");
        }
        for bad in ["ab", "has space", "ünï", "a;DROP", &"x".repeat(33), ""] {
            let mut f = Fields::new();
            check_username(&mut f, bad);
            assert!(f.finish().is_err(), "{bad}");
        }
    }
}
