// The reader and snapshotProcesses against the fake /proc tree in fixtures/proc/tree.txt.
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderSnapshotText, runSnapshot } from '../../src/cli/snapshot.js';
import type { FdRecord, MapRecord, ProcessRecord } from '../../src/model/records.js';
import { encodeUnixDiagResponse, decodeUnixDiagBatch, type UnixDiagSocket } from '../../src/native/sockdiag-codec.js';
import { NotFound } from '../../src/procfs/errors.js';
import { ProcReader } from '../../src/procfs/reader.js';
import { eachSnapshotLine, snapshotRecords } from '../../src/procfs/records.js';
import { snapshotProcesses, type Snapshot, type SnapshotNative } from '../../src/procfs/snapshot.js';
import { parseTreeArchive, unpackTree } from './fixture-tree.js';

const root = unpackTree();
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** A string sink for runSnapshot. */
function sink(): NodeJS.WritableStream & { text: string } {
  const s = { text: '', write(chunk: string | Uint8Array) { s.text += String(chunk); return true; } };
  return s as unknown as NodeJS.WritableStream & { text: string };
}

/** Fake kcmp: fds listed together are one open file description, every other fd its own. */
function fakeKcmp(same: string[][]): SnapshotNative['kcmpFileOrder'] {
  const id = new Map<string, string>();
  for (const g of same) for (const r of g) id.set(r, g[0]!);
  return (p1, f1, p2, f2) => {
    const a = id.get(`${p1}:${f1}`) ?? `${p1}:${f1}`;
    const b = id.get(`${p2}:${f2}`) ?? `${p2}:${f2}`;
    return a === b ? 0 : a < b ? -1 : 1;
  };
}

/** The sock_diag answer the fixture's sockets would get, run through the real codec. */
function fakeDiag(): Map<number, UnixDiagSocket> {
  const socks: Array<Omit<UnixDiagSocket, 'cookie'>> = [
    { inode: 5300, type: 1, state: 10, peer: null, name: '/var/run/nscd/socket', vfs: { ino: 77, dev: 22 }, rqlen: { rqueue: 0, wqueue: 128 }, icons: [], uid: 0, shutdown: null },
    { inode: 5313, type: 1, state: 1, peer: 6150, name: '/var/run/nscd/socket', vfs: null, rqlen: null, icons: null, uid: 0, shutdown: null },
    { inode: 6150, type: 1, state: 1, peer: 5313, name: null, vfs: null, rqlen: null, icons: null, uid: 1000, shutdown: null },
    { inode: 6149, type: 1, state: 1, peer: 6151, name: null, vfs: null, rqlen: null, icons: null, uid: 1000, shutdown: null },
    { inode: 6148, type: 2, state: 7, peer: null, name: '@abstract name', vfs: null, rqlen: null, icons: null, uid: 1000, shutdown: null },
  ];
  const out = new Map<number, UnixDiagSocket>();
  for (const s of socks) for (const d of decodeUnixDiagBatch(encodeUnixDiagResponse(s)).sockets) out.set(d.inode, d);
  return out;
}

test('the archive keeps odd names: a symlink target with a newline, a file mode', () => {
  const entries = parseTreeArchive(fs.readFileSync(new URL('../../../fixtures/proc/tree.txt', import.meta.url), 'utf8'));
  const link = entries.find((e) => e.path === '100/fd/13');
  assert.equal(link, { path: '100/fd/13', type: 'symlink', target: '/home/u/two\nlines', mode: null });
  assert.is(fs.readlinkSync(`${root}/100/fd/13`), '/home/u/two\nlines');
  assert.is(fs.statSync(`${root}/200/maps`).mode & 0o777, 0o400);
});

