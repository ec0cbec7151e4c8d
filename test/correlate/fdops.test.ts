// The correlator driven by FdOps built by hand: no strace text at all, as the eBPF source will drive it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Correlator } from '../../src/correlate/correlator.js';
import { plainTarget, type CloneFlags, type FdOp, type FdRef, type ScmMessage } from '../../src/model/fdop.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { ofType } from '../helpers.js';

type OpBody = FdOp extends infer O ? O extends FdOp ? Omit<O, 'tid' | 'ts' | 'line' | 'comm' | 'syscall'> : never : never;

/** A correlator fed ops one by one; each op gets a line number and a time of its own. */
function drive(steps: Array<[tid: number, syscall: string, body: OpBody]>, opts: { deferOrphans?: boolean } = {}): FdwatchRecord[] {
  const records: FdwatchRecord[] = [];
  const c = new Correlator((r) => records.push(r), opts);
  steps.forEach(([tid, syscall, body], i) => c.push({ tid, syscall, ts: 1000 + i, line: i + 1, comm: null, ...body } as FdOp));
  c.finish();
  return records;
}

const ref = (fd: number, target: string | null = null): FdRef => ({ fd, target: target === null ? null : plainTarget(target, 'file') });
const msg = (...fds: FdRef[]): ScmMessage => ({ fds, hidden: false, ctrunc: false });
const FORK: CloneFlags = { thread: false, files: false, parent: false };
const THREAD: CloneFlags = { thread: true, files: true, parent: false };
const sock = (t: string) => ({ target: t, kind: 'socket' as const, inode: null, peer: null, path: null, pid: null });

test('fdops: fork + socketpair pass (the seed program): delivered, receiver fd differs, one open file', () => {
  const rs = drive([
    [1, 'openat', { op: 'open', fd: 3, target: plainTarget('/etc/hostname', 'file'), cloexec: false, socket: false }],
    [1, 'socketpair', { op: 'pair', fds: [{ fd: 4, target: sock('socket:[?]') }, { fd: 5, target: sock('socket:[?]') }], cloexec: false }],
    [1, 'clone', { op: 'clone', child: 2, flags: FORK }],
    [2, 'close', { op: 'close', fd: ref(3) }],
    [1, 'sendmsg', { op: 'send', socket: ref(4), messages: [msg(ref(3))], entry: false }],
    [2, 'recvmsg', { op: 'receive', socket: ref(5), messages: [msg(ref(6))], cloexec: false, peek: false }],
    [2, 'exit', { op: 'exit', code: 0, signal: null }],
    [1, 'exit', { op: 'exit', code: 0, signal: null }],
  ]);
  const t = ofType(rs, 'transfer');
  assert.is(t.length, 1);
  assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.from.fd, t[0]!.to?.pid, t[0]!.to?.fd, t[0]!.target], ['delivered', 1, 3, 2, 6, '/etc/hostname']);
  const inherit = ofType(rs, 'fd').filter((r) => r.op === 'inherit' && r.pid === 2).map((r) => r.fd);
  assert.equal(inherit, [3, 4, 5]);
  assert.equal(ofType(rs, 'fd').find((r) => r.op === 'receive'), {
    v: 1, type: 'fd', ts: 1005, pid: 2, fd: 6, op: 'receive', target: '/etc/hostname', kind: 'file', cloexec: false,
    syscall: 'recvmsg', fromFd: 3, fromPid: 1, origin: 'ofd:1',
  });
  // one open file description from open to receive: the same origin on every record of it, another on the sockets
  const fds = ofType(rs, 'fd');
  assert.equal(fds.filter((r) => r.origin === 'ofd:1').map((r) => `${r.pid} ${r.op} ${r.fd}`), ['1 open 3', '2 inherit 3', '2 close 3', '2 receive 6']);
  assert.is(t[0]!.origin, 'ofd:1');
  assert.equal([...new Set(fds.filter((r) => r.kind === 'socket').map((r) => r.origin))], ['ofd:2', 'ofd:3']);
});

