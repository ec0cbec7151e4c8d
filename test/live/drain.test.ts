// What keeps strace waiting on fdwatch's FIFO: nothing on the drain path walks /proc for a socket only traced
// processes can hold, and the readable lines of one read of the trace go out in one write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TransferRecord } from '../../src/model/records.js';
import { lineBatch } from '../../src/cli/live-common.js';
import { BIN, records, tmp } from './run.js';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// A parent passes a file over a socketpair to its child, which takes 0.6 s to receive it: the message waits,
// queued, through several of fdwatch's polls of sockets nobody traced receives from.
const SLOW_RECEIVER = String.raw`
import os, socket, time
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
pid = os.fork()
if pid == 0:
    a.close()
    time.sleep(0.6)
    msg, fds, flags, addr = socket.recv_fds(b, 16, 4)
    os._exit(0 if len(fds) == 1 else 1)
b.close()
f = os.open('/etc/hostname', os.O_RDONLY)
socket.send_fds(a, [b'x'], [f])
_, st = os.waitpid(pid, 0)
os._exit(os.waitstatus_to_exitcode(st))
`;

test('a socket made in the trace and held only by traced processes: no walk over every process\'s fds while it waits', async () => {
  const prog = path.join(tmp, 'slow_receiver.py');
  fs.writeFileSync(prog, SLOW_RECEIVER);
  const json = path.join(tmp, 'slow.ndjson');
  const log = path.join(tmp, 'fdwatch-readlinks.log');
  // fdwatch's own main thread, traced for its readlinks (not -f: the strace it runs is left alone)
  const c = spawn('strace', ['-o', log, '-e', 'trace=readlink,readlinkat', process.execPath, BIN, '--no-tui', '--json', json, '--', PY, prog],
    { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const code = await new Promise<number | null>((resolve) => c.on('exit', (x) => resolve(x)));
  assert.is(code, 0, err);
  const t = records(json).filter((r): r is TransferRecord => r.type === 'transfer');
  assert.equal(t.map((x) => [x.state, x.target]), [['delivered', '/etc/hostname']], 'the slow receive is seen');
  const mine = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(`"/proc/${process.pid}/fd/`));
  assert.ok(fs.readFileSync(log, 'utf8').includes('readlink'), 'the readlinks are in the log');
  assert.equal(mine, [], 'the fds of this test runner (never traced, holding no socket of the trace) were not read');
});

test('lines added in one turn of the event loop are written once, in order; flush writes what is pending now', async () => {
  const writes: string[] = [];
  const b = lineBatch((s) => writes.push(s));
  for (let i = 0; i < 500; i++) b.add(`line ${i}`);
  assert.equal(writes, [], 'nothing yet: the turn is not over');
  await new Promise((r) => setImmediate(r));
  assert.is(writes.length, 1);
  assert.is(writes[0], Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join(''));
  b.add('before a message');
  b.flush();
  assert.equal(writes.slice(1), ['before a message\n'], 'flush: a status message comes after the lines before it');
  await new Promise((r) => setImmediate(r));
  assert.is(writes.length, 2, 'nothing left to write');
  // a long burst goes out in pieces of about 64 KiB, never held whole
  const long = 'x'.repeat(1000);
  for (let i = 0; i < 200; i++) b.add(long);
  assert.ok(writes.length >= 4, `written as it grows: ${writes.length}`);
  b.flush();
  assert.is(writes.slice(2).join(''), (long + '\n').repeat(200));
});

test.run();
