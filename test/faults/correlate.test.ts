// Fault injection for the transfer matcher: reordered lines, failed sends, misses, untraced receivers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTrace, ofType } from '../helpers.js';
import { root } from '../paths.js';

const SOCK_A = 'UNIX-STREAM:[10->11]';
const SOCK_B = 'UNIX-STREAM:[11->10]';
const hdr = (fds: string): string =>
  `{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[${fds}]}], msg_controllen=24, msg_flags=0}`;

// strace -f prints the send's msghdr in the entry half; the receiver returns before the send's resumed line
const REORDERED = [
  `100  socketpair(AF_UNIX, SOCK_STREAM, 0, [3<${SOCK_A}>, 4<${SOCK_B}>]) = 0`,
  '100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101',
  '100  openat(AT_FDCWD, "/tmp/A", O_RDONLY) = 5</tmp/A>',
  `100  sendmsg(3<${SOCK_A}>, ${hdr('5</tmp/A>')}, 0 <unfinished ...>`,
  `101  recvmsg(4<${SOCK_B}>, ${hdr('6</tmp/A>')}, 0) = 1`,
  '100  <... sendmsg resumed>) = 1',
  '100  openat(AT_FDCWD, "/tmp/B", O_RDONLY) = 6</tmp/B>',
  `100  sendmsg(3<${SOCK_A}>, ${hdr('6</tmp/B>')}, 0) = 1`,
  `101  recvmsg(4<${SOCK_B}>, ${hdr('7</tmp/B>')}, 0) = 1`,
  '101  +++ exited with 0 +++',
  '100  +++ exited with 0 +++',
].join('\n');

test('a receive printed before its send resumes pairs with that send (the 11-line repro)', () => {
  const { records, summary } = runTrace(REORDERED);
  const t = ofType(records, 'transfer');
  assert.equal(t.map((x) => [x.state, x.from.pid, x.from.fd, x.to?.pid, x.to?.fd, x.target]), [
    ['delivered', 100, 5, 101, 6, '/tmp/A'],
    ['delivered', 100, 6, 101, 7, '/tmp/B'],
  ]);
  assert.equal([summary.transfers.delivered, summary.transfers.inFlight, summary.transfers.lost], [2, 0, 0]);
  assert.is(ofType(records, 'alert').length, 0);
  const recv = ofType(records, 'fd').filter((f) => f.op === 'receive').map((f) => [f.fd, f.target, f.fromFd]);
  assert.equal(recv, [[6, '/tmp/A', 5], [7, '/tmp/B', 6]]);
});

const send = (fd: string): string => `100  sendmsg(3<${SOCK_A}>, ${hdr(fd)}, 0) = 1`;
const recv = (fd: string, tail = ' = 1'): string => `101  recvmsg(4<${SOCK_B}>, ${hdr(fd)}, 0)${tail}`;
const PAIR = [
  `100  socketpair(AF_UNIX, SOCK_STREAM, 0, [3<${SOCK_A}>, 4<${SOCK_B}>]) = 0`,
  '100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 101',
  '100  openat(AT_FDCWD, "/tmp/A", O_RDONLY) = 5</tmp/A>',
  '100  openat(AT_FDCWD, "/tmp/B", O_RDONLY) = 6</tmp/B>',
  '100  openat(AT_FDCWD, "/tmp/C", O_RDONLY) = 7</tmp/C>',
];
const pairs = (rs: ReturnType<typeof runTrace>['records']): unknown[] =>
  ofType(rs, 'transfer').map((x) => [x.state, x.from.fd, x.to?.fd ?? null, x.target, x.line ?? null]);

test('a receive of a send that is not in the trace takes no queued message: nothing after it shifts', () => {
  const { records } = runTrace([
    ...PAIR,
    send('5</tmp/A>'), send('6</tmp/B>'), send('7</tmp/C>'),
    recv('10</tmp/X>'), // sent by something the trace does not show
    recv('11</tmp/A>'), recv('12</tmp/B>'), recv('13</tmp/C>'),
  ].join('\n'));
  assert.equal(pairs(records), [
    ['delivered', null, 10, '/tmp/X', 9],
    ['delivered', 5, 11, '/tmp/A', 6], ['delivered', 6, 12, '/tmp/B', 7], ['delivered', 7, 13, '/tmp/C', 8],
  ]);
});

