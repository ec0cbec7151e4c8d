// The native engine's SCM_RIGHTS probes (src/bpf/native/messages.ts) against the live kernel: real fd passers
// (fixtures/programs/msgpass.py: socket.send_fds/recv_fds, MSG_CTRUNC, an empty SCM_RIGHTS, 253 fds, rights as a
// second cmsg, pidfd_getfd; mmsgpass.c: sendmmsg/recvmmsg; fdpass.c) under the probes, their ring records read raw
// and checked against what each process says on its stdout: the same open file descriptions on both sides, the fd
// numbers, nfds, ctrunc, the socket, the E fields. Skipped, saying why, when not root or without tracefs syscall
// events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Asm, HELPER, R1, R2, R3, R4 } from '../../src/bpf/asm.js';
import { DESC, HEADER, REC_E, REC_G, REC_M } from '../../src/bpf/native/format.js';
import type { NativeHandle } from '../../src/bpf/native/handle.js';
import { emitReturn, type KernelCtx, type Probe } from '../../src/bpf/native/kernel.js';
import { messageProbes } from '../../src/bpf/native/messages.js';
import { attachMode, loadProbes } from '../../src/bpf/native/load.js';
import { nativeProbes, PROG_PREFIX } from '../../src/bpf/native/program.js';
import { CLONE_CALLS, MAGIC, X64_SYSCALL_NR } from '../../src/bpf/program.js';
import { bpfMapLookup, bpfProgramNames, funcInfoOf, isUnavailable } from '../../src/native/index.js';
import { root } from '../paths.js';

const TRACEFS = '/sys/kernel/tracing';
const BTF = '/sys/kernel/btf/vmlinux';
const why = process.getuid?.() !== 0 ? 'not root'
  : !fs.existsSync(`${TRACEFS}/events/syscalls/sys_exit_recvmsg/id`) ? `no syscall events in ${TRACEFS}`
    : !fs.existsSync(BTF) ? `no kernel BTF at ${BTF}` : null;
if (why) console.log(`  native message probe tests skipped: ${why}`);
const nt = why ? test.skip : test;

