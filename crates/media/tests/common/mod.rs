//! What the media tests share: the sample, a deadline, and a server on ephemeral ports.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use media::client::rtmp::RtmpPublisher;
use media::flv;
use media::frame::Frame;
use media::hub::{Hub, HubConfig, Origins, PullConfig, StreamConfig};
use media::server::{self, RtmpConfig, StaticKeys};
use tokio::net::TcpListener;
use tokio::time::timeout;

pub mod webrtc;

pub const SAMPLE: &[u8] = include_bytes!("../fixtures/sample.flv");
pub const KEY: &str = "secret-key";
pub const ROOM: &str = "42";

pub fn sample() -> Vec<Frame> {
    flv::read_all(SAMPLE).expect("the sample is valid FLV").1
}

/// Awaits `future`, failing the test if it takes longer than `secs`.
pub async fn within<T>(secs: f64, what: &str, future: impl std::future::Future<Output = T>) -> T {
    timeout(Duration::from_secs_f64(secs), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {secs} s"))
}

// ---- The server ----

pub struct Server {
    pub rtmp: SocketAddr,
    pub http: SocketAddr,
    pub hub: Arc<Hub>,
}

impl Server {
    /// The RTMP server and the HTTP routes over one hub; one key publishes room 42.
    pub async fn start(hub: HubConfig, rtmp: RtmpConfig) -> Server {
        Server::start_edge(hub, rtmp, None).await
    }

    /// [`Server::start`] for a node that pulls streams it does not have from `origins`.
    pub async fn start_edge(
        hub: HubConfig,
        rtmp: RtmpConfig,
        origins: Option<(Arc<dyn Origins>, PullConfig)>,
    ) -> Server {
        let hub = Hub::new(hub);
        if let Some((origins, config)) = origins {
            hub.set_origins(origins, config);
        }
        let auth = Arc::new(StaticKeys(vec![(KEY.into(), ROOM.into())]));
        let rtmp_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            rtmp: rtmp_listener.local_addr().unwrap(),
            http: http_listener.local_addr().unwrap(),
            hub: hub.clone(),
        };
        tokio::spawn(server::rtmp::serve(
            rtmp_listener,
            hub.clone(),
            auth,
            rtmp,
            std::future::pending(),
        ));
        // As momo serves them: fresh HTTP-FLV connections by the sniffing listener, the
        // rest by the HTTP server.
        let outputs = server::http::Outputs::new(hub, None, server::DEFAULT_VIEWER_FLUSH);
        let listener = server::flv_direct::SniffingListener::new(
            http_listener,
            outputs.clone(),
            std::time::Duration::from_secs(30),
            None,
        );
        tokio::spawn(async move { axum::serve(listener, outputs.routes()).await });
        server
    }

    pub async fn default() -> Server {
        Server::start(HubConfig::default(), RtmpConfig::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.http)
    }

    pub async fn publisher(&self) -> RtmpPublisher {
        RtmpPublisher::connect(self.rtmp, "live", KEY)
            .await
            .expect("the key publishes")
    }
}

/// A hub whose streams end `grace` after their publisher leaves, with one-second HLS
/// segments so a playlist appears soon.
pub fn hub_config(grace: Duration) -> HubConfig {
    HubConfig {
        grace,
        stream: StreamConfig {
            hls_target_ms: 1000,
            ..StreamConfig::default()
        },
    }
}

/// Publishes the sample to `server` in real time, over and over (timestamps keep
/// rising), until the task is dropped.
pub fn publish_forever(publisher: RtmpPublisher) -> tokio::task::JoinHandle<()> {
    let frames = sample();
    let span = frames.last().map_or(0, |f| f.timestamp) + 40;
    tokio::spawn(async move {
        let mut publisher = publisher;
        for round in 0u32.. {
            for f in &frames {
                let frame = Frame {
                    timestamp: f.timestamp + round * span,
                    ..f.clone()
                };
                if publisher.send_paced(&frame).await.is_err() {
                    return;
                }
            }
        }
    })
}
