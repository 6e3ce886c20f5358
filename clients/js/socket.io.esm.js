// GENERATED from socket.io.js by scripts/build-esm.mjs: edit socket.io.js, then run `npm run build:esm`.
/*!
 * Tidings Socket.IO client: Engine.IO v4 / Socket.IO v5, no dependencies.
 * Covers the common API of the official socket.io-client 4.x. MIT licence.
 * Loads as a classic <script> (global `io`), with require() (module.exports)
 * and, as socket.io.esm.js (generated from this file), as an ES module.
 *
 * Sections: 1 helpers, 2 emitter, 3 Engine.IO packets, 4 transports,
 * 5 Engine.IO socket, 6 Socket.IO packets, 7 backoff, 8 Manager, 9 Socket,
 * 10 io() and exports.
 */
'use strict';

// ---------------------------------------------------------------------------
// 1. Helpers
// ---------------------------------------------------------------------------

/** Socket.IO protocol revision spoken by this client. */
const protocol = 5;

const HAS_BLOB = typeof Blob === 'function';

/**
 * Whether a value travels as a binary attachment.
 * @param {*} value
 * @returns {boolean}
 */
function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    (HAS_BLOB && value instanceof Blob);
}

/** A byte view over an ArrayBuffer or any ArrayBufferView (only its window). */
function toBytes(data) {
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function toBase64(bytes) {
  // btoa takes a "binary string"; build it in chunks because spreading a large
  // array into String.fromCharCode overflows the argument limit.
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** @returns {ArrayBuffer} Throws on invalid base64 (the caller maps it to a parse error). */
function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes.buffer;
}

/** UTF-8 byte length of a string, without allocating an encoded copy. */
function utf8Length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/**
 * Calls a listener supplied by the application. An exception it throws is
 * re-thrown in a task of its own (like a DOM event listener's), so that user
 * code can neither break the protocol state machine halfway through a
 * payload nor be mistaken for a transport failure; the error still surfaces.
 */
function callUser(fn, self, args) {
  try {
    fn.apply(self, args);
  } catch (err) {
    if (typeof reportError === 'function') reportError(err);
    else setTimeout(() => { throw err; }, 0);
  }
}

/** Subscribes and returns the matching unsubscribe function. */
function listen(emitter, event, fn) {
  emitter.on(event, fn);
  return () => emitter.off(event, fn);
}

/** Defines an own enumerable property; plain assignment would treat "__proto__" as the prototype. */
function setOwn(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Error raised by a transport; `description` and `context` say more (e.g. HTTP status, event). */
function transportError(reason, description, context) {
  const err = new Error(reason);
  err.type = 'TransportError';
  err.description = description;
  err.context = context;
  return err;
}

// ---------------------------------------------------------------------------
// 2. Emitter
// ---------------------------------------------------------------------------

/** Minimal event emitter. `emit` is kept separate from the internal `_fire`
 * because Socket overrides `emit` to send events to the server. */
class Emitter {
  constructor() {
    /** @type {Map<string, Function[]>} */
    this._handlers = new Map();
  }

  /** @param {string} event @param {Function} fn @returns {this} */
  on(event, fn) {
    const key = String(event);
    const list = this._handlers.get(key);
    if (list) list.push(fn); else this._handlers.set(key, [fn]);
    return this;
  }

  /** Like `on`, removed after the first call. */
  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
    wrapper.listener = fn; // lets off(event, fn) find the wrapper
    return this.on(event, wrapper);
  }

  /** off() removes everything, off(event) every listener of it, off(event, fn) one. */
  off(event, fn) {
    if (event === undefined) { this._handlers.clear(); return this; }
    const key = String(event);
    const list = this._handlers.get(key);
    if (!list) return this;
    if (fn === undefined) { this._handlers.delete(key); return this; }
    const i = list.findIndex((l) => l === fn || l.listener === fn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this._handlers.delete(key);
    return this;
  }

  /** @returns {Function[]} a copy of the listeners of `event` */
  listeners(event) {
    return (this._handlers.get(String(event)) || []).slice();
  }

  hasListeners(event) {
    return this.listeners(event).length > 0;
  }

  /** Calls every listener of `event` with `args`, isolating exceptions (see callUser). */
  _fire(event, ...args) {
    const list = this._handlers.get(String(event));
    if (!list) return this;
    // Copy: a listener may add or remove listeners while we iterate.
    for (const fn of list.slice()) callUser(fn, this, args);
    return this;
  }

  emit(event, ...args) {
    return this._fire(event, ...args);
  }
}
Emitter.prototype.addEventListener = Emitter.prototype.on;
Emitter.prototype.removeListener = Emitter.prototype.off;
Emitter.prototype.removeEventListener = Emitter.prototype.off;
Emitter.prototype.removeAllListeners = Emitter.prototype.off;

// ---------------------------------------------------------------------------
// 3. Engine.IO packets
// ---------------------------------------------------------------------------

const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
/** Record separator between the packets of one HTTP long-polling payload. */
const SEPARATOR = '\x1e';

/**
 * Encodes one Engine.IO packet. Binary data stays raw for WebSocket frames and
 * becomes "b" + base64 for polling (v4 polling payloads are always text).
 * Blobs must already be read into ArrayBuffers when `rawBinary` is false.
 * @param {{type: string, data?: *}} packet
 * @param {boolean} rawBinary
 */
function encodeEnginePacket(packet, rawBinary) {
  if (isBinary(packet.data)) {
    return rawBinary ? packet.data : 'b' + toBase64(toBytes(packet.data));
  }
  const data = packet.data === undefined || packet.data === null ? '' : String(packet.data);
  return EIO_TYPES.indexOf(packet.type) + data;
}

/**
 * Decodes one Engine.IO packet; throws on malformed input.
 * @param {string|ArrayBuffer|Blob} raw
 * @returns {{type: string, data?: *}}
 */
function decodeEnginePacket(raw) {
  if (typeof raw !== 'string') return { type: 'message', data: raw }; // binary frame
  if (raw.length === 0) throw new Error('empty packet');
  if (raw[0] === 'b') return { type: 'message', data: fromBase64(raw.slice(1)) };
  const type = EIO_TYPES['0123456'.indexOf(raw[0])];
  if (!type) throw new Error('unknown packet type ' + JSON.stringify(raw[0]));
  return raw.length > 1 ? { type, data: raw.slice(1) } : { type };
}

// ---------------------------------------------------------------------------
// 4. Transports
// ---------------------------------------------------------------------------

/**
 * Base of the transports. States: opening → open → (pausing → paused) → closed.
 * Events: `open`, `packet`, `drain` (a send finished), `error`, `close`
 * ({reason?, description, context}).
 */
class Transport extends Emitter {
  /**
   * @param {object} opts engine options (secure, host, path, query, extraHeaders, withCredentials)
   * @param {object} query query parameters of this transport (EIO, transport, sid)
   */
  constructor(opts, query) {
    super();
    this.opts = opts;
    this.query = query;
    this.state = 'closed';
    /** True when `send` may be called. */
    this.writable = false;
  }

  open() {
    this.state = 'opening';
    this._doOpen();
    return this;
  }

  close() {
    if (this.state !== 'closed') {
      this._doClose();
      this.state = 'closed';
      this.writable = false;
    }
    return this;
  }

  _url(scheme, extraQuery) {
    const q = Object.assign({}, this.query, extraQuery);
    const search = Object.keys(q)
      .filter((k) => q[k] !== undefined && q[k] !== null)
      .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(q[k]))
      .join('&');
    return scheme + '://' + this.opts.host + this.opts.path + (search ? '?' + search : '');
  }

  _onOpen() {
    this.state = 'open';
    this.writable = true;
    this._fire('open');
  }

  /** Decodes and forwards one packet; malformed input closes with "parse error". */
  _onRaw(raw) {
    let packet;
    try {
      packet = decodeEnginePacket(raw);
    } catch (err) {
      this._terminate({ reason: 'parse error', description: err });
      return false;
    }
    if (packet.type === 'close') {
      this._terminate({ description: 'transport closed by the server' });
      return false;
    }
    this._fire('packet', packet);
    return this.state !== 'closed';
  }

  /** Fails the transport: it stops all IO first, so that close() later is a no-op. */
  _fail(reason, description, context) {
    if (this.state === 'closed') return;
    this._shutdown();
    this.state = 'closed';
    this.writable = false;
    this._fire('error', transportError(reason, description, context));
  }

  /** Ends the transport without telling the server, then reports `close`. */
  _terminate(details) {
    if (this.state === 'closed') return;
    this._shutdown();
    this.state = 'closed';
    this.writable = false;
    this._fire('close', details);
  }
}

/** Whether the environment can run a transport right now. */
function transportAvailable(name) {
  // typeof, not a call: some engines report host constructors as 'object'.
  if (name === 'polling') return typeof fetch !== 'undefined';
  if (name === 'websocket') return typeof WebSocket !== 'undefined';
  return false;
}

let requestSeq = 0;

/**
 * HTTP long-polling over fetch(): one pending GET receives, one POST at a
 * time sends a `\x1e`-joined batch.
 */
class Polling extends Transport {
  constructor(opts, query) {
    super(opts, query);
    this.name = 'polling';
    /** @type {Set<AbortController>} requests to abort when the transport dies */
    this._requests = new Set();
    this._polling = false;
    this._onPaused = null;
  }

  _doOpen() {
    this._poll();
  }

  /** Stops polling once the in-flight GET and POST are done (used by upgrades). */
  pause(onPaused) {
    this.state = 'pausing';
    this._onPaused = onPaused;
    this._checkPaused();
  }

  _checkPaused() {
    if (this.state === 'pausing' && !this._polling && this.writable) {
      this.state = 'paused';
      const cb = this._onPaused;
      this._onPaused = null;
      cb();
    }
  }

  _request(method, body) {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    if (controller) this._requests.add(controller);
    const headers = Object.assign({}, this.opts.extraHeaders);
    const init = {
      method,
      headers,
      // Like XMLHttpRequest without withCredentials: cookies only same-origin.
      credentials: this.opts.withCredentials ? 'include' : 'same-origin',
      signal: controller ? controller.signal : undefined,
    };
    if (body !== undefined) {
      headers['Content-Type'] = 'text/plain;charset=UTF-8';
      init.body = body;
    }
    // The `t` parameter defeats caches that ignore no-store.
    const url = this._url(this.opts.secure ? 'https' : 'http',
      { t: Date.now().toString(36) + '.' + (requestSeq++).toString(36) });
    return fetch(url, init)
      .then((res) => res.text().then((text) => {
        if (!res.ok) throw transportError('bad status', res.status, text);
        return text;
      }))
      .finally(() => { if (controller) this._requests.delete(controller); });
  }

  _poll() {
    this._polling = true;
    this._request('GET').then((text) => {
      if (this.state === 'closed') return;
      this._onPayload(text);
    }, (err) => {
      this._fail('xhr poll error', err.type === 'TransportError' ? err.description : err, err.context || err);
    });
  }

  _onPayload(text) {
    for (const raw of text.split(SEPARATOR)) {
      // The first GET's reply carries the handshake: the transport is open.
      if (this.state === 'opening' && raw[0] === '0') this._onOpen();
      if (!this._onRaw(raw)) return;
    }
    this._polling = false;
    if (this.state === 'open') this._poll();
    else this._checkPaused();
  }

  send(packets) {
    this.writable = false;
    // Blobs can only be read asynchronously; read them all before encoding so
    // the batch keeps its order. Sends are serialized by `writable` anyway.
    const ready = packets.map((p) => (HAS_BLOB && p.data instanceof Blob
      ? p.data.arrayBuffer().then((data) => ({ type: p.type, data }))
      : p));
    Promise.all(ready)
      .then((list) => this._request('POST',
        list.map((p) => encodeEnginePacket(p, false)).join(SEPARATOR)))
      .then(() => {
        if (this.state === 'closed') return;
        this.writable = true;
        this._fire('drain');
        this._checkPaused();
      }, (err) => {
        this._fail('xhr post error', err.type === 'TransportError' ? err.description : err, err.context || err);
      });
  }

  _doClose() {
    if (this.state === 'open' || this.state === 'pausing' || this.state === 'paused') {
      // Tell the server so it ends the session now (it answers the pending GET
      // with a noop); aborting that GET first would look like a network error.
      const abort = () => this._shutdown();
      this._request('POST', '1').then(abort, abort);
    } else {
      this._shutdown();
    }
  }

  _shutdown() {
    for (const c of this._requests) c.abort();
    this._requests.clear();
  }
}

/** WebSocket transport: one Engine.IO packet per frame, binary frames raw. */
class WS extends Transport {
  constructor(opts, query) {
    super(opts, query);
    this.name = 'websocket';
    this.ws = null;
  }

  _doOpen() {
    let ws;
    try {
      // Browsers cannot set headers on a WebSocket: `extraHeaders` is not sent here.
      ws = new WebSocket(this._url(this.opts.secure ? 'wss' : 'ws',
        this.opts.timestampRequests ? { t: Date.now().toString(36) } : undefined));
    } catch (err) {
      // Report asynchronously: the engine subscribes before open() returns.
      setTimeout(() => this._fail('websocket error', err, err), 0);
      return;
    }
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this._onOpen();
    ws.onmessage = (ev) => this._onRaw(ev.data);
    ws.onerror = (ev) => this._fail('websocket error', ev, ev);
    ws.onclose = (ev) => this._terminate({ description: 'websocket connection closed', context: ev });
    this.ws = ws;
  }

  send(packets) {
    this.writable = false;
    for (const p of packets) {
      try {
        this.ws.send(encodeEnginePacket(p, true));
      } catch (err) {
        this._fail('websocket error', err, err);
        return;
      }
    }
    // WebSocket.send only queues; give the event loop a turn before the next
    // batch so a burst of writes does not starve incoming frames.
    setTimeout(() => {
      if (this.state === 'closed') return;
      this.writable = true;
      this._fire('drain');
    }, 0);
  }

  _doClose() {
    this._shutdown();
  }

  _shutdown() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    // Detach first: events of a socket we dropped must not reach the engine.
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    ws.close(); // throws only for an invalid code or reason, and we pass none
  }
}

