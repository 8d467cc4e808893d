// Search: videos, rooms and people for the words in `?q=`, one tab each (`?tab=`),
// paged by cursor with "Show more". A video opens in the feed, a room opens its page;
// a person is shown as a card, with a link to their room when the room search found it.
import { api, h, header, avatar, compact, safeUrl, hue, icon } from "/assets/js/api.js";

const PAGE = 20;

const KINDS = {
  videos: { path: "/api/v1/videos/search", item: videoItem, noun: "videos" },
  rooms: { path: "/api/v1/rooms/search", item: roomItem, noun: "rooms" },
  people: { path: "/api/v1/users/search", item: personItem, noun: "people" },
};

const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const list = document.getElementById("search-results");
const more = document.getElementById("search-more");
const empty = document.getElementById("search-empty");
const panel = document.getElementById("search-panel");

let q = "";
let kind = "videos";
// Per kind: {items, next, error, loading}. Cleared by each new query.
let found = {};
// A query's answers that arrive after a newer query began are dropped.
let generation = 0;
// Rooms by their anchor, from the room results, for the people's cards.
const roomOf = new Map();

function thumb(url, seed, initial) {
  const art = h("span.result-thumb");
  art.style.setProperty("--hue", String(hue(seed)));
  const src = safeUrl(url);
  if (src) art.append(h("img", { src, alt: "", loading: "lazy", onerror: () => { art.textContent = initial; } }));
  else art.textContent = initial;
  return art;
}

function videoItem(v) {
  const title = v.title || "Untitled";
  return h("li", h("a.result", { href: `/videos?v=${v.id}`, dataset: { videoId: String(v.id) } },
    thumb(v.cover_url, title + v.id, "▶"),
    h("span.result-text",
      h("span.result-title", title),
      h("span.result-sub.muted", v.author.nickname || v.author.username),
      h("span.result-stats.muted",
        icon("eye"), compact(v.view_count), " ", icon("heart"), compact(v.like_count)),
    ),
  ));
}

function roomItem(r) {
  const name = r.owner.nickname || "?";
  const live = r.status === "live";
  return h("li", h("a.result", { href: `/rooms/${r.id}`, dataset: { roomId: String(r.id) } },
    thumb(r.cover_url, name + r.id, Array.from(name)[0]),
    h("span.result-text",
      h("span.result-title", r.title || "Untitled"),
      h("span.result-sub.muted", name),
      h("span.result-stats.muted",
        live ? h("span.pill.accent", "LIVE") : h("span.pill", "Offline"),
        live ? [" ", icon("eye"), compact(r.viewers)] : null),
    ),
  ));
}

function personItem(u) {
  const room = roomOf.get(u.id);
  const card = h("div.result.person", { dataset: { userId: String(u.id) } },
    avatar(u, "md"),
    h("span.result-text",
      h("span.result-title", u.nickname || u.username),
      h("span.result-sub.muted", "@" + u.username),
      u.bio ? h("span.person-bio", u.bio) : null,
      h("span.result-stats.muted", `${compact(u.follower_count)} followers · ${compact(u.following_count)} following`),
    ),
  );
  if (room) {
    card.append(h("a.btn.small" + (room.status === "live" ? "" : ".ghost"), { href: `/rooms/${room.id}` },
      room.status === "live" ? "Watch live" : "Their room"));
  }
  return h("li", card);
}

async function fetchPage(k, gen) {
  const state = found[k];
  const params = new URLSearchParams({ q, limit: String(PAGE) });
  if (state.next) params.set("cursor", state.next);
  state.loading = true;
  try {
    const page = await api("GET", `${KINDS[k].path}?${params}`);
    if (gen !== generation) return;
    const items = page.items || [];
    state.items.push(...items);
    state.next = page.next_cursor || null;
    state.error = null;
    if (k === "rooms") for (const r of items) if (!roomOf.has(r.owner_id)) roomOf.set(r.owner_id, r);
  } catch (e) {
    if (gen !== generation) return;
    state.error = e.message;
  } finally {
    if (gen === generation) state.loading = false;
  }
}

