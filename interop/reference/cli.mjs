// Shared command-line handling for the reference servers: flags first, then environment
// variables, then defaults. Every option is a string flag (`--name value` or `--name=value`).
import { parseArgs } from 'node:util';

/**
 * Parses argv against `spec`, a map from flag name to { env, default, type: 'int'|'string'|'bool' }.
 * Unknown flags are an error, so a typo in a runner script fails loudly.
 */
export function readOptions(spec, argv = process.argv.slice(2)) {
  const options = {};
  for (const [name, s] of Object.entries(spec)) {
    options[name] = { type: s.type === 'bool' ? 'boolean' : 'string' };
  }
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const out = {};
  for (const [name, s] of Object.entries(spec)) {
    let raw = values[name];
    if (raw === undefined && s.env && process.env[s.env] !== undefined) raw = process.env[s.env];
    if (raw === undefined) raw = s.default;
    if (s.type === 'int' && raw !== undefined) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
      raw = n;
    }
    if (s.type === 'bool') raw = raw === true || raw === '1' || raw === 'true';
    out[name] = raw;
  }
  return out;
}

/** Prints `listening <port>` once the HTTP server is bound, and stops cleanly on SIGTERM/SIGINT. */
export function announce(httpServer, close) {
  const { port } = httpServer.address();
  process.stdout.write(`listening ${port}\n`);
  const stop = () => {
    close();
    // Lingering keep-alive sockets must not keep the process up.
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
