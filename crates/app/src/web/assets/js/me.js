// Me: profile, coins and diamonds with their history, withdrawals, a new stream key,
// and the visitor's videos.
import { api, h, header, avatar, compact, when, toast, safeUrl, session, signOut } from "/assets/js/api.js";
import { topUpButton } from "/assets/js/wallet.js";

const $ = (x) => document.getElementById(x);

function mePage() {
  let me = null;
  let ledgerCursor = null;

  function showError(box, e) {
    box.textContent = e.fields ? Object.entries(e.fields).map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`).join("; ") : e.message;
    box.hidden = false;
  }

  function key() {
    return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
  }

  function showProfile(u) {
    me = u;
    $("me-avatar").replaceChildren(avatar(u, "md"));
    $("me-handle").textContent = "@" + u.username;
    $("profile-nickname").value = u.nickname || "";
    $("profile-avatar").value = u.avatar_url || "";
    $("profile-bio").value = u.bio || "";
    $("profile-location").value = u.location || "";
  }

  $("me-logout").addEventListener("click", async () => { await signOut(); location.assign("/"); });

  $("profile-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("profile-error");
    err.hidden = true;
    const url = $("profile-avatar").value.trim();
    const body = {
      nickname: $("profile-nickname").value.trim(),
      avatar_url: url || null,
      bio: $("profile-bio").value.trim(),
      location: $("profile-location").value.trim(),
    };
    const button = $("profile-save");
    button.disabled = true;
    try {
      const u = await api("PATCH", "/api/v1/users/me", body);
      showProfile(u);
      await session(true);
      header("me");
      toast("Profile saved");
    } catch (e) {
      showError(err, e);
    } finally {
      button.disabled = false;
    }
  });

  const KINDS = {
    recharge: "Top up", gift: "Gift", withdraw_hold: "Withdrawal asked", withdraw_paid: "Withdrawal paid",
    withdraw_release: "Withdrawal returned", adjustment: "Adjustment by an operator",
  };

  function entry(e) {
    const sign = e.amount > 0 ? "+" : "";
    const unit = e.asset === "coin" ? "coins" : "diamonds";
    return h("li.ledger-row", { dataset: { entryId: String(e.id) } },
      h("div.ledger-what", h("strong", KINDS[e.kind] || e.kind), e.memo ? h("span.muted", " · " + e.memo) : null,
        h("div.muted.small", when(e.created_at))),
      h("div.ledger-amount" + (e.amount < 0 ? ".neg" : ".pos"), `${sign}${e.amount} ${unit}`),
    );
  }

  async function loadWallet() {
    const w = await api("GET", "/api/v1/wallet");
    $("bal-coins").textContent = compact(w.coins);
    $("bal-coins").title = String(w.coins);
    $("bal-diamonds").textContent = compact(w.diamonds);
    $("bal-diamonds").title = String(w.diamonds);
    $("bal-held").textContent = compact(w.diamonds_held);
  }

  async function loadLedger(more) {
    const q = new URLSearchParams({ limit: "20" });
    if (more && ledgerCursor) q.set("cursor", ledgerCursor);
    const page = await api("GET", "/api/v1/wallet/ledger?" + q);
    const list = $("ledger");
    const rows = (page.items || []).map(entry);
    if (more) list.append(...rows);
    else list.replaceChildren(...rows);
    if (!list.children.length) list.append(h("li.empty-row.muted", "No coins or diamonds have moved yet."));
    ledgerCursor = page.next_cursor || null;
    $("ledger-more").hidden = !ledgerCursor;
  }
  $("ledger-more").addEventListener("click", () => loadLedger(true).catch((e) => toast(e.message, "error")));

  async function refreshMoney() {
    await Promise.all([loadWallet(), loadLedger(false), loadWithdrawals()]);
  }

  function withdrawal(w) {
    const state = { pending: "waiting for an operator", paid: "paid", rejected: "rejected" }[w.state] || w.state;
    return h("li.ledger-row", { dataset: { withdrawalId: String(w.id) } },
      h("div.ledger-what", h("strong", `${compact(w.diamonds)} diamonds`), h("span.muted", " to " + w.account),
        h("div.muted.small", when(w.created_at) + (w.reason ? " · " + w.reason : ""))),
      h("span.pill" + (w.state === "paid" ? ".ok" : w.state === "rejected" ? ".danger" : ""), state),
    );
  }

  async function loadWithdrawals() {
    const page = await api("GET", "/api/v1/wallet/withdrawals?limit=20");
    const list = $("withdrawals");
    list.replaceChildren(...(page.items || []).map(withdrawal));
    if (!list.children.length) list.append(h("li.empty-row.muted", "You have not asked to withdraw yet."));
  }

  $("withdraw-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("withdraw-error");
    err.hidden = true;
    const diamonds = Number($("withdraw-diamonds").value);
    const account = $("withdraw-account").value.trim();
    if (!Number.isInteger(diamonds) || diamonds <= 0) { showError(err, { message: "Say how many diamonds, a whole number." }); return; }
    if (!account) { showError(err, { message: "Say where to pay." }); return; }
    const button = $("withdraw-submit");
    button.disabled = true;
    try {
      await api("POST", "/api/v1/wallet/withdrawals", { diamonds, account, idempotency_key: key() });
      ev.target.reset();
      toast("Withdrawal asked; the diamonds are held until an operator decides");
      await refreshMoney();
    } catch (e) {
      if (e.code === "insufficient_diamonds") showError(err, { message: "You do not have that many diamonds." });
      else showError(err, e);
    } finally {
      button.disabled = false;
    }
  });

  // A new stream key asks once more before it acts: the old key stops at once.
  let armed = null;
  $("key-rotate").addEventListener("click", async () => {
    const b = $("key-rotate");
    if (!armed) {
      b.textContent = "Yes, make a new key and stop the old one";
      b.classList.add("danger");
      armed = setTimeout(() => { armed = null; b.textContent = "Make a new stream key"; b.classList.remove("danger"); }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.disabled = true;
    try {
      // The caller's room (made on first use, as Go live does), then its new key.
      const room = await api("POST", "/api/v1/rooms", {});
      const r = await api("POST", `/api/v1/rooms/${room.id}/stream-key`);
      const input = h("input", { id: "new-stream-key", value: r.stream_key || "", readonly: true, type: "password" });
      $("key-box").replaceChildren(h("label", { for: "new-stream-key" }, "Your new stream key",
        h("div.copy-row", input,
          h("button.btn.ghost.small", { type: "button", onclick: (e) => { input.type = input.type === "password" ? "text" : "password"; e.target.textContent = input.type === "password" ? "Show" : "Hide"; } }, "Show"),
          h("button.btn.ghost.small", { type: "button", onclick: () => copy(input.value) }, "Copy"))));
      toast("New stream key made; the old one no longer works");
    } catch (e) {
      toast(e.message, "error");
    } finally {
      b.disabled = false;
      b.textContent = "Make a new stream key";
      b.classList.remove("danger");
    }
  });

  async function copy(text) {
    try { await navigator.clipboard.writeText(text); toast("Copied"); } catch (_) { toast("Select the key and copy it", "error"); }
  }

  const STATUS = { processing: "processing", ready: "ready", failed: "failed" };

  function myVideo(v) {
    const cover = safeUrl(v.cover_url);
    const art = h("div.my-video-cover");
    if (cover) art.append(h("img", { src: cover, alt: "", loading: "lazy" }));
    const link = v.status === "ready" ? `/videos?v=${v.id}` : null;
    const title = v.title || "(untitled)";
    return h("li.my-video", { dataset: { videoId: String(v.id), status: v.status } },
      art,
      h("div.my-video-text",
        link ? h("a.my-video-title", { href: link }, title) : h("span.my-video-title", title),
        h("div.muted.small", when(v.created_at)),
        h("div.my-video-stats",
          h("span.pill" + (v.status === "ready" ? ".ok" : v.status === "failed" ? ".danger" : ""), STATUS[v.status] || v.status),
          v.visibility !== "public" ? h("span.pill", v.visibility === "private" ? "only me" : "followers") : null,
          v.hidden ? h("span.pill.danger", "hidden by a moderator") : null,
          h("span.muted.small", `${compact(v.view_count)} views · ${compact(v.like_count)} likes · ${compact(v.comment_count)} comments`)),
        v.fail_reason ? h("div.muted.small", v.fail_reason) : null,
      ),
    );
  }

  async function loadVideos() {
    const list = $("my-videos");
    try {
      const page = await api("GET", `/api/v1/users/${me.id}/videos?limit=50`);
      const items = page.items || [];
      list.replaceChildren(...items.map(myVideo));
      if (!items.length) list.append(h("li.empty-row.muted", "You have not posted a video yet."));
      // Those still processing are looked at again until they are done.
      if (items.some((v) => v.status === "processing")) setTimeout(loadVideos, 3000);
    } catch (e) {
      list.replaceChildren(h("li.error-box", "Cannot load your videos: " + e.message));
    }
  }

  async function start() {
    const s = await header("me");
    if (!s || !s.user) { $("me-signed-out").hidden = false; return; }
    $("me-body").hidden = false;
    try {
      showProfile(await api("GET", "/api/v1/users/me"));
    } catch (e) {
      showError($("profile-error"), e);
      showProfile(s.user);
    }
    const top = await topUpButton(() => refreshMoney().catch(() => {}));
    if (top) $("me-topup").replaceChildren(top);
    refreshMoney().catch((e) => toast("Cannot load your wallet: " + e.message, "error"));
    loadVideos();
  }
  start();
}

mePage();
