//! The sample recording (`fixtures/sample.flv`, made by FFmpeg; see its README) through
//! momo's FLV reader and writer, the TS muxer and the HLS segmenter.
//!
//! The checks against FFmpeg's own tools run only with `MOMO_TEST_FFMPEG=1` and an
//! `ffprobe`/`ffmpeg` on the PATH; without them those tests say so and pass.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use bytes::BytesMut;
use media::flv::{
    self, AudioCodec, AudioSpecificConfig, AudioTag, AvcConfig, FlvHeader, FlvReader, VideoCodec,
    VideoPacket, VideoTag,
};
use media::frame::{Frame, FrameKind};
use media::hls::{Segmenter, SegmenterConfig};
use media::ts::{TsMuxer, AUDIO_PID, PACKET_SIZE, PMT_PID, VIDEO_PID};

const SAMPLE: &[u8] = include_bytes!("fixtures/sample.flv");

fn sample() -> (FlvHeader, Vec<Frame>) {
    flv::read_all(SAMPLE).expect("the sample is valid FLV")
}

fn count(frames: &[Frame], kind: FrameKind) -> usize {
    frames.iter().filter(|f| f.kind == kind).count()
}

#[test]
fn sample_reads_into_the_frames_ffmpeg_wrote() {
    let (header, frames) = sample();
    assert_eq!(
        header,
        FlvHeader {
            has_audio: true,
            has_video: true
        }
    );
    assert_eq!(count(&frames, FrameKind::Script), 1);
    assert_eq!(count(&frames, FrameKind::Video), 77);
    assert_eq!(count(&frames, FrameKind::Audio), 132);

    let video: Vec<VideoTag> = frames
        .iter()
        .filter(|f| f.kind == FrameKind::Video)
        .map(|f| VideoTag::parse(&f.payload).unwrap())
        .collect();
    assert!(video.iter().all(|t| t.codec == VideoCodec::Avc));
    assert!(video[0].is_sequence_header());
    assert!(video[1].is_keyframe());
    assert_eq!(video.iter().filter(|t| t.is_keyframe()).count(), 3);
    assert_eq!(video[76].packet, VideoPacket::EndOfSequence);
    assert!(
        video.iter().any(|t| t.composition_time > 0),
        "B-frames give composition times"
    );

    let audio: Vec<AudioTag> = frames
        .iter()
        .filter(|f| f.kind == FrameKind::Audio)
        .map(|f| AudioTag::parse(&f.payload).unwrap())
        .collect();
    assert!(audio.iter().all(|t| t.codec == AudioCodec::Aac));
    assert!(audio[0].is_sequence_header());
    assert!(audio[1..].iter().all(|t| !t.is_sequence_header()));
}

#[test]
fn sample_sequence_headers_describe_320x180_and_44100_hz_stereo() {
    let (_, frames) = sample();
    let video = frames.iter().find(|f| f.kind == FrameKind::Video).unwrap();
    let config = AvcConfig::parse(VideoTag::parse(&video.payload).unwrap().data).unwrap();
    assert_eq!(config.profile, 100);
    assert_eq!(config.nalu_length_size, 4);
    let sps = config.first_sps().unwrap();
    assert_eq!((sps.width, sps.height), (320, 180));
    assert_eq!(sps.chroma_format_idc, 1);

    let audio = frames.iter().find(|f| f.kind == FrameKind::Audio).unwrap();
    let asc = AudioSpecificConfig::parse(AudioTag::parse(&audio.payload).unwrap().data).unwrap();
    assert_eq!(asc.object_type, 2);
    assert_eq!(asc.sample_rate, 44100);
    assert_eq!(asc.channels(), Some(2));
}

#[test]
fn sample_reads_the_same_however_the_bytes_arrive() {
    let (_, expected) = sample();
    for chunk in [1, 7, 188, 1500, 65536] {
        let mut reader = FlvReader::new();
        let mut frames = Vec::new();
        for piece in SAMPLE.chunks(chunk) {
            reader.push(piece);
            while let Some(frame) = reader.poll().unwrap() {
                frames.push(frame);
            }
            assert!(reader.buffered() <= 16 << 10, "holds one tag at most");
        }
        assert_eq!(frames, expected, "chunk size {chunk}");
    }
}

#[test]
fn rewriting_the_sample_reproduces_it_byte_for_byte() {
    let (header, frames) = sample();
    let mut out = header.encode().to_vec();
    for f in &frames {
        out.extend_from_slice(&flv::encode_tag(f));
    }
    assert_eq!(out.len(), SAMPLE.len());
    assert!(out == SAMPLE, "FLV written differs from FFmpeg's");
}

fn mux_sample() -> BytesMut {
    let (_, frames) = sample();
    let mut muxer = TsMuxer::new();
    let mut out = BytesMut::new();
    for f in &frames {
        muxer.write_frame(f, &mut out).unwrap();
    }
    out
}

