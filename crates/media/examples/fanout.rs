//! The publish path of one live stream with N viewers, measured without sockets.
//!
//! One thread publishes an FLV file's frames (looped, timestamps carried on) into a hub
//! stream as fast as it can, with `--viewers` viewers subscribed; their queues are
//! drained after each frame, outside the timed part. A second thread meanwhile takes
//! the stream's lock over and over (what a viewer joining or leaving, a viewer count or
//! the audience figure does) and times each wait: how long the publish path keeps the
//! others out.
//!
//! ```sh
//! cargo run --release -p media --example fanout -- --viewers 1000 --frames 20000 --file stream.flv
//! ```
//!
//! It prints one line of `key=value` figures: nanoseconds per published frame, and the
//! lock wait of the other thread (p50, p99, p99.9, max, in microseconds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (stream, done) = (stream.clone(), done.clone());
        std::thread::spawn(move || {
            let mut waits = Vec::with_capacity(1 << 20);
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                std::hint::black_box(stream.is_publishing());
                waits.push(t.elapsed());
                std::thread::yield_now();
            }
            waits
        })
    };

    let mut publishing = Duration::ZERO;
    let mut bytes = 0usize;
    for frame in frames {
        bytes += frame.payload.len();
        let t = Instant::now();
        publisher.push(frame);
        publishing += t.elapsed();
        for v in &mut viewers {
            while v.rx.try_recv().is_ok() {}
        }
    }
    done.store(true, Ordering::Relaxed);
    let mut waits = prober.join().expect("the prober thread");
    waits.sort_unstable();
    let dropped = stream.stats.frames_dropped.load(Ordering::Relaxed);
    println!(
        "viewers={} frames={} mib={:.1} publish_ns_per_frame={:.0} lock_wait_us_p50={:.2} \
         p99={:.2} p999={:.2} max={:.1} probes={} dropped={}",
        args.viewers,
        args.frames,
        bytes as f64 / (1 << 20) as f64,
        publishing.as_nanos() as f64 / args.frames.max(1) as f64,
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        percentile(&waits, 0.999),
        percentile(&waits, 1.0),
        waits.len(),
        dropped,
    );
}
