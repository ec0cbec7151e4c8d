// A sender outside the trace, named by what the trace shows: the client connected to /var/run/nscd/socket, so the
// fds it receives come from the server of that path (real strace output of nscd's client, the daemon untraced).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FdwatchRecord, TransferRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

const BIN = path.join(root, 'bin', 'fdwatch.js');
const LOG = path.join(root, 'fixtures', 'traces', 'nscd', 'client-only.log');

test('replay of the client alone: the sender is the server of the path the client connected to', () => {
  const r = spawnSync(process.execPath, [BIN, 'replay', LOG, '--json', '-'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const ts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as FdwatchRecord).filter((x): x is TransferRecord => x.type === 'transfer');
  assert.is(ts.length, 2);
  for (const t of ts) {
    assert.equal([t.state, t.from.pid, t.to?.fd, t.target], ['delivered', null, 4, '/var/cache/nscd/passwd']);
    // the other end of the client's socket, with the path as strace prints it on the server's accepted socket
    const m = /^UNIX-STREAM:\[(\d+)->(\d+)\]$/.exec(t.to!.socket ?? '');
    assert.ok(m, t.to!.socket ?? 'null');
    assert.is(t.from.socket, `UNIX-STREAM:[${m![2]}->${m![1]},"/var/run/nscd/socket"]`);
  }
  const text = spawnSync(process.execPath, [BIN, 'replay', LOG], { encoding: 'utf8' }).stdout;
  assert.match(text, /server of \/var\/run\/nscd\/socket fd \?  --SCM_RIGHTS-->  getent\[22788\] fd 4  \/var\/cache\/nscd\/passwd  delivered/);
});

test('a sender outside the trace with no connect() in it stays unnamed', () => {
  // the same log without its connect lines: nothing says where the socket leads
  const r = spawnSync(process.execPath, [BIN, 'replay', '-', '--json', '-'], {
    encoding: 'utf8', input: spawnSync('grep', ['-v', 'connect(', LOG], { encoding: 'utf8' }).stdout,
  });
  assert.is(r.status, 0, r.stderr);
  const ts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as FdwatchRecord).filter((x): x is TransferRecord => x.type === 'transfer');
  assert.is(ts.length, 2);
  for (const t of ts) assert.match(t.from.socket ?? '', /^UNIX-STREAM:\[\d+->\d+\]$/);
});

test.run();
