import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runTrace, ofType } from '../helpers.js';

const SEED = [
  '100  openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 5',
  '100  socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0',
  '100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101',
  '100  sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, 0) = 1',
  '101  recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[6]}], msg_controllen=24, msg_flags=0}, 0) = 1',
  '101  exit_group(0) = ?',
  '101  +++ exited with 0 +++',
  '100  wait4(-1, NULL, 0, NULL) = 101',
  '100  +++ exited with 0 +++',
].join('\n');

test('seed without -yy: socketpair through fork pairs sender and receiver', () => {
  const { records, summary } = runTrace(SEED);
  const t = ofType(records, 'transfer');
  assert.is(t.length, 1);
  assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.from.fd, t[0]!.to?.pid, t[0]!.to?.fd, t[0]!.target],
    ['delivered', 100, 5, 101, 6, '/etc/hostname']);
  const fork = ofType(records, 'process').find((p) => p.event === 'fork')!;
  assert.equal([fork.pid, fork.ppid], [101, 100]);
  const inherited = ofType(records, 'fd').filter((f) => f.op === 'inherit' && f.pid === 101).map((f) => f.fd);
  assert.equal(inherited.sort(), [3, 4, 5]);
  const recv = ofType(records, 'fd').find((f) => f.op === 'receive')!;
  assert.equal([recv.pid, recv.fd, recv.fromPid, recv.fromFd, recv.target], [101, 6, 100, 5, '/etc/hostname']);
  assert.equal([summary.fdsSent, summary.fdsReceived, summary.transfers.delivered, summary.cleanEnd], [1, 1, 1, true]);
});

test('-yy: inodes pair two processes that never forked from each other', () => {
  const { records } = runTrace([
    '200  sendmsg(17<UNIX-STREAM:[5352->6172,"/var/run/nscd/socket"]>, {msg_name=NULL, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[12</var/cache/nscd/passwd>]}], msg_controllen=20, msg_flags=0}, MSG_NOSIGNAL) = 8',
    '300  recvmsg(3<UNIX-STREAM:[6172->5352]>, {msg_name=NULL, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[4</var/cache/nscd/passwd>]}], msg_controllen=20, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 8',
    '300  mmap(NULL, 217032, PROT_READ, MAP_SHARED, 4</var/cache/nscd/passwd>, 0) = 0x7f3c4a1d2000',
  ].join('\n'));
  const t = ofType(records, 'transfer');
  assert.equal(t.map((x) => [x.state, x.from.pid, x.from.fd, x.to?.pid, x.to?.fd]), [['delivered', 200, 12, 300, 4]]);
  assert.is(t[0]!.from.socket, 'UNIX-STREAM:[5352->6172,"/var/run/nscd/socket"]');
  const recv = ofType(records, 'fd').find((f) => f.op === 'receive')!;
  assert.is(recv.cloexec, true);
  const m = ofType(records, 'map');
  assert.equal(m.map((x) => [x.pid, x.perms, x.path, x.fd, x.transferred, x.start, x.end]),
    [[300, 'r--s', '/var/cache/nscd/passwd', 4, true, '0x7f3c4a1d2000', '0x7f3c4a207000']]);
});

test('MSG_CTRUNC: fds beyond the receiver\'s buffer are lost and alerted', () => {
  const { records, summary } = runTrace([
    '1  socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0',
    '1  pipe2([5, 6], 0) = 0',
    '1  openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 7',
    '1  sendmsg(3, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5, 6, 7]}], msg_flags=0}, 0) = 1',
    '1  recvmsg(4, {msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[8]}], msg_controllen=20, msg_flags=MSG_CTRUNC}, 0) = 1',
  ].join('\n'));
  const t = ofType(records, 'transfer');
  assert.equal(t.map((x) => [x.state, x.from.fd, x.to?.fd ?? null]), [['delivered', 5, 8], ['lost', 6, null], ['lost', 7, null]]);
  assert.is(ofType(records, 'alert').filter((a) => a.kind === 'ctrunc-lost').length, 2);
  assert.equal([summary.fdsSent, summary.fdsReceived, summary.transfers.lost], [3, 1, 2]);
});

