// The /ws client shared by the wallboard and the lead console (README, "Live").
//
// One socket, kept open all day: it reconnects by itself (0.5 s doubling to 10 s, with jitter),
// treats 20 s without a frame (four 5 s heartbeats missed) as a dead line, checks `seq` and
// asks for a `resync` when a frame was skipped, and backs off to once a minute when the server
// refuses the token (4401/4403).
// The page only renders what it is handed: a snapshot replaces everything (also after the
// floor's day rolls over at midnight), a delta replaces rows.

export const MIN_DELAY_MS = 500;
export const MAX_DELAY_MS = 10_000;
export const SILENCE_MS = 20_000;
export const AUTH_RETRY_MS = 60_000;
export const AUTH_CLOSE_CODES = new Set([4401, 4403]);

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling, ±20 % jitter, ≤ 10 s. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** Math.min(attempt, 16));
  return Math.min(MAX_DELAY_MS, Math.round(base * (0.8 + 0.4 * random())));
}

/** The socket URL for this page: same host, ws or wss as the page, the link's token or
 * display secret and the teams as query (a signed-in user's cookie goes by itself). */
export function socketUrl(token, teams = [], base = "", display = "") {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const params = new URLSearchParams();
  if (token) params.set("token", token);
  else if (display) params.set("display", display);
  for (const team of teams) if (team) params.append("team", team);
  params.set("patch", "deep"); // deltas cut to the changed keys (floor.js merges them)
  return `${proto}//${location.host}${base}/ws?${params}`;
}

export class LiveClient {
  /**
   * @param {object} opts
   * @param {string} opts.token   read token (sent as ?token=)
   * @param {string[]} [opts.teams] teams to subscribe to (empty: the whole floor)
   * @param {string} [opts.base]  the app's root path ("" normally)
   * @param {HTMLElement} [opts.conn] the connection indicator (#conn)
   * @param {(key: string) => string} [opts.t] label lookup (i18n)
   * @param {object} opts.on      handlers: snapshot(data), delta(msg), alert(alert),
   *                              celebrate(msg), tick(msg), state(state, detail), and
   *                              frame(msg) for every frame whatever its type (heartbeats too)
   * @param {object} [opts.timing] silenceMs, authRetryMs, delay(attempt) — for tests
   */
  constructor({
    token,
    display = "",
    teams = [],
    base = "",
    conn = null,
    t = (k) => k,
    on = {},
    timing = {},
  }) {
    this.token = token;
    this.display = display;
    this.teams = [...teams];
    this.base = base;
    this.conn = conn;
    this.t = t;
    this.on = on;
    this.ws = null;
    this.seq = 0;
    this.attempt = 0;
    this.state = null;
    this.authBlocked = false;
    this.resyncPending = false;
    this.lastFrameAt = 0;
    this.stopped = false;
    this._retry = null;
    this._watchdog = null;
    // Overridable for tests; the protocol's figures by default.
    this.silenceMs = timing.silenceMs ?? SILENCE_MS;
    this.authRetryMs = timing.authRetryMs ?? AUTH_RETRY_MS;
    this.delay = timing.delay ?? backoffDelay;
  }

