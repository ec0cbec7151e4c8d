// The native engine's kernel side against the live kernel: a followed C program (fixtures/programs/fdops.c) opens,
// dups, closes, pairs, maps, forks a child that execs /bin/true, and exits 3; the ring's raw records (read here
// by a minimal reader of ./format.ts's layouts) must say what it did, and nothing of a process not followed.
// Closed, nothing of ours is left: no program, no bpf fd (maps, programs, raw tracepoint links). A load that fails
// leaves nothing either.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Asm, R0, R1 } from '../../src/bpf/asm.js';
import { DESC, HEADER, REC_D, REC_E, REC_F, REC_I, REC_P, REC_Q, REC_U, REC_X } from '../../src/bpf/native/format.js';
import type { NativeHandle, NativeLoadError, NativeOptions } from '../../src/bpf/native/handle.js';
import type { KernelCtx, Maps, Probe } from '../../src/bpf/native/kernel.js';
import { attachMode, DEFAULT_ATTACH, loadNative, loadNativeAsync, loadProbes, loadProbesAsync } from '../../src/bpf/native/load.js';
import { nativeProbes, PROG_PREFIX } from '../../src/bpf/native/program.js';
import { MAGIC } from '../../src/bpf/program.js';
import { bpfMapLookup, bpfMapUpdate, bpfProgramNames } from '../../src/native/index.js';
import { compile } from '../live/run.js';

const TRACEFS = '/sys/kernel/tracing';
const BTF = '/sys/kernel/btf/vmlinux';
const why = process.getuid?.() !== 0 ? 'not root'
  : !fs.existsSync(path.join(TRACEFS, 'events', 'syscalls')) ? `no syscall tracepoints under ${TRACEFS}`
    : !fs.existsSync(BTF) ? `no kernel BTF at ${BTF}` : null;

type Attach = NonNullable<NativeOptions['attach']>;
// each test names its mode: FDWATCH_NATIVE_ATTACH (for benches) would override it
delete process.env.FDWATCH_NATIVE_ATTACH;
const opts = (follow: number[] | null, attach: Attach = 'raw'): NativeOptions => ({ follow, self: process.pid, tracefs: TRACEFS, btf: BTF, attach });

function loaded(h: NativeHandle | NativeLoadError): NativeHandle {
  if ('error' in h) throw new Error(`load failed: ${h.error}`);
  return h;
}

/** This run's own program names (other engineers' tests may load the engine's at the same time). */
const TAG = `t${process.pid % 100000}`;
const renamed = (ps: Probe[]): Probe[] => ps.map((p) => ({ name: `${TAG}${p.name.slice(PROG_PREFIX.length)}`.slice(0, 15), tracepoints: p.tracepoints, insns: p.insns }));
const ours = (): string[] => (bpfProgramNames() as string[]).filter((n) => n.startsWith(TAG));
/** the kernel frees a detached raw tracepoint program after an RCU (tasks trace) grace period, ~300 ms here */
const FREED_MS = 3000;
/** 'syscalls': the holder's ~110 perf events close one by one, ~60 ms each, after close() returned */
const FREED_SYSCALLS_MS = 15000;
/** Our programs still loaded once the kernel had `ms` to free them (polled: no event says when it has). */
async function unloaded(ms = FREED_MS): Promise<string[]> {
  const t0 = Date.now();
  let left = ours();
  while (left.length > 0 && Date.now() - t0 < ms) {
    await new Promise((r) => setTimeout(r, 10));
    left = ours();
  }
  return left;
}

/** fds of this process that are bpf objects (maps, programs, links) or perf events */
function bpfFds(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const l = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (/bpf|perf_event/.test(l)) out.push(`${fd} ${l}`);
    } catch { /* closed meanwhile (the readdir's own fd) */ }
  }
  return out;
}

interface Desc { file: bigint; ino: bigint; mntRoot: bigint; dentry: bigint; peer: bigint; fd: number; magic: number; mode: number; nlink: number; mntId: number; aux: number; family: number; sockType: number; cloexec: number; lean: number }
interface Rec { kind: string; ns: bigint; tid: number; role: number; v: DataView; o: number; len: number }

