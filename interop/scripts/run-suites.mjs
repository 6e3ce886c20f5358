#!/usr/bin/env node
// Runs the interop suites against the servers named by the environment (see interop/README.md):
//
//   ENGINE_URL=... SIO_URL=... [ENGINE_SMALL_URL=... SIO_RECOVERY_URL=... SIO_MSGPACK_URL=...] \
//     node interop/scripts/run-suites.mjs [engine] [sio] [python]
//
// With no suite named, runs all three. Exits non-zero when any suite fails or a needed variable
// is missing. Each suite runs under a hard time limit, so nothing here can hang.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INTEROP = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITE_LIMIT_MS = 10 * 60 * 1000;

export const SUITES = {
  engine: { needs: ['ENGINE_URL'], optional: ['ENGINE_SMALL_URL'] },
  sio: { needs: ['SIO_URL'], optional: ['SIO_RECOVERY_URL', 'SIO_MSGPACK_URL'] },
  python: { needs: ['SIO_URL'], optional: [] },
};

function command(suite) {
  if (suite === 'python') {
    const python = join(INTEROP, '.venv', 'bin', 'python');
    if (!existsSync(python)) throw new Error(`${python} is missing: run interop/scripts/setup.sh first`);
    return [python, ['-m', 'pytest', join(INTEROP, 'python')]];
  }
  if (!existsSync(join(INTEROP, 'node_modules', 'socket.io-client'))) {
    throw new Error(`${join(INTEROP, 'node_modules')} is missing: run interop/scripts/setup.sh first`);
  }
  return [process.execPath, ['--test', '--test-timeout=60000', join(INTEROP, suite)]];
}

function run(suite, env) {
  const [cmd, args] = command(suite);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: INTEROP, env, stdio: 'inherit' });
    const timer = setTimeout(() => {
      process.stderr.write(`interop: suite ${suite} exceeded ${SUITE_LIMIT_MS / 1000} s; killing it\n`);
      child.kill('SIGKILL');
    }, SUITE_LIMIT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? 0 : code ?? (signal ? 1 : 1));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      process.stderr.write(`interop: cannot start suite ${suite}: ${err.message}\n`);
      resolve(1);
    });
  });
}

/** Runs `suites` (names from SUITES) with `env`; resolves with { failed: [names], results }. */
export async function runSuites(suites, env = process.env) {
  const results = [];
  for (const suite of suites) {
    const spec = SUITES[suite];
    if (!spec) throw new Error(`unknown suite ${suite}; expected one of ${Object.keys(SUITES).join(', ')}`);
    const missing = spec.needs.filter((n) => !env[n]);
    if (missing.length) {
      process.stderr.write(`interop: suite ${suite} needs ${missing.join(', ')}\n`);
      results.push({ suite, code: 1 });
      continue;
    }
    for (const n of spec.optional.filter((o) => !env[o])) {
      process.stderr.write(`interop: ${n} is not set: the ${suite} tests that need it are skipped (and say so)\n`);
    }
    process.stdout.write(`\n=== interop suite: ${suite} ===\n`);
    let code;
    try {
      code = await run(suite, env);
    } catch (err) {
      process.stderr.write(`interop: ${err.message}\n`);
      code = 1;
    }
    results.push({ suite, code });
  }
  const failed = results.filter((r) => r.code !== 0).map((r) => r.suite);
  process.stdout.write(
    `\ninterop: ${results.map((r) => `${r.suite} ${r.code === 0 ? 'passed' : 'FAILED'}`).join(', ')}\n`,
  );
  return { failed, results };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  const { failed } = await runSuites(wanted.length ? wanted : Object.keys(SUITES));
  process.exit(failed.length ? 1 : 0);
}
