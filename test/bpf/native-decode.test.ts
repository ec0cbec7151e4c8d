// The native engine's ring records -> FdOps (src/bpf/native/decode.ts): records built here from format.ts's layouts,
// out of real bpftrace lines (fixtures/bpf/*.raw), must make the very FdOps the lines make; malformed records are
// counted, never thrown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { BpfParser, ptrKeyOf, type ParseOptions } from '../../src/bpf/parse.js';
import { RecordDecoder, ntop } from '../../src/bpf/native/decode.js';
import { replayRecording, ringRecorder } from '../../src/bpf/native/recording.js';
import os from 'node:os';
import { DESC, HEADER, KIND, NAME_BYTES, NATIVE_STRLEN, REC_D, REC_E, REC_F, REC_G, REC_I, REC_M, REC_P, REC_Q, REC_U, REC_X } from '../../src/bpf/native/format.js';
import { DEFAULT_STRLEN, X64_SYSCALL_NR } from '../../src/bpf/program.js';
import { SYSCALLS } from '../../src/model/syscalls.js';
import type { FdOp } from '../../src/model/fdop.js';
import { root } from '../paths.js';

const dir = path.join(root, 'fixtures', 'bpf');
const MOUNTS = new Map(fs.readFileSync(path.join(dir, 'mountinfo'), 'utf8').split('\n').filter(Boolean)
  .map((l) => { const f = l.split(' '); return [Number(f[0]), f[4]!] as const; }));
const OPTS: ParseOptions = { mountPoint: (id) => MOUNTS.get(id) ?? null, clock: (ns) => ns / 1e9 };

// ------------------------------------------------------------------ a test-side encoder: one text line -> one record

/** bpftrace's %r text -> the bytes it stands for (the fixture is read as latin1: one char per byte). */
function bytesOf(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-f]{2}$/i.test(text.slice(i + 2, i + 4))) {
      const b = parseInt(text.slice(i + 2, i + 4), 16);
      if (b < 0x20 || b >= 0x7f) { out.push(b); i += 3; continue; }
    }
    out.push(text.charCodeAt(i) & 0xff);
  }
  return out;
}

class Rec {
  readonly v: DataView;
  constructor(size: number, ns: string, tid: string, kind: number, role = 0) {
    this.v = new DataView(new ArrayBuffer(size));
    this.u64(HEADER.ns, ns);
    this.v.setUint32(HEADER.tid, Number(tid), true);
    this.v.setUint8(HEADER.kind, kind);
    this.v.setUint8(HEADER.role, role);
  }
  u64(at: number, dec: string | bigint): this { this.v.setBigUint64(at, BigInt.asUintN(64, BigInt(dec)), true); return this; }
  hex(at: number, hex: string): this { return this.u64(at, BigInt('0x' + hex)); }
  u32(at: number, n: string | number): this { this.v.setUint32(at, Number(n) >>> 0, true); return this; }
  bytes(at: number, b: number[], max: number): this { b.slice(0, max).forEach((x, i) => this.v.setUint8(at + i, x)); return this; }
  /** a text DESC (14 fields, or a G line's 11) at `at` */
  desc(at: number, f: string[]): this {
    this.v.setInt32(at + DESC.fd, Number(f[0]), true);
    this.hex(at + DESC.file, f[1]!);
    this.u64(at + DESC.ino, f[2]!);
    this.v.setUint32(at + DESC.magic, parseInt(f[3]!, 16), true);
    this.v.setUint32(at + DESC.mode, parseInt(f[4]!, 8), true);
    this.v.setUint32(at + DESC.nlink, Number(f[5]), true);
    this.v.setInt32(at + DESC.mntId, Number(f[6]), true);
    this.hex(at + DESC.mntRoot, f[7]!);
    this.hex(at + DESC.dentry, f[8]!);
    this.v.setUint8(at + DESC.cloexec, f[9] === '1' ? 1 : 0);
    this.v.setInt32(at + DESC.aux, Number(f[10]), true);
    this.v.setInt16(at + DESC.family, Number(f[11] ?? 0), true);
    this.v.setInt16(at + DESC.sockType, Number(f[12] ?? 0), true);
    this.u64(at + DESC.peer, f[13] ?? '0');
    return this;
  }
  /** an H (or K: known, lean 2) line's fd file ino cloexec */
  lean(at: number, f: string[], known = false): this {
    this.v.setInt32(at + DESC.fd, Number(f[0]), true);
    this.hex(at + DESC.file, f[1]!);
    this.u64(at + DESC.ino, f[2]!);
    this.v.setUint8(at + DESC.cloexec, f[3] === '1' ? 1 : 0);
    this.v.setUint8(at + DESC.lean, known ? 2 : 1);
    return this;
  }
}

