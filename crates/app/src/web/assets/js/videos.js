// The short-video feed: one video per screen, scrolled vertically; the one in view
// plays, the others pause. Likes for signed-in visitors. When this server has no
// video feed, the page says so instead of showing anything made up.
import { api, h, header, avatar, compact, safeUrl, toast, icon } from "/assets/js/api.js";

const feed = document.getElementById("feed");
let cursor = null;
let loading = false;
let done = false;
let me = null;

function state(title, text) {
  document.getElementById("feed-state").hidden = false;
  feed.hidden = true;
  document.getElementById("feed-state-title").textContent = title;
  document.getElementById("feed-state-text").textContent = text;
}

function slide(v) {
  const src = safeUrl(v.play_url);
  const video = h("video.feed-video", { playsinline: true, loop: true, muted: true, preload: "metadata" });
  if (src) video.src = src;
  const poster = safeUrl(v.cover_url);
  if (poster) video.poster = poster;
  video.addEventListener("click", () => { video.muted = false; if (video.paused) video.play().catch(() => {}); else video.pause(); });
  const likes = h("span.count", compact(v.like_count));
  const like = h("button.side-btn" + (v.liked ? ".on" : ""), { type: "button", "aria-label": "Like" }, icon("heart", "icon"), likes);
  like.addEventListener("click", async () => {
    if (!me) { location.assign("/login?next=/videos"); return; }
    const on = like.classList.contains("on");
    try {
      await api(on ? "DELETE" : "POST", `/api/v1/videos/${v.id}/like`);
      like.classList.toggle("on", !on);
      v.like_count += on ? -1 : 1;
      likes.textContent = compact(v.like_count);
    } catch (e) { toast(e.message, "error"); }
  });
  const tags = (v.hashtags || []).map((t) => h("span.tag", "#" + t));
  return h("article.feed-item", { dataset: { videoId: String(v.id) } },
    video,
    h("div.feed-side",
      avatar(v.author, "md"),
      like,
      h("div.side-btn", icon("comment", "icon"), h("span.count", compact(v.comment_count))),
      h("div.side-btn", icon("share", "icon"), h("span.count", compact(v.share_count))),
    ),
    h("div.feed-caption",
      h("div.feed-author", "@" + (v.author.nickname || v.author.username)),
      h("div.feed-title", v.title || ""),
      h("div.feed-desc", v.description || "", " ", ...tags),
    ),
  );
}

const watcher = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const video = e.target.querySelector("video");
    if (!video) continue;
    if (e.isIntersecting && e.intersectionRatio > 0.6) video.play().catch(() => {});
    else video.pause();
  }
  const last = feed.lastElementChild;
  if (last && entries.some((e) => e.target === last && e.isIntersecting)) more();
}, { threshold: [0, 0.6] });

async function more() {
  if (loading || done) return;
  loading = true;
  try {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api("GET", "/api/v1/feed" + q);
    const items = (page.items || []).filter((v) => v.status === "ready");
    for (const v of items) {
      const el = slide(v);
      feed.append(el);
      watcher.observe(el);
    }
    cursor = page.next_cursor;
    done = !cursor;
    if (!feed.children.length) state("No videos yet", "When people post short videos, they appear here.");
  } catch (e) {
    done = true;
    if (e.status === 404 && e.code === "not_found") {
      state("Short videos are not available", "This momo server does not serve a video feed yet.");
    } else {
      state("Cannot load videos", e.message);
    }
  } finally {
    loading = false;
  }
}

header("videos").then((s) => { me = s && s.user; });
more();
