// Recorded fixtures (fixtures/record.sh) in every flag variant: counts against the log and the programs' own
// ground truth, pairing, and golden NDJSON (UPDATE_GOLDEN=1 rewrites fixtures/golden).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { TraceSession } from '../../src/correlate/session.js';
import { resolveInput, mergeFf, ffTimed } from '../../src/tracer/read.js';
import type { FdwatchRecord, SummaryRecord, TransferRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { timeOrderProblems } from '../helpers.js';

const TRACES = path.join(root, 'fixtures', 'traces');
const GOLDEN = path.join(root, 'fixtures', 'golden');
const VARIANTS = ['f', 'f-yy', 'xv-yy', 'tt-T', 'stderr-yy', 'ff',
  'ttt-yy', // strace -f -yy -ttt: nscd_start has only this one
] as const;
const BASE_DAY = Date.UTC(2026, 10, 24) / 1000; // fixed, so -tt goldens do not depend on the clock or the zone

export function replayFixture(file: string): { records: FdwatchRecord[]; summary: SummaryRecord } {
  const records: FdwatchRecord[] = [];
  const input = resolveInput(file);
  const session = new TraceSession((r) => records.push(r), {
    baseDay: BASE_DAY, deferOrphans: input.kind === 'ff' && !ffTimed(input.files),
  });
  let truncated = false;
  if (input.kind === 'ff') {
    const srcs = input.files.map((f) => session.source(f.pid));
    truncated = mergeFf(input.files, BASE_DAY, (l) => session.line(l.text, l.lineNo, srcs[l.file]!)).truncated;
  } else if (input.kind === 'file') {
    // the whole file as one chunk through the byte path, as readFileBytes hands it out
    const buf = fs.readFileSync(input.path);
    truncated = buf.length > 0 && buf[buf.length - 1] !== 10;
    const src = session.source(null);
    let start = 0;
    let n = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      if (nl < 0) nl = buf.length;
      session.bytes(buf, start, nl, ++n, src);
      start = nl + 1;
    }
  }
  const summary = session.end({ truncated });
  return { records, summary };
}

/** Counts fds in SCM_RIGHTS arrays of sendmsg/recvmsg lines straight from the log text, independently of the parser. */
function countInLog(file: string): { sent: number; received: number } {
  const files = fs.statSync(file, { throwIfNoEntry: false })?.isFile() ? [file]
    : fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith(path.basename(file) + '.')).map((n) => path.join(path.dirname(file), n));
  let sent = 0, received = 0;
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'latin1').split('\n')) {
      let at = line.indexOf('SCM_RIGHTS');
      if (at < 0) continue;
      const send = /\bsendm?msg\(|<\.\.\. sendm?msg resumed>/.test(line);
      const recv = /\brecvm?msg\(|<\.\.\. recvm?msg resumed>/.test(line);
      if (send === recv) continue;
      while (at >= 0) {
        const d = line.indexOf('cmsg_data=[', at);
        if (d < 0) break;
        let depth = 0, items = 1, i = d + 10;
        for (; i < line.length; i++) {
          const c = line[i];
          if (c === '[' || c === '<') depth++;
          else if (c === ']' || c === '>') { depth--; if (depth === 0) break; }
          else if (c === ',' && depth === 1) items++;
        }
        if (send) sent += items; else received += items;
        at = line.indexOf('SCM_RIGHTS', i);
      }
    }
  }
  return { sent, received };
}

interface Expect { fdsSent: number; fdsReceived: number; lost: number; transfers: Array<{ target: string; state: string; toComm: string | null }> }

const cases = fs.existsSync(TRACES) ? fs.readdirSync(TRACES).filter((c) => fs.existsSync(path.join(TRACES, c, 'expect.json'))).sort() : [];

test('fixtures are present', () => {
  assert.ok(cases.length >= 5, `recorded cases: ${cases.join(', ')}`);
  for (const c of ['seed', 'send_fds', 'node_handle', 'threads', 'nscd']) assert.ok(cases.includes(c), c);
});

