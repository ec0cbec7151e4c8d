// npm run bench: each figure is a ratio against its baseline, both measured in this run.
//   replay    replay of a large real multi-process trace to NDJSON  vs  bare line splitting of the same file
//   snapshot  whole-machine snapshot                                 vs  lsof -n -P
//   live      fdwatch --json on a heavy fd-passing workload          vs  strace -f -yy -o /dev/null
//   startup   fdwatch --help, fdwatch snapshot PID (whole processes)  vs  node -e 0
//   tui       dashboard store + throttled render                     (events/s, memory after 1M events)
//   bpf       the eBPF backend: figures (1)-(5) of docs/bpf.md
//   browser   headless Chromium live (both backends) and replayed     vs  strace alone, untraced, line splitting
// `npm run bench -- replay live` runs some of them.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inProcessReplay } from './replay-inprocess.js';
import { ownStrace } from './own-strace.js';
import { fdwatchCommand, nodeBaselineEnv } from './command.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bench-'));

interface Result { name: string; lines: string[] }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const secs = (ms: number): string => (ms / 1000).toFixed(3) + ' s';

async function benchReplay(): Promise<Result> {
  const log = path.join(tmp, 'big.log');
  const rec = spawnSync('bash', [path.join(root, 'bench', 'record-big.sh'), log], {
    encoding: 'utf8', env: { ...process.env, BIG_N: process.env['BIG_N'] ?? '60' },
  });
  if (rec.status !== 0) throw new Error(`record-big.sh failed: ${rec.stderr}`);
  const r = await inProcessReplay(log, path.join(tmp, 'big.ndjson'), 7);
  const ratio = r.full / r.split;
  const mb = fs.statSync(log).size / 1e6;
  return {
    name: 'replay',
    lines: [
      `replay to NDJSON: ${secs(r.full)}, bare line splitting: ${secs(r.split)}, ratio ${ratio.toFixed(2)} (goal <= 2.5, aim 1.5)`,
      `  user+system CPU: replay ${secs(r.fullCpu)}, splitting ${secs(r.splitCpu)}, ratio ${(r.fullCpu / r.splitCpu).toFixed(2)} (less sensitive than wall time to a loaded machine)`,
      `  stricter: the same splitting over replay's own reader: ${secs(r.ownReader)}, ratio ${(r.full / r.ownReader).toFixed(2)}`,
      `  ${r.lines} lines, ${mb.toFixed(1)} MB (strace -f -yy -tt -T of make -j2: gcc builds + runs of seed.c; BIG_N=${process.env['BIG_N'] ?? '60'}); ${r.summary}; median of 7, interleaved; records stamped as the command stamps them (the log's day)`,
    ],
  };
}

/**
 * A whole process, timed. `cpuFile`: run under GNU time writing there, so `cpuMs` is the user+system CPU time of the
 * process and of everything it waited for (strace and the traced command too): less sensitive than wall time to a
 * loaded machine.
 */
/** Delivered transfers in an NDJSON file. */
function delivered(json: string): number {
  return fs.readFileSync(json, 'utf8').split('\n').filter((l) => l.includes('"type":"transfer"') && l.includes('"state":"delivered"')).length;
}

/** The summary's lostEvents of an NDJSON file (null: none said). */
function lostOf(json: string): number | null {
  const lines = fs.readFileSync(json, 'utf8').trimEnd().split('\n');
  try { return (JSON.parse(lines[lines.length - 1]!) as { lostEvents?: number }).lostEvents ?? null; } catch { return null; }
}