test('a receive that is not in the trace strands its message; later ones pair with their own sends', () => {
  const { records, summary } = runTrace([
    ...PAIR,
    send('5</tmp/A>'), send('6</tmp/B>'),
    // the receive of A is missing (a line the trace lost)
    recv('11</tmp/B>'),
    send('5</tmp/A>'), recv('12</tmp/A>'),
    send('6</tmp/B>'), recv('13</tmp/B>'),
  ].join('\n'));
  assert.equal(pairs(records), [
    ['delivered', 6, 11, '/tmp/B', 7], ['delivered', 5, 12, '/tmp/A', 9], ['delivered', 6, 13, '/tmp/B', 11],
    ['in-flight', 5, null, '/tmp/A', 6], // never seen received: reported, not paired with a later receive
  ]);
  assert.is(summary.transfers.inFlight, 1);
});

test('two messages of one file: the receive of the first (line lost) cannot be told apart, FIFO decides', () => {
  // same decorations: nothing tells the two sends apart, so the oldest is taken (documented limit)
  const { records } = runTrace([...PAIR, send('5</tmp/A>'), send('5</tmp/A>'), recv('11</tmp/A>')].join('\n'));
  assert.equal(pairs(records), [['delivered', 5, 11, '/tmp/A', 6], ['in-flight', 5, null, '/tmp/A', 7]]);
});

test('two threads sending on one socket: the kernel may queue the later entry first; decorations sort it out', () => {
  const { records, summary } = runTrace([
    ...PAIR,
    '100  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0} => {parent_tid=[102]}, 88) = 102',
    `100  sendmsg(3<${SOCK_A}>, ${hdr('5</tmp/A>')}, 0 <unfinished ...>`,
    `102  sendmsg(3<${SOCK_A}>, ${hdr('6</tmp/B>')}, 0 <unfinished ...>`,
    recv('11</tmp/B>'),
    recv('12</tmp/A>'),
    '102  <... sendmsg resumed>) = 1',
    '100  <... sendmsg resumed>) = 1',
  ].join('\n'));
  assert.equal(ofType(records, 'transfer').map((x) => [x.state, x.from.tid, x.from.fd, x.to?.fd, x.target]),
    [['delivered', 102, 6, 11, '/tmp/B'], ['delivered', 100, 5, 12, '/tmp/A']]);
  assert.is(summary.transfers.inFlight, 0);
});

test('sendmmsg prints its messages only at its return: a receive that returns first waits for it', () => {
  const { records, summary } = runTrace([
    ...PAIR,
    `100  sendmmsg(3<${SOCK_A}>,  <unfinished ...>`,
    recv('11</tmp/A>'),
    `100  <... sendmmsg resumed>[{msg_hdr=${hdr('5</tmp/A>')}, msg_len=1}], 1, 0) = 1`,
    send('5</tmp/A>'), recv('12</tmp/A>'),
    // a receive while a sendmmsg is under way that gets something else is not held past that send's return
    `100  sendmmsg(3<${SOCK_A}>,  <unfinished ...>`,
    recv('13</tmp/X>'),
    `100  <... sendmmsg resumed>[{msg_hdr=${hdr('6</tmp/B>')}, msg_len=1}], 1, 0) = 1`,
    recv('14</tmp/B>'),
  ].join('\n'));
  assert.equal(pairs(records), [
    ['delivered', 5, 11, '/tmp/A', 6], ['delivered', 5, 12, '/tmp/A', 9],
    ['delivered', null, 13, '/tmp/X', 12], ['delivered', 6, 14, '/tmp/B', 11],
  ]);
  assert.is(summary.transfers.inFlight, 0);
});

test('a send that fails after its entry queued the message is taken back', () => {
  const { records, summary } = runTrace([
    ...PAIR,
    `100  sendmsg(3<${SOCK_A}>, ${hdr('5</tmp/A>')}, MSG_DONTWAIT <unfinished ...>`,
    '101  getpid() = 101',
    '100  <... sendmsg resumed>) = -1 EAGAIN (Resource temporarily unavailable)',
    send('6</tmp/B>'),
    '101  recvmsg(4, {msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[11]}], msg_flags=0}, 0) = 1',
  ].join('\n'));
  assert.equal(pairs(records), [['delivered', 6, 11, '/tmp/B', 9]]);
  assert.equal([summary.fdsSent, summary.fdsReceived, summary.transfers.inFlight, summary.alerts], [1, 1, 0, 0]);
});

