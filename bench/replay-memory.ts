// Replay memory against the number of processes a log holds (issue 9, item 6). Not part of npm test.
//   npm run build && node dist/bench/replay-memory.js [N...]      (default 200000 500000 1000000)
// Writes a synthetic `strace -f -yy` log of N short-lived processes (fork, exec, open/mmap/close, a
// socketpair, exit, reaped by the parent) and replays it with bin/fdwatch twice, NDJSON to /dev/null
// and the text report to /dev/null, printing the peak RSS of each (/usr/bin/time -v), then removes it.
// FDWATCH_BIN=path/to/bin/fdwatch (or fdwatch.js) measures another build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fdwatchCommand } from './command.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env['FDWATCH_BIN'] ?? path.join(root, 'bin', 'fdwatch');
const counts = process.argv.slice(2).map(Number).filter((n) => n > 0);

/** One child's life, as strace -f -yy prints it. */
function child(parent: number, pid: number, ino: number): string {
  const a = `UNIX-STREAM:[${ino}->${ino + 1}]`;
  const b = `UNIX-STREAM:[${ino + 1}->${ino}]`;
  return [
    `${parent}  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f3c) = ${pid}`,
    `${pid}  execve("/usr/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0`,
    `${pid}  openat(AT_FDCWD</tmp>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>`,
    `${pid}  mmap(NULL, 20134, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7f3c4a1d2000`,
    `${pid}  close(3</etc/ld.so.cache>) = 0`,
    `${pid}  socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3<${a}>, 4<${b}>]) = 0`,
    `${pid}  close(3<${a}>) = 0`,
    `${pid}  exit_group(0) = ?`,
    `${pid}  +++ exited with 0 +++`,
    `${parent}  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=${pid}, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---`,
    `${parent}  wait4(-1, NULL, 0, NULL) = ${pid}`,
  ].join('\n') + '\n';
}

function writeLog(file: string, n: number): void {
  const fd = fs.openSync(file, 'w');
  const parent = 100;
  let buf = `${parent}  execve("/bin/sh", ["sh", "-c", "..."], 0x7ffd /* 3 vars */) = 0\n`;
  for (let i = 0; i < n; i++) {
    buf += child(parent, 1000 + i, 100000 + 2 * i);
    if (buf.length > 1 << 20) { fs.writeSync(fd, buf); buf = ''; }
  }
  buf += `${parent}  exit_group(0) = ?\n${parent}  +++ exited with 0 +++\n`;
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

function peak(args: string[]): { rssMb: number; secs: number; tail: string } {
  const r = spawnSync('/usr/bin/time', ['-v', ...fdwatchCommand(args, bin).flat()], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !rss) throw new Error(`fdwatch ${args.join(' ')} failed: ${r.stderr}`);
  const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return { rssMb: Number(rss[1]) / 1024, secs, tail: r.stdout.trim().split('\n').slice(-3).join(' | ') };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-replay-memory-'));
try {
  for (const n of counts.length > 0 ? counts : [200_000, 500_000, 1_000_000]) {
    const log = path.join(tmp, `procs-${n}.log`);
    writeLog(log, n);
    const size = fs.statSync(log).size / 1e6;
    const json = peak(['replay', log, '--json', '/dev/null']);
    const text = peak(['replay', log]);
    console.log(`${n} processes (${size.toFixed(0)} MB log): --json peak RSS ${json.rssMb.toFixed(0)} MB (${json.secs.toFixed(1)} s); ` +
      `text report peak RSS ${text.rssMb.toFixed(0)} MB (${text.secs.toFixed(1)} s)`);
    fs.rmSync(log);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