/** E_FIELDS's kinds by family (src/bpf/parse.ts): which fields are pointers (hex in the text). */
const HEX_FIELDS: Record<string, number[]> = { close: [1], mmap: [0, 2] };

/** The record of one text line of the kernel side (D F U I G H M E P X Q), as the native engine writes it. */
function encode(line: string): DataView {
  const f = line.split('\t');
  const [ns, kind, tid] = [f[0]!, f[1]!, f[2]!];
  switch (kind) {
    case 'D': {
      const len = Number(f[5]);
      // the text cut the name (bpftrace's strlen): so is the record (past NATIVE_STRLEN)
      const r = new Rec(REC_D.size, ns, tid, KIND.D).hex(REC_D.dentry, f[3]!).hex(REC_D.parent, f[4]!)
        .u32(REC_D.len, len > DEFAULT_STRLEN ? NATIVE_STRLEN + 1 : len);
      return r.bytes(REC_D.name, bytesOf(f[6]!), NAME_BYTES).v;
    }
    case 'F': return new Rec(REC_F.size, ns, tid, KIND.F, f[3]!.charCodeAt(0)).desc(REC_F.desc, f.slice(4)).v;
    case 'U': {
      const b = bytesOf(f[5]!);
      return new Rec(REC_U.size, ns, tid, KIND.U, f[3]!.charCodeAt(0)).u32(REC_U.len, b.length).bytes(REC_U.path, b, 108).v;
    }
    case 'I': {
      // IPv4 only here (a test sets an IPv6 record's bytes itself)
      const r = new Rec(REC_I.size, ns, tid, KIND.I, f[3]!.charCodeAt(0)).u32(REC_I.type, f[4]!).u32(REC_I.state, f[5]!);
      r.v.setUint16(REC_I.family, f[6]!.includes(':') ? 10 : 2, true);
      r.v.setUint16(REC_I.lport, Number(f[7]), true);
      r.v.setUint16(REC_I.rport, Number(f[9]), true);
      if (!f[6]!.includes(':')) r.bytes(REC_I.laddr, f[6]!.split('.').map(Number), 4).bytes(REC_I.raddr, f[8]!.split('.').map(Number), 4);
      return r.v;
    }
    case 'G': case 'H': case 'K': {
      const r = new Rec(REC_G.size, ns, tid, kind === 'G' ? KIND.G : KIND.H).u32(REC_G.msg, f[3]!).u32(REC_G.nfds, f[4]!)
        .u32(REC_G.ctrunc, f[5]!).u32(REC_G.i, f[6]!);
      return (kind === 'G' ? r.desc(REC_G.desc, f.slice(7)) : r.lean(REC_G.desc, f.slice(7), kind === 'K')).v;
    }
    case 'M': return new Rec(REC_M.size, ns, tid, KIND.M).u32(REC_M.msg, f[3]!).u32(REC_M.nfds, f[4]!).u32(REC_M.ctrunc, f[5]!).v;
    case 'E': {
      // the call by its number (saved registers) or its probe's name
      const byNr = /^\d+$/.test(f[5]!);
      const call = byNr ? Object.entries(X64_SYSCALL_NR).find(([, n]) => n === Number(f[5]))![0] : f[5]!.replace(/^.*:sys_(exit|enter)_/, '');
      const nr = byNr ? Number(f[5]) : X64_SYSCALL_NR[call]!;
      const spec = SYSCALLS.get(call)!;
      const fixed = ({ open: 1, accept: 1, pair: 1, dup: 2, fcntl: 4, close: 2, close_range: 4, sendmsg: 2, recvmsg: 2, sendmmsg: 2, recvmmsg: 2, pidfd_getfd: 3, mmap: 8 } as Record<string, number>)[spec.family]!;
      // as the kernel writes it: without a DESC the record ends where the DESC would start
      const withDesc = f.length - 6 - fixed === 14;
      const r = new Rec(withDesc ? REC_E.size : REC_E.desc, ns, tid, KIND.E).u32(REC_E.tgid, f[3]!).u32(REC_E.euid, f[4]!).u32(REC_E.nr, nr).u32(REC_E.nfields, fixed);
      const hex = HEX_FIELDS[spec.family] ?? [];
      for (let i = 0; i < fixed; i++) {
        const x = f[6 + i]!;
        if (hex.includes(i)) r.hex(REC_E.fields + 8 * i, x); else r.u64(REC_E.fields + 8 * i, x);
      }
      // the short form (sendmsg/recvmsg: SOCK and its one fd): the record has no DESC, its socket came as an F of role s
      const rest = f.slice(6 + fixed);
      if (rest.length === 14) r.v.setUint8(REC_E.hasDesc, 1), r.desc(REC_E.desc, rest);
      else if (rest.length !== 0 && !(rest.length === 7 && rest[5] === '-1')) throw new Error(`cannot encode: ${line}`);
      return r.v;
    }
    case 'P': return new Rec(REC_P.size, ns, tid, KIND.P).u32(REC_P.tgid, f[3]!).u32(REC_P.euid, f[4]!).u32(REC_P.child, f[5]!).hex(REC_P.flags, f[6]!).u32(REC_P.which, f[7]!).v;
    case 'X': {
      const len = Number(f[6]);
      return new Rec(REC_X.size, ns, tid, KIND.X).u32(REC_X.tgid, f[3]!).u32(REC_X.euid, f[4]!).u32(REC_X.oldTid, f[5]!)
        .u32(REC_X.len, len > DEFAULT_STRLEN ? NATIVE_STRLEN + 1 : len).bytes(REC_X.comm, bytesOf(f[7]!), 16).bytes(REC_X.path, bytesOf(f[8]!), NAME_BYTES).v;
    }
    case 'Q': return new Rec(REC_Q.size, ns, tid, KIND.Q).u32(REC_Q.tgid, f[3]!).u32(REC_Q.groupDead, f[4]!).u32(REC_Q.exitCode, Number(f[5])).v;
    default: throw new Error(`no record for a ${kind} line`);
  }
}

