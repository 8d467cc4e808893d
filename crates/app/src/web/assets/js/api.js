// momo's pages talk to the JSON API through here: same-origin fetch with the session
// cookie, the CSRF token on every state-changing call, errors as ApiError.
//
// Everything a user wrote (nicknames, titles, chat) goes into the page through `h()`,
// which only ever sets text: never innerHTML with user data.

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "http_" + status;
    this.fields = fields || null;
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    const csrf = cookie("momo_csrf");
    if (csrf) headers["x-csrf-token"] = csrf;
  }
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", "momo cannot be reached; check your connection");
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code, err.message, err.fields);
  }
  return data;
}

let sessionPromise = null;

/// The signed-in visitor `{user, csrf_token, access_token}`, or null.
export function session(fresh) {
  if (!sessionPromise || fresh) {
    // A guest gets 200 with a null user.
    sessionPromise = api("GET", "/api/v1/web/session")
      .then((s) => (s && s.user ? s : null))
      .catch((e) => {
        if (e.status === 401) return null;
        throw e;
      });
  }
  return sessionPromise;
}

export async function signIn(username, password) {
  const s = await api("POST", "/api/v1/web/session", { username, password });
  sessionPromise = Promise.resolve(s);
  return s;
}

export async function signOut() {
  try { await api("DELETE", "/api/v1/web/session"); } catch (_) { /* already out */ }
  sessionPromise = Promise.resolve(null);
}

/// Builds an element: `h("a.btn", {href: "/"}, "text", child, ...)`. Strings become
/// text nodes; attributes are set as attributes or properties, never as HTML.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = String(v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/// Only http(s) and same-origin paths may be used as image or link URLs.
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return "";
  if (url.startsWith("/") && !url.startsWith("//")) return url;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch (_) {
    return "";
  }
}

export function avatar(user, size) {
  const url = safeUrl(user && user.avatar_url);
  const name = (user && (user.nickname || user.username)) || "?";
  const el = h("span.avatar" + (size ? "." + size : ""), { title: name });
  const initial = Array.from(name)[0].toUpperCase();
  if (url) {
    // An address that does not load (gone, mistyped) falls back to the initial.
    el.append(h("img", { src: url, alt: "", loading: "lazy", onerror: () => { el.textContent = initial; } }));
  } else {
    el.textContent = initial;
  }
  el.style.setProperty("--hue", String(hue(name)));
  return el;
}

export function hue(s) {
  let x = 0;
  for (const ch of String(s)) x = (x * 31 + ch.codePointAt(0)) % 360;
  return x;
}

export function compact(n) {
  n = Number(n) || 0;
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
  if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + "k";
  return String(n);
}

export function when(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString();
}

export function toast(message, kind) {
  const t = document.getElementById("toast");
  if (!t) return;
  t.textContent = message;
  t.className = "toast " + (kind || "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}

/// Fills the header: the nav link of this page, and who is signed in.
export async function header(active) {
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === active);
  }
  const box = document.getElementById("userbox");
  if (!box) return null;
  let s = null;
  try { s = await session(); } catch (_) { s = null; }
  box.replaceChildren();
  if (!s) {
    const next = encodeURIComponent(location.pathname + location.search);
    box.append(
      h("a.btn.ghost.small", { href: "/login?next=" + next, id: "login-link" }, "Log in"),
      h("a.btn.small", { href: "/signup?next=" + next, id: "signup-link" }, "Sign up"),
    );
    return null;
  }
  const u = s.user;
  const menu = h("a.usermenu" + (active === "me" ? ".active" : ""), { href: "/me", id: "me-link", title: "Me: profile, wallet and videos" },
    avatar(u, "sm"),
    h("span.username", { id: "me-name" }, u.nickname || u.username),
  );
  if (u.role === "admin") box.append(h("a.btn.ghost.small", { href: "/admin" }, "Admin"));
  box.append(menu, h("button.btn.ghost.small", {
    id: "logout",
    onclick: async () => { await signOut(); location.reload(); },
  }, "Log out"));
  return s;
}

// Icons drawn as inline SVG (no icon font, no emoji: both depend on the fonts a
// device has). 24×24 paths, stroked with the current colour.
const ICONS = {
  eye: "M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
  gift: "M20 12v9H4v-9 M2 7h20v5H2z M12 22V7 M12 7H7.5a2.5 2.5 0 1 1 0-5C11 2 12 7 12 7z M12 7h4.5a2.5 2.5 0 1 0 0-5C13 2 12 7 12 7z",
  coin: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20z M12 6v12 M15 9.5c0-1.4-1.3-2-3-2s-3 .8-3 2 1.2 1.7 3 2 3 .8 3 2-1.3 2-3 2-3-.6-3-2",
  heart: "M20.8 4.6a5.5 5.5 0 0 0-7.8 0L12 5.7l-1-1.1a5.5 5.5 0 0 0-7.8 7.8l1 1.1L12 21l7.8-7.5 1-1.1a5.5 5.5 0 0 0 0-7.8z",
  comment: "M21 11.5a8.4 8.4 0 0 1-9 8.4 8.5 8.5 0 0 1-3.8-.9L3 21l1.9-5.2A8.4 8.4 0 0 1 12 3a8.4 8.4 0 0 1 9 8.5z",
  share: "M4 12v8h16v-8 M16 6l-4-4-4 4 M12 2v13",
  muted: "M11 5L6 9H2v6h4l5 4V5z M23 9l-6 6 M17 9l6 6",
  sound: "M11 5L6 9H2v6h4l5 4V5z M15.5 8.5a5 5 0 0 1 0 7 M19 5a10 10 0 0 1 0 14",
};

export function icon(name, cls) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon-svg" + (cls ? " " + cls : ""));
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", ICONS[name] || "");
  svg.append(path);
  return svg;
}
