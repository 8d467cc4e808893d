//! The identity context's refusals: accounts, sign-in and tokens, profiles, the social graph.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The identity context's refusals: accounts, sign-in and tokens, profiles, the social graph.
    pub enum IdentityError {
        CsrfFailed = (FORBIDDEN, "csrf_failed", "send the momo_csrf cookie's value in the X-CSRF-Token header"),
        NoSession = (UNAUTHORIZED, "no_session", "not signed in on this browser"),
        AccountBanned = (FORBIDDEN, "account_banned", "this account is banned"),
        BlockedByUser = (FORBIDDEN, "blocked_by_user", "this user does not accept your messages"),
        CannotBlockSelf = (BAD_REQUEST, "cannot_block_self", "you cannot block yourself"),
        CannotFollowSelf = (BAD_REQUEST, "cannot_follow_self", "you cannot follow yourself"),
        InvalidCredentials = (UNAUTHORIZED, "invalid_credentials", "wrong username or password"),
        InvalidRefreshToken = (UNAUTHORIZED, "invalid_refresh_token", "unknown refresh token"),
        InvalidToken = (UNAUTHORIZED, "invalid_token", "the access token is not valid"),
        RefreshTokenExpired = (UNAUTHORIZED, "refresh_token_expired", "the refresh token has expired; sign in again"),
        RefreshTokenReused = (UNAUTHORIZED, "refresh_token_reused", "this refresh token was already used; every session from it is now signed out"),
        RefreshTokenRevoked = (UNAUTHORIZED, "refresh_token_revoked", "this session was signed out; sign in again"),
        TokenExpired = (UNAUTHORIZED, "token_expired", "the access token has expired; refresh it"),
        TokenRevoked = (UNAUTHORIZED, "token_revoked", "this access token was revoked (signed out or password changed); refresh or sign in again"),
        UserBlocked = (FORBIDDEN, "user_blocked", "you block this user; unblock them first"),
        UserNotFound = (NOT_FOUND, "user_not_found", "no such user"),
        UsernameTaken = (CONFLICT, "username_taken", "that username is taken"),
        WrongPassword = (FORBIDDEN, "wrong_password", "the old password is wrong"),
    }
}

api::from_codes!(IdentityError);
