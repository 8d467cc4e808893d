//! The web pages in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), against a real momo node with a live stream published to it.
//!
//! A visitor signs up, opens a live room, and the video plays; a chat message from a
//! second browser appears in the first, as does a gift; XSS in titles and chat stays
//! text. An admin signs in, cuts the stream, and bans a user, and the viewers' pages
//! show it. Screenshots of the main pages, at phone and desktop sizes, are written to
//! `target/screenshots/` (or `MOMO_SCREENSHOTS`).
//!
//! Runs when `MOMO_TEST_BROWSER=1` (Debian's `chromium` and `chromium-driver`; other
//! paths with `MOMO_CHROMIUM` and `MOMO_CHROMEDRIVER`), and says SKIPPED otherwise.

use crate::common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use media::client::rtmp::RtmpPublisher;
use media::flv::{AudioPacket, AudioTag, VideoPacket, VideoTag};
use media::frame::{Frame, FrameKind};
use serde_json::{json, Value};

const SAMPLE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../media/tests/fixtures/sample.flv"
));

pub(crate) const DESKTOP: (u32, u32) = (1366, 900);
const PHONE: (u32, u32) = (390, 844);

pub(crate) fn enabled() -> bool {
    if std::env::var("MOMO_TEST_BROWSER").is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: the browser tests. Set MOMO_TEST_BROWSER=1 (with chromium and \
         chromium-driver installed) to run them. ***\n"
    );
    false
}

