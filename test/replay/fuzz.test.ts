// Property tests on real fixture logs: damage (garbage lines, byte flips, truncation, CRLF) never crashes the
// parser, is counted, and never changes the records of the untouched lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { TraceSession } from '../../src/correlate/session.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { root } from '../paths.js';

const LOGS = ['seed/f-yy.log', 'send_fds/stderr-yy.log', 'threads/tt-T.log', 'nscd/xv-yy.log', 'node_handle/f.log']
  .map((f) => path.join(root, 'fixtures', 'traces', f));

/** Seeded PRNG (mulberry32): failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Out { records: string[]; before: number[]; parseErrors: number; cleanEnd: boolean }

/** Runs lines through the pipeline; `before[i]` = records emitted before line i was pushed. */
function run(lines: string[], truncated = false): Out {
  const records: string[] = [];
  const session = new TraceSession((r: FdwatchRecord) => { if (r.type !== 'summary') records.push(JSON.stringify(r)); }, { baseDay: 0 });
  const src = session.source(null);
  const before: number[] = [];
  // through the byte path the readers use (lines that cannot matter are never decoded)
  lines.forEach((l, i) => { before.push(records.length); const b = Buffer.from(l, 'latin1'); session.bytes(b, 0, b.length, i + 1, src); });
  const s = session.end({ truncated });
  return { records, before, parseErrors: s.parseErrors, cleanEnd: s.cleanEnd };
}

const read = (f: string): string[] => {
  const ls = fs.readFileSync(f, 'latin1').split('\n');
  if (ls[ls.length - 1] === '') ls.pop();
  return ls;
};

test('garbage lines between real lines are counted and change nothing else', () => {
  const r = rng(1);
  for (const f of LOGS) {
    const lines = read(f);
    const base = run(lines);
    for (let k = 0; k < 15; k++) {
      const mutated: string[] = [];
      let inserted = 0;
      for (const l of lines) {
        if (r() < 0.05) {
          let g = '\u0001';
          const n = 1 + Math.floor(r() * 80);
          for (let i = 0; i < n; i++) g += String.fromCharCode(Math.floor(r() * 256));
          mutated.push(g.replace(/\n/g, ' '));
          inserted++;
        }
        mutated.push(l);
      }
      const out = run(mutated);
      assert.is(out.parseErrors, base.parseErrors + inserted, `${path.basename(f)} errors`);
      // trace line numbers move with the inserted lines; everything else must be identical
      const noLine = (rs: string[]): string[] => rs.map((x) => x.replace(/,"line":\d+/, ''));
      assert.equal(noLine(out.records), noLine(base.records), `${path.basename(f)} records`);
    }
  }
});

test('byte flips: no crash, and every record before the damaged line is unchanged', () => {
  const r = rng(2);
  let runs = 0;
  for (const f of LOGS) {
    const lines = read(f);
    const base = run(lines);
    for (let k = 0; k < 40; k++) {
      const at = Math.floor(r() * lines.length);
      const l = lines[at]!;
      const pos = Math.floor(r() * Math.max(1, l.length));
      const ch = String.fromCharCode(Math.floor(r() * 256));
      const mutated = [...lines];
      mutated[at] = l.slice(0, pos) + ch + l.slice(pos + 1);
      const out = run(mutated);
      const n = base.before[at]!;
      assert.equal(out.records.slice(0, n), base.records.slice(0, n), `${path.basename(f)} line ${at + 1}`);
      runs++;
    }
  }
  assert.ok(runs >= 200);
});

test('truncation anywhere: no crash, the prefix is unchanged, the end is not clean', () => {
  const r = rng(3);
  for (const f of LOGS) {
    const text = fs.readFileSync(f, 'latin1');
    const base = run(read(f));
    for (let k = 0; k < 20; k++) {
      const cut = Math.floor(r() * text.length);
      const part = text.slice(0, cut);
      const lines = part.split('\n');
      const truncated = !part.endsWith('\n');
      if (!truncated) lines.pop();
      const out = run(lines, truncated);
      const n = base.before[lines.length - 1] ?? 0;
      assert.equal(out.records.slice(0, n), base.records.slice(0, n), `${path.basename(f)} cut at ${cut}`);
      if (truncated) assert.is(out.cleanEnd, false);
    }
  }
});

test('CRLF line ends read the same as LF', () => {
  for (const f of LOGS) {
    const lines = read(f);
    assert.equal(run(lines.map((l) => l + '\r')).records, run(lines).records, path.basename(f));
  }
});

test.run();