/** Records back to back, 8-aligned, in one buffer (as the ring holds them): [view, offsets, lengths]. */
function ring(records: DataView[]): { data: DataView; at: Array<[number, number]> } {
  let size = 0;
  const at: Array<[number, number]> = [];
  for (const r of records) { at.push([size + 8, r.byteLength]); size += 8 + ((r.byteLength + 7) & ~7); }
  const buf = new Uint8Array(size);
  records.forEach((r, i) => buf.set(new Uint8Array(r.buffer, r.byteOffset, r.byteLength), at[i]![0]));
  return { data: new DataView(buf.buffer), at };
}

/** The kernel side's lines of a recording (the loader's chatter and the sentinel have no record). */
const KERNEL_LINE = /^\d+\t[DFUIGHKMEPXQ]\t/;

function fixture(name: string): string[] {
  return fs.readFileSync(path.join(dir, `${name}.raw`), 'latin1').split('\n');
}

/** M + F(m) lines as G lines (the program's current form; the native engine's only one). */
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

function textOps(lines: string[], opts: ParseOptions = OPTS): { ops: FdOp[]; parser: BpfParser } {
  const ops: FdOp[] = [];
  const parser = new BpfParser((op) => ops.push(op), opts);
  for (const l of lines) parser.push(l);
  parser.end();
  return { ops, parser };
}

function nativeOps(records: DataView[], opts: ParseOptions = OPTS, knownFiles = false): { ops: FdOp[]; parser: BpfParser } {
  const ops: FdOp[] = [];
  const parser = new BpfParser((op) => ops.push(op), opts);
  const dec = new RecordDecoder(parser, { knownFiles });
  const { data, at } = ring(records);
  for (const [off, len] of at) dec.record(data, off, len);
  parser.end();
  return { ops, parser };
}

/** The same lines both ways: the ops deep-equal (line numbers too: one record per line). */
function same(lines: string[], what: string): FdOp[] {
  const t = textOps(lines);
  // K lines name a file an earlier line described: the decoder is told (the kernel's records have none)
  const n = nativeOps(lines.map(encode), OPTS, lines.some((l) => l.split('\t')[1] === 'K'));
  assert.is(t.parser.stats.malformed, 0, `${what}: text ${JSON.stringify(t.parser.samples)}`);
  assert.is(n.parser.stats.malformed, 0, `${what}: native ${JSON.stringify(n.parser.samples)}`);
  assert.ok(t.ops.length > 0, `${what}: ops`);
  assert.equal(n.ops, t.ops, what);
  assert.equal(n.parser.stats, t.parser.stats, `${what}: stats`);
  return n.ops;
}

