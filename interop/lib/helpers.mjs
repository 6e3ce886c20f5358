// Small, dependency-free helpers shared by the node:test suites. Every wait here is bounded: a
// test that waits for something that never comes fails with a message naming what it waited for.

/** Default bound for a single wait; long enough for a loaded 2-core machine, short enough to fail fast. */
export const WAIT_MS = 5000;

/** Returns the value of a mandatory environment variable, or throws with a hint. */
export function requireEnv(name, hint) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`environment variable ${name} is not set${hint ? `: ${hint}` : ''}`);
  }
  return value;
}

/**
 * Returns an optional environment variable. When absent, it says so on stderr (a skip is never
 * silent) and returns undefined; callers then pass `skip: reason` to the test.
 */
export function optionalEnv(name, what) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`# skipping ${what}: ${name} is not set\n`);
    return undefined;
  }
  return value;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with the argument list of the next `event` on `emitter` (anything with on/off), or
 * rejects after `ms`. With `filter`, only argument lists for which it returns true count.
 */
export function nextEvent(emitter, event, { ms = WAIT_MS, filter } = {}) {
  return new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      if (filter && !filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    emitter.on(event, onEvent);
  });
}

/** Records every argument list of `event` on `emitter` into the returned array. */
export function record(emitter, event) {
  const seen = [];
  emitter.on(event, (...args) => seen.push(args));
  return seen;
}

/** Polls `predicate` every 20 ms until it is true, or rejects after `ms` naming `what`. */
export async function until(predicate, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(20);
  }
}

/** Races `promise` against a timeout. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Converts every binary value (Buffer, other typed arrays, ArrayBuffer) inside `value` into a
 * Node Buffer, recursively, so that `assert.deepStrictEqual` compares content and not the binary
 * type the client happened to choose.
 */
export function normalizeBinary(value) {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalizeBinary);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeBinary(v);
    return out;
  }
  return value;
}

/** True when `value` is binary data of any of the kinds a client may hand out. */
export function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** Bytes 0..n-1 (mod 256) as a Buffer: recognisable content with every byte value present. */
export function bytes(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) & 0xff;
  return b;
}

/** A short random suffix, so that rooms and payloads of concurrent tests never collide. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Joins a base URL (scheme://host:port) and a path, with exactly one slash between. */
export function joinUrl(base, path) {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}
