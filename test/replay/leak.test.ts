// fd-leak on real recordings (fixtures/record.sh fdleak): fixtures/programs/fdleak.c passing 70 files over a
// socketpair, once kept by both sides (leak) and once closed by both (tidy); golden NDJSON in fixtures/golden/leak.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, timeOrderProblems } from '../helpers.js';
import { root } from '../paths.js';
import { TraceSession } from '../../src/correlate/session.js';
import type { FdwatchRecord, SummaryRecord } from '../../src/model/records.js';

const LEAK = path.join(root, 'fixtures', 'leak');
const GOLDEN = path.join(root, 'fixtures', 'golden', 'leak');

/** A one-file -ttt log through the session, line by line (fixtures.test.ts covers the byte path). */
function replayLog(file: string): { records: FdwatchRecord[]; summary: SummaryRecord } {
  const records: FdwatchRecord[] = [];
  const session = new TraceSession((r) => records.push(r));
  const src = session.source(null);
  fs.readFileSync(file, 'utf8').split('\n').forEach((l, i) => { if (l !== '') session.line(l, i + 1, src); });
  return { records, summary: session.end() };
}

for (const mode of ['leak', 'tidy'] as const) {
  test(`fdleak ${mode}: alerts and golden`, () => {
    const { records, summary } = replayLog(path.join(LEAK, `${mode}.log`));
    assert.is(summary.transfers.delivered, 70);
    assert.is(summary.parseErrors, 0);
    const time = timeOrderProblems(records);
    assert.is(time.transfers, 70);
    assert.equal(time.problems.slice(0, 3), []);
    const alerts = ofType(records, 'alert');
    if (mode === 'leak') {
      // the default threshold (64) is passed once by the receiver (received, never used) and once by the sender
      assert.equal(alerts.map((a) => [a.kind, a.leak, a.count]).sort(), [['fd-leak', 'received', 64], ['fd-leak', 'sent', 64]]);
      const recv = alerts.find((a) => a.leak === 'received')!;
      const child = ofType(records, 'process').find((p) => p.event === 'fork')!;
      assert.is(recv.pid, child.pid);
      assert.equal(recv.samples?.map((s) => s.target), ['/etc/hostname', '/etc/hostname', '/etc/hostname', '/etc/hostname']);
    } else {
      assert.equal(alerts, [], 'the tidy run raises nothing');
    }
    const golden = path.join(GOLDEN, `${mode}.ndjson`);
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (process.env['UPDATE_GOLDEN'] === '1') {
      fs.mkdirSync(GOLDEN, { recursive: true });
      fs.writeFileSync(golden, text);
    }
    assert.fixture(text, fs.readFileSync(golden, 'utf8'), 'golden NDJSON');
  });
}

test.run();
