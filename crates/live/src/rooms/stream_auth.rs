//! The media server's question "may this key publish?", answered from the database.

use media::server::{AuthFuture, PublishAuth, PublishRefusal};

use crate::LiveState;

/// Looks a stream key up among the rooms: a room's current key publishes as that room.
#[derive(Debug, Clone)]
pub struct DbStreamAuth(pub LiveState);

impl PublishAuth for DbStreamAuth {
    fn authorize(&self, _app: &str, key: &str) -> AuthFuture<'_> {
        let key = key.to_string();
        Box::pin(async move {
            if key.is_empty() || key.len() > 128 {
                return Err(PublishRefusal::UnknownKey);
            }
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT id, banned FROM live_rooms WHERE stream_key = $1")
                    .bind(&key)
                    .fetch_optional(self.0.store().pool())
                    .await
                    .map_err(|e| PublishRefusal::Unavailable(e.to_string()))?;
            match row {
                None => Err(PublishRefusal::UnknownKey),
                Some((_, banned)) if banned != 0 => Err(PublishRefusal::Banned),
                Some((id, _)) => Ok(id.to_string()),
            }
        })
    }
}
