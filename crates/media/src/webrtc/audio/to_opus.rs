//! A stream's AAC to Opus for its WHEP viewers, once per stream: the bridge is a
//! consumer of the hub's stream (not a viewer), started by the stream's first WebRTC
//! viewer that takes audio and stopped when its last one leaves. AAC frames go to
//! ffmpeg as ADTS, libopus encodes 20 ms packets, and each packet read back from
//! ffmpeg's Ogg output is timed on the stream's timeline: the first AAC frame's time
//! plus the samples before it, less the encoder's pre-skip — the same clock the video
//! is sent on, so a player lines the two up from the sender reports.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::{broadcast, oneshot};

use super::ogg::{OggReader, OPUS_RATE};
use super::{opus, Pipe};
use crate::flv::{AudioCodec, AudioSpecificConfig, AudioTag};
use crate::frame::FrameKind;
use crate::hub::Subscription;
use crate::ts::adts;

/// ffmpeg's part: ADTS in, 20 ms Opus packets out, a page each, nothing buffered.
const ARGS: &[&str] = &[
    "-f",
    "aac",
    "-i",
    "pipe:0",
    "-ac",
    "2",
    "-ar",
    "48000",
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
    "-application",
    "lowdelay",
    "-frame_duration",
    "20",
    "-flush_packets",
    "1",
    "-page_duration",
    "20000",
    "-f",
    "ogg",
    "pipe:1",
];

/// Opus packets a slow viewer may fall behind before it skips ahead.
const FANOUT: usize = 64;

/// One Opus packet for the stream's WebRTC viewers.
#[derive(Debug, Clone)]
pub struct OpusPacket {
    /// Where it starts on the stream's timeline (ms).
    pub pts_ms: u64,
    /// The packet, which is the RTP payload every viewer shares.
    pub data: Arc<[u8]>,
}

/// A running bridge; dropping the last handle stops it.
pub struct AudioBridge {
    packets: broadcast::Sender<Arc<OpusPacket>>,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for AudioBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioBridge").finish_non_exhaustive()
    }
}

impl AudioBridge {
    /// Starts bridging `sub`'s AAC through `program` (ffmpeg).
    pub fn start(program: &str, sub: Subscription) -> Arc<AudioBridge> {
        let (packets, _) = broadcast::channel(FANOUT);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(program.to_owned(), sub, packets.clone(), stopped));
        Arc::new(AudioBridge {
            packets,
            _stop: stop,
        })
    }

    /// The Opus packets from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OpusPacket>> {
        self.packets.subscribe()
    }
}

/// The bridge's state between ffmpeg runs.
struct Encoding {
    pipe: Pipe,
    /// The first AAC frame's time (ms).
    base_ms: u64,
    ogg: OggReader,
    /// Header packets seen (`OpusHead`, `OpusTags`).
    headers: u8,
    pre_skip: u64,
    samples: u64,
}

async fn run(
    program: String,
    mut sub: Subscription,
    packets: broadcast::Sender<Arc<OpusPacket>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut asc: Option<AudioSpecificConfig> = None;
    let mut encoding: Option<Encoding> = None;
    let mut adts_buf = BytesMut::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            packet = sub.rx.recv() => {
                let Some(packet) = packet else { break };
                let frame = &packet.frame;
                if frame.kind != FrameKind::Audio {
                    continue;
                }
                let Ok(tag) = AudioTag::parse(&frame.payload) else { continue };
                if tag.codec != AudioCodec::Aac {
                    continue;
                }
                if tag.is_sequence_header() {
                    asc = AudioSpecificConfig::parse(tag.data)
                        .ok()
                        .filter(|a| adts::check_config(a).is_ok());
                    continue;
                }
                let Some(asc) = &asc else { continue };
                let Ok(header) = adts::header(asc, tag.data.len()) else { continue };
                if encoding.is_none() {
                    match Pipe::start(&program, ARGS) {
                        Ok(pipe) => {
                            encoding = Some(Encoding {
                                pipe,
                                base_ms: u64::from(frame.timestamp),
                                ogg: OggReader::new(),
                                headers: 0,
                                pre_skip: 0,
                                samples: 0,
                            })
                        }
                        Err(e) => {
                            super::unavailable(&program, &e);
                            // Nothing to give the viewers; keep the subscription quiet.
                            let _ = stopped.await;
                            break;
                        }
                    }
                }
                adts_buf.extend_from_slice(&header);
                adts_buf.extend_from_slice(tag.data);
                let chunk = adts_buf.split().freeze();
                if let Some(e) = &encoding {
                    if !e.pipe.send(chunk) {
                        encoding = None;
                    }
                }
            }
            out = output(&mut encoding) => match out {
                Some(chunk) => {
                    if let Some(e) = &mut encoding {
                        if !e.read(&chunk, &packets) {
                            encoding = None;
                        }
                    }
                }
                None => {
                    tracing::warn!(stream = sub.stream().key(), "the WebRTC audio bridge's ffmpeg ended; starting another");
                    encoding = None;
                }
            },
        }
    }
}

/// ffmpeg's next output, pending while none runs.
async fn output(encoding: &mut Option<Encoding>) -> Option<Bytes> {
    match encoding {
        Some(e) => e.pipe.output.recv().await,
        None => std::future::pending().await,
    }
}

impl Encoding {
    /// Reads ffmpeg's Ogg output and sends each Opus packet; false when it is not Ogg.
    fn read(&mut self, chunk: &[u8], packets: &broadcast::Sender<Arc<OpusPacket>>) -> bool {
        self.ogg.push(chunk);
        loop {
            let page = match self.ogg.next_page() {
                Ok(Some((page, _granule))) => page,
                Ok(None) => return true,
                Err(e) => {
                    tracing::warn!("the WebRTC audio bridge's output: {e}");
                    return false;
                }
            };
            for data in page {
                if self.headers < 2 {
                    if data.starts_with(b"OpusHead") && data.len() >= 12 {
                        self.pre_skip = u64::from(u16::from_le_bytes([data[10], data[11]]));
                    }
                    self.headers += 1;
                    continue;
                }
                let Some(n) = opus::samples(&data) else {
                    continue;
                };
                let played = self.samples.saturating_sub(self.pre_skip);
                let pts_ms = self.base_ms + played * 1000 / u64::from(OPUS_RATE);
                self.samples += u64::from(n);
                // Nobody listening is fine: viewers come and go.
                let data = Arc::from(&data[..]);
                let _ = packets.send(Arc::new(OpusPacket { pts_ms, data }));
            }
        }
    }
}
