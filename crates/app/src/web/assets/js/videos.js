// The short-video feed: one video per screen, scrolled vertically; the one in view
// plays, the others pause. A play counts one view; likes, comments (with replies) and
// copy-link sharing. `?v={id}` opens on that video (the link sharing copies). When this
// server has no video feed, the page says so instead of showing anything made up.
import { api, h, header, avatar, compact, safeUrl, toast, icon, when } from "/assets/js/api.js";

const feed = document.getElementById("feed");
let cursor = null;
let loading = false;
let done = false;
let me = null;
const shown = new Set();
const wanted = Number(new URLSearchParams(location.search).get("v")) || null;

function state(title, text, action) {
  document.getElementById("feed-state").hidden = false;
  feed.hidden = true;
  document.getElementById("feed-state-title").textContent = title;
  document.getElementById("feed-state-text").textContent = text;
  document.getElementById("feed-state-action").replaceChildren(...(action ? [action] : []));
}

function signIn() {
  location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
}

function link(v) {
  return `${location.origin}/videos?v=${v.id}`;
}

/// Copies `text`: the Clipboard API where the page may use it, else a selected
/// text field and the copy command. True when it was copied.
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    const area = h("textarea", { readonly: true, "aria-hidden": "true" });
    area.value = text;
    area.className = "offscreen";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
    return ok;
  }
}

function slide(v) {
  const src = safeUrl(v.play_url);
  const label = `Video: ${v.title || "untitled"} by ${v.author.nickname || v.author.username}`;
  const video = h("video.feed-video", { playsinline: true, loop: true, muted: true, preload: "metadata", "aria-label": label });
  if (src) video.src = src;
  const poster = safeUrl(v.cover_url);
  if (poster) video.poster = poster;
  video.addEventListener("click", () => { video.muted = false; if (video.paused) video.play().catch(() => {}); else video.pause(); });
  // One view per play of this video on this page, not per frame or per loop.
  video.addEventListener("playing", () => {
    api("POST", `/api/v1/videos/${v.id}/views`).then(() => { video.dataset.viewCounted = "1"; }).catch(() => {});
  }, { once: true });

  const likes = h("span.count", compact(v.like_count));
  const like = h("button.side-btn" + (v.liked ? ".on" : ""), { type: "button", "aria-label": "Like", "aria-pressed": String(!!v.liked) }, icon("heart", "icon"), likes);
  like.addEventListener("click", async () => {
    if (!me) { signIn(); return; }
    const on = like.classList.contains("on");
    try {
      await api(on ? "DELETE" : "POST", `/api/v1/videos/${v.id}/like`);
      like.classList.toggle("on", !on);
      like.setAttribute("aria-pressed", String(!on));
      v.like_count += on ? -1 : 1;
      likes.textContent = compact(v.like_count);
    } catch (e) { toast(e.message, "error"); }
  });

  const comments = h("span.count", compact(v.comment_count));
  const comment = h("button.side-btn.comment-btn", { type: "button", "aria-label": "Comments", onclick: () => openComments(v, comments) },
    icon("comment", "icon"), comments);

  const shares = h("span.count", compact(v.share_count));
  const share = h("button.side-btn.share-btn", { type: "button", "aria-label": "Copy link to share" }, icon("share", "icon"), shares);
  share.addEventListener("click", async () => {
    const url = link(v);
    if (await copy(url)) {
      share.dataset.copied = url;
      toast("Link copied: paste it anywhere to share");
    } else {
      toast("Copy this link to share: " + url);
    }
    if (me) {
      api("POST", `/api/v1/videos/${v.id}/shares`).then((c) => {
        if (c && typeof c.share_count === "number") shares.textContent = compact(c.share_count);
      }).catch(() => {});
    }
  });

  const tags = (v.hashtags || []).map((t) => h("span.tag", "#" + t));
  const shape = v.width > v.height ? "landscape" : "portrait";
  return h("article.feed-item", { dataset: { videoId: String(v.id), shape } },
    video,
    h("div.feed-side", avatar(v.author, "md"), like, comment, share),
    h("div.feed-caption",
      h("div.feed-author", "@" + (v.author.nickname || v.author.username)),
      h("div.feed-title", v.title || ""),
      h("div.feed-desc", v.description || "", " ", ...tags),
    ),
  );
}

// ---- Comments: a panel over the feed, top-level comments newest first, their
// replies on demand, a box to write (or answer) at the bottom.

const panel = document.getElementById("comments");
const list = document.getElementById("comments-list");
const form = document.getElementById("comment-form");
const input = document.getElementById("comment-input");
let open = null; // { video, counter, cursor, replyTo }

