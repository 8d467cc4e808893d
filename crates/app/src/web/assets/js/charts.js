// Small SVG charts for the dashboard, drawn by hand: bars or a line over days.
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/// `points`: [{label, value}]; `kind`: "bar" or "line".
export function chart(title, points, kind) {
  const W = 480, H = 200, L = 40, R = 10, T = 16, B = 28;
  const max = Math.max(1, ...points.map((p) => p.value));
  const tick = niceStep(max / 4);
  const nice = tick * 4;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  const iw = W - L - R, ih = H - T - B;
  for (let i = 0; i <= 4; i++) {
    const y = T + ih - (ih * i) / 4;
    svg.append(el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    svg.append(el("text", { x: L - 6, y: y + 4, class: "axis", "text-anchor": "end" }, short(tick * i)));
  }
  const n = Math.max(points.length, 1);
  const step = iw / n;
  const every = Math.ceil(n / 7);
  points.forEach((p, i) => {
    // Every few days, counted back from the last one (today).
    if ((n - 1 - i) % every === 0) {
      svg.append(el("text", { x: L + step * i + step / 2, y: H - 8, class: "axis", "text-anchor": "middle" }, p.label));
    }
  });
  if (kind === "line") {
    const xy = points.map((p, i) => [L + step * i + step / 2, T + ih - (ih * p.value) / nice]);
    const d = xy.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    if (xy.length) {
      svg.append(el("path", { d: `${d} L${xy[xy.length - 1][0]},${T + ih} L${xy[0][0]},${T + ih} Z`, class: "area" }));
    }
    svg.append(el("path", { d, class: "line" }));
    xy.forEach(([x, y], i) => {
      const c = el("circle", { cx: x, cy: y, r: 3, class: "dot" });
      c.append(el("title", {}, `${points[i].label}: ${points[i].value}`));
      svg.append(c);
    });
  } else {
    points.forEach((p, i) => {
      const bh = (ih * p.value) / nice;
      const r = el("rect", { x: L + step * i + step * 0.18, y: T + ih - bh, width: step * 0.64, height: Math.max(bh, 0), rx: 2, class: "bar" });
      r.append(el("title", {}, `${p.label}: ${p.value}`));
      svg.append(r);
    });
  }
  const fig = document.createElement("figure");
  fig.className = "chart-card card";
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(cap, svg);
  return fig;
}

/// The smallest whole step of 1, 2 or 5 × 10^k that is at least `v` (counts are whole).
function niceStep(v) {
  if (v <= 1) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
  return String(Math.round(v * 10) / 10);
}
