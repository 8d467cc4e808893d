//! The console's refusals.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The console's refusals.
    pub enum AdminError {
        ActionNotApplicable = (UNPROCESSABLE_ENTITY, "action_not_applicable", "a user can be banned or the report dismissed, not hidden or deleted"),
        CannotBanSelf = (BAD_REQUEST, "cannot_ban_self", "you cannot ban yourself"),
        CannotDemoteSelf = (BAD_REQUEST, "cannot_demote_self", "you cannot demote yourself"),
        InvalidStatus = (BAD_REQUEST, "invalid_status", "status must be open, hidden, deleted, dismissed, banned or all"),
        ReportAlreadyResolved = (CONFLICT, "report_already_resolved", "this report was already decided"),
        ReportNotFound = (NOT_FOUND, "report_not_found", "no such report"),
        TargetNotFound = (NOT_FOUND, "target_not_found", "the reported target is gone"),
        WordExists = (CONFLICT, "word_exists", "this word is listed already"),
        WordNotFound = (NOT_FOUND, "word_not_found", "no such word"),
    }
}
