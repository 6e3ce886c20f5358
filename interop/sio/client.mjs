// Connecting the official socket.io-client to the server under test, for the sio suites.
import { io, Manager } from 'socket.io-client';
import { requireEnv, nextEvent, joinUrl, WAIT_MS } from '../lib/helpers.mjs';

export const SIO_URL = requireEnv('SIO_URL', 'base URL of a Socket.IO echo server, e.g. http://127.0.0.1:3000');
export const SIO_PATH = process.env.SIO_PATH || '/socket.io/';

/** The three ways the official client can run: WebSocket only, polling only, and the default (polling, then upgrade). */
export const MODES = [
  { name: 'websocket', opts: { transports: ['websocket'] }, final: 'websocket', upgrade: false },
  { name: 'polling', opts: { transports: ['polling'] }, final: 'polling', upgrade: false },
  { name: 'default (polling→websocket)', opts: {}, final: 'websocket', upgrade: true },
];

/** Client options shared by every test: no silent reconnection loops, bounded connect. */
export function baseOptions(extra = {}) {
  return { path: SIO_PATH, forceNew: true, reconnection: false, timeout: WAIT_MS, ...extra };
}

/** Resolves on `connect`, rejects with the error on `connect_error` or after a timeout. */
export function connected(socket, ms = WAIT_MS) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no connect within ${ms} ms`)), ms);
    const onConnect = () => done();
    const onError = (err) => done(Object.assign(new Error(`connect_error: ${err.message}`), { cause: err }));
    function done(err) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (err) reject(err);
      else resolve();
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/** Resolves with the error of the next `connect_error`; rejects if the socket connects instead. */
export function connectError(socket, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no connect_error within ${ms} ms`)), ms);
    const onConnect = () => done(new Error('connected, but a connect_error was expected'));
    const onError = (err) => done(undefined, err);
    function done(failure, err) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (failure) reject(failure);
      else resolve(err);
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/**
 * Connects a socket to namespace `nsp` of `url` in `mode` and waits for both the connection and
 * the server's `auth` event (sent right after connect; the listener is registered first). For the
 * default mode, also waits for the upgrade to WebSocket unless `waitUpgrade` is false.
 * The socket is disconnected on `t.after`. Resolves { socket, auth }.
 */
export async function connect(t, { url = SIO_URL, nsp = '/', mode = MODES[0], waitUpgrade = true, ...opts } = {}) {
  const socket = io(joinUrl(url, nsp), baseOptions({ ...mode.opts, ...opts }));
  t.after(() => socket.disconnect());
  const auth = nextEvent(socket, 'auth');
  // The manager creates its engine synchronously in io(), so the upgrade listener cannot miss it.
  const upgrade = mode.upgrade && waitUpgrade ? nextEvent(socket.io.engine, 'upgrade', { ms: WAIT_MS * 2 }) : null;
  // These are awaited below; until then a rejection must not count as unhandled.
  auth.catch(() => {});
  upgrade?.catch(() => {});
  await connected(socket);
  const [authPayload] = await auth;
  if (upgrade) await upgrade;
  return { socket, auth: authPayload };
}

/** A Manager (one Engine.IO connection) for multiplexing tests; closed on `t.after`. */
export function manager(t, { url = SIO_URL, mode = MODES[0], ...opts } = {}) {
  const m = new Manager(url, baseOptions({ ...mode.opts, ...opts }));
  t.after(() => {
    for (const s of Object.values(m.nsps)) s.disconnect();
    m._close?.();
  });
  return m;
}

export { io, Manager };
