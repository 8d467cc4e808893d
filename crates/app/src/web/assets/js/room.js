// A live room: the player, the room's chat beside it, and gifts.
import { api, h, header, avatar, compact, session, toast, signOut, icon, safeUrl } from "/assets/js/api.js";
import { topUpButton } from "/assets/js/wallet.js";
import { RoomChat } from "/assets/js/chat.js";
import { play } from "/assets/js/player.js";

const id = Number(location.pathname.split("/")[2]);
const $ = (x) => document.getElementById(x);
const video = $("video");
let stopPlayer = null;
let room = null;
let me = null;
let chat = null;

function overlay(text) {
  $("overlay").hidden = !text;
  $("overlay-text").textContent = text || "";
}

// "Low latency" plays over WebRTC (under a second behind the anchor) instead of HTTP-FLV
// (a few seconds); `?player=webrtc` starts in it.
let lowLatency = new URLSearchParams(location.search).get("player") === "webrtc";

function startPlayer() {
  if (stopPlayer || !room) return;
  overlay("");
  const asked = new URLSearchParams(location.search).get("player");
  const prefer = lowLatency ? "webrtc" : asked === "webrtc" ? null : asked;
  $("latency").hidden = !room.play.whep;
  $("latency").setAttribute("aria-pressed", String(lowLatency));
  stopPlayer = play(video, room.play, (s) => {
    if (s.blocked) $("unmute").hidden = false;
    if (s.tech) video.dataset.tech = s.tech;
    if (s.error) video.dataset.error = s.error;
    if (s.fallback) video.dataset.fallback = s.fallback;
  }, prefer);
  $("unmute").hidden = false;
}

function stopPlaying(text) {
  if (stopPlayer) { stopPlayer(); stopPlayer = null; }
  overlay(text);
  $("unmute").hidden = true;
  $("latency").hidden = true;
}

$("latency").addEventListener("click", () => {
  lowLatency = !lowLatency;
  if (stopPlayer) { stopPlayer(); stopPlayer = null; }
  delete video.dataset.tech;
  delete video.dataset.fallback;
  startPlayer();
});

function soundLabel() {
  $("unmute").replaceChildren(icon(video.muted ? "muted" : "sound"), video.muted ? "Tap to unmute" : "Sound on");
}
soundLabel();

$("unmute").addEventListener("click", () => {
  video.muted = !video.muted;
  video.play().catch(() => {});
  soundLabel();
});

function showRoom(r) {
  room = r;
  document.title = `${r.title || "Live room"} · momo`;
  $("room-title").textContent = r.title || "Untitled";
  $("room-anchor").textContent = r.owner.nickname;
  $("room-avatar").replaceChildren(avatar(r.owner, "md"));
  audience(r);
  video.setAttribute("aria-label", `Live video: ${r.title || "untitled"} by ${r.owner.nickname}`);
  const st = $("room-status");
  st.textContent = r.banned ? "banned" : r.status;
  st.className = "status-pill " + (r.status === "live" && !r.banned ? "live" : "");
  if (r.status === "live" && !r.banned) startPlayer();
  else if (!stopPlayer) overlay(r.banned ? "This room is closed by a moderator" : "The anchor is offline. Stay around: the room starts here.");
}

// The room's audience: one number, the room's `viewers` (players and chat members,
// counted by the server), shown while the room is live and read again every few
// seconds. An offline room has nobody watching, whoever waits in its chat.
function audience(r) {
  const live = r.status === "live" && !r.banned;
  $("audience").hidden = !live;
  $("room-viewers").textContent = compact(r.viewers);
}

function line(kind, ...parts) {
  const list = $("chat-list");
  $("chat-empty").hidden = true;
  const li = h("li.chat-line." + kind, ...parts);
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}

function flyGift(name, count) {
  const fly = h("div.fly", icon("gift"), name + (count > 1 ? " ×" + count : ""));
  $("gift-fly").append(fly);
  setTimeout(() => fly.remove(), 2600);
}