const MSG_CMSG_CLOEXEC = 0x40000000;
const AF_UNIX = 1, SOCK_SEQPACKET = 5;
const CALLS = ['sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'pidfd_getfd'] as const;
const NR = X64_SYSCALL_NR as Record<typeof CALLS[number], number>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fdw-native-msg-'));

interface Desc { file: bigint; ino: bigint; fd: number; magic: number; cloexec: number; lean: number; family: number; sockType: number; peer: bigint; aux: number }
interface Rec {
  ns: bigint; tid: number; kind: string; role: string;
  msg?: number; nfds?: number; ctrunc?: number; i?: number; desc?: Desc;
  tgid?: number; euid?: number; nr?: number; fields?: bigint[]; hasDesc?: number;
}
interface Group { tid: number; recs: Rec[]; e: Rec }

function desc(v: DataView, at: number): Desc {
  return {
    file: v.getBigUint64(at + DESC.file, true), ino: v.getBigUint64(at + DESC.ino, true), fd: v.getInt32(at + DESC.fd, true),
    magic: v.getUint32(at + DESC.magic, true), cloexec: v.getUint8(at + DESC.cloexec), lean: v.getUint8(at + DESC.lean),
    family: v.getInt16(at + DESC.family, true), sockType: v.getInt16(at + DESC.sockType, true),
    peer: v.getBigUint64(at + DESC.peer, true), aux: v.getInt32(at + DESC.aux, true),
  };
}

/** A minimal reader of format.ts's records (the ones these probes write). */
function decode(v: DataView): Rec {
  const kind = String.fromCharCode(v.getUint8(HEADER.kind));
  const role = v.getUint8(HEADER.role);
  const r: Rec = { ns: v.getBigUint64(HEADER.ns, true), tid: v.getUint32(HEADER.tid, true), kind, role: role ? String.fromCharCode(role) : '' };
  if (kind === 'G' || kind === 'H' || kind === 'M') {
    r.msg = v.getUint32(REC_G.msg, true); r.nfds = v.getUint32(REC_G.nfds, true); r.ctrunc = v.getUint32(REC_G.ctrunc, true);
    if (kind !== 'M') { r.i = v.getUint32(REC_G.i, true); r.desc = desc(v, REC_G.desc); } else assert.is(v.byteLength, REC_M.size);
  } else if (kind === 'F') {
    r.desc = desc(v, HEADER.size);
  } else if (kind === 'E') {
    r.tgid = v.getUint32(REC_E.tgid, true); r.euid = v.getUint32(REC_E.euid, true); r.nr = v.getUint32(REC_E.nr, true);
    const n = v.getUint32(REC_E.nfields, true);
    r.fields = Array.from({ length: n }, (_, i) => v.getBigInt64(REC_E.fields + 8 * i, true));
    r.hasDesc = v.getUint8(REC_E.hasDesc);
    if (r.hasDesc) r.desc = desc(v, REC_E.desc);
  }
  return r;
}

/** Records by thread, each group closed by the record that ends it (E; P, X, Q are the process probes'). */
function groups(recs: Rec[]): Group[] {
  const open = new Map<number, Rec[]>();
  const out: Group[] = [];
  for (const r of recs) {
    const g = open.get(r.tid) ?? [];
    if (r.kind === 'P' || r.kind === 'X' || r.kind === 'Q') open.delete(r.tid);
    else if (r.kind === 'E') { out.push({ tid: r.tid, recs: g, e: r }); open.delete(r.tid); } else { g.push(r); open.set(r.tid, g); }
  }
  for (const [tid, g] of open) throw new Error(`tid ${tid}: ${g.length} records without an E: ${g.map((r) => r.kind).join('')}`);
  return out;
}

interface Traced { k: KernelCtx; out: string; recs: Rec[]; lost: number; loadMs: number }
/** Once the fixture's stdout matches `when`, `check` runs (the fixture waits), then a line on stdin lets it end. */
interface Pause { when: RegExp; check(k: KernelCtx, out: string): void }

/** This run's own program names (another test may load the engine's meanwhile). */
const TAG = `m${process.pid % 100000}`;
const ours = (): string[] => {
  const names = bpfProgramNames();
  if (isUnavailable(names)) throw new Error(names.unavailable);
  return names.filter((n) => n.startsWith(TAG));
};

/**
 * The engine's probes these calls need, renamed: the entry (on these calls and the clone family, whose flags tell
 * fork a new process), fork (it follows children), exit, and messages.ts's. Not the whole engine: fewer programs
 * load sooner.
 */
function engine(k: KernelCtx): Probe[] {
  const entered = new Set([...CALLS, ...CLONE_CALLS].map((n) => `syscalls/sys_enter_${n}`));
  const keep = new Set([...messageProbes(k).map((p) => p.name), `${PROG_PREFIX}enter`, `${PROG_PREFIX}fork`, `${PROG_PREFIX}exit`]);
  return nativeProbes(k).filter((p) => keep.has(p.name)).map((p) => ({
    name: `${TAG}${p.name.slice(PROG_PREFIX.length)}`.slice(0, 15),
    tracepoints: p.name === `${PROG_PREFIX}enter` ? p.tracepoints.filter((tp) => entered.has(tp)) : p.tracepoints,
    insns: p.insns,
  }));
}

/**
 * Runs a fixture that waits for a line on stdin under the engine (./load.ts, with engine()'s probes), following it
 * from its start; every record once it exited 0. The probes are always detached before this returns, and none of
 * them is left loaded.
 */
async function traced(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, pause?: Pause): Promise<Traced> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '', err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let k: KernelCtx | null = null;
  let h: NativeHandle | null = null;
  try {
    const r = loadProbes({ follow: [child.pid!], self: process.pid, tracefs: TRACEFS, btf: BTF }, (kc) => {
      k = kc;
      return engine(kc);
    });
    if ('error' in r) throw new Error(`load: ${r.error}`);
    h = r;
    assert.ok(ours().length > 0);
    let paused: Error | null = null;
    if (pause) {
      const kc = k!;
      const watch = (): void => {
        if (!pause.when.test(out)) return;
        child.stdout.off('data', watch);
        try { pause.check(kc, out); } catch (e) { paused = e instanceof Error ? e : new Error(String(e)); }
        child.stdin.end('end\n');
      };
      child.stdout.on('data', watch);
      child.stdin.write('go\n');
    } else child.stdin.end('go\n');
    const code = await exited;
    if (paused) throw paused;
    assert.is(code, 0, `${cmd} ${args.join(' ')} exited ${code}: ${err}`);
    await new Promise<void>((res) => { if (child.stdout.readableEnded) res(); else child.stdout.on('end', res); });
    const recs: Rec[] = [];
    h.ring.drain((d, off, len) => { recs.push(decode(new DataView(d.buffer.slice(d.byteOffset + off, d.byteOffset + off + len)))); });
    return { k: k!, out, recs, lost: h.lost(), loadMs: h.loadMs };
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    h?.close();
    // a detached raw tracepoint program is freed after an RCU (tasks trace) grace period (~300 ms); 'syscalls': once
    // the holder's perf events closed, ~60 ms each (seconds): polled
    const t0 = Date.now();
    const freedMs = attachMode(undefined) === 'syscalls' ? 15000 : 3000;
    while (ours().length > 0 && Date.now() - t0 < freedMs) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ours(), [], 'no probe of ours is left loaded');
  }
}