test('reader: pids, fd tables, typed NotFound carrying the path', () => {
  const r = new ProcReader(root);
  assert.equal(r.listPids(), [100, 101, 200, 300, 400]);
  assert.equal(r.listFds(200), [3, 9, 17]);
  const t = r.fdTable(300);
  assert.equal(t.fds.map((f) => [f.fd, f.link]), [[3, 'socket:[6150]'], [5, 'socket:[6148]'], [7, '/var/cache/nscd/passwd']]);
  try {
    r.listFds(400);
    assert.unreachable('400 has no fd directory');
  } catch (err) {
    assert.instance(err, NotFound);
    assert.is((err as NotFound).path, `${root}/400/fd`);
  }
  assert.is(r.path(1, 'fd', 2), `${root}/1/fd/2`);
});

test('snapshot (no native): every fd of 100 with its kind and target', () => {
  const snap = snapshotProcesses(root, [100]);
  assert.is(snap.native.kcmp, 'not used (proc root is not /proc)');
  const p = snap.processes[0]!;
  assert.is(p.comm, 'weird\nname');
  assert.is(p.uid, 1000);
  const byFd = new Map(p.fds.map((f) => [f.fd, f]));
  const kinds = p.fds.map((f) => `${f.fd}:${f.kind}`).join(' ');
  // a recorded tree's /dev/pts/3 and /dev/null are the recording machine's: never stat'ed on this host (a pty
  // numbered 3 open here made fd 0 a device), so a path is a file unless its fdinfo says O_DIRECTORY
  assert.is(
    kinds,
    '0:file 1:file 2:file 3:file 4:socket 5:pipe 6:anon 7:memfd 8:anon 9:anon 10:anon 11:anon 12:anon 13:file 14:dir 15:unknown 16:socket 17:socket 18:file',
  );
  assert.equal(byFd.get(3)!.link, { type: 'deleted', path: '/tmp/scratch file' });
  assert.is(byFd.get(3)!.target, '/tmp/scratch file (deleted)');
  assert.is(byFd.get(4)!.inFlight, 2);
  assert.is(byFd.get(4)!.target, 'UNIX-STREAM:[6149]', 'from /proc/net/unix: no peer without sock_diag');
  assert.is(byFd.get(6)!.cloexec, true);
  assert.is(byFd.get(9)!.cloexec, false);
  assert.is(byFd.get(16)!.target, 'TCP:[127.0.0.1:8080]');
  assert.is(byFd.get(17)!.target, 'TCPv6:[[::1]:22->[db8::1]:54321]');
  assert.is(byFd.get(18)!.info!.pos, 18446744073709551000n);
  assert.is(snap.inFlightTotal, 2);
  // maps: file-backed only, above 2^53 kept exact
  assert.equal(
    p.maps.map((m) => (m.path.type === 'path' ? m.path.path : '')),
    ['/usr/bin/weird', '/memfd:shared region', '/tmp/scratch file', '/home/u/two\nlines', '/opt/high/lib with space.so'],
  );
  assert.is(p.maps[4]!.start, 0x0123456789abc000n);
  // anon inodes all share ino 1038: without kcmp only the ones told apart by their extras get an id
  assert.is(byFd.get(6)!.ofd, '100:6');
  assert.is(byFd.get(1)!.ofd, null, '/dev/null twice: needs kcmp, unverified');
  assert.is(snap.stats.unverifiedFds, 2);
});

test('snapshot: a thread id resolves to its group; a missing pid is reported, a vanished one noted', () => {
  const snap = snapshotProcesses(root, [101, 999, 400]);
  assert.equal(snap.processes.map((p) => p.pid), [100, 400]);
  assert.equal(snap.processes[0]!.requestedTids, [101]);
  assert.equal(snap.notFound, [999]);
  assert.equal(snap.processes[1]!.notes, ['exited during the scan']);
  const all = snapshotProcesses(root, 'all');
  assert.equal(all.processes.map((p) => p.pid), [100, 200, 300], 'the thread is not listed twice; the gone process is counted');
  assert.is(all.skipped.exited, 1);
});