const TRANSPORTS = { polling: Polling, websocket: WS };

// ---------------------------------------------------------------------------
// 5. Engine.IO socket
// ---------------------------------------------------------------------------

/**
 * One Engine.IO session: handshake, heartbeat, write buffer, upgrade from
 * polling to WebSocket, and fallback between transports while opening.
 * Events: `open`, `data` (message payload), `ping`, `packet`, `upgrading`,
 * `upgrade` (transport), `upgradeError`, `drain`, `error`, `close` (reason, description).
 */
class Engine extends Emitter {
  /**
   * @param {object} opts secure, host ("name:port"), path, query, transports,
   *   upgrade, rememberUpgrade, extraHeaders, withCredentials, timestampRequests
   */
  constructor(opts) {
    super();
    this.opts = opts;
    this.id = null;
    this.readyState = 'closed';
    /** @type {Transport|null} */
    this.transport = null;
    this.writeBuffer = [];
    this.upgrades = [];
    this.upgrading = false;
    this.pingInterval = 0;
    this.pingTimeout = 0;
    this.maxPayload = 0;
    this._sentCount = 0; // packets of writeBuffer handed to the transport
    this._pingTimer = null;
    this._pingDeadline = 0;
    this._candidates = [];
    this._offline = null;
  }

  /** Starts the handshake with the first usable transport. */
  open() {
    let names = this.opts.transports.slice();
    if (this.opts.rememberUpgrade && Engine.priorWebsocketSuccess && names.includes('websocket')) {
      names = ['websocket'].concat(names.filter((n) => n !== 'websocket'));
    }
    this._candidates = names;
    this.readyState = 'opening';
    if (typeof addEventListener === 'function') {
      // A browser that goes offline will not deliver the close; do not wait
      // for the ping timeout to notice.
      this._offline = () => this._onClose('transport close', { description: 'network connection lost' });
      addEventListener('offline', this._offline, false);
    }
    this._openNext();
    return this;
  }