test('fds still queued when the receiving socket closes are lost; queued at the end are in flight', () => {
  const closed = runTrace([
    '1  socketpair(AF_UNIX, SOCK_DGRAM, 0, [3, 4]) = 0',
    '1  sendmsg(3, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[0]}], msg_flags=0}, 0) = 0',
    '1  close(4) = 0',
  ].join('\n'));
  assert.equal(ofType(closed.records, 'transfer').map((x) => x.state), ['lost']);
  assert.ok(ofType(closed.records, 'alert').some((a) => a.kind === 'socket-closed-with-fds'));
  const open = runTrace([
    '1  socketpair(AF_UNIX, SOCK_DGRAM, 0, [3, 4]) = 0',
    '1  sendmsg(3, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[0, 1]}], msg_flags=0}, 0) = 0',
  ].join('\n'));
  assert.equal(ofType(open.records, 'transfer').map((x) => [x.state, x.to]), [['in-flight', null], ['in-flight', null]]);
  assert.is(open.summary.transfers.inFlight, 2);
  assert.ok(ofType(open.records, 'alert').some((a) => a.kind === 'in-flight-at-end'));
  assert.is(open.summary.cleanEnd, false);
});

test('exec closes CLOEXEC fds and alerts on a received fd that survives', () => {
  const { records } = runTrace([
    '1  socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3, 4]) = 0',
    '1  openat(AT_FDCWD, "/secret", O_RDONLY) = 5',
    '1  sendmsg(3, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_flags=0}, 0) = 1',
    '1  recvmsg(4, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[6]}], msg_flags=0}, 0) = 1',
    '1  openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 7',
    '1  execve("/bin/cat", ["cat"], 0x7ffe /* 3 vars */) = 0',
  ].join('\n'));
  const closes = ofType(records, 'fd').filter((f) => f.op === 'close' && f.syscall === 'execve').map((f) => f.fd);
  assert.equal(closes.sort(), [3, 4, 7]);
  const a = ofType(records, 'alert').filter((x) => x.kind === 'received-fd-survives-exec');
  assert.equal(a.map((x) => x.fd), [6]);
  const exec = ofType(records, 'process').find((p) => p.event === 'exec')!;
  assert.equal([exec.comm, exec.path], ['cat', '/bin/cat']);
});

test('threads share the table; CLONE_FILES processes share it too; exit of one thread keeps the process', () => {
  const { records, session } = runTrace([
    '1  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0} => {parent_tid=[2]}, 88) = 2',
    '2  openat(AT_FDCWD, "/a", O_RDONLY) = 3',
    '2  +++ exited with 0 +++',
    '1  clone(child_stack=0x1, flags=CLONE_VM|CLONE_FILES|SIGCHLD) = 3',
    '3  openat(AT_FDCWD, "/b", O_RDONLY) = 4',
    '1  close(4) = 0',
  ].join('\n'));
  const p1 = session.correlator.processes.get(1)!;
  assert.ok(!p1.exited);
  assert.equal([...p1.table.fds.keys()], [3]);
  assert.is(session.correlator.processes.get(3)!.table, p1.table);
  const open = ofType(records, 'fd').find((f) => f.target === '/a')!;
  assert.equal([open.pid, open.tid], [1, 2]);
  assert.is(ofType(records, 'process').filter((p) => p.event === 'fork').length, 1);
});

test('child that runs before its parent\'s clone returns still inherits', () => {
  const { records } = runTrace([
    '1  openat(AT_FDCWD, "/x", O_RDONLY) = 3',
    '1  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>',
    '2  close(3) = 0',
    '1  <... clone resumed>, child_tidptr=0x7f) = 2',
  ].join('\n'));
  const forks = ofType(records, 'process').filter((p) => p.event === 'fork');
  assert.equal(forks.map((p) => [p.pid, p.ppid]), [[2, 1]]);
  const c = ofType(records, 'fd').find((f) => f.pid === 2 && f.op === 'close')!;
  assert.is(c.target, '/x');
});

