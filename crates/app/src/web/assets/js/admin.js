// The admin console: one page whose sections are drawn from the admin API. Every
// action goes through the API (which checks the admin role and writes the audit log).
import { api, h, header, avatar, compact, when, toast, safeUrl, icon } from "/assets/js/api.js";
import { chart } from "/assets/js/charts.js";
import { play } from "/assets/js/player.js";

const view = document.getElementById("admin-view");
let cleanup = [];

function title(text, ...extra) {
  return h("div.admin-head", h("h1", text), ...extra);
}

/// A table: `cols` is [[heading, (row) => cell]], cells are strings or nodes.
function table(cols, rows, empty) {
  if (!rows.length) return h("div.empty-row.muted", empty || "Nothing here.");
  return h("div.table-wrap", h("table.data",
    h("thead", h("tr", ...cols.map(([c]) => h("th", c)))),
    h("tbody", ...rows.map((r) => h("tr", ...cols.map(([c, f]) => h("td", { "data-label": c }, f(r)))))),
  ));
}

/// A button that asks for a second click before it acts.
function act(label, fn, danger) {
  const b = h("button.btn.small" + (danger ? ".danger" : ".ghost"), { type: "button" }, label);
  let armed = false;
  b.addEventListener("click", async () => {
    if (danger && !armed) {
      armed = true;
      b.textContent = "Confirm " + label.toLowerCase() + "?";
      setTimeout(() => { armed = false; b.textContent = label; }, 4000);
      return;
    }
    b.disabled = true;
    try { await fn(); } catch (e) { toast(e.message, "error"); } finally { b.disabled = false; }
  });
  return b;
}

function unavailable(what, e) {
  if (e.status === 404 && e.code === "not_found") {
    return h("div.card.unavailable", h("h2", `${what} are not available`),
      h("p.muted", "This momo server does not serve this part of the API yet."));
  }
  return h("div.error-box", `Cannot load ${what.toLowerCase()}: ${e.message}`);
}

/// A form control inside its label: the label shown above it, or `quiet` (read by
/// screen readers only) where the toolbar around it already says what it is.
function field(text, control, quiet) {
  return h("label.field" + (quiet ? ".quiet" : ""), h("span" + (quiet ? ".visually-hidden" : ""), text), control);
}

/// Tabs that say which is chosen (`aria-selected`), for the lists filtered by state.
function tabs(label, items, current, pick) {
  return h("div.tabs", { role: "tablist", "aria-label": label }, ...items.map(([v, text]) =>
    h("button.tab" + (v === current ? ".active" : ""), { type: "button", role: "tab", "aria-selected": String(v === current), onclick: () => pick(v) }, text)));
}

/// A gift's icon as the viewers see it: the image at `url`, or the plain gift drawing
/// when there is none or it does not load.
function giftIcon(url) {
  const box = h("span.gift-preview", { "aria-hidden": "true" });
  const src = safeUrl(url);
  const fallback = () => box.replaceChildren(icon("gift"));
  if (src) box.append(h("img", { src, alt: "", onerror: fallback }));
  else fallback();
  return box;
}

/// An icon field (path or URL) with a preview that follows what is typed.
function iconField(text, value, quiet, attrs) {
  const input = h("input", { type: "text", value: value || "", maxlength: 500, list: "gift-icons", autocomplete: "off",
    spellcheck: "false", placeholder: "/assets/gifts/….svg or https://…", ...attrs });
  let look = giftIcon(value);
  input.addEventListener("input", () => {
    const next = giftIcon(input.value.trim());
    look.replaceWith(next);
    look = next;
  });
  return { input, node: h("div.icon-field", look, field(text, input, quiet)) };
}