  _openNext() {
    while (this._candidates.length && !(TRANSPORTS[this._candidates[0]] && transportAvailable(this._candidates[0]))) {
      this._candidates.shift();
    }
    const name = this._candidates.shift();
    if (!name) {
      setTimeout(() => this._onError(transportError('no transports available')), 0);
      return;
    }
    this._setTransport(this._createTransport(name));
    this.transport.open();
  }

  _createTransport(name) {
    const query = Object.assign({}, this.opts.query, { EIO: 4, transport: name });
    if (this.id) query.sid = this.id;
    return new TRANSPORTS[name](this.opts, query);
  }

  _setTransport(t) {
    if (this.transport) this.transport.off();
    this.transport = t;
    t.on('drain', () => this._onDrain());
    t.on('packet', (p) => this._onPacket(p));
    t.on('error', (err) => this._onError(err));
    t.on('close', (d) => {
      if (this.readyState === 'opening') this._onError(transportError('transport closed during handshake', d.description));
      else this._onClose(d.reason || 'transport close', d.description);
    });
  }

  _onPacket(packet) {
    if (this.readyState === 'closed') return;
    this._fire('packet', packet);
    switch (packet.type) {
      case 'open':
        this._onHandshake(packet.data);
        break;
      case 'ping':
        this._resetPingTimer();
        this._sendPacket('pong');
        this._fire('ping');
        break;
      case 'message':
        this._fire('data', packet.data);
        break;
      default:
        // pong, noop, upgrade: nothing to do on the main transport.
        break;
    }
  }

  _onHandshake(json) {
    let h;
    try {
      h = JSON.parse(json);
    } catch (err) {
      h = null;
    }
    if (this.readyState !== 'opening') {
      this._onClose('parse error', new Error('unexpected second handshake'));
      return;
    }
    if (!h || typeof h.sid !== 'string' || typeof h.pingInterval !== 'number' || typeof h.pingTimeout !== 'number') {
      // Still opening: report it as a failed connection attempt (connect_error).
      this._onError(transportError('parse error', 'invalid handshake', json));
      return;
    }
    this.id = h.sid;
    this.transport.query.sid = h.sid;
    const wanted = this.opts.transports;
    this.upgrades = (Array.isArray(h.upgrades) ? h.upgrades : [])
      .filter((n) => wanted.includes(n) && TRANSPORTS[n] && transportAvailable(n));
    this.pingInterval = h.pingInterval;
    this.pingTimeout = h.pingTimeout;
    this.maxPayload = typeof h.maxPayload === 'number' ? h.maxPayload : 0;
    this.readyState = 'open';
    Engine.priorWebsocketSuccess = this.transport.name === 'websocket';
    this._resetPingTimer();
    this._fire('open');
    this._flush();
    if (this.readyState === 'open' && this.opts.upgrade !== false && this.transport.name === 'polling') {
      for (const name of this.upgrades) this._probe(name);
    }
  }

  /** The server pings every pingInterval; no ping within interval + timeout means the link is dead. */
  _resetPingTimer() {
    clearTimeout(this._pingTimer);
    const delay = this.pingInterval + this.pingTimeout;
    this._pingDeadline = Date.now() + delay;
    this._pingTimer = setTimeout(() => this._onClose('ping timeout'), delay);
  }

  /**
   * Timers are throttled while a device sleeps, so also compare clocks before
   * sending: a stale session is closed instead of swallowing the packet.
   */
  _hasPingExpired() {
    if (!this._pingDeadline || Date.now() <= this._pingDeadline) return false;
    this._pingDeadline = 0;
    setTimeout(() => this._onClose('ping timeout'), 0);
    return true;
  }

  /** Tries `name` with the same sid: 2probe → 3probe, pause polling, then 5. */
  _probe(name) {
    const t = this._createTransport(name);
    let settled = false;
    Engine.priorWebsocketSuccess = false;
    const stopOnClose = () => fail('engine closed');
    const finish = () => {
      settled = true;
      t.off();
      this.off('close', stopOnClose);
    };
    const fail = (why) => {
      if (settled) return;
      finish();
      t.close();
      this.upgrading = false;
      this._fire('upgradeError', transportError('probe error', why));
    };
    t.once('open', () => {
      t.once('packet', (p) => {
        if (settled) return;
        if (p.type !== 'pong' || p.data !== 'probe') { fail('unexpected probe reply'); return; }
        this.upgrading = true;
        this._fire('upgrading', t);
        Engine.priorWebsocketSuccess = name === 'websocket';
        this.transport.pause(() => {
          if (settled || this.readyState === 'closed') return;
          finish();
          this._setTransport(t);
          t.send([{ type: 'upgrade' }]);
          this.upgrading = false;
          this._fire('upgrade', t);
          this._flush();
        });
      });
      t.send([{ type: 'ping', data: 'probe' }]);
    });
    t.once('error', (err) => fail(err));
    t.once('close', () => fail('transport closed'));
    this.on('close', stopOnClose);
    t.open();
  }

