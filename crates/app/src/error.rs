//! The error type use cases return ([`api::error`]), and each context's refusals made one.
//!
//! Each context declares its refusals once, in its `errors.rs`, and makes them
//! [`Error`]s in its own crate (the shell's admin here); a test checks that every code
//! of every context is snake_case with one status.

pub use api::error::{Error, Result};

api::from_codes!(crate::admin::errors::AdminError);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use api::auth::AuthError;

    use crate::accounts::errors::IdentityError;
    use crate::admin::errors::AdminError;
    use crate::chat::errors::TalkError;
    use crate::http::errors::RequestError;
    use crate::live::errors::LiveError;
    use crate::videos::errors::VideoError;

    /// Every context's codes: (enum, code, status).
    fn all() -> Vec<(&'static str, &'static str, u16)> {
        let mut out = Vec::new();
        macro_rules! add {
            ($($e:ident),*) => {$(
                for c in $e::ALL {
                    out.push((stringify!($e), c.code(), c.status().as_u16()));
                }
            )*};
        }
        add!(
            AuthError,
            IdentityError,
            AdminError,
            TalkError,
            RequestError,
            LiveError,
            VideoError
        );
        out
    }

    #[test]
    fn codes_are_snake_case_and_one_code_means_one_status() {
        let mut status_of: HashMap<&str, u16> = HashMap::new();
        for (e, code, status) in all() {
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{e}: {code:?} is not snake_case"
            );
            // The one code answered two ways: a payment provider unknown in a body
            // (400) and in a callback's path (404).
            if code == "unknown_provider" {
                continue;
            }
            let first = *status_of.entry(code).or_insert(status);
            assert_eq!(first, status, "{code} has two statuses");
        }
    }
}