test('fdops: an nscd-style broker: a root daemon sends its 0600 file to a client that connected by path and maps it r--s', () => {
  const rs = drive([
    [100, 'geteuid', { op: 'uid', uid: 0, effective: true, set: false }],
    [100, 'socket', { op: 'open', fd: 3, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [100, 'bind', { op: 'bind', socket: ref(3), path: '/run/broker.sock' }],
    [100, 'openat', { op: 'open', fd: 4, target: plainTarget('/var/cache/broker/db', 'file'), cloexec: true, socket: false }],
    [200, 'setuid', { op: 'uid', uid: 65534, effective: true, set: true }],
    [200, 'socket', { op: 'open', fd: 3, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [200, 'connect', { op: 'connect', socket: ref(3), path: '/run/broker.sock' }],
    [100, 'accept', { op: 'accept', fd: 5, target: sock('socket:[?]'), cloexec: true, listener: ref(3) }],
    [100, 'sendmsg', { op: 'send', socket: ref(5), messages: [msg(ref(4))], entry: false }],
    [200, 'recvmsg', { op: 'receive', socket: ref(3), messages: [msg(ref(4))], cloexec: true, peek: false }],
    [200, 'mmap', { op: 'map', fd: ref(4), start: 0x7f0000000000n, length: 0x35000n, perms: 'r--s', shared: true, offset: 0n }],
  ]);
  const [t] = ofType(rs, 'transfer');
  assert.equal([t!.state, t!.from.uid, t!.to?.uid, t!.target], ['delivered', 0, 65534, '/var/cache/broker/db']);
  assert.equal(ofType(rs, 'map'), [{
    v: 1, type: 'map', ts: 1010, pid: 200, start: '0x7f0000000000', end: '0x7f0000035000', perms: 'r--s', offset: '0x0',
    path: '/var/cache/broker/db', fd: 4, transferred: true, origin: 'ofd:2',
  }]);
  assert.is(t!.origin, 'ofd:2');
});

test('fdops: a setuid is a process record (uid, fromUid) once per change; first sights of a uid are not changes', () => {
  const rs = drive([
    [100, 'geteuid', { op: 'uid', uid: 0, effective: true, set: false }],
    [100, 'setresuid', { op: 'uid', uid: 65534, effective: true, set: true }],
    // glibc's setxid: every thread of the process makes the call again with the same uid
    [100, 'setresuid', { op: 'uid', uid: 65534, effective: true, set: true }],
    // a set-uid-root program: getuid tells the real uid, geteuid another, and nothing changed
    [200, 'getuid', { op: 'uid', uid: 1000, effective: false, set: false }],
    [200, 'geteuid', { op: 'uid', uid: 0, effective: true, set: false }],
    // a setuid with no uid known before it
    [300, 'setuid', { op: 'uid', uid: 33, effective: true, set: true }],
  ]);
  const changes = ofType(rs, 'process').filter((r) => r.event === 'setuid').map((r) => `${r.pid} ${r.fromUid} -> ${r.uid}`);
  assert.equal(changes, ['100 0 -> 65534', '300 null -> 33']);
});

test('fdops: out of time order (-ff without timestamps): the server\'s file, accept and receive first, then the client\'s connect and send', () => {
  const steps: Array<[number, string, OpBody]> = [
    [100, 'socket', { op: 'open', fd: 3, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [100, 'bind', { op: 'bind', socket: ref(3), path: '/run/relay.sock' }],
    [100, 'accept4', { op: 'accept', fd: 5, target: sock('socket:[?]'), cloexec: true, listener: ref(3) }],
    [100, 'recvmsg', { op: 'receive', socket: ref(5), messages: [msg(ref(6))], cloexec: true, peek: false }],
    [200, 'openat', { op: 'open', fd: 3, target: plainTarget('/data', 'file'), cloexec: true, socket: false }],
    [200, 'socket', { op: 'open', fd: 4, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [200, 'connect', { op: 'connect', socket: ref(4), path: '/run/relay.sock' }],
    [200, 'sendmsg', { op: 'send', socket: ref(4), messages: [msg(ref(3))], entry: false }],
  ];
  const t = ofType(drive(steps, { deferOrphans: true }), 'transfer');
  assert.equal(t.map((x) => `${x.state} ${x.from.pid}:${x.from.fd} -> ${x.to?.pid}:${x.to?.fd} ${x.target}`), ['delivered 200:3 -> 100:6 /data']);
  // in time order an accept with no connect before it is a client nobody traced: no later connect is taken for it
  const inOrder = ofType(drive(steps), 'transfer');
  assert.not.ok(inOrder.some((x) => x.state === 'delivered' && x.from.pid === 200 && x.to?.pid === 100), JSON.stringify(inOrder));
});

test('fdops: MSG_CTRUNC: the fds that did not fit are lost, with an alert', () => {
  const rs = drive([
    [1, 'socketpair', { op: 'pair', fds: [{ fd: 3, target: sock('socket:[?]') }, { fd: 4, target: sock('socket:[?]') }], cloexec: false }],
    [1, 'openat', { op: 'open', fd: 5, target: plainTarget('/a', 'file'), cloexec: false, socket: false }],
    [1, 'openat', { op: 'open', fd: 6, target: plainTarget('/b', 'file'), cloexec: false, socket: false }],
    [1, 'sendmsg', { op: 'send', socket: ref(3), messages: [msg(ref(5), ref(6))], entry: false }],
    [1, 'recvmsg', { op: 'receive', socket: ref(4), messages: [{ fds: [ref(7)], hidden: false, ctrunc: true }], cloexec: false, peek: false }],
  ]);
  const t = ofType(rs, 'transfer').map((x) => `${x.state} ${x.target}`);
  assert.equal(t, ['delivered /a', 'lost /b']);
  assert.equal(ofType(rs, 'alert').map((a) => a.kind), ['ctrunc-lost']);
});

test('fdops: CLONE_FILES threads share one table; exec closes CLOEXEC fds and flags a received fd that survives', () => {
  const rs = drive([
    [1, 'socketpair', { op: 'pair', fds: [{ fd: 3, target: sock('socket:[?]') }, { fd: 4, target: sock('socket:[?]') }], cloexec: false }],
    [1, 'clone3', { op: 'clone', child: 11, flags: THREAD }],
    [11, 'openat', { op: 'open', fd: 5, target: plainTarget('/secret', 'file'), cloexec: true, socket: false }],
    [11, 'sendmsg', { op: 'send', socket: ref(3), messages: [msg(ref(5))], entry: false }],
    [1, 'recvmsg', { op: 'receive', socket: ref(4), messages: [msg(ref(6))], cloexec: false, peek: false }],
    [1, 'openat', { op: 'open', fd: 7, target: plainTarget('/etc/passwd', 'file'), cloexec: true, socket: false }],
    [1, 'execve', { op: 'exec', path: '/bin/true' }],
  ]);
  const fd = ofType(rs, 'fd');
  // one process: the thread's open is in the leader's table (tid says who)
  assert.equal(fd.find((r) => r.fd === 5 && r.op === 'open'), {
    v: 1, type: 'fd', ts: 1002, pid: 1, tid: 11, fd: 5, op: 'open', target: '/secret', kind: 'file', cloexec: true, syscall: 'openat', origin: 'ofd:3',
  });
  assert.equal(ofType(rs, 'process').map((p) => `${p.pid} ${p.event}`), ['1 attach', '1 exec']);
  assert.equal(fd.filter((r) => r.op === 'close' && r.syscall === 'execve').map((r) => r.fd), [5, 7]);
  assert.equal(ofType(rs, 'alert').map((a) => `${a.kind} ${a.fd}`), ['received-fd-survives-exec 6']);
});

// a master attached to (its fd table seeded), its workers not traced: what the kernel says about their sockets
const usock = (t: string, inode: number, peer: number) => ({ target: t, kind: 'socket' as const, inode, peer, path: null, pid: null });
const WORKER = { pid: 20, comm: 'worker', uid: 33, fd: 5, socket: null };

test('fdops: sends to an untraced receiver: delivered once its socket no longer queues them, in flight only while queued', () => {
  const rs = drive([
    [10, 'openat', { op: 'open', fd: 8, target: plainTarget('/etc/hostname', 'file'), cloexec: true, socket: false }],
    [10, 'sendmsg', { op: 'send', socket: { fd: 6, target: usock('UNIX-STREAM:[101->102]', 101, 102) }, messages: [msg(ref(8, '/etc/hostname'))], entry: false }],
    [10, 'sendmsg', { op: 'send', socket: { fd: 6, target: usock('UNIX-STREAM:[101->102]', 101, 102) }, messages: [msg(ref(8, '/etc/hostname'))], entry: false }],
    [20, 'recvmsg', { op: 'peer-received', inode: 102, messages: 1, to: WORKER, fds: [[7]] }],
    [10, 'exit', { op: 'exit', code: 0, signal: null }],
  ]);
  const t = ofType(rs, 'transfer');
  assert.equal(t.map((x) => [x.state, x.from.pid, x.from.fd, x.to?.pid ?? null, x.to?.fd ?? null, x.to?.socket ?? null, x.reason ?? null]), [
    ['delivered', 10, 8, 20, 7, 'UNIX-STREAM:[102->101]', null],
    ['in-flight', 10, 8, null, null, null, null],
  ]);
  assert.not.ok(ofType(rs, 'process').some((p) => p.pid === 20), 'the untraced receiver is named, not made a traced process');
  assert.equal(ofType(rs, 'alert').map((a) => a.kind), ['in-flight-at-end']);
});

test('fdops: an untraced receiver whose socket closed with fds queued: lost, socket-closed-with-fds, its holder named', () => {
  const rs = drive([
    [10, 'openat', { op: 'open', fd: 8, target: plainTarget('/etc/hostname', 'file'), cloexec: true, socket: false }],
    [10, 'sendmsg', { op: 'send', socket: { fd: 6, target: usock('UNIX-STREAM:[101->102]', 101, 102) }, messages: [msg(ref(8, '/etc/hostname'), ref(8, '/etc/hostname'))], entry: false }],
    [20, 'close', { op: 'peer-closed', inode: 102, to: WORKER }],
    [10, 'exit', { op: 'exit', code: 0, signal: null }],
  ]);
  const t = ofType(rs, 'transfer');
  assert.equal(t.map((x) => [x.state, x.to?.pid ?? null, x.to?.fd ?? null]), [['lost', 20, null], ['lost', 20, null]]);
  assert.ok(t.every((x) => x.reason === 'receiving socket closed with the fd still queued'));
  const a = ofType(rs, 'alert');
  assert.equal(a.map((x) => [x.kind, x.pid, x.count ?? 1]), [['socket-closed-with-fds', 20, 2]]);
});

test('fdops: a target gains detail as the kernel object does, and a transfer reports what its message showed', () => {
  const tcp = (t: string) => ({ target: t, kind: 'socket' as const, inode: 12553, peer: null, path: null, pid: null });
  const rs = drive([
    [1, 'socket', { op: 'open', fd: 19, target: tcp('TCP:[12553]'), cloexec: true, socket: true }],
    [1, 'memfd_create', { op: 'open', fd: 7, target: { target: '/memfd:zone', kind: 'memfd', inode: null, peer: null, path: null, pid: null }, cloexec: true, socket: false }],
    [1, 'socketpair', { op: 'pair', fds: [{ fd: 4, target: usock('UNIX-STREAM:[121635]', 121635, 0) }, { fd: 5, target: usock('UNIX-STREAM:[121632]', 121632, 0) }], cloexec: false }],
    [1, 'clone', { op: 'clone', child: 2, flags: FORK }],
    [1, 'sendmsg', { op: 'send', socket: { fd: 4, target: usock('UNIX-STREAM:[121635->121632]', 121635, 121632) },
      messages: [msg({ fd: 19, target: tcp('TCP:[127.0.0.1:45127]') }, { fd: 7, target: { target: '/memfd:zone (deleted)', kind: 'memfd', inode: null, peer: null, path: null, pid: null } })], entry: false }],
    [2, 'recvmsg', { op: 'receive', socket: { fd: 5, target: usock('UNIX-STREAM:[121632->121635]', 121632, 121635) }, messages: [msg(ref(6), ref(8))], cloexec: false, peek: false }],
  ]);
  const t = ofType(rs, 'transfer');
  assert.equal(t.map((x) => [x.state, x.target, x.to?.socket]), [
    ['delivered', 'TCP:[127.0.0.1:45127]', 'UNIX-STREAM:[121632->121635]'],
    ['delivered', '/memfd:zone (deleted)', 'UNIX-STREAM:[121632->121635]'],
  ]);
  assert.is(t[0]!.from.socket, 'UNIX-STREAM:[121635->121632]');
});

test.run();