function time(cmd: string, args: string[], opts: { stdout?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv; cpuFile?: string; extraFds?: number } = {}): Promise<{ ms: number; out: string; code: number | null; cpuMs: number }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const [file, argv] = opts.cpuFile !== undefined ? ['/usr/bin/time', ['-f', '%U %S', '-o', opts.cpuFile, cmd, ...args]] : [cmd, args];
    // `extraFds`: fds 3, 4... open on /dev/null (fdwatch's strace inherits its trace channel and the user's stderr there;
    // 'ignore' would leave them closed)
    const devNull = opts.extraFds ? fs.openSync('/dev/null', 'r+') : -1;
    const extra: number[] = Array.from({ length: opts.extraFds ?? 0 }, () => devNull);
    const c = spawn(file, argv, { stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe', ...extra], env: opts.env ?? process.env });
    if (devNull >= 0) fs.closeSync(devNull);
    let out = '';
    c.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.stderr!.resume();
    c.on('exit', (code) => {
      const ms = performance.now() - t;
      let cpuMs = NaN;
      if (opts.cpuFile !== undefined) {
        const [user, sys] = (fs.readFileSync(opts.cpuFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
        cpuMs = ((user ?? NaN) + (sys ?? NaN)) * 1000;
      }
      resolve({ ms, out, code, cpuMs });
    });
  });
}

async function benchLive(): Promise<Result> {
  const exe = path.join(tmp, 'workload');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'bench', 'workload.c')]);
  const plain: number[] = [];
  const ours: number[] = [];
  const native: Array<{ ms: number; seen: number; lost: number | null }> = [];
  let counted = 0;
  let truth = 0;
  for (let i = 0; i < 3; i++) {
    const s = await time('strace', ['-f', '-yy', '-o', '/dev/null', exe]);
    plain.push(s.ms);
    truth = Number(/transfers (\d+)/.exec(s.out)?.[1] ?? 0);
    const json = path.join(tmp, 'live.ndjson');
    // the strace backend (a launch's default is eBPF where it loads): this figure is strace's
    const f = await time(...fdwatchCommand(['--backend', 'strace', '--no-tui', '--json', json, '--', exe]));
    ours.push(f.ms);
    counted = delivered(json);
    // the same burst under the native eBPF engine: no tracee waits for fdwatch, so what the ring cannot hold is lost
    // (counted: lostEvents)
    const b = await time(...fdwatchCommand(['--backend', 'bpf', '--bpf-engine', 'native', '--no-tui', '--json', json, '--', exe]));
    if (b.code === 0) native.push({ ms: b.ms, seen: delivered(json), lost: lostOf(json) });
  }
  const bare = await time(exe, []);
  const ratio = median(ours) / median(plain);
  const nativeLine = native.length === 0 ? '  native eBPF engine: did not run (not root, or no BTF)' :
    `  native eBPF engine (--backend bpf): ${secs(median(native.map((n) => n.ms)))}; transfers seen ${native.map((n) => n.seen).join(', ')} of ${truth}; events lost ${native.map((n) => n.lost).join(', ')}`;
  return {
    name: 'live',
    lines: [
      `fdwatch --json: ${secs(median(ours))}, strace -f -yy -o /dev/null: ${secs(median(plain))}, ratio ${ratio.toFixed(2)} (goal <= 0.8)`,
      `  transfers seen ${counted} of the workload's own ${truth}${counted === truth ? ' (none missed)' : ' (MISSED SOME)'}; untraced run ${secs(bare.ms)}; median of 3`,
      '  workload: bench/workload.c, 8 processes x 1500 fds passed, 16 ordinary syscalls per pass',
      nativeLine,
      ...(await benchLiveMaps()),
      ...(await benchSpawnDelay()),
    ],
  };
}

/**
 * A program shaped like a browser's memory (bench/maps.c: large /proc/PID/maps, many shared mappings): fdwatch
 * against strace with exactly fdwatch's own argv (to /dev/null) and against plain strace -f -yy.
 */
async function benchLiveMaps(): Promise<string[]> {
  const exe = path.join(tmp, 'maps');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'bench', 'maps.c')]);
  const own = ownStrace([exe]);
  const plain: number[] = [];
  const argvOnly: number[] = [];
  const ours: number[] = [];
  const argvCpu: number[] = [];
  const oursCpu: number[] = [];
  const cpuFile = path.join(tmp, 'maps.cpu');
  let counted = 0;
  let enriched = 0;
  let truth = 0;
  for (let i = 0; i < 3; i++) {
    const s = await time('strace', ['-f', '-yy', '-o', '/dev/null', exe]);
    plain.push(s.ms);
    truth = Number(/maps (\d+)/.exec(s.out)?.[1] ?? 0);
    // strace exactly as fdwatch runs it: its argv and its environment
    const a = await time(own.file, own.args, { env: own.env, cpuFile, extraFds: own.extraFds });
    argvOnly.push(a.ms);
    argvCpu.push(a.cpuMs);
    const json = path.join(tmp, 'maps.ndjson');
    const f = await time(...fdwatchCommand(['--backend', 'strace', '--no-tui', '--json', json, '--', exe]), { cpuFile });
    ours.push(f.ms);
    oursCpu.push(f.cpuMs);
    const maps = fs.readFileSync(json, 'utf8').split('\n').filter((l) => l.includes('"type":"map"'));
    counted = maps.length;
    enriched = maps.filter((l) => l.includes('"inode":')).length;
  }
  const bare = await time(exe, []);
  const m = median(ours);
  return [
    `maps workload: fdwatch --json: ${secs(m)}, strace with fdwatch's argv alone: ${secs(median(argvOnly))}, ratio ${(m / median(argvOnly)).toFixed(2)} (goal <= 1.1)`,
    `  against strace -f -yy -o /dev/null: ${secs(median(plain))}, ratio ${(m / median(plain)).toFixed(2)} (goal <= 0.6)`,
    `  user+system CPU of the whole tree (strace and the workload included): fdwatch ${secs(median(oursCpu))}, strace with its argv ${secs(median(argvCpu))}, ratio ${(median(oursCpu) / median(argvCpu)).toFixed(2)}; fdwatch's own about ${secs(median(oursCpu) - median(argvCpu))}`,
    `  map records ${counted} of the workload's own ${truth}${counted === truth ? ' (none missed)' : ' (MISSED SOME)'}, ${enriched} with dev/inode (a mapping and fd gone before it was read has none); untraced run ${secs(bare.ms)}; median of 3`,
    '  workload: bench/maps.c, 4 processes x 4000 mappings, each maps a shared memfd 1000 times',
  ];
}

