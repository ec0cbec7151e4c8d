// The provenance fold (src/view/provenance.ts): the relay fixture's three hops in every strace variant, with the
// pids the programs printed; parents found by origin when an fd number was reused; bounds; lost sends; escaping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { Provenance, chainRecords, hopText, type Chain } from '../../src/view/provenance.js';
import { escapeControl } from '../../src/model/escape.js';
import type { FdRecord, FdwatchRecord, TransferRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { relayPids } from './relay.js';

const GOLDEN = path.join(root, 'fixtures', 'golden', 'relay');

function fold(records: FdwatchRecord[], opts = {}): Provenance {
  const p = new Provenance(opts);
  for (const r of records) p.push(r);
  return p;
}

const readGolden = (v: string): FdwatchRecord[] =>
  fs.readFileSync(path.join(GOLDEN, `${v}.ndjson`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FdwatchRecord);

const steps = (c: Chain): string[] => c.hops.map((h) => `${h.kind} ${h.pid} ${h.fd}${h.fromPid !== null ? ` <${h.fromPid}:${h.fromFd}` : ''}`);

for (const v of ['f', 'f-yy', 'xv-yy', 'tt-T', 'stderr-yy', 'ff']) {
  test(`relay ${v}: D's fd 7 goes back through D, C, B to A's open, every hop in order with its pid`, () => {
    const { A, B, C, D } = relayPids(v);
    const records = readGolden(v);
    const c = fold(records).chain(D, 7);
    assert.ok(c, 'a chain');
    assert.is(c.incomplete, false);
    // the fds D received (3) and C received (6) are the numbers the kernel gave: read from the records' own receive lines
    const got = records.filter((r): r is FdRecord => r.type === 'fd' && r.op === 'receive');
    const cFd = got.find((r) => r.pid === C)!.fd;
    const dFd = got.find((r) => r.pid === D)!.fd;
    const order = steps(c);
    const at = (step: string): number => { const i = order.indexOf(step); assert.ok(i >= 0, `${step} in ${order.join(', ')}`); return i; };
    // the lineage, in order; each copy's close after it was made (when is up to the scheduler)
    const lineage = [`opened ${A} 3`, `inherited ${B} 3 <${A}:3`, `received ${C} ${cFd} <${B}:3`, `received ${D} ${dFd} <${C}:${cFd}`, `dup ${D} 7 <${D}:${dFd}`, `mapped ${D} 7`];
    const idx = lineage.map(at);
    assert.equal(idx, [...idx].sort((a, b) => a - b), 'lineage in order');
    // (an -ff set without timestamps is read file by file: the order between processes is lost, the lineage's is not)
    if (v !== 'ff') assert.ok(at(`closed ${A} 3`) > idx[1]! && at(`closed ${B} 3`) > idx[2]! && at(`closed ${C} ${cFd}`) > idx[3]! && at(`closed ${D} ${dFd}`) > idx[4]!);
    assert.is(order.length, lineage.length + 4, order.join(', '));
    assert.not.ok(c.hops.some((h) => h.kind === 'closed' && h.fd === 7), 'fd 7 open until D exits');
    const mapped = c.hops.find((h) => h.kind === 'mapped')!;
    assert.is(mapped.perms, 'r--s');
    assert.ok(c.hops.indexOf(mapped) > c.hops.findIndex((h) => h.kind === 'dup'), 'mapped after the dup');
    assert.is(c.hops[0]!.target, '/tmp/fdwatch-fx/relay.data');
    if (v !== 'ff') assert.is(c.origin, (c.hops[0]!.records[0] as FdRecord).origin);
    // the chain's records: every one of them of this open file description, two transfers among them
    const rs = chainRecords(c);
    // -ff without timestamps: C's receive was read before B's send, so its fd records have an origin of their own
    assert.is(new Set(rs.map((r) => 'origin' in r ? r.origin : null)).size, v === 'ff' ? 2 : 1, 'origins');
    assert.is(rs.filter((r) => r.type === 'transfer').length, 2);
    assert.equal(rs, records.filter((r) => rs.includes(r)), 'in input order');
    if (v.includes('yy')) {
      const recv = c.hops.find((h) => h.kind === 'received' && h.pid === C)!;
      assert.match(recv.peerSocket ?? '', /^UNIX-STREAM:\[\d+->\d+,"\/tmp\/fdwatch-fx\/relay\.sock"\]$/, 'C got it on the socket B connected to by path');
      assert.match(hopText(recv, escapeControl), new RegExp(`^relay\\[${C}\\] received it as fd ${cFd} from relay\\[${B}\\] fd 3 over UNIX-STREAM:`));
    }
  });
}

const fd = (pid: number, n: number, op: FdRecord['op'], target: string, origin: string | undefined, extra: Partial<FdRecord> = {}): FdRecord => ({
  v: 1, type: 'fd', ts: null, pid, fd: n, op, target, kind: 'file', cloexec: false, syscall: op === 'close' ? 'close' : 'openat',
  ...extra, ...(origin !== undefined ? { origin } : {}),
});
const xfer = (fromPid: number, fromFd: number, toPid: number, toFd: number | null, state: TransferRecord['state'], origin: string): TransferRecord => ({
  v: 1, type: 'transfer', ts: null, via: 'SCM_RIGHTS', state,
  from: { pid: fromPid, tid: fromPid, comm: 'a', uid: 0, fd: fromFd, socket: 'UNIX-STREAM:[1->2]' },
  to: toFd === null ? null : { pid: toPid, tid: toPid, comm: 'b', uid: 0, fd: toFd, socket: 'UNIX-STREAM:[2->1]' },
  target: '/x', kind: 'file', sentTs: null, receivedTs: null, origin,
});

test('a sender that closed its fd and reused the number before the receive: the parent is found by origin', () => {
  const c = fold([
    fd(1, 3, 'open', '/x', 'ofd:1'),
    fd(1, 3, 'close', '/x', 'ofd:1'),                 // sent, then closed: the message holds the file
    fd(1, 3, 'open', '/y', 'ofd:2'),                  // fd 3 is now another file
    fd(2, 5, 'receive', '/x', 'ofd:1', { syscall: 'recvmsg', fromFd: 3, fromPid: 1 }),
    xfer(1, 3, 2, 5, 'delivered', 'ofd:1'),
  ]).chain(2, 5)!;
  assert.equal(c.hops.map((h) => `${h.kind} ${h.pid} ${h.target}`), ['opened 1 /x', 'closed 1 /x', 'received 2 /x']);
  assert.is(c.hops[2]!.socket, 'UNIX-STREAM:[1->2]');
  assert.is(c.hops[2]!.records.length, 2, 'the fd record and its transfer');
});

test('records without origin (older files): the parent is the fd of that number then', () => {
  const c = fold([fd(1, 3, 'open', '/x', undefined), fd(1, 4, 'dup', '/x', undefined, { fromFd: 3, syscall: 'dup' })]).chain(1, 4)!;
  assert.equal(steps(c), ['opened 1 3', 'dup 1 4 <1:3']);
  assert.is(c.origin, null);
});

test('a lost send is a hop of the sender fd; an fd never named has no chain', () => {
  const p = fold([fd(1, 3, 'open', '/x', 'ofd:1'), xfer(1, 3, 2, null, 'lost', 'ofd:1')]);
  assert.equal(steps(p.chain(1, 3)!), ['opened 1 3', 'sent-lost 1 3']);
  assert.is(p.chain(1, 9), null);
  assert.is(p.chain(7, 3), null);
});

test('bounded: the least recently active open file descriptions go first, a pinned fd never; a lost parent says so', () => {
  const records: FdwatchRecord[] = [fd(1, 3, 'open', '/keep', 'ofd:0'), fd(1, 4, 'open', '/parent', 'ofd:p')];
  for (let i = 1; i <= 100; i++) records.push(fd(1, 10 + i, 'open', `/f${i}`, `ofd:${i}`));
  records.push(fd(2, 4, 'receive', '/parent', 'ofd:p', { fromPid: 1, fromFd: 4 }));
  const p = fold(records, { maxNodes: 10, pin: { pid: 1, fd: 3 } });
  assert.ok(p.sizes().nodes <= 10, JSON.stringify(p.sizes()));
  assert.equal(steps(p.chain(1, 3)!), ['opened 1 3'], 'pinned');
  assert.is(p.chain(1, 11), null, 'evicted');
  const lost = p.chain(2, 4)!;
  assert.is(lost.incomplete, true, 'its parent was evicted');
});

test('hop text escapes traced text', () => {
  const c = fold([{ v: 1, type: 'process', ts: null, pid: 1, ppid: null, comm: 'evil\x1b[2J', uid: 0, event: 'attach' }, fd(1, 3, 'open', '/tmp/a\x1b]0;x\x07b', 'ofd:1')]).chain(1, 3)!;
  const line = hopText(c.hops[0]!, escapeControl);
  assert.not.match(line, /[\x00-\x1f]/);
  assert.match(line, /opened \/tmp\/a.*b as fd 3 \(openat\)$/);
});

test.run();