// ------------------------------------------------------------------ the cases

test('every recording (open with paths walked through D, socketpair, sendmsg/recvmsg, mmsg, pidfd_getfd, fork/exec/exit, mmap, close, 253 fds, hostile names): the same ops from records as from lines', () => {
  const seen = new Set<string>();
  for (const name of ['seed', 'send_fds', 'mmsg', 'pidfd_getfd', 'threads', 'exec_thread', 'hostile', 'max253']) {
    const lines = toG(fixture(name)).filter((l) => KERNEL_LINE.test(l));
    for (const op of same(lines, name)) seen.add(op.op);
  }
  for (const op of ['open', 'pair', 'send', 'receive', 'take', 'clone', 'exec', 'exit', 'map', 'close', 'dup', 'set-cloexec', 'uid', 'superseded']) {
    assert.ok(seen.has(op), `an ${op} op was compared`);
  }
});

test('the path of an open is joined from its D records; the hostile one (tab, newline, \\x41, é) comes back exact', () => {
  const lines = fixture('hostile').filter((l) => KERNEL_LINE.test(l));
  const ops = nativeOps(lines.map(encode)).ops;
  const opens = ops.filter((o): o is Extract<FdOp, { op: 'open' }> => o.op === 'open').map((o) => o.target.target);
  assert.ok(opens.includes('/etc/ld.so.cache'), opens.join(' '));
  assert.ok(opens.some((p) => /\/tab\there\/new\nline \\x41 é$/.test(p)), opens.join(' | '));
});

test('message fds past the first few as H records (lean), and a sendmsg in the short form (F of role s, no DESC): the same ops', () => {
  // send_fds: the receive's fds after its first as H lines (fd file ino cloexec)
  const lines = toG(fixture('send_fds')).filter((l) => KERNEL_LINE.test(l));
  let hs = 0;
  const lean = lines.map((l) => {
    const f = l.split('\t');
    if (f[1] !== 'G' || f[6] === '0') return l;
    hs++;
    return [f[0], 'H', ...f.slice(2, 7), f[7], f[8], f[9], f[16]].join('\t');
  });
  assert.ok(hs >= 3, `${hs} H lines`);
  // the threads that receive (their E line is a recvmsg)
  const recvTids = new Set(lines.filter((l) => /\tE\t.*sys_exit_recv/.test(l)).map((l) => l.split('\t')[2]!));
  const ops = same(lean, 'H');
  // the receive's as K lines (its file described before, by the send's G): taken from that description
  const known = lean.map((l) => {
    const f = l.split('\t');
    return f[1] === 'H' && recvTids.has(f[2]!) ? [f[0], 'K', ...f.slice(2)].join('\t') : l;
  });
  assert.ok(known.some((l) => l.includes('\tK\t')));
  const kops = same(known, 'K');
  assert.not.equal(kops, ops, 'K names the fds from their earlier description');
  const recv = ops.filter((o): o is Extract<FdOp, { op: 'receive' }> => o.op === 'receive');
  assert.ok(recv.some((o) => o.messages.some((m) => m !== 'opaque' && m.fds.length > 1)));
  // the seed's send and receive, their socket as an F of role s before a short E (fd0 -1: no inline fd)
  const short: string[] = [];
  for (const l of toG(fixture('seed')).filter((x) => KERNEL_LINE.test(x))) {
    const f = l.split('\t');
    if (f[1] === 'E' && /sys_exit_(send|recv)msg$/.test(f[5]!)) {
      const desc = f.slice(8);
      short.push([f[0], 'F', f[2], 's', ...desc].join('\t'));
      short.push([...f.slice(0, 8), desc[0], desc[1], desc[2], desc[9], '0', '-1', '0'].join('\t'));
    } else short.push(l);
  }
  const sops = same(short, 'short form');
  const send = sops.find((o): o is Extract<FdOp, { op: 'send' }> => o.op === 'send')!;
  assert.match(send.socket?.target?.target ?? '', /^UNIX-STREAM:\[\d+->\d+\]$/);
  assert.equal(send.messages.map((m) => m !== 'opaque' && m.fds.map((x) => x.fd)), [[3]]);
});

