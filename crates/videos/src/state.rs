//! What the video use cases share: the store, the `[videos]` settings, where files are
//! kept, ffmpeg's turns, the recordings of this node and the feed's memory, plus what
//! they ask of the rest of momo (the job queue, the bus, the media hub, [`Directory`]).

use std::sync::{Arc, OnceLock};

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;
use store::Store;

use crate::process::WorkSlots;
use crate::replays::Recorders;
use crate::runtime::VideoRuntime;
use crate::storage::Files;
use crate::VideoSettings;

/// The videos context's state. Cheap to clone; the shell keeps one and hands it to the
/// routes through axum's `FromRef`.
#[derive(Clone, Debug)]
pub struct VideosState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    settings: VideoSettings,
    files: Files,
    work: WorkSlots,
    recorders: Recorders,
    runtime: VideoRuntime,
    jobs: jobs::Queue,
    bus: Arc<dyn bus::Bus>,
    media: OnceLock<Arc<media::hub::Hub>>,
    directory: Directory,
    proxies: TrustedProxies,
    public_base: String,
}

/// What the context is built from.
pub struct Parts {
    pub store: Store,
    pub settings: VideoSettings,
    pub files: Files,
    pub jobs: jobs::Queue,
    pub bus: Arc<dyn bus::Bus>,
    pub directory: Directory,
    pub proxies: TrustedProxies,
    /// Where clients reach this node's HTTP (`live.public_http_url`); `None`: the
    /// files' URLs are relative to the API's.
    pub public_http_url: Option<String>,
}

impl VideosState {
    pub fn new(parts: Parts) -> VideosState {
        VideosState(Arc::new(Inner {
            store: parts.store,
            settings: parts.settings,
            files: parts.files,
            work: WorkSlots::new(1),
            recorders: Recorders::default(),
            runtime: VideoRuntime::default(),
            jobs: parts.jobs,
            bus: parts.bus,
            media: OnceLock::new(),
            directory: parts.directory,
            proxies: parts.proxies,
            public_base: (parts.public_http_url.as_deref().unwrap_or(""))
                .trim_end_matches('/')
                .to_owned(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn settings(&self) -> &VideoSettings {
        &self.0.settings
    }

    /// Where video files are kept.
    pub fn files(&self) -> &Files {
        &self.0.files
    }

    /// Turns for running ffmpeg, so that processing never takes every core.
    pub fn video_work(&self) -> &WorkSlots {
        &self.0.work
    }

    /// The live sessions this node is recording.
    pub fn recorders(&self) -> &Recorders {
        &self.0.recorders
    }

    /// What the video use cases keep in memory on this node.
    pub fn video_runtime(&self) -> &VideoRuntime {
        &self.0.runtime
    }

    /// The durable job queue (processing, purges, the upload sweep).
    pub fn jobs(&self) -> &jobs::Queue {
        &self.0.jobs
    }

    /// The event bus.
    pub fn bus(&self) -> &dyn bus::Bus {
        &*self.0.bus
    }

    /// Identity, as the other contexts ask it: follows, existence, notifications.
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }

    /// The base of the files' URLs, without a trailing `/` (empty: relative).
    pub fn public_base(&self) -> &str {
        &self.0.public_base
    }

    /// Connects this node's media hub, whose streams replays record.
    pub fn set_media(&self, hub: Arc<media::hub::Hub>) {
        let _ = self.0.media.set(hub);
    }

    /// The media hub, if this node runs one.
    pub fn media(&self) -> Option<&Arc<media::hub::Hub>> {
        self.0.media.get()
    }
}

impl FromRef<VideosState> for Directory {
    fn from_ref(state: &VideosState) -> Directory {
        state.0.directory.clone()
    }
}

impl FromRef<VideosState> for TrustedProxies {
    fn from_ref(state: &VideosState) -> TrustedProxies {
        state.0.proxies.clone()
    }
}
