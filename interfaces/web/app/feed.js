// The live feed (/v1/feed) over one WebSocket for the whole page. The credential travels as a
// subprotocol (browsers cannot set headers on a WebSocket), never in the URL. The feed remembers
// the last position it saw; after a disconnect it reconnects with backoff and resumes from there,
// so nothing that happened meanwhile is missed and the page never reloads.
import { get, query } from "./api.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;

const listeners = new Set();
const stateListeners = new Set();
let current = null;

class Feed {
  constructor(held) {
    this.held = held;
    this.after = null; // the last position seen; null until the first subscription
    this.delay = FIRST_DELAY_MS;
    this.stopped = false;
    this.state = "connecting";
    this.connect();
  }

  connect() {
    const params = { prices: "*", after: this.after };
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/feed${query(params)}`, [
      "tbot.feed",
      `tbot.${this.held.kind}.${this.held.value}`,
    ]);
    this.socket = socket;
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    let subscribed = false;
    socket.addEventListener("message", () => (subscribed = true), { once: true });
    socket.onclose = () => {
      if (this.socket !== socket || this.stopped) return;
      // refused before subscribing: an expired token or a revoked key makes any request answer
      // 401, which signs out (and stops the feed) instead of retrying forever
      if (!subscribed) get("/v1/bots?limit=1").catch(() => {});
      this.setState("reconnecting");
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    };
  }

  receive(message) {
    if (message.type === "subscribed") {
      this.after = message.after;
      this.delay = FIRST_DELAY_MS;
      this.setState("live");
    } else if (message.type === "event" || message.type === "heartbeat") {
      this.after = Math.max(this.after ?? 0, message.position);
    } else if (message.type === "error") {
      this.after = message.resume_after;
    }
    listeners.forEach((listener) => listener(message));
  }

  setState(state) {
    this.state = state;
    stateListeners.forEach((listener) => listener(state, this.after));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket.close();
  }
}

/** Opens the feed with this credential (closing any other). */
export function startFeed(held) {
  stopFeed();
  current = new Feed(held);
}

export function stopFeed() {
  if (current) current.stop();
  current = null;
}

/** Calls ``listener`` with every message of the feed; returns the unsubscribe function. */
export function onFeed(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls ``listener(state, after)`` when the connection changes: connecting, live, reconnecting. */
export function onFeedState(listener) {
  stateListeners.add(listener);
  if (current) listener(current.state, current.after);
  return () => stateListeners.delete(listener);
}
