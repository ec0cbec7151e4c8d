import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openNdjson } from '../../src/export/ndjson.js';
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

test('every record of every golden file is written as exactly its JSON.stringify text, one a line', () => {
  const rs = golden();
  assert.ok(rs.length > 1000);
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-nd-')), 'o.ndjson');
  const w = openNdjson(f);
  for (const r of rs) w.write(r);
  w.close();
  assert.is(fs.readFileSync(f, 'utf8'), rs.map((r) => JSON.stringify(r) + '\n').join(''));
  fs.rmSync(path.dirname(f), { recursive: true, force: true });
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
