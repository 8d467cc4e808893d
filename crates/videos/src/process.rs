//! Processing a stored upload or recording into something every phone and browser plays:
//! the `videos.process` job.
//!
//! 1. copy the source from storage into a scratch folder;
//! 2. `ffprobe` it: no video stream (or not a media file at all) fails it as
//!    `not_a_video`, longer than `[videos] max_duration_secs` as `too_long`;
//! 3. take a cover frame (JPEG, at most 720 px tall) with `ffmpeg`;
//! 4. keep the source as the video when it is already an H.264/AAC MP4 with `moov` first,
//!    copy its streams into one when only the container or order is wrong, and otherwise
//!    encode H.264/AAC (long side at most 1280 px);
//! 5. store the results under `videos/{id}/{random}.mp4|.jpg` and mark the video `ready`
//!    — or `failed` with a reason the author sees.
//!
//! ffmpeg runs one job at a time per node ([`WorkSlots`]) so that processing never takes
//! every core from the live streams; a job that lost its node is retried by the queue.
//! The turns are fair between authors: while one of an author's videos waits for or
//! holds a turn on a node, that author's other jobs there step back into the queue for a
//! moment ([`JobError::later`], not counted as attempts), so someone who uploads twenty
//! videos at once holds one place in the line, not twenty, and never every job slot.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use jobs::{JobContext, JobError};
use serde::{Deserialize, Serialize};
use tokio::process::Command;
use tokio::sync::Semaphore;

use super::model::hot_score;
use super::probe::{self, Plan, Probe};
use crate::VideosState;

/// The job kind.
pub const PROCESS: &str = "videos.process";

/// Longest one ffmpeg or ffprobe run may take before it is killed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The payload of a [`PROCESS`] job.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessJob {
    pub video_id: i64,
}

/// How long an author's further job steps back while one of theirs is in line.
const AUTHOR_BUSY_WAIT: Duration = Duration::from_secs(2);

/// How many ffmpeg runs a node allows at once, and whose videos are in line for them.
#[derive(Debug, Clone)]
pub struct WorkSlots {
    turns: Arc<Semaphore>,
    /// Authors with a video waiting for or holding a turn on this node.
    in_line: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

impl WorkSlots {
    pub fn new(n: usize) -> Self {
        WorkSlots {
            turns: Arc::new(Semaphore::new(n.max(1))),
            in_line: Arc::default(),
        }
    }

    /// A place in line for `author`, or `None` when one of theirs already has one here.
    pub fn join_line(&self, author: i64) -> Option<InLine> {
        let mut line = self.in_line.lock().unwrap_or_else(|p| p.into_inner());
        line.insert(author).then(|| InLine {
            author,
            line: self.in_line.clone(),
        })
    }
}

/// An author's place in line; left when dropped.
#[derive(Debug)]
pub struct InLine {
    author: i64,
    line: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

impl Drop for InLine {
    fn drop(&mut self) {
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        line.remove(&self.author);
    }
}

/// Why processing gave up on a video: a code, and words for the author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Failure {
            code,
            detail: detail.into(),
        }
    }

    /// As stored in `fail_reason`: `code: detail`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.code, self.detail)
    }
}

/// What went wrong in one attempt.
enum Outcome {
    /// The file is the problem: the video fails, for good.
    Rejected(Failure),
    /// Storage or the machine is the problem: try again later.
    Retry(String),
}

/// Storage, database and file errors are worth another attempt.
macro_rules! retry_on {
    ($($t:ty),*) => {$(
        impl From<$t> for Outcome {
            fn from(e: $t) -> Self {
                Outcome::Retry(e.to_string())
            }
        }
    )*};
}
retry_on!(
    std::io::Error,
    sqlx::Error,
    object_store::Error,
    super::storage::PutError
);

#[derive(sqlx::FromRow)]
struct Source {
    status: String,
    source_key: Option<String>,
    created_at: i64,
}

/// Runs one [`PROCESS`] job.
pub async fn run_job(state: &VideosState, job: &JobContext) -> Result<(), JobError> {
    let ProcessJob { video_id } = job.payload_as()?;
    let author: Option<i64> = sqlx::query_scalar("SELECT author_id FROM videos WHERE id = $1")
        .bind(video_id)
        .fetch_optional(state.store().pool())
        .await
        .map_err(|e| JobError::new(e.to_string()))?;
    let _place = match author {
        Some(author) => match state.video_work().join_line(author) {
            Some(place) => Some(place),
            None => {
                return Err(JobError::later(
                    AUTHOR_BUSY_WAIT,
                    "another video of this author is in line on this node",
                ))
            }
        },
        None => None,
    };
    let _turn = state
        .video_work()
        .turns
        .acquire()
        .await
        .map_err(|_| JobError::new("shutting down"))?;
    match process(state, video_id).await {
        Ok(()) => Ok(()),
        Err(Outcome::Rejected(failure)) => {
            tracing::info!(video_id, reason = %failure.reason(), "video rejected");
            mark_failed(state, video_id, &failure)
                .await
                .map_err(|e| JobError::new(e.to_string()))
        }
        Err(Outcome::Retry(msg)) if job.is_last_attempt() => {
            let failure = Failure::new("processing_error", "the video could not be processed");
            tracing::error!(video_id, error = %msg, "video processing gave up");
            mark_failed(state, video_id, &failure)
                .await
                .map_err(|e| JobError::new(e.to_string()))
        }
        Err(Outcome::Retry(msg)) => Err(JobError::new(msg)),
    }
}

