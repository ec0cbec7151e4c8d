// bpftrace's output -> FdOps -> the correlator's records, on output recorded from real programs
// (fixtures/bpf/*.raw, recorded with test/bpf/record.ts) and on lines built to be wrong, late or hostile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BpfParser, unescapeR, type ParseOptions } from '../../src/bpf/parse.js';
import { Correlator } from '../../src/correlate/correlator.js';
import type { FdOp } from '../../src/model/fdop.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { ofType } from '../helpers.js';
import { root } from '../paths.js';

const dir = path.join(root, 'fixtures', 'bpf');

/** mount id -> mount point, as the recording machine had them */
const MOUNTS = new Map(fs.readFileSync(path.join(dir, 'mountinfo'), 'utf8').split('\n').filter(Boolean)
  .map((l) => { const f = l.split(' '); return [Number(f[0]), f[4]!] as const; }));
const mountPoint = (id: number): string | null => MOUNTS.get(id) ?? null;

function lines(name: string): string[] {
  return fs.readFileSync(path.join(dir, `${name}.raw`), 'latin1').split('\n');
}

interface Run { records: FdwatchRecord[]; ops: FdOp[]; parser: BpfParser }

/** The session's pipeline without the I/O: parser -> correlator -> records. */
function run(input: string[], opts: ParseOptions = {}): Run {
  const records: FdwatchRecord[] = [];
  const ops: FdOp[] = [];
  const c = new Correlator((r) => records.push(r), { resolveTgid: (tid) => parser.tgidOf(tid) });
  // a recording made since the program tags its lines with CPU and count has W lines (the fixtures predate them)
  const ordered = input.some((l) => /^\d+\tW\t/.test(l));
  const parser: BpfParser = new BpfParser((op) => { ops.push(op); c.push(op); }, { mountPoint, clock: (ns) => ns / 1e9, ordered, ...opts });
  for (const l of input) parser.push(l);
  parser.end();
  c.finish();
  return { records, ops, parser };
}

const delivered = (r: Run) => ofType(r.records, 'transfer').filter((t) => t.state === 'delivered');

test('unescapeR: bpftrace\'s %r back to bytes; a literal \\x41 stays four bytes; the kernel\'s length catches the rest', () => {
  assert.is(unescapeR('etc', 3), 'etc');
  assert.is(unescapeR('new\\x0aline \\x41 \\xc3\\xa9', 16), 'new\nline \\x41 é');
  assert.is(unescapeR('tab\\x09here', 8), 'tab\there');
  // a literal "\x0a" (four bytes) reads as one escaped byte: the length says it is not
  assert.is(unescapeR('a\\x0ab', 6), null);
  assert.is(unescapeR('a\\x0ab', 3), 'a\nb');
  assert.is(unescapeR('x\\x00\\x00', null), 'x\0\0');
});

test('seed (fork + socketpair): one delivered transfer parent fd 3 -> child fd 4, proven one open file, CLOEXEC from the kernel', () => {
  const r = run(lines('seed'));
  const t = ofType(r.records, 'transfer');
  assert.is(t.length, 1);
  const fork = ofType(r.records, 'process').find((p) => p.event === 'fork')!;
  assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.to?.pid, t[0]!.from.fd, t[0]!.to?.fd, t[0]!.target, t[0]!.confirmed],
    ['delivered', fork.ppid, fork.pid, 3, 4, '/etc/hostname', true]);
  assert.match(t[0]!.from.socket ?? '', /^UNIX-STREAM:\[\d+->\d+\]$/);
  // recvmsg(MSG_CMSG_CLOEXEC): the received fd is close-on-exec
  const recv = ofType(r.records, 'fd').find((f) => f.op === 'receive')!;
  assert.equal([recv.pid, recv.fd, recv.cloexec, recv.fromFd], [fork.pid, 4, true, 3]);
  // the child's /dev/null placeholder: a device, opened O_CLOEXEC
  const dn = ofType(r.records, 'fd').find((f) => f.pid === fork.pid && f.op === 'open' && f.fd === 3)!;
  assert.equal([dn.target, dn.kind, dn.cloexec], ['/dev/null', 'device', true]);
  assert.equal(r.parser.stats.malformed, 0);
  assert.is(r.parser.stats.lostEvents, 0);
});

