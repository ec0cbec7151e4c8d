// fd-leak from hand-built FdOps: fds received and never named again, fds sent and never closed, and (live) an fd
// count that grows at every sample. No strace text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Correlator } from '../../src/correlate/correlator.js';
import { plainTarget, type CloneFlags, type FdOp, type FdRef, type ScmMessage } from '../../src/model/fdop.js';
import type { AlertRecord, FdwatchRecord } from '../../src/model/records.js';
import { ofType } from '../helpers.js';

type OpBody = FdOp extends infer O ? O extends FdOp ? Omit<O, 'tid' | 'ts' | 'line' | 'comm' | 'syscall'> : never : never;
type Step = [tid: number, syscall: string, body: OpBody];

const ref = (fd: number, target: string | null = null): FdRef => ({ fd, target: target === null ? null : plainTarget(target, 'file') });
const msg = (...fds: FdRef[]): ScmMessage => ({ fds, hidden: false, ctrunc: false });
const FORK: CloneFlags = { thread: false, files: false, parent: false };
const sock = (t: string) => ({ target: t, kind: 'socket' as const, inode: null, peer: null, path: null, pid: null });

function run(steps: Step[], leakThreshold: number, after?: (c: Correlator) => void): FdwatchRecord[] {
  const records: FdwatchRecord[] = [];
  const c = new Correlator((r) => records.push(r), { leakThreshold });
  steps.forEach(([tid, syscall, body], i) => c.push({ tid, syscall, ts: 1000 + i, line: i + 1, comm: null, ...body } as FdOp));
  after?.(c);
  c.finish();
  return records;
}

const leaks = (rs: FdwatchRecord[]): AlertRecord[] => ofType(rs, 'alert').filter((a) => a.kind === 'fd-leak');

/** Process 1 forks 2 and sends it `n` files over a socketpair, one per message; `keep`: the sender keeps its copies. */
function passes(n: number, keep: boolean, child: (fd: number) => Step[] = () => []): Step[] {
  const steps: Step[] = [
    [1, 'socketpair', { op: 'pair', fds: [{ fd: 3, target: sock('socket:[?]') }, { fd: 4, target: sock('socket:[?]') }], cloexec: false }],
    [1, 'clone', { op: 'clone', child: 2, flags: FORK }],
  ];
  for (let i = 0; i < n; i++) {
    const sent = 10 + i, got = 100 + i;
    steps.push([1, 'openat', { op: 'open', fd: sent, target: plainTarget(`/srv/f${i}`, 'file'), cloexec: false, socket: false }]);
    steps.push([1, 'sendmsg', { op: 'send', socket: ref(3), messages: [msg(ref(sent))], entry: false }]);
    if (!keep) steps.push([1, 'close', { op: 'close', fd: ref(sent) }]);
    steps.push([2, 'recvmsg', { op: 'receive', socket: ref(4), messages: [msg(ref(got))], cloexec: false, peek: false }]);
    steps.push(...child(got));
  }
  return steps;
}

test('fd-leak: one grouped alert when a receiver holds N fds it never used, again at 2N, with samples and the sender', () => {
  const a = leaks(run(passes(9, false), 4));
  assert.equal(a.map((x) => [x.pid, x.leak, x.count]), [[2, 'received', 4], [2, 'received', 8]]);
  assert.equal(a[0]!.samples, [{ fd: 100, target: '/srv/f0' }, { fd: 101, target: '/srv/f1' }, { fd: 102, target: '/srv/f2' }, { fd: 103, target: '/srv/f3' }]);
  assert.is(a[0]!.fd, null);
  assert.is(a[0]!.sentNotClosed, 0);
  assert.match(a[0]!.message, /holds 4 fds received from \?\[1\] and never used or closed: fd 100 \/srv\/f0/);
  assert.match(a[1]!.message, /and 4 others$/);
});

test('fd-leak: a receiver that closes, dups, maps or fcntls each fd it gets raises none', () => {
  const uses: Array<(fd: number) => Step[]> = [
    (fd) => [[2, 'close', { op: 'close', fd: ref(fd) }]],
    (fd) => [[2, 'mmap', { op: 'map', fd: ref(fd), start: 0x7f0000000000n + BigInt(fd) * 0x1000n, length: 0x1000n, perms: 'r--s', shared: true, offset: 0n }]],
    (fd) => [[2, 'fcntl', { op: 'set-cloexec', fd: ref(fd), cloexec: true, set: true }]],
    (fd) => [[2, 'dup2', { op: 'dup', from: ref(fd), fd: fd + 1000, cloexec: false }]],
  ];
  for (const use of uses) assert.equal(leaks(run(passes(10, false, use), 4)), []);
});

test('fd-leak: the received fds a process passes on are used, and count as sent-not-closed while it keeps them', () => {
  const relay = (fd: number): Step[] => [[2, 'sendmsg', { op: 'send', socket: ref(4), messages: [msg(ref(fd))], entry: false }]];
  const rs = run(passes(5, false, relay), 4);
  const a = leaks(rs);
  assert.equal(a.map((x) => [x.pid, x.leak, x.count, x.sentNotClosed]), [[2, 'sent', 4, 4]]);
});

test('fd-leak: a sender that never closes what it sent: one alert for the sender, the count in sentNotClosed', () => {
  const close = (fd: number): Step[] => [[2, 'close', { op: 'close', fd: ref(fd) }]];
  const a = leaks(run(passes(5, true, close), 4));
  assert.equal(a.map((x) => [x.pid, x.leak, x.count, x.sentNotClosed]), [[1, 'sent', 4, 4]]);
  assert.match(a[0]!.message, /holds 4 fds it sent and never closed: fd 10 \/srv\/f0/);
});

test('fd-leak: below the threshold, nothing; the default threshold is 64', () => {
  assert.equal(leaks(run(passes(3, true), 4)), []);
  const rs: FdwatchRecord[] = [];
  const c = new Correlator((r) => rs.push(r));
  passes(64, false).forEach(([tid, syscall, body], i) => c.push({ tid, syscall, ts: i, line: i + 1, comm: null, ...body } as FdOp));
  assert.equal(leaks(rs).map((x) => x.count), [64]);
});

test('fd-leak growth: strictly more fds at each of 5 samples and +N overall; a dip restarts the window; once per doubling', () => {
  const fresh = passes(0, false);
  const grow = (counts: number[]) => leaks(run(fresh, 8, (c) => counts.forEach((n, i) => c.fdCount(1, n, 2000 + i))));
  assert.equal(grow([3, 4, 5, 6, 7, 8, 9]), [], '+1 a second never reaches +8 in 5 samples');
  assert.equal(grow([3, 6, 9, 12, 10, 13, 16, 19]), [], 'a dip restarts the window');
  const a = grow([3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33]);
  assert.equal(a.map((x) => [x.pid, x.leak, x.count, x.growth]), [[1, 'growth', 15, 12], [1, 'growth', 30, 12]]);
  assert.match(a[0]!.message, /fd count keeps growing: 3 -> 15 \(\+12\) over 4 s/);
  assert.equal(grow([3, 6, 9, 12, 15].map((n) => n)).length, 1);
  // a process the trace does not know, or one that exited, is not sampled
  assert.equal(leaks(run(fresh, 8, (c) => [3, 6, 9, 12, 15].forEach((n, i) => c.fdCount(77, n, i)))), []);
});

test.run();