function onMessage(m) {
  switch (m.type) {
    case "danmaku":
      line("msg", h("span.who", (m.user && m.user.name) || "someone"), h("span.text", m.text));
      break;
    case "gift": {
      const who = (m.sender && m.sender.nickname) || "someone";
      const name = (m.gift && m.gift.name) || "a gift";
      line("chat-gift", icon("gift"), h("span.who", who), ` sent ${name}` + (m.count > 1 ? ` ×${m.count}` : ""));
      flyGift(name, m.count);
      break;
    }
    case "live_started":
      line("system", "The stream started");
      refresh().then(startPlayer);
      break;
    case "live_ended":
      line("system", "The stream ended");
      stopPlaying("The stream has ended");
      $("audience").hidden = true;
      $("room-status").textContent = "offline";
      $("room-status").className = "status-pill";
      break;
    case "live_cut":
      line("system", m.reason === "banned" ? "This room was closed by a moderator" : "The stream was stopped by a moderator");
      stopPlaying(m.reason === "banned" ? "This room was closed by a moderator" : "This stream was stopped by a moderator");
      $("audience").hidden = true;
      $("room-status").textContent = m.reason === "banned" ? "banned" : "offline";
      $("room-status").className = "status-pill";
      break;
    default:
      break;
  }
}

async function banned() {
  $("banned-banner").hidden = false;
  $("chat-form").hidden = true;
  $("gift-bar").classList.add("disabled");
  await signOut();
  header("");
}

function startChat(signedIn) {
  if (chat) chat.close();
  // The first token comes with the page's session; reconnects ask for a fresh one.
  let first = true;
  const token = signedIn ? async () => {
    const s = await session(!first);
    first = false;
    return s && s.access_token;
  } : null;
  chat = new RoomChat(id, token, {
    onMessage,
    // Joined: read the number again, which now counts this visitor too.
    onReady: () => { readRoom(); },
    onNotification: (n) => {
      if (!n.payload) return;
      // Operators' announcements, and what the anchor should change in the encoder.
      const [title, body] = n.kind === "announcement" ? [n.payload.title, n.payload.body] :
        n.kind === "stream_warning" ? ["Stream warning", n.payload.message] : [null, null];
      if (!title) return;
      const box = $("announcement");
      box.replaceChildren(h("strong", title), h("span", body),
        h("button.btn.ghost.small", { type: "button", onclick: () => { box.hidden = true; } }, "Dismiss"));
      box.hidden = false;
    },
    onError: (e) => {
      if (e.code === "account_banned") { banned(); return; }
      toast(e.code === "sensitive_words" ? "That message has words that are not allowed." :
        e.code === "rate_limited" ? "Slow down a little." :
        e.code === "muted" ? "You are muted in this room." : (e.message || e.code), "error");
    },
    onClosed: async (why) => {
      if (why !== "kicked") return;
      // The server closed the connection: a ban, if the session is gone too.
      const s = await session(true).catch(() => null);
      if (!s) banned();
    },
  });
}

// What was typed stays in the box until the server takes it: a message refused (too
// fast, a banned word, muted) can be sent again or edited.
$("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text || !chat) return;
  chat.send(text).then(() => {
    if (input.value.trim() === text) input.value = "";
  }, (e) => {
    if (e && (e.code === "not_connected" || e.code === "closed")) toast(e.message, "error");
  });
});