test('send_fds: several fds per message, a memfd, MSG_CTRUNC losing the two that did not fit', () => {
  const r = run(lines('send_fds'));
  const t = ofType(r.records, 'transfer');
  assert.equal(t.map((x) => `${x.state} ${x.kind} ${x.target}`), [
    'delivered file /etc/hostname', `delivered pipe ${t[1]!.target}`, 'delivered device /dev/null',
    'delivered memfd /memfd:fdwatch-memfd (deleted)', 'delivered file /etc/hostname', `lost pipe ${t[1]!.target}`, 'lost device /dev/null',
  ]);
  assert.match(t[1]!.target ?? '', /^pipe:\[\d+\]$/);
  assert.ok(delivered(r).every((x) => x.confirmed === true));
  assert.equal(ofType(r.records, 'alert').map((a) => a.kind), ['ctrunc-lost', 'ctrunc-lost']);
  // the first message's four fds: one receive op with one message of four
  const recv = r.ops.filter((o): o is Extract<FdOp, { op: 'receive' }> => o.op === 'receive');
  assert.equal(recv.map((o) => o.messages.map((m) => m === 'opaque' ? -1 : m.fds.length)), [[4], [1]]);
  assert.equal(recv.map((o) => o.messages.map((m) => m !== 'opaque' && m.ctrunc)), [[false], [true]]);
});

test('threads: one fd table for the threads; the passed fd stays in the process; exec closes CLOEXEC fds and keeps fd 3', () => {
  const r = run(lines('threads'));
  const procs = ofType(r.records, 'process');
  const main = procs.find((p) => p.event === 'exec' && p.comm === 'threads')!;
  const t = ofType(r.records, 'transfer');
  assert.is(t.length, 1);
  assert.equal([t[0]!.state, t[0]!.from.pid, t[0]!.to?.pid, t[0]!.target, t[0]!.confirmed], ['delivered', main.pid, main.pid, '/etc/passwd', true]);
  assert.is.not(t[0]!.from.tid, t[0]!.to?.tid);
  // threads are folded into their process: one fork (the /bin/true child), no thread processes
  assert.equal(procs.filter((p) => p.event === 'fork').length, 1);
  const child = procs.find((p) => p.event === 'fork')!.pid;
  const closedAtExec = ofType(r.records, 'fd').filter((f) => f.pid === child && f.op === 'close' && f.syscall === 'execve').map((f) => f.fd);
  assert.equal(closedAtExec, [4, 5, 6]);
  const keptOpen = ofType(r.records, 'fd').find((f) => f.pid === child && f.op === 'open' && f.syscall === 'openat')!;
  assert.is(keptOpen.fd, 4, 'the loader\'s first open in /bin/true returns 4: fd 3 survived');
});

test('exec in a non-leader thread: the thread takes the leader\'s pid, fd 3 survives, fd 4 (CLOEXEC) closes, one exit', () => {
  const r = run(lines('exec_thread'));
  const procs = ofType(r.records, 'process');
  const pids = new Set(procs.map((p) => p.pid));
  assert.is(pids.size, 1, JSON.stringify(procs));
  const exec = procs.filter((p) => p.event === 'exec').map((p) => `${p.comm} ${p.path}`);
  assert.equal(exec.slice(-1), ['true /bin/true']);
  const [pid] = pids;
  const atExec = ofType(r.records, 'fd').filter((f) => f.syscall === 'execve' && f.op === 'close' && f.pid === pid).map((f) => f.fd);
  assert.ok(atExec.includes(4) && !atExec.includes(3), String(atExec));
  const exits = procs.filter((p) => p.event === 'exit');
  assert.equal(exits.map((e) => [e.pid, e.exitCode, e.signal]), [[pid, 0, null]]);
});

