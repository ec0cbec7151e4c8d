// Live snapshots of processes the test starts (python3 with socket.send_fds), checked against the
// kernel's other witnesses: ss -xp for socket peers, ls /proc/PID/fd for fd sets, kcmp for grouping.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderSnapshotText, runSnapshot } from '../../src/cli/snapshot.js';
import type { FdRecord, FdwatchRecord, MapRecord, ProcessRecord } from '../../src/model/records.js';
import { snapshotProcesses, type ProcessSnapshot, type Snapshot } from '../../src/procfs/snapshot.js';
import { worldReadableCopy } from '../harness/unprivileged.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// Parent P forks child C before opening anything, then: opens DATA twice (fd, again), sends fd to C over a
// socketpair (C maps it MAP_SHARED), accepts C's connection on a named listener, and sends `again` twice
// into a socketpair nobody reads (2 in flight). A thread of P gives a tid. One line on stdout says ready.
const HELPER = String.raw`
import os, socket, sys, mmap, threading
data, sock_path = sys.argv[1], sys.argv[2]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sock_path)
listener.listen(4)
a, b = socket.socketpair()
r_ready, w_ready = os.pipe()
child = os.fork()
if child == 0:
    listener.close(); a.close(); os.close(r_ready)
    msg, fds, flags, addr = socket.recv_fds(b, 16, 4)
    m = mmap.mmap(fds[0], 0, mmap.MAP_SHARED, mmap.PROT_READ)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock_path)
    os.write(w_ready, f"{fds[0]} {c.fileno()}\n".encode())
    sys.stdin.read()
    os._exit(0)
b.close(); os.close(w_ready)
fd = os.open(data, os.O_RDONLY)
again = os.open(data, os.O_RDONLY)
socket.send_fds(a, [b"x"], [fd])
conn, _ = listener.accept()
c, d = socket.socketpair()
socket.send_fds(c, [b"y"], [again, again])
recv_fd, child_sock = os.read(r_ready, 100).decode().split()
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
print(f"ready {os.getpid()} {child} {fd} {again} {recv_fd} {child_sock} {conn.fileno()} {d.fileno()} {t.native_id}", flush=True)
sys.stdin.read()
stop.set()
`;

interface Helper {
  proc: ChildProcess;
  dir: string;
  data: string;
  sockPath: string;
  parent: number;
  child: number;
  fd: number;
  again: number;
  recvFd: number;
  childSock: number;
  conn: number;
  inFlightSock: number;
  tid: number;
}

async function startHelper(): Promise<Helper> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-live-'));
  const data = path.join(dir, 'cache file');
  fs.writeFileSync(data, 'x'.repeat(8192));
  const sockPath = path.join(dir, 'l.sock');
  fs.writeFileSync(path.join(dir, 'helper.py'), HELPER);
  const proc = spawn('python3', [path.join(dir, 'helper.py'), data, sockPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  let line: string;
  try {
    line = await new Promise<string>((resolve, reject) => {
      let seen = '';
      proc.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('\n')) resolve(seen.split('\n')[0]!);
      });
      proc.once('exit', (code) => reject(new Error(`helper exited (${code}) before it was ready`)));
      proc.once('error', reject);
    });
  } catch (err) {
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const f = line.split(' ').map(Number);
  assert.is(line.split(' ')[0], 'ready');
  return {
    proc, dir, data, sockPath,
    parent: f[1]!, child: f[2]!, fd: f[3]!, again: f[4]!, recvFd: f[5]!, childSock: f[6]!, conn: f[7]!, inFlightSock: f[8]!, tid: f[9]!,
  };
}