async function loadFollow() {
  const btn = $("follow");
  if (!room || (me && me.id === room.owner.id)) { btn.hidden = true; return; }
  let following = false;
  if (me) {
    const u = await api("GET", `/api/v1/users/${room.owner.id}`).catch(() => null);
    following = !!(u && u.is_following);
  }
  const show = () => {
    btn.textContent = following ? "Following" : "Follow";
    btn.classList.toggle("ghost", following);
  };
  show();
  btn.hidden = false;
  btn.onclick = async () => {
    if (!me) { location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
    try {
      await api(following ? "DELETE" : "POST", `/api/v1/users/${room.owner.id}/follow`);
      following = !following;
      show();
    } catch (e) { toast(e.message, "error"); }
  };
}

async function loadWallet() {
  if (!me) return;
  try {
    const [w, top] = await Promise.all([api("GET", "/api/v1/wallet"), topUpButton(loadWallet)]);
    $("wallet-box").replaceChildren(
      h("span.coins", { id: "coins", title: `${w.coins} coins` }, icon("coin"), compact(w.coins)),
      ...(top ? [top] : []),
    );
  } catch (_) { /* wallet hidden */ }
}

async function sendGift(gift) {
  if (!me) { location.assign("/login?next=" + encodeURIComponent(location.pathname)); return; }
  try {
    const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
    await api("POST", `/api/v1/rooms/${id}/gifts`, { gift_id: gift.id, count: 1, idempotency_key: key });
    loadWallet();
  } catch (e) {
    if (e.code === "insufficient_coins") toast("Not enough coins: top up first.", "error");
    else if (e.code === "account_banned") banned();
    else toast(e.message, "error");
  }
}

/// The gift's own picture (the catalogue's icon_url), or the plain gift drawing.
function giftIcon(g) {
  const src = safeUrl(g.icon_url);
  if (!src) return icon("gift", "gift-icon");
  const img = h("img.gift-icon", { src, alt: "" });
  img.addEventListener("error", () => img.replaceWith(icon("gift", "gift-icon")), { once: true });
  return img;
}

async function loadGifts() {
  try {
    const gifts = await api("GET", "/api/v1/gifts");
    $("gift-list").replaceChildren(...gifts.map((g) =>
      h("button.gift", { type: "button", title: `${g.name}: ${g.price_coins} coins`, onclick: () => sendGift(g), dataset: { giftId: String(g.id) } },
        giftIcon(g), h("span.gift-name", g.name), h("span.gift-price.muted", icon("coin"), `${g.price_coins}`)),
    ));
    if (!gifts.length) $("gift-list").append(h("span.muted", "No gifts in the catalogue yet."));
  } catch (_) { /* no gifts */ }
}

async function refresh() {
  try {
    const r = await api("GET", `/api/v1/rooms/${id}`);
    showRoom(r);
    return r;
  } catch (e) {
    if (room) return null; // a hiccup while watching: keep what is shown
    noRoom(e.status === 404 || e.status === 400 ? "There is no such room" : "Cannot load the room: " + e.message);
    return null;
  }
}

// The room read again: its audience, and the player if it went live meanwhile.
async function readRoom() {
  if (!room) return;
  const r = await api("GET", `/api/v1/rooms/${id}`).catch(() => null);
  if (!r) return;
  audience(r);
  if (r.status === "live" && !stopPlayer && !r.banned) { room = r; startPlayer(); }
}

// No room to show (or none that could be read): no gifts to send, no chat to join.
function noRoom(text) {
  document.body.classList.add("no-room");
  overlay(text);
  document.title = "No such room · momo";
  $("room-title").textContent = text;
  $("room-meta").hidden = true;
  $("gift-bar").hidden = true;
  $("chat-form").hidden = true;
  $("chat-guest").hidden = true;
  $("chat-empty").hidden = true;
  $("chat-list").append(h("li.chat-line.system", { id: "chat-none" }, "No chat here: this room does not exist. ",
    h("a", { href: "/" }, "See who is live")));
}

async function main() {
  const s = await header("");
  me = s && s.user;
  if (!Number.isInteger(id) || id <= 0) { noRoom("There is no such room"); return; }
  $("chat-form").hidden = !me;
  $("chat-guest").hidden = !!me;
  $("chat-login").href = "/login?next=" + encodeURIComponent(location.pathname);
  if (!(await refresh())) return;
  $("chat-empty").hidden = $("chat-list").querySelector(".chat-line:not(.chat-empty)") !== null;
  startChat(!!s);
  loadGifts();
  loadWallet();
  loadFollow();
  setInterval(readRoom, 5000);
}

main();
