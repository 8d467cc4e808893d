// Log in and sign up. Signing up registers through the API, then opens a web session
// with the same credentials; both land on `?next=` (same-origin paths only).
import { api, h, header, signIn } from "/assets/js/api.js";

const form = document.getElementById("auth-form");
const params = new URLSearchParams(location.search);
// Only a path on this site. Judged on the URL as the browser parses it, not on the text:
// "//host", "/\host" and "/<tab>/host" all look like paths and all leave the site.
function sameOrigin(raw) {
  if (!raw || !raw.startsWith("/")) return "/";
  try {
    const u = new URL(raw, location.origin);
    return u.origin === location.origin ? u.pathname + u.search + u.hash : "/";
  } catch {
    return "/";
  }
}
const next = sameOrigin(params.get("next"));

header("");

if (form) {
  const signup = location.pathname === "/signup";
  const q = "?next=" + encodeURIComponent(next);
  const sw = document.getElementById("auth-switch");
  if (signup) {
    document.getElementById("auth-title").textContent = "Create your account";
    document.getElementById("auth-sub").textContent = "Pick a username. You can change your nickname later.";
    document.getElementById("nickname-row").hidden = false;
    document.getElementById("password").autocomplete = "new-password";
    document.getElementById("auth-submit").textContent = "Sign up";
    sw.append("Have an account? ", h("a", { href: "/login" + q }, "Log in"));
  } else {
    sw.append("New here? ", h("a", { href: "/signup" + q }, "Create an account"));
  }

  const errorBox = document.getElementById("auth-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errorBox.hidden = true;
    const username = form.username.value.trim();
    const password = form.password.value;
    const button = document.getElementById("auth-submit");
    button.disabled = true;
    try {
      if (signup) {
        const body = { username, password };
        const nickname = form.nickname.value.trim();
        if (nickname) body.nickname = nickname;
        await api("POST", "/api/v1/auth/register", body);
      }
      await signIn(username, password);
      location.assign(next);
    } catch (e) {
      let msg = e.message;
      if (e.fields) msg = Object.entries(e.fields).map(([k, v]) => `${k} ${v}`).join("; ");
      if (e.code === "invalid_credentials") msg = "Wrong username or password.";
      if (e.code === "username_taken") msg = "That username is taken.";
      errorBox.textContent = msg;
      errorBox.hidden = false;
      button.disabled = false;
    }
  });
}
