import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fdLine, openNdjson, stampText, transferLine } from '../../src/export/ndjson.js';
import type { FdRecord, FdwatchRecord, TransferRecord } from '../../src/model/records.js';
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

test('the hand-written transfer line is exactly JSON.stringify, or null (the generic path)', () => {
  const ts = golden().filter((r): r is TransferRecord => r.type === 'transfer');
  assert.ok(ts.length > 50);
  let direct0 = 0;
  for (const r of ts) {
    const t = transferLine(r);
    if (t !== null) { direct0++; assert.is(t, JSON.stringify(r)); }
  }
  assert.ok(direct0 > 50, 'most transfers take the direct path');
  const end = { pid: 7, tid: 8, comm: 'load', uid: 0, fd: 4, socket: 'UNIX-STREAM:[1->2]' };
  const base: TransferRecord = {
    v: 1, type: 'transfer', ts: 1700003850.6242611, via: 'SCM_RIGHTS', state: 'delivered', from: end, to: { ...end, fd: 3 },
    target: '/etc/hostname', kind: 'file', sentTs: 1700003850.6242294, receivedTs: 1700003850.6242611, line: 1758, confirmed: true, origin: 'ofd:686',
  };
  const { confirmed: _c, ...noConfirmed } = base;
  const variants: TransferRecord[] = [
    base, noConfirmed, { ...base, to: null, state: 'in-flight', receivedTs: null, confirmed: null },
    { ...base, state: 'lost', reason: 'MSG_CTRUNC: the receiver\'s control buffer was too small', line: null },
    { ...base, from: { pid: null, tid: null, comm: null, uid: null, fd: null, socket: null }, ts: null, sentTs: null },
    { ...base, line: undefined, origin: undefined }, { ...base, ts: 0.1 + 0.2, sentTs: -0, line: 2 ** 60 },
  ];
  // live mode adds a reason after the fact: past origin, out of the builders' order
  const late = { ...base } as TransferRecord;
  late.reason = 'the receiving process is not traced';
  variants.push(late);
  for (const r of variants) {
    const t = transferLine(r);
    assert.ok(t === null || t === JSON.stringify(r), JSON.stringify(r));
  }
  assert.is(transferLine(base), JSON.stringify(base));
  assert.is(transferLine(late), null);
  // what needs escaping or UTF-8 goes the generic way
  for (const target of ['/tmp/"q"', '/tmp/\n', '/tmp/caf\u00e9', 'a\\b']) assert.is(transferLine({ ...base, target }), null);
  assert.is(transferLine({ ...base, from: { ...end, comm: 'caf\u00e9' } }), null);
  assert.is(transferLine({ ...base, to: { ...end, extra: 1 } as TransferRecord['from'] }), null);
});

test('the writer\'s lines are JSON.stringify\'s bytes: fd and transfer lines written in place, and every other shape', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-nd-'));
  const f = path.join(dir, 'o.ndjson');
  const rs: FdwatchRecord[] = golden();
  const fd: FdRecord = { v: 1, type: 'fd', ts: 1796000000.1234567, pid: 4242, fd: 7, op: 'receive', target: '/etc/hostname', kind: 'file', cloexec: true, syscall: 'recvmsg', tid: 4243, fromFd: 4, fromPid: 4241, origin: 'ofd:12' };
  const end = { pid: 7, tid: 8, comm: 'load', uid: 0, fd: 4, socket: 'UNIX-STREAM:[1->2]' };
  const tr: TransferRecord = {
    v: 1, type: 'transfer', ts: 1796000000.25, via: 'SCM_RIGHTS', state: 'delivered', from: end, to: { ...end, pid: 9, fd: 3 },
    target: '/etc/hostname', kind: 'file', sentTs: 1796000000.2, receivedTs: 1796000000.25, line: 12, confirmed: true, origin: 'ofd:12',
  };
  // integers of every width, negative and -0, non-integers, null; strings at and past the in-place limit
  for (const n of [0, -0, 9, 10, 99, 100, 12345, -1, -100, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1.5, 0.1 + 0.2, 1e21, 1e-7, -1.5e-300, NaN, Infinity]) {
    rs.push({ ...fd, pid: n, fd: n, fromFd: n, ts: n }, { ...tr, line: n, from: { ...end, pid: n, uid: n }, sentTs: n });
  }
  rs.push({ ...fd, ts: null, cloexec: null, syscall: null, target: null }, { ...fd, cloexec: false, tid: undefined, origin: undefined });
  rs.push({ ...tr, to: null, state: 'in-flight', receivedTs: null, confirmed: null }, { ...tr, state: 'lost', reason: 'MSG_CTRUNC', confirmed: undefined });
  for (const n of [2047, 2048, 2049, 5000]) rs.push({ ...fd, target: '/' + 'x'.repeat(n - 1) }, { ...tr, target: '/' + 'y'.repeat(n - 1), from: { ...end, socket: 's'.repeat(n) } });
  rs.push({ ...fd, target: '/tmp/caf\u00e9' }, { ...fd, target: '/tmp/"q"' }, { ...tr, to: { ...end, comm: 'a\tb' } }, { ...fd, pos: 3 });
  // enough to fill the buffer many times over
  for (let i = 0; i < 3000; i++) rs.push({ ...fd, fd: i, target: `/tmp/${'z'.repeat(i % 300)}` }, { ...tr, line: i });
  const w = openNdjson(f);
  for (const r of rs) w.write(r);
  w.close();
  assert.is(fs.readFileSync(f, 'latin1'), Buffer.from(rs.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8').toString('latin1'));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a stamp written digit by digit is Number::toString\'s text (JSON.stringify\'s), halfway fractions and binade edges included', () => {
  const check = (x: number | null): void => assert.is(stampText(x), JSON.stringify(x), String(x));
  // as the live clock makes them (epoch + ns / 1e9), and any double of [2^30, 2^33)
  for (let i = 0; i < 100_000; i++) check(1_700_000_000 + Math.floor(Math.random() * 1e13) / 1e9);
  for (let i = 0; i < 100_000; i++) check(2 ** (30 + (i % 3)) * (1 + Math.floor(Math.random() * 2 ** 52) / 2 ** 52));
  // fractions of few bits: two k-digit fractions equally near (the even one is V8's), and next to an integer
  let halfway = 0;
  for (let i = 0; i < 100_000; i++) {
    const e = 30 + (i % 3);
    const bits = 52 - e;
    const z = 1 + Math.floor(Math.random() * bits);
    const ip = 2 ** e + Math.floor(Math.random() * 2 ** e);
    const frac = ((Math.floor(Math.random() * 2 ** (bits - z)) * 2 + 1) * 2 ** (z - 1)) / 2 ** bits;
    if (z === bits - 7) halfway++;
    check(ip + frac);
    check(ip + 1 / 2 ** bits);
    check(ip + 1 - 1 / 2 ** bits);
    check(ip);
  }
  assert.ok(halfway > 1000);
  for (const x of [2 ** 30, 2 ** 31, 2 ** 32, 2 ** 33 - 2 ** -20, 2 ** 31 - 2 ** -22, 2 ** 30 - 2 ** -23, 2 ** 33, 1796000000.1234567, 1.5, 0.1 + 0.2, -1.7e9, 1e21, null]) check(x);
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
