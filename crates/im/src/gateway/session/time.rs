//! The time an input happened: the session keeps no clock of its own.

use std::time::Instant;

/// When something reached the session: the monotonic instant its deadlines are measured
/// against, and the wall clock that stamps room messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub instant: Instant,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: i64,
}

impl Now {
    /// `instant`, with the wall clock reading `unix_ms`.
    pub fn at(instant: Instant, unix_ms: i64) -> Now {
        Now { instant, unix_ms }
    }
}
