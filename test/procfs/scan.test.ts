// The snapshot's fast paths give what the plain ones give, on real processes the test starts:
// parseFdinfoBytes against parseFdinfo on every fdinfo file of a process holding every fd type it can,
// the native directory-fd reader against Node's fs reader, and the helper process (threads: 2) and its
// packed reply against one process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFdinfo, parseFdinfoBytes } from '../../src/procfs/fdinfo.js';
import { isFileBacked, MapIntern, parseFileMaps, parseMaps } from '../../src/procfs/maps.js';
import { ProcReader } from '../../src/procfs/reader.js';
import { eachSnapshotLine, snapshotRecords } from '../../src/procfs/records.js';
import { frame, FrameReader, realNative, scanAll, ScanCache, ScanPacker, scanProcess, startScanHelper, unpackReply, type ScanResult, type ScanWorkerReply } from '../../src/procfs/scan.js';
import { snapshotProcesses, type Snapshot } from '../../src/procfs/snapshot.js';
import { nativeStatus, pipe, pollIn } from '../../src/native/index.js';

// One process with an fd of every kind python can make without privileges: files (one far past 2^32, one
// opened with O_APPEND|O_NONBLOCK, one with a flock), a directory, pipes, socketpairs, a listener, eventfd,
// epoll watching two fds, timerfd, signalfd, inotify, pidfd, memfd. One line on stdout says ready.
const RICH = String.raw`
import os, socket, sys, select, signal, fcntl, ctypes
d = sys.argv[1]
keep = []
f = os.open(os.path.join(d, 'big'), os.O_RDWR | os.O_CREAT, 0o600); os.lseek(f, 2**40 + 5, 0); keep.append(f)
keep.append(os.open(os.path.join(d, 'log'), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK, 0o600))
lk = os.open(os.path.join(d, 'lock'), os.O_RDWR | os.O_CREAT, 0o600); fcntl.flock(lk, fcntl.LOCK_EX); keep.append(lk)
keep.append(os.open(d, os.O_RDONLY | os.O_DIRECTORY))
keep.append(os.open(d, os.O_RDONLY))
keep.extend(os.pipe())
a, b = socket.socketpair(); keep += [a, b]
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(os.path.join(d, 's')); l.listen(1); keep.append(l)
e = os.eventfd(7); keep.append(e)
ep = select.epoll(); ep.register(e, select.EPOLLIN); ep.register(a.fileno(), select.EPOLLIN); keep.append(ep)
libc = ctypes.CDLL(None, use_errno=True)
t = libc.timerfd_create(1, 0); assert t >= 0; keep.append(t)
mask = ctypes.c_ulong((1 << (signal.SIGUSR1 - 1)) | (1 << (signal.SIGUSR2 - 1)))
sf = libc.signalfd(-1, ctypes.byref(mask), 0); assert sf >= 0; keep.append(sf)
ino = libc.inotify_init1(0); assert ino >= 0 and libc.inotify_add_watch(ino, d.encode(), 0x100) >= 0; keep.append(ino)
keep.append(os.pidfd_open(os.getpid()))
keep.append(os.memfd_create('scan-test'))
print('ready', os.getpid(), flush=True)
sys.stdin.read()
`;

interface Started {
  procs: ChildProcess[];
  rich: number;
  sleepers: number[];
  dir: string;
}

let s: Started;

function readyLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    p.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('\n')) resolve(seen.split('\n')[0]!);
    });
    p.once('exit', (code) => reject(new Error(`helper exited (${code}) before it was ready`)));
    p.once('error', reject);
  });
}

