// Plays a live room in a <video>: HTTP-FLV through mpegts.js where Media Source
// Extensions exist, else HLS through hls.js, else the browser's own HLS (Safari).
// Both libraries are vendored and loaded as classic scripts before this module.
// `prefer` "hls" skips HTTP-FLV (the page's `?player=hls`, to check the fallback).

export function play(video, urls, onState, prefer) {
  const say = (s) => { if (onState) onState(s); };
  video.muted = true; // browsers only autoplay muted video; the viewer unmutes
  video.playsInline = true;
  let stop = () => {};
  const mpegts = window.mpegts;
  const Hls = window.Hls;
  if (prefer !== "hls" && mpegts && mpegts.getFeatureList().mseLivePlayback && urls.flv) {
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
  } else if (Hls && Hls.isSupported() && urls.hls) {
    const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    hls.loadSource(urls.hls);
    hls.attachMedia(video);
    hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) say({ error: data.details }); });
    video.play().catch(() => say({ blocked: true }));
    say({ tech: "hls" });
    stop = () => hls.destroy();
  } else if (video.canPlayType("application/vnd.apple.mpegurl") && urls.hls) {
    video.src = urls.hls;
    video.play().catch(() => say({ blocked: true }));
    say({ tech: "native-hls" });
    stop = () => { video.removeAttribute("src"); video.load(); };
  } else {
    say({ error: "this browser cannot play live video" });
  }
  return () => stop();
}