function desc(v: DataView, o: number): Desc {
  return {
    file: v.getBigUint64(o + DESC.file, true), ino: v.getBigUint64(o + DESC.ino, true), mntRoot: v.getBigUint64(o + DESC.mntRoot, true),
    dentry: v.getBigUint64(o + DESC.dentry, true), peer: v.getBigUint64(o + DESC.peer, true), fd: v.getInt32(o + DESC.fd, true),
    magic: v.getUint32(o + DESC.magic, true), mode: v.getUint32(o + DESC.mode, true), nlink: v.getUint32(o + DESC.nlink, true),
    mntId: v.getInt32(o + DESC.mntId, true), aux: v.getInt32(o + DESC.aux, true), family: v.getInt16(o + DESC.family, true),
    sockType: v.getInt16(o + DESC.sockType, true), cloexec: v.getUint8(o + DESC.cloexec), lean: v.getUint8(o + DESC.lean),
  };
}

/** The ring's records, copied out (the ring's bytes are valid only during the drain). */
function drain(h: NativeHandle): Rec[] {
  const out: Rec[] = [];
  h.ring.drain((d, off, len) => {
    const copy = new DataView(d.buffer.slice(d.byteOffset + off, d.byteOffset + off + len));
    out.push({ kind: String.fromCharCode(copy.getUint8(HEADER.kind)), ns: copy.getBigUint64(HEADER.ns, true), tid: copy.getUint32(HEADER.tid, true), role: copy.getUint8(HEADER.role), v: copy, o: 0, len });
  });
  return out;
}

interface E { nr: number; tgid: number; euid: number; fields: bigint[]; desc: Desc | null; tid: number }
function eOf(r: Rec): E {
  const v = r.v;
  const n = v.getUint32(REC_E.nfields, true);
  const fields = Array.from({ length: n }, (_, i) => v.getBigInt64(REC_E.fields + 8 * i, true));
  return { nr: v.getUint32(REC_E.nr, true), tgid: v.getUint32(REC_E.tgid, true), euid: v.getUint32(REC_E.euid, true), fields, tid: r.tid, desc: v.getBigUint64(REC_E.hasDesc, true) ? desc(v, REC_E.desc) : null };
}

function cstr(v: DataView, off: number, len: number): string {
  return Buffer.from(v.buffer, v.byteOffset + off, len).toString('latin1');
}

