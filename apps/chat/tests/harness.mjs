// Shared pieces of the chat browser tests: the chat server under test (spawned,
// killed and restarted by the tests), headless Chromium, and page helpers that
// wait for conditions with a bound instead of sleeping.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository root (this file is apps/chat/tests/harness.mjs). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/**
 * The command that starts the chat server; `{port}` is replaced by the port to use.
 * CHAT_SERVER overrides it, e.g. "$PWD/target/release/tidings-chat --addr 127.0.0.1:{port}".
 */
export const SERVER_COMMAND = process.env.CHAT_SERVER
  || `node '${REPO}/apps/chat/reference/server.mjs' --addr 127.0.0.1:{port}`;

/** Default bound for one wait in a page (an action, a condition). */
export const WAIT_MS = 10_000;

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`, or rejects with `what` timed out after `ms`. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const conn = net.connect({ host: '127.0.0.1', port });
    conn.setTimeout(1000);
    conn.once('connect', () => { conn.destroy(); resolve(true); });
    conn.once('timeout', () => { conn.destroy(); resolve(false); });
    conn.once('error', () => resolve(false));
  });
}

/** One run of the chat server under test, in its own process group. */
export class ChatServer {
  /** Starts the server on `port` (a free one if omitted) and waits until it accepts connections. */
  static async start(port) {
    const server = new ChatServer(port ?? await freePort());
    await server.#spawn();
    return server;
  }

  constructor(port) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.output = '';
    this.child = null;
    this.exited = null;
  }

  async #spawn() {
    const command = SERVER_COMMAND.replaceAll('{port}', String(this.port));
    // `exec` makes the shell become the server, so the process group holds only the server.
    const child = spawn('/bin/sh', ['-c', `exec ${command}`], {
      cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (chunk) => { this.output = (this.output + chunk).slice(-16_384); };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);

    let gone = null;
    this.exited.then((status) => { gone = status; });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`chat server exited early (${JSON.stringify(gone)}): ${command}\n${this.output}`);
      if (await accepts(this.port)) return;
      await sleep(50);
    }
    await this.stop();
    throw new Error(`chat server did not accept connections on ${this.port} within 20 s: ${command}\n${this.output}`);
  }

  /** Sends `signal` to the server's process group and waits (bounded) for it to exit; SIGKILL if it lingers. */
  async stop(signal = 'SIGTERM') {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const hit = (sig) => {
      try { process.kill(-child.pid, sig); } catch (err) { if (err.code !== 'ESRCH') throw err; }
    };
    hit(signal);
    const done = await Promise.race([this.exited, sleep(5000).then(() => null)]);
    if (!done) {
      hit('SIGKILL');
      await Promise.race([this.exited, sleep(5000)]);
    }
  }

  /** Kills the server at once, as a crash would. */
  kill() {
    return this.stop('SIGKILL');
  }

  /** Starts the server again on the same port. */
  async restart() {
    await this.#spawn();
  }
}

/** Launches the system Chromium (CHROMIUM overrides /usr/bin/chromium); never downloads a browser. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: apt-get install chromium, or set CHROMIUM`);
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Closes the browser, bounded: a browser that will not close must not hang the suite. */
export async function closeBrowser(browser) {
  if (!browser) return;
  await within(15_000, 'closing Chromium', browser.close()).catch(() => {});
}

/**
 * Opens the chat page in a fresh browser context and waits until its socket is connected.
 * Returns the page plus what it recorded: dialogs (any is a failure) and uncaught page errors.
 */
export async function openChat(browser, url, { noWebSocket = false, viewport, isMobile } = {}) {
  const context = await browser.newContext({ viewport: viewport ?? { width: 900, height: 640 }, isMobile });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const page = await context.newPage();
  const chat = { context, page, dialogs: [], errors: [] };
  page.on('dialog', (dialog) => {
    chat.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (err) => chat.errors.push(String(err)));
  if (noWebSocket) {
    await page.addInitScript(() => { delete window.WebSocket; });
  }
  const response = await page.goto(url);
  if (!response || response.status() !== 200) throw new Error(`GET ${url}: ${response && response.status()}`);
  await waitUntil(page, () => window.chatSocket && window.chatSocket.connected, null, 'the page to connect');
  return chat;
}

/** Waits until `fn(arg)` is truthy in the page, polling every 50 ms, at most `ms`. */
export async function waitUntil(page, fn, arg, what, ms = WAIT_MS) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 });
  } catch (err) {
    throw new Error(`waiting for ${what}: ${err.message.split('\n')[0]}`);
  }
}

/** Types `text` into the message field and clicks Send. */
export async function say(page, text) {
  await page.fill('#message', text);
  await page.click('#send');
}

/** Waits until a message with this exact text is in the list, shown as `kind` ('own' or 'other'). */
export function waitForMessage(page, kind, text, ms) {
  return waitUntil(page, ([k, t]) => Array.from(document.querySelectorAll(`#messages li.${k} .text`))
    .some((span) => span.textContent === t), [kind, text], `${kind} message ${JSON.stringify(text)}`, ms);
}

/** Waits until an event line (joined, left, renamed) with exactly this text is in the list. */
export function waitForEvent(page, text) {
  return waitUntil(page, (t) => Array.from(document.querySelectorAll('#messages li.event'))
    .some((li) => li.textContent === t), text, `event line ${JSON.stringify(text)}`);
}

/** Waits until the online count shows `n`. */
export function waitForOnline(page, n) {
  return waitUntil(page, (want) => document.getElementById('online').textContent.trim() === `${want} online`,
    n, `"${n} online"`);
}

/** The message lines of the list: kind, the whole line, its nick and text, and its computed colour. */
export function messageLines(page) {
  return page.$$eval('#messages li.own, #messages li.other', (items) => items.map((li) => ({
    kind: li.classList.contains('own') ? 'own' : 'other',
    line: li.textContent,
    nick: li.querySelector('.nick').textContent,
    text: li.querySelector('.text').textContent,
    color: getComputedStyle(li).color,
  })));
}

/**
 * Starts recording every text the typing line shows, so a short-lived
 * "X is typing…" cannot be missed by a slow poll; see waitForTypingShown.
 */
export function recordTyping(page) {
  return page.evaluate(() => {
    const line = document.getElementById('typing');
    window.typingShown = [];
    new MutationObserver(() => window.typingShown.push(line.textContent))
      .observe(line, { childList: true, characterData: true, subtree: true });
  });
}

/** Waits until the typing line has shown exactly `text` since recordTyping. */
export function waitForTypingShown(page, text) {
  return waitUntil(page, (t) => window.typingShown.includes(t), text, `the typing line ${JSON.stringify(text)}`);
}

/** Sets the nickname through the nickname form and waits for the server's answer. */
export async function rename(page, nick, expected = nick) {
  await page.fill('#nick', nick);
  await page.press('#nick', 'Enter');
  await waitForEvent(page, `You are now ${expected}`);
}

/** The socket id of the page's connection. */
export function socketId(page) {
  return page.evaluate(() => window.chatSocket.id);
}

/** Parses a CSS `rgb(...)` / `rgba(...)` colour. */
export function rgb(color) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(color);
  if (!m) throw new Error(`not an rgb colour: ${color}`);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]) };
}
