// New tasks and execs as the kernel side reports them (P and X lines), checked against what the workload itself
// knows: every child it made (fork storms from several threads at once, threads made by several threads at once,
// vfork + exec, posix_spawn, CLONE_PARENT), each followed from its first syscall, and each exec's old tid and
// file name (a non-leader thread's exec, execveat of an fd, a name longer than BPFTRACE_STRLEN). Both forms of
// the program run it: the args-free one x86-64 uses (no libclang) and the one that reads the tracepoints' args.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelLayout } from '../../src/bpf/btf.js';
import { bpfProgram, programEnv, SENTINEL_PGRP, X64_SYSCALL_NR, type ProgramOptions } from '../../src/bpf/program.js';
import { bpfUnavailable } from '../../src/bpf/session.js';

const why = bpfUnavailable() ?? (process.arch === 'x64' ? null : 'the args-free probes are x86-64 only');
if (why) console.log(`  skipped: ${why}`);
const bt = why ? test.skip : test;

const WORKLOAD = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }
static void made(pid_t c, const char *how) { printf("made %d by %d %s\n", c, tid(), how); fflush(stdout); }
/* a child's first syscall: an open the probes must see */
static void first(void) { syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY); }
static pthread_barrier_t bar;
static volatile pid_t makers[4];
static void *leaf(void *p) { *(volatile pid_t *)p = tid(); first(); return 0; }
static void *maker(void *arg) {
  makers[(long)arg] = tid();
  pthread_barrier_wait(&bar);
  for (int j = 0; j < 6; j++) {
    pthread_t t; volatile pid_t got = 0;
    pthread_create(&t, 0, leaf, (void *)&got); pthread_join(t, 0); made(got, "thread");
    pid_t c = fork();
    if (c == 0) { first(); _exit(0); }
    made(c, "fork"); waitpid(c, 0, 0);
  }
  return 0;
}
static void *execer(void *arg) { printf("exec by %d\n", tid()); fflush(stdout); execl("/bin/true", "true", (char *)0); return 0; }
int main(int argc, char **argv) {
  char *tru[] = { "true", 0 };
  for (int i = 0; i < 20; i++) { pid_t c = fork(); if (c == 0) { first(); _exit(0); } made(c, "fork"); }
  while (wait(0) > 0) {}
  pthread_barrier_init(&bar, 0, 5);
  pthread_t m[4];
  for (long i = 0; i < 4; i++) pthread_create(&m[i], 0, maker, (void *)i);
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 4; i++) made(makers[i], "maker");
  for (int i = 0; i < 4; i++) pthread_join(m[i], 0);
  pid_t v = vfork();
  if (v == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
  made(v, "vfork"); waitpid(v, 0, 0);
  pid_t s; posix_spawn(&s, "/bin/true", 0, 0, tru, environ); made(s, "spawn"); waitpid(s, 0, 0);
  pid_t p = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (p == 0) { first(); _exit(0); }
  made(p, "parent");
  pid_t e = fork();
  if (e == 0) {
    int fd = open("/bin/true", O_RDONLY);
    printf("execveat %d by %d\n", fd, tid()); fflush(stdout);
    syscall(SYS_execveat, fd, "", tru, environ, AT_EMPTY_PATH); _exit(127);
  }
  made(e, "execveat"); waitpid(e, 0, 0);
  pid_t l = fork();
  if (l == 0) { execl(argv[1], "true", (char *)0); _exit(127); }
  made(l, "long"); waitpid(l, 0, 0);
  pthread_t x; pthread_create(&x, 0, execer, 0); pthread_join(x, 0);
  return 1;
}
`;

interface Line { kind: string; f: string[] }

/** Runs the workload (held in sh until the probes are live) under bpftrace with the program; returns both outputs. */
async function run(dir: string, exe: string, longName: string, layout: boolean): Promise<{ lines: Line[]; said: string[]; root: number }> {
  const held = spawn('/bin/sh', ['-c', 'read x; "$0" "$1"; true', exe, longName], { stdio: ['pipe', 'pipe', 'inherit'] });
  let said = '';
  held.stdout!.setEncoding('utf8').on('data', (d: string) => { said += d; });
  const heldExit = new Promise<void>((r) => held.on('exit', () => r()));
  const opts: ProgramOptions = {
    follow: [held.pid!], self: process.pid, tracepoints: new Map([['openat', []]]), regs: { arch: 'x64', threadSize: 16384 },
    layout: layout ? kernelLayout(fs.readFileSync('/sys/kernel/btf/vmlinux')) : null,
  };
  assert.ok(!layout || opts.layout, 'the kernel layout from BTF');
  const file = path.join(dir, `p${layout ? 1 : 0}.bt`);
  fs.writeFileSync(file, bpfProgram(opts));
  if (layout) assert.not.match(fs.readFileSync(file, 'utf8'), /\bargs\b/, 'no args at all');
  const b = spawn('/usr/bin/bpftrace', ['-B', 'full', '--no-warnings', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...programEnv({}) } });
  let out = '';
  let err = '';
  b.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const bExit = new Promise<void>((r) => b.on('exit', () => r()));
  let ping: NodeJS.Timeout | null = null;
  let released = false;
  const gotAll = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bpftrace: no end of the workload in its output\n${err}\n${out.slice(-2000)}`)), 60000);
    b.stdout!.setEncoding('latin1').on('data', (d: string) => {
      out += d;
      if (ping === null && /\tR\t/.test(out)) ping = setInterval(() => { try { process.kill(-SENTINEL_PGRP, 0); } catch { /* no such group */ } }, 20);
      if (!released && /\tA\t\d+\t1\n/.test(out)) { released = true; clearInterval(ping!); held.stdin!.end('go\n'); }
      // the held sh's own exit: everything it started has ended before it
      if (new RegExp(`\\tQ\\t${held.pid}\\t${held.pid}\\t1\\t`).test(out)) { clearTimeout(t); resolve(); }
    });
    void bExit.then(() => { clearTimeout(t); reject(new Error(`bpftrace exited: ${err}`)); });
  });
  try {
    await gotAll;
  } finally {
    if (ping) clearInterval(ping);
    b.kill('SIGKILL');
    held.kill('SIGKILL');
    await Promise.all([bExit, heldExit]);
  }
  const lines = out.split('\n').map((l) => l.split('\t')).filter((f) => f.length > 2).map((f) => ({ kind: f[1]!, f }));
  return { lines, said: said.trim().split('\n'), root: held.pid! };
}

