//! `POST /api/v1/rooms/{id}/gifts`: send a gift to a live room's anchor.
//!
//! One database transaction takes the coins from the sender (refused with 402 when there
//! are too few), mints the anchor's diamonds at the configured rate, records the gift,
//! adds it to the room's and the anchor's rankings, and stores the answer under the
//! sender's idempotency key: a retry is answered the same and charged nothing. The room
//! and the gift are read through [`lookup`]'s caches, so the transaction is the only
//! database work. After the commit the gift is announced to the room ([`GiftGiven`] on
//! the bus; the room's chat shows op 1000, `{"type": "gift", ...}`) and counted towards
//! the anchor's next gift notice ([`notices`](crate::gifts::notices)).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::gifts::batch::NewGift;
use crate::gifts::catalogue::{self, GiftView};
use crate::gifts::events::{GiftGiven, Sender, SenderProfile};
use crate::gifts::{lookup, rankings};
use crate::rooms::errors::LiveError;
use crate::wallet::ledger;
use crate::LiveState;
use api::error::Result;
use api::http::errors::RequestError;
use api::http::{Auth, Body, Fields, IdPath};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendGift {
    pub gift_id: i64,
    /// How many, 1 to `max_gift_count` (9999 by default).
    pub count: i64,
    /// The sender's key for this request (1–64 characters); a retry with the same key
    /// gets the first answer and is not charged again.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GiftSent {
    /// The gift event's id.
    pub id: i64,
    pub txn_id: i64,
    pub room_id: i64,
    pub sender_id: i64,
    pub anchor_id: i64,
    pub gift_id: i64,
    pub count: i64,
    /// Coins taken from the sender.
    pub coins: i64,
    /// Diamonds given to the anchor.
    pub diamonds: i64,
    /// The sender's coins left.
    pub coins_left: i64,
    pub created_at: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/rooms/{id}/gifts",
    tag = "gifts",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    request_body = SendGift,
    responses(
        (status = 201, description = "Sent", body = GiftSent),
        (status = 200, description = "Already sent under this key; nothing charged", body = GiftSent),
        (status = 400, description = "Bad count or key (`validation_failed`), or a gift to oneself (`cannot_gift_self`)", body = kit::error::ErrorBody),
        (status = 402, description = "Too few coins (`insufficient_coins`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room or gift (`room_not_found`, `gift_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "The room is not live (`room_offline`), or the key was used for another request (`idempotency_key_reused`)", body = kit::error::ErrorBody),
    )
)]
pub async fn send_gift(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(room_id): IdPath,
    Body(req): Body<SendGift>,
) -> Result<(StatusCode, Json<GiftSent>)> {
    let economy = &state.settings().economy;
    let mut f = Fields::new();
    f.check(
        "count",
        (1..=economy.max_gift_count).contains(&req.count),
        format!("must be 1 to {}", economy.max_gift_count),
    );
    ledger::check_key(&mut f, &req.idempotency_key);
    f.finish()?;
    let me = auth.user_id;
    let fingerprint = format!("gift:{room_id}:{}:{}", req.gift_id, req.count);
    let refused = |e: ApiError| async {
        // A retry gets its first answer even if the room has gone offline since.
        match ledger::replay(state.store(), me, &req.idempotency_key, &fingerprint).await {
            Ok(Some(first)) => Ok((StatusCode::OK, Json(first))),
            Ok(None) => Err(e.into()),
            Err(other) => Err(other),
        }
    };
    let Some(room) = lookup::room(&state, room_id).await? else {
        return refused(ApiError::from(LiveError::RoomNotFound)).await;
    };
    let (anchor, session) = (room.owner_id, room.session_id);
    if anchor == me {
        return refused(ApiError::from(LiveError::CannotGiftSelf)).await;
    }
    if !room.live || room.banned {
        return refused(ApiError::from(LiveError::RoomOffline)).await;
    }
    let Some(gift) = lookup::gift(&state, req.gift_id)
        .await?
        .filter(|g| g.active != 0)
    else {
        return refused(catalogue::not_found()).await;
    };
    let coins = gift
        .price_coins
        .checked_mul(req.count)
        .ok_or_else(|| RequestError::ValidationFailed.with_message("count is too large"))?;
    let diamonds = coins * economy.diamond_rate_percent as i64 / 100;
    let memo = format!("{} x{} in room {room_id}", gift.name, req.count);
    let periods = rankings::periods(
        kit::time::now_ms(),
        economy.ranking_utc_offset_minutes,
        session,
    );
    let (status, sent) = state
        .gift_writer()
        .write(NewGift {
            sender: me,
            anchor,
            room_id,
            session,
            gift_id: gift.id,
            count: req.count,
            coins,
            diamonds,
            key: req.idempotency_key.clone(),
            fingerprint,
            memo,
            periods,
        })
        .await?;
    if status == StatusCode::OK {
        return Ok((status, Json(sent)));
    }
    metrics::counter!("gifts_sent_total").increment(1);
    metrics::counter!("gift_coins_total").increment(coins as u64);
    state.gift_notices().add(crate::gifts::notices::Received {
        anchor,
        sender: me,
        gift_id: gift.id,
        gift_name: &gift.name,
        room_id,
        count: req.count,
        coins,
        diamonds,
    });
    announce(&state, &sent, gift.into()).await;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// Tells the room that the gift was sent ([`GiftGiven`], at most once).
async fn announce(state: &LiveState, sent: &GiftSent, gift: GiftView) {
    let profile = match state.directory().profile(sent.sender_id).await {
        Ok(u) => Some(SenderProfile {
            nickname: u.nickname,
            avatar_url: u.avatar_url,
        }),
        Err(_) => None,
    };
    let given = GiftGiven {
        room_id: sent.room_id,
        sender: Sender {
            id: sent.sender_id,
            profile,
        },
        gift,
        count: sent.count,
        coins: sent.coins,
        created_at: sent.created_at,
    };
    api::events::publish(state.bus(), &given).await;
}
