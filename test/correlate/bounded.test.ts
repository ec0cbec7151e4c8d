// Memory is bounded by the running processes: exited ones are forgotten once their records are out (issue 9, item 6).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TraceSession } from '../../src/correlate/session.js';
import { KEEP_EXITED } from '../../src/correlate/correlator.js';
import type { FdwatchRecord } from '../../src/model/records.js';

/** One short-lived child as strace -f -yy prints it: exec, a file, a socketpair, a connect to an untraced server. */
function child(pid: number, ino: number): string[] {
  const a = `UNIX-STREAM:[${ino}->${ino + 1}]`;
  const b = `UNIX-STREAM:[${ino + 1}->${ino}]`;
  return [
    `100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f3c) = ${pid}`,
    `${pid}  execve("/usr/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0`,
    `${pid}  openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>`,
    `${pid}  close(3</etc/ld.so.cache>) = 0`,
    `${pid}  socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3<${a}>, 4<${b}>]) = 0`,
    `${pid}  socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 5<UNIX-STREAM:[${ino + 2}]>`,
    `${pid}  connect(5<UNIX-STREAM:[${ino + 2}]>, {sa_family=AF_UNIX, sun_path="/run/untraced.sock"}, 110) = 0`,
    `${pid}  exit_group(0) = ?`,
    `${pid}  +++ exited with 0 +++`,
    `100  wait4(-1, NULL, 0, NULL) = ${pid}`,
  ];
}

function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('replay state stays bounded after many exits: tables and heap do not grow with exited processes', () => {
  let records = 0;
  const session = new TraceSession((r: FdwatchRecord) => { records += r.type === 'summary' ? 0 : 1; }, { baseDay: 0 });
  const src = session.source(null);
  let line = 0;
  const feed = (from: number, to: number): void => {
    for (let i = from; i < to; i++) for (const l of child(1000 + i, 100000 + 3 * i)) session.line(l, ++line, src);
  };
  session.line('100  execve("/bin/sh", ["sh"], 0x7ffd /* 3 vars */) = 0', ++line, src);
  feed(0, 10_000);
  const heap1 = heapAfterGc();
  const sizes1 = session.correlator.stateSizes();
  feed(10_000, 40_000);
  const heap2 = heapAfterGc();
  const sizes2 = session.correlator.stateSizes();
  // every table holds what the running processes (one shell) and the last KEEP_EXITED exits need, no more
  assert.is(sizes2['processes'], KEEP_EXITED + 1, JSON.stringify(sizes2));
  for (const k of ['threads', 'pendingClones', 'madeEarly', 'peers', 'queues', 'orphans', 'sendEntries', 'stranded']) {
    assert.ok(sizes2[k]! <= 2, `${k}: ${sizes2[k]}`);
  }
  assert.ok(sizes2['pendingConnects']! <= 1 && sizes2['exitedOrder']! <= 2 * KEEP_EXITED + 1024, JSON.stringify(sizes2));
  assert.equal({ ...sizes2, exitedOrder: 0 }, { ...sizes1, exitedOrder: 0 }, 'the same after 10,000 exits as after 40,000');
  // 30,000 more exited processes cost no memory that stays (it was ~1.5 KB each when nothing was dropped)
  const grew = (heap2 - heap1) / 1e6;
  assert.ok(grew < 8, `heap grew ${grew.toFixed(1)} MB over 30,000 exits`);
  assert.is(session.correlator.exitedDropped, 40_000 - KEEP_EXITED);
  const summary = session.end();
  assert.is(summary.processes, 40_001, 'the summary still counts every process seen');
  assert.ok(records > 40_000 * 5);
});

test('pruneExited keeps the processes that exited last', () => {
  const session = new TraceSession(() => {}, { baseDay: 0, keepExited: 3 });
  const src = session.source(null);
  let line = 0;
  for (let i = 0; i < 10; i++) for (const l of child(1000 + i, 100000 + 3 * i)) session.line(l, ++line, src);
  assert.equal([...session.correlator.processes.keys()], [100, 1007, 1008, 1009]);
  assert.is(session.correlator.exitedDropped, 7);
});

test.run();
