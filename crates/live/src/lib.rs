//! The live context: rooms and their streams ([`rooms`]: keys, sessions, room admins,
//! mutes and kicks, cuts), gifts ([`gifts`]: the catalogue, sending one, the anchors'
//! notices, rankings) and the coin wallet ([`wallet`]: the ledger, recharges, payments,
//! withdrawals). It owns its routes, its state ([`LiveState`]) and its SQL; it asks
//! identity through [`api::Directory`] and tells the others with events on the bus
//! (`RoomWentLive`, `GiftGiven`, `StreamCut`, …).

pub mod gifts;
pub mod rooms;
pub mod wallet;
pub mod webrtc;

mod settings;
mod state;

pub use settings::{EconomySettings, LiveSettings, RechargePackage, Settings, WebRtcSettings};
pub use state::{LiveState, Parts};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use utoipa_axum::router::OpenApiRouter;

/// The context's routes, for any state that holds a [`LiveState`] and what the shared
/// extractors read.
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    LiveState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .merge(rooms::routes())
        .merge(wallet::routes())
        .merge(gifts::routes())
        .merge(webrtc::routes())
}