const words = (line: string): string[] => line.trim().split(/\s+/);
const ints = (ws: string[]): number[] => ws.map(Number);
const ofKind = (g: Group, kinds: string): Rec[] => g.recs.filter((r) => kinds.includes(r.kind));
const fdsOf = (rs: Rec[]): number[] => rs.map((r) => r.desc!.fd);
const filesOf = (rs: Rec[]): bigint[] => rs.map((r) => r.desc!.file);

test('a program passing a bpf_loop callback gets one static FUNC per subprogram in its func_info; others none', () => {
  const a = new Asm();
  a.movi(R1, 3).ldFunc(R2, 'cb').movi(R3, 0).movi(R4, 0).call(HELPER.loop).callLocal('f');
  emitReturn(a);
  a.label('cb'); emitReturn(a);
  a.label('f'); emitReturn(a);
  const fi = funcInfoOf(a.assemble());
  assert.ok(fi);
  assert.is(fi!.count, 3);
  const v = new DataView(fi!.funcInfo.buffer, fi!.funcInfo.byteOffset, fi!.funcInfo.byteLength);
  // insn_off: main at 0, the callback after main's 9 slots (ld_imm64 takes two), f after it; type ids 3, 4, 5
  assert.equal([0, 1, 2].map((j) => [v.getUint32(8 * j, true), v.getUint32(8 * j + 4, true)]), [[0, 3], [9, 4], [11, 5]]);
  assert.is(fi!.btf.readUInt16LE(0), 0xeb9f);
  const plain = new Asm();
  plain.callLocal('g'); emitReturn(plain); plain.label('g'); emitReturn(plain);
  assert.is(funcInfoOf(plain.assemble()), null);
});

