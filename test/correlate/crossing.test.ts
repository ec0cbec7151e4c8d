// Privilege and uid crossings (issue 14): the pure DAC decision, and the alerts the correlator makes of delivered fds
// from the facts live mode reads (given here by hand, as /proc would) or, in a replay, without any.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accessOf, mayOpen, modeText, type Access, type FileOwner } from '../../src/correlate/access.js';
import { Correlator } from '../../src/correlate/correlator.js';
import type { FileFacts, FileFactsLookup } from '../../src/correlate/crossing.js';
import { plainTarget, type FdOp, type FdRef, type ScmMessage } from '../../src/model/fdop.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { formatAlert } from '../../src/export/text.js';
import { ofType } from '../helpers.js';

// ---------------------------------------------------------------- mayOpen

const f = (mode: number, uid: number, gid: number): FileOwner => ({ mode, uid, gid });

const CASES: Array<[what: string, file: FileOwner, uid: number, gids: number[] | null, access: Access, want: string]> = [
  ['root reads a 0600 file of another user', f(0o600, 1000, 1000), 0, [0], 'r', 'yes'],
  ['root writes a 0000 file: DAC does not stop root', f(0o000, 1000, 1000), 0, null, 'rw', 'yes'],
  ['nobody reads the nscd cache (0600 root)', f(0o600, 0, 0), 65534, [65534], 'r', 'no'],
  ['nobody, groups unknown: group and other bits both deny', f(0o600, 0, 0), 65534, null, 'r', 'no'],
  ['the owner reads its own 0600 file', f(0o600, 1000, 1000), 1000, [1000], 'r', 'yes'],
  ['the owner writes its own 0400 file', f(0o400, 1000, 1000), 1000, [1000], 'w', 'no'],
  ['the owner of a 0066 file: only the owner bits count', f(0o066, 1000, 1000), 1000, [1000], 'r', 'no'],
  ['a group member reads 0640', f(0o640, 0, 42), 1000, [1000, 42], 'r', 'yes'],
  ['a non-member reads 0640', f(0o640, 0, 42), 1000, [1000], 'r', 'no'],
  ['groups unknown, 0640: the group decides, nobody knows it', f(0o640, 0, 42), 1000, null, 'r', 'unknown'],
  ['groups unknown, 0644: everyone reads', f(0o644, 0, 42), 1000, null, 'r', 'yes'],
  ['rw needs both bits: 0664 for a member', f(0o664, 0, 42), 1000, [42], 'rw', 'yes'],
  ['rw needs both bits: 0644 for another', f(0o644, 0, 42), 1000, [7], 'rw', 'no'],
  ['w only: 0602 lets anyone write', f(0o602, 0, 0), 1000, [1000], 'w', 'yes'],
  ['a group member under 0604: the group bits, not the other ones', f(0o604, 0, 42), 1000, [42], 'r', 'no'],
];

for (const [what, file, uid, gids, access, want] of CASES) {
  test(`mayOpen: ${what}`, () => {
    assert.is(mayOpen(file, uid, gids, access), want);
  });
}

test('accessOf and modeText: O_ACCMODE and octal as ls shows it', () => {
  assert.equal([accessOf(0o100000), accessOf(0o2100001), accessOf(0o2), accessOf(0o3)], ['r', 'w', 'rw', null]);
  assert.equal([modeText(0o100600), modeText(0o4755), modeText(0), modeText(0o644)], ['0600', '04755', '0000', '0644']);
});

// ---------------------------------------------------------------- the alerts

type OpBody = FdOp extends infer O ? O extends FdOp ? Omit<O, 'tid' | 'ts' | 'line' | 'comm' | 'syscall'> : never : never;

function drive(steps: Array<[tid: number, syscall: string, body: OpBody]>, fileFacts?: FileFactsLookup): FdwatchRecord[] {
  const records: FdwatchRecord[] = [];
  const c = new Correlator((r) => records.push(r), fileFacts ? { fileFacts } : {});
  steps.forEach(([tid, syscall, body], i) => c.push({ tid, syscall, ts: 1000 + i, line: i + 1, comm: null, ...body } as FdOp));
  c.finish();
  return records;
}

