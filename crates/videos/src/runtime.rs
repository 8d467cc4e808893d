//! What the video use cases keep in memory on a node: scroll sessions of the feed, view
//! counts waiting to be written, and which engagement notices were already sent.

use std::time::Duration;

use kit::cache::LocalCache;

use crate::feed::{FeedSessions, Graphs, HotSnapshot};
use crate::views::ViewCounter;
use api::NotificationKind;

/// How long a node remembers that an actor was notified about a target.
const NOTICE_TTL: Duration = Duration::from_secs(24 * 3600);
const NOTICE_CAPACITY: u64 = 200_000;

#[derive(Debug)]
pub struct VideoRuntime {
    pub feed_sessions: FeedSessions,
    pub feed_graphs: Graphs,
    pub hot_snapshot: HotSnapshot,
    pub views: ViewCounter,
    notices: LocalCache<(&'static str, i64, i64), ()>,
}

impl Default for VideoRuntime {
    fn default() -> Self {
        VideoRuntime {
            feed_sessions: FeedSessions::default(),
            feed_graphs: Graphs::default(),
            hot_snapshot: HotSnapshot::default(),
            views: ViewCounter::default(),
            notices: LocalCache::new("video_notices", NOTICE_CAPACITY, NOTICE_TTL),
        }
    }
}

impl VideoRuntime {
    /// True the first time (while remembered) `actor` causes a `kind` notice about
    /// `target`; false on repeats, which are not sent.
    pub fn first_notice(&self, kind: NotificationKind, actor: i64, target: i64) -> bool {
        let key = (kind.as_str(), actor, target);
        if self.notices.get(&key).is_some() {
            return false;
        }
        self.notices.insert(key, ());
        true
    }
}
