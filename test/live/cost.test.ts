// fdwatch's own work per event of a live trace: what it reads from /proc for the records of one read of the trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TransferRecord } from '../../src/model/records.js';
import { fdCount } from '../../src/live/trace.js';
import { BIN, passToChild, tmp, underStrace } from './run.js';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// One message of 20 fds from a parent to its child, which dropped root first (a root receiver can open any file: no
// credentials are read for it): 20 delivered transfers from one recvmsg line
const TWENTY = passToChild(20).replace('    a.close()\n', '    a.close()\n    os.setuid(65534)\n');

test('the receiver of 20 fds in one message: its /proc/PID/status is read once for them, not once per fd', async () => {
  // fdwatch's own main thread, traced for what it opens
  const { code, err, recs, log: opened } = await underStrace('openat', 'twenty', TWENTY);
  assert.is(code, 0, err);
  const t = recs.filter((r): r is TransferRecord => r.type === 'transfer');
  assert.is(t.length, 20, 'every fd of the message is a transfer');
  const to = t[0]!.to!.pid!;
  assert.ok(TWENTY.includes('os.setuid(65534)'));
  assert.ok(t.every((x) => x.state === 'delivered' && x.to?.pid === to && x.to.uid === 65534 && x.target === '/etc/hostname'), 'delivered to the child');
  const opens = opened.split('\n').filter((l) => l.includes(`"/proc/${to}/status"`));
  assert.ok(opens.length >= 1, 'the receiver\'s credentials were read');
  assert.ok(opens.length <= 3, `read ${opens.length} times`);
});

test('the fd count of a traced process, sampled each second, is one stat of /proc/PID/fd, not a read of it', async () => {
  const prog = path.join(tmp, 'hold.py');
  // holds 200 fds for 1.5 s: the sampler runs at least once
  fs.writeFileSync(prog, "import os, time\nfds = [os.open('/dev/null', os.O_RDONLY) for _ in range(200)]\nprint(os.getpid(), flush=True)\ntime.sleep(1.5)\n");
  const log = path.join(tmp, 'fdwatch-fdcount.log');
  const c = spawn('strace', ['-o', log, '-e', 'trace=openat,statx,newfstatat', process.execPath, BIN, '--backend', 'strace', '--no-tui', '--only', 'alert', '--', PY, prog],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const code = await new Promise<number | null>((resolve) => c.on('exit', (x) => resolve(x)));
  assert.is(code, 0, err);
  const pid = Number(out.trim());
  assert.ok(pid > 0, `the command said its pid: ${out}`);
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(`"/proc/${pid}/fd"`));
  assert.ok(lines.some((l) => /^(statx|newfstatat)\(/.test(l)), `sampled: ${lines.join('\n')}`);
  assert.equal(lines.filter((l) => l.startsWith('openat(')), [], 'its fd directory was never read');
});

test('fdCount: the fds a process holds, as many as its fd directory lists', async () => {
  const c = spawn(PY, ['-c', "import os, sys\nfds = [os.open('/dev/null', os.O_RDONLY) for _ in range(300)]\nprint('held', flush=True)\nsys.stdin.read()\n"], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => c.stdout!.once('data', () => resolve()));
    const n = fdCount(c.pid!);
    assert.ok(n >= 303, `300 and stdio: ${n}`);
    assert.is(n, fs.readdirSync(`/proc/${c.pid}/fd`).length);
    assert.throws(() => fdCount(2 ** 22 + 1), 'no such process');
  } finally {
    c.kill('SIGKILL');
  }
});

test.run();