test('pidfd_getfd: the child takes its parent\'s fd 3 as its fd 5 (CLOEXEC), named by the pidfd\'s pid', () => {
  const r = run(lines('pidfd_getfd'));
  const t = ofType(r.records, 'transfer');
  const fork = ofType(r.records, 'process').find((p) => p.event === 'fork')!;
  assert.equal(t.map((x) => [x.via, x.state, x.from.pid, x.from.fd, x.to?.pid, x.to?.fd, x.target]),
    [['pidfd_getfd', 'delivered', fork.ppid, 3, fork.pid, 5, '/etc/hostname']]);
  const take = ofType(r.records, 'fd').find((f) => f.op === 'take')!;
  assert.equal([take.cloexec, take.fromPid, take.fromFd], [true, fork.ppid, 3]);
  const pidfd = ofType(r.records, 'fd').find((f) => f.syscall === 'pidfd_open')!;
  assert.equal([pidfd.fd, pidfd.target, pidfd.kind], [4, `pid:${fork.ppid}`, 'anon']);
});

test('sendmmsg/recvmmsg: three messages in one call each, two carrying fds: three transfers, all MSG_CMSG_CLOEXEC', () => {
  const r = run(lines('mmsg'));
  assert.equal(delivered(r).map((x) => x.target), ['/etc/hostname', '/dev/null', '/etc/passwd']);
  assert.ok(delivered(r).every((x) => x.confirmed === true && x.from.socket?.startsWith('UNIX:[')));
  assert.ok(ofType(r.records, 'fd').filter((f) => f.op === 'receive').every((f) => f.cloexec === true));
  const sent = r.ops.find((o): o is Extract<FdOp, { op: 'send' }> => o.op === 'send')!;
  assert.equal(sent.messages.map((m) => m === 'opaque' ? 'opaque' : m.fds.length), [2, 1]);
});

test('the most fds one message holds (253): every one read at both ends', () => {
  const r = run(lines('max253'));
  assert.is(delivered(r).length, 253);
  assert.ok(delivered(r).every((x) => x.target === '/dev/null' && x.confirmed === true));
  const recv = r.ops.find((o): o is Extract<FdOp, { op: 'receive' }> => o.op === 'receive')!;
  assert.equal(recv.messages.map((m) => m !== 'opaque' && m.hidden), [false]);
});

/** The program's message lines as they are now: M (a cmsg's count) folded into its fds' G lines. */
function toG(input: string[]): string[] {
  const out: string[] = [];
  let m: { tid: string; head: string; i: number } | null = null;
  for (const l of input) {
    const f = l.split('\t');
    if (f[1] === 'M' && Number(f[4]) > 0) { m = { tid: f[2]!, head: `${f[3]}\t${f[4]}\t${f[5]}`, i: 0 }; continue; }
    if (f[1] === 'F' && f[3] === 'm' && m && m.tid === f[2]) { out.push([f[0], 'G', f[2], m.head, String(m.i++), ...f.slice(4)].join('\t')); continue; }
    if (f[1] !== 'F') m = null;
    out.push(l);
  }
  return out;
}

test('message fds as G lines (the count on each fd, no M line) make the same records as M + F lines', () => {
  for (const name of ['send_fds', 'max253', 'mmsg']) {
    const old = lines(name);
    const g = toG(old);
    assert.ok(g.some((l) => l.includes('\tG\t')) && g.length < old.length, `${name}: G lines made`);
    const strip = (r: Run) => r.records.map((x) => JSON.stringify({ ...x, line: undefined }));
    const a = run(old);
    const b = run(g);
    assert.is(b.parser.stats.malformed, 0);
    assert.equal(strip(b), strip(a), name);
  }
  // a message holding more fds than were read: hidden
  const r = run(toG(lines('max253')).filter((l) => !/\tG\t\d+\t0\t253\t0\t25[0-2]\t/.test(l)));
  const recv = r.ops.find((o): o is Extract<FdOp, { op: 'receive' }> => o.op === 'receive')!;
  assert.equal(recv.messages.map((m) => m !== 'opaque' && [m.fds.length, m.hidden]), [[250, true]]);
});

