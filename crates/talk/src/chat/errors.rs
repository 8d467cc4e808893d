//! The talk context's refusals: conversations and groups.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The talk context's refusals: conversations and groups.
    pub enum TalkError {
        BlockedByUser = (FORBIDDEN, "blocked_by_user", "this user does not accept your messages"),
        UserBlocked = (FORBIDDEN, "user_blocked", "you block this user; unblock them first"),
        CannotMessageSelf = (BAD_REQUEST, "cannot_message_self", "you cannot message yourself"),
        CannotModerateGroupAdmin = (FORBIDDEN, "cannot_moderate_group_admin", "an admin cannot kick or mute another admin"),
        CannotModerateOwner = (FORBIDDEN, "cannot_moderate_owner", "the group's owner cannot be kicked or muted"),
        CannotModerateSelf = (BAD_REQUEST, "cannot_moderate_self", "you cannot do this to yourself"),
        CannotRecall = (FORBIDDEN, "cannot_recall", "you may recall only your own messages"),
        ConversationNotFound = (NOT_FOUND, "conversation_not_found", "no such conversation"),
        GroupDissolved = (CONFLICT, "group_dissolved", "this group was dissolved; it can be read but not changed"),
        GroupFull = (CONFLICT, "group_full", "group full"),
        GroupMuted = (FORBIDDEN, "group_muted", "the whole group is muted: only its owner and admins may speak"),
        MemberNotFound = (NOT_FOUND, "member_not_found", "this user is not in the group"),
        MessageNotFound = (NOT_FOUND, "message_not_found", "no such message"),
        Muted = (FORBIDDEN, "muted", "you are muted in this group"),
        NotGroupAdmin = (FORBIDDEN, "not_group_admin", "only the group's owner and admins may do this"),
        NotGroupOwner = (FORBIDDEN, "not_group_owner", "only the group's owner may do this"),
        OwnerCannotLeave = (CONFLICT, "owner_cannot_leave", "hand ownership to a member first, or dissolve the group"),
        RecallWindowPassed = (CONFLICT, "recall_window_passed", "recall window passed"),
    }
}

api::from_codes!(TalkError);
