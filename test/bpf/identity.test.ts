// The kernel's file identity (FdRef.file, the struct file * eBPF reads) as the strongest pairing: a receive pairs
// with the message that carries its very open file description, and the transfer says it is proven.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Correlator } from '../../src/correlate/correlator.js';
import { plainTarget, type FdOp, type FdRef, type FdTarget } from '../../src/model/fdop.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { ofType } from '../helpers.js';

type OpBody = FdOp extends infer O ? O extends FdOp ? Omit<O, 'tid' | 'ts' | 'line' | 'comm' | 'syscall'> : never : never;

function drive(steps: Array<[tid: number, syscall: string, body: OpBody]>): FdwatchRecord[] {
  const records: FdwatchRecord[] = [];
  const c = new Correlator((r) => records.push(r));
  steps.forEach(([tid, syscall, body], i) => c.push({ tid, syscall, ts: 1000 + i, line: i + 1, comm: null, ...body } as FdOp));
  c.finish();
  return records;
}

const sock = (ino: number): FdTarget => ({ ...plainTarget(`UNIX-STREAM:[${ino}]`, 'socket'), inode: ino });
const ref = (fd: number, file?: string, target: FdTarget | null = null): FdRef => ({ fd, target, ...(file ? { file } : {}) });
const file = (p: string) => plainTarget(p, 'file');

test('identity: a receive pairs with the message carrying its own struct file, across sockets the trace cannot link', () => {
  // two senders' sockets and the receiver's socket: no peer known, so the per-socket queues cannot meet
  const rs = drive([
    [1, 'openat', { op: 'open', fd: 5, target: file('/a'), cloexec: false, socket: false }],
    [1, 'openat', { op: 'open', fd: 6, target: file('/b'), cloexec: false, socket: false }],
    [1, 'socket', { op: 'open', fd: 3, target: sock(11), cloexec: false, socket: true }],
    [1, 'socket', { op: 'open', fd: 4, target: sock(12), cloexec: false, socket: true }],
    [1, 'sendmsg', { op: 'send', socket: ref(3, 'f3', sock(11)), messages: [{ fds: [ref(5, 'fa')], hidden: false, ctrunc: false }], entry: false }],
    [1, 'sendmsg', { op: 'send', socket: ref(4, 'f4', sock(12)), messages: [{ fds: [ref(6, 'fb')], hidden: false, ctrunc: false }], entry: false }],
    [2, 'socket', { op: 'open', fd: 3, target: sock(21), cloexec: false, socket: true }],
    [2, 'recvmsg', { op: 'receive', socket: ref(3, 'f21', sock(21)), messages: [{ fds: [ref(7, 'fb', file('/b'))], hidden: false, ctrunc: false }], cloexec: false, peek: false }],
  ]);
  const t = ofType(rs, 'transfer');
  const got = t.find((x) => x.state === 'delivered')!;
  assert.equal([got.from.pid, got.from.fd, got.to?.pid, got.to?.fd, got.target, got.confirmed], [1, 6, 2, 7, '/b', true]);
  // the other message is still in flight at the end
  assert.equal(t.filter((x) => x.state === 'in-flight').map((x) => x.target), ['/a']);
});

test('identity: the kernel says the paired files differ: confirmed false; without identities nothing is claimed', () => {
  const pair: OpBody = {
    op: 'pair', fds: [{ fd: 3, target: { ...sock(31), peer: 32 } }, { fd: 4, target: { ...sock(32), peer: 31 } }], cloexec: false,
  };
  const steps = (sent?: string, got?: string): Array<[number, string, OpBody]> => [
    [1, 'socketpair', pair],
    [1, 'openat', { op: 'open', fd: 5, target: file('/x'), cloexec: false, socket: false }],
    [1, 'sendmsg', { op: 'send', socket: ref(3), messages: [{ fds: [ref(5, sent)], hidden: false, ctrunc: false }], entry: false }],
    [1, 'recvmsg', { op: 'receive', socket: ref(4), messages: [{ fds: [ref(6, got)], hidden: false, ctrunc: false }], cloexec: false, peek: false }],
  ];
  assert.is(ofType(drive(steps('fx', 'fy')), 'transfer')[0]!.confirmed, false);
  assert.is(ofType(drive(steps('fx', 'fx')), 'transfer')[0]!.confirmed, true);
  assert.is('confirmed' in ofType(drive(steps()), 'transfer')[0]!, false);
});

test('a mapping from the kernel carries the mapped file\'s inode', () => {
  const rs = drive([
    [1, 'openat', { op: 'open', fd: 3, target: file('/var/cache/x'), cloexec: false, socket: false }],
    [1, 'mmap', { op: 'map', fd: ref(3), start: 0x7f0000000000n, length: 0x1000n, perms: 'r--s', shared: true, offset: 0n, inode: 4242 }],
  ]);
  assert.is(ofType(rs, 'map')[0]!.inode, 4242);
});

test.run();
