// Bench: `fdwatch snapshot` as a user runs it (a whole process, start-up included) against `lsof -n -P` and
// `lsfd` (util-linux), with 100 extra processes holding ~110 fds each (60 files, 15 socketpairs, 10 pipes).
// Goal: ratio < 1 against lsof; aim 0.3. Run alone with: node dist/bench/snapshot.js

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FDWATCH_BIN, fdwatchCommand } from './command.js';

const HOLDERS = 100;
const RUNS = 7;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// One holder: 2x /dev/null, 6 files shared by every holder, 52 files of its own (60 files), 15 socketpairs,
// 10 pipes: 110 fds.
const HOLDER_C = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  const char *dir = argv[1], *self = argv[2];
  char path[4096];
  for (int i = 0; i < 2; i++) if (open("/dev/null", O_RDWR) < 0) return 2;
  for (int i = 0; i < 6; i++) { snprintf(path, sizeof path, "%s/shared%d", dir, i); if (open(path, O_RDONLY) < 0) return 3; }
  for (int i = 0; i < 52; i++) { snprintf(path, sizeof path, "%s/own-%s-%d", dir, self, i); if (open(path, O_RDWR | O_CREAT, 0600) < 0) return 4; }
  for (int i = 0; i < 15; i++) { int sv[2]; if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 5; }
  for (int i = 0; i < 10; i++) { int p[2]; if (pipe(p) < 0) return 6; }
  if (write(1, "ready\n", 6) != 6) return 7;
  char c;
  while (read(0, &c, 1) > 0) {}
  return 0;
}
`;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code} before it was ready`)));
    child.once('error', reject);
  });
}

/** The /proc-reading syscalls each command makes per fd listed (`strace -f -c`, one run each): what each asks the kernel. */
function syscallsPerFd(dir: string, fds: number, cmds: Array<[string, string, string[]]>): string[] {
  if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).error) return ['  syscalls per fd: strace is not installed'];
  const FILE_CALLS = ['openat', 'read', 'close', 'readlink', 'readlinkat', 'newfstatat', 'statx', 'fstat', 'getdents64', 'kcmp', 'lseek'];
  return cmds.map(([label, file, args]) => {
    const out = path.join(dir, 'strace-c.txt');
    spawnSync('strace', ['-f', '-c', '-o', out, file, ...args], { stdio: 'ignore', maxBuffer: 1 << 30 });
    const counts = new Map<string, number>();
    for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
      // % time  seconds  usecs/call  calls  [errors]  syscall
      const f = line.trim().split(/\s+/);
      const name = f[f.length - 1]!;
      if (FILE_CALLS.includes(name) && f.length >= 5) counts.set(name, Number(f[3]));
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const each = [...counts].filter(([, n]) => n / fds >= 0.05).map(([k, n]) => `${k} ${(n / fds).toFixed(2)}`).join(', ');
    return `  syscalls per fd (strace -f -c, ${fds} fds): ${label} ${(total / fds).toFixed(2)} (${each})`;
  });
}

