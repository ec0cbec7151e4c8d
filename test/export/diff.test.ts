// snapshot --diff's pure core on two real `snapshot --json` scans (fixtures/snapdiff: a python3 that opened
// /tmp/lk/c and dup2'd /tmp/lk/e over its fd 3 between them, map records left out), golden in fixtures/golden/snapdiff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { diffRecords, diffSnapshots, renderDiffText, snapshotState } from '../../src/export/diff.js';
import type { FdRecord, FdwatchRecord, ProcessRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

const DIR = path.join(root, 'fixtures', 'snapdiff');
const load = (n: string): FdwatchRecord[] => fs.readFileSync(path.join(DIR, n), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FdwatchRecord);

test('snapshot diff of two real scans: one fd opened, one changed, +1; golden records', () => {
  const d = diffSnapshots(snapshotState(load('old.ndjson')), snapshotState(load('new.ndjson')));
  const recs = diffRecords(d);
  const fds = recs.filter((r): r is FdRecord => r.type === 'fd');
  assert.equal(fds.map((f) => [f.op, f.fd, f.target, f.was]), [['opened', 4, '/tmp/lk/c', undefined], ['changed', 3, '/tmp/lk/e', '/tmp/lk/b']]);
  const p = recs[0] as ProcessRecord;
  assert.equal([p.event, p.fdsBefore, p.fdsAfter], ['diff', 6, 7]);
  const text = renderDiffText(d, 'old.ndjson');
  assert.match(text, /python3\[18599\]: 6 -> 7 fds \(\+1\)\n  \+ fd 4  file  \/tmp\/lk\/c\n  ~ fd 3  \/tmp\/lk\/b -> file  \/tmp\/lk\/e\n/);
  const golden = path.join(root, 'fixtures', 'golden', 'snapdiff', 'diff.ndjson');
  const out = recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
  if (process.env['UPDATE_GOLDEN'] === '1') { fs.mkdirSync(path.dirname(golden), { recursive: true }); fs.writeFileSync(golden, out); }
  assert.fixture(out, fs.readFileSync(golden, 'utf8'));
});

test('snapshot diff: a scan against itself is empty; pids narrow both sides; new and gone processes', () => {
  const old = load('old.ndjson');
  const same = diffSnapshots(snapshotState(old), snapshotState(old));
  assert.equal([same.compared, same.processes], [1, []]);
  assert.match(renderDiffText(same, 'x'), /no fd changed in 1 processes\n/);
  const none = snapshotState(old, new Set([1]));
  assert.is(none.processes.size, 0);
  const empty = { ts: null, processes: new Map() };
  const gone = diffSnapshots(snapshotState(old), empty);
  assert.equal(gone.processes.map((p) => [p.pid, p.before, p.after]), [[18599, 6, null]]);
  const fresh = diffSnapshots(empty, snapshotState(old));
  assert.equal(fresh.processes.map((p) => [p.pid, p.before, p.after]), [[18599, null, 6]]);
  assert.equal(diffRecords(gone).map((r) => r.type), ['process'], 'a gone process lists no fds');
  assert.match(renderDiffText(gone, 'x'), /gone  python3\[18599\]: had 6 fds\n/);
});

test.run();
