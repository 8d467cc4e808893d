//! The audio bridge between RTMP's AAC and WebRTC's Opus, through a supervised ffmpeg.
//!
//! Browsers speak Opus only; FLV, RTMP and HLS players AAC. Each direction runs one
//! ffmpeg process per stream, started when first needed and ended with the stream or
//! its last WebRTC viewer: packets go in on its stdin and come out on its stdout, in
//! containers simple enough to write and read here (ADTS for AAC, Ogg for Opus).
//!
//! Why ffmpeg: there is no mature pure-Rust AAC encoder, Debian's fdk-aac is
//! non-free, and ffmpeg's native AAC encoder and its libopus are what every momo
//! machine that processes videos already has. A process per stream also keeps a
//! codec's crash out of the server. The cost is measured in `docs/benchmarks.md`.
//! Without ffmpeg, WebRTC carries video only and says so once.
//!
//! - [`to_aac`]: a WHIP publisher's Opus becomes AAC for the hub.
//! - [`to_opus`]: a stream's AAC becomes Opus for its WHEP viewers, once per stream.

pub mod ogg;
pub mod opus;
pub mod to_aac;
pub mod to_opus;

use std::process::Stdio;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// What every bridge tells ffmpeg first: start at once, hold nothing back.
const LOW_DELAY: &[&str] = &[
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-fflags",
    "nobuffer",
    "-probesize",
    "32",
    "-analyzeduration",
    "0",
];

/// Chunks of input waiting for ffmpeg before more are dropped.
const INPUT_QUEUE: usize = 256;

/// A running ffmpeg: what is sent goes to its stdin; its stdout arrives on `output`.
pub(crate) struct Pipe {
    input: mpsc::Sender<Bytes>,
    pub output: mpsc::Receiver<Bytes>,
    _child: Child,
}

impl Pipe {
    /// Starts `program` with [`LOW_DELAY`] and `args`, reading stdin and writing stdout.
    pub fn start(program: &str, args: &[&str]) -> std::io::Result<Pipe> {
        let mut child = Command::new(program)
            .args(LOW_DELAY)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("ffmpeg without pipes"));
        };
        let (input, mut input_rx) = mpsc::channel::<Bytes>(INPUT_QUEUE);
        tokio::spawn(async move {
            while let Some(chunk) = input_rx.recv().await {
                if stdin.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let (output_tx, output) = mpsc::channel::<Bytes>(INPUT_QUEUE);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = stdout.read(&mut buf).await {
                if n == 0
                    || output_tx
                        .send(Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            let mut text = String::new();
            let _ = (&mut stderr).take(4096).read_to_string(&mut text).await;
            if !text.trim().is_empty() {
                tracing::warn!("audio bridge (ffmpeg): {}", text.trim());
            }
        });
        metrics::counter!("webrtc_audio_bridges_started_total").increment(1);
        Ok(Pipe {
            input,
            output,
            _child: child,
        })
    }

    /// Hands ffmpeg `chunk`; dropped (and counted) when ffmpeg is that far behind.
    pub fn send(&self, chunk: Bytes) -> bool {
        match self.input.try_send(chunk) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("webrtc_audio_dropped_total").increment(1);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Says once per process that the audio bridge cannot run.
pub(crate) fn unavailable(program: &str, e: &std::io::Error) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        tracing::warn!(
            "WebRTC audio is off: cannot run {program} ({e}); WebRTC carries video only"
        );
    });
}
