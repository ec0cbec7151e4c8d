// Bench: start-up, as a user runs fdwatch: whole processes, `fdwatch --help` and `fdwatch snapshot PID` against
// `node -e 0` (the floor of any Node program). Goal: within 2x. Run alone with: node dist/bench/startup.js
// fdwatch runs as npm links it, bin/fdwatch (sh, exec node without NODE_EXTRA_CA_CERTS, from the start-up snapshot
// dist/blob/fdwatch.blob when it is usable), and once more with FDWATCH_BLOB=off (the ESM path); when this
// environment sets NODE_EXTRA_CA_CERTS, the floor is printed twice, with it (what \`node -e 0\` costs here) and without it.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = 15;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'fdwatch');
const ca = process.env['NODE_EXTRA_CA_CERTS'];
const noCa = (): NodeJS.ProcessEnv => { const e = { ...process.env }; delete e['NODE_EXTRA_CA_CERTS']; return e; };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case { label: string; file: string; args: string[]; env?: NodeJS.ProcessEnv }

function wall(c: Case): number {
  const t = performance.now();
  const r = spawnSync(c.file, c.args, { stdio: ['ignore', 'ignore', 'pipe'], env: c.env ?? process.env });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${c.label} exited with ${r.status}: ${String(r.stderr).trim().split('\n')[0]}`);
  return ms;
}

/** Whether bin/fdwatch starts from the blob here: its exec, as strace sees it. */
function blobUsed(): boolean {
  const r = spawnSync('strace', ['-qq', '-f', '-e', 'trace=execve', '-e', 'signal=none', bin, '--version'], { encoding: 'utf8', env: noCa() });
  return r.status === 0 && r.stderr.split('\n').some((l) => / = 0$/.test(l) && l.includes('"--snapshot-blob"'));
}

export async function benchStartup(): Promise<{ name: string; lines: string[] }> {
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const pid = String(idle.pid);
    const floors: Case[] = [{ label: 'node -e 0', file: process.execPath, args: ['-e', '0'] }];
    if (ca !== undefined) floors.push({ label: 'node -e 0 without NODE_EXTRA_CA_CERTS', file: process.execPath, args: ['-e', '0'], env: noCa() });
    const esm = { ...process.env, FDWATCH_BLOB: 'off' };
    const blob = blobUsed();
    const commands: Case[] = [
      { label: 'fdwatch --help', file: bin, args: ['--help'] },
      { label: 'fdwatch snapshot PID', file: bin, args: ['snapshot', pid] },
      { label: 'fdwatch snapshot --json - PID', file: bin, args: ['snapshot', '--json', '-', pid] },
    ];
    if (blob) commands.push(...commands.map((c) => ({ ...c, label: `${c.label} (ESM path: FDWATCH_BLOB=off)`, env: esm })));
    // what the sh wrapper saves: the same command through `node bin/fdwatch.js`, which parses the CA bundle
    if (ca !== undefined) commands.push({ label: 'node bin/fdwatch.js snapshot PID', file: process.execPath, args: [path.join(root, 'bin', 'fdwatch.js'), 'snapshot', pid] });
    // FDWATCH_BENCH_BEFORE=/other/build/bin/fdwatch[.js]: the same commands of another build, timed in the same run
    const before = process.env['FDWATCH_BENCH_BEFORE'];
    if (before) {
      const viaNode = before.endsWith('.js');
      commands.push(...commands.slice(0, 3).map((c) => ({ label: `${c.label} (before: ${before})`, file: viaNode ? process.execPath : before, args: viaNode ? [before, ...c.args] : c.args })));
    }
    const cases = [...floors, ...commands];
    for (const c of cases) wall(c); // warm the page cache alike
    const ms = cases.map(() => [] as number[]);
    // interleaved, so a burst of load on the shared machine hits every case alike
    for (let i = 0; i < RUNS; i++) cases.forEach((c, j) => ms[j]!.push(wall(c)));
    const base = median(ms[0]!);
    const bare = floors.length > 1 ? median(ms[1]!) : null;
    return {
      name: 'startup',
      lines: [
        ...commands.map((c, k) => {
          const j = floors.length + k;
          const m = median(ms[j]!);
          const min = Math.min(...ms[j]!);
          const without = bare === null ? '' : `; ${(m / bare).toFixed(2)} against node -e 0 without NODE_EXTRA_CA_CERTS (${(bare / 1000).toFixed(3)} s)`;
          return `${c.label}: ${(m / 1000).toFixed(3)} s, node -e 0: ${(base / 1000).toFixed(3)} s, ratio ${(m / base).toFixed(2)} (min ${(min / Math.min(...ms[0]!)).toFixed(2)}; goal <= 2)${without}`;
        }),
        `  whole processes, median (and min against min) of ${RUNS} interleaved runs each; fdwatch is bin/fdwatch as npm links it` +
          (blob ? ', from the start-up snapshot' : ', the ESM path (no usable start-up snapshot: npm run build makes one)') +
          (ca === undefined ? '' : `; this environment sets NODE_EXTRA_CA_CERTS (${ca}), which bin/fdwatch's node starts without`),
      ],
    };
  } finally {
    idle.kill('SIGKILL');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchStartup().then((r) => console.log(`${r.name}\n${r.lines.join('\n')}`), (e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
