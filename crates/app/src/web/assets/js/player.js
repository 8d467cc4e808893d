// Plays a live room in a <video>: HTTP-FLV through mpegts.js where Media Source
// Extensions exist, else HLS through hls.js, else the browser's own HLS (Safari).
// The two libraries (vendored, ~690 KB together) are loaded only when a video is about
// to play, and only the one that plays it: a page with nothing on air loads neither.
// `prefer` "hls" skips HTTP-FLV (the page's `?player=hls`, to check the fallback);
// "webrtc" plays over WHEP (under a second behind the anchor; video only so far) and
// falls back to HTTP-FLV when WebRTC fails or shows no picture within 6 s.

const loading = new Map(); // script path → promise of its load

/// Adds the vendored script `path` once (from this origin, as the CSP requires).
function load(path) {
  if (!loading.has(path)) {
    loading.set(path, new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = path;
      s.async = true;
      s.onload = () => resolve();
      s.onerror = () => { loading.delete(path); s.remove(); reject(new Error("cannot load " + path)); };
      document.head.append(s);
    }));
  }
  return loading.get(path);
}

const MPEGTS = "/assets/vendor/mpegts.js";
const HLS = "/assets/vendor/hls.light.min.js";

function mse() {
  const MS = window.ManagedMediaSource || window.MediaSource;
  return !!(MS && MS.isTypeSupported && MS.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'));
}

/// Starts playing; returns a function that stops (also before the player has loaded).
export function play(video, urls, onState, prefer) {
  const say = (s) => { if (onState) onState(s); };
  video.muted = true; // browsers only autoplay muted video; the viewer unmutes
  video.playsInline = true;
  let stopped = false;
  let stop = () => {};
  start().catch((e) => { if (!stopped) say({ error: e.message }); });
  return () => { stopped = true; stop(); };

  async function start() {
    if (prefer === "webrtc" && urls.whep && window.RTCPeerConnection) {
      try {
        await webrtc();
        return;
      } catch (e) {
        if (stopped) return;
        say({ fallback: e.message });
      }
    }
    if (prefer !== "hls" && urls.flv && mse()) {
      await load(MPEGTS);
      const mpegts = window.mpegts;
      if (!stopped && mpegts && mpegts.getFeatureList().mseLivePlayback) return flv(mpegts);
    }
    if (urls.hls && mse()) {
      await load(HLS);
      const Hls = window.Hls;
      if (!stopped && Hls && Hls.isSupported()) return hls(Hls);
    }
    if (stopped) return;
    if (video.canPlayType("application/vnd.apple.mpegurl") && urls.hls) return native();
    say({ error: "this browser cannot play live video" });
  }

  function flv(mpegts) {
    const player = mpegts.createPlayer(
      { type: "flv", isLive: true, url: urls.flv, hasAudio: true, hasVideo: true },
      { enableWorker: false, lazyLoad: false, liveBufferLatencyChasing: true,
        liveBufferLatencyMaxLatency: 3, liveBufferLatencyMinRemain: 0.5 },
    );
    player.attachMediaElement(video);
    player.on(mpegts.Events.ERROR, (type, detail) => say({ error: `${type}: ${detail}` }));
    player.load();
    const p = player.play();
    if (p && p.catch) p.catch(() => say({ blocked: true }));
    say({ tech: "flv" });
    stop = () => { try { player.pause(); player.unload(); player.detachMediaElement(); player.destroy(); } catch (_) {} };
  }

  function hls(Hls) {
    const h = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    h.loadSource(urls.hls);
    h.attachMedia(video);
    h.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) say({ error: data.details }); });
    video.play().catch(() => say({ blocked: true }));
    say({ tech: "hls" });
    stop = () => h.destroy();
  }

  async function webrtc() {
    const pc = new RTCPeerConnection();
    let session = null;
    const close = () => {
      pc.close();
      if (session) fetch(session, { method: "DELETE" }).catch(() => {});
      video.srcObject = null;
    };
    stop = close;
    try {
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
      const stream = new MediaStream();
      pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
      await pc.setLocalDescription(await pc.createOffer());
      const res = await fetch(urls.whep, {
        method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription.sdp,
      });
      if (res.status !== 201) throw new Error(`WHEP answered ${res.status}`);
      const location = res.headers.get("location");
      if (location) session = new URL(location, urls.whep).href;
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
      if (stopped) return close();
      video.play().catch(() => say({ blocked: true }));
      // A picture within 6 s, or HTTP-FLV takes over.
      const deadline = Date.now() + 6000;
      while (!video.videoWidth) {
        if (stopped) return close();
        if (pc.connectionState === "failed" || Date.now() > deadline) throw new Error("no WebRTC picture");
        await new Promise((r) => setTimeout(r, 100));
      }
      say({ tech: "webrtc" });
    } catch (e) {
      close();
      stop = () => {};
      throw e;
    }
  }

  function native() {
    video.src = urls.hls;
    video.play().catch(() => say({ blocked: true }));
    say({ tech: "native-hls" });
    stop = () => { video.removeAttribute("src"); video.load(); };
  }
}
