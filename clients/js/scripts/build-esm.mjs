// Generates socket.io.esm.js from socket.io.js with a plain line transform:
// drops the lines between "// @esm-remove-start" and "// @esm-remove-end"
// (the classic-script wrapper and the CommonJS/global export) and turns each
// "// @esm-add " comment into the line it carries (the ES module exports).
// `node scripts/build-esm.mjs --check` exits 1 when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const SOURCE = here('../socket.io.js');
const TARGET = here('../socket.io.esm.js');

/** @param {string} source @returns {string} the ES module text */
export function buildEsm(source) {
  const out = [];
  let skipping = false;
  for (const line of source.split('\n')) {
    const marker = line.trim();
    if (marker === '// @esm-remove-start') { skipping = true; continue; }
    if (marker === '// @esm-remove-end') { skipping = false; continue; }
    if (skipping) continue;
    if (marker.startsWith('// @esm-add ')) { out.push(marker.slice('// @esm-add '.length)); continue; }
    out.push(line);
  }
  if (skipping) throw new Error('unterminated @esm-remove-start block');
  const banner = '// GENERATED from socket.io.js by scripts/build-esm.mjs: edit socket.io.js, then run `npm run build:esm`.\n';
  return banner + out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = buildEsm(readFileSync(SOURCE, 'utf8'));
  if (process.argv.includes('--check')) {
    let current = '';
    try { current = readFileSync(TARGET, 'utf8'); } catch { /* missing counts as stale */ }
    if (current !== text) {
      console.error('socket.io.esm.js is stale: run `npm run build:esm`');
      process.exit(1);
    }
  } else {
    writeFileSync(TARGET, text);
  }
}
