//! The web pages' refusals.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The web pages' refusals.
    pub enum WebError {
        CsrfFailed = (FORBIDDEN, "csrf_failed", "send the momo_csrf cookie's value in the X-CSRF-Token header"),
        NoSession = (UNAUTHORIZED, "no_session", "not signed in on this browser"),
    }
}