function run(exe: string, dir: string, rounds?: number): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(exe, [dir, ...(rounds === undefined ? [] : [String(rounds)])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

for (const attach of ['raw', 'syscalls'] as const) test(`${attach}: a followed program's fd-table changes, fork, exec and exit, as raw ring records; an unfollowed one writes none`, async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const exe = compile('fdops');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-nk-'));
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-nk-other-'));
  const followed = run(exe, dir);
  const other = run(exe, otherDir);
  let h: NativeHandle | null = null;
  try {
    const fdsBefore = bpfFds();
    h = loaded(loadProbes(opts([followed.child.pid!], attach), (k) => renamed(nativeProbes(k)), TAG));
    console.log(`  loaded in ${h.loadMs.toFixed(0)} ms`);
    assert.ok(ours().length >= 10, `our programs are loaded: ${ours().join(' ')}`);
    followed.child.stdin!.end('x');
    other.child.stdin!.end('x');
    assert.is(await followed.exit, 3);
    assert.is(await other.exit, 3);
    const recs = drain(h);
    assert.is(h.lost(), 0);
    const said = new Map(followed.out().trim().split('\n').map((l) => { const [k, ...v] = l.split(' '); return [k!, v.map(Number)] as const; }));
    const [fa] = said.get('open')!, [fb] = said.get('dup')!, [fc] = said.get('dupfd')!, [s0, s1] = said.get('pair')!, [p0, p1] = said.get('pipe')!;
    const [gc] = said.get('child')!;
    const me = followed.child.pid!;
    // nothing of the unfollowed program, nor of this process
    const pids = new Set([me, gc]);
    for (const r of recs) assert.ok(pids.has(r.tid), `record ${r.kind} of tid ${r.tid} (followed: ${[...pids].join(', ')})`);
    const es = recs.filter((r) => r.kind === 'E').map(eOf);
    for (const e of es) { assert.is(e.tgid, e.tid); assert.is(e.euid, 0); }
    const byNr = (nr: number): E[] => es.filter((e) => e.nr === nr);
    const file = path.join(fs.realpathSync(dir), 'data.txt');
    // openat: the new fd described, its path's dentries named up to /
    const open = byNr(257).find((e) => e.fields[0] === BigInt(fa!));
    assert.ok(open && open.desc, 'an openat E record with its DESC');
    assert.is(open!.desc!.fd, fa);
    assert.is(open!.desc!.ino, BigInt(fs.statSync(file).ino));
    assert.is(open!.desc!.mode & 0o170000, 0o100000);
    assert.is(open!.desc!.nlink, 1);
    assert.ok(open!.desc!.file !== 0n && open!.desc!.mntRoot !== 0n);
    const names = new Map<bigint, { parent: bigint; name: string }>();
    for (const r of recs.filter((x) => x.kind === 'D')) {
      const len = Number(r.v.getBigUint64(REC_D.len, true));
      names.set(r.v.getBigUint64(REC_D.dentry, true), { parent: r.v.getBigUint64(REC_D.parent, true), name: cstr(r.v, REC_D.name, Math.min(len, 255)) });
    }
    const parts: string[] = [];
    for (let d = open!.desc!.dentry, i = 0; i < 64; i++) {
      const n = names.get(d);
      assert.ok(n, `a D record for dentry ${d.toString(16)} (after ${parts.join(' <- ')})`);
      parts.push(n!.name);
      if (n!.parent === d) break;
      d = n!.parent;
    }
    assert.is(parts[parts.length - 1], '/');
    assert.is('/' + parts.slice(0, -1).reverse().join('/'), file);
    // dup, fcntl: the same open file description
    const dup = byNr(32).find((e) => e.fields[0] === BigInt(fb!));
    assert.equal(dup?.fields, [BigInt(fb!), BigInt(fa!)]);
    assert.is(dup!.desc!.file, open!.desc!.file);
    assert.is(dup!.desc!.cloexec, 0);
    const fcntls = byNr(72);
    const dupfd = fcntls.find((e) => e.fields[0] === BigInt(fc!));
    assert.equal(dupfd?.fields, [BigInt(fc!), BigInt(fa!), 1030n, 40n]);
    assert.is(dupfd!.desc!.file, open!.desc!.file);
    assert.is(dupfd!.desc!.cloexec, 1);
    const setfd = fcntls.find((e) => e.fields[2] === 2n);
    assert.equal(setfd?.fields, [0n, BigInt(fb!), 2n, 1n]);
    assert.is(setfd!.desc!.fd, -1);
    assert.is(setfd!.desc!.file, 0n);
    // the one close: an ia32 read (number 3 too, with int $0x80) is no close
    if (!/^ia32 (yes|no)$/m.test(followed.out())) assert.unreachable(`no ia32 line in ${followed.out()}`);
    assert.equal(byNr(3).filter((e) => e.tid === me).map((e) => e.fields[0]), [BigInt(fc!)], `closes of ${me} (ia32 ${/^ia32 (\w+)/m.exec(followed.out())![1]})`);
    const close = byNr(3).find((e) => e.fields[0] === BigInt(fc!));
    assert.equal(close?.fields, [BigInt(fc!), BigInt.asIntN(64, open!.desc!.file)]);
    assert.is(close!.desc, null);
    // an E record is as long as what it carries: without a DESC it ends where the DESC would start
    const lens = (nr: number): number[] => [...new Set(recs.filter((r) => r.kind === 'E' && eOf(r).nr === nr).map((r) => r.len))];
    assert.equal(lens(3), [REC_E.desc], 'a close\'s E record has no DESC');
    assert.equal(lens(257), [REC_E.size], 'an openat\'s has its DESC');
    // socketpair: two F records before the E, peers crossing
    const recIdx = (nr: number): number => recs.findIndex((r) => r.kind === 'E' && eOf(r).nr === nr);
    const pairAt = recIdx(53);
    assert.ok(pairAt >= 2, 'a socketpair E record after its F records');
    const [f0, f1] = [recs[pairAt - 2]!, recs[pairAt - 1]!].map((r) => { assert.is(r.kind, 'F'); assert.is(r.role, 0x72); return desc(r.v, REC_F.desc); });
    assert.is(f0!.fd, s0);
    assert.is(f1!.fd, s1);
    assert.is(f0!.magic, MAGIC.SOCKFS);
    assert.is(f0!.family, 1);
    assert.is(f0!.sockType, 1);
    assert.is(f0!.peer, f1!.ino);
    assert.is(f1!.peer, f0!.ino);
    assert.equal(eOf(recs[pairAt]!).fields, [0n]);
    // accept4 of a unix stream: the listener's bound path (a U record before its E), the client's inode as peer
    const [ul, uc, ua, ucIno] = said.get('unix')!;
    const sockets = byNr(41).filter((e) => e.tid === me);
    assert.equal(sockets.map((e) => e.fields[0]), [BigInt(ul!), BigInt(uc!), ...sockets.slice(2).map((e) => e.fields[0]!)]);
    assert.is(sockets[0]!.desc!.family, 1);
    assert.is(sockets[0]!.desc!.peer, 0n, 'not connected yet');
    const accepted = (fd: number): number => recs.findIndex((r) => r.kind === 'E' && eOf(r).nr === 288 && eOf(r).fields[0] === BigInt(fd));
    const ua4 = accepted(ua!);
    assert.ok(ua4 > 0, 'an accept4 E record');
    const u = recs[ua4 - 1]!;
    assert.is(u.kind, 'U');
    assert.is(u.role, 0x72);
    const sockPath = path.join(fs.realpathSync(dir), 'sock');
    const ulen = u.v.getUint32(REC_U.len, true);
    assert.is(cstr(u.v, REC_U.path, ulen).replace(/\0+$/, ''), sockPath);
    const uacc = eOf(recs[ua4]!).desc!;
    assert.is(uacc.family, 1);
    assert.is(uacc.peer, BigInt(ucIno!));
    // accept4 on 127.0.0.1: an I record, ports in host order
    const [tl, , ta, lport, cport] = said.get('inet')!;
    assert.ok(sockets.some((e) => e.fields[0] === BigInt(tl!) && e.desc!.family === 2), 'the inet listener\'s socket E record');
    const ta4 = accepted(ta!);
    const i = recs[ta4 - 1]!;
    assert.is(i.kind, 'I');
    assert.equal([i.v.getUint32(REC_I.type, true), i.v.getUint32(REC_I.state, true), i.v.getUint16(REC_I.family, true)], [1, 1, 2], 'SOCK_STREAM, TCP_ESTABLISHED, AF_INET');
    assert.equal([i.v.getUint16(REC_I.lport, true), i.v.getUint16(REC_I.rport, true)], [lport, cport]);
    assert.equal([...new Uint8Array(i.v.buffer, REC_I.laddr, 4)], [127, 0, 0, 1]);
    assert.equal([...new Uint8Array(i.v.buffer, REC_I.raddr, 4)], [127, 0, 0, 1]);
    assert.is(eOf(recs[ta4]!).desc!.family, 2);
    // eventfd2: an anon inode, lean (fd, file, inode, CLOEXEC only); pidfd_open: its pid, on pidfs
    const [efd] = said.get('eventfd')!;
    const ev = byNr(290).find((e) => e.fields[0] === BigInt(efd!))?.desc;
    assert.ok(ev, 'an eventfd2 E record');
    assert.equal([ev!.fd, ev!.lean, ev!.cloexec, ev!.magic, ev!.mntId], [efd, 1, 1, 0, 0]);
    assert.ok(ev!.file !== 0n && ev!.ino !== 0n);
    const [pfd] = said.get('pidfd')!;
    const pd = byNr(434).find((e) => e.fields[0] === BigInt(pfd!))?.desc;
    assert.ok(pd, 'a pidfd_open E record');
    assert.equal([pd!.fd, pd!.aux, pd!.magic, pd!.cloexec, pd!.lean], [pfd, me, MAGIC.PIDFS, 1, 0]);
    // pipe (glibc may make it pipe2)
    const pipeAt = Math.max(recIdx(22), recIdx(293));
    const [q0, q1] = [recs[pipeAt - 2]!, recs[pipeAt - 1]!].map((r) => desc(r.v, REC_F.desc));
    assert.is(q0!.fd, p0);
    assert.is(q1!.fd, p1);
    assert.is(q0!.magic, MAGIC.PIPEFS);
    assert.is(q0!.ino, q1!.ino);
    // mmap of the file, shared: addr fd file length prot flags offset inode
    const mm = byNr(9);
    assert.is(mm.length, 1, 'one mmap record (private mappings of a process that received nothing are not written)');
    assert.equal(mm[0]!.fields.slice(1), [BigInt(fa!), BigInt.asIntN(64, open!.desc!.file), 10n, 1n, 1n, 0n, open!.desc!.ino]);
    // fork: P in the parent naming the child; the child is followed (its exec and exit are seen)
    const ps = recs.filter((r) => r.kind === 'P');
    assert.is(ps.length, 1);
    const p = ps[0]!.v;
    assert.is(ps[0]!.tid, me);
    assert.is(p.getUint32(REC_P.child, true), gc);
    const flags = p.getBigUint64(REC_P.flags, true);
    assert.ok((flags & 0x4000000000000000n) !== 0n, 'CLONE_SEEN');
    assert.is(flags & 0xffn, 17n, 'SIGCHLD');
    assert.is(flags & 0x10000n, 0n, 'not CLONE_THREAD');
    assert.ok([1, 2, 3].includes(p.getUint32(REC_P.which, true)));
    const xs = recs.filter((r) => r.kind === 'X');
    assert.is(xs.length, 1);
    const x = xs[0]!.v;
    assert.is(xs[0]!.tid, gc);
    assert.is(x.getUint32(REC_X.tgid, true), gc);
    assert.is(x.getUint32(REC_X.oldTid, true), gc);
    assert.is(x.getUint32(REC_X.len, true), '/bin/true'.length);
    assert.is(cstr(x, REC_X.path, 10), '/bin/true\0');
    assert.is(cstr(x, REC_X.comm, 5), 'true\0');
    const qs = recs.filter((r) => r.kind === 'Q').map((r) => ({ tid: r.tid, tgid: r.v.getUint32(REC_Q.tgid, true), dead: r.v.getUint32(REC_Q.groupDead, true), code: r.v.getUint32(REC_Q.exitCode, true) }));
    assert.equal(qs.find((q) => q.tid === gc), { tid: gc!, tgid: gc!, dead: 1, code: 0 });
    assert.equal(qs.find((q) => q.tid === me), { tid: me, tgid: me, dead: 1, code: 3 << 8 });
    // every group ends with its E/P/X/Q; records are in time order per thread
    for (const t of pids) {
      const mine = recs.filter((r) => r.tid === t);
      assert.ok(['E', 'P', 'X', 'Q'].includes(mine[mine.length - 1]!.kind));
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.ns >= mine[i - 1]!.ns, `${mine[i]!.kind} after ${mine[i - 1]!.kind} in time`);
    }
    h.close();
    h = null;
    assert.equal(await unloaded(attach === 'raw' ? FREED_MS : FREED_SYSCALLS_MS), [], 'no program of ours is loaded');
    assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
  } finally {
    h?.close();
    followed.child.kill('SIGKILL');
    other.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(otherDir, { recursive: true, force: true });
  }
});

