// glibc's nscd, for real: the root daemon hands its root-only cache file to an unprivileged getent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { MapRecord, ProcessRecord, TransferRecord } from '../../src/model/records.js';
import { fdwatch, records, tmp } from './run.js';

const NSCD = ['/usr/sbin/nscd', '/sbin/nscd'].find((p) => fs.existsSync(p));
const SOCKET = '/var/run/nscd/socket';
const CACHE = '/var/cache/nscd/passwd';

function connectable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(SOCKET, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function startNscd(): Promise<ChildProcess> {
  const conf = path.join(tmp, 'nscd.conf');
  fs.writeFileSync(conf, [
    'paranoia no', 'enable-cache passwd yes', 'positive-time-to-live passwd 600', 'persistent passwd yes',
    'shared passwd yes', 'check-files passwd yes', 'enable-cache group no', 'enable-cache hosts no',
    'enable-cache services no', 'enable-cache netgroup no', '',
  ].join('\n'));
  fs.rmSync(CACHE, { force: true });
  fs.mkdirSync(path.dirname(SOCKET), { recursive: true });
  fs.mkdirSync(path.dirname(CACHE), { recursive: true });
  const d = spawn(NSCD!, ['-F', '-f', conf], { stdio: 'ignore' });
  // ready when its socket accepts a connection (bounded: 100 tries)
  for (let i = 0; i < 100; i++) {
    if (d.exitCode !== null) throw new Error(`nscd exited with ${d.exitCode}`);
    if (await connectable()) return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  d.kill('SIGKILL');
  throw new Error('nscd did not open its socket');
}

test('nscd -> getent (uid 65534): the root-only cache file is delivered and mapped r--s', async () => {
  assert.ok(NSCD, 'nscd is not installed (.ci/run installs the Debian package nscd)');
  assert.is(process.getuid?.(), 0, 'the nscd test needs root');
  const daemon = await startNscd();
  try {
    const json = path.join(tmp, 'nscd.ndjson');
    const r = fdwatch(['--no-tui', '--json', json, '-p', String(daemon.pid), '--',
      'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'getent', 'passwd', 'root']);
    const e = await r.exit;
    assert.is(e.code, 0, r.err());
    assert.match(r.out(), /^root:/m);
    const recs = records(json);
    const t = recs.filter((x): x is TransferRecord => x.type === 'transfer' && x.to?.comm === 'getent');
    assert.is(t.length, 1, JSON.stringify(recs.filter((x) => x.type === 'transfer')));
    assert.equal([t[0]!.state, t[0]!.target, t[0]!.from.pid, t[0]!.from.comm, t[0]!.from.uid, t[0]!.to?.uid],
      ['delivered', CACHE, daemon.pid, 'nscd', 0, 65534]);
    assert.match(t[0]!.from.socket ?? '', /UNIX-STREAM:\[\d+->\d+,?"?\/var\/run\/nscd\/socket/);
    const getent = recs.find((x): x is ProcessRecord => x.type === 'process' && x.event === 'exec' && x.comm === 'getent')!;
    const maps = recs.filter((x): x is MapRecord => x.type === 'map' && x.pid === getent.pid && x.path === CACHE);
    assert.ok(maps.length >= 1);
    assert.equal([maps[0]!.perms, maps[0]!.transferred], ['r--s', true]);
    // read back from /proc/PID/maps while getent still had it: the kernel's inode of the cache file
    assert.is(maps[0]!.inode, fs.statSync(CACHE).ino);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    fs.rmSync(CACHE, { force: true });
    fs.rmSync(SOCKET, { force: true });
  }
});

test.run();
