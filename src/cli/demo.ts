// `fdwatch demo`: builds the built-in workloads (src/demo/workloads.c) and watches them live.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveError } from '../live/trace.js';
import { runWatch } from './watch.js';

// at run time, not import: a start-up snapshot (scripts/blob-entry.cjs) would keep the building checkout's path
const source = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'demo', 'workloads.c');

/** Compiles the workloads once per source version into a per-user cache folder. */
export function buildWorkloads(): string {
  const SOURCE = source();
  let src: Buffer;
  try { src = fs.readFileSync(SOURCE); } catch { throw new LiveError(`demo source missing: ${SOURCE}`); }
  const hash = crypto.createHash('sha256').update(src).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `fdwatch-demo-build-${process.getuid?.() ?? 0}`, hash);
  const exe = path.join(dir, 'fdwatch-demo'); // the name the processes show
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!cc) throw new LiveError('the demo builds its workloads with a C compiler: install gcc (apt-get install gcc)');
  const tmp = `${exe}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-O1', '-o', tmp, SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) throw new LiveError(`building the demo workloads failed: ${(r.stderr || '').trim().split('\n')[0]}`);
  fs.renameSync(tmp, exe);
  return exe;
}

export async function runDemo(opts: { rounds: number; json: string | null; lines: boolean }): Promise<number> {
  const exe = buildWorkloads();
  return runWatch({
    pids: [], command: [exe, 'loop', String(opts.rounds)], json: opts.json, lines: opts.lines, killCommand: true,
  });
}
