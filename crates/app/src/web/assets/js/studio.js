// Go live: the signed-in visitor's room and what to put in OBS or ffmpeg.
import { api, h, header, toast } from "/assets/js/api.js";

const $ = (x) => document.getElementById(x);

const studioBody = () => $("studio-body");

function field(label, value, secret) {
  const input = h("input", { value, readonly: true, type: secret ? "password" : "text" });
  const row = h("div.copy-row", input);
  if (secret) {
    row.append(h("button.btn.ghost.small", { type: "button", onclick: () => { input.type = input.type === "password" ? "text" : "password"; } }, "Show"));
  }
  row.append(h("button.btn.ghost.small", { type: "button", onclick: () => { navigator.clipboard && navigator.clipboard.writeText(value); toast("Copied"); } }, "Copy"));
  return h("label", label, row);
}

function show(room) {
  const server = room.publish_url ? room.publish_url.replace(/\/[^/]*$/, "") : "";
  const title = h("input", { value: room.title, maxlength: 100, id: "studio-title" });
  studioBody().replaceChildren(
    h("form.stack", { onsubmit: async (ev) => {
      ev.preventDefault();
      try { await api("PATCH", `/api/v1/rooms/${room.id}`, { title: title.value.trim() }); toast("Saved"); }
      catch (e) { toast(e.message, "error"); }
    } }, h("label", "Title", title), h("button.btn", { type: "submit" }, "Save")),
    h("h2", "Stream settings"),
    field("Server", server),
    field("Stream key", room.stream_key || "", true),
    h("p.muted", "In OBS: Settings → Stream → Custom, with the server and key above. With ffmpeg: ",
      h("code", `ffmpeg -re -i video.mp4 -c:v libx264 -c:a aac -f flv ${server}/<stream key>`)),
    h("p", h("a.btn.ghost", { href: `/rooms/${room.id}` }, "Open my room")),
  );
}

async function studio() {
  const s = await header("studio");
  if (!s) {
    studioBody().replaceChildren(h("p", h("a.btn", { href: "/login?next=/studio" }, "Log in to go live")));
    return;
  }
  try {
    // Creating returns the caller's room (with its key) whether or not it existed.
    const room = await api("POST", "/api/v1/rooms", {});
    show(room);
  } catch (e) {
    studioBody().replaceChildren(h("div.error-box", e.message));
  }
}

studio();