test('snapshot with sock_diag and kcmp (fakes): peers, peer owners, shared open file descriptions', () => {
  const native: SnapshotNative = { kcmpFileOrder: fakeKcmp([['200:9', '300:7'], ['100:1', '100:2']]), unixDiag: fakeDiag };
  const snap = snapshotProcesses(root, [300], { native });
  const client = snap.processes[0]!;
  const s3 = client.fds.find((f) => f.fd === 3)!;
  assert.is(s3.target, 'UNIX-STREAM:[6150->5313]');
  assert.equal(s3.socket!.peerOwners, [{ pid: 200, fd: 17, comm: 'nscd' }], 'found outside the listed pids');
  assert.is(s3.socket!.peerName, '/var/run/nscd/socket');
  assert.is(client.fds.find((f) => f.fd === 5)!.target, 'UNIX-DGRAM:[6148,"@abstract name"]');

  const all = snapshotProcesses(root, 'all', { native });
  const nscd = all.processes.find((p) => p.pid === 200)!;
  assert.is(nscd.fds.find((f) => f.fd === 17)!.target, 'UNIX-STREAM:[5313->6150,"/var/run/nscd/socket"]');
  assert.is(nscd.fds.find((f) => f.fd === 3)!.socket!.listening, true);
  const groups = all.ofdGroups.map((g) => [g.id, g.members.map((m) => `${m.pid}:${m.fd}`).join(',')]);
  assert.equal(groups, [['100:1', '100:1,100:2'], ['200:9', '200:9,300:7']]);
  assert.is(all.processes.find((p) => p.pid === 300)!.fds.find((f) => f.fd === 7)!.ofd, '200:9');
  assert.is(all.stats.unverifiedFds, 0);

  const text = renderSnapshotText(all);
  assert.match(text, 'UNIX-STREAM ino 6150 -> 5313 nscd[200] fd 17 "/var/run/nscd/socket"');
  assert.match(text, 'ofd 200:9  file  /var/cache/nscd/passwd\n    nscd[200] fd 9, client[300] fd 7');
  assert.match(text, '/var/cache/nscd/passwd  MAP_SHARED');
  assert.match(text, 'In-flight fds (sent over a Unix socket, not yet received): 2');
});

test('records: process/fd/map with the fields downstream tools rely on', () => {
  const native: SnapshotNative = { kcmpFileOrder: fakeKcmp([['200:9', '300:7']]), unixDiag: fakeDiag };
  const recs = snapshotRecords(snapshotProcesses(root, [300, 100], { native }));
  const proc = recs.find((r) => r.type === 'process' && r.pid === 300) as ProcessRecord;
  assert.equal({ ...proc, ts: 0 }, { v: 1, type: 'process', ts: 0, pid: 300, ppid: 1, comm: 'client', uid: 1000, event: 'snapshot' });
  const fd3 = recs.find((r) => r.type === 'fd' && r.pid === 300 && r.fd === 3) as FdRecord;
  assert.equal(
    { ...fd3, ts: 0 },
    {
      v: 1, type: 'fd', ts: 0, pid: 300, fd: 3, op: 'snapshot', target: 'UNIX-STREAM:[6150->5313]', kind: 'socket', cloexec: true,
      syscall: null, pos: 0, flags: '02000002', ofd: '300:3',
      socket: { inode: 6150, peer: 5313, path: '/var/run/nscd/socket', peerOwners: [{ pid: 200, fd: 17, comm: 'nscd' }] },
      inFlight: null,
    },
  );
  const fd7 = recs.find((r) => r.type === 'fd' && r.pid === 300 && r.fd === 7) as FdRecord;
  assert.is(fd7.ofd, '300:7', 'nscd (200) is not listed, so its fd 9 is not a candidate');
  const map = recs.find((r) => r.type === 'map' && r.pid === 300) as MapRecord;
  assert.equal(
    { ...map, ts: 0 },
    { v: 1, type: 'map', ts: 0, pid: 300, start: '0x7f3bd0000000', end: '0x7f3bd0020000', perms: 'r--s', offset: '0x0', path: '/var/cache/nscd/passwd', dev: 'fe:00', inode: 5555 },
  );
  const high = recs.find((r) => r.type === 'map' && r.pid === 100 && r.perms === 'r-xp') as MapRecord;
  assert.is(high.start, '0x123456789abc000', 'hex strings keep 64-bit addresses exact');
  const inflight = recs.find((r) => r.type === 'fd' && r.pid === 100 && r.fd === 4) as FdRecord;
  assert.is(inflight.inFlight, 2);
  const deleted = recs.find((r) => r.type === 'map' && r.pid === 100 && r.path?.startsWith('/tmp/')) as MapRecord;
  assert.is(deleted.path, '/tmp/scratch file (deleted)');
});