async fn process(state: &VideosState, video_id: i64) -> Result<(), Outcome> {
    let source: Option<Source> = sqlx::query_as(
        "SELECT status, source_key, created_at FROM videos WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(video_id)
    .fetch_optional(state.store().pool())
    .await?;
    let Some(source) = source else {
        return Ok(()); // deleted meanwhile
    };
    let Some(source_key) = source.source_key.filter(|_| source.status == "processing") else {
        return Ok(()); // done by an earlier attempt
    };
    let settings = &state.settings();
    let work = WorkDir::new(&settings.work_dir, video_id)?;
    let input = work.path.join("source");
    state
        .files()
        .download_all(std::slice::from_ref(&source_key), &input)
        .await?;

    let probe = run_probe(&settings.ffprobe, &input).await?;
    let Some(video) = probe.video.clone() else {
        return Err(Outcome::Rejected(Failure::new(
            "not_a_video",
            "the file has no video stream",
        )));
    };
    let max_ms = settings.max_duration_secs as i64 * 1000;
    if probe.duration_ms > max_ms {
        return Err(Outcome::Rejected(Failure::new(
            "too_long",
            format!(
                "the video is {} s long; the limit is {} s",
                probe.duration_ms / 1000,
                settings.max_duration_secs
            ),
        )));
    }
    let faststart = probe::faststart_file(&input)?;
    let plan = probe::plan(&probe, faststart);

    let cover = work.path.join("cover.jpg");
    let at = (probe.duration_ms as f64 / 3000.0).min(1.0);
    ffmpeg(
        &settings.ffmpeg,
        &[
            "-ss",
            &format!("{at:.3}"),
            "-i",
            path_str(&input)?,
            "-frames:v",
            "1",
            "-vf",
            "scale=-2:'min(720,ih)'",
            "-q:v",
            "3",
            "-y",
            path_str(&cover)?,
        ],
    )
    .await?;

    let output = work.path.join("video.mp4");
    /// Copying the streams: nothing is decoded.
    const COPY: &[&str] = &["-c", "copy"];
    /// H.264/AAC for every browser and phone, the long side at most 1280 px.
    const ENCODE: &[&str] = &[
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-vf",
        "scale='if(gt(iw,ih),min(1280,iw),-2)':'if(gt(iw,ih),-2,min(1280,ih))'",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
    ];
    let codecs = match plan {
        Plan::AsIs => None,
        Plan::Remux => Some(COPY),
        Plan::Transcode => Some(ENCODE),
    };
    let playable = match codecs {
        None => input.clone(),
        Some(codecs) => {
            // The first video and (if any) audio stream, into an MP4 with moov first.
            let mut args = vec!["-i", path_str(&input)?, "-map", "0:v:0", "-map", "0:a:0?"];
            args.extend_from_slice(codecs);
            args.extend_from_slice(&["-movflags", "+faststart", "-y", path_str(&output)?]);
            ffmpeg(&settings.ffmpeg, &args).await?;
            output
        }
    };

    let token = super::random_token();
    let video_key = format!("videos/{video_id}/{token}.mp4");
    let cover_key = format!("videos/{video_id}/{token}.jpg");
    let files = state.files();
    let video_bytes = files.put_file(&video_key, &playable).await?;
    files.put_file(&cover_key, &cover).await?;
    let now = kit::time::now_ms();
    let done = sqlx::query(
        "UPDATE videos SET status = 'ready', fail_reason = NULL, video_key = $1, cover_key = $2, \
         video_bytes = $3, duration_ms = $4, width = $5, height = $6, updated_at = $7, \
         hot_score = $8 \
         WHERE id = $9 AND status = 'processing' AND deleted_at IS NULL",
    )
    .bind(&video_key)
    .bind(&cover_key)
    .bind(video_bytes as i64)
    .bind(probe.duration_ms)
    .bind(video.width)
    .bind(video.height)
    .bind(now)
    .bind(hot_score(0, 0, 0, 0, 0, source.created_at))
    .bind(video_id)
    .execute(state.store().writer())
    .await?;
    if done.rows_affected() == 0 {
        // Deleted (or finished elsewhere) while we worked: drop what we made.
        let _ = files.delete(&video_key).await;
        let _ = files.delete(&cover_key).await;
        return Ok(());
    }
    if plan != Plan::AsIs {
        // The playable file replaces the source; keep storage to one copy.
        if let Err(e) = files.delete(&source_key).await {
            tracing::warn!(video_id, error = %e, "could not remove a processed source");
        }
    }
    metrics::counter!("videos_processed_total", "plan" => plan_name(plan)).increment(1);
    tracing::info!(
        video_id,
        plan = plan_name(plan),
        ms = probe.duration_ms,
        "video ready"
    );
    Ok(())
}

fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::AsIs => "as_is",
        Plan::Remux => "remux",
        Plan::Transcode => "transcode",
    }
}