  /**
   * Queues a message packet.
   * @param {string|ArrayBuffer|ArrayBufferView|Blob} data
   * @param {{compress?: boolean}} [options]
   */
  write(data, options) {
    this._sendPacket('message', data, options);
    return this;
  }

  _sendPacket(type, data, options) {
    if (this.readyState === 'closing' || this.readyState === 'closed') return;
    this.writeBuffer.push({ type, data, options });
    this._flush();
  }

  _flush() {
    if (this.readyState === 'closed' || this.upgrading || !this.transport ||
        !this.transport.writable || this.writeBuffer.length === 0) return;
    const batch = this._nextBatch();
    this._sentCount = batch.length;
    this.transport.send(batch);
    this._fire('flush');
  }

  /** Polling batches must fit the server's maxPayload (bytes of the whole POST body). */
  _nextBatch() {
    const all = this.writeBuffer;
    if (this.transport.name !== 'polling' || !this.maxPayload || all.length < 2) return all.slice();
    let size = 0;
    for (let i = 0; i < all.length; i++) {
      const d = all[i].data;
      let n = 1; // type char, or the "b" of a base64 packet
      if (typeof d === 'string') n += utf8Length(d);
      else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) n += Math.ceil(d.byteLength / 3) * 4;
      else if (HAS_BLOB && d instanceof Blob) n += Math.ceil(d.size / 3) * 4;
      size += n + (i > 0 ? 1 : 0); // separator
      if (i > 0 && size > this.maxPayload) return all.slice(0, i);
    }
    return all.slice();
  }

  _onDrain() {
    this.writeBuffer.splice(0, this._sentCount);
    this._sentCount = 0;
    if (this.writeBuffer.length === 0) this._fire('drain');
    else this._flush();
  }

  /** Closes after the queued packets are written and any upgrade has settled. */
  close() {
    if (this.readyState === 'opening' && !this.id) {
      this._onClose('forced close');
      return this;
    }
    if (this.readyState !== 'open' && this.readyState !== 'opening') return this;
    this.readyState = 'closing';
    const shut = () => this._onClose('forced close');
    const afterUpgrade = () => {
      if (!this.upgrading) { shut(); return; }
      const done = () => { this.off('upgrade', done); this.off('upgradeError', done); shut(); };
      this.on('upgrade', done);
      this.on('upgradeError', done);
    };
    if (this.writeBuffer.length) this.once('drain', afterUpgrade);
    else afterUpgrade();
    return this;
  }

  _onError(err) {
    if (this.readyState === 'closed') return;
    // A WebSocket that fails while opening (blocked by a proxy, no server
    // support) falls back to the next allowed transport. Polling failures are
    // reported as they are: they carry the HTTP status worth seeing.
    if (this.readyState === 'opening' && !this.id && this._candidates.length &&
        this.transport.name === 'websocket') {
      this.transport.off();
      this.transport.close();
      this._openNext();
      return;
    }
    Engine.priorWebsocketSuccess = false;
    this._fire('error', err);
    this._onClose('transport error', err);
  }

  _onClose(reason, description) {
    if (this.readyState === 'closed') return;
    clearTimeout(this._pingTimer);
    this._pingDeadline = 0;
    if (this._offline) {
      removeEventListener('offline', this._offline, false);
      this._offline = null;
    }
    if (this.transport) {
      this.transport.off();
      this.transport.close();
    }
    this.readyState = 'closed';
    this.id = null;
    this.upgrading = false;
    this._fire('close', reason, description);
    this.writeBuffer = [];
    this._sentCount = 0;
  }
}
/** Set after a WebSocket worked; with `rememberUpgrade` the next session starts with it. */
Engine.priorWebsocketSuccess = false;

// ---------------------------------------------------------------------------
// 6. Socket.IO packets
// ---------------------------------------------------------------------------

const CONNECT = 0, DISCONNECT = 1, EVENT = 2, ACK = 3, CONNECT_ERROR = 4,
  BINARY_EVENT = 5, BINARY_ACK = 6;
/** Event names the application cannot emit (they are local lifecycle events). */
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting',
  'newListener', 'removeListener']);
/** Same cap as the official parser: refuses absurd attachment counts from the peer. */
const MAX_ATTACHMENTS = 10;

/**
 * Replaces binary values by placeholders, collecting them in `buffers`.
 * Copies only the containers that change, so the caller's data is untouched.
 * Objects with toJSON (e.g. Date) are left for JSON.stringify.
 */
function extractBinary(value, buffers) {
  if (isBinary(value)) {
    buffers.push(value);
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(value)) {
    let copy = null;
    for (let i = 0; i < value.length; i++) {
      const v = extractBinary(value[i], buffers);
      if (v !== value[i]) { copy = copy || value.slice(); copy[i] = v; }
    }
    return copy || value;
  }
  if (value !== null && typeof value === 'object' && typeof value.toJSON !== 'function') {
    let copy = null;
    const keys = Object.keys(value);
    for (const key of keys) {
      const v = extractBinary(value[key], buffers);
      if (v !== value[key] && !copy) {
        copy = {};
        for (const k of keys) setOwn(copy, k, value[k]);
      }
      if (copy) setOwn(copy, key, v);
    }
    return copy || value;
  }
  return value;
}

/** Puts received attachments back in place of their placeholders (in place). */
function insertBinary(value, buffers) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = insertBinary(value[i], buffers);
  } else if (value !== null && typeof value === 'object') {
    if (value._placeholder === true) {
      const n = value.num;
      if (Number.isInteger(n) && n >= 0 && n < buffers.length) return buffers[n];
      throw new Error('illegal attachments');
    }
    for (const key of Object.keys(value)) {
      const v = insertBinary(value[key], buffers);
      if (v !== value[key]) setOwn(value, key, v);
    }
  }
  return value;
}

/**
 * Encodes a Socket.IO packet into Engine.IO message payloads: the text header
 * first, then one binary payload per attachment.
 * @param {{type: number, nsp: string, data?: *, id?: number}} packet
 * @returns {Array<string|ArrayBuffer|ArrayBufferView|Blob>}
 */
