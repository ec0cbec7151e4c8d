// Both ends of a loopback TCP connection named as `ss -tp` names them: a server and a client, two unrelated
// processes the test starts, and each one's snapshot names the other's pid and fd (checked against ss itself).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FdRecord, FdwatchRecord } from '../../src/model/records.js';
import { tcpPair } from '../harness/tcp.js';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');


function snapshot(pid: number): FdRecord[] {
  const r = spawnSync(process.execPath, [BIN, 'snapshot', String(pid), '--json', '-'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `snapshot ${pid}: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as FdwatchRecord).filter((x): x is FdRecord => x.type === 'fd');
}

test('loopback TCP: each end names the process and fd holding the other, as ss -tp does', async () => {
  const pair = tcpPair();
  try {
    const { port, sp, cp, serverFd, clientFd } = await pair.connect();

    // the kernel's other witness: ss pairs the two ends by their addresses
    const ss = spawnSync('ss', ['-tnpH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8', timeout: 60_000 }).stdout;
    assert.match(ss, new RegExp(`pid=${cp},fd=${clientFd}\\)`), ss);
    assert.match(ss, new RegExp(`pid=${sp},fd=${serverFd}\\)`), ss);

    const cfd = snapshot(cp).find((f) => f.fd === clientFd)!;
    const sfd = snapshot(sp).find((f) => f.fd === serverFd)!;
    assert.ok(cfd && sfd, 'both sockets are in the snapshots');
    assert.equal(cfd.socket?.peerOwners, [{ pid: sp, fd: serverFd, comm: 'python3' }]);
    assert.equal(sfd.socket?.peerOwners, [{ pid: cp, fd: clientFd, comm: 'python3' }]);
    assert.is(cfd.socket?.peer, sfd.socket?.inode);
    assert.is(sfd.socket?.peer, cfd.socket?.inode);

    // the text view names the other end too
    const text = spawnSync(process.execPath, [BIN, 'snapshot', String(cp)], { encoding: 'utf8', timeout: 60_000 }).stdout;
    assert.match(text, new RegExp(`-> 127\\.0\\.0\\.1:${port} python3\\[${sp}\\] fd ${serverFd}`), text);
    // a listening socket has no other end
    const listener = snapshot(sp).find((f) => f.target?.includes(`127.0.0.1:${port}]`) && f.fd !== serverFd);
    assert.ok(listener, 'the listener is in the snapshot');
    assert.is(listener!.socket?.peer ?? null, null);
  } finally {
    pair.kill();
  }
});

test.run();
