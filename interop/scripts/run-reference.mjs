#!/usr/bin/env node
// Starts the Node reference servers on free loopback ports, points the suites at them through the
// environment, runs every suite (or those named: engine, sio, python), stops the servers, and
// exits non-zero on any failure.
//
//   interop/scripts/setup.sh && node interop/scripts/run-reference.mjs [engine] [sio] [python]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { INTEROP, SUITES, runSuites } from './run-suites.mjs';

const START_LIMIT_MS = 15000;
// Short heartbeats so that every suite exercises server pings; a generous timeout so that a
// loaded machine never misses one.
const HEARTBEAT = ['--ping-interval-ms', '1000', '--ping-timeout-ms', '5000'];

/** The reference servers: env var → script and flags. */
const SERVERS = {
  ENGINE_URL: { script: 'engine-echo.mjs', args: [...HEARTBEAT], suites: ['engine'] },
  ENGINE_SMALL_URL: { script: 'engine-echo.mjs', args: [...HEARTBEAT, '--max-payload', '100'], suites: ['engine'] },
  SIO_URL: { script: 'sio-echo.mjs', args: [...HEARTBEAT, '--connect-timeout-ms', '5000'], suites: ['sio', 'python'] },
  SIO_RECOVERY_URL: { script: 'sio-echo.mjs', args: [...HEARTBEAT, '--recovery'], suites: ['sio'] },
  SIO_MSGPACK_URL: { script: 'sio-echo.mjs', args: [...HEARTBEAT, '--parser', 'msgpack'], suites: ['sio'] },
};

const children = [];

/** Starts one server and resolves with its port once it printed `listening <port>`. */
function start(name, { script, args }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(INTEROP, 'reference', script), '--port', '0', ...args], {
      cwd: INTEROP,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name}: no "listening <port>" within ${START_LIMIT_MS} ms`)), START_LIMIT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /^listening (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: server exited early (code ${code}, signal ${signal})`));
    });
  });
}

function stopAll() {
  return Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

const wanted = process.argv.slice(2);
const suites = wanted.length ? wanted : Object.keys(SUITES);
let exitCode = 1;
try {
  const env = { ...process.env, ENGINE_PATH: '/engine.io/', SIO_PATH: '/socket.io/' };
  const needed = Object.entries(SERVERS).filter(([, s]) => s.suites.some((x) => suites.includes(x)));
  const ports = await Promise.all(needed.map(([name, spec]) => start(name, spec)));
  needed.forEach(([name], i) => {
    env[name] = `http://127.0.0.1:${ports[i]}`;
    process.stdout.write(`reference server ${name}=${env[name]}\n`);
  });
  const { failed } = await runSuites(suites, env);
  exitCode = failed.length ? 1 : 0;
} catch (err) {
  process.stderr.write(`interop: ${err.message}\n`);
} finally {
  await stopAll();
}
process.exit(exitCode);