test('--all (no follow map): a process nobody follows is seen, fdwatch itself is not', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const exe = compile('fdops');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-nk-all-'));
  const p = run(exe, dir);
  let h: NativeHandle | null = null;
  try {
    h = loaded(loadProbes(opts(null), (k) => renamed(nativeProbes(k)), TAG));
    fs.closeSync(fs.openSync(path.join(dir, 'self.txt'), 'w'));
    p.child.stdin!.end('x');
    assert.is(await p.exit, 3);
    const recs = drain(h);
    const [fa] = new Map(p.out().trim().split('\n').map((l) => { const [k, ...v] = l.split(' '); return [k!, v.map(Number)] as const; })).get('open')!;
    const opens = recs.filter((r) => r.kind === 'E' && r.tid === p.child.pid).map(eOf).filter((e) => e.nr === 257 && e.fields[0] === BigInt(fa!));
    assert.is(opens.length, 1, 'the unfollowed program\'s openat is seen');
    assert.is(opens[0]!.desc!.ino, BigInt(fs.statSync(path.join(dir, 'data.txt')).ino));
    assert.is(recs.filter((r) => r.tid === process.pid).length, 0, 'nothing of fdwatch itself');
  } finally {
    h?.close();
    p.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a process in rx: its child inherits it (its private file mappings are written); a dead group leaves follow and rx', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const exe = compile('fdops');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-nk-rx-'));
  const p = run(exe, dir);
  let h: NativeHandle | null = null;
  try {
    let maps: Maps | null = null;
    h = loaded(loadProbes(opts([p.child.pid!]), (k) => { maps = k.maps; return renamed(nativeProbes(k)); }, TAG));
    const m = maps as unknown as Maps;
    const key = (pid: number): Uint8Array => new Uint8Array(new Uint32Array([pid]).buffer);
    // as if it had received an fd (the message probes put it there)
    assert.is(bpfMapUpdate(m.rx, key(p.child.pid!), new Uint8Array([1])), true);
    p.child.stdin!.end('x');
    assert.is(await p.exit, 3);
    const recs = drain(h);
    const [gc] = new Map(p.out().trim().split('\n').map((l) => { const [k, ...v] = l.split(' '); return [k!, v.map(Number)] as const; })).get('child')!;
    // /bin/true's loader maps its libraries MAP_PRIVATE from their fds
    const privates = recs.filter((r) => r.kind === 'E' && r.tid === gc).map(eOf).filter((e) => e.nr === 9 && (e.fields[5]! & 2n) !== 0n && e.fields[1]! >= 0n);
    assert.ok(privates.length >= 1, `the child's private file mappings are written (${privates.length})`);
    for (const e of privates) assert.ok(e.fields[2] !== 0n && e.fields[7] !== 0n, 'with their file and inode');
    const v = new Uint8Array(1);
    for (const pid of [p.child.pid!, gc!]) {
      assert.is(bpfMapLookup(m.rx, key(pid), v), false, `rx of ${pid} is gone with its group`);
      assert.is(bpfMapLookup(m.follow, key(pid), v), false, `follow of ${pid} is gone with its group`);
    }
  } finally {
    h?.close();
    p.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a full ring: records that found no room are counted by lost(), the others arrive whole', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const exe = compile('fdops');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-nk-full-'));
  // per round an openat's E record (184 bytes with the ring's header) and a close's (112): 70k rounds are 21 MB, the ring 16 MB
  const rounds = 70000;
  const p = run(exe, dir, rounds);
  let h: NativeHandle | null = null;
  try {
    h = loaded(loadProbes(opts([p.child.pid!]), (k) => renamed(nativeProbes(k)), TAG));
    p.child.stdin!.end('x');
    assert.is(await p.exit, 3);
    assert.match(p.out(), new RegExp(`^rounds ${rounds}$`, 'm'));
    const lost = h.lost();
    const recs = drain(h);
    const es = recs.filter((r) => r.kind === 'E' && r.tid === p.child.pid).map(eOf);
    const opens = es.filter((e) => e.nr === 257 && e.desc !== null && e.desc.ino === BigInt(fs.statSync(path.join(dir, 'data.txt')).ino)).length;
    const closes = es.filter((e) => e.nr === 3).length;
    assert.ok(lost > 0, `records were lost (${lost}; ${recs.length} arrived)`);
    // every record is either in the ring or counted (the program's few others: its fork, exec, exit, D records)
    assert.ok(opens + closes + lost >= 2 * rounds, `${opens} opens + ${closes} closes + ${lost} lost >= ${2 * rounds}`);
    assert.ok(recs.length + lost <= 2 * rounds + 200, `${recs.length} arrived + ${lost} lost, for ${2 * rounds} rounds' records`);
    for (const r of recs) assert.ok(['D', 'E', 'F', 'U', 'I', 'P', 'X', 'Q'].includes(r.kind), `a whole record (${r.kind}, ${r.len} bytes)`);
  } finally {
    h?.close();
    p.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const attach of ['raw', 'syscalls'] as const) for (const parallel of [false, true]) test(`${attach}: ${parallel ? 'loadNativeAsync (the programs verified in parallel)' : 'loadNative'} loads every probe on this kernel and closes them all`, async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const fdsBefore = bpfFds();
  const h = loaded(parallel ? await loadNativeAsync(opts([], attach)) : loadNative(opts([], attach)));
  try {
    const names = bpfProgramNames() as string[];
    const dispatchers = attach === 'raw' ? ['sys_enter', 'sys_exit'] : [];
    for (const n of [...dispatchers, 'enter', 'file', 'socket', 'anon', 'pair', 'dup', 'fcntl', 'close_range', 'mmap', 'fork', 'exec', 'exit']) {
      assert.ok(names.includes(`${PROG_PREFIX}${n}`.slice(0, 15)), `${PROG_PREFIX}${n} is loaded`);
    }
    assert.ok(bpfFds().length > fdsBefore.length);
    assert.is(h.ring.drain(() => undefined), 0, 'nothing followed, nothing written');
  } finally {
    h.close();
  }
  assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
});