test('hostile names: a newline, a tab and a literal \\x41 in a path cannot break the lines; the path comes back exact', () => {
  const r = run(lines('hostile'));
  assert.is(r.parser.stats.malformed, 0);
  const t = delivered(r);
  assert.is(t.length, 1);
  assert.match(t[0]!.target ?? '', /^\/tmp\/fdwatch-bpf-rec-[^/]+\/h-[^/]+\/tab\there\/new\nline \\x41 é$/);
});

test('out of order: events from other CPUs arrive in any order; the window sorts them by kernel time', () => {
  const input = lines('send_fds');
  // cut the stream into probe runs (lines of one tid and time, closed by E/P/X/Q) and swap neighbours
  const runs: string[][] = [];
  let cur: string[] = [];
  for (const l of input) {
    cur.push(l);
    if (/^\d+\t[EPXQRAZ]\t/.test(l) || !/^\d/.test(l)) { runs.push(cur); cur = []; }
  }
  if (cur.length) runs.push(cur);
  const shuffled: string[] = [];
  for (let i = 0; i < runs.length; i += 2) shuffled.push(...(runs[i + 1] ?? []), ...runs[i]!);
  const a = run(input);
  const b = run(shuffled);
  // the same records, but for the input line numbers they cite
  const strip = (r: Run) => r.records.map((x) => JSON.stringify({ ...x, line: undefined }));
  assert.equal(strip(b), strip(a));
  assert.ok(ofType(b.records, 'transfer').length === 7);
});

test('names the parser keeps (D, U, I, X lines) do not keep the chunks of bpftrace\'s output they were read from alive', () => {
  // a slice of 13 characters or more shares its parent string in V8: a dentry name kept for the session kept the
  // whole read chunk (64 KB from the pipe) with it
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const p = new BpfParser(() => {}, { windowNs: 100, mountPoint });
  const heap = (): number => { gc(); return process.memoryUsage().heapUsed; };
  const before = heap();
  const CHUNK = 256 * 1024;
  for (let i = 0; i < 100; i++) {
    // a chunk as the session reads it: one flat string, the lines read in place
    const name = `a-long-file-name-number-${i}`;
    const lines = [
      `${1000 + i}\tD\t7\tffff8881000${String(i).padStart(5, '0')}\tffff888100000f00\t${name.length}\t${name}`,
      `${1000 + i}\tU\t7\tr\t${name.length + 6}\t/tmp/${name}`,
      `${1000 + i}\tI\t7\ts\t1\t1\t2001:db8:${i}::1234:5678\t80\t2001:db8:${i}::abcd:ef01\t443`,
      `${1000 + i}\tX\t7\t7\t0\t7\t${name.length + 5}\tcomm-with-a-long-name\t/bin/${name}`,
    ];
    const text = lines.join('\n') + '\n' + 'x'.repeat(CHUNK);
    let at = 0;
    for (const l of lines) { p.push(text, at, at + l.length); at += l.length + 1; }
  }
  p.flush(null);
  const grew = heap() - before;
  // 100 chunks of 256 KB: 25 MB if any is kept
  assert.ok(grew < 5 * 1024 * 1024, `the heap grew by ${(grew / 1e6).toFixed(1)} MB`);
});

test('the window: events leave it only once older than the window; one that comes later than that is counted late', () => {
  const out: FdOp[] = [];
  const p = new BpfParser((op) => out.push(op), { windowNs: 100, mountPoint });
  p.push('1000\tE\t7\t7\t0\ttracepoint:syscalls:sys_enter_close\t3\tffff1');
  p.push('1050\tE\t8\t8\t0\ttracepoint:syscalls:sys_enter_close\t4\tffff2');
  p.flush(1120);
  assert.equal(out.filter((o) => o.op === 'close').map((o) => o.tid), [7], 'only the one older than 100 ns');
  p.push('990\tE\t9\t9\t0\ttracepoint:syscalls:sys_enter_close\t5\tffff3');
  p.flush(null);
  assert.equal(out.filter((o) => o.op === 'close').map((o) => o.tid), [7, 9, 8]);
  assert.is(p.stats.late, 1);
  assert.is(p.waiting, 0);
});