/**
 * How long a launch waits for fdwatch before strace runs: from the exec of `fdwatch -- /bin/true` to its spawn of
 * strace, which a `strace` first on PATH notes (the time, then an exec of the real one); against a node that does
 * nothing but spawn it.
 */
async function benchSpawnDelay(): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(tmp, 'spawn-'));
  const real = execFileSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).trim();
  const note = path.join(dir, 'spawned');
  fs.writeFileSync(path.join(dir, 'strace'), `#!/bin/bash\necho "$EPOCHREALTIME" >> ${note}\nexec ${real} "$@"\n`, { mode: 0o755 });
  const PATH = `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`;
  const delay = async ([file, args]: [string, string[]], base: NodeJS.ProcessEnv = process.env): Promise<number> => {
    fs.rmSync(note, { force: true });
    const t = performance.timeOrigin + performance.now();
    await new Promise<void>((resolve) => spawn(file, args, { stdio: 'ignore', env: { ...base, PATH } }).on('exit', () => resolve()));
    return Number(fs.readFileSync(note, 'utf8').split('\n')[0]) * 1000 - t;
  };
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 9; i++) {
    ours.push(await delay(fdwatchCommand(['--backend', 'strace', '--no-tui', '--json', path.join(dir, 'o.ndjson'), '--', '/bin/true'])));
    bare.push(await delay([process.execPath, ['-e', "require('child_process').spawn('strace', ['-V'], { stdio: 'ignore' })"]], nodeBaselineEnv()));
  }
  return [
    `exec to strace spawn: fdwatch -- /bin/true ${median(ours).toFixed(0)} ms, a node that only spawns it ${median(bare).toFixed(0)} ms (fdwatch's own ${(median(ours) - median(bare)).toFixed(0)} ms); median of 9, interleaved`,
  ];
}

async function benchSnapshotEntry(): Promise<Result> {
  const m = await import('./snapshot.js');
  return m.benchSnapshot();
}

async function benchStartupEntry(): Promise<Result> {
  const m = await import('./startup.js');
  return m.benchStartup();
}

async function benchTuiEntry(): Promise<Result> {
  const p = path.join(root, 'dist', 'bench', 'tui.js');
  if (!fs.existsSync(p)) return { name: 'tui', lines: ['(not built)'] };
  const m = (await import(p)) as { benchTui: () => Promise<Result> };
  return m.benchTui();
}

const all: Record<string, () => Promise<Result>> = {
  replay: benchReplay, startup: benchStartupEntry, snapshot: benchSnapshotEntry, live: benchLive, tui: benchTuiEntry,
  bpf: async () => (await import('./bpf.js')).benchBpf(),
  browser: async () => (await import('./browser.js')).benchBrowser(),
};

async function main(): Promise<void> {
  const want = process.argv.slice(2).filter((a) => a in all);
  const names = want.length > 0 ? want : Object.keys(all);
  console.log(`fdwatch bench — ${new Date().toISOString()} — ${os.cpus().length} cpus, node ${process.version}`);
  let failed = false;
  for (const n of names) {
    try {
      const r = await all[n]!();
      console.log(`\n[${r.name}]`);
      for (const l of r.lines) console.log(l);
    } catch (e) {
      failed = true;
      console.log(`\n[${n}] failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

void main();