test('FDWATCH_NATIVE_ATTACH overrides the option; anything else than syscalls or raw is refused in one line', () => {
  assert.is(attachMode('raw', 'syscalls'), 'syscalls');
  assert.is(attachMode('syscalls', 'raw'), 'raw');
  assert.is(attachMode('raw', ''), 'raw');
  assert.is(attachMode(undefined, undefined), DEFAULT_ATTACH);
  assert.equal(attachMode('raw', 'perf'), { error: 'FDWATCH_NATIVE_ATTACH must be syscalls or raw, not "perf"' });
});

test('every probe is a raw tracepoint link (no perf event); close() takes under a second and leaves no link, no bpf fd, no program', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const fdsBefore = bpfFds();
  const h = loaded(loadProbes(opts([]), (k) => renamed(nativeProbes(k)), TAG));
  const links = (): string[] => bpfFds().filter((l) => /bpf[-_]link/.test(l));
  let closeMs = Infinity;
  try {
    // the two raw_syscalls dispatchers and the three sched probes
    assert.is(links().length, 5, `raw tracepoint links: ${bpfFds().join(', ')}`);
    assert.equal(bpfFds().filter((l) => /perf_event/.test(l)), [], 'no perf event');
  } finally {
    const t0 = performance.now();
    h.close();
    closeMs = performance.now() - t0;
  }
  console.log(`  close() took ${closeMs.toFixed(1)} ms`);
  assert.ok(closeMs < 1000, `close() took ${closeMs.toFixed(0)} ms`);
  assert.equal(links(), [], 'no raw tracepoint link is left');
  assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
  assert.equal(await unloaded(), [], 'no program of ours is loaded');
});