nt('sendmsg/recvmsg: 3 fds, MSG_CTRUNC without and with rights, an empty SCM_RIGHTS, 253 fds, rights after credentials, two rights cmsgs, pidfd_getfd', async () => {
  {
    let rxChild = false, rxParent = true;
    const { out, recs, lost, loadMs } = await traced('python3', [path.join(root, 'fixtures', 'programs', 'msgpass.py')], {}, {
      when: /^getfd /m,
      // the receiver is marked in rx while it lives (its exit clears it), the sender is not
      check: (k, out) => {
        const pids = out.split('\n').filter((x) => x.startsWith('sock ')).map((x) => ints(words(x)));
        const rx = (pid: number): boolean => bpfMapLookup(k.maps.rx, new Uint8Array(new Uint32Array([pid]).buffer), new Uint8Array(1)) === true;
        rxChild = rx(pids.find((w) => w[5] === 0)![1]!);
        rxParent = rx(pids.find((w) => w[5] !== 0)![1]!);
      },
    });
    console.log(`  the engine loaded in ${loadMs.toFixed(0)} ms`);
    const lines = out.trim().split('\n').map(words);
    const socks = lines.filter((w) => w[0] === 'sock').map((w) => ints(w.slice(1)));
    const parent = socks.find((s) => s[4] !== 0)!, child = socks.find((s) => s[4] === 0)!;
    assert.ok(parent && child, out);
    const sends = new Map(lines.filter((w) => w[0] === 'send').map((w) => [w[1]!, ints(w.slice(2))]));
    const recvs = new Map(lines.filter((w) => w[0] === 'recv').map((w) => [w[1]!, ints(w.slice(2))]));
    const getfd = ints(lines.find((w) => w[0] === 'getfd')!.slice(1));
    const gs = groups(recs);
    assert.is(lost, 0, 'no record lost');
    const sent = gs.filter((g) => g.e.nr === NR.sendmsg && g.e.tgid === parent[0]);
    const got = gs.filter((g) => g.e.nr === NR.recvmsg && g.e.tgid === child[0]);
    const cases = ['three', 'nobuf', 'small', 'empty', 'many', 'creds', 'two'];
    assert.is(sent.length, cases.length, `one sendmsg group per case: ${sent.length}`);
    // the empty SCM_RIGHTS is received as nothing: no group
    const received = cases.filter((c) => c !== 'empty');
    assert.is(got.length, received.length, `a recvmsg group per case that carried fds: ${got.length}`);
    const sendOf = new Map(cases.map((c, i) => [c, sent[i]!]));
    const recvOf = new Map(received.map((c, i) => [c, got[i]!]));
    // the sender's cmsgs: 'two' sends its 3 fds as cmsgs of 1 and 2 (the receiver gets one of 3)
    const cmsgs = (c: string, n: number): number[] => (c === 'two' ? [1, 2] : [n]);
    for (const [c, g] of sendOf) {
      const s = sends.get(c)!;
      const [pid, tid, ret] = s as [number, number, number];
      assert.is(g.tid, tid); assert.is(g.e.tgid, pid); assert.is(g.e.euid, process.geteuid!());
      assert.equal(g.e.fields, [BigInt(ret), 0n], `${c}: sendmsg E fields ret, flags`);
      assert.is(g.e.hasDesc, 0);
      // a send is placed at its entry: every record of its group carries that time
      for (const r of g.recs) assert.is(r.ns, g.e.ns);
      const f = ofKind(g, 'F');
      assert.is(f.length, 1, `${c}: one F record`);
      assert.is(f[0]!.role, 's');
      assert.is(f[0]!.desc!.fd, parent[2]); assert.is(f[0]!.desc!.ino, BigInt(parent[3]!)); assert.is(f[0]!.desc!.peer, BigInt(parent[4]!));
      assert.is(f[0]!.desc!.family, AF_UNIX); assert.is(f[0]!.desc!.sockType, SOCK_SEQPACKET);
      const h = ofKind(g, 'H');
      const fds = s.slice(3);
      assert.equal(fdsOf(h), fds, `${c}: the fds sent`);
      const split = cmsgs(c, fds.length);
      assert.equal(h.map((r) => [r.nfds, r.i]), split.flatMap((n) => Array.from({ length: n }, (_, i) => [n, i])), `${c}: nfds and i per cmsg`);
      for (const r of h) { assert.is(r.msg, 0); assert.is(r.ctrunc, 0); assert.is(r.desc!.lean, 1); assert.ok(r.desc!.file !== 0n); }
      assert.is(ofKind(g, 'G').length, 0);
      if (c === 'empty') {
        const m = ofKind(g, 'M');
        assert.is(m.length, 1); assert.is(m[0]!.nfds, 0); assert.is(m[0]!.ctrunc, 0);
      } else assert.is(ofKind(g, 'M').length, 0);
    }
    // /etc/hostname is opened O_CLOEXEC, the pipe's read end is not
    assert.equal(ofKind(sendOf.get('three')!, 'H').map((r) => r.desc!.cloexec), [1, 0, 0]);
    // 253 opens: 253 open file descriptions
    assert.is(new Set(filesOf(ofKind(sendOf.get('many')!, 'H'))).size, 253);
    for (const [c, g] of recvOf) {
      const r = recvs.get(c)!;
      const [pid, tid, ret, ctrunc] = r as [number, number, number, number];
      const fds = r.slice(4);
      assert.is(g.tid, tid); assert.is(g.e.tgid, pid);
      assert.equal(g.e.fields, [BigInt(ret), c === 'small' ? BigInt(MSG_CMSG_CLOEXEC) : 0n], `${c}: recvmsg E fields ret, flags`);
      assert.ok(g.e.ns > sendOf.get(c)!.e.ns, `${c}: received after it was sent`);
      const f = ofKind(g, 'F');
      assert.is(f.length, 1); assert.is(f[0]!.role, 's');
      assert.is(f[0]!.desc!.fd, child[2]); assert.is(f[0]!.desc!.ino, BigInt(child[3]!)); assert.is(f[0]!.desc!.peer, BigInt(parent[3]!));
      const fdRecs = ofKind(g, 'GH');
      assert.equal(fdsOf(fdRecs), fds, `${c}: the fds received`);
      // the same open file descriptions the sender's H records named, in order
      assert.equal(filesOf(fdRecs), filesOf(ofKind(sendOf.get(c)!, 'H')).slice(0, fds.length), `${c}: the files passed`);
      assert.equal(fdRecs.map((x) => x.i), fds.map((_, i) => i));
      for (const x of fdRecs) { assert.is(x.nfds, fds.length); assert.is(x.ctrunc, ctrunc); assert.is(x.msg, 0); }
      assert.equal(fdRecs.map((x) => x.kind).join(''), 'G'.repeat(Math.min(4, fds.length)) + 'H'.repeat(Math.max(0, fds.length - 4)));
      for (const x of ofKind(g, 'G')) { assert.is(x.desc!.lean, 0); assert.ok(x.desc!.magic !== 0); }
      if (c === 'nobuf') {
        const m = ofKind(g, 'M');
        assert.is(m.length, 1); assert.is(m[0]!.nfds, 0); assert.is(m[0]!.ctrunc, 1); assert.is(ctrunc, 1);
      } else assert.is(ofKind(g, 'M').length, 0);
    }
    assert.is(recvs.get('small')![3], 1, 'the small buffer truncated');
    assert.equal(ofKind(recvOf.get('small')!, 'G').map((r) => r.desc!.cloexec), [1], 'MSG_CMSG_CLOEXEC');
    assert.is(ofKind(recvOf.get('many')!, 'GH').length, 253);
    // the received /etc/hostname: its dentries walked (D records before its G record)
    const three = recvOf.get('three')!;
    assert.ok(three.recs.findIndex((r) => r.kind === 'D') < three.recs.findIndex((r) => r.kind === 'G'), 'D records first');
    // pidfd_getfd: the pidfd (F role p, the parent's pid), then the new fd in full: the parent's /etc/hostname
    const [gpid, gtid, pidfd, target, newfd] = getfd as [number, number, number, number, number];
    const pg = gs.filter((g) => g.e.nr === NR.pidfd_getfd);
    assert.is(pg.length, 1);
    const p = pg[0]!;
    assert.is(p.tid, gtid); assert.is(p.e.tgid, gpid);
    assert.equal(p.e.fields, [BigInt(newfd), BigInt(pidfd), BigInt(target)]);
    const pf = ofKind(p, 'F');
    assert.is(pf.length, 1); assert.is(pf[0]!.role, 'p');
    assert.is(pf[0]!.desc!.fd, pidfd); assert.is(pf[0]!.desc!.aux, parent[0]); assert.is(pf[0]!.desc!.magic, MAGIC.PIDFS);
    assert.is(p.e.hasDesc, 1);
    assert.is(p.e.desc!.fd, newfd); assert.is(p.e.desc!.cloexec, 1);
    assert.is(p.e.desc!.file, ofKind(sendOf.get('three')!, 'H')[0]!.desc!.file, 'the parent\'s open file description');
    assert.ok(rxChild, 'the receiver is in rx'); assert.not.ok(rxParent, 'the sender is not');
  }
});