function encodePacket(packet) {
  let type = packet.type;
  let data = packet.data;
  const buffers = [];
  if ((type === EVENT || type === ACK) && data !== undefined) {
    data = extractBinary(data, buffers);
    if (buffers.length) type += 3; // EVENT → BINARY_EVENT, ACK → BINARY_ACK
  }
  let text = String(type);
  if (buffers.length) text += buffers.length + '-';
  if (packet.nsp && packet.nsp !== '/') text += packet.nsp + ',';
  if (packet.id !== undefined && packet.id !== null) text += packet.id;
  if (data !== undefined) text += JSON.stringify(data);
  return [text].concat(buffers);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Payload rules per packet type (server → client direction). */
function validPayload(type, data) {
  switch (type) {
    case CONNECT: return isPlainObject(data);
    case DISCONNECT: return data === undefined;
    case CONNECT_ERROR: return typeof data === 'string' || isPlainObject(data);
    case EVENT:
    case BINARY_EVENT:
      return Array.isArray(data) && data.length > 0 && (typeof data[0] === 'number' ||
        (typeof data[0] === 'string' && !RESERVED_EVENTS.has(data[0])));
    default: return Array.isArray(data); // ACK, BINARY_ACK
  }
}

/** Parses the text part of a Socket.IO packet; throws on any violation. */
function decodeText(text) {
  const type = '0123456'.indexOf(text[0]);
  if (text.length === 0 || type < 0) throw new Error('unknown packet type');
  const packet = { type, nsp: '/' };
  let i = 1;
  if (type === BINARY_EVENT || type === BINARY_ACK) {
    const dash = text.indexOf('-', 1);
    const count = dash < 0 ? '' : text.slice(1, dash);
    if (!/^[0-9]+$/.test(count)) throw new Error('illegal attachments');
    packet.attachments = Number(count);
    if (packet.attachments < 1 || packet.attachments > MAX_ATTACHMENTS) throw new Error('illegal attachments');
    i = dash + 1;
  }
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    packet.nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  const idMatch = /^[0-9]+/.exec(text.slice(i));
  if (idMatch) {
    packet.id = Number(idMatch[0]);
    i += idMatch[0].length;
  }
  if (i < text.length) {
    try {
      packet.data = JSON.parse(text.slice(i));
    } catch (err) {
      throw new Error('invalid payload');
    }
  }
  if (!validPayload(type, packet.data)) throw new Error('invalid payload');
  return packet;
}

/**
 * Stateful decoder: reassembles binary packets from their text header and the
 * attachments that follow. Emits `decoded`; `add` throws on protocol errors.
 */
class Decoder extends Emitter {
  constructor() {
    super();
    this._pending = null; // {packet, buffers} while attachments are expected
  }

  /** @param {string|ArrayBuffer|Blob} chunk one Engine.IO message payload */
  add(chunk) {
    if (typeof chunk === 'string') {
      if (this._pending) throw new Error('got plaintext data when reconstructing a packet');
      const packet = decodeText(chunk);
      if (packet.attachments) this._pending = { packet, buffers: [] };
      else this._fire('decoded', packet);
      return;
    }
    if (!isBinary(chunk)) throw new Error('unknown data type');
    if (!this._pending) throw new Error('got binary data when not reconstructing a packet');
    const { packet, buffers } = this._pending;
    buffers.push(chunk);
    if (buffers.length < packet.attachments) return;
    this._pending = null;
    packet.data = insertBinary(packet.data, buffers);
    delete packet.attachments;
    packet.type -= 3; // handled as a plain EVENT / ACK from here on
    this._fire('decoded', packet);
  }

  reset() {
    this._pending = null;
  }
}

// ---------------------------------------------------------------------------
// 7. Backoff
// ---------------------------------------------------------------------------

/** Exponential backoff: min·2^attempt, ± a random share (`jitter`), capped at max. */
class Backoff {
  constructor(min, max, jitter) {
    this.min = min;
    this.max = max;
    this.jitter = jitter;
    this.attempts = 0;
  }

  duration() {
    let ms = this.min * Math.pow(2, this.attempts++);
    if (this.jitter > 0) {
      // Spreads the reconnections of many clients after a server restart.
      const deviation = Math.random() * this.jitter * ms;
      ms = Math.random() < 0.5 ? ms - deviation : ms + deviation;
    }
    return Math.max(0, Math.floor(Math.min(ms, this.max)));
  }

  reset() {
    this.attempts = 0;
  }
}

// ---------------------------------------------------------------------------
// 8. Manager
// ---------------------------------------------------------------------------

/**
 * Parses a user URL. Relative forms ("/ns", "//host", "host:port") resolve
 * against the page's location; outside a browser an absolute URL is needed.
 * @returns {{secure: boolean, host: string, nsp: string, query: string, source: string, id: string}}
 */
function parseUrl(uri, path) {
  const loc = typeof location !== 'undefined' && location && location.host ? location : null;
  let s = uri === undefined || uri === null || uri === '' ? '/' : String(uri);
  if (!loc && (s[0] === '/' && s[1] !== '/')) {
    throw new TypeError('io(): an absolute URL is needed outside a browser, got ' + JSON.stringify(s));
  }
  if (s.startsWith('//')) s = (loc ? loc.protocol : 'https:') + s;
  else if (s[0] === '/') s = loc.protocol + '//' + loc.host + s;
  else if (!/^(https?|wss?):\/\//i.test(s)) s = (loc ? loc.protocol + '//' : 'https://') + s;
  const u = new URL(s);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const host = u.hostname + ':' + (u.port || (secure ? '443' : '80'));
  return {
    secure,
    host,
    nsp: u.pathname || '/',
    query: u.search.slice(1),
    source: s,
    id: (secure ? 'https' : 'http') + '://' + host + normalizePath(path),
  };
}

/** "/socket.io" → "/socket.io/": the reference server only matches with the slash. */
function normalizePath(path) {
  let p = path || '/socket.io';
  if (p[0] !== '/') p = '/' + p;
  return p.endsWith('/') ? p : p + '/';
}

function queryObject(q) {
  if (!q) return {};
  if (typeof q === 'string') {
    const out = {};
    new URLSearchParams(q).forEach((v, k) => { out[k] = v; });
    return out;
  }
  return Object.assign({}, q);
}

/**
 * @typedef {object} ManagerOptions
 * @property {string} [path='/socket.io/'] server path (a trailing slash is added)
 * @property {string[]} [transports=['polling','websocket']] tried in order; polling upgrades to the next
 * @property {boolean} [upgrade=true] probe the server's upgrades after a polling handshake
 * @property {boolean} [rememberUpgrade=false] start with WebSocket once one has worked
 * @property {object|string} [query] extra query parameters of every request
 * @property {object|function(function(object))} [auth] CONNECT payload, or a function giving it
 * @property {number|false} [timeout=20000] connect timeout (ms) of each Engine.IO handshake
 * @property {boolean} [reconnection=true]
 * @property {number} [reconnectionAttempts=Infinity]
 * @property {number} [reconnectionDelay=1000] first delay (ms), doubled per attempt
 * @property {number} [reconnectionDelayMax=5000]
 * @property {number} [randomizationFactor=0.5] jitter, 0 to 1
 * @property {boolean} [autoConnect=true]
 * @property {boolean} [withCredentials=false] send cookies cross-origin (polling)
 * @property {Object<string,string>} [extraHeaders] polling requests only (a browser WebSocket cannot)
 * @property {number} [ackTimeout] default ack timeout (ms) of every emit with an ack
 * @property {number} [retries] resend an emit this many times until acked (needs a timeout)
 * @property {boolean} [forceNew=false] io() only: use a Manager of its own
 * @property {boolean} [multiplex=true] io() only: false is the same as forceNew
 */

/**
 * Owns one Engine.IO connection shared by the sockets of several namespaces,
 * and reconnects it with backoff.
 * Events: `open`, `error` (err), `close` (reason, description), `ping`,
 * `packet`, `reconnect_attempt` (n), `reconnect` (n), `reconnect_error` (err),
 * `reconnect_failed`.
 */
class Manager extends Emitter {
  /**
   * @param {string} [uri] server URL (the path part is ignored: namespaces go to `socket()`)
   * @param {ManagerOptions} [opts]
   */
  constructor(uri, opts) {
    super();
    if (uri !== null && typeof uri === 'object') { opts = uri; uri = undefined; }
    this.opts = opts = Object.assign({}, opts);
    this.opts.path = normalizePath(opts.path);
    this.uri = uri;
    /** @type {Object<string, Socket>} */
    this.nsps = {};
    this.subs = [];
    /** @type {Engine|null} */
    this.engine = null;
    this.backoff = new Backoff(
      opts.reconnectionDelay === undefined ? 1000 : opts.reconnectionDelay,
      opts.reconnectionDelayMax === undefined ? 5000 : opts.reconnectionDelayMax,
      opts.randomizationFactor === undefined ? 0.5 : opts.randomizationFactor);
    this._reconnection = opts.reconnection !== false;
    this._reconnectionAttempts = opts.reconnectionAttempts === undefined ? Infinity : opts.reconnectionAttempts;
    this._timeout = opts.timeout === undefined || opts.timeout === null ? 20000 : opts.timeout;
    this._readyState = 'closed';
    this._reconnecting = false;
    this._reconnectTimer = null;
    this._openSubs = [];
    this.skipReconnect = false;
    this.encoder = { encode: encodePacket };
    this.decoder = new Decoder();
    this.decoder.on('decoded', (p) => this._fire('packet', p));
    this._autoConnect = opts.autoConnect !== false;
    if (this._autoConnect) this.open();
  }

  /** Getter/setters matching the official Manager. */
  reconnection(v) { if (v === undefined) return this._reconnection; this._reconnection = !!v; return this; }
  reconnectionAttempts(v) { if (v === undefined) return this._reconnectionAttempts; this._reconnectionAttempts = v; return this; }
  reconnectionDelay(v) { if (v === undefined) return this.backoff.min; this.backoff.min = v; return this; }
  reconnectionDelayMax(v) { if (v === undefined) return this.backoff.max; this.backoff.max = v; return this; }
  randomizationFactor(v) { if (v === undefined) return this.backoff.jitter; this.backoff.jitter = v; return this; }
  timeout(v) { if (v === undefined) return this._timeout; this._timeout = v; return this; }

  _engineOptions() {
    const o = this.opts;
    let target = { secure: false, host: '', query: '' };
    if (this.uri !== undefined || typeof location !== 'undefined') target = parseUrl(this.uri, o.path);
    return {
      secure: o.secure === undefined ? target.secure : !!o.secure,
      host: target.host,
      path: o.path,
      // URL query first, the `query` option wins on conflicts.
      query: Object.assign(queryObject(target.query), queryObject(o.query)),
      transports: o.transports || ['polling', 'websocket'],
      upgrade: o.upgrade !== false,
      rememberUpgrade: !!o.rememberUpgrade,
      extraHeaders: o.extraHeaders,
      withCredentials: !!o.withCredentials,
      timestampRequests: !!o.timestampRequests,
    };
  }

  /**
   * Opens the Engine.IO connection (no-op when open or opening).
   * @param {function(Error=)} [fn] called once with an error or nothing
   */
  open(fn) {
    if (this._readyState === 'open' || this._readyState === 'opening') return this;
    const engine = this.engine = new Engine(this._engineOptions());
    this._readyState = 'opening';
    this.skipReconnect = false;
    const fail = (err) => {
      this._clearOpenSubs();
      this._cleanup();
      this._readyState = 'closed';
      this._fire('error', err);
      if (fn) fn(err);
      else this._maybeReconnectOnOpen();
    };
    this._openSubs.push(listen(engine, 'open', () => {
      this._clearOpenSubs();
      this._onOpen();
      if (fn) fn();
    }));
    this._openSubs.push(listen(engine, 'error', fail));
    if (this._timeout !== false && this._timeout > 0) {
      const timer = setTimeout(() => {
        fail(new Error('timeout'));
        engine.close();
      }, this._timeout);
      this._openSubs.push(() => clearTimeout(timer));
    }
    engine.open();
    return this;
  }

  connect(fn) {
    return this.open(fn);
  }

  _clearOpenSubs() {
    const subs = this._openSubs;
    this._openSubs = [];
    subs.forEach((off) => off());
  }

  _maybeReconnectOnOpen() {
    // Only the first failed open starts the reconnection loop; later failures
    // come from the loop itself.
    if (!this._reconnecting && this._reconnection && this.backoff.attempts === 0) this._reconnect();
  }

  _onOpen() {
    this._cleanup();
    this._readyState = 'open';
    this._fire('open');
    const engine = this.engine;
    this.subs.push(
      listen(engine, 'ping', () => this._fire('ping')),
      listen(engine, 'data', (data) => this._onData(data)),
      listen(engine, 'error', (err) => this._fire('error', err)),
      listen(engine, 'close', (reason, description) => this._onClose(reason, description)));
  }

  _onData(data) {
    try {
      this.decoder.add(data);
    } catch (err) {
      // Malformed input from the server: drop the connection (and reconnect).
      const engine = this.engine;
      this._onClose('parse error', err);
      engine.close();
    }
  }

  /** Sends a Socket.IO packet (called by sockets). */
  _packet(packet) {
    if (!this.engine) return;
    for (const part of encodePacket(packet)) this.engine.write(part, packet.options);
  }

  /** Called when a socket stops: closes the connection once no socket is active. */
  _destroy() {
    for (const nsp of Object.keys(this.nsps)) {
      if (this.nsps[nsp].active) return;
    }
    this._close();
  }

  _cleanup() {
    const subs = this.subs;
    this.subs = [];
    subs.forEach((off) => off());
    this.decoder.reset();
  }

  /** Closes the connection for good (no reconnection). */
  _close() {
    this.skipReconnect = true;
    this._reconnecting = false;
    clearTimeout(this._reconnectTimer);
    this._clearOpenSubs();
    this._onClose('forced close');
  }

  disconnect() {
    return this._close();
  }

  close() {
    return this._close();
  }

  _onClose(reason, description) {
    const wasActive = this._readyState !== 'closed';
    this._cleanup();
    if (this.engine) this.engine.close();
    this.backoff.reset();
    this._readyState = 'closed';
    if (wasActive) this._fire('close', reason, description);
    if (this._reconnection && !this.skipReconnect) this._reconnect();
  }

  _reconnect() {
    if (this._reconnecting || this.skipReconnect) return;
    if (this.backoff.attempts >= this._reconnectionAttempts) {
      this.backoff.reset();
      this._reconnecting = false;
      this._fire('reconnect_failed');
      return;
    }
    const delay = this.backoff.duration();
    this._reconnecting = true;
    this._reconnectTimer = setTimeout(() => {
      if (this.skipReconnect) return;
      this._fire('reconnect_attempt', this.backoff.attempts);
      if (this.skipReconnect) return; // a listener may have closed us
      this.open((err) => {
        if (err) {
          this._reconnecting = false;
          this._reconnect();
          this._fire('reconnect_error', err);
        } else {
          const attempts = this.backoff.attempts;
          this._reconnecting = false;
          this.backoff.reset();
          this._fire('reconnect', attempts);
        }
      });
    }, delay);
  }

  /**
   * The socket of a namespace on this connection (created on first use).
   * @param {string} nsp
   * @param {object} [opts] socket options (auth, ackTimeout, retries)
   * @returns {Socket}
   */
  socket(nsp, opts) {
    let socket = this.nsps[nsp];
    if (!socket) {
      socket = new Socket(this, nsp, opts);
      this.nsps[nsp] = socket;
    } else if (this._autoConnect && !socket.active) {
      socket.connect();
    }
    return socket;
  }
}

// ---------------------------------------------------------------------------
// 9. Socket
// ---------------------------------------------------------------------------

/**
 * A connection to one namespace. `emit` sends to the server; incoming events
 * reach `on` listeners. Local events: `connect`, `connect_error` (err),
 * `disconnect` (reason, description).
 */
class Socket extends Emitter {
  /**
   * @param {Manager} io
   * @param {string} nsp
   * @param {{auth?: object|function(function(object)), ackTimeout?: number, retries?: number}} [opts]
   */
  constructor(io, nsp, opts) {
    super();
    /** The Manager. */
    this.io = io;
    this.nsp = nsp;
    /** Public socket id given by the server; undefined while disconnected. */
    this.id = undefined;
    this.connected = false;
    /** Whether the last connection restored the previous session (state recovery). */
    this.recovered = false;
    this.receiveBuffer = [];
    this.sendBuffer = [];
    this.flags = {};
    this.ids = 0;
    /** @type {Map<number, Function>} */
    this.acks = new Map();
    this.subs = undefined;
    this._opts = Object.assign({}, opts);
    this.auth = this._opts.auth;
    this._anyListeners = [];
    this._anyOutgoingListeners = [];
    this._queue = []; // packets awaiting an ack, with retries
    this._pid = undefined; // private session id for state recovery
    this._lastOffset = undefined;
    if (io._autoConnect) this.open();
  }

  get disconnected() { return !this.connected; }

  /** Whether the socket is connected or trying to (it follows the Manager's events). */
  get active() { return !!this.subs; }

  /** Marks the next emit as volatile: dropped unless it can be sent right now. */
  get volatile() { this.flags.volatile = true; return this; }

  _subscribe() {
    if (this.subs) return;
    const io = this.io;
    this.subs = [
      listen(io, 'open', () => this._onOpen()),
      listen(io, 'packet', (p) => this._onPacket(p)),
      listen(io, 'error', (err) => { if (!this.connected) this._fire('connect_error', err); }),
      listen(io, 'close', (reason, description) => this._onClose(reason, description)),
    ];
  }

  /** Connects (or reconnects) to the namespace. */
  connect() {
    if (this.connected) return this;
    this._subscribe();
    if (!this.io._reconnecting) this.io.open();
    if (this.io._readyState === 'open') this._onOpen();
    return this;
  }

  open() {
    return this.connect();
  }

  _onOpen() {
    if (typeof this.auth === 'function') this.auth((data) => this._sendConnect(data));
    else this._sendConnect(this.auth);
  }

  _sendConnect(auth) {
    // With a known private id, ask the server to restore the session and
    // replay what was emitted after the last offset we saw.
    const data = this._pid ? Object.assign({ pid: this._pid, offset: this._lastOffset }, auth) : auth;
    this._packet({ type: CONNECT, data });
  }

  _packet(packet) {
    packet.nsp = this.nsp;
    this.io._packet(packet);
  }

  /**
   * Emits an event to the server. A trailing function argument asks for an
   * acknowledgement. Throws for reserved event names.
   * @param {string} event
   * @param {...*} args
   * @returns {this}
   */
  emit(event, ...args) {
    if (RESERVED_EVENTS.has(event)) throw new Error('"' + String(event) + '" is a reserved event name');
    args.unshift(event);
    if (this._opts.retries && !this.flags.fromQueue && !this.flags.volatile) {
      this._enqueue(args);
      return this;
    }
    const packet = { type: EVENT, data: args, options: { compress: this.flags.compress !== false } };
    if (typeof args[args.length - 1] === 'function') {
      const id = this.ids++;
      this._registerAck(id, args.pop());
      packet.id = id;
    }
    const engine = this.io.engine;
    const writable = !!(engine && engine.transport && engine.transport.writable);
    const live = this.connected && !(engine && engine._hasPingExpired());
    if (this.flags.volatile && !(live && writable)) {
      // Volatile events are lossy by contract: never buffered.
    } else if (live) {
      this._notifyOutgoing(packet);
      this._packet(packet);
    } else {
      this.sendBuffer.push(packet);
    }
    this.flags = {};
    return this;
  }

  /** Emits with an ack and resolves with its first argument (rejects on timeout). */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      const done = (err, value) => (err ? reject(err) : resolve(value));
      done.withError = true;
      args.push(done);
      this.emit(event, ...args);
    });
  }

  _registerAck(id, ack) {
    const timeout = this.flags.timeout === undefined ? this._opts.ackTimeout : this.flags.timeout;
    if (timeout === undefined) {
      this.acks.set(id, ack);
      return;
    }
    const timer = setTimeout(() => {
      this.acks.delete(id);
      // Nobody waits for the answer any more: do not send a still-buffered request.
      this.sendBuffer = this.sendBuffer.filter((p) => p.id !== id);
      callUser(ack, this, [new Error('operation has timed out')]);
    }, timeout);
    const wrapped = (...args) => {
      clearTimeout(timer);
      ack.apply(this, args);
    };
    wrapped.withError = true; // receives (null, ...args) on success
    this.acks.set(id, wrapped);
  }

  /** With `retries`: one packet in flight at a time, resent until acked. */
  _enqueue(args) {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    const item = { tryCount: 0, pending: false, args, flags: Object.assign({ fromQueue: true }, this.flags) };
    const onReply = (err, ...reply) => {
      if (item !== this._queue[0]) return; // a late answer to an earlier try
      if (err) {
        if (item.tryCount > this._opts.retries) {
          this._queue.shift();
          if (ack) ack(err);
        }
      } else {
        this._queue.shift();
        if (ack) ack(null, ...reply);
      }
      item.pending = false;
      this._drainQueue();
    };
    onReply.withError = true;
    args.push(onReply);
    this._queue.push(item);
    this.flags = {};
    this._drainQueue();
  }

  _drainQueue(force) {
    if (!this.connected || this._queue.length === 0) return;
    const item = this._queue[0];
    if (item.pending && !force) return;
    item.pending = true;
    item.tryCount++;
    this.flags = item.flags;
    this.emit.apply(this, item.args);
  }

  /** Same as emit('message', ...args). */
  send(...args) {
    return this.emit('message', ...args);
  }

  /** Sets a timeout (ms) for the ack of the next emit; the callback gets (err, ...args). */
  timeout(ms) {
    this.flags.timeout = ms;
    return this;
  }

  /** Compression hint for the next emit (WebSocket per-message compression is not per-frame in browsers). */
  compress(compress) {
    this.flags.compress = compress;
    return this;
  }

  _onPacket(packet) {
    if (packet.nsp !== this.nsp) return;
    switch (packet.type) {
      case CONNECT:
        if (typeof packet.data.sid === 'string') {
          this._onConnect(packet.data.sid, typeof packet.data.pid === 'string' ? packet.data.pid : undefined);
        } else {
          this._fire('connect_error', new Error('invalid CONNECT reply without a socket id (is the server Socket.IO v3 or later?)'));
        }
        break;
      case EVENT:
        this._onEvent(packet);
        break;
      case ACK:
        this._onAck(packet);
        break;
      case DISCONNECT:
        this._destroy();
        this._onClose('io server disconnect');
        break;
      case CONNECT_ERROR: {
        this._destroy();
        const d = packet.data;
        const err = new Error(typeof d === 'string' ? d : String(d.message));
        if (typeof d === 'object') err.data = d.data;
        this._fire('connect_error', err);
        break;
      }
      default:
        break;
    }
  }

  _onEvent(packet) {
    const args = packet.data.slice();
    if (packet.id !== undefined) args.push(this._ackFunction(packet.id));
    if (this.connected) this._emitEvent(args);
    else this.receiveBuffer.push(args); // e.g. events replayed before the CONNECT reply
  }

  _emitEvent(args) {
    for (const fn of this._anyListeners.slice()) callUser(fn, this, args);
    this._fire(...args);
    // With state recovery on, the server appends an offset to each stored event.
    const last = args[args.length - 1];
    if (this._pid && args.length && typeof last === 'string') this._lastOffset = last;
  }

  _ackFunction(id) {
    let sent = false;
    return (...args) => {
      if (sent) return; // one answer per request
      sent = true;
      this._packet({ type: ACK, id, data: args });
    };
  }

  _onAck(packet) {
    const ack = this.acks.get(packet.id);
    if (typeof ack !== 'function') return; // unknown or timed-out id
    this.acks.delete(packet.id);
    const args = packet.data.slice();
    if (ack.withError) args.unshift(null);
    callUser(ack, this, args);
  }

  _onConnect(id, pid) {
    this.id = id;
    this.recovered = !!pid && this._pid === pid;
    this._pid = pid;
    this.connected = true;
    const received = this.receiveBuffer;
    this.receiveBuffer = [];
    received.forEach((args) => this._emitEvent(args));
    const pending = this.sendBuffer;
    this.sendBuffer = [];
    pending.forEach((packet) => {
      this._notifyOutgoing(packet);
      this._packet(packet);
    });
    this._fire('connect');
    this._drainQueue(true);
  }

  _onClose(reason, description) {
    this.connected = false;
    this.id = undefined;
    this._fire('disconnect', reason, description);
    this._clearAcks();
  }

  /** Fails the acks that cannot be answered any more (those not still buffered). */
  _clearAcks() {
    for (const [id, ack] of this.acks) {
      if (this.sendBuffer.some((p) => p.id === id)) continue;
      this.acks.delete(id);
      if (ack.withError) callUser(ack, this, [new Error('socket has been disconnected')]);
    }
  }

  _destroy() {
    if (this.subs) {
      this.subs.forEach((off) => off());
      this.subs = undefined;
    }
    this.io._destroy(this);
  }

  /** Leaves the namespace; the connection closes when no other socket uses it. */
  disconnect() {
    const wasConnected = this.connected;
    if (wasConnected) this._packet({ type: DISCONNECT });
    this._destroy();
    if (wasConnected) this._onClose('io client disconnect');
    return this;
  }

  close() {
    return this.disconnect();
  }

  _notifyOutgoing(packet) {
    for (const fn of this._anyOutgoingListeners.slice()) callUser(fn, this, packet.data);
  }

  /** Catch-all listener for incoming events: fn(event, ...args). */
  onAny(fn) { this._anyListeners.push(fn); return this; }
  prependAny(fn) { this._anyListeners.unshift(fn); return this; }
  offAny(fn) { this._anyListeners = removeFrom(this._anyListeners, fn); return this; }
  listenersAny() { return this._anyListeners.slice(); }
  /** Catch-all listener for outgoing events: fn(event, ...args). */
  onAnyOutgoing(fn) { this._anyOutgoingListeners.push(fn); return this; }
  prependAnyOutgoing(fn) { this._anyOutgoingListeners.unshift(fn); return this; }
  offAnyOutgoing(fn) { this._anyOutgoingListeners = removeFrom(this._anyOutgoingListeners, fn); return this; }
  listenersAnyOutgoing() { return this._anyOutgoingListeners.slice(); }
}

