//! The network side of live media: the RTMP server and the HTTP outputs, and the
//! question they ask the app (may this key publish?).

pub mod auth;
pub mod flv_direct;
pub mod http;
pub mod rtmp;
pub mod signed_play;

/// How long a viewer's connection rests between writes unless configured otherwise: the
/// frames of that time go out in one write. Merged writes like these are what keep a
/// viewer cheap (a write to a socket costs about the same for one frame as for ten);
/// 100 ms is well under what players buffer (a second or more) and under the 350 ms that
/// SRS merges by default.
pub const DEFAULT_VIEWER_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

/// Writes the shared buffers `parts` to `wr` with vectored writes (no copy per viewer,
/// usually one system call), giving up after `timeout` without progress to the end.
pub(crate) async fn write_parts(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    parts: &[bytes::Bytes],
    timeout: std::time::Duration,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let write = async {
        let mut slices: Vec<std::io::IoSlice<'_>> =
            parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = wr.write_vectored(rest).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            std::io::IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "write timeout",
        )),
    }
}

/// Rests a viewer until the next multiple of `flush` (counted from the process's first
/// call), so that every viewer wakes on the same ticks: the runtime then wakes once per
/// tick for all of them instead of once per viewer, at a phase of its own.
pub(crate) async fn rest(flush: std::time::Duration) {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    if flush.is_zero() {
        return;
    }
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let period = flush.as_nanos().max(1);
    let since = epoch.elapsed().as_nanos();
    let next = (since / period + 1) * period;
    let wait = std::time::Duration::from_nanos((next - since).min(u64::MAX as u128) as u64);
    tokio::time::sleep(wait).await;
}

pub use auth::{AuthFuture, PublishAuth, PublishRefusal, StaticKeys};
pub use rtmp::RtmpConfig;
pub use signed_play::{PlayRefusal, PlaySigning};
