//! Field-level validation: collect every problem, then answer once with all of them.

use std::collections::BTreeMap;

use kit::ApiError;

/// A collector of per-field problems.
#[derive(Default, Debug)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` unless `ok` (the first problem per field wins).
    pub fn check(&mut self, field: &str, ok: bool, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.0
                .entry(field.to_string())
                .or_insert_with(|| message.into());
        }
        self
    }

    /// Checks a string's length in characters, and that it holds no control characters.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        self.check(
            field,
            n >= min && n <= max,
            if min > 0 {
                format!("must be {min} to {max} characters")
            } else {
                format!("must be at most {max} characters")
            },
        );
        self.check(
            field,
            !value.chars().any(|c| c.is_control() && c != '\n'),
            "must not contain control characters",
        )
    }

    /// `Ok` when nothing was recorded, else a 400 `validation_failed` listing each field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// The longest mute or kick, in seconds: 30 days.
pub const MAX_MUTE_SECS: i64 = 30 * 24 * 3600;

/// Checks a mute or kick duration.
pub fn check_mute_duration(f: &mut Fields, field: &str, secs: i64) {
    f.check(
        field,
        (1..=MAX_MUTE_SECS).contains(&secs),
        "must be 1 to 2592000 seconds (30 days)",
    );
}