nt('sendmmsg/recvmmsg: 5 messages, 4 walked; 70 fds in one, 64 read', async () => {
  const exe = path.join(tmp, 'mmsgpass');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', 'mmsgpass.c')]);
  {
    const { out, recs, lost } = await traced(exe, []);
    const lines = out.trim().split('\n');
    const sockOf = new Map(lines.filter((x) => x.startsWith('sock ')).map((x) => { const w = ints(words(x).slice(1)); return [w[0]!, w]; }));
    const vec = (what: string): { pid: number; tid: number; ret: number; msgs: number[][] } => {
      const [head, ...msgs] = lines.find((x) => x.startsWith(`${what} `))!.split('|');
      const [, pid, tid, ret] = words(head!);
      return { pid: Number(pid), tid: Number(tid), ret: Number(ret), msgs: msgs.map((m) => (m.trim() ? ints(words(m)) : [])) };
    };
    const s = vec('send'), r = vec('recv');
    assert.is(s.ret, 5); assert.is(r.ret, 5);
    const gs = groups(recs);
    assert.is(lost, 0);
    const sg = gs.filter((g) => g.e.nr === NR.sendmmsg), rg = gs.filter((g) => g.e.nr === NR.recvmmsg);
    assert.is(sg.length, 1); assert.is(rg.length, 1);
    for (const [g, side, flags] of [[sg[0]!, s, 0n], [rg[0]!, r, BigInt(MSG_CMSG_CLOEXEC)]] as const) {
      assert.is(g.tid, side.tid); assert.is(g.e.tgid, side.pid);
      assert.equal(g.e.fields, [5n, flags]);
      // the socket is the E record's DESC (no F record)
      assert.is(g.e.hasDesc, 1);
      const sock = sockOf.get(side.pid)!;
      assert.is(g.e.desc!.fd, sock[2]); assert.is(g.e.desc!.ino, BigInt(sock[3]!)); assert.is(g.e.desc!.family, AF_UNIX);
      assert.is(ofKind(g, 'F').length, 0);
      assert.is(ofKind(g, 'D').length, 0, 'no names walked for the mmsg pair');
      const fdRecs = ofKind(g, 'GH');
      // messages 0-3 (DEFAULT_MMSG): message 2's first 64 of 70 (MMSG_FD_MAX); message 4 is not read
      for (let m = 0; m < 5; m++) {
        const mine = fdRecs.filter((x) => x.msg === m);
        const want = m === 4 ? [] : side.msgs[m]!.slice(0, 64);
        assert.equal(fdsOf(mine), want, `message ${m}'s fds`);
        for (const x of mine) { assert.is(x.nfds, side.msgs[m]!.length); assert.is(x.ctrunc, 0); }
        if (g === rg[0]) {
          assert.equal(mine.map((x) => x.kind).join(''), 'G'.repeat(Math.min(4, want.length)) + 'H'.repeat(Math.max(0, want.length - 4)));
          for (const x of mine) assert.is(x.desc!.cloexec, 1, 'MSG_CMSG_CLOEXEC');
        } else assert.ok(mine.every((x) => x.kind === 'H'));
      }
    }
    // the same open file descriptions, message by message
    for (let m = 0; m < 4; m++) {
      assert.equal(filesOf(ofKind(rg[0]!, 'GH').filter((x) => x.msg === m)), filesOf(ofKind(sg[0]!, 'H').filter((x) => x.msg === m)), `message ${m}'s files`);
    }
  }
});