function count(k) {
  const s = found[k];
  if (!s || s.error || (s.loading && !s.items.length)) return "";
  return s.next ? `${s.items.length}+` : String(s.items.length);
}

function render() {
  for (const tab of document.querySelectorAll("#search-tabs [role=tab]")) {
    const on = tab.dataset.kind === kind;
    tab.classList.toggle("active", on);
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById("count-" + tab.dataset.kind).textContent = q ? count(tab.dataset.kind) : "";
    if (on) panel.setAttribute("aria-labelledby", tab.id);
  }
  const s = found[kind];
  more.hidden = true;
  empty.hidden = true;
  if (!q) {
    list.replaceChildren();
    showEmpty("Search momo", "Find short videos by a word in their title, rooms by title or anchor, and people by name.");
    return;
  }
  if (!s || (s.loading && !s.items.length)) {
    list.replaceChildren(h("li.muted.loading", "Searching…"));
    return;
  }
  list.replaceChildren(...s.items.map(KINDS[kind].item));
  if (s.error) list.append(h("li.error-box", "Cannot search: " + s.error));
  else if (!s.items.length) {
    const elsewhere = Object.keys(KINDS).filter((k) => k !== kind && found[k] && found[k].items.length);
    showEmpty(`Nothing found for “${q}”`, elsewhere.length
      ? `No ${KINDS[kind].noun} match; there are ${elsewhere.map((k) => KINDS[k].noun).join(" and ")}.`
      : "Try another word, or fewer words.");
  }
  more.hidden = !s.next || !!s.error;
  more.disabled = s.loading;
}

function showEmpty(title, text) {
  document.getElementById("search-empty-title").textContent = title;
  document.getElementById("search-empty-text").textContent = text;
  empty.hidden = false;
}

function syncUrl(push) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (kind !== "videos") params.set("tab", kind);
  const url = "/search" + (params.toString() ? "?" + params : "");
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

/// Reads `?q=` and `?tab=` and searches every kind's first page at once (the tabs show
/// how many each found). Without a tab, the first that found something is shown.
async function fromUrl() {
  const params = new URLSearchParams(location.search);
  q = (params.get("q") || "").trim();
  const tab = params.get("tab");
  kind = KINDS[tab] ? tab : "videos";
  input.value = q;
  document.title = (q ? `${q} · Search` : "Search") + " · momo";
  const gen = ++generation;
  found = {};
  roomOf.clear();
  if (!q) {
    render();
    input.focus();
    return;
  }
  for (const k of Object.keys(KINDS)) found[k] = { items: [], next: null, error: null, loading: true };
  render();
  // The rooms first: the people's cards link to the rooms found.
  await Promise.all([fetchPage("videos", gen), fetchPage("rooms", gen).then(() => fetchPage("people", gen))]);
  if (gen !== generation) return;
  if (!KINDS[tab]) {
    kind = Object.keys(KINDS).find((k) => found[k].items.length) || "videos";
    syncUrl(false);
  }
  render();
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const next = input.value.trim();
  if (next === q && q) return;
  q = next;
  kind = "videos";
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  history.pushState(null, "", "/search" + (q ? "?" + params : ""));
  fromUrl();
  input.blur();
});

for (const tab of document.querySelectorAll("#search-tabs [role=tab]")) {
  tab.addEventListener("click", () => {
    kind = tab.dataset.kind;
    syncUrl(false);
    render();
  });
  // Arrow keys move between the tabs, as in any tab list.
  tab.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const tabs = [...document.querySelectorAll("#search-tabs [role=tab]")];
    const i = tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : -1);
    const to = tabs[(i + tabs.length) % tabs.length];
    to.focus();
    to.click();
  });
}

more.addEventListener("click", async () => {
  const k = kind;
  const gen = generation;
  more.disabled = true;
  await fetchPage(k, gen);
  if (gen === generation && k === kind) render();
});

window.addEventListener("popstate", fromUrl);

header("search");
fromUrl();