/// Marks the video failed. A file refused for what it is (not a video, too long,
/// unreadable) is removed: nothing can be made of it, and it would only take space.
async fn mark_failed(
    state: &VideosState,
    video_id: i64,
    failure: &Failure,
) -> Result<(), sqlx::Error> {
    metrics::counter!("videos_failed_total", "reason" => failure.code).increment(1);
    let source: Option<(Option<String>,)> = sqlx::query_as(
        "UPDATE videos SET status = 'failed', fail_reason = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'processing' RETURNING source_key",
    )
    .bind(failure.reason())
    .bind(kit::time::now_ms())
    .bind(video_id)
    .fetch_optional(state.store().writer())
    .await?;
    let refused = !matches!(failure.code, "processing_error" | "processing_unavailable");
    if let (true, Some((Some(key),))) = (refused, source) {
        if let Err(e) = state.files().delete(&key).await {
            tracing::warn!(video_id, error = %e, "could not remove a refused source");
        }
        sqlx::query("UPDATE videos SET source_key = NULL WHERE id = $1")
            .bind(video_id)
            .execute(state.store().writer())
            .await?;
    }
    Ok(())
}

/// What ffmpeg and ffprobe may open for an upload: local files only (no network, no
/// `concat:` or `subfile:` tricks), through the demuxers of the containers that
/// [`probe::sniff`] lets in. A playlist (HLS, concat) that names other files, which
/// could read the server's own files into a video, is refused before it is opened.
const INPUT_LIMITS: [&str; 4] = [
    "-protocol_whitelist",
    "file",
    "-format_whitelist",
    "mov,matroska,flv,avi,mpegts,mpeg,ogg,asf",
];

async fn run_probe(ffprobe: &str, input: &Path) -> Result<Probe, Outcome> {
    let out = run(
        ffprobe,
        &[
            INPUT_LIMITS[0],
            INPUT_LIMITS[1],
            INPUT_LIMITS[2],
            INPUT_LIMITS[3],
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            path_str(input)?,
        ],
    )
    .await?;
    if !out.status.success() {
        return Err(Outcome::Rejected(Failure::new(
            "not_a_video",
            "the file is not a video we can read",
        )));
    }
    probe::parse(&out.stdout).ok_or_else(|| Outcome::Retry("ffprobe printed no JSON".into()))
}

async fn ffmpeg(program: &str, args: &[&str]) -> Result<(), Outcome> {
    let mut all = vec!["-hide_banner", "-nostdin", "-v", "error"];
    for arg in args {
        // Every input opened under the limits.
        if *arg == "-i" {
            all.extend_from_slice(&INPUT_LIMITS);
        }
        all.push(arg);
    }
    let out = run(program, &all).await?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    tracing::info!(error = %err, "ffmpeg failed");
    Err(Outcome::Rejected(Failure::new(
        "unreadable",
        format!(
            "the video could not be decoded ({})",
            last.chars().take(200).collect::<String>()
        ),
    )))
}

async fn run(program: &str, args: &[&str]) -> Result<std::process::Output, Outcome> {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Outcome::Rejected(Failure::new(
                "processing_unavailable",
                format!("{program} is not installed on the server"),
            )))
        }
        Err(e) => return Err(Outcome::Retry(format!("cannot start {program}: {e}"))),
    };
    match tokio::time::timeout(TOOL_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => Ok(out?),
        Err(_) => Err(Outcome::Rejected(Failure::new(
            "unreadable",
            format!("{program} took longer than {} s", TOOL_TIMEOUT.as_secs()),
        ))),
    }
}

fn path_str(p: &Path) -> Result<&str, Outcome> {
    p.to_str()
        .ok_or_else(|| Outcome::Retry(format!("work path {} is not UTF-8", p.display())))
}

/// A scratch folder removed when dropped.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn new(base: &Path, video_id: i64) -> std::io::Result<WorkDir> {
        let path = base.join(format!("video-{video_id}-{}", super::random_token()));
        std::fs::create_dir_all(&path)?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a work dir");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_author_holds_one_place_in_line_at_a_time() {
        let slots = WorkSlots::new(1);
        let first = slots.join_line(7).expect("a place");
        assert!(
            slots.join_line(7).is_none(),
            "a second video of 7 steps back"
        );
        let other = slots.join_line(8).expect("another author gets in line");
        drop(first);
        assert!(
            slots.join_line(7).is_some(),
            "7's next video once the first is done"
        );
        drop(other);
    }
}
