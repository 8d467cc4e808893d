// The live rooms now on air: cover, title, anchor, viewers; refreshed every 15 s.
import { api, h, header, avatar, compact, safeUrl, hue, icon } from "/assets/js/api.js";

let order = "hot";

function card(room) {
  const cover = safeUrl(room.cover_url);
  const art = h("div.cover", { dataset: { hue: String(hue(room.title || room.id)) } });
  art.style.setProperty("--hue", String(hue(String(room.owner.nickname) + room.id)));
  if (cover) art.append(h("img", { src: cover, alt: "", loading: "lazy" }));
  else art.append(h("span.cover-initial", Array.from(room.owner.nickname || "?")[0]));
  art.append(
    h("span.badge.live", "LIVE"),
    h("span.badge.viewers", { title: "viewers" }, icon("eye"), compact(room.viewers)),
  );
  if (room.category) art.append(h("span.badge.category", room.category));
  return h("a.room-card", { href: `/rooms/${room.id}`, dataset: { roomId: String(room.id) } },
    art,
    h("div.room-meta",
      avatar(room.owner, "sm"),
      h("div.room-text",
        h("div.room-title", room.title || "Untitled"),
        h("div.room-anchor.muted", room.owner.nickname),
      ),
    ),
  );
}

async function load() {
  const grid = document.getElementById("rooms");
  try {
    const page = await api("GET", `/api/v1/rooms?status=live&order=${order}&limit=48`);
    const items = page.items || [];
    grid.replaceChildren(...items.map(card));
    document.getElementById("rooms-empty").hidden = items.length > 0;
  } catch (e) {
    grid.replaceChildren(h("div.error-box", "Cannot load rooms: " + e.message));
  }
}

for (const tab of document.querySelectorAll("#order-tabs .tab")) {
  tab.addEventListener("click", () => {
    order = tab.dataset.order;
    for (const t of document.querySelectorAll("#order-tabs .tab")) {
      t.classList.toggle("active", t === tab);
      t.setAttribute("aria-selected", String(t === tab));
    }
    load();
  });
}

header("home");
load();
setInterval(load, 15000);