#[test]
fn sample_muxes_into_well_formed_transport_packets() {
    let ts = mux_sample();
    assert_eq!(ts.len() % PACKET_SIZE, 0);
    let mut last_cc: HashMap<u16, u8> = HashMap::new();
    let mut unit_starts: HashMap<u16, usize> = HashMap::new();
    let mut random_access = 0;
    for p in ts.chunks(PACKET_SIZE) {
        assert_eq!(p[0], 0x47);
        let pid = u16::from(p[1] & 0x1F) << 8 | u16::from(p[2]);
        assert!(
            [0, PMT_PID, VIDEO_PID, AUDIO_PID].contains(&pid),
            "pid {pid:#x}"
        );
        let cc = p[3] & 0x0F;
        if let Some(prev) = last_cc.insert(pid, cc) {
            assert_eq!(cc, (prev + 1) & 0x0F, "continuity on pid {pid:#x}");
        }
        if p[1] & 0x40 != 0 {
            *unit_starts.entry(pid).or_default() += 1;
        }
        if p[3] & 0x20 != 0 && p[4] > 0 && p[5] & 0x40 != 0 && pid == VIDEO_PID {
            random_access += 1;
        }
    }
    assert_eq!(unit_starts[&0], 1);
    assert_eq!(unit_starts[&PMT_PID], 1);
    assert_eq!(unit_starts[&VIDEO_PID], 75);
    assert_eq!(unit_starts[&AUDIO_PID], 131);
    assert_eq!(random_access, 3, "one random access point per keyframe");
}

#[test]
fn sample_segments_at_each_keyframe_with_a_one_second_target() {
    let (_, frames) = sample();
    let mut hls = Segmenter::new(SegmenterConfig {
        target_duration_ms: 1000,
        window: 6,
    });
    for f in &frames {
        hls.push(f);
    }
    // Keyframes at 0, 1 and 2 s: two segments are complete, the third is open.
    let durations: Vec<u64> = hls.segments().map(|s| s.duration_ms).collect();
    assert_eq!(durations, vec![1000, 1000]);
    hls.end_of_stream();
    let durations: Vec<u64> = hls.segments().map(|s| s.duration_ms).collect();
    // The last segment runs to its last frame, an audio frame at 3075 ms.
    assert_eq!(durations, vec![1000, 1000, 1075]);

    for seg in hls.segments() {
        let data = &seg.data;
        assert_eq!(data.len() % PACKET_SIZE, 0);
        let pid = |i: usize| {
            u16::from(data[i * PACKET_SIZE + 1] & 0x1F) << 8 | u16::from(data[i * PACKET_SIZE + 2])
        };
        assert_eq!((pid(0), pid(1)), (0, PMT_PID), "tables first");
        let first_video = (2..data.len() / PACKET_SIZE)
            .find(|&i| pid(i) == VIDEO_PID)
            .unwrap();
        let p = &data[first_video * PACKET_SIZE..];
        assert_eq!(
            p[5] & 0x40,
            0x40,
            "segment {} starts on a keyframe",
            seg.sequence
        );
    }

    let playlist = hls.playlist().unwrap();
    assert_eq!(
        playlist,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXTINF:1.000,\nseg-0.ts\n#EXTINF:1.000,\nseg-1.ts\n#EXTINF:1.075,\nseg-2.ts\n\
         #EXT-X-ENDLIST\n"
    );
    assert!(hls.segment("seg-1.ts").is_some());
    assert_eq!(hls.skipped_frames(), 0);
}

#[test]
fn sample_segments_every_two_keyframes_with_the_default_target() {
    let (_, frames) = sample();
    let mut hls = Segmenter::new(SegmenterConfig::default());
    for f in &frames {
        hls.push(f);
    }
    let durations: Vec<u64> = hls.segments().map(|s| s.duration_ms).collect();
    assert_eq!(durations, vec![2000]);
    let playlist = hls.playlist().unwrap();
    assert!(playlist
        .contains("#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000,\nseg-0.ts\n"));
}

// ---- Checks with FFmpeg's tools, when asked for. ----

/// Whether to run the FFmpeg checks, saying loudly why not when they are skipped.
fn ffmpeg_tools() -> bool {
    if std::env::var("MOMO_TEST_FFMPEG").as_deref() != Ok("1") {
        eprintln!("skipped: set MOMO_TEST_FFMPEG=1 to check the output with ffprobe/ffmpeg");
        return false;
    }
    let found = ["ffprobe", "ffmpeg"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found {
        eprintln!("!!!! SKIPPED: MOMO_TEST_FFMPEG=1 but ffprobe/ffmpeg are not on the PATH !!!!");
    }
    found
}

/// Writes `data` to a file of its own in the temp directory.
fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("momo-media-{}-{name}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    path
}

/// Decodes a file completely with FFmpeg; returns what it complained about.
fn ffmpeg_decode_errors(path: &PathBuf) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn ffprobe_sees_h264_320x180_and_aac_in_the_ts() {
    if !ffmpeg_tools() {
        return;
    }
    let path = temp_file("sample.ts", &mux_sample());
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compact: String = json.split_whitespace().collect();
    assert!(compact.contains(r#""codec_name":"h264""#), "{json}");
    assert!(compact.contains(r#""width":320"#), "{json}");
    assert!(compact.contains(r#""height":180"#), "{json}");
    assert!(compact.contains(r#""codec_name":"aac""#), "{json}");
    assert!(compact.contains(r#""sample_rate":"44100""#), "{json}");
    assert!(compact.contains(r#""channels":2"#), "{json}");

    let errors = ffmpeg_decode_errors(&path);
    assert!(
        errors.is_empty(),
        "ffmpeg complained decoding the TS:\n{errors}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn ffmpeg_decodes_a_later_hls_segment_on_its_own() {
    if !ffmpeg_tools() {
        return;
    }
    let (_, frames) = sample();
    let mut hls = Segmenter::new(SegmenterConfig {
        target_duration_ms: 1000,
        window: 6,
    });
    for f in &frames {
        hls.push(f);
    }
    let segment = hls.segment("seg-1.ts").unwrap();
    let path = temp_file("seg-1.ts", &segment);
    let errors = ffmpeg_decode_errors(&path);
    assert!(
        errors.is_empty(),
        "ffmpeg complained decoding seg-1.ts alone:\n{errors}"
    );
    let _ = std::fs::remove_file(&path);
}