test('dup family, fcntl and close_range', () => {
  const { records, session } = runTrace([
    '1  openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC) = 3',
    '1  dup2(3, 10) = 10',
    '1  fcntl(3, F_DUPFD_CLOEXEC, 20) = 20',
    '1  dup3(3, 30, O_CLOEXEC) = 30',
    '1  fcntl(10, F_SETFD, FD_CLOEXEC) = 0',
    '1  close_range(20, ~0U, CLOSE_RANGE_CLOEXEC) = 0',
    '1  close_range(21, 4294967295, 0) = 0',
  ].join('\n'));
  const t = session.correlator.processes.get(1)!.table.fds;
  assert.equal([...t.keys()].sort((a, b) => a - b), [3, 10, 20]);
  assert.equal([t.get(10)!.cloexec, t.get(20)!.cloexec], [true, true]);
  assert.is(t.get(10)!.ofd, t.get(3)!.ofd);
  assert.equal(ofType(records, 'fd').filter((f) => f.op === 'dup').map((f) => [f.fd, f.fromFd, f.cloexec]), [[10, 3, false], [20, 3, true], [30, 3, true]]);
});

test('pidfd_getfd is a transfer; fds used before the trace are "seen"', () => {
  const { records } = runTrace([
    '50  openat(AT_FDCWD, "/data", O_RDWR) = 9',
    '60  pidfd_open(50, 0) = 3',
    '60  pidfd_getfd(3, 9, 0) = 4',
    '60  close(0) = 0',
  ].join('\n'));
  const t = ofType(records, 'transfer');
  assert.equal(t.map((x) => [x.via, x.state, x.from.pid, x.from.fd, x.to?.pid, x.to?.fd, x.target]), [['pidfd_getfd', 'delivered', 50, 9, 60, 4, '/data']]);
  assert.ok(ofType(records, 'fd').some((f) => f.op === 'seen' && f.fd === 0 && f.pid === 60));
});

test('sendmmsg/recvmmsg carry many messages; -e verbose=none is opaque, not guessed', () => {
  const { records, summary } = runTrace([
    '1  socketpair(AF_UNIX, SOCK_DGRAM, 0, [3, 4]) = 0',
    '1  sendmmsg(3, [{msg_hdr={msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[0]}], msg_flags=0}, msg_len=1}, {msg_hdr={msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[1, 2]}], msg_flags=0}, msg_len=1}], 2, 0) = 2',
    '1  recvmmsg(4, [{msg_hdr={msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_flags=0}, msg_len=1}, {msg_hdr={msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[6, 7]}], msg_flags=0}, msg_len=1}], 2, 0, NULL) = 2',
    '1  sendmsg(3, 0x7fff6e4a1880, 0) = 1',
  ].join('\n'));
  assert.equal(ofType(records, 'transfer').map((x) => [x.from.fd, x.to?.fd]), [[0, 5], [1, 6], [2, 7]]);
  assert.is(summary.opaqueMessages, 1);
});

test('-s 0 hides every fd of a message (`cmsg_data=[...]`): opaque, and no fd is counted that was not shown', () => {
  const { records, summary } = runTrace([
    '1  socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0',
    '1  sendmsg(3, {msg_iov=[...], msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[...]}], msg_flags=0}, 0) = 1',
    '1  recvmsg(4, {msg_iov=[...], msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[...]}], msg_flags=0}, 0) = 1',
  ].join('\n'));
  assert.is(ofType(records, 'transfer').length, 0);
  assert.equal([summary.fdsSent, summary.fdsReceived, summary.opaqueMessages], [0, 0, 2]);
});

test('-X raw: SCM_RIGHTS, MSG_CTRUNC and MSG_CMSG_CLOEXEC from their numbers', () => {
  const { records } = runTrace([
    '1  socketpair(0x1, 0x1, 0, [3, 4]) = 0',
    '1  sendmsg(3, {msg_control=[{cmsg_len=24, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[0, 1]}], msg_flags=0}, 0) = 1',
    '1  recvmsg(4, {msg_control=[{cmsg_len=20, cmsg_level=0x1, cmsg_type=0x1, cmsg_data=[5]}], msg_flags=0x40000008}, 0x40000000) = 1',
  ].join('\n'));
  assert.equal(ofType(records, 'transfer').map((t) => [t.state, t.from.fd, t.to?.fd ?? null]), [['delivered', 0, 5], ['lost', 1, null]]);
  assert.is(ofType(records, 'fd').find((f) => f.op === 'receive')!.cloexec, true);
});

test.run();
