// glibc's nscd, for real: the root daemon hands its root-only cache file to an unprivileged getent.
// The daemon is the test's own, in a mount namespace of its own with fresh tmpfs on its socket and cache
// folders: a host nscd, its socket and its cache are never touched, whether or not the host runs one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import type { AlertRecord, MapRecord, ProcessRecord, TransferRecord } from '../../src/model/records.js';
import { fdwatch, records, tmp, type Running } from './run.js';
import { CACHE, NSCD, SOCKET, fullFifo, inside, listing, startNscd } from './nscd-daemon.js';
import { validate } from '../model/validate.js';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { root } from '../paths.js';

const SCHEMA: unknown = JSON.parse(fs.readFileSync(path.join(root, 'schema', 'fdwatch-v1.schema.json'), 'utf8'));

test('nscd -> getent (uid 65534): the root-only cache file is delivered and mapped r--s', async () => {
  assert.ok(NSCD, 'nscd is not installed (.ci/run installs the Debian package nscd)');
  assert.is(process.getuid?.(), 0, 'the nscd test needs root');
  const host = [path.dirname(SOCKET), path.dirname(CACHE)].map(listing);
  const daemon = await startNscd();
  let r: Running | null = null;
  let stdout: { drain: () => string; close: () => void } | null = null;
  try {
    assert.is.not(fs.readlinkSync(`/proc/${daemon.pid}/ns/mnt`), fs.readlinkSync('/proc/self/ns/mnt'), 'a mount namespace of its own');
    const json = path.join(tmp, 'nscd.ndjson');
    // getent's stdout is a full FIFO: it prints after its lookup, so it holds the mapping until the test reads
    stdout = fullFifo(path.join(tmp, 'getent.out'));
    // the client joins the daemon's namespace, where the socket is
    r = fdwatch(['--no-tui', '--json', json, '-p', String(daemon.pid), '--',
      'nsenter', '-t', String(daemon.pid), '-m', '--', 'sh', '-c',
      'exec setpriv --reuid=65534 --regid=65534 --clear-groups getent passwd root >"$0"', path.join(tmp, 'getent.out')]);
    // setpriv (still root, looking up uid 65534) and then getent each map a cache fd they received
    await r.waitFor(/(?:MAP [^\n]* r--s \/var\/cache\/nscd\/passwd \(fd \d+, transferred\)[^]*){2}/);
    let printed = stdout.drain();
    const e = await r.exit;
    printed += stdout.drain();
    assert.is(e.code, 0, r.err());
    assert.match(printed, /^root:x:0:0:/m);
    const recs = records(json);
    const t = recs.filter((x): x is TransferRecord => x.type === 'transfer' && x.to?.comm === 'getent');
    assert.is(t.length, 1, JSON.stringify(recs.filter((x) => x.type === 'transfer')));
    assert.equal([t[0]!.state, t[0]!.target, t[0]!.from.pid, t[0]!.from.comm, t[0]!.from.uid, t[0]!.to?.uid],
      ['delivered', CACHE, daemon.pid, 'nscd', 0, 65534]);
    assert.match(t[0]!.from.socket ?? '', /UNIX-STREAM:\[\d+->\d+,?"?\/var\/run\/nscd\/socket/);
    const exec = recs.findIndex((x) => x.type === 'process' && x.event === 'exec' && x.comm === 'getent');
    assert.ok(exec >= 0, 'getent exec record');
    const getent = recs[exec] as ProcessRecord;
    // setpriv dropped root before it exec'd getent: one setuid record for that process, 0 -> 65534
    const setuid = recs.filter((x): x is ProcessRecord => x.type === 'process' && x.event === 'setuid');
    assert.equal(setuid.map((x) => [x.pid, x.fromUid, x.uid]), [[getent.pid, 0, 65534]]);
    assert.ok(recs.indexOf(setuid[0]!) < exec, 'before the exec');
    assert.match(r.err() + r.out(), new RegExp(`setpriv\\[${getent.pid}\\] SETUID uid 0 -> 65534`));
    const maps = recs.slice(exec).filter((x): x is MapRecord => x.type === 'map' && x.pid === getent.pid && x.path === CACHE);
    assert.is(maps.length, 1, JSON.stringify(maps));
    assert.equal([maps[0]!.perms, maps[0]!.transferred], ['r--s', true]);
    // read back from /proc/PID/maps while getent still had it: the kernel's inode of the daemon's cache file
    const cache = fs.statSync(inside(daemon.pid!, CACHE));
    assert.is(maps[0]!.inode, cache.ino);
    assert.is(cache.mode & 0o777, 0o600, 'root-only');
    // issue 14: getent (uid 65534) could not have opened the 0600 root file it got: a warning, and the uid crossing
    const alerts = recs.filter((x): x is AlertRecord => x.type === 'alert');
    const priv = alerts.filter((a) => a.kind === 'privilege-crossing');
    assert.is(priv.length, 1, JSON.stringify(alerts));
    assert.equal([priv[0]!.pid, priv[0]!.severity, priv[0]!.file, priv[0]!.fromUid, priv[0]!.toUid, priv[0]!.access],
      [getent.pid, 'warning', { mode: '0600', uid: 0, gid: 0 }, 0, 65534, 'r']);
    const uids = alerts.filter((a) => a.kind === 'uid-crossing');
    assert.is(uids.length, 1, JSON.stringify(alerts));
    assert.equal([uids[0]!.severity, uids[0]!.file?.mode, uids[0]!.fromUid, uids[0]!.toUid], ['info', '0600', 0, 65534]);
    // setpriv, still root, received the same file: root may open it, and no uid was crossed: no alert of its own
    assert.is(recs.filter((x) => x.type === 'transfer' && x.to?.comm === 'setpriv').length, 1);
    assert.is(alerts.length, 2, JSON.stringify(alerts));
    for (const a of alerts) assert.equal(validate(SCHEMA, a), [], JSON.stringify(a));
    // line mode shows it readably
    assert.match(r.err() + r.out(), /privilege-crossing[^\n]*mode 0600[^\n]*uid 0 → 65534/);
  } finally {
    // on a failure: getent may still wait on its stdout, and fdwatch on it
    stdout?.drain();
    if (r && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await r?.exit;
    stdout?.close();
    daemon.kill('SIGTERM');
    if (daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  }
  assert.equal([path.dirname(SOCKET), path.dirname(CACHE)].map(listing), host, "the host's nscd folders are as they were");
});

const noBpf = bpfUnavailable();
if (noBpf) console.log(`  eBPF nscd test skipped: ${noBpf}`);

(noBpf ? test.skip : test)('eBPF backend: the same privilege-crossing (0600 root cache, uid 0 → 65534, read) from the same /proc stat', async () => {
  assert.ok(NSCD, 'nscd is not installed (.ci/run installs the Debian package nscd)');
  const host = [path.dirname(SOCKET), path.dirname(CACHE)].map(listing);
  const daemon = await startNscd();
  let r: Running | null = null;
  try {
    const json = path.join(tmp, 'nscd-bpf.ndjson');
    r = fdwatch(['--backend', 'bpf', '--no-tui', '--json', json, '-p', String(daemon.pid), '--',
      'nsenter', '-t', String(daemon.pid), '-m', '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'getent', 'passwd', 'root']);
    const e = await r.exit;
    assert.is(e.code, 0, r.err());
    const recs = records(json);
    const alerts = recs.filter((x): x is AlertRecord => x.type === 'alert');
    const getent = recs.find((x): x is TransferRecord => x.type === 'transfer' && x.to?.comm === 'getent');
    assert.ok(getent, JSON.stringify(recs.filter((x) => x.type === 'transfer')));
    assert.equal(alerts.map((a) => [a.kind, a.pid, a.severity, a.file, a.fromUid, a.toUid, a.access]), [
      ['privilege-crossing', getent!.to!.pid, 'warning', { mode: '0600', uid: 0, gid: 0 }, 0, 65534, 'r'],
      ['uid-crossing', getent!.to!.pid, 'info', { mode: '0600', uid: 0, gid: 0 }, 0, 65534, 'r'],
    ]);
  } finally {
    if (r && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await r?.exit;
    // fdwatch SIGKILLs its bpftrace and does not wait while the kernel frees the probes: the test does
    assert.ok(await bpftraceGone(15000), 'bpftrace left running');
    daemon.kill('SIGTERM');
    if (daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  }
  assert.equal([path.dirname(SOCKET), path.dirname(CACHE)].map(listing), host, "the host's nscd folders are as they were");
});

/** No bpftrace left in this test file's process group (the runner gives each file its own). */
async function bpftraceGone(ms: number): Promise<boolean> {
  const pgrp = (stat: string): string => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]!;
  const ours = pgrp(fs.readFileSync('/proc/self/stat', 'utf8'));
  for (const end = Date.now() + ms; Date.now() < end;) {
    const left = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).some((d) => {
      try {
        const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return st.includes('(bpftrace)') && pgrp(st) === ours;
      } catch { return false; }
    });
    if (!left) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test.run();
