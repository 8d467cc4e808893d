// A live room's chat over the /ws gateway, in goim's JSON text frames.
//
// Signed-in visitors authenticate with an access token from `token()` (asked again on
// every reconnect: access tokens are short-lived); guests (null) join read-only.
// Handlers: onMessage(body) for op 1000 (danmaku, gift, live_started/ended, live_cut),
// onNotification(body) for op 25 (e.g. operators' announcements),
// onError({code, message}), onClosed(reason) with reason "kicked" when the server ended
// the connection (a ban), "closed" otherwise. `send(text)` is a promise kept when the
// server accepts the message (op 5) and broken with its refusal (op 24, e.g.
// `rate_limited`), so the page clears what was typed only once it went out.

const OP = { HEARTBEAT: 2, HEARTBEAT_REPLY: 3, SEND: 4, SEND_REPLY: 5, DISCONNECT: 6,
  AUTH: 7, AUTH_REPLY: 8, ERROR: 24, NOTIFICATION: 25, MESSAGE: 1000 };

export class RoomChat {
  constructor(roomId, token, handlers) {
    this.roomId = roomId;
    this.token = token;
    this.h = handlers || {};
    this.seq = 0;
    this.kicked = false;
    this.stopped = false;
    this.retry = 1000;
    this.waiting = new Map(); // seq of a message sent → {resolve, reject}
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    this.ws = ws;
    ws.onopen = async () => {
      const token = this.token ? await this.token().catch(() => null) : null;
      const body = token
        ? { token, room_id: `live://${this.roomId}`, platform: "web" }
        : { guest: true, room_id: `live://${this.roomId}`, platform: "web" };
      this.raw(OP.AUTH, body);
    };
    ws.onmessage = (ev) => {
      let p;
      try { p = JSON.parse(ev.data); } catch (_) { return; }
      this.handle(p);
    };
    ws.onclose = () => {
      clearInterval(this.beat);
      for (const w of this.waiting.values()) w.reject({ code: "closed", message: "the chat connection closed; try again" });
      this.waiting.clear();
      if (this.kicked || this.stopped) {
        if (this.h.onClosed) this.h.onClosed(this.kicked ? "kicked" : "closed");
        return;
      }
      if (this.h.onClosed) this.h.onClosed("reconnecting");
      // When the server said when, then; otherwise between half and all of the backoff,
      // so that the clients of a node that died do not all come back in one second.
      const wait = this.comeBackIn ?? this.retry * (0.5 + Math.random() / 2);
      this.comeBackIn = undefined;
      setTimeout(() => this.connect(), wait);
      this.retry = Math.min(this.retry * 2, 15000);
    };
  }

  handle(p) {
    switch (p.op) {
      case OP.AUTH_REPLY:
        this.retry = 1000;
        this.beat = setInterval(() => this.raw(OP.HEARTBEAT), 30000);
        this.raw(OP.HEARTBEAT);
        if (this.h.onReady) this.h.onReady();
        break;
      case OP.HEARTBEAT_REPLY:
        break;
      case OP.SEND_REPLY: {
        const w = this.waiting.get(p.seq);
        this.waiting.delete(p.seq);
        if (w) w.resolve();
        break;
      }
      case OP.MESSAGE:
        if (this.h.onMessage && p.body) this.h.onMessage(p.body);
        break;
      case OP.NOTIFICATION:
        if (this.h.onNotification && p.body) this.h.onNotification(p.body);
        break;
      case OP.DISCONNECT:
        // A node that is stopping says when to come back (spread over its clients);
        // anything else is the server putting this account out.
        if (p.body && p.body.code === "node_stopping") {
          this.comeBackIn = Number(p.body.reconnect_after_ms) || 0;
        } else {
          this.kicked = true;
        }
        break;
      case OP.ERROR: {
        if (p.body && (p.body.code === "account_banned" || p.body.code === "invalid_token")) {
          this.kicked = p.body.code === "account_banned";
        }
        const w = this.waiting.get(p.seq);
        this.waiting.delete(p.seq);
        if (w) w.reject(p.body || {});
        if (this.h.onError) this.h.onError(p.body || {});
        break;
      }
      default:
        break;
    }
  }

  raw(op, body) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.seq += 1;
    const frame = { op, seq: this.seq };
    if (body !== undefined) frame.body = body;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  send(text) {
    if (!this.raw(OP.SEND, { text })) {
      return Promise.reject({ code: "not_connected", message: "the chat is reconnecting; try again in a moment" });
    }
    const seq = this.seq;
    return new Promise((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

  close() {
    this.stopped = true;
    clearInterval(this.beat);
    if (this.ws) this.ws.close();
  }
}