for (const c of cases) {
  const expect = JSON.parse(fs.readFileSync(path.join(TRACES, c, 'expect.json'), 'utf8')) as Expect;
  for (const v of VARIANTS) {
    const file = v === 'ff' ? path.join(TRACES, c, 'ff', 'trace') : path.join(TRACES, c, `${v}.log`);
    if (!fs.existsSync(v === 'ff' ? path.dirname(file) : file)) continue;
    test(`${c} ${v}: counts, pairing, golden`, () => {
      const { records, summary } = replayFixture(file);
      const log = countInLog(file);
      assert.is(summary.parseErrors, 0, JSON.stringify(summary.parseErrorSamples));
      // sent and received fd counts equal those in the log exactly, and the programs' own
      assert.is(summary.fdsSent, log.sent, 'fds sent vs log');
      assert.is(summary.fdsReceived, log.received, 'fds received vs log');
      assert.is(summary.fdsSent, expect.fdsSent, 'fds sent vs program');
      assert.is(summary.fdsReceived, expect.fdsReceived, 'fds received vs program');
      const transfers = records.filter((r): r is TransferRecord => r.type === 'transfer');
      assert.is(transfers.filter((t) => t.state === 'lost').length, expect.lost, 'lost');
      assert.ok(transfers.every((t) => t.confirmed === undefined), 'only kcmp (live mode) confirms a pairing');
      // a call strace split is at its return: fd lines in time order, no fd received before it was sent
      assert.equal(timeOrderProblems(records).problems.slice(0, 3), [], 'time order');
      // pairing: every received fd names its sender, except a -p daemon's threads without -yy (no tid -> tgid in a log)
      const unpaired = transfers.filter((t) => t.state === 'delivered' && t.from.pid === null);
      const pairable = c !== 'nscd' || v.includes('yy');
      if (pairable) {
        assert.is(unpaired.length, 0, 'unpaired deliveries');
        assert.is(transfers.filter((t) => t.state === 'in-flight').length, 0, 'in flight');
      }
      // what moved: with -yy the receiver's own decoration names it; file paths must match exactly
      if (v.includes('yy')) {
        const got = transfers.filter((t) => t.state === 'delivered').map((t) => `${t.kind} ${t.kind === 'file' ? t.target : ''}`).sort();
        const want = expect.transfers.filter((t) => t.state === 'delivered').map((t) => `${(t as { kind?: string }).kind} ${(t as { kind?: string }).kind === 'file' ? t.target : ''}`).sort();
        assert.equal(got, want, 'delivered kinds and paths');
      }
      const golden = path.join(GOLDEN, c, `${v}.ndjson`);
      const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
      if (process.env['UPDATE_GOLDEN'] === '1') {
        fs.mkdirSync(path.dirname(golden), { recursive: true });
        fs.writeFileSync(golden, text);
      }
      assert.fixture(text, fs.readFileSync(golden, 'utf8'), 'golden NDJSON');
    });
  }
}

test('nscd: the root-only cache file reaches getent (uid 65534), which maps it MAP_SHARED', () => {
  const { records } = replayFixture(path.join(TRACES, 'nscd', 'f-yy.log'));
  const t = records.filter((r): r is TransferRecord => r.type === 'transfer' && r.to?.comm === 'getent');
  assert.is(t.length, 1);
  assert.equal([t[0]!.target, t[0]!.state, t[0]!.to?.uid], ['/var/cache/nscd/passwd', 'delivered', 65534]);
  const maps = records.filter((r) => r.type === 'map' && r.path === '/var/cache/nscd/passwd');
  assert.ok(maps.length >= 1 && maps.every((m) => m.type === 'map' && m.perms === 'r--s' && m.transferred === true));
});

test('nscd_start: a replay knows both uids (getuid, setresuid) but not the file: uid-crossing with the rest unknown', () => {
  const dir = path.join(TRACES, 'nscd_start');
  const expect = JSON.parse(fs.readFileSync(path.join(dir, 'expect.json'), 'utf8')) as {
    alerts: Array<{ kind: string; toComm: string; fromUid: number; toUid: number; file: null; access: null }>;
  };
  const { records } = replayFixture(path.join(dir, 'ttt-yy.log'));
  const getent = records.find((r) => r.type === 'process' && r.comm === 'getent')!;
  const alerts = records.filter((r) => r.type === 'alert');
  assert.equal(alerts.map((a) => ({ kind: a.kind, toComm: a.pid === (getent as { pid: number }).pid ? 'getent' : '?',
    fromUid: a.fromUid, toUid: a.toUid, file: a.file, access: a.access })), expect.alerts);
  assert.equal(alerts.map((a) => a.severity), ['info']);
  // setpriv, still root, got the same file first: nothing crossed
  const t = records.filter((r): r is TransferRecord => r.type === 'transfer').map((x) => [x.to?.comm, x.from.uid, x.to?.uid]);
  assert.equal(t, [['setpriv', 0, 0], ['getent', 0, 65534]]);
});

test.run();