test('the window: arrivals out of order, a few places back or many, leave in kernel-time order (ties in arrival order)', () => {
  const out: FdOp[] = [];
  const p = new BpfParser((op) => out.push(op), { windowNs: 100, mountPoint });
  // tids stand for the order they must leave in; times: mostly rising, some a few places back, one 200 places back,
  // and equal times
  const times: Array<[ns: number, tid: number]> = [];
  for (let i = 0; i < 300; i++) times.push([10_000 + 10 * i, 0]);
  times.splice(40, 0, [10_000 + 10 * 37 + 5, 0]); // 3 back
  times.splice(250, 0, [10_000 + 10 * 30 + 5, 0]); // ~220 back: past what a move into place takes
  times.splice(120, 0, [10_000 + 10 * 119, 0], [10_000 + 10 * 119, 0]); // ties
  const order = times.map(([ns], i) => ({ ns, i })).sort((a, b) => a.ns - b.ns || a.i - b.i);
  order.forEach((o, rank) => { times[o.i]![1] = 1000 + rank; });
  for (const [ns, tid] of times) {
    p.push(`${ns}\tE\t${tid}\t${tid}\t0\ttracepoint:syscalls:sys_enter_close\t3\tffff${tid}`);
    // released as the session does, a part at a time
    if (tid % 37 === 0) p.flush(ns - 3000);
  }
  p.flush(null);
  const tids = out.filter((o) => o.op === 'close').map((o) => o.tid);
  assert.is(tids.length, times.length);
  assert.equal(tids, [...tids].sort((a, b) => a - b));
  assert.is(p.stats.late, 0);
});

/** A close's E line of ordered output: its last field is this CPU's count of groups << 16 | the CPU. */
const taggedClose = (ns: number, tid: number, cpu: number, seq: number): string =>
  `${ns}\tE\t${tid}\t${tid}\t0\ttracepoint:syscalls:sys_enter_close\t3\tffff${tid}\t${seq * 65536 + cpu}`;

/** A parser of ordered output; `beat` pushes a heartbeat's W and T lines. */
function orderedParser(): { p: BpfParser; out: FdOp[]; closes: () => number[]; beat: (ns: number, seqs: number[]) => void } {
  const out: FdOp[] = [];
  const p = new BpfParser((op) => out.push(op), { windowNs: 100, mountPoint, ordered: true });
  const beat = (ns: number, seqs: number[]): void => { p.push(`${ns}\tW\t0\t${seqs.join('\t')}`); p.push(`${ns}\tT\t${' '.repeat(20)}`); };
  return { p, out, closes: () => out.filter((o) => o.op === 'close').map((o) => o.tid), beat };
}

test('ordered output: an event leaves only once every CPU\'s ring is read as far as a later heartbeat counted', () => {
  const { p, out, closes, beat } = orderedParser();
  // CPU 0's ring is read first, long after; CPU 1 printed its event earlier, its ring not read yet
  p.push(taggedClose(2000, 7, 0, 1));
  beat(3000, [1, 1]);
  p.flush(1e9);
  assert.is(out.length, 0, 'the heartbeat counted a line of CPU 1 not read yet');
  p.push(taggedClose(1000, 8, 1, 1));
  p.flush(1e9);
  assert.equal(closes(), [8, 7], 'in kernel order');
  assert.is(p.stats.late, 0);
  assert.is(p.completeNs, 3000);
  // a heartbeat's W lines without its T line yet do not count; a line without its tag is malformed
  p.push('4000\tW\t0\t1\t1');
  p.push(taggedClose(3500, 9, 0, 2));
  p.flush(1e9);
  assert.is(p.completeNs, 3000);
  p.push('3600\tE\t10\t10\t0\ttracepoint:syscalls:sys_enter_close\t3\tffff10');
  assert.is(p.stats.malformed, 1);
  // a heartbeat of more than 16 CPUs comes in several W lines: CPU 19 waits in the second
  p.push('5000\tW\t0\t2\t1');
  p.push('5000\tW\t16\t0\t0\t0\t1');
  p.push(`5000\tT\t${' '.repeat(20)}`);
  p.flush(1e9);
  assert.is(p.completeNs, 3000, 'CPU 19 has not been read that far');
  p.push(taggedClose(4500, 11, 19, 1));
  p.flush(1e9);
  assert.is(p.completeNs, 5000);
  p.end();
  assert.equal(closes(), [8, 7, 9, 11]);
});

