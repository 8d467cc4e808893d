//! The rules of conversations and groups: in momo's config under `[chat]`, beside the
//! gateway's settings.

/// Rules of conversations and groups.
#[derive(Debug, Clone)]
pub struct ConversationSettings {
    /// How long after sending the sender may recall a message, in seconds. Group owners
    /// and admins may recall any message at any time.
    pub recall_window_secs: u64,
    /// Most members of one group, the owner included.
    pub max_group_members: i64,
    /// New conversation messages a user may send per second, over all conversations and
    /// connections (bursts of four times this).
    pub send_per_sec: u32,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        Self {
            recall_window_secs: 120,
            max_group_members: 500,
            send_per_sec: 5,
        }
    }
}
