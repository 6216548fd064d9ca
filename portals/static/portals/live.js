// One websocket, many topics (contract §9), as a real portal must use it: authenticate with
// the first message, subscribe, keep the last event id per topic and resume from it after
// any disconnect, so an event that happened while the page was away is replayed, not lost.

export class Live {
  // onStatus(state): "connecting" | "live" | "reconnecting" | "refused"
  constructor({ token, onStatus = () => {}, onError = () => {} }) {
    this.token = token;
    this.onStatus = onStatus;
    this.onError = onError;
    this.topics = new Map(); // topic -> {load, apply, lastEventId, loading, buffer}
    this.socket = null;
    this.retryDelay = 500;
    this.heartbeat = null;
    this.closed = false;
  }

  // `load()` reads the topic's state over REST; `apply(event)` folds one event into it.
  // The state is loaded once the server has subscribed the socket (events that arrive
  // meanwhile are applied after it): on the first subscription, after resync_required, and
  // after a reconnect before any event was seen (there is no id to resume from yet).
  // Once an event was seen, a reconnect resumes from its id and the server replays the rest.
  subscribe(topic, { load = async () => {}, apply }) {
    this.topics.set(topic, { load, apply, lastEventId: null, loading: false, buffer: [] });
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.authenticated) this.sendSubscribe(topic);
  }

  unsubscribe(topic) {
    if (!this.topics.delete(topic)) return;
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.authenticated) {
      this.send({ action: "unsubscribe", topic });
    }
  }

  lastEventId(topic) {
    const entry = this.topics.get(topic);
    return entry ? entry.lastEventId : null;
  }

  start() {
    this.closed = false;
    this.connect();
  }

  stop() {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.socket) this.socket.close();
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  sendSubscribe(topic) {
    const entry = this.topics.get(topic);
    const message = { action: "subscribe", topic };
    if (entry.lastEventId !== null) message.last_event_id = entry.lastEventId;
    this.send(message);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    this.authenticated = false;
    this.onStatus(this.socket ? "reconnecting" : "connecting");
    const socket = new WebSocket(scheme + location.host + "/ws/");
    this.socket = socket;
    socket.onopen = () => this.send({ action: "auth", token: this.token });
    socket.onmessage = (frame) => this.receive(JSON.parse(frame.data));
    socket.onclose = (closing) => {
      clearInterval(this.heartbeat);
      if (this.closed) return;
      if (closing.code === 4001) {
        this.onStatus("refused"); // the token expired or was revoked: sign in again
        return;
      }
      this.onStatus("reconnecting");
      setTimeout(() => this.connect(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    };
  }

  receive(message) {
    if (message.type === "authenticated") {
      this.authenticated = true;
      this.retryDelay = 500;
      for (const topic of this.topics.keys()) this.sendSubscribe(topic);
      this.heartbeat = setInterval(() => this.send({ action: "ping" }), 25000);
      this.onStatus("live");
    } else if (message.type === "subscribed") {
      const entry = this.topics.get(message.topic);
      if (entry && entry.lastEventId === null) this.reload(entry);
    } else if (message.type === "event") {
      const entry = this.topics.get(message.topic);
      if (!entry || (entry.lastEventId !== null && message.id <= entry.lastEventId)) return;
      entry.lastEventId = message.id;
      if (entry.loading) entry.buffer.push(message);
      else entry.apply(message);
    } else if (message.type === "resync_required") {
      // What this page missed is older than the server keeps: read the state afresh.
      const entry = this.topics.get(message.topic);
      if (entry) this.reload(entry);
    }
  }

  async reload(entry) {
    entry.loading = true;
    entry.buffer = [];
    try {
      await entry.load();
    } catch (error) {
      // The state could not be read (the server went away meanwhile): the next
      // subscription reads it again, as no event id was kept from this attempt.
      this.onError(error);
      if (!entry.buffer.length) entry.lastEventId = null;
    } finally {
      entry.loading = false;
      const buffered = entry.buffer;
      entry.buffer = [];
      buffered.forEach((event) => entry.apply(event));
    }
  }
}
