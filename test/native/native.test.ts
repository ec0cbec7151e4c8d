// The koffi layer against the live kernel: kcmp, pidfd_open/getfd, sock_diag, the fd-table reader,
// and the typed "unavailable" when native calls are switched off.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kcmpFile, nativeStatus, pidfdGetfd, pidfdOpen, readFdTable, unixDiag, isUnavailable } from '../../src/native/index.js';
import { ProcReader } from '../../src/procfs/reader.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function asFd(x: number | { failed: string } | { unavailable: string }): number {
  if (typeof x !== 'number') throw new Error(`expected an fd, got ${JSON.stringify(x)}`);
  return x;
}

/** A child that holds a pipe on stdin and says when it runs. */
async function startCat(): Promise<ChildProcess> {
  const c = spawn('sh', ['-c', 'echo up; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('error', reject);
  });
  return c;
}

test('native loads here (koffi + libc) and kcmp works', () => {
  assert.is(nativeStatus(), 'ok');
});

test('kcmp: an fd is its own open file description; two opens of one file are not', () => {
  const a = fs.openSync('/etc/hostname', 'r');
  const b = fs.openSync('/etc/hostname', 'r');
  try {
    assert.is(kcmpFile(process.pid, a, process.pid, a), 'same');
    assert.is(kcmpFile(process.pid, a, process.pid, b), 'different');
    assert.equal(kcmpFile(process.pid, 987654, process.pid, a), { failed: 'EBADF' });
    assert.equal(kcmpFile(2 ** 22 + 1, 0, process.pid, a), { failed: 'ESRCH' });
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
  }
});

test('pidfd_getfd takes a child fd into this process: kcmp proves it is the same description', async () => {
  const child = await startCat();
  let pidfd = -1;
  let taken = -1;
  try {
    pidfd = asFd(pidfdOpen(child.pid!));
    taken = asFd(pidfdGetfd(pidfd, 0));
    assert.is(kcmpFile(child.pid!, 0, process.pid, taken), 'same');
    assert.is(kcmpFile(child.pid!, 0, child.pid!, 1), 'different');
    assert.equal(pidfdGetfd(pidfd, 4242), { failed: 'EBADF' });
    assert.equal(pidfdOpen(2 ** 22 + 1), { failed: 'ESRCH' });
  } finally {
    if (taken >= 0) fs.closeSync(taken);
    if (pidfd >= 0) fs.closeSync(pidfd);
    child.kill('SIGKILL');
  }
});

test('sock_diag: a connected pair and a listener in this process, as the kernel names them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-diag-'));
  const sockPath = path.join(dir, 'l.sock');
  const server = net.createServer();
  let accepted: net.Socket | null = null;
  const gotConn = new Promise<void>((resolve) => server.on('connection', (s) => ((accepted = s), resolve())));
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  const client = net.connect(sockPath);
  try {
    await Promise.all([gotConn, new Promise<void>((resolve) => client.once('connect', () => resolve()))]);
    // our socket inodes, from our own fd table
    const inodes = fs
      .readdirSync('/proc/self/fd')
      .map((fd) => { try { return fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } })
      .map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number);
    const diag = unixDiag();
    if (isUnavailable(diag)) throw new Error(diag.unavailable);
    const ours = inodes.map((i) => diag.get(i)).filter((s) => s !== undefined);
    const listener = ours.find((s) => s.state === 10 && s.name === sockPath);
    assert.ok(listener, 'the listening socket, named by its path');
    const connected = ours.filter((s) => s.peer !== null && inodes.includes(s.peer));
    assert.is(connected.length, 2, 'both ends of the connection are ours');
    assert.is(connected[0]!.peer, connected[1]!.inode);
    assert.is(connected[1]!.peer, connected[0]!.inode);
    const serverEnd = connected.find((s) => s.name === sockPath);
    assert.ok(serverEnd, 'the accepted socket carries the listener name');
    // /proc/net/unix agrees on which inodes exist
    const procUnix = fs.readFileSync('/proc/net/unix', 'utf8');
    for (const s of connected) assert.match(procUnix, new RegExp(` ${s.inode}( |\\n|$)`));
  } finally {
    client.destroy();
    (accepted as net.Socket | null)?.destroy();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readFdTable (directory fds) reads what the plain fs reader reads', async () => {
  const child = await startCat();
  try {
    const reader = new ProcReader('/proc');
    const viaNative = readFdTable(reader.path(child.pid!, 'fd'), reader.path(child.pid!, 'fdinfo'));
    if (isUnavailable(viaNative) || 'failed' in viaNative) throw new Error(JSON.stringify(viaNative));
    const viaFs = reader.fdTable(child.pid!);
    assert.equal(viaNative.fds.map(({ fd, link, fdinfo }) => ({ fd, link, fdinfo })), viaFs.fds);
    assert.ok(viaNative.fds.length >= 3);
    assert.equal(readFdTable(reader.path(2 ** 22 + 1, 'fd'), null), { failed: 'ENOENT' });
  } finally {
    child.kill('SIGKILL');
  }
});