const ref = (fd: number, target: string | null = null): FdRef => ({ fd, target: target === null ? null : plainTarget(target, 'file') });
const msg = (...fds: FdRef[]): ScmMessage => ({ fds, hidden: false, ctrunc: false });
const sock = (t: string) => ({ target: t, kind: 'socket' as const, inode: null, peer: null, path: null, pid: null });

/** A daemon (pid 100, uid `daemon`) sends `files` in one message to a client (pid 200, uid `client`). */
function broker(daemon: number, client: number, files: string[]): Array<[number, string, OpBody]> {
  const opens: Array<[number, string, OpBody]> = files.map((p, i) =>
    [100, 'openat', { op: 'open', fd: 10 + i, target: plainTarget(p, 'file'), cloexec: true, socket: false }]);
  return [
    [100, 'geteuid', { op: 'uid', uid: daemon, effective: true, set: false }],
    [100, 'socket', { op: 'open', fd: 3, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [100, 'bind', { op: 'bind', socket: ref(3), path: '/run/broker.sock' }],
    ...opens,
    [200, 'setuid', { op: 'uid', uid: client, effective: true, set: true }],
    [200, 'socket', { op: 'open', fd: 3, target: sock('socket:[?]'), cloexec: true, socket: true }],
    [200, 'connect', { op: 'connect', socket: ref(3), path: '/run/broker.sock' }],
    [100, 'accept', { op: 'accept', fd: 5, target: sock('socket:[?]'), cloexec: true, listener: ref(3) }],
    [100, 'sendmsg', { op: 'send', socket: ref(5), messages: [msg(...files.map((_, i) => ref(10 + i)))], entry: false }],
    [200, 'recvmsg', { op: 'receive', socket: ref(3), messages: [msg(...files.map((_, i) => ref(4 + i)))], cloexec: true, peek: false }],
  ];
}

const facts = (mode: number, uid: number, gid: number, access: Access, toGids: number[] | null = null): FileFactsLookup =>
  (): FileFacts => ({ file: { mode, uid, gid }, access, toUid: null, toGids });

test('crossing: a root daemon hands its 0600 file to uid 65534: privilege-crossing (warning) and uid-crossing (info)', () => {
  const seen: number[] = [];
  const rs = drive(broker(0, 65534, ['/var/cache/broker/db']), (t) => { seen.push(t.to!.pid!); return facts(0o600, 0, 0, 'r')(t); });
  assert.equal(seen, [200], 'one lookup, for the one delivered fd');
  const alerts = ofType(rs, 'alert');
  assert.equal(alerts.map((a) => [a.kind, a.severity, a.pid, a.fd, a.file, a.fromUid, a.toUid, a.access]), [
    ['privilege-crossing', 'warning', 200, 10, { mode: '0600', uid: 0, gid: 0 }, 0, 65534, 'r'],
    ['uid-crossing', 'info', 200, 10, { mode: '0600', uid: 0, gid: 0 }, 0, 65534, 'r'],
  ]);
  assert.match(alerts[0]!.message, /^fd 10 \(\/var\/cache\/broker\/db\) sent by \?\[100\] to \?\[200\], which could not have opened it itself for reading$/);
  assert.is(formatAlert(alerts[0]!).startsWith('ALERT privilege-crossing (warning): mode 0600 owner 0:0, uid 0 → 65534, access r: fd 10 (/var/cache/broker/db)'), true, formatAlert(alerts[0]!));
  assert.is(ofType(rs, 'summary').length, 0);
});

test('crossing: the same uid passing a file it may open makes no alert', () => {
  assert.equal(ofType(drive(broker(1000, 1000, ['/home/u/notes']), facts(0o600, 1000, 1000, 'rw')), 'alert'), []);
  assert.equal(ofType(drive(broker(1000, 1000, ['/etc/hostname']), facts(0o644, 0, 0, 'r')), 'alert'), []);
  // and root receiving from anyone: root may open it, and a uid 0 -> 0 transfer crosses nothing
  assert.equal(ofType(drive(broker(0, 0, ['/var/cache/broker/db']), facts(0o600, 0, 0, 'r')), 'alert'), []);
});

test('crossing: a delivery from root to root asks for no facts (nothing could come of them); from another uid it does', () => {
  let asked = 0;
  const count: FileFactsLookup = (t) => { asked++; return facts(0o600, 0, 0, 'r')(t); };
  assert.equal(ofType(drive(broker(0, 0, ['/var/cache/broker/db', '/etc/hostname']), count), 'alert'), []);
  assert.is(asked, 0);
  const a = ofType(drive(broker(1000, 0, ['/var/cache/broker/db']), count), 'alert');
  assert.is(asked, 1);
  assert.equal(a.map((x) => [x.kind, x.fromUid, x.toUid]), [['uid-crossing', 1000, 0]]);
});

test('crossing: a uid change to a file the receiver may open is info only; unknown groups never guess a warning', () => {
  const a = ofType(drive(broker(0, 1000, ['/etc/hostname']), facts(0o644, 0, 0, 'r')), 'alert');
  assert.equal(a.map((x) => [x.kind, x.severity]), [['uid-crossing', 'info']]);
  // 0640 root:42, the receiver's groups unknown: could be a member; no privilege-crossing
  const b = ofType(drive(broker(0, 1000, ['/etc/shadow']), facts(0o640, 0, 42, 'r')), 'alert');
  assert.equal(b.map((x) => x.kind), ['uid-crossing']);
  // the same with the receiver's groups read (not a member): it could not
  const c = ofType(drive(broker(0, 1000, ['/etc/shadow']), facts(0o640, 0, 42, 'r', [1000])), 'alert');
  assert.equal(c.map((x) => x.kind), ['uid-crossing'], 'groups read with another uid than the trace knows are not used');
  const d = ofType(drive(broker(0, 1000, ['/etc/shadow']), (t) => ({ file: { mode: 0o640, uid: 0, gid: 42 }, access: 'r', toUid: 1000, toGids: [1000] })), 'alert');
  assert.equal(d.map((x) => x.kind), ['privilege-crossing', 'uid-crossing']);
});

test('crossing: a replay (no lookup) says what it cannot know: uid-crossing with the file unknown, never a privilege one', () => {
  const a = ofType(drive(broker(0, 65534, ['/var/cache/broker/db'])), 'alert');
  assert.equal(a.map((x) => [x.kind, x.severity, x.file, x.access, x.fromUid, x.toUid]), [['uid-crossing', 'info', null, null, 0, 65534]]);
  assert.match(formatAlert(a[0]!), /^ALERT uid-crossing \(info\): mode unknown, uid 0 → 65534, access unknown: /);
  // a sender whose uid the trace never showed: no crossing can be told
  const steps = broker(0, 65534, ['/var/cache/broker/db']).filter(([, s]) => s !== 'geteuid');
  assert.equal(ofType(drive(steps), 'alert'), []);
});

test('crossing: three files in one message are one alert per cause (count 3), as the other alerts group', () => {
  const rs = drive(broker(0, 65534, ['/a', '/b', '/c']), facts(0o600, 0, 0, 'r'));
  const a = ofType(rs, 'alert');
  assert.equal(a.map((x) => [x.kind, x.count, x.fd]), [['privilege-crossing', 3, null], ['uid-crossing', 3, null]]);
  assert.match(a[0]!.message, /^3 fds sent by \?\[100\] on .* to \?\[200\], which could not have opened them itself for reading: fd 10 \(\/a\), fd 11 \(\/b\), fd 12 \(\/c\)$/);
  assert.is(ofType(rs, 'transfer').length, 3);
});

test('crossing: sockets and pipes have no mode worth judging: a uid crossing at most', () => {
  const steps = broker(0, 65534, []);
  steps.splice(3, 0, [100, 'pipe2', { op: 'pair', fds: [{ fd: 10, target: plainTarget('pipe:[9]', 'pipe') }, { fd: 11, target: plainTarget('pipe:[9]', 'pipe') }], cloexec: false }]);
  const send = steps.findIndex(([, s]) => s === 'sendmsg');
  steps[send] = [100, 'sendmsg', { op: 'send', socket: ref(5), messages: [msg(ref(10))], entry: false }];
  steps[send + 1] = [200, 'recvmsg', { op: 'receive', socket: ref(3), messages: [msg(ref(4))], cloexec: true, peek: false }];
  const a = ofType(drive(steps, facts(0o600, 0, 0, 'r')), 'alert');
  assert.equal(a.map((x) => [x.kind, x.file]), [['uid-crossing', null]]);
});

test.run();
