// Bench: start-up, as a user runs fdwatch: whole processes, `fdwatch --help` and `fdwatch snapshot PID` against
// `node -e 0` (the floor of any Node program). Goal: within 2x. Run alone with: node dist/bench/startup.js
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = 15;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'fdwatch.js');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function wall(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${String(r.stderr).trim().split('\n')[0]}`);
  return ms;
}

export async function benchStartup(): Promise<{ name: string; lines: string[] }> {
  const idle = spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    const cases: Array<{ label: string; args: string[] }> = [
      { label: 'node -e 0', args: ['-e', '0'] },
      { label: 'fdwatch --help', args: [bin, '--help'] },
      { label: `fdwatch snapshot PID`, args: [bin, 'snapshot', String(idle.pid)] },
      { label: `fdwatch snapshot --json - PID`, args: [bin, 'snapshot', '--json', '-', String(idle.pid)] },
    ];
    // FDWATCH_BENCH_BEFORE=/other/build/bin/fdwatch.js: the same commands of another build, timed in the same run
    const before = process.env['FDWATCH_BENCH_BEFORE'];
    if (before) cases.push(...cases.slice(1).map((c) => ({ label: `${c.label} (before: ${before})`, args: [before, ...c.args.slice(1)] })));
    for (const c of cases) wall(c.args); // warm the page cache alike
    const ms = cases.map(() => [] as number[]);
    // interleaved, so a burst of load on the shared machine hits every case alike
    for (let i = 0; i < RUNS; i++) cases.forEach((c, j) => ms[j]!.push(wall(c.args)));
    const base = median(ms[0]!);
    return {
      name: 'startup',
      lines: [
        ...cases.slice(1).map((c, j) => {
          const m = median(ms[j + 1]!);
          const min = Math.min(...ms[j + 1]!);
          return `${c.label}: ${(m / 1000).toFixed(3)} s, node -e 0: ${(base / 1000).toFixed(3)} s, ratio ${(m / base).toFixed(2)} (min ${(min / Math.min(...ms[0]!)).toFixed(2)}; goal <= 2)`;
        }),
        `  whole processes, median (and min against min) of ${RUNS} interleaved runs each`,
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
