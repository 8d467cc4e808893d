//! The publish path of one live stream with N viewers, measured without sockets.
//!
//! One thread publishes an FLV file's frames (looped, timestamps carried on) into a hub
//! stream as fast as it can, with `--viewers` viewers subscribed; their queues are
//! drained after each frame, outside the timed part. Two figures per frame: how long
//! `publish` takes, and how long after it was called the last viewer has the frame in
//! its queue (the viewer's queue wakes a waker that notes the time, inside the fan-out,
//! on the same thread: no scheduling in the figure). Until the last viewer has it, the
//! stream's lock is held, so the second figure is also about how long a viewer joining
//! or leaving, a viewer count or the audience figure may have to wait.
//!
//! ```sh
//! cargo run --release -p media --example fanout -- --viewers 1000 --frames 20000 --file stream.flv
//! ```
//!
//! It prints one line of `key=value` figures: the mean nanoseconds per published frame,
//! and the time until the last viewer has a frame (mean, p50, p99, max, microseconds).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use media::frame::Frame;
use media::hub::{Hub, HubConfig, Protocol};

struct Args {
    viewers: usize,
    frames: usize,
    file: String,
}

fn args() -> Args {
    let mut args = Args {
        viewers: 1000,
        frames: 20_000,
        file: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sample.flv").into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--viewers" => args.viewers = value.parse().expect("--viewers N"),
            "--frames" => args.frames = value.parse().expect("--frames N"),
            "--file" => args.file = value,
            other => panic!("unknown flag {other} (--viewers, --frames, --file)"),
        }
    }
    args
}

/// The file's frames repeated until there are `n`, each pass continuing the timeline.
fn frames(file: &str, n: usize) -> Vec<Frame> {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let (_, source) = media::flv::file::read_all(&data).expect("a whole FLV file");
    let span = source.iter().map(|f| f.timestamp).max().unwrap_or(0) + 40;
    (0..)
        .flat_map(|pass: u32| {
            source.iter().map(move |f| Frame {
                timestamp: f.timestamp + pass * span,
                ..f.clone()
            })
        })
        .take(n)
        .collect()
}

/// Notes when it is woken: when a frame reached the viewer it waits on.
#[derive(Default)]
struct Reached(Mutex<Option<Instant>>);

impl Wake for Reached {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.0.lock().unwrap() = Some(Instant::now());
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

fn main() {
    let args = args();
    let frames = frames(&args.file, args.frames);
    let hub = Hub::new(HubConfig::default());
    let publisher = hub.publish("bench").expect("a fresh hub");
    let stream = publisher.stream().clone();
    let mut viewers: Vec<_> = (0..args.viewers)
        .map(|_| stream.subscribe(Protocol::HttpFlv))
        .collect();

    // Subscribed last, so the fan-out reaches it last.
    let mut last = stream.subscribe(Protocol::HttpFlv);
    let reached = Arc::new(Reached::default());
    let waker = Waker::from(reached.clone());

    let mut publishing = Duration::ZERO;
    let mut reach = Vec::with_capacity(frames.len());
    let mut bytes = 0usize;
    for frame in frames {
        bytes += frame.payload.len();
        // Registers the waker: the queue is empty, so this is pending.
        assert!(last
            .rx
            .poll_recv(&mut Context::from_waker(&waker))
            .is_pending());
        let t = Instant::now();
        publisher.push(frame);
        publishing += t.elapsed();
        if let Some(at) = reached.0.lock().unwrap().take() {
            reach.push(at.duration_since(t));
        }
        for v in viewers.iter_mut().chain([&mut last]) {
            while v.rx.try_recv().is_ok() {}
        }
    }
    reach.sort_unstable();
    let dropped = stream.stats.frames_dropped.load(Ordering::Relaxed);
    let mean = reach.iter().sum::<Duration>().as_secs_f64() * 1e6 / reach.len().max(1) as f64;
    println!(
        "viewers={} frames={} mib={:.1} publish_ns_per_frame={:.0} last_viewer_us_mean={:.2} \
         p50={:.2} p99={:.2} max={:.1} reached={} dropped={}",
        args.viewers,
        args.frames,
        bytes as f64 / (1 << 20) as f64,
        publishing.as_nanos() as f64 / args.frames.max(1) as f64,
        mean,
        percentile(&reach, 0.5),
        percentile(&reach, 0.99),
        percentile(&reach, 1.0),
        reach.len(),
        dropped,
    );
}
