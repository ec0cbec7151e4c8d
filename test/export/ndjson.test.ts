import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fdLine, openNdjson } from '../../src/export/ndjson.js';
import type { FdRecord, FdwatchRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

const golden = (): FdwatchRecord[] => {
  const dir = path.join(root, 'fixtures', 'golden');
  const out: FdwatchRecord[] = [];
  for (const c of fs.readdirSync(dir)) {
    for (const f of fs.readdirSync(path.join(dir, c))) {
      for (const l of fs.readFileSync(path.join(dir, c, f), 'utf8').trim().split('\n')) out.push(JSON.parse(l) as FdwatchRecord);
    }
  }
  return out;
};

const direct = fdLine;

test('the hand-written fd line is exactly JSON.stringify, for every fd record of every golden file', () => {
  const fds = golden().filter((r): r is FdRecord => r.type === 'fd');
  assert.ok(fds.length > 1000);
  let direct0 = 0;
  for (const r of fds) {
    const t = direct(r);
    if (t !== null) { direct0++; assert.is(t, JSON.stringify(r)); }
  }
  assert.ok(direct0 > 1000, 'most records take the direct path');
  const base: FdRecord = { v: 1, type: 'fd', ts: 1.5e9 + 0.123456, pid: 123456789, fd: 1023, op: 'receive', target: '/tmp/x', kind: 'file', cloexec: null, syscall: 'recvmsg', tid: 2, fromFd: null, fromPid: 7 };
  for (const r of [base, { ...base, ts: null, fd: 0, pid: 10, cloexec: true, fromFd: 100 }, { ...base, fd: -100, pid: 1e10, ts: 0.5 }]) {
    assert.is(direct(r), JSON.stringify(r));
  }
  // what needs escaping, UTF-8 or a snapshot's extra fields goes the generic way
  for (const target of ['/tmp/"q"', '/tmp/\n', '/tmp/\u001b[2J', '/tmp/caf\u00e9', '/tmp/\ud83d', 'a\\b']) assert.is(direct({ ...base, target }), null);
  assert.is(direct({ ...base, pos: 5 }), null);
});

test('the writer flushes on close and writes one record a line, escapes and UTF-8 included', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-nd-')), 'o.ndjson');
  const w = openNdjson(f);
  const rs = golden().slice(0, 500);
  const odd: FdRecord = { v: 1, type: 'fd', ts: 1.5, pid: 1, fd: 3, op: 'open', target: '/tmp/caf\u00e9 "\u001b[2J" \ud83d\ude00', kind: 'file', cloexec: false, syscall: 'openat' };
  rs.push(odd, { ...odd, target: 'x'.repeat(3 << 20) });
  for (const r of rs) w.write(r);
  w.close();
  w.write(rs[0]!); // after close: ignored, not a crash
  assert.equal(fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown), rs);
  fs.rmSync(path.dirname(f), { recursive: true, force: true });
});

test.run();