test('unix and inet addresses: U and I records name sockets as the lines do (abstract names, ntop words)', () => {
  const sock = (fd: number, file: string, ino: number, family: number, type: number): string =>
    [fd, file, ino, '534f434b', '140777', 1, 10, 'ffff888100446540', 'ffff888204ed5f00', 0, 0, family, type, 0].join('\t');
  const lines = [
    `100\tU\t7\tr\t12\t\\x00abstract-12`,
    `100\tF\t7\tr\t${sock(3, 'ffff88811fddacc0', 5001, 1, 1)}`,
    `100\tE\t7\t7\t0\t41\t3\t${sock(3, 'ffff88811fddacc0', 5001, 1, 1)}`,
    `200\tI\t7\tr\t1\t10\t127.0.0.1\t8080\t0.0.0.0\t0`,
    `200\tE\t7\t7\t0\t41\t4\t${sock(4, 'ffff88811fddad00', 5002, 2, 1)}`,
    `300\tI\t7\tr\t1\t1\t::1\t443\t::ffff:10.0.0.2\t51000`,
    `300\tE\t7\t7\t0\t41\t5\t${sock(5, 'ffff88811fddad40', 5003, 10, 1)}`,
  ];
  // the IPv6 record's addresses in bytes, as the kernel holds them
  const recs = lines.map(encode);
  [...Array(15).fill(0), 1].forEach((x, j) => recs[5]!.setUint8(REC_I.laddr + j, x));
  [...Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 2].forEach((x, j) => recs[5]!.setUint8(REC_I.raddr + j, x));
  const t = textOps(lines);
  const n = nativeOps(recs);
  assert.equal(n.ops, t.ops);
  assert.equal(n.ops.filter((o) => o.op === 'open').map((o) => o.op === 'open' && o.target.target), ['UNIX-STREAM:[5001,@"abstract-12"]', 'TCP:[127.0.0.1:8080]', 'TCPv6:[[::1]:443->[::ffff:10.0.0.2]:51000]']);
});