/// Where the server's refusal of a gift (a name taken, a bad field) is said: next to
/// its name field, which is marked invalid until the next try.
function refusalOf(nameInput, id) {
  const node = h("p.field-error", { id, role: "alert", hidden: true });
  nameInput.setAttribute("aria-describedby", id);
  const clear = () => { node.hidden = true; node.textContent = ""; nameInput.removeAttribute("aria-invalid"); };
  return {
    node,
    async catching(fn) {
      clear();
      try {
        await fn();
      } catch (e) {
        if (e.status < 400 || e.status >= 500) throw e;
        const details = Object.entries(e.fields || {}).map(([f, m]) => `${f.replace("_", " ")} ${m}`);
        node.textContent = details.length ? details.join("; ") : e.message;
        node.hidden = false;
        nameInput.setAttribute("aria-invalid", "true");
        nameInput.focus();
      }
    },
  };
}

function stat(label, value, id) {
  return h("div.stat.card", { id }, h("div.stat-value", value), h("div.stat-label.muted", label));
}

const sections = {
  async dashboard() {
    const s = await api("GET", "/api/v1/admin/stats?days=14");
    const t = s.totals;
    const label = (d) => d.date.slice(5);
    view.replaceChildren(
      title("Dashboard"),
      ...s.warnings.map((w) => h("div.banner.danger.unsafe-setting", w)),
      h("div.stats",
        stat("Users", compact(t.users), "stat-users"),
        stat("Live now", compact(t.rooms_live), "stat-live"),
        stat("Viewers", compact(t.viewers), "stat-viewers"),
        stat("Gift coins today", compact(t.gift_coins_today), "stat-gifts"),
        stat("Pending withdrawals", compact(t.withdrawals_pending), "stat-withdrawals"),
      ),
      h("div.charts",
        chart("New users per day", s.days.map((d) => ({ label: label(d), value: d.new_users })), "bar"),
        chart("Gift coins per day", s.days.map((d) => ({ label: label(d), value: d.gift_coins })), "bar"),
        chart("Live sessions per day", s.days.map((d) => ({ label: label(d), value: d.live_sessions })), "line"),
        chart("Peak viewers per day", s.days.map((d) => ({ label: label(d), value: d.peak_viewers })), "line"),
      ),
    );
  },

  async users() {
    const q = new URLSearchParams(location.search).get("q") || "";
    const input = h("input", { type: "search", placeholder: "Username or nickname prefix", value: q, id: "user-search" });
    const form = h("form.toolbar", { onsubmit: (ev) => { ev.preventDefault(); go("/admin/users?q=" + encodeURIComponent(input.value.trim())); } },
      field("Search users", input, true), h("button.btn", { type: "submit" }, "Search"));
    const page = await api("GET", "/api/v1/admin/users?limit=50&q=" + encodeURIComponent(q));
    const detail = h("div.detail", { id: "user-detail" });
    view.replaceChildren(title("Users"), form, table([
      ["ID", (u) => String(u.id)],
      ["User", (u) => h("span.usercell", avatar(u, "sm"), h("span", u.nickname), h("span.muted", " @" + u.username))],
      ["Role", (u) => h("span.pill" + (u.role === "admin" ? ".accent" : ""), u.role)],
      ["Status", (u) => h("span.pill" + (u.status === "banned" ? ".danger" : ".ok"), u.status)],
      ["Joined", (u) => when(u.created_at)],
      ["", (u) => h("div.actions",
        act("View", () => showUser(u.id, detail)),
        u.status === "banned"
          ? act("Unban", async () => { await api("DELETE", `/api/v1/admin/users/${u.id}/ban`); toast("Unbanned"); sections.users(); })
          : act("Ban", async () => { await api("POST", `/api/v1/admin/users/${u.id}/ban`); toast("Banned"); sections.users(); }, true),
        u.role === "admin"
          ? act("Revoke admin", async () => { await api("PUT", `/api/v1/admin/users/${u.id}/role`, { role: "user" }); sections.users(); }, true)
          : act("Make admin", async () => { await api("PUT", `/api/v1/admin/users/${u.id}/role`, { role: "admin" }); sections.users(); }, true),
      )],
    ], page.items, "No users match."), detail);
  },

  async rooms() {
    const page = await api("GET", "/api/v1/admin/rooms?limit=100");
    const watch = h("div.watch", { id: "watch" });
    view.replaceChildren(title("Live rooms", h("button.btn.ghost.small", { type: "button", onclick: () => sections.rooms() }, "Refresh")), table([
      ["ID", (r) => String(r.id)],
      ["Room", (r) => h("a", { href: `/rooms/${r.id}`, target: "_blank" }, r.title || "Untitled")],
      ["Anchor", (r) => r.owner.nickname],
      ["Viewers", (r) => compact(r.viewers)],
      ["Stream", (r) => r.stream
        ? `${compact(r.stream.bytes_in)}B in · ${compact(r.stream.frames_in)} frames · ${compact(r.stream.frames_dropped)} dropped · peak ${r.stream.players_peak}`
        : "on another node"],
      ["Live since", (r) => when(r.live_since)],
      ["", (r) => h("div.actions",
        act("Watch", async () => watchRoom(r, watch)),
        act("Cut", async () => { await api("POST", `/api/v1/admin/rooms/${r.id}/cut`); toast("Stream cut"); sections.rooms(); }, true),
        act("Ban room", async () => { await api("POST", `/api/v1/admin/rooms/${r.id}/ban`); toast("Room banned"); sections.rooms(); }, true),
      )],
    ], page.items, "No room is live right now."), watch,
    h("form.toolbar", { onsubmit: async (ev) => {
      ev.preventDefault();
      const id = Number(ev.target.room.value);
      try { await api("DELETE", `/api/v1/admin/rooms/${id}/ban`); toast(`Room ${id} may go live again`); } catch (e) { toast(e.message, "error"); }
    } }, field("Room id", h("input", { name: "room", type: "number", min: 1, placeholder: "Room id" }), true), h("button.btn.ghost", { type: "submit" }, "Lift a room ban")));
  },

  async gifts() {
    const gifts = await api("GET", "/api/v1/admin/gifts");
    // The icons in use (the built-in ones under /assets/gifts/ among them), offered
    // again in every icon field.
    const icons = [...new Set(gifts.map((g) => g.icon_url).filter(Boolean))].sort();
    const iconList = h("datalist", { id: "gift-icons" }, ...icons.map((u) => h("option", { value: u })));
    const row = (g) => {
      const name = h("input", { value: g.name, maxlength: 32 });
      const price = h("input", { type: "number", min: 1, value: g.price_coins });
      const sort = h("input", { type: "number", value: g.sort });
      const iconBox = iconField(`Icon of gift ${g.id}`, g.icon_url, true);
      const refusal = refusalOf(name, `gift-${g.id}-error`);
      return h("tr", { dataset: { giftId: String(g.id) } },
        h("td", { "data-label": "ID" }, String(g.id)),
        h("td", { "data-label": "Icon" }, iconBox.node),
        h("td", { "data-label": "Name" }, field(`Name of gift ${g.id}`, name, true), refusal.node),
        h("td", { "data-label": "Price" }, field(`Price of gift ${g.id} in coins`, price, true)),
        h("td", { "data-label": "Sort" }, field(`Sort order of gift ${g.id}`, sort, true)),
        h("td", { "data-label": "State" }, h("span.pill" + (g.active ? ".ok" : ".danger"), g.active ? "active" : "retired")),
        h("td", { "data-label": "" }, h("div.actions",
          act("Save", () => refusal.catching(async () => {
            await api("PATCH", `/api/v1/admin/gifts/${g.id}`, {
              name: name.value.trim(), price_coins: Number(price.value), sort: Number(sort.value), icon_url: iconBox.input.value.trim(),
            });
            toast("Saved"); sections.gifts();
          })),
          g.active
            ? act("Retire", async () => { await api("DELETE", `/api/v1/admin/gifts/${g.id}`); sections.gifts(); }, true)
            : act("Restore", () => refusal.catching(async () => { await api("PATCH", `/api/v1/admin/gifts/${g.id}`, { active: true }); sections.gifts(); })),
        )),
      );
    };
    const newName = h("input", { name: "gname", id: "gift-new-name", placeholder: "New gift name", required: true, maxlength: 32 });
    const newIcon = iconField("Icon (path or URL)", "", false, { name: "icon", id: "gift-new-icon" });
    const newRefusal = refusalOf(newName, "gift-new-error");
    const form = h("form.gift-form.card", { id: "gift-new", onsubmit: async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      const button = f.querySelector("button[type=submit]");
      button.disabled = true;
      await newRefusal.catching(async () => {
        await api("POST", "/api/v1/admin/gifts", {
          name: f.gname.value.trim(), price_coins: Number(f.price.value), icon_url: f.icon.value.trim(),
        });
        toast("Gift created"); sections.gifts();
      });
      button.disabled = false;
    } },
      h("h2", "New gift"),
      h("div.gift-form-fields",
        h("div.gift-form-name", field("Name", newName), newRefusal.node),
        field("Price in coins", h("input", { name: "price", type: "number", min: 1, placeholder: "Price (coins)", required: true })),
        h("div.gift-form-icon", newIcon.node),
        h("button.btn", { type: "submit" }, "Create")));
    view.replaceChildren(title("Gifts"), form, iconList, h("div.table-wrap", h("table.data",
      h("thead", h("tr", ...["ID", "Icon", "Name", "Price", "Sort", "State", ""].map((c) => h("th", c)))),
      h("tbody", ...gifts.map(row)))));
  },

  async wallet() {
    const params = new URLSearchParams(location.search);
    const user = params.get("user_id") || "";
    const kind = params.get("kind") || "";
    const search = h("form.toolbar", { onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      if (ev.target.user.value) q.set("user_id", ev.target.user.value);
      if (ev.target.kind.value) q.set("kind", ev.target.kind.value);
      go("/admin/wallet?" + q);
    } }, field("User id", h("input", { name: "user", type: "number", min: 1, placeholder: "User id", value: user }), true),
      field("Kind of entry", h("select", { name: "kind" }, ...["", "recharge", "gift", "withdraw_hold", "withdraw_paid", "withdraw_release", "adjustment"]
        .map((k) => h("option", { value: k, selected: k === kind }, k || "any kind"))), true),
      h("button.btn", { type: "submit" }, "Search"));
    const q = new URLSearchParams({ limit: "50" });
    if (user) q.set("user_id", user);
    if (kind) q.set("kind", kind);
    const page = await api("GET", "/api/v1/admin/wallet/ledger?" + q);
    const adjust = h("form.card.stack", { id: "adjust-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      if (!f.reason.value.trim()) { toast("A reason is required", "error"); return; }
      try {
        const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now());
        await api("POST", "/api/v1/admin/wallet/adjustments", {
          user_id: Number(f.user.value), asset: f.asset.value, amount: Number(f.amount.value),
          reason: f.reason.value.trim(), idempotency_key: key,
        });
        toast("Adjusted"); sections.wallet();
      } catch (e) { toast(e.message, "error"); }
    } }, h("h2", "Adjust a balance"),
      h("div.row", field("User id", h("input", { name: "user", type: "number", min: 1, placeholder: "User id", required: true })),
        field("Asset", h("select", { name: "asset" }, h("option", { value: "coin" }, "coins"), h("option", { value: "diamond" }, "diamonds"))),
        field("Amount", h("input", { name: "amount", type: "number", placeholder: "Amount (+/−)", required: true }))),
      field("Reason", h("input", { name: "reason", placeholder: "Required, kept in the ledger with your name", required: true, maxlength: 200 })),
      h("button.btn", { type: "submit" }, "Apply"));
    view.replaceChildren(title("Wallet"), search, table([
      ["Entry", (e) => String(e.id)],
      ["User", (e) => `${e.username} (#${e.user_id})`],
      ["Kind", (e) => e.kind],
      ["Amount", (e) => h("span" + (e.amount < 0 ? ".neg" : ".pos"), `${e.amount > 0 ? "+" : ""}${e.amount} ${e.asset}`)],
      ["Balance after", (e) => e.balance_after === null ? "" : String(e.balance_after)],
      ["Memo", (e) => e.memo],
      ["When", (e) => when(e.created_at)],
    ], page.items, "No ledger entries match."), adjust);
  },

  async withdrawals() {
    const st = new URLSearchParams(location.search).get("state") || "pending";
    const page = await api("GET", `/api/v1/admin/withdrawals?state=${encodeURIComponent(st)}&limit=50`);
    const states = tabs("Withdrawals by state", ["pending", "paid", "rejected", "all"].map((s) => [s, s]), st,
      (s) => go("/admin/withdrawals?state=" + s));
    view.replaceChildren(title("Withdrawals", states), table([
      ["ID", (w) => String(w.id)],
      ["User", (w) => h("a", { href: `/admin/users?q=`, onclick: (ev) => { ev.preventDefault(); go("/admin/wallet?user_id=" + w.user_id); } }, `#${w.user_id}`)],
      ["Diamonds", (w) => compact(w.diamonds)],
      ["Account", (w) => w.account],
      ["State", (w) => h("span.pill", w.state)],
      ["Asked", (w) => when(w.created_at)],
      ["", (w) => w.state !== "pending" ? (w.reason || "") : h("div.actions",
        act("Approve", async () => { await api("POST", `/api/v1/admin/withdrawals/${w.id}/approve`); toast("Paid"); sections.withdrawals(); }, true),
        h("form.inline", { onsubmit: async (ev) => {
          ev.preventDefault();
          try { await api("POST", `/api/v1/admin/withdrawals/${w.id}/reject`, { reason: ev.target.reason.value.trim() }); toast("Rejected"); sections.withdrawals(); }
          catch (e) { toast(e.message, "error"); }
        } }, field(`Why withdrawal ${w.id} is rejected`, h("input", { name: "reason", placeholder: "Reason", required: true }), true), h("button.btn.small.ghost", { type: "submit" }, "Reject")),
      )],
    ], page.items, `No ${st === "all" ? "" : st + " "}withdrawals.`));
  },

  async videos() {
    const st = new URLSearchParams(location.search).get("status") || "";
    const states = tabs("Videos by state", [["", "all"], ["ready", "ready"], ["processing", "processing"], ["failed", "failed"], ["deleted", "deleted"]], st,
      (v) => go("/admin/videos" + (v ? "?status=" + v : "")));
    view.replaceChildren(title("Videos", states));
    let page;
    try { page = await api("GET", "/api/v1/admin/videos?limit=50" + (st ? "&status=" + st : "")); } catch (e) { view.append(unavailable("Videos", e)); return; }
    view.append(table([
      ["ID", (v) => String(v.id)],
      ["Title", (v) => v.play_url ? h("a", { href: safeUrl(v.play_url) || "#", target: "_blank", rel: "noopener" }, v.title || "(untitled)") : (v.title || "(untitled)")],
      ["Author", (v) => v.author ? `${v.author.nickname} (@${v.author.username})` : ""],
      ["Status", (v) => h("span.pill" + (v.status === "failed" ? ".danger" : v.status === "ready" ? ".ok" : ""), v.status)],
      ["Visibility", (v) => [v.visibility || "", v.hidden ? " · hidden" : ""].join("")],
      ["Views", (v) => compact(v.view_count)],
      ["Likes", (v) => compact(v.like_count)],
      ["Posted", (v) => when(v.created_at)],
      ["", (v) => h("div.actions", v.hidden
        ? act("Unhide", async () => { await api("POST", `/api/v1/admin/videos/${v.id}/unhide`); toast("Visible again"); sections.videos(); })
        : act("Hide", async () => { await api("POST", `/api/v1/admin/videos/${v.id}/hide`); toast("Hidden"); sections.videos(); }, true))],
    ], page.items || [], "No videos."));
  },

  async reports() {
    const st = new URLSearchParams(location.search).get("status") || "open";
    const states = tabs("Reports by state", ["open", "hidden", "deleted", "dismissed", "banned"].map((v) => [v, v]), st,
      (v) => go("/admin/reports?status=" + v));
    view.replaceChildren(title("Reports", states));
    let page;
    try { page = await api("GET", `/api/v1/admin/reports?status=${encodeURIComponent(st)}&limit=50`); } catch (e) { view.append(unavailable("Reports", e)); return; }
    const resolve = (r, action, label) => act(label, async () => {
      await api("POST", `/api/v1/admin/reports/${r.id}/resolve`, { action });
      toast("Resolved"); sections.reports();
    }, action !== "dismiss");
    const what = (r) => {
      const t = r.target;
      if (!t) return h("span.muted", `${r.target_kind} #${r.target_id} (gone)`);
      const text = r.target_kind === "video" ? t.title : r.target_kind === "comment" ? t.body : `${t.nickname} (@${t.username})`;
      const by = t.author_username ? ` by @${t.author_username}` : "";
      return h("div", h("span.pill", `${r.target_kind} #${r.target_id}`), " ", text || "", h("span.muted", by));
    };
    view.append(table([
      ["ID", (r) => String(r.id)],
      ["Reported", what],
      ["Reason", (r) => r.reason || ""],
      ["Reporter", (r) => r.reporter_username ? "@" + r.reporter_username : `#${r.reporter_id}`],
      ["Reports", (r) => String(r.open_reports_of_target ?? "")],
      ["Filed", (r) => when(r.created_at)],
      ["", (r) => r.status !== "open" ? h("span.pill", r.status) : h("div.actions",
        r.target_kind !== "user" ? resolve(r, "hide", "Hide") : null,
        r.target_kind !== "user" ? resolve(r, "delete", "Delete") : null,
        resolve(r, "ban_author", r.target_kind === "user" ? "Ban user" : "Ban author"),
        resolve(r, "dismiss", "Dismiss"))],
    ], page.items || [], `No ${st} reports.`));
  },

  async words() {
    const words = await api("GET", "/api/v1/admin/sensitive-words");
    const form = h("form.toolbar", { onsubmit: async (ev) => {
      ev.preventDefault();
      try { await api("POST", "/api/v1/admin/sensitive-words", { word: ev.target.word.value.trim() }); toast("Added"); sections.words(); }
      catch (e) { toast(e.message, "error"); }
    } }, field("Word or phrase to mask", h("input", { name: "word", placeholder: "Word or phrase", required: true, maxlength: 50, id: "word-input" }), true),
      h("button.btn", { type: "submit" }, "Add"));
    view.replaceChildren(title("Sensitive words"),
      h("p.muted", "Room messages containing these are masked with * (or refused, as chat.sensitive_mode says). Changes apply at once."),
      form,
      h("div.chips", ...words.map((w) => h("span.chip", w.word,
        h("button.chip-x", { type: "button", "aria-label": "remove " + w.word, onclick: async () => {
          try { await api("DELETE", `/api/v1/admin/sensitive-words/${w.id}`); sections.words(); } catch (e) { toast(e.message, "error"); }
        } }, "×")))),
      ...(words.length ? [] : [h("div.empty-row.muted", "No words stored (words in the configuration file apply too).")]));
  },

  async announcements() {
    const form = h("form.card.stack", { onsubmit: async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      try {
        await api("POST", "/api/v1/admin/announcements", { title: f.atitle.value.trim(), body: f.abody.value.trim() });
        toast("Announced to everyone"); f.reset();
      } catch (e) { toast(e.message, "error"); }
    } }, field("Title", h("input", { name: "atitle", required: true, maxlength: 100 })),
      field("Message", h("textarea", { name: "abody", placeholder: "What everyone should know", required: true, maxlength: 4000, rows: 5 })),
      h("button.btn", { type: "submit" }, "Send to everyone"));
    view.replaceChildren(title("Announcements"),
      h("p.muted", "Pushed at once to every connected user through the chat gateway, and kept in everyone's notifications."), form);
  },

  async audit() {
    const action = new URLSearchParams(location.search).get("action") || "";
    const page = await api("GET", "/api/v1/admin/audit?limit=100&action=" + encodeURIComponent(action));
    const form = h("form.toolbar", { onsubmit: (ev) => { ev.preventDefault(); go("/admin/audit?action=" + encodeURIComponent(ev.target.action.value.trim())); } },
      field("Action", h("input", { name: "action", placeholder: "Action (e.g. user.ban, or user)", value: action }), true),
      h("button.btn", { type: "submit" }, "Filter"));
    view.replaceChildren(title("Audit log"), form, table([
      ["When", (e) => when(e.created_at)],
      ["Admin", (e) => e.admin_name],
      ["Action", (e) => h("code", e.action)],
      ["Target", (e) => e.target],
      ["Detail", (e) => h("code.detail-json", JSON.stringify(e.detail))],
    ], page.items, "No actions recorded."));
  },
};