  start() {
    this._setState("reconnecting", this.t("conn_connecting"));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._onReturn();
    });
    window.addEventListener("online", () => this._onReturn());
    window.addEventListener("offline", () => {
      if (!this.authBlocked) this._setState("offline", this.t("conn_offline"));
    });
    window.addEventListener("pagehide", () => this.stop());
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this._retry);
    clearTimeout(this._watchdog);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000, "page closed");
      } catch {
        /* already closing */
      }
    }
  }

  /** Watch other teams (empty: the whole floor); the server answers with a snapshot. */
  subscribe(teams) {
    this.teams = [...teams];
    if (!this.send({ type: "subscribe", teams: this.teams })) this._reconnectNow();
  }

  /** Ask for a fresh snapshot (once until it arrives). */
  resync() {
    if (this.resyncPending) return;
    this.resyncPending = this.send({ type: "resync" });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  // --- internals ----------------------------------------------------------------------------

  _connect() {
    clearTimeout(this._retry);
    if (this.stopped) return;
    this._drop();
    let ws;
    try {
      ws = new WebSocket(socketUrl(this.token, this.teams, this.base, this.display));
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    this.seq = 0;
    this.resyncPending = false;
    ws.onopen = () => this._armWatchdog(); // "live" once the first snapshot is in
    ws.onmessage = (ev) => {
      if (ws === this.ws) this._onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this._onClose(ev.code);
    };
    ws.onerror = () => {}; // a close event follows with the code
  }

  /** Forget the current socket without waiting for a dead line to time out. */
  _drop() {
    clearTimeout(this._watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(4000, "client reconnecting");
      } catch {
        /* already closed */
      }
    }
  }

  _armWatchdog() {
    this.lastFrameAt = Date.now();
    clearTimeout(this._watchdog);
    this._watchdog = setTimeout(() => {
      // 20 s of silence through 5 s heartbeats: the line is dead even if TCP has not noticed.
      this._drop();
      this._setState("reconnecting", this.t("conn_reconnecting"));
      this._scheduleRetry();
    }, this.silenceMs);
  }

  _onFrame(text) {
    this._armWatchdog();
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    this._call("frame", msg); // the server is there: a screen's "last update" moves on
    if (typeof msg.seq === "number") {
      const expected = this.seq + 1;
      this.seq = msg.seq;
      // A skipped frame may have carried rows we now lack; a snapshot carries everything.
      if (msg.seq !== expected && msg.type !== "snapshot") this.resync();
    }
    switch (msg.type) {
      case "snapshot":
        this.resyncPending = false;
        this.attempt = 0;
        this.authBlocked = false;
        this._setState("live", this.t("conn_live"));
        this._call("snapshot", msg.data);
        break;
      case "delta":
        this._call("delta", msg);
        break;
      case "alert":
        this._call("alert", msg.alert);
        break;
      case "celebrate":
        this._call("celebrate", msg);
        break;
      case "tick":
        this._call("tick", msg);
        break;
      case "heartbeat":
      case "pong":
        break;
      case "error":
        console.warn("paceboard /ws:", msg.detail);
        break;
      default:
        break; // newer server, older page: ignore what we do not know
    }
  }

  _onClose(code) {
    this.ws = null;
    clearTimeout(this._watchdog);
    if (this.stopped) return;
    if (AUTH_CLOSE_CODES.has(code)) {
      // Retrying fast cannot fix a bad link; someone has to. Look again once a minute.
      this.authBlocked = true;
      this._setState("offline", this.t(code === 4403 ? "token_forbidden" : "token_invalid"));
      this._retry = setTimeout(() => this._connect(), this.authRetryMs);
      return;
    }
    this._setState(
      navigator.onLine === false ? "offline" : "reconnecting",
      this.t(navigator.onLine === false ? "conn_offline" : "conn_reconnecting"),
    );
    this._scheduleRetry();
  }

  _scheduleRetry() {
    clearTimeout(this._retry);
    if (this.stopped) return;
    const delay = this.delay(this.attempt);
    this.attempt += 1;
    this._retry = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this.authBlocked || this.stopped) return;
    this.attempt = 0;
    this._connect();
  }

  /** Back in view or back online: catch up at once instead of waiting out a backoff. */
  _onReturn() {
    if (this.stopped || this.authBlocked) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.resync();
    else if (!this.ws || this.ws.readyState !== WebSocket.CONNECTING) this._reconnectNow();
  }

  _setState(state, text) {
    this.state = state;
    if (this.conn) {
      this.conn.dataset.state = state;
      this.conn.textContent = text;
      this.conn.title = text;
    }
    this._call("state", state, text);
  }

  _call(name, ...args) {
    const fn = this.on[name];
    if (!fn) return;
    try {
      fn(...args);
    } catch (err) {
      // A rendering bug must not kill the socket; the next snapshot redraws everything.
      console.error(`paceboard: ${name} handler failed`, err);
    }
  }
}