function stopHelper(h: Helper): void {
  h.proc.stdin?.end();
  for (const pid of [h.child, h.parent]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(h.dir, { recursive: true, force: true });
}

let h: Helper;
let snap: Snapshot;
const proc = (pid: number): ProcessSnapshot => snap.processes.find((p) => p.pid === pid)!;
const fdOf = (pid: number, fd: number) => proc(pid).fds.find((f) => f.fd === fd)!;

test.before(async () => {
  h = await startHelper();
  snap = snapshotProcesses('/proc', [h.parent, h.child]);
});
test.after(() => {
  if (h) stopHelper(h);
});

test('a fd passed over a socketpair is one open file description with the sender fd (kcmp); a second open is not', () => {
  assert.is(snap.native.kcmp, 'ok');
  const sent = fdOf(h.parent, h.fd);
  const received = fdOf(h.child, h.recvFd);
  assert.is(sent.target, h.data);
  assert.is(received.target, h.data);
  assert.ok(sent.ofd !== null);
  assert.is(received.ofd, sent.ofd);
  assert.is.not(fdOf(h.parent, h.again).ofd, sent.ofd, 'a separate open() of the same file');
  const group = snap.ofdGroups.find((g) => g.id === sent.ofd)!;
  const members = group.members.map((m) => `${m.pid}:${m.fd}`);
  assert.ok(members.includes(`${h.parent}:${h.fd}`) && members.includes(`${h.child}:${h.recvFd}`), members.join(' '));
  // python's mmap keeps a dup() of the fd it maps: that dup belongs to the group too, and nothing else
  const dups = proc(h.child).fds.filter((f) => f.fd !== h.recvFd && f.target === h.data);
  assert.is(members.length, 2 + dups.length);
  for (const d of dups) assert.is(d.ofd, sent.ofd);
  assert.match(renderSnapshotText(snap), `fd ${h.fd}, `);
});

test('socket peers equal what ss -xp reports, fd by fd', () => {
  const ss = spawnSync('ss', ['-xpn'], { encoding: 'utf8' });
  assert.is(ss.status, 0, ss.stderr);
  let compared = 0;
  for (const line of ss.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 9) continue;
    const local = Number(cols[5]);
    const peer = Number(cols[7]);
    for (const m of line.matchAll(/pid=(\d+),fd=(\d+)/g)) {
      const pid = Number(m[1]);
      if (pid !== h.parent && pid !== h.child) continue;
      const f = fdOf(pid, Number(m[2]));
      assert.ok(f, `fd ${m[2]} of ${pid} listed`);
      assert.is(f.socket?.inode, local, `inode of ${pid}:${m[2]}`);
      assert.is(f.socket?.peer ?? 0, peer, `peer of ${pid}:${m[2]}`);
      compared++;
    }
  }
  assert.ok(compared >= 6, `compared ${compared} sockets with ss`);
  const childSock = fdOf(h.child, h.childSock).socket!;
  assert.equal(childSock.peerOwners, [{ pid: h.parent, fd: h.conn, comm: proc(h.parent).comm }]);
  assert.is(childSock.peerName, h.sockPath);
  assert.match(renderSnapshotText(snap), `UNIX-STREAM ino ${childSock.inode} -> ${childSock.peer} ${proc(h.parent).comm}[${h.parent}] fd ${h.conn} "${h.sockPath}"`);
});

test('the MAP_SHARED mapping of the received file is listed', () => {
  const m = proc(h.child).maps.find((x) => x.path.type === 'path' && x.path.path === h.data);
  assert.ok(m, 'mapping listed');
  assert.is(m!.perms, 'r--s');
  assert.is(m!.shared, true);
  assert.match(renderSnapshotText(snap), `${h.data}  MAP_SHARED`);
});

test('the fd set of each process equals ls /proc/PID/fd', () => {
  for (const pid of [h.parent, h.child]) {
    const ls = spawnSync('ls', [`/proc/${pid}/fd`], { encoding: 'utf8' });
    assert.is(ls.status, 0);
    const want = ls.stdout.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);
    assert.equal(proc(pid).fds.map((f) => f.fd), want, `pid ${pid}`);
  }
});

test('fds in flight: scm_fds on the receiving socket, per socket and in total', () => {
  assert.is(fdOf(h.parent, h.inFlightSock).inFlight, 2);
  assert.is(snap.inFlightTotal, 2);
  assert.match(renderSnapshotText(snap), 'In-flight fds (sent over a Unix socket, not yet received): 2');
});

test('a thread id resolves to its thread group', () => {
  assert.is.not(h.tid, h.parent);
  const s = snapshotProcesses('/proc', [h.tid]);
  assert.equal(s.processes.map((p) => [p.pid, p.requestedTids]), [[h.parent, [h.tid]]]);
});

