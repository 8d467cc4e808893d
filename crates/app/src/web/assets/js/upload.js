// Post a video: the upload, its progress and its processing.
import { api, h, header, ApiError, cookie } from "/assets/js/api.js";

const $ = (x) => document.getElementById(x);

function uploadPage() {
  const form = $("upload-form");

  function say(text) {
    $("upload-progress").hidden = false;
    $("upload-state").textContent = text;
  }

  function fail(e) {
    const box = $("upload-error");
    box.textContent = e.fields ? Object.entries(e.fields).map(([k, v]) => `${k} ${v}`).join("; ") : e.message;
    box.hidden = false;
    $("upload-submit").disabled = false;
  }

  /// Sends the form with XMLHttpRequest, whose upload reports progress (fetch does not).
  function send(data, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/videos");
      xhr.withCredentials = true;
      xhr.setRequestHeader("accept", "application/json");
      const csrf = cookie("momo_csrf");
      if (csrf) xhr.setRequestHeader("x-csrf-token", csrf);
      xhr.upload.addEventListener("progress", (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); });
      xhr.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) { resolve(body); return; }
        const err = (body && body.error) || {};
        reject(new ApiError(xhr.status, err.code, err.message, err.fields));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, "network", "the upload was cut off; check your connection and try again")));
      xhr.send(data);
    });
  }

  /// Follows the video until processing ends.
  async function follow(id) {
    for (;;) {
      const v = await api("GET", `/api/v1/videos/${id}`);
      form.dataset.status = v.status;
      if (v.status === "ready") return v;
      if (v.status === "failed") throw new ApiError(422, "processing_failed", "Processing failed: " + (v.fail_reason || "the file could not be read as a video"));
      await new Promise((r) => setTimeout(r, 1500));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("upload-error").hidden = true;
    const file = $("upload-file").files[0];
    if (!file) { fail({ message: "Choose a video file first." }); return; }
    const data = new FormData();
    data.append("title", $("upload-title").value.trim());
    data.append("description", $("upload-description").value.trim());
    data.append("visibility", $("upload-visibility").value);
    data.append("file", file);
    $("upload-submit").disabled = true;
    const bar = $("upload-bar");
    bar.removeAttribute("value");
    say("Uploading…");
    try {
      const v = await send(data, (f) => {
        bar.value = Math.round(f * 100);
        say(`Uploading… ${Math.round(f * 100)}%`);
      });
      bar.value = 100;
      form.dataset.videoId = String(v.id);
      say("Uploaded. Processing: making a web-playable copy and a cover…");
      const ready = await follow(v.id);
      say("Ready.");
      $("upload-submit").hidden = true;
      $("upload-progress").append(h("p", { id: "upload-done" },
        h("a.btn", { href: `/videos?v=${ready.id}` }, "Watch it"), " ",
        h("a.btn.ghost", { href: "/me" }, "My videos"), " ",
        h("a.btn.ghost", { href: "/upload" }, "Post another")));
    } catch (e) {
      say("");
      fail(e);
    }
  });

  async function start() {
    const s = await header("upload");
    if (!s || !s.user) { $("upload-signed-out").hidden = false; return; }
    form.hidden = false;
  }
  start();
}

uploadPage();