test('syscalls: the syscall probes on perf events held by a child, the sched probes on 3 links; close() returns in under 100 ms, the programs go within seconds', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const fdsBefore = bpfFds();
  const h = loaded(loadProbes(opts([], 'syscalls'), (k) => renamed(nativeProbes(k)), TAG));
  let closeMs = Infinity;
  try {
    assert.is(bpfFds().filter((l) => /bpf[-_]link/.test(l)).length, 3, `raw tracepoint links: ${bpfFds().join(', ')}`);
    assert.equal(bpfFds().filter((l) => /perf_event/.test(l)), [], 'the perf events are the holder\'s only');
    assert.ok(ours().some((n) => n === `${TAG}file`), `the syscall probes are loaded: ${ours().join(' ')}`);
  } finally {
    const t0 = performance.now();
    h.close();
    closeMs = performance.now() - t0;
  }
  console.log(`  close() took ${closeMs.toFixed(1)} ms`);
  assert.ok(closeMs < 100, `close() took ${closeMs.toFixed(0)} ms`);
  assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
  const t1 = Date.now();
  assert.equal(await unloaded(FREED_SYSCALLS_MS), [], 'no program of ours is loaded');
  console.log(`  programs gone ${Date.now() - t1} ms after close()`);
});

test('syscalls: kill -9 of the process holding the engine: its holder dies with it and no program is left', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const load = new URL('../../src/bpf/native/load.js', import.meta.url).href;
  const program = new URL('../../src/bpf/native/program.js', import.meta.url).href;
  const script = `
    const { loadProbes } = await import(${JSON.stringify(load)});
    const { nativeProbes, PROG_PREFIX } = await import(${JSON.stringify(program)});
    const tag = ${JSON.stringify(TAG)};
    const h = loadProbes({ follow: [], self: process.pid, tracefs: ${JSON.stringify(TRACEFS)}, btf: ${JSON.stringify(BTF)}, attach: 'syscalls' },
      (k) => nativeProbes(k).map((p) => ({ name: (tag + p.name.slice(PROG_PREFIX.length)).slice(0, 15), tracepoints: p.tracepoints, insns: p.insns })), tag);
    if ('error' in h) { console.log('error ' + h.error); process.exit(1); }
    console.log('loaded');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FDWATCH_NATIVE_ATTACH: '' } });
  try {
    const said = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(out); });
      child.on('close', () => resolve(out));
    });
    assert.is(said.trim(), 'loaded');
    // its holder: a child holding the perf events
    const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    const perfOf = (pid: string): number => fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => { try { return /perf_event/.test(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { return false; } }).length;
    assert.ok(kids.some((k) => perfOf(k) > 10), `a child of ${child.pid} holds the perf events (children: ${kids.join(' ')})`);
    assert.ok(ours().some((n) => n === `${TAG}file`), `its syscall probes are loaded: ${ours().join(' ')}`);
    const gone = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGKILL');
    await gone;
    assert.equal(await unloaded(FREED_SYSCALLS_MS), [], 'no program of ours is loaded');
  } finally {
    child.kill('SIGKILL');
  }
});

for (const parallel of [false, true]) test(`a probe the verifier refuses${parallel ? ' (the programs verified in parallel)' : ''}: the error names it and the log's last line, and nothing is left behind`, async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const fdsBefore = bpfFds();
  const bad = new Asm();
  bad.exit(); // r0 is never set
  // first, so the others are verified (and loaded) while its refusal is known
  const make = (k: KernelCtx): Probe[] => [{ name: `${TAG}bad`, tracepoints: ['syscalls/sys_exit_openat'], insns: bad.assemble() }, ...renamed(nativeProbes(k))];
  const r = parallel ? await loadProbesAsync(opts([]), make, TAG) : loadProbes(opts([]), make, TAG);
  assert.ok('error' in r, 'the load fails');
  const e = (r as NativeLoadError).error;
  assert.match(e, new RegExp(`probe ${TAG}bad`));
  assert.match(e, /R0 !read_ok/);
  assert.equal(await unloaded(), [], 'no program of ours is loaded');
  assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
});