/** The hand-written NDJSON lines of a snapshot against JSON.stringify of its records. */
function sameLines(snap: Snapshot): number {
  const lines: string[] = [];
  eachSnapshotLine(snap, (l) => lines.push(l));
  const want = snapshotRecords(snap).map((r) => JSON.stringify(r));
  assert.is(lines.length, want.length);
  for (let i = 0; i < want.length; i++) assert.is(lines[i], want[i]);
  return lines.length;
}

test('eachSnapshotLine: byte for byte JSON.stringify of every record (fixture, and names to escape or encode)', () => {
  const native: SnapshotNative = { kcmpFileOrder: fakeKcmp([['200:9', '300:7']]), unixDiag: fakeDiag };
  const snap = snapshotProcesses(root, 'all', { native });
  assert.ok(sameLines(snap) > 20);
  // every string field through the escaping path: controls, quotes, backslashes, non-ASCII, a lone surrogate
  const odd = 'a"b\\c\n\u0001\u00e9\u{1F600}\ud800z';
  const p = snap.processes.find((x) => x.pid === 300)!;
  p.comm = odd;
  p.notes.push(odd);
  for (const f of p.fds) {
    f.target = odd + f.target;
    f.ofd = null;
    if (f.socket) {
      f.socket.name = odd;
      f.socket.peerOwners.push({ pid: 7, fd: 8, comm: odd }, { pid: 9, fd: 10, comm: null });
    }
    if (f.info) f.info.pos = 2n ** 60n;
  }
  for (const m of p.maps) {
    m.dev = odd;
    if (m.path.type === 'path') m.path.path = odd;
    m.start = 2n ** 64n - 1n;
  }
  snap.ts = 1764633600.123456;
  sameLines(snap);
});

test('runSnapshot: text escapes names from other processes; a missing pid is one line and exit 1', async () => {
  const out = sink();
  const err = sink();
  assert.is(await runSnapshot({ pids: [100], json: null, procRoot: root, out, err }), 0);
  assert.match(out.text, 'PID 100 weird\\nname  uid 1000  ppid 1');
  assert.match(out.text, '/home/u/two\\nlines');
  assert.not.match(out.text, '/home/u/two\nlines');
  assert.match(out.text, 'anon_inode:[eventfd] count 3');
  assert.match(out.text, 'anon_inode:[pidfd] pid 300');
  assert.match(out.text, 'anon_inode:[eventpoll] watching fd 6,4');
  assert.is(err.text, '');

  const out2 = sink();
  const err2 = sink();
  assert.is(await runSnapshot({ pids: [100, 999999], json: null, procRoot: root, out: out2, err: err2 }), 1);
  assert.is(err2.text, 'fdwatch: no such process: 999999\n');
  assert.is(out2.text, '');
});

test('runSnapshot --json -: NDJSON on out; --json to an unwritable place is one line and exit 1', async () => {
  const out = sink();
  assert.is(await runSnapshot({ pids: [200], json: '-', procRoot: root, out, err: sink() }), 0);
  const lines = out.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.equal(lines.map((l) => l.type), ['process', 'fd', 'fd', 'fd', 'map']);
  const err = sink();
  assert.is(await runSnapshot({ pids: [200], json: '/nonexistent-dir/out.ndjson', procRoot: root, out: sink(), err }), 1);
  assert.is(err.text, 'fdwatch: cannot write /nonexistent-dir/out.ndjson: no such directory\n');
});

test.run();