function commentLine(c, parent) {
  const who = c.author.nickname || c.author.username;
  const li = h("li.comment", { dataset: { commentId: String(c.id) } },
    avatar(c.author, "sm"),
    h("div.comment-main",
      h("div.comment-head", h("strong", who), h("span.muted.small", " · " + when(c.created_at))),
      h("div.comment-body" + (c.deleted ? ".muted" : ""), c.deleted ? "(deleted)" : c.body),
      h("div.comment-actions"),
    ),
  );
  const actions = li.querySelector(".comment-actions");
  if (!c.deleted) {
    actions.append(h("button.link-btn", { type: "button", onclick: () => replyTo(parent || c, c) }, "Reply"));
  }
  if (!parent && c.reply_count > 0) {
    const more = h("button.link-btn.replies-btn", { type: "button" }, `${c.reply_count} ${c.reply_count === 1 ? "reply" : "replies"}`);
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const page = await api("GET", `/api/v1/comments/${c.id}/replies?limit=50`);
        const sub = li.querySelector("ol.replies") || h("ol.replies");
        sub.replaceChildren(...(page.items || []).map((r) => commentLine(r, c)));
        li.querySelector(".comment-main").append(sub);
        more.remove();
      } catch (e) { more.disabled = false; toast(e.message, "error"); }
    });
    actions.append(more);
  }
  return li;
}

function replyTo(top, c) {
  if (!me) { signIn(); return; }
  open.replyTo = top;
  const who = c.author.nickname || c.author.username;
  document.getElementById("comment-replying").hidden = false;
  document.getElementById("comment-replying-to").textContent = who;
  input.placeholder = "Reply to " + who;
  input.focus();
}

function clearReply() {
  if (open) open.replyTo = null;
  document.getElementById("comment-replying").hidden = true;
  input.placeholder = "Add a comment";
}
document.getElementById("comment-reply-cancel").addEventListener("click", clearReply);

async function loadComments(more) {
  const q = new URLSearchParams({ limit: "20" });
  if (more && open.cursor) q.set("cursor", open.cursor);
  const page = await api("GET", `/api/v1/videos/${open.video.id}/comments?${q}`);
  const rows = (page.items || []).map((c) => commentLine(c, null));
  if (more) list.append(...rows);
  else list.replaceChildren(...rows);
  open.cursor = page.next_cursor || null;
  document.getElementById("comments-more").hidden = !open.cursor;
  document.getElementById("comments-empty").hidden = list.children.length > 0;
}

async function openComments(v, counter) {
  open = { video: v, counter, cursor: null, replyTo: null };
  clearReply();
  document.getElementById("comments-title").textContent = `Comments · ${compact(v.comment_count)}`;
  list.replaceChildren();
  document.getElementById("comments-empty").hidden = true;
  form.hidden = !me;
  document.getElementById("comments-guest").hidden = !!me;
  panel.hidden = false;
  panel.dataset.videoId = String(v.id);
  document.getElementById("comments-close").focus();
  try { await loadComments(false); } catch (e) { list.replaceChildren(h("li.error-box", "Cannot load comments: " + e.message)); }
}

function closeComments() {
  panel.hidden = true;
  open = null;
}
document.getElementById("comments-close").addEventListener("click", closeComments);
document.getElementById("comments-more").addEventListener("click", () => loadComments(true).catch((e) => toast(e.message, "error")));
document.getElementById("comments-login").addEventListener("click", signIn);
panel.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeComments(); });

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = input.value.trim();
  if (!body || !open) return;
  const send = document.getElementById("comment-send");
  send.disabled = true;
  try {
    const target = open.replyTo;
    const c = target
      ? await api("POST", `/api/v1/comments/${target.id}/replies`, { body })
      : await api("POST", `/api/v1/videos/${open.video.id}/comments`, { body });
    input.value = "";
    open.video.comment_count += 1;
    open.counter.textContent = compact(open.video.comment_count);
    document.getElementById("comments-title").textContent = `Comments · ${compact(open.video.comment_count)}`;
    if (target) {
      const li = list.querySelector(`li.comment[data-comment-id="${target.id}"]`);
      if (li) {
        let sub = li.querySelector("ol.replies");
        if (!sub) { sub = h("ol.replies"); li.querySelector(".comment-main").append(sub); }
        sub.append(commentLine(c, target));
      }
      clearReply();
    } else {
      list.prepend(commentLine(c, null));
    }
    document.getElementById("comments-empty").hidden = true;
  } catch (e) {
    toast(e.code === "comment_too_long" ? "A comment is at most 500 characters." : e.message, "error");
  } finally {
    send.disabled = false;
  }
});

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

function add(v) {
  if (shown.has(v.id) || v.status !== "ready") return;
  shown.add(v.id);
  const el = slide(v);
  feed.append(el);
  watcher.observe(el);
}

function invite() {
  return me
    ? h("a.btn", { href: "/upload", id: "feed-post" }, "Post a video")
    : h("a.btn", { href: "/login?next=/upload", id: "feed-post" }, "Log in to post a video");
}

async function more() {
  if (loading || done) return;
  loading = true;
  try {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api("GET", "/api/v1/feed" + q);
    for (const v of page.items || []) add(v);
    cursor = page.next_cursor;
    done = !cursor;
    if (!feed.children.length) state("No videos yet", "Be the first: post a short video and it shows up here.", invite());
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

async function main() {
  const s = await header("videos");
  me = s && s.user;
  if (wanted) {
    try { add(await api("GET", `/api/v1/videos/${wanted}`)); } catch (_) { toast("That video is not available any more.", "error"); }
  }
  more();
}

main();
