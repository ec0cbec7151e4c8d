// Runs every dist/test/**/*.test.js under uvu and closes with "N passed, N failed" for CI.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const only = process.argv[2] ?? '';
const pattern = only ? `${only.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\.test\\.js$` : '\\.test\\.js$';
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const r = spawnSync(process.execPath, [uvu, path.join(root, 'dist', 'test'), pattern], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
  maxBuffer: 256 * 1024 * 1024,
});
const out = r.stdout ?? '';
process.stdout.write(out);
const num = (label: string): number => {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(out);
  return m ? Number(m[1]) : 0;
};
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
const failed = Math.max(0, total - passed - skipped) + (r.status !== 0 && total === passed + skipped ? 1 : 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
