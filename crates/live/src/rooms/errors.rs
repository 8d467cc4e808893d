//! The live context's refusals: rooms, gifts, the wallet and its ledger.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The live context's refusals: rooms, gifts, the wallet and its ledger.
    pub enum LiveError {
        UserNotFound = (NOT_FOUND, "user_not_found", "no such user"),
        AlreadyDecided = (CONFLICT, "already_decided", "this withdrawal was already decided"),
        AlreadyProcessed = (CONFLICT, "already_processed", "this payment was already recorded; nothing was credited again"),
        AmountMismatch = (BAD_REQUEST, "amount_mismatch", "the amount paid differs from the order's"),
        BadSignature = (UNAUTHORIZED, "bad_signature", "the callback's signature is not valid"),
        CallbackExpired = (UNAUTHORIZED, "callback_expired", "the callback's timestamp is outside the accepted window"),
        CannotGiftSelf = (BAD_REQUEST, "cannot_gift_self", "you cannot send gifts to your own room"),
        CannotModerateOwner = (FORBIDDEN, "cannot_moderate_owner", "the room's owner cannot be muted or kicked in their room"),
        CannotModerateRoomAdmin = (FORBIDDEN, "cannot_moderate_room_admin", "only the owner may mute or kick a room admin"),
        CannotModerateSelf = (BAD_REQUEST, "cannot_moderate_self", "you cannot do this to yourself"),
        GiftNotFound = (NOT_FOUND, "gift_not_found", "no such gift"),
        GiftNameTaken = (CONFLICT, "gift_name_taken", "another gift on sale has this name"),
        IdempotencyKeyReused = (CONFLICT, "idempotency_key_reused", "this idempotency key was used for a different request"),
        InsufficientCoins = (PAYMENT_REQUIRED, "insufficient_coins", "not enough coins; recharge first"),
        InsufficientDiamonds = (PAYMENT_REQUIRED, "insufficient_diamonds", "not enough diamonds"),
        InvalidCallback = (BAD_REQUEST, "invalid_callback", "invalid callback"),
        InvalidOrder = (BAD_REQUEST, "invalid_order", "order must be hot (live rooms) or new"),
        InvalidPeriod = (BAD_REQUEST, "invalid_period", "anchor rankings are by day, week or all"),
        InvalidState = (BAD_REQUEST, "invalid_state", "state must be pending, paid, rejected or all"),
        InvalidStatus = (BAD_REQUEST, "invalid_status", "status must be live or all"),
        NotRoomAdmin = (FORBIDDEN, "not_room_admin", "only the room's owner and admins may do this"),
        NotRoomOwner = (FORBIDDEN, "not_room_owner", "only the room's owner (or a platform admin) may do this"),
        OrderClosed = (CONFLICT, "order_closed", "this order was closed unpaid; make a new one"),
        OrderNotFound = (NOT_FOUND, "order_not_found", "no such recharge order"),
        OwnerIsNotAdmin = (BAD_REQUEST, "owner_is_not_admin", "the owner already has every power in the room"),
        ProviderNotFound = (NOT_FOUND, "unknown_provider", "no such payment provider"),
        RoomNotFound = (NOT_FOUND, "room_not_found", "no such room"),
        RoomOffline = (CONFLICT, "room_offline", "the room is not live; gifts go to live rooms"),
        UnknownPackage = (BAD_REQUEST, "unknown_package", "no such recharge package"),
        UnknownProvider = (BAD_REQUEST, "unknown_provider", "no such payment provider"),
        WithdrawalNotFound = (NOT_FOUND, "withdrawal_not_found", "no such withdrawal"),
    }
}

api::from_codes!(LiveError);