test('a send cut by the end of the trace (blocked in sendmsg) sent nothing unless a receive shows it', () => {
  const cut = runTrace([...PAIR, `100  sendmsg(3<${SOCK_A}>, ${hdr('5</tmp/A>')}, 0 <unfinished ...>`].join('\n'));
  assert.equal(pairs(cut.records), []);
  assert.is(cut.summary.fdsSent, 0);
  const seen = runTrace([...PAIR, `100  sendmsg(3<${SOCK_A}>, ${hdr('5</tmp/A>')}, 0 <unfinished ...>`, recv('11</tmp/A>')].join('\n'));
  assert.equal(pairs(seen.records), [['delivered', 5, 11, '/tmp/A', 6]]);
});

test('MSG_PEEK installs the fds and leaves the message queued for the real receive', () => {
  const { records, summary } = runTrace([
    ...PAIR, send('5</tmp/A>'), send('6</tmp/B>'),
    `101  recvmsg(4<${SOCK_B}>, ${hdr('11</tmp/A>')}, MSG_PEEK) = 1`,
    recv('12</tmp/A>'), recv('13</tmp/B>'),
  ].join('\n'));
  assert.equal(pairs(records), [['delivered', 5, 11, '/tmp/A', 6], ['delivered', 5, 12, '/tmp/A', 6], ['delivered', 6, 13, '/tmp/B', 7]]);
  assert.is(summary.transfers.inFlight, 0);
});

test('socket decorations: the inode decides, not the peer part that changes when the peer closes', () => {
  const { records } = runTrace([
    ...PAIR,
    '100  socketpair(AF_UNIX, SOCK_DGRAM, 0, [8<UNIX-DGRAM:[20->21]>, 9<UNIX-DGRAM:[21->20]>]) = 0',
    send('8<UNIX-DGRAM:[20->21]>'), send('9<UNIX-DGRAM:[21->20]>'),
    recv('10<UNIX-DGRAM:[30->31]>'), // another socket, from a send the trace does not show
    recv('11<UNIX-DGRAM:[20]>'), recv('12<UNIX-DGRAM:[21]>'),
  ].join('\n'));
  assert.equal(pairs(records), [
    ['delivered', null, 10, 'UNIX-DGRAM:[30->31]', 9],
    ['delivered', 8, 11, 'UNIX-DGRAM:[20->21]', 7], ['delivered', 9, 12, 'UNIX-DGRAM:[21->20]', 8],
  ]);
});

test('replay never claims kcmp confirmed a pairing', () => {
  const { records } = runTrace(REORDERED);
  assert.ok(ofType(records, 'transfer').length > 0);
  for (const t of ofType(records, 'transfer')) assert.not.ok('confirmed' in t, JSON.stringify(t));
});

test('an untraced receiver: one in-flight-at-end alert per socket and sender, with a count', () => {
  const lines = [
    `100  socketpair(AF_UNIX, SOCK_STREAM, 0, [3<${SOCK_A}>, 4<${SOCK_B}>]) = 0`,
    '100  openat(AT_FDCWD, "/tmp/A", O_RDONLY) = 5</tmp/A>',
    '100  openat(AT_FDCWD, "/tmp/B", O_RDONLY) = 6</tmp/B>',
  ];
  // 819 messages on one socket whose other end is not traced, one on another socket
  for (let i = 0; i < 819; i++) lines.push(send(i % 2 === 0 ? '5</tmp/A>' : '6</tmp/B>'));
  lines.push(`100  sendmsg(8<UNIX-STREAM:[30->31]>, ${hdr('5</tmp/A>')}, 0) = 1`);
  const { records, summary } = runTrace(lines.join('\n'));
  assert.is(ofType(records, 'transfer').filter((t) => t.state === 'in-flight').length, 820);
  const a = ofType(records, 'alert');
  assert.equal(a.map((x) => [x.kind, x.pid, x.fd, x.count ?? 1]), [['in-flight-at-end', 100, null, 819], ['in-flight-at-end', 100, 5, 1]]);
  assert.match(a[0]!.message, /^819 fds sent by \?\[100\] on UNIX-STREAM:\[10->11\] were never received in the trace/);
  assert.is(a[1]!.message, 'fd 5 (/tmp/A) sent by ?[100] was never received in the trace');
  assert.equal([summary.alerts, summary.transfers.inFlight], [2, 820]);
});