async function showUser(id, box) {
  const u = await api("GET", `/api/v1/admin/users/${id}`);
  const pw = h("form.inline", { onsubmit: async (ev) => {
    ev.preventDefault();
    try { await api("POST", `/api/v1/admin/users/${id}/password`, { password: ev.target.pw.value }); toast("Password reset; their sessions are ended"); ev.target.reset(); }
    catch (e) { toast(e.fields ? Object.values(e.fields).join("; ") : e.message, "error"); }
  } }, field("New password", h("input", { name: "pw", type: "password", minlength: 8, placeholder: "New password", required: true, autocomplete: "new-password" }), true),
    h("button.btn.small", { type: "submit" }, "Reset password"));
  box.replaceChildren(h("div.card.user-card",
    h("div.usercell", avatar(u, "md"), h("div", h("h2", u.nickname), h("div.muted", "@" + u.username + " · #" + u.id))),
    h("dl.facts",
      h("dt", "Role"), h("dd", u.role), h("dt", "Status"), h("dd", u.status),
      h("dt", "Coins"), h("dd", compact(u.balances.coins)), h("dt", "Diamonds"), h("dd", compact(u.balances.diamonds)),
      h("dt", "Followers"), h("dd", compact(u.follower_count)), h("dt", "Joined"), h("dd", when(u.created_at)),
      h("dt", "Room"), h("dd", u.room_id ? h("a", { href: `/rooms/${u.room_id}` }, `#${u.room_id}`) : "none"),
      h("dt", "Open sessions"), h("dd", String(u.live_sessions)),
      h("dt", "Bio"), h("dd", u.bio || ""),
    ),
    pw,
    h("p", h("a", { href: `/admin/wallet?user_id=${u.id}`, onclick: (ev) => { ev.preventDefault(); go(`/admin/wallet?user_id=${u.id}`); } }, "Ledger of this user")),
  ));
  box.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function watchRoom(r, box) {
  for (const f of cleanup) f();
  cleanup = [];
  const video = h("video.watch-video", { controls: true, muted: true, playsinline: true, "aria-label": `Live video of room ${r.id}: ${r.title || "untitled"}` });
  box.replaceChildren(h("div.card", h("h2", `Watching: ${r.title || "room " + r.id}`), video));
  cleanup.push(play(video, r.play));
}

function go(path) {
  history.pushState(null, "", path);
  route();
}

async function route() {
  for (const f of cleanup) f();
  cleanup = [];
  const name = location.pathname.replace(/^\/admin\/?/, "").split("/")[0] || "dashboard";
  for (const a of document.querySelectorAll("#admin-nav a")) {
    a.classList.toggle("active", a.dataset.section === name);
  }
  const draw = sections[name];
  if (!draw) { view.replaceChildren(title("Not found"), h("p.muted", "No such section.")); return; }
  view.replaceChildren(h("div.loading.muted", "Loading…"));
  try { await draw(); } catch (e) { view.replaceChildren(title(name), h("div.error-box", e.message)); }
}

document.getElementById("admin-nav").addEventListener("click", (ev) => {
  const a = ev.target.closest("a");
  if (!a) return;
  ev.preventDefault();
  go(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

header("");
route();