/** Without fn: empties the list; with fn: removes its first occurrence. */
function removeFrom(list, fn) {
  if (!fn) return [];
  const i = list.indexOf(fn);
  return i < 0 ? list : list.slice(0, i).concat(list.slice(i + 1));
}

// ---------------------------------------------------------------------------
// 10. io() and exports
// ---------------------------------------------------------------------------

/** Managers shared by io() calls, per origin + path. */
const cache = {};

/**
 * Returns a socket for the namespace in `uri` (default "/"). Sockets to the
 * same origin and path share one Manager (one Engine.IO connection) unless
 * `forceNew` or `multiplex: false` is given, or the namespace is already in use.
 * @param {string|ManagerOptions} [uri] defaults to the page's origin
 * @param {ManagerOptions} [opts]
 * @returns {Socket}
 */
function io(uri, opts) {
  if (uri !== null && typeof uri === 'object') { opts = uri; uri = undefined; }
  opts = opts || {};
  const parsed = parseUrl(uri, opts.path);
  const nsp = parsed.nsp;
  const known = cache[parsed.id];
  const fresh = opts.forceNew || opts['force new connection'] || opts.multiplex === false ||
    !!(known && nsp in known.nsps);
  let manager;
  if (fresh) {
    manager = new Manager(parsed.source, opts);
  } else {
    if (!known) cache[parsed.id] = new Manager(parsed.source, opts);
    manager = cache[parsed.id];
  }
  return manager.socket(nsp, opts);
}

Object.assign(io, {
  Manager,
  Socket,
  protocol,
  io,
  connect: io,
  /** @private exposed for the test suite; not part of the public API. */
  _internals: { encodeEnginePacket, decodeEnginePacket, encodePacket, Decoder, Backoff, Engine, parseUrl },
});

export { io, Manager, Socket, protocol };
export default io;
