-- Group conversations, member roles and mutes, recall, and delivery positions.
--
-- A group is a conversation of kind 'group': it has a name and an owner, may be muted as a
-- whole (only the owner and admins speak), and once dissolved (dissolved_at set) is kept
-- read-only. member_count is kept in the transaction that adds or removes members, so the
-- member limit holds under concurrent invites. Membership changes are stored as messages
-- of kind 'system' in the same sequence as everything else, so a sync shows them in order.
--
-- A member's role is owner, admin or member; muted_until (ms since the epoch, 0: not
-- muted) silences one member. delivered_seq is how far the member's devices have
-- received (socket ack, op 18); read_seq how far the member has read. Neither moves back.
--
-- A recalled message keeps its seq; its kind becomes 'recalled', its content '{}', and
-- recalled_at/recalled_by say when and by whom.

ALTER TABLE conversations ADD COLUMN name TEXT;
ALTER TABLE conversations ADD COLUMN owner_id BIGINT;
ALTER TABLE conversations ADD COLUMN muted_all BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN admins_invite_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN dissolved_at BIGINT;

ALTER TABLE conversation_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE conversation_members ADD COLUMN muted_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversation_members ADD COLUMN delivered_seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN recalled_at BIGINT;
ALTER TABLE messages ADD COLUMN recalled_by BIGINT;