test.before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-scan-'));
  fs.writeFileSync(path.join(dir, 'rich.py'), RICH);
  const procs: ChildProcess[] = [];
  s = { procs, rich: 0, sleepers: [], dir };
  const rich = spawn('python3', [path.join(dir, 'rich.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  procs.push(rich);
  // enough processes for the helper to be used (it is not below 48)
  for (let i = 0; i < 60; i++) {
    const p = spawn('sleep', ['600'], { stdio: 'ignore' });
    procs.push(p);
    s.sleepers.push(p.pid!);
  }
  const line = await readyLine(rich);
  assert.is(line.split(' ')[0], 'ready');
  s.rich = Number(line.split(' ')[1]);
});

test.after(() => {
  if (!s) return;
  for (const p of s.procs) {
    p.stdin?.end();
    p.kill('SIGKILL');
  }
  fs.rmSync(s.dir, { recursive: true, force: true });
});

/** The records of a snapshot without what differs from run to run (the scan time). */
function records(snap: Snapshot): string[] {
  return snapshotRecords({ ...snap, ts: 0 }).map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
}

test('parseFdinfoBytes reads every fdinfo file of a process holding every kind of fd as parseFdinfo reads its text', () => {
  const reader = new ProcReader('/proc');
  const fds = reader.listFds(s.rich);
  assert.ok(fds.length >= 20, `${fds.length} fds`);
  const kinds = new Set<string>();
  for (const fd of fds) {
    const text = reader.fdinfoText(s.rich, fd);
    const bytes = Buffer.from(text, 'latin1');
    // the reader hands over a reused buffer longer than the file: stale bytes after n must not count
    const buf = Buffer.concat([bytes, Buffer.from('pos:\t99\nflags:\t07\n')]);
    assert.equal(parseFdinfoBytes(buf, bytes.length), parseFdinfo(text), `fd ${fd}: ${text}`);
    for (const k of Object.keys(parseFdinfo(text) ?? {})) kinds.add(k);
  }
  // the per-type parsers were reached through the fallback
  for (const k of ['eventfd', 'epoll', 'inotify', 'signalfd', 'timerfd', 'pidfd', 'locks', 'scmFds']) assert.ok(kinds.has(k), `no fd showed ${k}`);
});

test('parseFdinfoBytes on texts the fast path must not take: huge numbers, odd spacing, missing lines', () => {
  const cases = [
    'pos:\t18446744073709551000\nflags:\t02100002\nmnt_id:\t27\nino:\t9007199254740993\n',
    'pos:\t0\nflags:\t00100002\nmnt_id:\t27\nino:\t5\n', // a leading zero more than the kernel prints
    'pos:\t0\nflags:\t0\nmnt_id:\t27\nino:\t5\n',
    'pos:  12\nflags:\t02\nmnt_id:\t27\nino:\t5\n',
    'pos:\t1\n\nflags:\t02\n',
    'pos:\t1\nmnt_id:\t27\n',
    'flags:\t02\n',
    'pos:\t1\nflags:\t02\nmnt_id:\t27\nino:\t5\nscm_fds: 3\n',
    'pos:\t1\nflags:\t02\nmnt_id:\t27\nino:\t5\nnew_line_kind:\tx\n',
    'pos:\t1\nflags:\t0209\nmnt_id:\t27\nino:\t5\n',
    'pos:\t1\nflags:\t02\nmnt_id:\t27\nino:\t5', // no final newline
    '',
  ];
  for (const text of cases) assert.equal(parseFdinfoBytes(Buffer.from(text, 'latin1'), text.length), parseFdinfo(text), JSON.stringify(text));
});

test('a snapshot through the native directory-fd reader equals one through Node fs and parseFdinfo', () => {
  assert.is(nativeStatus(), 'ok');
  const pids = [s.rich, ...s.sleepers.slice(0, 3), process.pid];
  const viaNative = snapshotProcesses('/proc', pids, { threads: 1 });
  const { readFdTable: _unused, ...withoutReader } = realNative();
  const viaFs = snapshotProcesses('/proc', pids, { threads: 1, native: withoutReader });
  // this process opens and closes fds as it reads: compare only the processes the test started
  const ours = (snap: Snapshot): Snapshot => ({ ...snap, processes: snap.processes.filter((p) => p.pid !== process.pid) });
  const a = records(ours(viaNative));
  assert.ok(a.length > 30, `${a.length} records`);
  assert.equal(a, records(ours(viaFs)));
});

test('the hand-written NDJSON lines of a whole-machine snapshot are JSON.stringify of its records, byte for byte', () => {
  const snap = snapshotProcesses('/proc', 'all', { threads: 1 });
  const lines: string[] = [];
  eachSnapshotLine(snap, (l) => lines.push(l));
  const want = snapshotRecords(snap).map((r) => JSON.stringify(r));
  assert.ok(want.length > 100, `${want.length} records`);
  assert.ok(lines.some((l) => l.includes('"socket":{')), 'some fd has socket details');
  assert.equal(lines, want);
});

test('the helper process (threads: 2) gives the snapshot one process gives', () => {
  const pids = [s.rich, ...s.sleepers];
  const one = snapshotProcesses('/proc', pids, { threads: 1 });
  const two = snapshotProcesses('/proc', pids, { threads: 2 });
  assert.is(two.processes.length, pids.length);
  assert.equal(records(two), records(one));
  assert.equal(two.ofdGroups, one.ofdGroups);
});

test('the packed reply unpacks to what scanProcess returned, fdinfo of every kind and maps included', () => {
  const reader = new ProcReader('/proc');
  const nat = realNative();
  const cache = new ScanCache();
  const list = [s.rich, s.sleepers[0]!, 2 ** 22 + 7];
  const direct: ScanResult[] = list.map((pid) => scanProcess(reader, nat, pid, [], { all: true, maps: true }, cache));
  assert.is(direct[2], 'exited');
  const packer = new ScanPacker();
  direct.forEach((r, i) => packer.add(i, r));
  const { reply } = packer.reply(null);
  // as it crosses the pipe
  const msg = v8.deserialize(v8.serialize(reply)) as ScanWorkerReply;
  const out = new Array<ScanResult | undefined>(list.length);
  unpackReply(msg, out);
  assert.equal(out, direct);
  const rich = direct[0] as Exclude<ScanResult, string>;
  assert.ok(rich.maps.length > 0 && rich.fds.some((f) => f.info?.epoll) && rich.fds.some((f) => f.info && f.info.pos > 2n ** 40n));
});

test('parseFileMaps (shared values) gives parseMaps filtered to file-backed entries, on real and odd maps', () => {
  const reader = new ProcReader('/proc');
  const intern = new MapIntern();
  const odd = [
    '7f0000000000-7f0000001000 rw-s 00000000 00:0f 2051                       anon_inode:[io_uring]',
    '7f0000001000-7f0000002000 r--p 00000000 00:00 0                          [anon:some/name]',
    '7f0000002000-7f0000003000 r--s 00001000 fe:00 99                         /tmp/a\\012b (deleted)',
    '7f0000003000-7f0000004000 r--p 00000000 00:00 0 ',
    'not a maps line',
  ].join('\n');
  let n = 0;
  for (const text of [odd, reader.mapsText(s.rich), reader.mapsText(process.pid), reader.mapsText(s.sleepers[0]!)]) {
    const want = parseMaps(text).filter(isFileBacked);
    n += want.length;
    assert.equal(parseFileMaps(text, intern), want);
  }
  assert.ok(n > 20, `${n} file-backed mappings`);
  // the second process mapping libc shares its path object with the first
  const a = parseFileMaps(reader.mapsText(s.sleepers[1]!), intern);
  const b = parseFileMaps(reader.mapsText(s.sleepers[2]!), intern);
  assert.ok(a.length > 0 && a[0]!.path === b[0]!.path);
});

test('the helper sends a frame per process that unpacks to what one process reads; scanAll with it gives the same', () => {
  const list: Array<[number, number[]]> = [s.rich, ...s.sleepers].map((pid) => [pid, []]);
  const nat = realNative();
  const one = scanAll('/proc', list, { all: false, maps: true, nat, threads: 1 });
  // the helper alone: this process takes nothing from the queue
  const h = startScanHelper({ all: false, maps: true }, 1);
  assert.ok(h !== null);
  const out = new Array<ScanResult | undefined>(list.length);
  let frames = 0;
  try {
    assert.is(h.queue(list), list.length);
    new FrameReader(h.results, (m) => {
      frames++;
      unpackReply(m, out);
    }).drain(60_000);
  } finally {
    fs.closeSync(h.queueRead);
    h.close();
  }
  assert.is(frames, list.length);
  assert.equal(out, one);
  // both reading: whatever the split, the same result
  const two = scanAll('/proc', list, { all: false, maps: true, nat, helper: startScanHelper({ all: false, maps: true }, 1) });
  assert.equal(two, one);
});

test('frames split across reads are put together, and one cut short at the end is left out', () => {
  const cache = new ScanCache();
  const reader = new ProcReader('/proc');
  const nat = realNative();
  const packed = [s.rich, s.sleepers[0]!].map((pid, i) => {
    const p = new ScanPacker();
    p.add(i, scanProcess(reader, nat, pid, [], { all: false, maps: true }, cache));
    return frame(p.reply(null).reply);
  });
  const bytes = Buffer.concat([packed[0]!, packed[1]!, packed[0]!.subarray(0, 20)]);
  const p = pipe() as [number, number];
  const got: ScanWorkerReply[] = [];
  const frames = new FrameReader(p[0], (m) => got.push(m));
  try {
    // in three pieces that cut the first frame's head and the second's body
    for (const [a, b] of [[0, 2], [2, packed[0]!.length + 7], [packed[0]!.length + 7, bytes.length]] as const) {
      fs.writeSync(p[1], bytes, a, b - a);
      frames.drain(0);
    }
    assert.is(got.length, 2);
    fs.closeSync(p[1]);
    frames.drain(1000);
    assert.is(got.length, 2);
    const out = new Array<ScanResult | undefined>(2);
    for (const m of got) unpackReply(m, out);
    assert.equal(out.map((r) => (typeof r === 'string' || r === undefined ? r : r.pid)), [s.rich, s.sleepers[0]]);
  } finally {
    fs.closeSync(p[0]);
  }
});

test('pipe() and pollIn(): a close-on-exec pipe, readable once written, at end of file once closed', () => {
  const p = pipe();
  assert.ok(Array.isArray(p), JSON.stringify(p));
  const [r, w] = p as [number, number];
  try {
    assert.is(pollIn(r, 0), 'timeout');
    fs.writeSync(w, 'x');
    assert.is(pollIn(r, 1000), 'ready');
    assert.is(fs.readSync(r, Buffer.alloc(4), 0, 4, null), 1);
    fs.closeSync(w);
    assert.is(pollIn(r, 1000), 'ready');
    assert.is(fs.readSync(r, Buffer.alloc(4), 0, 4, null), 0);
    assert.match(fs.readFileSync(`/proc/self/fdinfo/${r}`, 'latin1'), /flags:\t02/);
  } finally {
    fs.closeSync(r);
  }
});

test.run();