test('ordered output: a heartbeat waiting on a line bpftrace lost stops waiting once the ring has been idle a second', () => {
  const { p, out, closes, beat } = orderedParser();
  p.push(taggedClose(1000, 7, 0, 1));
  // CPU 1's first group was lost in its ring
  beat(2000, [1, 1]);
  beat(3000, [1, 1]);
  p.flush(10e9);
  assert.is(out.length, 0, 'without a loss reported, the ring is only behind');
  p.push('Lost 1 events');
  p.flush(10e9);
  p.flush(10.5e9);
  assert.is(out.length, 0, 'not before a second');
  beat(4000, [1, 1]);
  p.flush(11.1e9);
  assert.equal(closes(), [7]);
  assert.is(p.completeNs, 4000);
  assert.is(p.stats.lostEvents, 1);
});

test('the short lines: calls by number, a socket in four fields once described, a message\'s one fd on the E line, K lines', () => {
  const recs: FdwatchRecord[] = [];
  const c = new Correlator((r) => recs.push(r), { resolveTgid: (tid) => p.tgidOf(tid) });
  const p: BpfParser = new BpfParser((op) => c.push(op), { windowNs: 100, mountPoint: () => '/', clock: (ns) => ns / 1e9 });
  // a socketpair (its two ends in F lines: the file cache records them), then /etc/hostname opened by pid 7 (openat: 257)
  p.push('1000\tF\t7\tr\t3\tffff888100000a00\t501\t534f434b\t140777\t1\t8\tffff888100000001\tffff888100000002\t0\t0\t1\t1\t502');
  p.push('1000\tF\t7\tr\t4\tffff888100000b00\t502\t534f434b\t140777\t1\t8\tffff888100000001\tffff888100000003\t0\t0\t1\t1\t501');
  p.push('1000\tE\t7\t7\t0\t53\t0');
  p.push('1100\tD\t7\tffff888100000d00\tffff888100000e00\t8\thostname');
  p.push('1100\tD\t7\tffff888100000e00\tffff888100000f00\t3\tetc');
  p.push('1100\tD\t7\tffff888100000f00\tffff888100000f00\t1\t/');
  p.push('1100\tE\t7\t7\t0\t257\t5\t5\tffff888100000c00\t612\tef53\t100644\t1\t27\tffff888100000f00\tffff888100000d00\t0\t0\t0\t0\t0');
  // sendmsg (46) of fd 5 on socket fd 3, both in four fields (the socket was described, the sent fd is the sender's);
  // recvmsg (47) on fd 4 of pid 8: its new fd 6 is the same file, described before (so on the E line, no G line)
  p.push('1200\tE\t7\t7\t0\t46\t1\t0\t3\tffff888100000a00\t501\t0\t0\t5\tffff888100000c00');
  p.push('1300\tE\t8\t8\t0\t47\t1\t1073741824\t4\tffff888100000b00\t502\t0\t0\t6\tffff888100000c00');
  // a second message of two fds: the first described before (K), the second in full (G, without the socket's fields)
  p.push('1400\tE\t7\t7\t0\t257\t9\t9\tffff888100001c00\t613\tef53\t100644\t1\t27\tffff888100000f00\tffff888100000d00\t0\t0\t0\t0\t0');
  p.push('1500\tH\t7\t0\t2\t0\t0\t5\tffff888100000c00\t612\t0');
  p.push('1500\tH\t7\t0\t2\t0\t1\t9\tffff888100001c00\t613\t0');
  p.push('1500\tE\t7\t7\t0\t46\t1\t0\t3\tffff888100000a00\t501\t0\t0\t-1\t0');
  p.push('1600\tK\t8\t0\t2\t0\t0\t7\tffff888100000c00\t612\t0');
  p.push('1600\tG\t8\t0\t2\t0\t1\t10\tffff888100001c00\t613\tef53\t100644\t1\t27\tffff888100000f00\tffff888100000d00\t0\t0');
  p.push('1600\tE\t8\t8\t0\t47\t1\t0\t4\tffff888100000b00\t502\t0\t0\t-1\t0');
  p.end();
  c.finish();
  assert.is(p.stats.malformed, 0, JSON.stringify(p.samples));
  const t = ofType(recs, 'transfer').filter((x) => x.state === 'delivered');
  assert.equal(t.map((x) => [x.from.pid, x.from.fd, x.to?.pid, x.to?.fd, x.target, x.confirmed]), [
    [7, 5, 8, 6, '/etc/hostname', true], [7, 5, 8, 7, '/etc/hostname', true], [7, 9, 8, 10, '/etc/hostname', true],
  ]);
  // the sockets, named in four fields, are the ones their F lines described
  assert.equal([t[0]!.from.socket, t[0]!.to?.socket], ['UNIX-STREAM:[501->502]', 'UNIX-STREAM:[502->501]']);
  // MSG_CMSG_CLOEXEC on the first receive
  assert.equal(ofType(recs, 'fd').filter((f) => f.op === 'receive').map((f) => [f.fd, f.cloexec]), [[6, true], [7, false], [10, false]]);
});

