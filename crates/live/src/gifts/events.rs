//! What the gifts context tells the others, on `momo.room.{id}.…`.

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

use crate::gifts::catalogue::GiftView;

/// A gift was sent in a room (after the commit): the room's chat shows it. At most
/// once: a viewer who missed an announcement sees the gift in the rankings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftGiven {
    pub room_id: i64,
    pub sender: Sender,
    pub gift: GiftView,
    pub count: i64,
    pub coins: i64,
    pub created_at: i64,
}

/// Who sent it, as the room shows them (just the id when the profile cannot be read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    pub id: i64,
    #[serde(flatten)]
    pub profile: Option<SenderProfile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SenderProfile {
    pub nickname: String,
    pub avatar_url: Option<String>,
}

impl Event for GiftGiven {
    const KIND: &'static str = "gift_given";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "gift")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_without_a_profile_is_just_an_id() {
        let s = Sender {
            id: 4,
            profile: None,
        };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"id":4}"#);
        let s = Sender {
            id: 4,
            profile: Some(SenderProfile {
                nickname: "amy".into(),
                avatar_url: None,
            }),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"id":4,"nickname":"amy","avatar_url":null}"#);
        assert_eq!(serde_json::from_str::<Sender>(&text).unwrap(), s);
        let bare: Sender = serde_json::from_str(r#"{"id":4}"#).unwrap();
        assert_eq!(bare.profile, None);
    }
}
