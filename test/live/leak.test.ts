// fd-leak live, under strace: fixtures/programs/fdleak.c keeping what it is sent (and its sender keeping what it
// sent) against the same program closing everything; fixtures/programs/fdgrow.c growing its fd table every second
// against one whose table stays flat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import type { AlertRecord, ProcessRecord } from '../../src/model/records.js';
import { fdwatch, records, compile, tmp } from './run.js';

const leaks = (file: string): AlertRecord[] => records(file).filter((r): r is AlertRecord => r.type === 'alert' && r.kind === 'fd-leak');
const forked = (file: string): ProcessRecord[] => records(file).filter((r): r is ProcessRecord => r.type === 'process' && r.event === 'fork');

test('fd-leak live: the receiver that keeps 40 fds is flagged at 16 and 32, its sender too; the tidy run is not', async () => {
  const exe = compile('fdleak');
  const run = (mode: string) => {
    const json = path.join(tmp, `fdleak-${mode}.ndjson`);
    return { json, r: fdwatch(['--no-tui', '--leak-threshold', '16', '--json', json, '--', exe, mode, '40']) };
  };
  const leak = run('leak');
  const tidy = run('tidy');
  const [el, et] = await Promise.all([leak.r.exit, tidy.r.exit]);
  assert.is(el.code, 0, leak.r.err());
  assert.is(et.code, 0, tidy.r.err());
  const child = forked(leak.json)[0]!;
  const got = leaks(leak.json).map((a) => [a.leak, a.pid, a.count]);
  assert.equal(got.filter((g) => g[0] === 'received'), [['received', child.pid, 16], ['received', child.pid, 32]]);
  assert.equal(got.filter((g) => g[0] === 'sent'), [['sent', child.ppid, 16], ['sent', child.ppid, 32]]);
  assert.match(leak.r.err(), /ALERT fd-leak: fdleak\[\d+\] holds 16 fds received from fdleak\[\d+\] and never used or closed: fd 3 \/etc\/hostname/);
  assert.equal(leaks(tidy.json), []);
  assert.is(records(tidy.json).filter((r) => r.type === 'transfer').length, 40, 'the tidy run was traced as fully');
});

test('fd-leak live: an fd count that grows at every sample is flagged with its growth; a flat one is not', async () => {
  const exe = compile('fdgrow');
  const json = path.join(tmp, 'fdgrow.ndjson');
  const r = fdwatch(['--no-tui', '--leak-threshold', '8', '--json', json, '--', '/bin/sh', '-c', `${exe} steady & ${exe} grow & wait`]);
  await r.waitFor(/ALERT fd-leak: fdgrow\[\d+\] fd count keeps growing/, 30000);
  r.child.kill('SIGINT');
  const e = await r.exit;
  assert.is(e.code, 130, r.err());
  const a = leaks(json);
  assert.is(a.length, 1, JSON.stringify(a));
  const execs = records(json).filter((x): x is ProcessRecord => x.type === 'process' && x.event === 'exec' && x.comm === 'fdgrow');
  assert.is(execs.length, 2);
  const grower = execs.find((x) => records(json).some((y) => y.type === 'fd' && y.pid === x.pid && y.op === 'open' && y.fd > 10))!;
  assert.is(a[0]!.pid, grower.pid, 'the grower, not the steady one');
  assert.is(a[0]!.leak, 'growth');
  assert.ok(a[0]!.growth! >= 8, `growth ${a[0]!.growth}`);
  assert.ok(a[0]!.count! >= a[0]!.growth!, 'count: the fds it holds');
});

test.run();