for (const attach of ['raw', 'syscalls'] as const) test(`${attach}: a probe the kernel will not attach (it reads past its tracepoint's arguments): every probe attached before it is detached`, async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const fdsBefore = bpfFds();
  const far = new Asm();
  far.ldx(8, R0, R1, 64).movi(R0, 0).exit(); // sched_process_exit's arguments end at args[1] (16 bytes)
  const t0 = performance.now();
  const r = loadProbes(opts([], attach), (k) => [...renamed(nativeProbes(k)), { name: `${TAG}far`, tracepoints: ['sched/sched_process_exit'], insns: far.assemble() }], TAG);
  const ms = performance.now() - t0;
  assert.ok('error' in r, 'the load fails');
  assert.match((r as NativeLoadError).error, new RegExp(`attaching ${TAG}far to raw tracepoint sched_process_exit: EINVAL`));
  // 'syscalls': the perf events attached before it are closed by a holder, not waited for
  assert.ok(ms < 3000, `the failed load took ${ms.toFixed(0)} ms`);
  assert.equal(await unloaded(attach === 'raw' ? FREED_MS : FREED_SYSCALLS_MS), [], 'no program of ours is loaded');
  assert.equal(bpfFds(), fdsBefore, 'no bpf or perf fd is left');
});

test.run();
