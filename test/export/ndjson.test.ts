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

test('the hand-written fd line is exactly JSON.stringify, for every fd record of every golden file', () => {
  const fds = golden().filter((r): r is FdRecord => r.type === 'fd');
  assert.ok(fds.length > 1000);
  for (const r of fds) assert.is(fdLine(r), JSON.stringify(r));
  const odd: FdRecord = { v: 1, type: 'fd', ts: 1.5e9 + 0.123456, pid: 1, fd: 3, op: 'receive', target: '/tmp/"q"\n\u001b', kind: 'file', cloexec: null, syscall: null, tid: 2, fromFd: null, fromPid: 7 };
  assert.is(fdLine(odd), JSON.stringify(odd));
  const extra = { ...odd, pos: 5 };
  assert.is(fdLine(extra), JSON.stringify(extra));
});

test('the writer flushes on close and writes one record a line', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-nd-')), 'o.ndjson');
  const w = openNdjson(f);
  const rs = golden().slice(0, 500);
  for (const r of rs) w.write(r);
  w.close();
  w.write(rs[0]!); // after close: ignored, not a crash
  assert.equal(fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown), rs);
  fs.rmSync(path.dirname(f), { recursive: true, force: true });
});

test.run();
