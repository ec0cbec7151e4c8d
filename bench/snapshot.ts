// Bench: whole-machine `fdwatch snapshot` against `lsof -n -P`, with ~100 extra processes holding ~100 fds
// each (own files, files every holder shares, /dev/null, socketpairs, pipes). Goal: ratio < 1; aim 0.3.
// Run alone with: node dist/bench/snapshot.js

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSnapshotText } from '../src/cli/snapshot.js';
import { snapshotProcesses } from '../src/procfs/snapshot.js';

const HOLDERS = 100;
const RUNS = 5;

// One holder: 2x /dev/null, 6 files shared by every holder, 32 files of its own, 15 socketpairs, 15 pipes = 100 fds.
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
  for (int i = 0; i < 32; i++) { snprintf(path, sizeof path, "%s/own-%s-%d", dir, self, i); if (open(path, O_RDWR | O_CREAT, 0600) < 0) return 4; }
  for (int i = 0; i < 15; i++) { int sv[2]; if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 5; }
  for (int i = 0; i < 15; i++) { int p[2]; if (pipe(p) < 0) return 6; }
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

    // warm-up: loads koffi, compiles the hot paths, fills the dentry cache for both tools alike
    renderSnapshotText(snapshotProcesses('/proc', 'all'));
    spawnSync('lsof', ['-n', '-P'], { stdio: ['ignore', 'ignore', 'ignore'] });

    const ours: number[] = [];
    const theirs: number[] = [];
    let fds = 0;
    let processes = 0;
    let kcmp = 0;
    let lsofLines = 0;
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      const snap = snapshotProcesses('/proc', 'all');
      const text = renderSnapshotText(snap);
      ours.push(performance.now() - t);
      fds = snap.stats.fds;
      processes = snap.stats.processes;
      kcmp = snap.stats.kcmpCalls;
      if (text.length === 0) throw new Error('empty snapshot');

      t = performance.now();
      const l = spawnSync('lsof', ['-n', '-P'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });
      theirs.push(performance.now() - t);
      lsofLines = l.stdout ? l.stdout.toString().split('\n').length - 1 : 0;
    }
    const a = median(ours) / 1000;
    const b = median(theirs) / 1000;
    return {
      name,
      lines: [
        `snapshot whole machine: ${a.toFixed(3)} s, lsof -n -P: ${b.toFixed(3)} s, ratio ${(a / b).toFixed(2)} (goal < 1, aim 0.3)`,
        `  ${processes} processes, ${fds} fds, ${kcmp} kcmp calls; lsof printed ${lsofLines} lines; median of ${RUNS} runs, ${HOLDERS} holders of 100 fds`,
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