test('whole machine: both processes, grouped the same way', () => {
  const all = snapshotProcesses('/proc', 'all');
  const g = all.ofdGroups.find((x) => x.members.some((m) => m.pid === h.child && m.fd === h.recvFd))!;
  assert.ok(g.members.some((m) => m.pid === h.parent && m.fd === h.fd));
  assert.ok(all.processes.some((p) => p.pid === process.pid), 'this process too');
});

test('--json FILE: process, fd and map records with the downstream fields', async () => {
  const out = path.join(h.dir, 'out.ndjson');
  assert.is(await runSnapshot({ pids: [h.child], json: out }), 0);
  const recs = fs.readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as FdwatchRecord);
  const p = recs[0] as ProcessRecord;
  assert.is(p.type, 'process');
  assert.is(p.event, 'snapshot');
  assert.is(p.pid, h.child);
  assert.is(p.ppid, h.parent);
  const sock = recs.find((r): r is FdRecord => r.type === 'fd' && r.fd === h.childSock)!;
  assert.equal(Object.keys(sock).sort(), ['cloexec', 'fd', 'flags', 'inFlight', 'kind', 'ofd', 'op', 'pid', 'pos', 'socket', 'syscall', 'target', 'ts', 'type', 'v'].sort());
  assert.is(sock.op, 'snapshot');
  assert.equal(sock.socket!.peerOwners, [{ pid: h.parent, fd: h.conn, comm: p.comm === null ? null : sock.socket!.peerOwners![0]!.comm }]);
  assert.is(sock.socket!.path, h.sockPath);
  const file = recs.find((r): r is FdRecord => r.type === 'fd' && r.fd === h.recvFd)!;
  assert.is(file.kind, 'file');
  assert.is(file.pos, 0);
  assert.type(file.flags, 'string');
  assert.type(file.ofd, 'string');
  const map = recs.find((r): r is MapRecord => r.type === 'map' && r.path === h.data)!;
  assert.is(map.perms, 'r--s');
  assert.match(map.start, /^0x[0-9a-f]+$/);
  assert.type(map.inode, 'number');
  assert.type(map.dev, 'string');
});

test('a pid that does not exist: one line on stderr, exit 1', () => {
  const cli = path.resolve(here, '../../src/cli/snapshot.js');
  const script = `const { runSnapshot } = await import(${JSON.stringify(cli)}); process.exitCode = await runSnapshot({ pids: [${2 ** 22 + 7}], json: null });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.is(r.stderr, `fdwatch: no such process: ${2 ** 22 + 7}\n`);
  assert.is(r.stdout, '');
});

test('as an unprivileged user: root processes give a partial result with a note; a whole-machine scan skips them', () => {
  // the child loads a world-readable copy: uid 65534 may not enter the folder the checkout is in
  const copy = worldReadableCopy(['koffi']);
  let r: SpawnSyncReturns<string>;
  try {
    const script = `
      const { runSnapshot } = await import(${JSON.stringify(copy.path('dist/src/cli/snapshot.js'))});
      const { snapshotProcesses } = await import(${JSON.stringify(copy.path('dist/src/procfs/snapshot.js'))});
      const code = await runSnapshot({ pids: [${h.parent}], json: '-' });
      const all = snapshotProcesses('/proc', 'all');
      process.stderr.write(JSON.stringify({ code, skipped: all.skipped, pids: all.processes.map((p) => p.pid) }) + '\\n');
    `;
    r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', uid: 65534, gid: 65534, cwd: '/' });
  } finally {
    copy.remove();
  }
  const failed = (why: string): string =>
    `the child (uid 65534, ${process.execPath}) ${why}: ${r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`)}; its stderr:\n${r.stderr}`;
  assert.is(r.status, 0, failed('failed'));
  let summary: { code: number; skipped: { permissionDenied: number }; pids: number[] };
  try {
    summary = JSON.parse(r.stderr.trim().split('\n').pop()!) as typeof summary;
  } catch {
    assert.unreachable(failed('printed no JSON summary as its last line'));
    return;
  }
  assert.is(summary.code, 0);
  const first = JSON.parse(r.stdout.split('\n')[0]!) as ProcessRecord;
  assert.is(first.pid, h.parent);
  assert.is(first.comm, proc(h.parent).comm, 'status is world-readable');
  assert.match(first.note ?? '', 'permission denied: fd');
  assert.ok(summary.skipped.permissionDenied > 0);
  assert.not.ok(summary.pids.includes(h.parent));
});

test.run();