function check(r: { lines: Line[]; said: string[]; root: number }, longName: string): void {
  const P = r.lines.filter((l) => l.kind === 'P');
  const X = r.lines.filter((l) => l.kind === 'X');
  const opens = new Set(r.lines.filter((l) => l.kind === 'E' && (l.f[5] === 'tracepoint:syscalls:sys_exit_openat' || l.f[5] === String(X64_SYSCALL_NR.openat))).map((l) => Number(l.f[2])));
  const made = r.said.map((s) => /^made (\d+) by (\d+) (\w+)$/.exec(s)).filter((m) => m !== null).map((m) => ({ child: Number(m[1]), by: Number(m[2]), how: m[3]! }));
  assert.is(made.length, 20 + 4 + 4 * 12 + 5, r.said.join('\n'));
  for (const m of made) {
    const p = P.find((l) => Number(l.f[5]) === m.child);
    assert.ok(p, `no P line for ${m.how} ${m.child} made by ${m.by}`);
    assert.is(Number(p.f[2]), m.by, `${m.how} ${m.child}: made by`);
  }
  // every child that opens first was followed from the start (forks from several threads, CLONE_PARENT, threads)
  for (const m of made) if (['fork', 'thread', 'parent'].includes(m.how)) assert.ok(opens.has(m.child), `${m.how} ${m.child}: its openat was not seen`);
  // execs: vfork, posix_spawn, execveat of an fd, a long name, a non-leader thread taking the leader's pid
  const tru = X.filter((x) => x.f[8] === '/bin/true' && x.f[2] === x.f[5]);
  assert.ok(tru.length >= 2, `vfork and posix_spawn execs: ${X.map((x) => x.f.join(' ')).join('\n')}`);
  const at = /^execveat (\d+) by (\d+)$/.exec(r.said.find((s) => s.startsWith('execveat'))!)!;
  const xat = X.find((x) => Number(x.f[2]) === Number(at[2]))!;
  assert.is(xat.f[8], `/dev/fd/${at[1]}`);
  assert.is(Number(xat.f[6]), `/dev/fd/${at[1]}`.length);
  const xl = X.find((x) => Number(x.f[6]) === longName.length);
  assert.ok(xl, `the long name's exec: ${X.map((x) => x.f.join(' ')).join('\n')}`);
  assert.is(xl.f[8], longName.slice(0, 64));
  const thread = Number(/^exec by (\d+)$/.exec(r.said.find((s) => s.startsWith('exec by'))!)![1]);
  const xt = X.find((x) => Number(x.f[5]) === thread);
  assert.ok(xt, `no X line with the thread ${thread} as the old tid`);
  assert.is(xt.f[2], xt.f[3], 'the exec\'ing thread took the leader\'s pid');
  assert.ok(Number(xt.f[2]) !== thread);
}

bt('new tasks and execs: P and X lines match what the workload knows, with and without args', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bpf-tasks-'));
  try {
    const exe = path.join(dir, 'tasks');
    fs.writeFileSync(`${exe}.c`, WORKLOAD);
    execFileSync('cc', ['-O1', '-pthread', '-o', exe, `${exe}.c`]);
    const long = path.join(dir, 'x'.repeat(90));
    fs.symlinkSync('/bin/true', long);
    for (const layout of [true, false]) check(await run(dir, exe, long, layout), long);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test.run();