test('FDWATCH_NATIVE=off: every call is a typed unavailable, and a snapshot still runs and says so', () => {
  const nativeJs = path.resolve(here, '../../src/native/index.js');
  const cliJs = path.resolve(here, '../../src/cli/snapshot.js');
  const script = `
    const n = await import(${JSON.stringify(nativeJs)});
    const r = { status: n.nativeStatus(), kcmp: n.kcmpFile(process.pid, 0, process.pid, 0), pidfd: n.pidfdOpen(process.pid), diag: n.unixDiag() };
    process.stderr.write(JSON.stringify(r) + '\\n');
    const net = await import('node:net');
    const server = net.createServer().listen(${JSON.stringify('\0fdwatch-test-')} + process.pid);
    await new Promise((resolve) => server.once('listening', resolve));
    const { runSnapshot } = await import(${JSON.stringify(cliJs)});
    process.exitCode = await runSnapshot({ pids: [process.pid], json: null });
    server.close();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, FDWATCH_NATIVE: 'off' }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const first = JSON.parse(r.stderr.split('\n')[0]!) as Record<string, unknown>;
  const off = { unavailable: 'disabled by FDWATCH_NATIVE=off' };
  assert.equal(first, { status: off, kcmp: off, pidfd: off, diag: off });
  assert.match(r.stdout, `PID ${r.pid}`);
  assert.match(r.stdout, 'kcmp unavailable: disabled by FDWATCH_NATIVE=off');
  assert.match(r.stdout, 'socket peers unavailable: disabled by FDWATCH_NATIVE=off');
  assert.match(r.stdout, /UNIX-STREAM ino \d+ "@fdwatch-test-\d+@*" listening/, 'names still come from /proc/net/unix');
});

test("koffi's native module is loaded straight from its platform package on glibc Linux, without koffi's JS loader", () => {
  const nativeJs = path.resolve(here, '../../src/native/index.js');
  const script = `
    const n = await import(${JSON.stringify(nativeJs)});
    const { createRequire } = await import('node:module');
    const status = n.nativeStatus();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    // process.dlopen keeps no require.cache entry: the mapped file says what was loaded
    const mapped = new Set((await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5] ?? '').filter((f) => f.endsWith('/koffi.node')));
    process.stdout.write(JSON.stringify({ status, koffiJs: loaded.filter((f) => /[\\/]koffi[\\/].*\\.c?js$/.test(f)), node: mapped.size, file: [...mapped][0] ?? null }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { status: unknown; koffiJs: string[]; node: number; file: string | null };
  assert.is(got.status, 'ok');
  assert.is(got.node, 1, 'the native module is loaded');
  // where musl's loader exists the fast path is not taken (koffi's loader tells glibc and musl builds apart)
  if (!fs.existsSync(`/lib/ld-musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`)) {
    assert.equal(got.koffiJs, []);
    assert.match(got.file ?? '', /[\\/]node_modules[\\/]@koromix[\\/]koffi-linux-[^/]+[\\/]linux_[^/]+[\\/]koffi\.node$/, 'from its platform package');
  }
});

test.run();
