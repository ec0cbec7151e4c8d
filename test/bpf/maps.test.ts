// Private file mappings in the kernel: the mmap probe prints one only in a process that received an fd (or a child
// it forked later), where the correlator's privateMapsMatter keeps it; a build's loaders mapping their libraries
// print nothing. Checked on bpftrace's own output (the E lines of mmap, x86-64 number 9) and on the records.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfUnavailable, startBpf } from '../../src/bpf/session.js';
import type { FdwatchRecord, MapRecord } from '../../src/model/records.js';

const why = bpfUnavailable() ?? (process.arch === 'x64' ? null : 'the test reads x86-64 syscall numbers');
if (why) console.log(`  skipped: ${why}`);
const bt = why ? test.skip : test;

// before: a private and a shared mapping, and a child forked then (it maps the file it inherited, later sent);
// after receiving that file from itself: a private mapping of it and of another file, and a child forked then
// mapping the received one privately
const PROGRAM = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
static void map(int fd, int flags) { if (mmap(0, 1, PROT_READ, flags, fd, 0) == MAP_FAILED) _exit(3); }
static pid_t child(int go, int fd) { pid_t c = fork(); if (c == 0) { char b; if (read(go, &b, 1) != 1) _exit(4); map(fd, MAP_PRIVATE); _exit(0); } return c; }
int main(void) {
  int f = open("/etc/hostname", O_RDONLY), p = open("/etc/passwd", O_RDONLY), go[2], sv[2];
  if (f < 0 || p < 0 || pipe(go) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 1;
  map(f, MAP_PRIVATE);
  map(f, MAP_SHARED);
  pid_t early = child(go[0], f);
  char c = 'x', buf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { &c, 1 };
  struct msghdr m = { 0 };
  m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = buf; m.msg_controllen = sizeof buf;
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), &f, sizeof f);
  if (sendmsg(sv[0], &m, 0) != 1 || recvmsg(sv[1], &m, 0) != 1) return 2;
  int g; memcpy(&g, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof g);
  map(g, MAP_PRIVATE);
  map(p, MAP_PRIVATE);
  pid_t late = child(go[0], g);
  if (write(go[1], "xx", 2) != 2) return 5;
  waitpid(early, 0, 0); waitpid(late, 0, 0);
  printf("%d %d %d\n", getpid(), early, late);
  return 0;
}`;

/** The session kills its bpftrace at the end without waiting: the test waits for it, bounded. */
async function bpftraceGone(): Promise<void> {
  const kids = (): number[] => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  for (const end = Date.now() + 10000; Date.now() < end && kids().length > 0;) await new Promise((r) => setTimeout(r, 50));
}

bt('a private mapping is printed only in a process that received an fd, or its child forked after (a shared one always)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bpf-maps-'));
  try {
    const exe = path.join(dir, 'maps');
    fs.writeFileSync(`${exe}.c`, PROGRAM);
    execFileSync('cc', ['-O1', '-o', exe, `${exe}.c`]);
    const raw = path.join(dir, 'out.raw');
    const out = path.join(dir, 'cmd.out');
    const records: FdwatchRecord[] = [];
    const live = await startBpf({ pids: [], command: [exe], all: false, rawOutput: raw, commandOutput: out, onRecord: (r) => records.push(r) });
    const r = await live.done;
    assert.is(r.error, null);
    await bpftraceGone();
    const [main, early, late] = fs.readFileSync(out, 'utf8').trim().split(' ').map(Number);
    assert.ok(main && early && late, fs.readFileSync(out, 'utf8'));
    // mmap E lines: ns E tid tgid euid 9 addr fd file len prot flags off ino tag
    const maps = fs.readFileSync(raw, 'latin1').split('\n').map((l) => l.split('\t')).filter((f) => f[1] === 'E' && f[5] === '9');
    const of = (pid: number): string[] => maps.filter((f) => Number(f[3]) === pid).map((f) => (Number(f[11]) & 1 ? 'shared' : 'private'));
    // the loader's libraries and the first private mapping are not printed; the shared one is
    assert.equal(of(main), ['shared', 'private', 'private']);
    assert.equal(of(early), []);
    assert.equal(of(late), ['private']);
    // the records: shared mappings, and private ones of a transferred file where they matter (as under strace)
    const recs = records.filter((x): x is MapRecord => x.type === 'map');
    const perms = (pid: number): string[] => recs.filter((m) => m.pid === pid).map((m) => `${m.perms} ${m.path}`);
    assert.equal(perms(main), ['r--s /etc/hostname', 'r--p /etc/hostname']);
    assert.equal(perms(early), []);
    assert.equal(perms(late), ['r--p /etc/hostname']);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test.run();