test('a receiving socket closed with many messages queued: one socket-closed-with-fds alert with a count', () => {
  const { records, summary } = runTrace([
    ...PAIR, send('5</tmp/A>'), send('6</tmp/B>'), send('5</tmp/A>'),
    '100  close(4) = 0',
    '101  close(4) = 0',
  ].join('\n'));
  assert.equal(ofType(records, 'transfer').map((t) => t.state), ['lost', 'lost', 'lost']);
  const a = ofType(records, 'alert');
  assert.equal(a.map((x) => [x.kind, x.pid, x.fd, x.count]), [['socket-closed-with-fds', 101, null, 3]]);
  assert.is(summary.alerts, 1);
});

// ---------------------------------------------------------------- real strace

/** A temp dir made and removed by the test itself (an after-hook does not run when another file crashes uvu). */
function inTmp(body: (tmp: string) => void): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-faults-'));
  try { body(tmp); } finally { fs.rmSync(tmp, { recursive: true, force: true }); }
}

test('real strace -f -yy -ttt: receives printed before their send (sendmsg, sendmmsg) resumes; every transfer names the file sent', () => inTmp((tmp) => {
  const exe = path.join(tmp, 'reorder');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', 'reorder.c')]);
  const a = path.join(tmp, 'A');
  const b = path.join(tmp, 'B');
  fs.writeFileSync(a, 'a');
  fs.writeFileSync(b, 'b');
  const N = 300;
  for (const [call, ...flags] of [['sendmsg', '-f', '-yy', '-ttt'], ['sendmsg', '-f', '-ttt'], ['sendmmsg', '-f', '-yy', '-ttt']] as const) {
    const log = path.join(tmp, `reorder-${call}${flags.join('')}.log`);
    const out = execFileSync('strace', [...flags, '-qq', '-o', log, exe, a, b, String(N), call], { encoding: 'utf8' });
    // ground truth, in receive order: the path each message's data named and the sender's fd for it
    const truth = out.trim().split('\n').map((l) => { const w = l.split(' '); return [Number(w[5]), w[7]]; });
    assert.is(truth.length, N);
    const text = fs.readFileSync(log, 'latin1');
    // the case under test really happened: a receive with fds between a send's entry and its return
    let inside = false;
    let reordered = 0;
    for (const l of text.split('\n')) {
      if (l.includes(` ${call}(`) && l.endsWith('<unfinished ...>')) inside = true;
      else if (l.includes(`<... ${call} resumed>`)) inside = false;
      else if (inside && l.includes('recvmsg') && l.includes('SCM_RIGHTS')) reordered++;
    }
    assert.ok(reordered > 0, `${call} ${flags.join(' ')}: no receive printed inside a send`);
    const { records, summary } = runTrace(text);
    const t = ofType(records, 'transfer');
    assert.equal(t.map((x) => [x.state, x.from.fd, x.target]), truth.map(([fd, p]) => ['delivered', fd, p]), `${call} ${flags.join(' ')}`);
    assert.equal([summary.transfers.inFlight, summary.transfers.lost, summary.alerts], [0, 0, 0]);
  }
}));

test('real strace without -f: a receiver that is not traced gives one in-flight-at-end alert, not one per message', () => inTmp((tmp) => {
  const N = 200;
  const prog = [
    'import os, socket',
    'a, b = socket.socketpair()',
    'f = os.open("/etc/hostname", os.O_RDONLY)',
    'pid = os.fork()',
    'if pid == 0:',
    `    for _ in range(${N}): os.close(socket.recv_fds(b, 1, 1)[1][0])`,
    '    os._exit(0)',
    `for _ in range(${N}): socket.send_fds(a, [b"x"], [f])`,
    'os.waitpid(pid, 0)',
  ].join('\n');
  const log = path.join(tmp, 'one-sided.log');
  execFileSync('strace', ['-yy', '-qq', '-o', log, '/usr/bin/python3', '-I', '-c', prog]);
  const { records, summary } = runTrace(fs.readFileSync(log, 'latin1'));
  assert.is(ofType(records, 'transfer').filter((t) => t.state === 'in-flight' && t.target === '/etc/hostname').length, N);
  const a = ofType(records, 'alert');
  assert.equal(a.map((x) => [x.kind, x.count]), [['in-flight-at-end', N]]);
  assert.is(summary.alerts, 1);
}));

test.run();