test('ntop: inet_ntop\'s words for IPv6 (the longest zero run as ::, the first of equals; mapped IPv4 dotted)', () => {
  const v6 = (words: number[]): string => {
    const v = new DataView(new ArrayBuffer(16));
    words.forEach((w, i) => v.setUint16(2 * i, w, false));
    return ntop(10, v, 0);
  };
  assert.is(v6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  assert.is(v6([0, 0, 0, 0, 0, 0, 0, 1]), '::1');
  assert.is(v6([0xfe80, 0, 0, 0, 0x1, 0x2, 0x3, 0x4]), 'fe80::1:2:3:4');
  assert.is(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.is(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.is(v6([1, 0, 0, 0, 0, 0, 0, 0]), '1::');
  assert.is(v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0002]), '::ffff:10.0.0.2');
  const v4 = new DataView(new Uint8Array([192, 168, 1, 20]).buffer);
  assert.is(ntop(2, v4, 0), '192.168.1.20');
});

test('pointer keys: a record\'s u64 keys as its hex text does (the last 12 digits, leading zeros kept past 12)', () => {
  const textKey = (hex: string): string => (hex.length > 12 ? hex.slice(-12) : hex);
  for (const x of [0n, 0x1n, 0xffffffffn, 0x100000000n, 0xffff8881ccfa0780n, 0xffff000012345678n, 0x1000000000000n, 0x0000888812345678n]) {
    const lo = Number(x & 0xffffffffn);
    const hi = Number(x >> 32n);
    assert.is(ptrKeyOf(lo, hi), textKey(x.toString(16)), x.toString(16));
  }
});

test('malformed records are counted with a sample, never thrown: unknown kind, short, unknown call, wrong field count, a message fd before its message', () => {
  const ok = encode('1000\tQ\t7\t7\t1\t0');
  const unknown = new Rec(32, '1001', '7', 0x5a).v;
  const short = new DataView(new ArrayBuffer(8));
  const cutD = new DataView(encode('1002\tD\t7\tffff8881\tffff8882\t3\tetc').buffer.slice(0, 40));
  const badNr = new Rec(REC_E.size, '1003', '7', KIND.E).u32(REC_E.nr, 999).v;
  // an E record that says it carries a DESC but ends before it
  const cutE = new Rec(REC_E.desc, '1003', '7', KIND.E).u32(REC_E.nr, 3).u32(REC_E.nfields, 2).v;
  cutE.setUint8(REC_E.hasDesc, 1);
  const badCount = encode('1004\tE\t7\t7\t0\t3\t4\tffff88811fddacc0');
  badCount.setUint32(REC_E.nfields, 5, true);
  const orphan = encode(`1005\tF\t7\tm\t3\tffff88811fdda900\t612\tef53\t100755\t1\t27\tffff88810044d600\tffff8881006dc6c0\t1\t0\t0\t0\t0`);
  const n = nativeOps([unknown, short, cutD, badNr, cutE, badCount, orphan, ok]);
  assert.is(n.parser.stats.malformed, 7);
  assert.is(n.parser.stats.lines, 8);
  assert.equal(n.parser.samples.map((s) => s.reason), [
    'a record of unknown kind 0x5a', 'a record of 8 bytes (a header is 16)', `D record of 40 bytes, not ${REC_D.size}`,
    'E record for syscall 999', `E record with a DESC of ${REC_E.desc} bytes, not ${REC_E.size}`, 'close: E record with 5 fields, not 2', 'message fd before its M line',
  ]);
  assert.ok(n.parser.samples.every((s) => /^native record of \d+ bytes: [0-9a-f]+/.test(s.text)), JSON.stringify(n.parser.samples));
  // the good record after them still counts
  assert.equal(n.ops.map((o) => o.op), ['exit']);
});

test('ordered: events leave once the session says everything before a time was read (readBefore), less the window', () => {
  const ops: FdOp[] = [];
  const parser = new BpfParser((op) => ops.push(op), { ...OPTS, ordered: true, windowNs: 100 });
  const dec = new RecordDecoder(parser);
  const { data, at } = ring([1000, 2000, 3000].map((ns) => encode(`${ns}\tE\t7\t7\t0\t3\t${ns / 1000 + 2}\tffff88811fddacc0`)));
  for (const [off, len] of at) dec.record(data, off, len);
  parser.flush(1e12);
  assert.is(ops.length, 0, 'nothing read is known complete');
  parser.readBefore(2100);
  parser.flush(1e12);
  assert.equal(ops.filter((o) => o.op === 'close').map((o) => o.op === 'close' && o.fd.fd), [3, 4]);
  // never backwards
  parser.readBefore(1000);
  parser.flush(1e12);
  assert.is(ops.filter((o) => o.op === 'close').length, 2);
  parser.readBefore(3100);
  parser.flush(1e12);
  assert.equal(ops.filter((o) => o.op === 'close').map((o) => o.op === 'close' && o.fd.fd), [3, 4, 5]);
  // a record made after the stop is dropped unread
  parser.cutoffNs = 5000;
  const late = ring([encode('6000\tE\t7\t7\t0\t3\t9\tffff88811fddacc0')]);
  dec.record(late.data, late.at[0]![0], late.at[0]![1]);
  parser.end();
  assert.is(ops.filter((o) => o.op === 'close').length, 3);
});

test('a recording of the ring (FDWATCH_NATIVE_RECORD) replays the same records and markers: the same ops', () => {
  const lines = toG(fixture('send_fds')).filter((l) => KERNEL_LINE.test(l));
  const records = lines.map(encode);
  const direct = nativeOps(records);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-rec-'));
  const file = path.join(tmp, 'ring.bin');
  const rec = ringRecorder(file)!;
  const { data, at } = ring(records);
  at.forEach(([off, len], i) => { rec.record(data, off, len); if (i % 5 === 4) { rec.readBefore(1000 + i); rec.pumped(2000 + i); } });
  rec.close();
  const ops: FdOp[] = [];
  const parser = new BpfParser((op) => ops.push(op), OPTS);
  const dec = new RecordDecoder(parser);
  const marks: number[] = [];
  const n = replayRecording(fs.readFileSync(file), {
    record: (v, off, len) => dec.record(v, off, len), readBefore: (ns) => marks.push(ns), pumped: (ns) => marks.push(-ns),
  });
  parser.end();
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.is(n, records.length);
  assert.equal(marks.slice(0, 4), [1004, -2004, 1009, -2009]);
  assert.ok(ops.length > 10);
  assert.equal(ops, direct.ops);
  assert.is(ringRecorder(undefined), null);
});

test.run();