/// A chromedriver process, ended on drop.
pub(crate) struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = std::env::var("MOMO_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = std::process::Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await {
            if r.status().is_success() {
                return driver;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A browser with a fresh profile (its own cookies) at `size`.
async fn browser(driver: &Driver, profile: &tempfile::TempDir, size: (u32, u32)) -> Client {
    let binary = std::env::var("MOMO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                "--hide-scrollbars", "--mute-audio",
                format!("--window-size={},{}", size.0, size.1),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    resize(&c, size).await;
    c
}

/// Makes the page's viewport `size` (the window is a little larger than its viewport).
async fn resize(c: &Client, size: (u32, u32)) {
    c.set_window_size(size.0, size.1).await.unwrap();
    let inner = c
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    let (iw, ih) = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    if iw > 0 && ih > 0 && (iw, ih) != size {
        c.set_window_size(
            size.0 + (size.0 - iw.min(size.0)),
            size.1 + (size.1 - ih.min(size.1)),
        )
        .await
        .unwrap();
    }
}

fn shots_dir() -> PathBuf {
    let dir = std::env::var_os("MOMO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    // Let fonts, images and the last layout settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Nothing half-rendered shows.
    let text = js(c, "return document.body.innerText").await;
    let text = text.as_str().unwrap_or("");
    for bad in ["undefined", "NaN", "[object Object]"] {
        assert!(!text.contains(bad), "{name} shows {bad:?}: {text}");
    }
    let png = c.screenshot().await.unwrap();
    let path = shots_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

pub(crate) async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// Waits up to `secs` for `script` to return something truthy; returns it.
pub(crate) async fn until(c: &Client, secs: u64, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = c.execute(script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        if Instant::now() > deadline {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("waited {secs} s for {what} on {url}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn fill(c: &Client, css: &str, text: &str) {
    let el = c.wait().for_element(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn click_xpath(c: &Client, xpath: &str) {
    c.wait()
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Publishes the sample file over RTMP, looped in real time, until the server cuts it.
fn publish_looping(rtmp: String, key: String) -> tokio::task::JoinHandle<()> {
    let (_, frames) = media::flv::read_all(SAMPLE).expect("sample reads");
    let video = |f: &Frame| {
        (f.kind == FrameKind::Video)
            .then(|| VideoTag::parse(&f.payload).ok().map(|t| t.packet))
            .flatten()
    };
    let pictures: Vec<u32> = frames
        .iter()
        .filter(|f| video(f) == Some(VideoPacket::CodedFrames))
        .map(|f| f.timestamp)
        .collect();
    let interval = (pictures[pictures.len() - 1] - pictures[0]) / (pictures.len() as u32 - 1);
    let lap_ms = pictures[pictures.len() - 1] - pictures[0] + interval;
    let first = frames.iter().map(|f| f.timestamp).min().unwrap_or(0);
    let frames: Vec<Frame> = frames
        .into_iter()
        .filter(|f| f.timestamp - first < lap_ms && video(f) != Some(VideoPacket::EndOfSequence))
        .collect();
    let once_only = move |f: &Frame| match f.kind {
        FrameKind::Script => true,
        FrameKind::Video => video(f) == Some(VideoPacket::SequenceHeader),
        FrameKind::Audio => {
            AudioTag::parse(&f.payload).is_ok_and(|t| t.packet == AudioPacket::SequenceHeader)
        }
    };
    tokio::spawn(async move {
        let addr = rtmp
            .trim_start_matches("rtmp://")
            .trim_end_matches("/live")
            .to_string();
        let mut publisher = RtmpPublisher::connect(addr, "live", &key)
            .await
            .expect("publish accepted");
        for lap in 0u32.. {
            for f in &frames {
                if lap > 0 && once_only(f) {
                    continue;
                }
                let frame = Frame {
                    kind: f.kind,
                    timestamp: (f.timestamp - first).wrapping_add(lap.wrapping_mul(lap_ms)),
                    payload: f.payload.clone(),
                };
                if publisher.send_paced(&frame).await.is_err() {
                    return; // cut by the server
                }
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_watch_chat_and_gift_and_admins_moderate_in_a_real_browser() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("boss").await;

    // An anchor whose nickname and title try to inject markup, live with the sample.
    let (status, anchor) = s
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "anchor_x", "password": "password-123", "nickname": "<i>Ann</i>"}),
        )
        .await;
    assert_eq!(status, 201, "{anchor}");
    let anchor_token = anchor["access_token"].as_str().unwrap().to_string();
    let title = "<script>window.__xss=1</script>Night songs";
    let (_, room) = s
        .post(
            "/api/v1/rooms",
            Some(&anchor_token),
            json!({"title": title, "category": "music"}),
        )
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let publisher = publish_looping(
        s.rtmp_base.clone(),
        room["stream_key"].as_str().unwrap().into(),
    );
    for _ in 0..200 {
        let (_, r) = s.get(&format!("/api/v1/rooms/{room_id}"), None).await;
        if r["status"] == "live" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second, quiet room so the grid has more than one card.
    let other = s.register("quiet_anchor").await;
    let (_, quiet) = s
        .post(
            "/api/v1/rooms",
            Some(&other.token),
            json!({"title": "Morning coffee chat"}),
        )
        .await;
    let _quiet_stream = s.go_live(quiet["id"].as_i64().unwrap()).await;
    let (status, gift) = s
        .post(
            "/api/v1/admin/gifts",
            Some(&admin),
            json!({"name": "Rose", "price_coins": 5}),
        )
        .await;
    assert_eq!(status, 201, "{gift}");
    s.post(
        "/api/v1/admin/gifts",
        Some(&admin),
        json!({"name": "Rocket", "price_coins": 500}),
    )
    .await;

    let driver = start_driver().await;
    let (pa, pb, pc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = browser(&driver, &pa, DESKTOP).await;

    let t = Tour {
        s,
        admin,
        anchor,
        anchor_token,
        title,
        room_id,
        gift,
        driver,
    };
    a_visitor_signs_up_and_finds_the_room(&t, &a).await;
    the_room_plays_over_flv_hls_and_webrtc(&t, &a).await;
    let b = a_phone_visitor_chats_and_a_follows_the_anchor(&t, &a, &pb).await;
    let (a_id, video_id) = a_sends_a_gift_and_b_walks_the_phone_pages(&t, &a, &b).await;
    let c = the_admin_opens_the_console(&t, &pc).await;
    the_admin_cuts_the_stream(&t, &a, &b, &c, publisher).await;
    the_admin_bans_b_and_works_the_wallet(&t, &b, &c, a_id).await;
    an_announcement_reaches_the_viewer(&a, &c).await;
    a_word_is_masked_and_a_report_decided(&t, &a, &c, video_id).await;
    for client in [a, b, c] {
        client.close().await.unwrap();
    }
    drop(t.driver);
    t.s.stop().await;
}

/// What the tour's steps share: the server, the operator's token, the anchor and their
/// room on air, the gift on sale, and the browser driver.
struct Tour {
    s: common::TestServer,
    admin: String,
    anchor: Value,
    anchor_token: String,
    title: &'static str,
    room_id: i64,
    gift: Value,
    driver: Driver,
}

/// A visitor signs up on the site and lands on the live rooms.
async fn a_visitor_signs_up_and_finds_the_room(t: &Tour, a: &Client) {
    let s = &t.s;
    let title = t.title;
    let room_id = t.room_id;
    a.goto(&s.url("/signup")).await.unwrap();
    shot(a, "signup-desktop").await;
    fill(a, "#username", "viewer_a").await;
    fill(a, "#nickname", "Viewer A").await;
    fill(a, "#password", "password-123").await;
    click(a, "#auth-submit").await;
    until(
        a,
        10,
        "the signed-in header",
        "return document.getElementById('me-name')?.textContent",
    )
    .await;
    assert_eq!(a.current_url().await.unwrap().path(), "/");
    until(
        a,
        10,
        "the room card",
        &format!(
            "return document.querySelector('a.room-card[data-room-id=\"{room_id}\"]') !== null"
        ),
    )
    .await;
    let card_title = js(
        a,
        &format!("return document.querySelector('a.room-card[data-room-id=\"{room_id}\"] .room-title').textContent"),
    )
    .await;
    assert_eq!(card_title, title, "titles are shown as text");
    shot(a, "home-desktop").await;
}

/// The room plays: the video's clock advances.
async fn the_room_plays_over_flv_hls_and_webrtc(t: &Tour, a: &Client) {
    let s = &t.s;
    let title = t.title;
    let room_id = t.room_id;
    let driver = &t.driver;
    click(a, &format!("a.room-card[data-room-id=\"{room_id}\"]")).await;
    until(
        a,
        10,
        "the room page",
        "return location.pathname.startsWith('/rooms/')",
    )
    .await;
    let t0 = until(
        a,
        30,
        "the video to play",
        "const v = document.getElementById('video'); return v && v.currentTime > 0.5 ? v.currentTime : 0",
    )
    .await
    .as_f64()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t1 = js(a, "return document.getElementById('video').currentTime")
        .await
        .as_f64()
        .unwrap();
    assert!(t1 > t0 + 0.5, "the video's time advances: {t0} then {t1}");
    let tech = js(a, "return document.getElementById('video').dataset.tech").await;
    assert_eq!(tech, "flv", "played through mpegts.js over HTTP-FLV");
    assert_eq!(
        js(
            a,
            "return document.getElementById('room-title').textContent"
        )
        .await,
        title
    );
    assert_eq!(
        js(
            a,
            "return document.getElementById('room-anchor').textContent"
        )
        .await,
        "<i>Ann</i>"
    );
    assert_eq!(
        js(
            a,
            "return document.querySelectorAll('#room-title *, #room-anchor *').length"
        )
        .await,
        0
    );

    // The HLS fallback (hls.js) plays too.
    let hls = browser(driver, &tempfile::tempdir().unwrap(), PHONE).await;
    hls.goto(&s.url(&format!("/rooms/{room_id}?player=hls")))
        .await
        .unwrap();
    let h0 = until(
        &hls,
        40,
        "the video over HLS",
        "const v = document.getElementById('video'); return v.dataset.tech === 'hls' && v.currentTime > 0.5 ? v.currentTime : 0",
    )
    .await
    .as_f64()
    .unwrap();
    until(
        &hls,
        10,
        "HLS time to advance",
        &format!("return document.getElementById('video').currentTime > {h0} + 0.5"),
    )
    .await;
    hls.close().await.unwrap();

    // The low-latency button plays over WebRTC (WHEP), H.264 from the RTMP publish.
    let rtc = browser(driver, &tempfile::tempdir().unwrap(), DESKTOP).await;
    rtc.goto(&s.url(&format!("/rooms/{room_id}")))
        .await
        .unwrap();
    until(
        &rtc,
        20,
        "HTTP-FLV first",
        "return document.getElementById('video').dataset.tech === 'flv'",
    )
    .await;
    click(&rtc, "#latency").await;
    let w0 = until(
        &rtc,
        30,
        "the video over WebRTC",
        "const v = document.getElementById('video');          if (v.dataset.fallback) return 'fell back: ' + v.dataset.fallback;          return v.dataset.tech === 'webrtc' && v.videoWidth > 0 && v.currentTime > 0.5 ? v.currentTime : 0",
    )
    .await;
    let w0 = w0
        .as_f64()
        .unwrap_or_else(|| panic!("WebRTC did not play: {w0}"));
    until(
        &rtc,
        10,
        "WebRTC time to advance",
        &format!("return document.getElementById('video').currentTime > {w0} + 0.5"),
    )
    .await;
    assert_eq!(
        js(
            &rtc,
            "return document.getElementById('latency').getAttribute('aria-pressed')"
        )
        .await,
        "true"
    );
    rtc.close().await.unwrap();
}

/// A second visitor (phone-sized) logs in and chats; the first sees it, as text.
async fn a_phone_visitor_chats_and_a_follows_the_anchor(
    t: &Tour,
    a: &Client,
    pb: &tempfile::TempDir,
) -> Client {
    let s = &t.s;
    let anchor = &t.anchor;
    let room_id = t.room_id;
    let driver = &t.driver;
    s.register("viewer_b").await;
    let browser_b = browser(driver, pb, PHONE).await;
    let b = &browser_b;
    b.goto(&s.url(&format!("/login?next=/rooms/{room_id}")))
        .await
        .unwrap();
    shot(b, "login-phone").await;
    fill(b, "#username", "viewer_b").await;
    fill(b, "#password", "password-123").await;
    click(b, "#auth-submit").await;
    until(
        b,
        10,
        "the room page",
        "return location.pathname.startsWith('/rooms/')",
    )
    .await;
    until(
        b,
        10,
        "the chat box",
        "return !document.getElementById('chat-form').hidden",
    )
    .await;
    until(
        b,
        30,
        "the video on the phone",
        "return document.getElementById('video').currentTime > 0.5",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let xss = "<img src=x onerror=\"window.__xss=1\">hello from B";
    fill(b, "#chat-input", xss).await;
    click(b, "#chat-send").await;
    until(
        a,
        10,
        "B's message in A's chat",
        "return [...document.querySelectorAll('#chat-list .chat-line.msg .text')].some(e => e.textContent.includes('hello from B'))",
    )
    .await;
    let shown = js(a, "return [...document.querySelectorAll('#chat-list .chat-line.msg .text')].map(e => e.textContent).pop()").await;
    assert_eq!(shown, xss, "chat is shown as text");
    assert_eq!(
        js(
            a,
            "return document.querySelectorAll('#chat-list img').length"
        )
        .await,
        0
    );
    assert_eq!(
        js(a, "return window.__xss === undefined").await,
        true,
        "no injected script ran"
    );

    // A follows the anchor from the room.
    click(a, "#follow").await;
    until(
        a,
        10,
        "following",
        "return document.getElementById('follow').textContent === 'Following'",
    )
    .await;
    let (_, followers) = s
        .get(
            &format!("/api/v1/users/{}/followers", anchor["user"]["id"]),
            None,
        )
        .await;
    assert_eq!(followers["items"][0]["username"], "viewer_a", "{followers}");
    browser_b
}

/// A gets coins and sends a gift; B sees it in the room, then walks the phone pages
/// (home, feed, studio). Returns A's user id and the seeded video's (when the server
/// has a feed).
async fn a_sends_a_gift_and_b_walks_the_phone_pages(
    t: &Tour,
    a: &Client,
    b: &Client,
) -> (i64, Option<i64>) {
    let s = &t.s;
    let admin = t.admin.as_str();
    let anchor = &t.anchor;
    let room_id = t.room_id;
    let gift = &t.gift;
    let driver = &t.driver;
    let (_, me_a) = s.get("/api/v1/admin/users?q=viewer_a", Some(admin)).await;
    let a_id = me_a["items"][0]["id"].as_i64().unwrap();
    let (status, _) = s
        .post(
            "/api/v1/admin/wallet/adjustments",
            Some(admin),
            json!({"user_id": a_id, "asset": "coin", "amount": 100, "reason": "test coins", "idempotency_key": "coins-a"}),
        )
        .await;
    assert_eq!(status, 201);
    a.refresh().await.unwrap();
    until(
        a,
        10,
        "the wallet",
        "return document.getElementById('coins')?.textContent.includes('100')",
    )
    .await;
    until(
        a,
        30,
        "the video after reload",
        "return document.getElementById('video').currentTime > 0.5",
    )
    .await;
    click(a, &format!("button.gift[data-gift-id=\"{}\"]", gift["id"])).await;
    until(
        b,
        10,
        "A's gift in B's chat",
        "return [...document.querySelectorAll('#chat-list .chat-line.chat-gift')].some(e => e.textContent.includes('Rose'))",
    )
    .await;
    until(
        a,
        10,
        "the wallet after the gift",
        "return document.getElementById('coins')?.textContent.includes('95')",
    )
    .await;
    shot(a, "room-desktop").await;
    shot(b, "room-phone").await;

    // The home page on a phone, and the other pages.
    b.goto(&s.url("/")).await.unwrap();
    until(
        b,
        10,
        "cards on the phone",
        "return document.querySelectorAll('a.room-card').length >= 2",
    )
    .await;
    shot(b, "home-phone").await;
    // The short-video feed, when this server serves one; else the page says so.
    let (feed_status, _) = s.get("/api/v1/feed", None).await;
    let video_id = if feed_status == 404 {
        b.goto(&s.url("/videos")).await.unwrap();
        until(
            b,
            10,
            "the feed's 'not available' state",
            "return document.getElementById('feed-state-title').textContent.includes('not available')",
        )
        .await;
        None
    } else {
        let state = s.app_state().await;
        let seed = common::seed::Seed {
            description: "late night practice".into(),
            hashtags: vec!["guitar".into()],
            ..common::seed::Seed::titled("<u>Riff</u> #1")
        };
        let id = common::seed::video(&state, anchor["user"]["id"].as_i64().unwrap(), seed).await;
        state.store().close().await;
        // The feed reads a list refreshed in the background: wait until it has the video.
        for _ in 0..100 {
            let (_, feed) = s.get("/api/v1/feed", None).await;
            if feed["items"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["id"] == id))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        b.goto(&s.url("/videos")).await.unwrap();
        let item = format!("article.feed-item[data-video-id=\"{id}\"]");
        until(
            b,
            10,
            "the seeded video in the feed",
            &format!("return document.querySelector('{item}') !== null"),
        )
        .await;
        assert_eq!(
            js(
                b,
                &format!("return document.querySelector('{item} .feed-title').textContent")
            )
            .await,
            "<u>Riff</u> #1"
        );
        click(b, &format!("{item} button.side-btn")).await;
        until(
            b,
            10,
            "the like",
            &format!("return document.querySelector('{item} button.side-btn.on') !== null"),
        )
        .await;
        let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
        assert_eq!(v["like_count"], 1, "{v}");
        Some(id)
    };
    shot(b, "videos-phone").await;
    b.goto(&s.url("/studio")).await.unwrap();
    until(
        b,
        10,
        "the studio",
        "return document.getElementById('studio-title') !== null",
    )
    .await;
    shot(b, "studio-phone").await;
    b.goto(&s.url(&format!("/rooms/{room_id}"))).await.unwrap();
    until(
        b,
        10,
        "B's chat again",
        "return !document.getElementById('chat-form').hidden",
    )
    .await;
    // B, not an admin, is refused the console.
    let c_check = browser(driver, &tempfile::tempdir().unwrap(), DESKTOP).await;
    c_check.goto(&s.url("/admin")).await.unwrap();
    assert!(c_check.source().await.unwrap().contains("Admins only"));
    c_check.close().await.unwrap();
    (a_id, video_id)
}

/// An admin signs in; the console's pages.
async fn the_admin_opens_the_console(t: &Tour, pc: &tempfile::TempDir) -> Client {
    let s = &t.s;
    let driver = &t.driver;
    let browser_c = browser(driver, pc, DESKTOP).await;
    let c = &browser_c;
    c.goto(&s.url("/login?next=/admin")).await.unwrap();
    fill(c, "#username", "boss").await;
    fill(c, "#password", "admin-password").await;
    click(c, "#auth-submit").await;
    until(
        c,
        10,
        "the dashboard",
        "return document.querySelector('#stat-users .stat-value')?.textContent",
    )
    .await;
    assert_eq!(c.current_url().await.unwrap().path(), "/admin");
    let users = js(
        c,
        "return document.querySelector('#stat-users .stat-value').textContent",
    )
    .await;
    assert_eq!(users, "5");
    let live = js(
        c,
        "return document.querySelector('#stat-live .stat-value').textContent",
    )
    .await;
    assert_eq!(live, "2");
    assert!(
        js(
            c,
            "return document.querySelectorAll('svg.chart rect.bar').length"
        )
        .await
        .as_u64()
        .unwrap()
            >= 14
    );
    shot(c, "admin-dashboard-desktop").await;
    browser_c
}

/// The admin cuts the stream; the viewer's page says so.
async fn the_admin_cuts_the_stream(
    t: &Tour,
    a: &Client,
    b: &Client,
    c: &Client,
    publisher: tokio::task::JoinHandle<()>,
) {
    let room_id = t.room_id;
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='rooms']").await;
    let row = format!("//tr[td[1][normalize-space()='{room_id}']]");
    click_xpath(c, &format!("{row}//button[normalize-space()='Watch']")).await;
    until(
        c,
        30,
        "the admin's player",
        "const v = document.querySelector('.watch-video'); return v && v.currentTime > 0.3",
    )
    .await;
    shot(c, "admin-rooms-desktop").await;
    click_xpath(c, &format!("{row}//button[normalize-space()='Cut']")).await;
    click_xpath(
        c,
        &format!("{row}//button[starts-with(normalize-space(),'Confirm cut')]"),
    )
    .await;
    until(
        a,
        10,
        "the cut on A's page",
        "const o = document.getElementById('overlay'); return !o.hidden && o.textContent.includes('stopped by a moderator')",
    )
    .await;
    until(
        b,
        10,
        "the cut on B's page",
        "return !document.getElementById('overlay').hidden",
    )
    .await;
    shot(a, "room-cut-desktop").await;
    let _ = tokio::time::timeout(Duration::from_secs(5), publisher).await;
}

/// The admin bans B; B's page shows it and B is signed out.
async fn the_admin_bans_b_and_works_the_wallet(t: &Tour, b: &Client, c: &Client, a_id: i64) {
    let s = &t.s;
    let admin = t.admin.as_str();
    let anchor = &t.anchor;
    let anchor_token = t.anchor_token.as_str();
    c.goto(&s.url("/admin/users?q=viewer_b")).await.unwrap();
    let b_row = "//tr[td[2][contains(., '@viewer_b')]]";
    click_xpath(c, &format!("{b_row}//button[normalize-space()='Ban']")).await;
    click_xpath(
        c,
        &format!("{b_row}//button[starts-with(normalize-space(),'Confirm ban')]"),
    )
    .await;
    until(
        b,
        10,
        "the ban on B's page",
        "return !document.getElementById('banned-banner').hidden",
    )
    .await;
    until(
        b,
        10,
        "B signed out",
        "return document.getElementById('login-link') !== null",
    )
    .await;
    shot(b, "room-banned-phone").await;
    until(c, 10, "B shown as banned", &format!("return document.evaluate(\"{b_row}//span[normalize-space()='banned']\", document, null, 9, null).singleNodeValue !== null")).await;
    shot(c, "admin-users-desktop").await;

    // The account page of B, from the list.
    click_xpath(c, &format!("{b_row}//button[normalize-space()='View']")).await;
    until(
        c,
        10,
        "B's account",
        "return document.querySelector('#user-detail h2')?.textContent === 'viewer_b'",
    )
    .await;

    // A gift made in the catalogue editor.
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='gifts']").await;
    fill(c, "input[name=gname]", "Crown").await;
    fill(c, "input[name=price]", "99").await;
    click_xpath(c, "//button[normalize-space()='Create']").await;
    until(
        c,
        10,
        "the new gift",
        "return [...document.querySelectorAll('table.data input')].some(e => e.value === 'Crown')",
    )
    .await;

    // A balance adjusted with its reason, found in the ledger.
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='wallet']").await;
    let form = "#adjust-form";
    fill(c, &format!("{form} input[name=user]"), &a_id.to_string()).await;
    fill(c, &format!("{form} input[name=amount]"), "7").await;
    click(c, &format!("{form} button[type=submit]")).await;
    assert_eq!(
        js(
            c,
            "return document.querySelector('#adjust-form input[name=reason]').validity.valid"
        )
        .await,
        false,
        "the reason is required"
    );
    fill(
        c,
        &format!("{form} input[name=reason]"),
        "apology for the outage",
    )
    .await;
    click(c, &format!("{form} button[type=submit]")).await;
    until(
        c,
        10,
        "the adjustment in the ledger",
        "return [...document.querySelectorAll('table.data td')].some(e => e.textContent === 'by boss: apology for the outage')",
    )
    .await;

    // A withdrawal approved.
    let anchor_id = anchor["user"]["id"].as_i64().unwrap();
    let (status, _) = s
        .post(
            "/api/v1/admin/wallet/adjustments",
            Some(admin),
            json!({"user_id": anchor_id, "asset": "diamond", "amount": 300, "reason": "test diamonds", "idempotency_key": "dia-1"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, w) = s
        .post(
            "/api/v1/wallet/withdrawals",
            Some(anchor_token),
            json!({"diamonds": 200, "account": "bank 6222", "idempotency_key": "w-1"}),
        )
        .await;
    assert_eq!(status, 201, "{w}");
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='withdrawals']").await;
    let w_id = w["withdrawal"]["id"].as_i64().unwrap();
    let w_row = format!("//tr[td[1][normalize-space()='{w_id}']]");
    click_xpath(c, &format!("{w_row}//button[normalize-space()='Approve']")).await;
    click_xpath(
        c,
        &format!("{w_row}//button[starts-with(normalize-space(),'Confirm approve')]"),
    )
    .await;
    until(
        c,
        10,
        "the queue emptied",
        "return document.querySelector('.empty-row') !== null",
    )
    .await;
    let (_, paid) = s
        .get("/api/v1/admin/withdrawals?state=paid", Some(admin))
        .await;
    assert_eq!(paid["items"][0]["id"], w_id, "{paid}");
}

/// An announcement from the console reaches the viewer's page at once.
async fn an_announcement_reaches_the_viewer(a: &Client, c: &Client) {
    click_xpath(
        c,
        "//nav[@id='admin-nav']//a[@data-section='announcements']",
    )
    .await;
    fill(c, "input[name=atitle]", "Maintenance tonight").await;
    fill(
        c,
        "textarea[name=abody]",
        "<b>momo</b> restarts at 02:00 for five minutes.",
    )
    .await;
    click_xpath(c, "//button[normalize-space()='Send to everyone']").await;
    until(
        a,
        10,
        "the announcement on A's page",
        "const b = document.getElementById('announcement'); return !b.hidden && b.textContent.includes('<b>momo</b> restarts')",
    )
    .await;
    shot(a, "room-announcement-desktop").await;
}

/// A word added in the console is masked in the room's chat at once.
async fn a_word_is_masked_and_a_report_decided(
    t: &Tour,
    a: &Client,
    c: &Client,
    video_id: Option<i64>,
) {
    let s = &t.s;
    let admin = t.admin.as_str();
    let anchor_token = t.anchor_token.as_str();
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='words']").await;
    fill(c, "#word-input", "spoiler").await;
    click_xpath(c, "//button[normalize-space()='Add']").await;
    until(c, 10, "the word listed", "return [...document.querySelectorAll('.chip')].some(e => e.textContent.includes('spoiler'))").await;
    assert_eq!(
        js(
            c,
            "return document.getElementById('admin-view').textContent.includes('null')"
        )
        .await,
        false
    );
    fill(a, "#chat-input", "no SPOILER please").await;
    click(a, "#chat-send").await;
    until(
        a,
        10,
        "the masked message",
        "return [...document.querySelectorAll('#chat-list .chat-line.msg .text')].some(e => e.textContent === 'no ******* please')",
    )
    .await;

    // The audit log has it all, with the admin's name.
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='audit']").await;
    until(
        c,
        10,
        "the audit log",
        "return document.querySelectorAll('table.data tbody tr').length >= 4",
    )
    .await;
    let actions = js(c, "return [...document.querySelectorAll('table.data tbody tr td:nth-child(3)')].map(e => e.textContent)").await;
    let actions: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..8],
        [
            "word.add",
            "announcement.create",
            "withdrawal.approve",
            "wallet.adjust",
            "wallet.adjust",
            "gift.create",
            "user.ban",
            "room.cut"
        ],
        "{actions:?}"
    );
    shot(c, "admin-audit-desktop").await;
    for (section, name) in [
        ("gifts", "admin-gifts-desktop"),
        ("wallet", "admin-wallet-desktop"),
        ("words", "admin-words-desktop"),
        ("videos", "admin-videos-desktop"),
    ] {
        click_xpath(
            c,
            &format!("//nav[@id='admin-nav']//a[@data-section='{section}']"),
        )
        .await;
        until(
            c,
            10,
            section,
            "return document.querySelector('#admin-view .loading') === null",
        )
        .await;
        shot(c, name).await;
    }
    // The moderation queue: a reported video hidden from the console.
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='reports']").await;
    match video_id {
        None => {
            until(
                c,
                10,
                "reports not available",
                "return document.querySelector('.unavailable') !== null",
            )
            .await;
            shot(c, "admin-reports-desktop").await;
        }
        Some(id) => {
            let (status, r) = s
                .post(
                    "/api/v1/reports",
                    Some(anchor_token),
                    json!({"target_kind": "video", "target_id": id, "reason": "spam <script>"}),
                )
                .await;
            assert_eq!(status, 201, "{r}");
            c.refresh().await.unwrap();
            let row = format!("//tr[td[1][normalize-space()='{}']]", r["id"]);
            c.wait().for_element(Locator::XPath(&row)).await.unwrap();
            shot(c, "admin-reports-desktop").await;
            click_xpath(c, &format!("{row}//button[normalize-space()='Hide']")).await;
            click_xpath(
                c,
                &format!("{row}//button[starts-with(normalize-space(),'Confirm hide')]"),
            )
            .await;
            until(
                c,
                10,
                "the queue emptied",
                "return document.querySelector('.empty-row') !== null",
            )
            .await;
            let (_, v) = s.get("/api/v1/admin/videos?hidden=true", Some(admin)).await;
            assert_eq!(v["items"][0]["id"], id, "{v}");
            let (_, audit) = s
                .get("/api/v1/admin/audit?action=report", Some(admin))
                .await;
            assert_eq!(audit["items"][0]["action"], "report.resolve", "{audit}");
            assert_eq!(audit["items"][0]["detail"]["action"], "hidden", "{audit}");
        }
    }
    resize(c, PHONE).await;
    click_xpath(c, "//nav[@id='admin-nav']//a[@data-section='dashboard']").await;
    until(
        c,
        10,
        "the dashboard on a phone",
        "return document.querySelector('#stat-users') !== null",
    )
    .await;
    shot(c, "admin-dashboard-phone").await;
}

#[tokio::test]
async fn signing_in_never_sends_the_visitor_off_site() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    s.register("redirected").await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver, &profile, DESKTOP).await;
    let origin = s.base.clone();
    // Each looks like a path as text; the browser's URL parser reads most as another host.
    for (next, lands) in [
        ("/%09/evil.example/phish", "/"),
        ("/%0A/evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/%5Cevil.example/phish", "/"),
        ("https://evil.example/phish", "/"),
        ("javascript:alert(1)", "/"),
        ("/admin?from=login", "/admin"),
    ] {
        b.goto(&s.url(&format!("/login?next={next}")))
            .await
            .unwrap();
        fill(&b, "#username", "redirected").await;
        fill(&b, "#password", "password-123").await;
        click(&b, "#auth-submit").await;
        until(
            &b,
            10,
            "leaving the login page",
            "return location.pathname !== '/login'",
        )
        .await;
        let at = js(&b, "return [location.origin, location.pathname]").await;
        assert_eq!(at[0], origin.as_str(), "next={next} left the site: {at}");
        assert_eq!(at[1], lands, "next={next}");
        b.delete_all_cookies().await.unwrap();
    }
    b.close().await.unwrap();
    drop(driver);
    s.stop().await;
}

/// goim's own browser client (`examples/javascript/client.js` of goim), given as a file by
/// `MOMO_TEST_GOIM_CLIENT`: it is goim's code, so momo does not carry a copy.
fn goim_client() -> Option<String> {
    let path = std::env::var("MOMO_TEST_GOIM_CLIENT")
        .ok()
        .filter(|p| !p.is_empty());
    match path.map(|p| (std::fs::read_to_string(&p), p)) {
        Some((Ok(src), _)) => Some(src),
        Some((Err(e), p)) => panic!("MOMO_TEST_GOIM_CLIENT={p}: {e}"),
        None => {
            eprintln!(
                "\n*** SKIPPED: goim's browser client. Set MOMO_TEST_GOIM_CLIENT to the path of \
                 goim's examples/javascript/client.js to run it. ***\n"
            );
            None
        }
    }
}

#[tokio::test]
async fn goims_own_browser_client_connects_with_only_its_url_changed() {
    if !enabled() {
        return;
    }
    let Some(src) = goim_client() else { return };
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("ops").await;
    // The client's auth body says it is member 123: make the next account number 123.
    let db = format!("sqlite://{}", s.data_dir().join("momo.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE sqlite_sequence SET seq = 122 WHERE name = 'users'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let u = s.register("goimweb").await;
    assert_eq!(u.id, 123);
    let url = format!(
        "{}/sub?token={}",
        s.base.replace("http://", "ws://"),
        u.token
    );
    let original = "'ws://sh.tony.wiki:3102/sub'";
    assert!(
        src.contains(original),
        "goim's client.js names its server as expected"
    );
    let changed = src.replace(original, &format!("'{url}'"));

    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver, &profile, DESKTOP).await;
    // goim's index.html, in short: a status, a box, and the client.
    b.goto(&s.url("/")).await.unwrap();
    b.execute(
        "document.body.innerHTML = '<span id=\"status\"></span><div id=\"box\"></div>';\
         (0, eval)(arguments[0]);\
         window.notified = [];\
         window.client = new MyClient({notify: function(d) { window.notified.push(d); }});",
        vec![json!(changed)],
    )
    .await
    .unwrap();
    until(
        &b,
        10,
        "the auth reply",
        "return document.getElementById('status').textContent === 'ok'",
    )
    .await;
    until(
        &b,
        10,
        "a heartbeat reply",
        "return document.getElementById('box').textContent.includes('receive: heartbeat reply')",
    )
    .await;
    // goim's example pushes from its index.html, verbatim but for the host.
    for (path, message) in [
        ("/goim/push/mids?operation=1000&mids=123", "mid message"),
        (
            "/goim/push/room?operation=1000&type=live&room=1000",
            "room message",
        ),
        ("/goim/push/all?operation=1000", "broadcast message"),
    ] {
        let res = s
            .client
            .post(s.url(path))
            .bearer_auth(&admin)
            .body(message)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let seen = format!("return window.notified.includes('{message}')");
        until(&b, 10, message, &seen).await;
    }
    b.close().await.unwrap();
    drop(driver);
    s.stop().await;
}

fn ffmpeg_enabled() -> bool {
    if std::env::var("MOMO_TEST_FFMPEG").is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: the browser tests that post real videos. Set MOMO_TEST_FFMPEG=1 \
         (with ffmpeg installed) as well. ***\n"
    );
    false
}

/// A browser of its own (profile and size) signed in as `username` (registered here).
pub(crate) async fn signed_in(
    s: &common::TestServer,
    driver: &Driver,
    username: &str,
    size: (u32, u32),
) -> (Client, tempfile::TempDir, common::User) {
    let user = s.register(username).await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver, &profile, size).await;
    c.goto(&s.url("/login")).await.unwrap();
    fill(&c, "#username", username).await;
    fill(&c, "#password", "password-123").await;
    click(&c, "#auth-submit").await;
    until(
        &c,
        10,
        "the signed-in header",
        "return document.getElementById('me-link') !== null",
    )
    .await;
    (c, profile, user)
}

/// Nothing sticks out sideways (a phone page that scrolls sideways hides its edges).
async fn fits_the_width(c: &Client, page: &str) {
    let wide = js(
        c,
        "return document.documentElement.scrollWidth - window.innerWidth",
    )
    .await;
    assert!(
        wide.as_i64().unwrap_or(1) <= 0,
        "{page} is wider than the screen by {wide} px"
    );
}

/// A new user meets an empty feed that invites them to post, posts a landscape clip
/// from the upload page (progress, then processing, then ready), and finds it on their
/// Me page; there they edit their profile, top up through the package picker, ask to
/// withdraw diamonds, and make a new stream key. At desktop and phone sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_posts_a_video_and_runs_their_account_from_the_me_page() {
    if !enabled() || !ffmpeg_enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("boss").await;
    let driver = start_driver().await;
    let clips = tempfile::tempdir().unwrap();
    common::videos::make_clip(
        clips.path(),
        "landscape.mp4",
        2,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    );
    for (size, who) in [(DESKTOP, "desk"), (PHONE, "phone")] {
        let (c, _profile, user) = signed_in(&s, &driver, &format!("poster_{who}"), size).await;
        if who == "desk" {
            the_empty_feed_invites_a_post(&s, &c).await;
        } else {
            c.goto(&s.url("/upload")).await.unwrap();
        }
        let title = format!("Test pattern from {who}");
        let video = a_video_is_posted_from_the_upload_page(&s, &c, &clips, who, &title).await;
        the_me_page_edits_the_profile_and_lists_the_video(&s, &c, &user, video, who).await;
        the_me_page_tops_up_withdraws_and_rotates_the_key(&s, &c, &admin, &user, who).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}

async fn the_empty_feed_invites_a_post(s: &common::TestServer, c: &Client) {
    c.goto(&s.url("/videos")).await.unwrap();
    until(
        c,
        10,
        "the empty feed's invitation",
        "return document.getElementById('feed-post')?.getAttribute('href') === '/upload'",
    )
    .await;
    shot(c, "videos-empty-desktop").await;
    click(c, "#feed-post").await;
    until(
        c,
        10,
        "the upload page",
        "return location.pathname === '/upload' && !document.getElementById('upload-form').hidden",
    )
    .await;
}

async fn a_video_is_posted_from_the_upload_page(
    s: &common::TestServer,
    c: &Client,
    clips: &tempfile::TempDir,
    who: &str,
    title: &str,
) -> i64 {
    until(
        c,
        10,
        "the upload form",
        "return !document.getElementById('upload-form').hidden",
    )
    .await;
    fits_the_width(c, "the upload page").await;
    shot(c, &format!("upload-{who}")).await;
    let file = clips.path().join("landscape.mp4");
    c.find(Locator::Css("#upload-file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    fill(c, "#upload-title", title).await;
    fill(
        c,
        "#upload-description",
        "colour bars and a tone #calibration",
    )
    .await;
    click(c, "#upload-submit").await;
    until(
        c,
        30,
        "the video to be processed",
        "return document.getElementById('upload-done') !== null",
    )
    .await;
    let id: i64 = js(
        c,
        "return document.getElementById('upload-form').dataset.videoId",
    )
    .await
    .as_str()
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(
        js(c, "return document.getElementById('upload-bar').value").await,
        100
    );
    let state = js(
        c,
        "return document.getElementById('upload-state').textContent",
    )
    .await;
    assert_eq!(state, "Ready.");
    shot(c, &format!("upload-done-{who}")).await;
    let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["title"], title);
    assert_eq!(v["hashtags"][0], "calibration", "{v}");
    id
}

async fn the_me_page_edits_the_profile_and_lists_the_video(
    s: &common::TestServer,
    c: &Client,
    user: &common::User,
    video: i64,
    who: &str,
) {
    click(c, "#me-link").await;
    until(
        c,
        10,
        "the Me page",
        "return location.pathname === '/me' && document.getElementById('profile-nickname').value !== ''",
    )
    .await;
    let item = format!("li.my-video[data-video-id=\"{video}\"]");
    until(
        c,
        10,
        "the posted video among mine",
        &format!("return document.querySelector('{item}')?.dataset.status === 'ready'"),
    )
    .await;
    fill(c, "#profile-nickname", &format!("Poster {who}")).await;
    fill(c, "#profile-bio", "I post <b>test patterns</b>").await;
    fill(c, "#profile-avatar", "not a url").await;
    click(c, "#profile-save").await;
    until(
        c,
        10,
        "the refused avatar URL",
        "const e = document.getElementById('profile-error'); return !e.hidden && e.textContent.includes('avatar')",
    )
    .await;
    fill(c, "#profile-avatar", "https://example.com/me.png").await;
    click(c, "#profile-save").await;
    until(
        c,
        10,
        "the new nickname in the header",
        &format!("return document.getElementById('me-name')?.textContent === 'Poster {who}'"),
    )
    .await;
    let (_, me) = s.get("/api/v1/users/me", Some(&user.token)).await;
    assert_eq!(me["nickname"], format!("Poster {who}"));
    assert_eq!(me["bio"], "I post <b>test patterns</b>");
    assert_eq!(me["avatar_url"], "https://example.com/me.png");
    fits_the_width(c, "the Me page").await;
    js(c, "window.scrollTo(0, 0); return true").await;
    shot(c, &format!("me-profile-{who}")).await;
}

async fn the_me_page_tops_up_withdraws_and_rotates_the_key(
    s: &common::TestServer,
    c: &Client,
    admin: &str,
    user: &common::User,
    who: &str,
) {
    // Top up: pick the second package, confirm, and the coins arrive.
    let (_, packages) = s.get("/api/v1/wallet/recharge/packages", None).await;
    assert_eq!(packages[0]["providers"][0], "dev", "{packages}");
    let second = &packages[1];
    click(c, "#topup").await;
    until(
        c,
        10,
        "the package picker",
        "return document.getElementById('topup-dialog')?.open",
    )
    .await;
    shot(c, &format!("topup-picker-{who}")).await;
    click(
        c,
        &format!(
            "label.package[data-package-id=\"{}\"] input",
            second["id"].as_str().unwrap()
        ),
    )
    .await;
    click(c, "#topup-next").await;
    let summary = until(
        c,
        10,
        "the confirmation",
        "return document.getElementById('topup-summary')?.textContent",
    )
    .await;
    assert!(
        summary
            .as_str()
            .unwrap()
            .starts_with(&format!("{} coins for", second["coins"])),
        "{summary}"
    );
    let (_, before) = s.get("/api/v1/wallet", Some(&user.token)).await;
    assert_eq!(
        before["coins"], 0,
        "nothing is bought before the confirmation"
    );
    click(c, "#topup-pay").await;
    until(
        c,
        10,
        "the coins on the page",
        &format!(
            "return document.getElementById('bal-coins').title === '{}'",
            second["coins"]
        ),
    )
    .await;
    until(
        c,
        10,
        "the top-up in the history",
        "return [...document.querySelectorAll('#ledger .ledger-row')].some(e => e.textContent.includes('Top up'))",
    )
    .await;

    // Diamonds (from an operator here; gifts in real life) asked to be paid out.
    let (status, _) = s
        .post(
            "/api/v1/admin/wallet/adjustments",
            Some(admin),
            json!({"user_id": user.id, "asset": "diamond", "amount": 500, "reason": "test diamonds", "idempotency_key": format!("dia-{who}")}),
        )
        .await;
    assert_eq!(status, 201);
    c.refresh().await.unwrap();
    until(
        c,
        10,
        "the diamonds",
        "return document.getElementById('bal-diamonds').title === '500'",
    )
    .await;
    fill(c, "#withdraw-diamonds", "300").await;
    fill(c, "#withdraw-account", "bank 6222 0000").await;
    click(c, "#withdraw-submit").await;
    until(
        c,
        10,
        "the withdrawal listed",
        "return [...document.querySelectorAll('#withdrawals .ledger-row')].some(e => e.textContent.includes('waiting for an operator'))",
    )
    .await;
    assert_eq!(
        js(c, "return document.getElementById('bal-held').textContent").await,
        "300"
    );
    let (_, mine) = s.get("/api/v1/wallet/withdrawals", Some(&user.token)).await;
    assert_eq!(mine["items"][0]["account"], "bank 6222 0000", "{mine}");

    // A new stream key, after a second click; the old one is gone.
    let (_, room) = s.post("/api/v1/rooms", Some(&user.token), json!({})).await;
    let old_key = room["stream_key"].as_str().unwrap().to_string();
    click(c, "#key-rotate").await;
    assert_eq!(
        js(c, "return document.getElementById('new-stream-key')").await,
        Value::Null,
        "one click only arms the button"
    );
    click(c, "#key-rotate").await;
    let new_key = until(
        c,
        10,
        "the new key",
        "return document.getElementById('new-stream-key')?.value",
    )
    .await;
    let (_, room) = s.post("/api/v1/rooms", Some(&user.token), json!({})).await;
    assert_eq!(room["stream_key"], new_key);
    assert_ne!(new_key, old_key.as_str());
    fits_the_width(c, "the Me page").await;
    shot(c, &format!("me-{who}")).await;
}

/// A live room's page at desktop and phone sizes: one audience number, shown only while
/// live and updated as people come; an empty chat says so; a message refused by the
/// rate limit stays in the box; the balance and Top up stay on screen beside a long
/// gift bar; the player's library is loaded only once something plays; and a room that
/// does not exist shows no gifts and joins no chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_page_counts_one_audience_and_keeps_refused_messages() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.chat.send_per_sec = 1;
    })
    .await;
    let admin = s.admin_token("boss").await;
    for (name, price) in [
        ("Rose", 1),
        ("Star", 5),
        ("Heart", 10),
        ("Cake", 50),
        ("Crown", 100),
        ("Rocket", 500),
        ("Tower", 1000),
        ("Planet", 5000),
    ] {
        let (status, _) = s
            .post(
                "/api/v1/admin/gifts",
                Some(&admin),
                json!({"name": name, "price_coins": price}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let driver = start_driver().await;
    for (size, who) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        let anchor = s.register(&format!("anchor_{who}")).await;
        let (_, room) = s
            .post(
                "/api/v1/rooms",
                Some(&anchor.token),
                json!({"title": format!("Room for the {who}")}),
            )
            .await;
        let room_id = room["id"].as_i64().unwrap();
        let (c, _profile, viewer) = signed_in(&s, &driver, &format!("fan_{who}"), size).await;
        let (status, _) = s
            .post(
                "/api/v1/admin/wallet/adjustments",
                Some(&admin),
                json!({"user_id": viewer.id, "asset": "coin", "amount": 1234, "reason": "test coins", "idempotency_key": format!("coins-{who}")}),
            )
            .await;
        assert_eq!(status, 201);
        an_offline_room_loads_no_player_and_says_its_chat_is_empty(&s, &c, room_id, who).await;
        a_refused_message_stays_in_the_box(&c).await;
        the_balance_stays_beside_the_gifts(&c, who).await;
        the_audience_is_one_number_that_follows_the_room(&s, &c, &driver, room_id, who).await;
        a_missing_room_shows_no_gifts_and_joins_no_chat(&s, &c, who).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}

async fn an_offline_room_loads_no_player_and_says_its_chat_is_empty(
    s: &common::TestServer,
    c: &Client,
    room_id: i64,
    who: &str,
) {
    c.goto(&s.url(&format!("/rooms/{room_id}"))).await.unwrap();
    until(
        c,
        10,
        "the offline room",
        "return document.getElementById('room-status').textContent === 'offline'",
    )
    .await;
    until(
        c,
        10,
        "the empty chat's line",
        "const e = document.getElementById('chat-empty'); return !e.hidden && e.textContent === 'No messages yet — say hi'",
    )
    .await;
    assert_eq!(
        js(c, "return document.getElementById('audience').hidden").await,
        true,
        "an offline room shows nobody watching"
    );
    assert_eq!(
        js(
            c,
            "return [window.mpegts === undefined, window.Hls === undefined, document.querySelectorAll('script[src*=\"/vendor/\"]').length]"
        )
        .await,
        json!([true, true, 0]),
        "no player library is loaded while nothing plays"
    );
    shot(c, &format!("room-offline-empty-{who}")).await;
}

async fn a_refused_message_stays_in_the_box(c: &Client) {
    until(
        c,
        10,
        "the chat box",
        "return !document.getElementById('chat-form').hidden",
    )
    .await;
    // Four at once: the limit (one a second, two in a burst) refuses the last ones.
    js(
        c,
        "const i = document.getElementById('chat-input'), f = document.getElementById('chat-form');
         for (const n of [0, 1, 2, 3]) { i.value = 'message ' + n; f.requestSubmit(); }
         return true",
    )
    .await;
    until(
        c,
        10,
        "the refusal",
        "const t = document.getElementById('toast'); return !t.hidden && t.textContent.includes('Slow down')",
    )
    .await;
    until(
        c,
        10,
        "the first message in the chat",
        "return [...document.querySelectorAll('#chat-list .chat-line.msg .text')].some(e => e.textContent === 'message 0')",
    )
    .await;
    assert_eq!(
        js(c, "return document.getElementById('chat-input').value").await,
        "message 3",
        "the refused message is kept"
    );
    assert_eq!(
        js(c, "return document.getElementById('chat-empty').hidden").await,
        true
    );
    // Sent again once the limit allows, it goes out and the box empties.
    until(
        c,
        10,
        "the kept message sent",
        "const i = document.getElementById('chat-input');
         if (i.value) document.getElementById('chat-form').requestSubmit();
         return [...document.querySelectorAll('#chat-list .chat-line.msg .text')].some(e => e.textContent === 'message 3') && i.value === ''",
    )
    .await;
}

async fn the_balance_stays_beside_the_gifts(c: &Client, who: &str) {
    until(
        c,
        10,
        "the balance",
        "return document.getElementById('coins')?.textContent.includes('1.2k') && document.getElementById('topup') !== null",
    )
    .await;
    let boxes = js(
        c,
        "return ['coins', 'topup'].map(id => { const r = document.getElementById(id).getBoundingClientRect();
           return r.left >= 0 && r.right <= window.innerWidth && r.width > 0; })",
    )
    .await;
    assert_eq!(
        boxes,
        json!([true, true]),
        "{who}: balance and Top up on screen"
    );
    fits_the_width(c, "the room page").await;
    // The default catalogue's gifts show their own pictures.
    until(
        c,
        10,
        "the gifts' pictures",
        "return [...document.querySelectorAll('#gift-list img.gift-icon')].some(i => i.getAttribute('src') === '/assets/gifts/castle.svg' && i.naturalWidth > 0)",
    )
    .await;
}

async fn the_audience_is_one_number_that_follows_the_room(
    s: &common::TestServer,
    c: &Client,
    driver: &Driver,
    room_id: i64,
    who: &str,
) {
    let _live = s.go_live(room_id).await;
    until(
        c,
        15,
        "the room live, with its audience",
        "return document.getElementById('room-status').textContent === 'live' && !document.getElementById('audience').hidden",
    )
    .await;
    until(
        c,
        10,
        "the HTTP-FLV player loaded",
        "return window.mpegts !== undefined && document.getElementById('video').dataset.tech === 'flv'",
    )
    .await;
    assert_eq!(
        js(c, "return window.Hls === undefined").await,
        true,
        "only the player that plays is loaded"
    );
    assert_eq!(
        js(
            c,
            "return document.querySelectorAll('#online, .chat-head .muted').length"
        )
        .await,
        0,
        "the chat shows no second count"
    );
    let (_, r) = s.get(&format!("/api/v1/rooms/{room_id}"), None).await;
    let before = r["viewers"].as_u64().unwrap();
    // Someone else comes in: the number follows without a reload.
    let other = browser(driver, &tempfile::tempdir().unwrap(), PHONE).await;
    other
        .goto(&s.url(&format!("/rooms/{room_id}")))
        .await
        .unwrap();
    until(
        &other,
        10,
        "the guest's chat",
        "return !document.getElementById('chat-guest').hidden",
    )
    .await;
    let after = before + 1;
    until(
        c,
        15,
        "the audience to grow",
        &format!("return document.getElementById('room-viewers').textContent === '{after}'"),
    )
    .await;
    let (_, r) = s.get(&format!("/api/v1/rooms/{room_id}"), None).await;
    assert_eq!(r["viewers"], after, "the page shows the room's own number");
    shot(c, &format!("room-audience-{who}")).await;
    other.close().await.unwrap();
}

async fn a_missing_room_shows_no_gifts_and_joins_no_chat(
    s: &common::TestServer,
    c: &Client,
    who: &str,
) {
    c.goto(&s.url("/rooms/999")).await.unwrap();
    until(
        c,
        10,
        "the no-such-room state",
        "return document.getElementById('overlay-text').textContent === 'There is no such room' && document.getElementById('chat-none') !== null",
    )
    .await;
    assert_eq!(
        js(
            c,
            "return [document.getElementById('gift-bar').hidden, document.getElementById('chat-form').hidden, document.getElementById('audience').hidden]"
        )
        .await,
        json!([true, true, true])
    );
    assert_eq!(
        s.gateway().online("999"),
        0,
        "nobody joined room 999's chat"
    );
    shot(c, &format!("room-missing-{who}")).await;
}

/// With no payment provider on, nothing can be bought, so no page offers to top up;
/// the balance is still shown. At desktop and phone sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_up_is_offered_only_when_a_payment_provider_is_on() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start_with(common::Backend::Sqlite, |c| {
        c.app.economy.dev_payments = false;
    })
    .await;
    let (_, packages) = s.get("/api/v1/wallet/recharge/packages", None).await;
    assert_eq!(packages[0]["providers"], json!([]), "{packages}");
    let anchor = s.register("anchor_np").await;
    let (_, room) = s
        .post("/api/v1/rooms", Some(&anchor.token), json!({}))
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let driver = start_driver().await;
    for (size, who) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        let (c, _profile, _user) = signed_in(&s, &driver, &format!("payless_{who}"), size).await;
        c.goto(&s.url(&format!("/rooms/{room_id}"))).await.unwrap();
        until(
            &c,
            10,
            "the balance",
            "return document.getElementById('coins') !== null",
        )
        .await;
        assert_eq!(
            js(&c, "return document.getElementById('topup')").await,
            Value::Null,
            "{who}: no Top up in the room"
        );
        assert_eq!(
            js(
                &c,
                "return document.getElementById('wallet-box').textContent.trim()"
            )
            .await,
            "0",
            "{who}: the balance alone"
        );
        c.goto(&s.url("/me")).await.unwrap();
        until(
            &c,
            10,
            "the balances",
            "return document.getElementById('bal-coins').textContent === '0'",
        )
        .await;
        assert_eq!(
            js(&c, "return document.getElementById('topup')").await,
            Value::Null,
            "{who}: no Top up on the Me page"
        );
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}
/// Waits until the feed lists `id` (it is refreshed in the background).
async fn in_the_feed(s: &common::TestServer, id: i64) {
    for _ in 0..100 {
        let (_, feed) = s.get("/api/v1/feed", None).await;
        if feed["items"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["id"] == id))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("video {id} never reached the feed");
}

/// The feed at desktop and phone sizes: a landscape video is shown whole; playing it
/// counts one view (not one per loop); the comments panel lists, takes a comment and a
/// reply (as text); share copies the video's link, which opens on that video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_counts_views_takes_comments_and_shares_links() {
    if !enabled() || !ffmpeg_enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let author = s.register("clip_author").await;
    let clips = tempfile::tempdir().unwrap();
    let bytes = common::videos::make_clip(
        clips.path(),
        "wide.mp4",
        2,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    );
    let (status, v) = common::videos::upload(
        &s,
        Some(&author.token),
        Some(("wide.mp4", bytes)),
        &[("title", "Wide test pattern")],
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    for _ in 0..300 {
        let (_, v) = s
            .get(&format!("/api/v1/videos/{id}"), Some(&author.token))
            .await;
        if v["status"] != "processing" {
            assert_eq!(v["status"], "ready", "{v}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    in_the_feed(&s, id).await;
    let driver = start_driver().await;
    for (n, (size, who)) in [(DESKTOP, "desktop"), (PHONE, "phone")]
        .into_iter()
        .enumerate()
    {
        let (c, _profile, _user) = signed_in(&s, &driver, &format!("watcher_{who}"), size).await;
        c.goto(&s.url("/videos")).await.unwrap();
        let item = format!("article.feed-item[data-video-id=\"{id}\"]");
        a_play_counts_one_view(&s, &c, &item, id, n as i64 + 1, who).await;
        comments_are_read_and_written_in_the_panel(&s, &c, &item, id, n, who).await;
        share_copies_a_link_that_opens_the_video(&s, &c, &item, id, n as i64 + 1).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}

async fn a_play_counts_one_view(
    s: &common::TestServer,
    c: &Client,
    item: &str,
    id: i64,
    views: i64,
    who: &str,
) {
    until(
        c,
        15,
        "the video playing, its view counted",
        &format!("return document.querySelector('{item} video')?.dataset.viewCounted === '1'"),
    )
    .await;
    // Shown whole: letterboxed, not cropped.
    let fit = js(
        c,
        &format!(
            "const v = document.querySelector('{item} video'); return [getComputedStyle(v).objectFit, v.closest('article').dataset.shape, v.getAttribute('aria-label')]"
        ),
    )
    .await;
    assert_eq!(fit[0], "contain", "{who}: {fit}");
    assert_eq!(fit[1], "landscape", "{who}: {fit}");
    assert!(fit[2].as_str().unwrap().contains("Wide test pattern"));
    shot(c, &format!("videos-landscape-{who}")).await;
    // The two-second clip loops; still one view.
    js(
        c,
        &format!(
            "window.__loops = 0; document.querySelector('{item} video').addEventListener('seeked', () => window.__loops++); return true"
        ),
    )
    .await;
    until(c, 15, "the clip to loop", "return window.__loops >= 1").await;
    let posts = js(
        c,
        "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/views')).length",
    )
    .await;
    assert_eq!(posts, 1, "{who}: one view per play");
    for _ in 0..100 {
        let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
        if v["view_count"] == views {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{who}: the view was never counted");
}

async fn comments_are_read_and_written_in_the_panel(
    s: &common::TestServer,
    c: &Client,
    item: &str,
    id: i64,
    before: usize,
    who: &str,
) {
    click(c, &format!("{item} button.comment-btn")).await;
    until(
        c,
        10,
        "the comments panel",
        "return !document.getElementById('comments').hidden && document.getElementById('comments-close') === document.activeElement",
    )
    .await;
    if before == 0 {
        until(
            c,
            10,
            "the empty panel",
            "return !document.getElementById('comments-empty').hidden",
        )
        .await;
    } else {
        // An earlier comment with its reply, opened on demand.
        click(c, "#comments-list button.replies-btn").await;
        until(
            c,
            10,
            "the earlier reply",
            "return document.querySelectorAll('#comments-list ol.replies li.comment').length === 1",
        )
        .await;
    }
    let text = format!("<b>nice</b> colours from {who}");
    fill(c, "#comment-input", &text).await;
    click(c, "#comment-send").await;
    until(
        c,
        10,
        "the comment listed",
        &format!(
            "return document.querySelector('#comments-list > li.comment .comment-body')?.textContent === '{text}'"
        ),
    )
    .await;
    click_xpath(
        c,
        "(//ol[@id='comments-list']/li[contains(@class,'comment')])[1]//button[normalize-space()='Reply']",
    )
    .await;
    until(
        c,
        10,
        "replying",
        "return !document.getElementById('comment-replying').hidden",
    )
    .await;
    fill(c, "#comment-input", "thanks!").await;
    click(c, "#comment-send").await;
    until(
        c,
        10,
        "the reply under the comment",
        "return document.querySelector('#comments-list > li.comment ol.replies .comment-body')?.textContent === 'thanks!'",
    )
    .await;
    assert_eq!(
        js(
            c,
            "return document.querySelectorAll('#comments-list b').length"
        )
        .await,
        0,
        "comments are text"
    );
    let count = 2 * (before + 1);
    // The button's count follows the reply's answer; wait for it rather than race it.
    until(
        c,
        10,
        "the comment button's count",
        &format!(
            "return document.querySelector('{item} button.comment-btn .count').textContent === '{count}'"
        ),
    )
    .await;
    let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
    assert_eq!(v["comment_count"], count, "{v}");
    shot(c, &format!("videos-comments-{who}")).await;
    click(c, "#comments-close").await;
}

async fn share_copies_a_link_that_opens_the_video(
    s: &common::TestServer,
    c: &Client,
    item: &str,
    id: i64,
    shares: i64,
) {
    click(c, &format!("{item} button.share-btn")).await;
    let link = until(
        c,
        10,
        "the copied link",
        &format!("return document.querySelector('{item} button.share-btn').dataset.copied"),
    )
    .await;
    assert_eq!(link, s.url(&format!("/videos?v={id}")).as_str());
    until(
        c,
        10,
        "the word that it was copied",
        "const t = document.getElementById('toast'); return !t.hidden && t.textContent.startsWith('Link copied')",
    )
    .await;
    for _ in 0..100 {
        let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
        if v["share_count"] == shares {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(link.as_str().unwrap()).await.unwrap();
    until(
        c,
        10,
        "the shared video first",
        &format!("return document.querySelector('#feed > article')?.dataset.videoId === '{id}'"),
    )
    .await;
    let (_, v) = s.get(&format!("/api/v1/videos/{id}"), None).await;
    assert_eq!(v["share_count"], shares, "{v}");
}

/// The console and the header for touch and for screen readers, at desktop and phone
/// sizes: every console control has a label, the tabs say which is chosen, the header's
/// links and buttons are big enough to hit on a phone, a watched stream's video is
/// named, and the console loads a player only when an operator watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_and_header_work_for_touch_and_screen_readers() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("boss").await;
    let anchor = s.register("anchor_a11y").await;
    let (_, room) = s
        .post(
            "/api/v1/rooms",
            Some(&anchor.token),
            json!({"title": "Labelled room"}),
        )
        .await;
    let room_id = room["id"].as_i64().unwrap();
    let _live = s.go_live(room_id).await;
    s.post(
        "/api/v1/admin/gifts",
        Some(&admin),
        json!({"name": "Rose", "price_coins": 5}),
    )
    .await;
    s.post(
        "/api/v1/admin/wallet/adjustments",
        Some(&admin),
        json!({"user_id": anchor.id, "asset": "diamond", "amount": 500, "reason": "test", "idempotency_key": "a11y"}),
    )
    .await;
    let (status, _) = s
        .post(
            "/api/v1/wallet/withdrawals",
            Some(&anchor.token),
            json!({"diamonds": 200, "account": "bank 1", "idempotency_key": "w-a11y"}),
        )
        .await;
    assert_eq!(status, 201);
    let driver = start_driver().await;
    for (size, who) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        let profile = tempfile::tempdir().unwrap();
        let c = browser(&driver, &profile, size).await;
        the_home_tabs_say_which_is_chosen(&s, &c, size).await;
        c.goto(&s.url("/login?next=/admin")).await.unwrap();
        fill(&c, "#username", "boss").await;
        fill(&c, "#password", "admin-password").await;
        click(&c, "#auth-submit").await;
        until(
            &c,
            10,
            "the dashboard",
            "return document.querySelector('#stat-users .stat-value') !== null",
        )
        .await;
        every_console_control_has_a_label(&s, &c).await;
        the_console_tabs_say_which_is_chosen(&s, &c).await;
        the_console_loads_a_player_only_to_watch(&s, &c, room_id).await;
        the_header_fits_a_thumb(&s, &c, size, who).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}

async fn the_home_tabs_say_which_is_chosen(s: &common::TestServer, c: &Client, size: (u32, u32)) {
    c.goto(&s.url("/")).await.unwrap();
    let selected = "return [...document.querySelectorAll('#order-tabs [role=tab]')].map(t => t.getAttribute('aria-selected'))";
    assert_eq!(js(c, selected).await, json!(["true", "false"]));
    click(c, "#order-tabs [data-order=new]").await;
    assert_eq!(js(c, selected).await, json!(["false", "true"]));
    if size == PHONE {
        the_header_buttons_are_tall_enough(c, "the guest's home page").await;
    }
    // A guest's Me and upload pages ask them to sign in.
    for (page, card) in [("/me", "me-signed-out"), ("/upload", "upload-signed-out")] {
        c.goto(&s.url(page)).await.unwrap();
        until(
            c,
            10,
            "the sign-in card",
            &format!("return !document.getElementById('{card}').hidden && document.getElementById('login-link') !== null"),
        )
        .await;
    }
}

async fn every_console_control_has_a_label(s: &common::TestServer, c: &Client) {
    let unlabelled = "return [...document.querySelectorAll('#admin-view input, #admin-view select, #admin-view textarea')]
        .filter(e => e.type !== 'hidden' && e.labels.length === 0)
        .map(e => e.name || e.placeholder || e.outerHTML)";
    let mut controls = 0;
    for section in [
        "",
        "users",
        "rooms",
        "gifts",
        "wallet",
        "withdrawals",
        "videos",
        "reports",
        "words",
        "announcements",
        "audit",
    ] {
        let path = if section.is_empty() {
            "/admin".to_string()
        } else {
            format!("/admin/{section}")
        };
        c.goto(&s.url(&path)).await.unwrap();
        until(
            c,
            10,
            "the section",
            "return document.querySelector('#admin-view .loading') === null && document.querySelector('#admin-view h1') !== null",
        )
        .await;
        if section == "users" {
            click_xpath(c, "(//button[normalize-space()='View'])[1]").await;
            until(
                c,
                10,
                "the account",
                "return document.querySelector('#user-detail input[name=pw]') !== null",
            )
            .await;
        }
        assert_eq!(
            js(c, unlabelled).await,
            json!([]),
            "/admin/{section} has controls without a label"
        );
        controls += js(
            c,
            "return document.querySelectorAll('#admin-view input, #admin-view select, #admin-view textarea').length",
        )
        .await
        .as_u64()
        .unwrap();
    }
    assert!(
        controls >= 14,
        "the console's controls were looked at: {controls}"
    );
}

async fn the_console_tabs_say_which_is_chosen(s: &common::TestServer, c: &Client) {
    c.goto(&s.url("/admin/withdrawals")).await.unwrap();
    let selected = "return [...document.querySelectorAll('#admin-view [role=tab][aria-selected=true]')].map(t => t.textContent)";
    until(
        c,
        10,
        "the withdrawal tabs",
        "return document.querySelectorAll('#admin-view [role=tab]').length === 4",
    )
    .await;
    assert_eq!(js(c, selected).await, json!(["pending"]));
    click_xpath(c, "//div[@role='tablist']/button[normalize-space()='paid']").await;
    until(
        c,
        10,
        "the paid tab chosen",
        "return [...document.querySelectorAll('#admin-view [role=tab][aria-selected=true]')].map(t => t.textContent).join() === 'paid'",
    )
    .await;
}

async fn the_console_loads_a_player_only_to_watch(
    s: &common::TestServer,
    c: &Client,
    room_id: i64,
) {
    c.goto(&s.url("/admin/rooms")).await.unwrap();
    let row = format!("//tr[td[1][normalize-space()='{room_id}']]");
    until(
        c,
        10,
        "the live room listed",
        &format!(
            "return document.evaluate(\"{row}\", document, null, 9, null).singleNodeValue !== null"
        ),
    )
    .await;
    assert_eq!(
        js(
            c,
            "return window.mpegts === undefined && window.Hls === undefined"
        )
        .await,
        true,
        "no player before anyone watches"
    );
    click_xpath(c, &format!("{row}//button[normalize-space()='Watch']")).await;
    let label = until(
        c,
        10,
        "the watched video",
        "return window.mpegts !== undefined && document.querySelector('.watch-video')?.getAttribute('aria-label')",
    )
    .await;
    assert!(label.as_str().unwrap().contains("Labelled room"), "{label}");
}

async fn the_header_fits_a_thumb(s: &common::TestServer, c: &Client, size: (u32, u32), who: &str) {
    if size != PHONE {
        return;
    }
    for page in ["/", "/videos", "/me", "/admin", "/studio"] {
        c.goto(&s.url(page)).await.unwrap();
        until(
            c,
            10,
            "the signed-in header",
            "return document.getElementById('me-link') !== null",
        )
        .await;
        the_header_buttons_are_tall_enough(c, page).await;
        fits_the_width(c, page).await;
    }
    shot(c, &format!("admin-header-{who}")).await;
}

async fn the_header_buttons_are_tall_enough(c: &Client, page: &str) {
    let short = js(
        c,
        "return [...document.querySelectorAll('header.topbar a, header.topbar button')]
           .map(e => [e.textContent.trim() || e.id || e.className, e.getBoundingClientRect()])
           .filter(([, r]) => r.width > 0 && (r.height < 44 || r.right > window.innerWidth))
           .map(([n, r]) => n + ': ' + Math.round(r.height) + ' px tall, right edge at ' + Math.round(r.right))",
    )
    .await;
    assert_eq!(
        short,
        json!([]),
        "{page}: header controls to hit on a phone"
    );
}

/// What a new user meets first, from the site alone, at desktop and phone sizes: they
/// sign up, post a video with a Chinese title from the upload page, and find it from the
/// header's search by a two-character word inside the title (美食 in 北京美食探店); the
/// video opens in the feed. A room is found by its anchor's Chinese nickname, and the
/// anchor among the people, with a link to the room; a word nobody used says so; a long
/// list pages with "Show more". An unknown page is the site's "Page not found", with a
/// way home.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_posts_a_video_and_finds_it_by_a_chinese_word_from_search() {
    if !enabled() || !ffmpeg_enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let (status, anchor) = s
        .post(
            "/api/v1/auth/register",
            None,
            json!({"username": "xiaomei", "nickname": "王小美", "password": "password-123"}),
        )
        .await;
    assert_eq!(status, 201, "{anchor}");
    let anchor_id = anchor["user"]["id"].as_i64().unwrap();
    let (status, room) = s
        .post(
            "/api/v1/rooms",
            anchor["access_token"].as_str(),
            json!({"title": "Evening kitchen"}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_i64().unwrap();
    // More people named alike than one page of results holds.
    for i in 0..21 {
        s.register(&format!("chef_{i:02}")).await;
    }
    let driver = start_driver().await;
    let clips = tempfile::tempdir().unwrap();
    common::videos::make_clip(
        clips.path(),
        "landscape.mp4",
        2,
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    );
    for (size, who, title) in [
        (DESKTOP, "desktop", "北京美食探店"),
        (PHONE, "phone", "成都美食探店"),
    ] {
        let profile = tempfile::tempdir().unwrap();
        let c = browser(&driver, &profile, size).await;
        c.goto(&s.url("/signup")).await.unwrap();
        fill(&c, "#username", &format!("cook_{who}")).await;
        fill(&c, "#nickname", "吃货小王").await;
        fill(&c, "#password", "password-123").await;
        click(&c, "#auth-submit").await;
        until(
            &c,
            10,
            "the signed-in header",
            "return document.getElementById('me-link') !== null",
        )
        .await;
        c.goto(&s.url("/upload")).await.unwrap();
        let video =
            a_video_is_posted_from_the_upload_page(&s, &c, &clips, &format!("search-{who}"), title)
                .await;
        a_video_is_found_by_a_word_inside_its_title(&s, &c, size, who, video, title).await;
        a_room_is_found_by_its_anchors_nickname(&s, &c, who, room_id, anchor_id).await;
        nothing_found_says_so_and_long_lists_page(&s, &c, who).await;
        an_unknown_page_is_not_found_with_a_way_home(&s, &c, size, who).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}

/// Searches for `q` from the search page's own box.
async fn search_for(c: &Client, q: &str) {
    fill(c, "#search-q", q).await;
    click(c, "#search-submit").await;
    until(
        c,
        10,
        "the search's answers",
        &format!(
            "return new URLSearchParams(location.search).get('q') === {} && document.querySelector('#search-results .loading') === null",
            json!(q)
        ),
    )
    .await;
}

async fn a_video_is_found_by_a_word_inside_its_title(
    s: &common::TestServer,
    c: &Client,
    size: (u32, u32),
    who: &str,
    video: i64,
    title: &str,
) {
    c.goto(&s.url("/")).await.unwrap();
    until(
        c,
        10,
        "the signed-in header",
        "return document.getElementById('me-link') !== null",
    )
    .await;
    if size == PHONE {
        // A phone's header has room for the search icon only; it opens the search page.
        the_header_buttons_are_tall_enough(c, "the home page").await;
        fits_the_width(c, "the home page").await;
        assert_eq!(
            js(
                c,
                "return getComputedStyle(document.getElementById('topsearch-q')).display"
            )
            .await,
            "none"
        );
        click(c, "#topsearch-go").await;
        until(
            c,
            10,
            "the search page",
            "return location.pathname === '/search' && document.activeElement?.id === 'search-q'",
        )
        .await;
        shot(c, "search-start-phone").await;
        search_for(c, "美食").await;
    } else {
        fill(c, "#topsearch-q", "美食").await;
        click(c, "#topsearch-go").await;
    }
    let found = format!("#search-results a.result[data-video-id=\"{video}\"]");
    until(
        c,
        10,
        "the video found by 美食",
        &format!("return document.querySelector('{found}') !== null"),
    )
    .await;
    assert_eq!(
        js(c, "return new URLSearchParams(location.search).get('q')").await,
        "美食"
    );
    assert_eq!(
        js(c, "return [...document.querySelectorAll('#search-tabs [role=tab]')].map(t => t.getAttribute('aria-selected'))").await,
        json!(["true", "false", "false"])
    );
    assert_eq!(
        js(
            c,
            &format!("return document.querySelector('{found} .result-title').textContent")
        )
        .await,
        title,
        "the title is shown as text"
    );
    assert_eq!(
        js(
            c,
            "return document.getElementById('search-q').labels[0].textContent"
        )
        .await,
        "Search videos, rooms and people"
    );
    fits_the_width(c, "the search page").await;
    shot(c, &format!("search-videos-{who}")).await;
    click(c, &found).await;
    until(
        c,
        10,
        "the feed on the video",
        &format!(
            "return location.pathname === '/videos' && document.querySelector('.feed-item[data-video-id=\"{video}\"]') !== null"
        ),
    )
    .await;
}

async fn a_room_is_found_by_its_anchors_nickname(
    s: &common::TestServer,
    c: &Client,
    who: &str,
    room_id: i64,
    anchor_id: i64,
) {
    c.goto(&s.url("/search")).await.unwrap();
    search_for(c, "小美").await;
    // No video is called that: the rooms' tab is chosen.
    let room = format!("#search-results a.result[data-room-id=\"{room_id}\"]");
    until(
        c,
        10,
        "the room found by its anchor's name",
        &format!(
            "return document.getElementById('tab-rooms').getAttribute('aria-selected') === 'true' && document.querySelector('{room}') !== null"
        ),
    )
    .await;
    assert_eq!(
        js(
            c,
            &format!("return document.querySelector('{room} .result-sub').textContent")
        )
        .await,
        "王小美"
    );
    assert_eq!(
        js(c, "return new URLSearchParams(location.search).get('tab')").await,
        "rooms"
    );
    shot(c, &format!("search-rooms-{who}")).await;
    click(c, "#tab-people").await;
    let person = format!("#search-results .person[data-user-id=\"{anchor_id}\"]");
    until(
        c,
        10,
        "the anchor among the people, with their room",
        &format!(
            "return document.getElementById('tab-people').getAttribute('aria-selected') === 'true' && document.querySelector('{person} a[href=\"/rooms/{room_id}\"]') !== null"
        ),
    )
    .await;
    fits_the_width(c, "the people found").await;
    shot(c, &format!("search-people-{who}")).await;
    click(c, "#tab-rooms").await;
    click(c, &room).await;
    until(
        c,
        10,
        "the room's page",
        &format!("return location.pathname === '/rooms/{room_id}'"),
    )
    .await;
}

async fn nothing_found_says_so_and_long_lists_page(s: &common::TestServer, c: &Client, who: &str) {
    c.goto(&s.url("/search")).await.unwrap();
    search_for(c, "火锅").await;
    let empty = until(
        c,
        10,
        "the empty state",
        "return !document.getElementById('search-empty').hidden && document.getElementById('search-empty-title').textContent",
    )
    .await;
    assert_eq!(empty, "Nothing found for “火锅”");
    shot(c, &format!("search-empty-{who}")).await;
    search_for(c, "chef").await;
    let shown = "return [document.querySelectorAll('#search-results .person').length, document.getElementById('count-people').textContent, document.getElementById('search-more').hidden]";
    until(
        c,
        10,
        "a first page of people",
        "return document.getElementById('tab-people').getAttribute('aria-selected') === 'true' && document.querySelectorAll('#search-results .person').length > 0",
    )
    .await;
    assert_eq!(js(c, shown).await, json!([20, "20+", false]));
    click(c, "#search-more").await;
    until(
        c,
        10,
        "the second page",
        "return document.querySelectorAll('#search-results .person').length === 21",
    )
    .await;
    assert_eq!(js(c, shown).await, json!([21, "21", true]));
}

async fn an_unknown_page_is_not_found_with_a_way_home(
    s: &common::TestServer,
    c: &Client,
    size: (u32, u32),
    who: &str,
) {
    c.goto(&s.url("/feed")).await.unwrap();
    until(
        c,
        10,
        "the not-found page",
        "return document.querySelector('main h1')?.textContent === 'Page not found'",
    )
    .await;
    fits_the_width(c, "the not-found page").await;
    if size == PHONE {
        the_header_buttons_are_tall_enough(c, "the not-found page").await;
    }
    shot(c, &format!("notfound-{who}")).await;
    click(c, "main a[href='/']").await;
    until(
        c,
        10,
        "the home page",
        "return location.pathname === '/' && document.querySelector('main h1')?.textContent === 'Live now'",
    )
    .await;
}

/// The console's gift catalogue at desktop and phone sizes: each gift shows its icon
/// (the default catalogue's are served by momo), a new gift takes an icon whose preview
/// follows the field, and a name another gift on sale has is refused with the server's
/// reason next to the name field, on creating and on renaming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_gift_form_takes_an_icon_and_says_why_a_name_is_refused() {
    if !enabled() {
        return;
    }
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("boss").await;
    let driver = start_driver().await;
    for (size, who) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        let profile = tempfile::tempdir().unwrap();
        let c = browser(&driver, &profile, size).await;
        c.goto(&s.url("/login?next=/admin/gifts")).await.unwrap();
        fill(&c, "#username", "boss").await;
        fill(&c, "#password", "admin-password").await;
        click(&c, "#auth-submit").await;
        // The default catalogue's icons load from the binary.
        let loaded = until(
            &c,
            10,
            "the catalogue's icons",
            "const imgs = [...document.querySelectorAll('#admin-view tbody .gift-preview img')];
             return imgs.length >= 6 && imgs.every(i => i.complete && i.naturalWidth > 0) && imgs.map(i => i.getAttribute('src'))",
        )
        .await;
        assert!(
            loaded
                .as_array()
                .unwrap()
                .contains(&json!("/assets/gifts/bouquet.svg")),
            "{loaded}"
        );
        fits_the_width(&c, "the gift catalogue").await;

        let name = format!("Rose {who}");
        fill(&c, "#gift-new-name", &name).await;
        fill(&c, "#gift-new input[name=price]", "9").await;
        fill(&c, "#gift-new-icon", "/assets/gifts/lollipop.svg").await;
        until(
            &c,
            10,
            "the new gift's preview",
            "const i = document.querySelector('#gift-new .gift-preview img'); return i && i.getAttribute('src') === '/assets/gifts/lollipop.svg' && i.naturalWidth > 0",
        )
        .await;
        click(&c, "#gift-new button[type=submit]").await;
        let created = until(
            &c,
            10,
            "the new gift in the catalogue",
            &format!(
                "const r = [...document.querySelectorAll('#admin-view tbody tr')].find(r => r.querySelector('td[data-label=Name] input')?.value === {});
                 return r && r.querySelector('.gift-preview img')?.getAttribute('src') === '/assets/gifts/lollipop.svg' && r.dataset.giftId",
                json!(name)
            ),
        )
        .await;
        let (_, gifts) = s.get("/api/v1/admin/gifts", Some(&admin)).await;
        let gift = gifts
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"].as_i64().map(|i| i.to_string()).as_deref() == created.as_str())
            .unwrap()
            .clone();
        assert_eq!(gift["icon_url"], "/assets/gifts/lollipop.svg", "{gift}");

        // The same name in other letters' case is refused, and the form says why.
        fill(&c, "#gift-new-name", &name.to_uppercase()).await;
        fill(&c, "#gift-new input[name=price]", "3").await;
        click(&c, "#gift-new button[type=submit]").await;
        let refusal = until(
            &c,
            10,
            "the refusal next to the name",
            "const e = document.getElementById('gift-new-error'); return !e.hidden && document.getElementById('gift-new-name').getAttribute('aria-invalid') === 'true' && e.textContent",
        )
        .await;
        assert!(
            refusal
                .as_str()
                .unwrap()
                .contains("on sale is already called"),
            "the server's reason: {refusal}"
        );
        assert_eq!(
            js(
                &c,
                "return document.getElementById('gift-new-name').getAttribute('aria-describedby')"
            )
            .await,
            "gift-new-error"
        );
        fits_the_width(&c, "the refused gift form").await;
        shot(&c, &format!("admin-gift-refused-{who}")).await;

        // Renaming the Bouquet to the new gift's name is refused in its row.
        let bouquet = gifts
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "Bouquet")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let bouquet_row = format!("#admin-view tr[data-gift-id=\"{bouquet}\"]");
        fill(
            &c,
            &format!("{bouquet_row} td[data-label=Name] input"),
            &name,
        )
        .await;
        click_xpath(
            &c,
            &format!("//tr[@data-gift-id='{bouquet}']//button[normalize-space()='Save']"),
        )
        .await;
        let refusal = until(
            &c,
            10,
            "the refusal in the row",
            &format!(
                "const e = document.getElementById('gift-{bouquet}-error'); return !e.hidden && e.textContent"
            ),
        )
        .await;
        assert!(
            refusal
                .as_str()
                .unwrap()
                .contains("on sale is already called"),
            "the server's reason: {refusal}"
        );
        shot(&c, &format!("admin-gift-row-refused-{who}")).await;
        c.close().await.unwrap();
    }
    drop(driver);
    s.stop().await;
}