export async function benchSnapshot(): Promise<{ name: string; lines: string[] }> {
  const name = 'snapshot';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bench-'));
  const holders: ChildProcess[] = [];
  try {
    const bin = path.join(dir, 'holder');
    fs.writeFileSync(path.join(dir, 'holder.c'), HOLDER_C);
    const cc = spawnSync('gcc', ['-O2', '-o', bin, path.join(dir, 'holder.c')], { encoding: 'utf8' });
    if (cc.status !== 0) return { name, lines: [`skipped: gcc failed: ${(cc.stderr || String(cc.error)).trim().split('\n')[0]}`] };
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, `shared${i}`), 'x'.repeat(100));
    if (spawnSync('lsof', ['-v'], { stdio: 'ignore' }).error) return { name, lines: ['skipped: lsof is not installed'] };

    for (let i = 0; i < HOLDERS; i++) {
      holders.push(spawn(bin, [dir, String(i)], { stdio: ['pipe', 'pipe', 'inherit'] }));
    }
    await Promise.all(holders.map(waitReady));

    const hasLsfd = !spawnSync('lsfd', ['--version'], { stdio: 'ignore' }).error;
    type Case = { label: string; file: string; args: string[]; env?: Record<string, string>; ours?: boolean };
    const ours = (label: string, args: string[], env?: Record<string, string>, bin?: string): Case => {
      const [file, argv] = fdwatchCommand(args, bin);
      return { label, file, args: argv, ours: true, ...(env ? { env } : {}) };
    };
    const cases: Case[] = [
      { label: 'lsof -n -P', file: 'lsof', args: ['-n', '-P'] },
      ours('fdwatch snapshot --json /dev/null', ['snapshot', '--json', '/dev/null']),
      ours('fdwatch snapshot (text)', ['snapshot']),
      // the opt-in helper process (docs/snapshot.md): worth making the default only where this line wins
      ours('fdwatch snapshot --json /dev/null, FDWATCH_SNAPSHOT_THREADS=2', ['snapshot', '--json', '/dev/null'], { FDWATCH_SNAPSHOT_THREADS: '2' }),
      ...(hasLsfd ? [{ label: 'lsfd', file: 'lsfd', args: [] }] : []),
    ];
    // NODE_EXTRA_CA_CERTS makes every Node start parse that certificate file (~90 ms of CPU, 420 M instructions for
    // the system bundle, before our code runs), which bin/fdwatch spares its node: where it is set, the command also
    // runs as `node bin/fdwatch.js`, which pays it
    if (process.env['NODE_EXTRA_CA_CERTS'] && !FDWATCH_BIN.endsWith('.js')) {
      cases.splice(2, 0, ours('node bin/fdwatch.js snapshot --json /dev/null (parses NODE_EXTRA_CA_CERTS)', ['snapshot', '--json', '/dev/null'], undefined, path.join(root, 'bin', 'fdwatch.js')));
    }
    // FDWATCH_BENCH_BEFORE=/other/build/bin/fdwatch[.js]: the same commands of another build, timed in the same run
    const before = process.env['FDWATCH_BENCH_BEFORE'];
    if (before) cases.push(ours(`fdwatch snapshot --json /dev/null (before: ${before})`, ['snapshot', '--json', '/dev/null'], undefined, before), ours(`fdwatch snapshot (text) (before: ${before})`, ['snapshot'], undefined, before));
    // /usr/bin/time adds the same fork+exec to every case; its user+system CPU seconds barely move with the
    // machine's load, where wall time on a shared 2-core VM swings by 2x
    const hasTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0;
    const wall = (c: Case): { ms: number; cpu: number; lines: number } => {
      const file = hasTime ? '/usr/bin/time' : c.file;
      const args = hasTime ? ['-f', 'CPU %U %S', c.file, ...c.args] : c.args;
      const env = c.env ? { ...process.env, ...c.env } : process.env;
      const t = performance.now();
      const r = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, env });
      const ms = performance.now() - t;
      if (r.status !== 0 && c.ours) throw new Error(`${c.file} ${c.args.join(' ')} exited with ${r.status}`);
      const m = /CPU (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr ? r.stderr.toString() : '');
      return { ms, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, lines: r.stdout ? r.stdout.toString('latin1').split('\n').length - 1 : 0 };
    };
    for (const c of cases) wall(c); // warm-up: page cache and dentries alike for every tool
    const ms = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    const lines = cases.map(() => 0);
    for (let run = 0; run < RUNS; run++) {
      cases.forEach((c, j) => { const r = wall(c); ms[j]!.push(r.ms); cpu[j]!.push(r.cpu); lines[j] = r.lines; });
    }
    const json = spawnSync(...fdwatchCommand(['snapshot', '--json', '-']), { maxBuffer: 1 << 30 }).stdout.toString().trim().split('\n');
    const fds = json.filter((l) => l.includes('"type":"fd"')).length;
    const perFd = fds > 0 ? syscallsPerFd(dir, fds, [
      ['fdwatch snapshot --json', ...fdwatchCommand(['snapshot', '--json', '/dev/null'])],
      ['lsof -n -P', 'lsof', ['-n', '-P']],
    ]) : [];
    const procs = json.filter((l) => l.includes('"type":"process"')).length;
    const base = median(ms[0]!) / 1000;
    const out = cases.slice(1).map((c, j) => {
      const m = median(ms[j + 1]!) / 1000;
      const min = Math.min(...ms[j + 1]!) / Math.min(...ms[0]!);
      const cpuRatio = median(cpu[j + 1]!) / median(cpu[0]!);
      return `${c.label}: ${m.toFixed(3)} s, lsof -n -P: ${base.toFixed(3)} s, ratio ${(m / base).toFixed(2)} (min ${min.toFixed(2)}; CPU ${hasTime ? cpuRatio.toFixed(2) : '?'})${c.file === 'lsfd' ? '' : ' (goal < 1, aim 0.3)'}`;
    });
    if (!hasLsfd) out.push('  lsfd (util-linux) is not installed: not timed');
    return {
      name,
      lines: [
        ...out,
        `  whole processes, start-up included; ${procs} processes, ${fds} fds (fdwatch); lsof printed ${lines[0]} lines; median (and min against min) of ${RUNS} interleaved runs; CPU: user+system seconds, median against lsof's, ${HOLDERS} holders of 110 fds`,
        ...perFd,
      ],
    };
  } finally {
    for (const h of holders) {
      h.stdin?.end();
      h.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchSnapshot().then(
    (r) => console.log(`${r.name}\n${r.lines.join('\n')}`),
    (e: unknown) => {
      console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