nt('fdpass.c: every pass is one H record on the send and one G record of the same file on the receive', async () => {
  const exe = path.join(tmp, 'fdpass');
  execFileSync('cc', ['-O1', '-o', exe, path.join(root, 'fixtures', 'programs', 'fdpass.c')]);
  const passes = 50;
  {
    const { out, recs, lost } = await traced(exe, ['1', '10', '0', String(passes)], { FDPASS_GO: '1' });
    assert.match(out, new RegExp(`^passes ${passes} `));
    const gs = groups(recs);
    assert.is(lost, 0);
    const sg = gs.filter((g) => g.e.nr === NR.sendmsg), rg = gs.filter((g) => g.e.nr === NR.recvmsg);
    assert.is(sg.length, passes); assert.is(rg.length, passes);
    const h = sg.map((g) => ofKind(g, 'H')), g = rg.map((x) => ofKind(x, 'G'));
    assert.ok(h.every((x) => x.length === 1) && g.every((x) => x.length === 1));
    // one pair over a stream socket: the n-th receive takes the n-th send's file
    assert.equal(g.map((x) => x[0]!.desc!.file), h.map((x) => x[0]!.desc!.file));
    assert.equal(g.map((x) => x[0]!.desc!.ino), h.map((x) => x[0]!.desc!.ino));
    for (let i = 0; i < passes; i++) assert.ok(rg[i]!.e.ns > sg[i]!.e.ns);
  }
});

test.after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

test.run();