test('a socket named in four fields whose describing line was lost is named by its inode; an unknown call number is counted', () => {
  const ops: FdOp[] = [];
  const p = new BpfParser((op) => ops.push(op), { windowNs: 100, mountPoint: () => '/' });
  p.push('1200\tE\t7\t7\t0\t46\t1\t0\t3\tffff888100000a00\t501\t0\t0\t5\tffff888100000c00');
  p.push('1300\tE\t7\t7\t0\t999\t3');
  p.end();
  const send = ops.find((o) => o.op === 'send');
  assert.is(send?.op === 'send' && send.socket?.target?.target, 'socket:[501]');
  assert.equal(p.samples.map((s) => s.reason), ['E line for syscall 999']);
});

test('a dentry freed and reused while an event that named it waits: the event gets the name it had then', () => {
  const out: FdOp[] = [];
  const p = new BpfParser((op) => out.push(op), { windowNs: 100, mountPoint });
  const memfd = '3\tffff1\t42\t1021994\t100777\t0\t0\tffffa0\tffffd0\t1\t0\t0\t0\t0';
  p.push('1000\tD\t7\tffffd0\tffffa0\t19\tmemfd:fdwatch-memfd');
  p.push(`1000\tE\t7\t7\t0\ttracepoint:syscalls:sys_exit_memfd_create\t3\t${memfd}`);
  // the memfd is gone, and /proc/31901/cgroup's dentry takes its memory, before the memfd's event is handled
  p.push('1040\tD\t8\tffffd0\tffffe0\t6\tcgroup');
  p.push('1040\tD\t8\tffffe0\tffffe1\t5\t31901');
  p.end();
  const open = out.find((o) => o.op === 'open');
  assert.is(open?.op === 'open' && open.target.target, '/memfd:fdwatch-memfd (deleted)');
  // a later event naming that dentry gets its name now
  const q = new BpfParser((op) => out.push(op), { windowNs: 100, mountPoint });
  q.push('1000\tD\t7\tffffd0\tffffa0\t19\tmemfd:fdwatch-memfd');
  q.push('1040\tD\t8\tffffd0\tffffa0\t6\tcgroup');
  q.push(`1050\tE\t7\t7\t0\ttracepoint:syscalls:sys_exit_memfd_create\t3\t${memfd}`);
  q.end();
  const later = out.filter((o) => o.op === 'open')[1];
  assert.is(later?.op === 'open' && later.target.target, 'cgroup (deleted)');
});

test('malformed lines and lost events are counted, never fatal; bpftrace\'s own messages are not errors', () => {
  const input = [
    'Attaching 53 probes...',
    ...lines('seed').filter((l) => !l.startsWith('Attaching')),
    'Lost 12 events',
    'garbage here',
    '12345\tE\t1\t1\t0\ttracepoint:syscalls:sys_exit_openat\t3',
    '12346\tF\t1\tr\tnot-a-number',
    '12347\tY\t1',
    'Lost 3 events',
  ];
  const r = run(input);
  assert.is(r.parser.stats.lostEvents, 15);
  assert.is(r.parser.stats.malformed, 4);
  assert.equal(r.parser.samples.map((s) => s.reason), [
    'not an fdwatch event line', 'E line with 7 fields, not 21', 'F line with 5 fields, not 18', 'unknown line kind Y',
  ]);
  // the good lines still make their transfer
  assert.is(delivered(r).length, 1);
});

test('an event whose fd lines were lost (another CPU\'s ring overflowed) is counted and skipped, never fatal', () => {
  // the socketpair's E line without the two F lines of its fds, as a whole-host trace under load delivered it
  const all = lines('seed');
  const at = all.findIndex((l) => l.includes('sys_exit_socketpair'));
  assert.ok(at > 2 && all[at - 1]!.includes('\tF\t') && all[at - 2]!.includes('\tF\t'), 'the fixture has them');
  const r = run([...all.slice(0, at - 2), ...all.slice(at)]);
  assert.is(r.parser.stats.malformed, 1);
  assert.equal(r.parser.samples.map((x) => x.reason), ['socketpair: 0 of its 2 fds']);
  assert.ok(r.records.some((x) => x.type === 'summary' || x.type === 'process'), 'the rest still makes records');
});

test('paths the dentry names do not reach: /proc right after the event, else only the tail, marked', () => {
  // a D line for the file itself, none for its directory: the walk cannot reach the mount root
  const d = '5000\tD\t1\tffaa\tffbb\t4\tfile';
  const open = '5000\tE\t1\t1\t0\ttracepoint:syscalls:sys_exit_openat\t3\t3\tff01\t99\tef53\t100644\t1\t27\tff00\tffaa\t0\t0\t0\t0\t0';
  const asked: string[] = [];
  const withProc = run([d, open], { resolveFd: (pid, fd, ino) => { asked.push(`${pid} ${fd} ${ino}`); return '/srv/data/file'; } });
  assert.equal(asked, ['1 3 99']);
  assert.is(ofType(withProc.records, 'fd').find((f) => f.op === 'open')!.target, '/srv/data/file');
  assert.is(withProc.parser.stats.pathsFromProc, 1);
  const gone = run([d, open], { resolveFd: () => null });
  assert.is(ofType(gone.records, 'fd').find((f) => f.op === 'open')!.target, '.../file');
  assert.is(gone.parser.stats.partialPaths, 1);
});

test('a freed dentry\'s old D line that arrives late (another CPU) does not rename the dentry that reused its memory', () => {
  const input = lines('send_fds');
  const at = input.findIndex((l) => l.includes('\tD\t') && l.endsWith('memfd:fdwatch-memfd'));
  assert.ok(at >= 0, 'the memfd\'s D line is in the fixture');
  const [ns, , , dentry] = input[at]!.split('\t');
  // the same dentry address, named earlier (a /proc file read on another CPU, since freed), delivered after
  const stale = `${Number(ns) - 5000}\tD\t1\t${dentry}\tffff8881aaaa0000\t6\tcgroup`;
  const r = run([...input.slice(0, at + 1), stale, ...input.slice(at + 1)]);
  assert.ok(delivered(r).some((t) => t.kind === 'memfd' && t.target === '/memfd:fdwatch-memfd (deleted)'),
    JSON.stringify(delivered(r).map((t) => t.target)));
});

test.run();
