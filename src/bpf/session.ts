// Live tracing through eBPF (I/O edge): preconditions, an engine that brings the probes' records (the native one:
// our own programs and a ring buffer, ./native/*; or bpftrace as a child running ./program.ts's program), readiness,
// the attach snapshot, the pure pipeline (./parse.ts -> Correlator -> records), what /proc adds (mount points, paths
// the dentry names miss, one-sided peers), and a stop within a second. The engines differ only in how records
// arrive and how they stop (Engine below). It hands the CLI and the dashboard the same LiveHandle as the strace
// session (src/live/trace.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Correlator } from '../correlate/correlator.js';
import { LiveError, sampleFdGrowth, statOf, unwatchable, which, type LiveHandle, type LiveResult, type LiveStatus, type StraceState } from '../live/trace.js';
import type { FdwatchRecord, SummaryRecord, TransferEnd, TransferRecord } from '../model/records.js';
import { SYSCALLS } from '../model/syscalls.js';
import { SkippedEvents } from '../model/errors.js';
import { V8_INTERRUPT_BUDGET, YOUNG_INTERRUPT_BUDGET } from '../model/v8-young.js';
import { snapshotProcesses, socketTarget, type Snapshot } from '../procfs/snapshot.js';
import { INET_TABLE, parseNetInet, type InetProtocol, type InetSocketEntry } from '../procfs/net.js';
import { ProcReader } from '../procfs/reader.js';
import { parseDecor } from '../tracer/decor.js';
import { kernelLayout, type KernelLayout } from './btf.js';
import { BpfParser, type ProgramSignal } from './parse.js';
import { RecordDecoder } from './native/decode.js';
import { ringRecorder } from './native/recording.js';
import type { NativeHandle, NativeLoadError, NativeOptions } from './native/handle.js';
import { loadNativeAsync, possibleCpus, Tracepoints } from './native/load.js';
import { bpfProgram, parseFormat, programEnv, SENTINEL_PGRP, type ProgramOptions } from './program.js';
import { fileFacts } from '../live/filefacts.js';
import { untracedReceivers, readStatus, socketOwner, PEER_POLL_MS } from '../live/peers.js';
import { mapRecords } from '../procfs/records.js';
import * as native from '../native/index.js';
import type { FileFacts } from '../correlate/crossing.js';

export interface BpfOptions {
  pids: number[];
  command: string[] | null;
  /** every process on the host (--all) */
  all: boolean;
  onRecord: (r: FdwatchRecord) => void;
  onStatus?: (s: LiveStatus) => void;
  /** the launched command's stdout and stderr go to this file, its stdin is /dev/null (under the dashboard) */
  commandOutput?: string | null;
  /** bpftrace's raw output is copied here (fixtures, debugging): the engine is bpftrace then, unless asked */
  rawOutput?: string | null;
  /** which engine brings the records: auto (native when it loads, else bpftrace), native, bpftrace */
  engine?: BpfEngine;
  /** the native engine's loader (./native/load.ts; tests hand in a ring of their own) */
  loader?: (o: NativeOptions) => NativeHandle | NativeLoadError | Promise<NativeHandle | NativeLoadError>;
  /** how long an event waits for earlier ones from other CPUs (ms) */
  windowMs?: number;
  /** where tracefs and the kernel's BTF live (tests point elsewhere) */
  tracefs?: string;
  btf?: string;
}

export type BpfEngine = 'auto' | 'native' | 'bpftrace';
export const BPF_ENGINES: readonly BpfEngine[] = ['auto', 'native', 'bpftrace'];

/** The live session's handle, saying which engine runs. */
export interface BpfHandle extends LiveHandle {
  engine: 'native' | 'bpftrace';
}

/** Neither engine can run (the native one did not load, bpftrace is not installed): `auto` gives way to strace. */
export class NoEngineError extends LiveError {}

/** The native engine, the one asked for, did not load (a launch's `auto` then gives way to strace). */
export class NativeLoadFailed extends LiveError {}

const TRACEFS = '/sys/kernel/tracing';
/** how long a stop waits for the engine to bring what the kernel saw before it (a busy host's backlog): the stop
 * still ends within a second */
const DRAIN_MS = 650;
/** the native engine reads its ring this often, and at most this many records per call (then again at once) */
const RING_POLL_MS = 10;
const RING_BUDGET = 4096;
/** BPF_RINGBUF_HDR_SZ: the kernel's header before each ring record (records are 8-byte aligned) */
const RING_HDR = 8;
/** how long the privilege-crossing facts of one file passed between the same fds stay as read */
const FACTS_MS = 250;
const BTF = '/sys/kernel/btf/vmlinux';
const proc = new ProcReader('/proc');

/** CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON, from /proc/self/status. */
function mayTrace(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    const caps = BigInt('0x' + (m?.[1] ?? '0'));
    const has = (n: number): boolean => ((caps >> BigInt(n)) & 1n) === 1n;
    return has(21) || (has(39) && has(38));
  } catch { return false; }
}

/** Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, not to the memory cgroup. */
function memlockProblem(): string | null {
  const [maj, min] = os.release().split('.').map((x) => parseInt(x, 10));
  if (maj === undefined || min === undefined || maj > 5 || (maj === 5 && min >= 11)) return null;
  try {
    const line = /^Max locked memory\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (line === undefined || line === 'unlimited' || Number(line) >= 256 << 20) return null;
    return `RLIMIT_MEMLOCK is ${line} bytes on kernel ${os.release()} (BPF maps are charged to it before 5.11): run ulimit -l unlimited first`;
  } catch { return null; }
}

const NO_BPFTRACE = 'bpftrace is not installed: install the bpftrace package (apt-get install bpftrace)';

/**
 * Why eBPF cannot run here, or null. No side effects: an unmounted tracefs is no reason when fdwatch may mount
 * it (root). Each reason is one line naming what is missing. A missing bpftrace is one only for the bpftrace engine
 * (the default here, as the tests and benches ask): whether the native one loads is known only by loading it.
 */
export function bpfUnavailable(o: { tracefs?: string; btf?: string; engine?: BpfEngine } = {}): string | null {
  if (!mayTrace()) return 'eBPF needs root (or CAP_BPF and CAP_PERFMON): run fdwatch as root, or use --backend strace';
  if ((o.engine ?? 'bpftrace') === 'bpftrace' && !which('bpftrace')) return NO_BPFTRACE;
  const btf = o.btf ?? BTF;
  if (!fs.existsSync(btf)) return `kernel BTF is missing (${btf}): eBPF needs a kernel built with CONFIG_DEBUG_INFO_BTF`;
  const tracefs = o.tracefs ?? TRACEFS;
  if (!fs.existsSync(path.join(tracefs, 'events')) && process.getuid?.() !== 0) {
    return `tracefs is not mounted at ${tracefs} and only root may mount it: mount -t tracefs nodev ${tracefs}`;
  }
  return memlockProblem();
}

/** Mounts tracefs when it is not (root only): both engines find the tracepoints through it. Returns what it did. */
function ensureTracefs(tracefs: string): string | null {
  if (fs.existsSync(path.join(tracefs, 'events'))) return null;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', tracefs], { encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(path.join(tracefs, 'events'))) {
    throw new LiveError(`tracefs is not mounted at ${tracefs} and mounting it failed: ${(r.stderr || r.error?.message || '').trim() || `mount exited ${r.status}`}`);
  }
  return `mounted tracefs at ${tracefs} (the probes attach to its tracepoints)`;
}

/** The syscall tracepoints this kernel has, with their argument names (read only when `withFields`). */
function readTracepoints(tracefs: string, withFields: boolean): Map<string, string[]> {
  const dir = path.join(tracefs, 'events', 'syscalls');
  const has = new Tracepoints(tracefs);
  const out = new Map<string, string[]>();
  for (const name of SYSCALLS.keys()) {
    if (!has.syscall(name)) continue;
    out.set(name, withFields ? parseFormat(fs.readFileSync(path.join(dir, `sys_enter_${name}`, 'format'), 'utf8')).fields : []);
  }
  if (out.size === 0) throw new LiveError(`no syscall tracepoints under ${dir}: eBPF needs a kernel built with CONFIG_FTRACE_SYSCALLS`);
  return out;
}

/** Where the args-free probes find a new task and an exec's thread (null: they read `args`, libclang runs). */
function readLayout(): KernelLayout | null {
  try { return kernelLayout(fs.readFileSync(BTF)); } catch { return null; }
}

function execFilenameOffset(tracefs: string): number {
  try {
    return parseFormat(fs.readFileSync(path.join(tracefs, 'events', 'sched', 'sched_process_exec', 'format'), 'utf8')).offsets.get('filename') ?? 8;
  } catch { return 8; }
}

/** mount id -> mount point, from a mountinfo file (octal escapes undone). */
function readMountinfo(file: string): Map<number, string> {
  const m = new Map<number, string>();
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return m; }
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    m.set(Number(f[0]), f[4]!.replace(/\\([0-7]{3})/g, (_a, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return m;
}


/** Now in the clock ticks of a process's start time (USER_HZ, 100 on Linux): /proc/uptime's seconds. */
function uptimeTicks(): number | null {
  try { return Math.floor(parseFloat(fs.readFileSync('/proc/uptime', 'latin1')) * 100); } catch { return null; }
}

/** The kernel's monotonic clock, as bpftrace's nsecs reads it. */
function monoNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * What the launched command's stdio is, and the wrapper that holds it until the probes are live. The gate is a
 * pipe (a socket pair, Node's own 'pipe', would be a socket in the held sh's fd table: the attach snapshot and the
 * untraced-receiver seed would then walk every fd of the host for its peer, fdwatch's own end: 0.1-0.5 s).
 */
function spawnHeld(command: string[], output: string | null | undefined): { child: ChildProcess; release: () => void } {
  const p = native.pipe();
  const gate = native.isUnavailable(p) || native.isFailed(p) ? null : p;
  let stdio: Array<'inherit' | 'pipe' | 'ignore' | number> = ['inherit', 'inherit', 'inherit', gate?.[0] ?? 'pipe'];
  let outFd: number | null = null;
  let child: ChildProcess;
  try {
    if (output) {
      outFd = fs.openSync(output, 'a');
      stdio = ['ignore', outFd, outFd, gate?.[0] ?? 'pipe'];
    }
    // sh waits for a line on fd 3, closes it, and becomes the command: its pid is followed before it runs; a gate
    // closed without the line (fdwatch killed while the probes load) ends it, the command never run untraced
    child = spawn('/bin/sh', ['-c', 'IFS= read -r _ <&3 || exit 125; exec 3<&-; exec "$@"', 'sh', ...command], { stdio });
  } catch (e) {
    if (gate) fs.closeSync(gate[1]);
    throw e;
  } finally {
    if (outFd !== null) fs.closeSync(outFd);
    // the sh holds its own copy of the read end (the write end is close-on-exec: only here)
    if (gate) fs.closeSync(gate[0]);
  }
  if (gate === null) {
    const g = child.stdio[3] as NodeJS.WritableStream;
    return { child, release: () => { g.end('go\n'); } };
  }
  let open = true;
  const close = (): void => { if (open) { open = false; fs.closeSync(gate[1]); } };
  // a sh that ends unreleased (killed) leaves no fd behind
  child.on('exit', close);
  child.on('error', close);
  return {
    child,
    release: () => {
      if (!open) return;
      try { fs.writeSync(gate[1], 'go\n'); } catch { /* the sh is gone: its exit says so */ }
      close();
    },
  };
}

/**
 * A session is young for its first BPF_YOUNG_EVENTS events: V8's interrupt budget is YOUNG_INTERRUPT_BUDGET
 * (../model/v8-young.ts), so that only what stays hot is compiled, not what a launch's start runs a little. Headless
 * Chromium launched under the native engine (~5k events; perf, 2 runs each): V8's compiler threads 570-680 -> 140
 * samples of 0.25 ms, the main thread 744-901 -> 769-834 (100 bytes of inlining instead: 410 and 707). Then V8's
 * default comes back: what stays hot is compiled as V8 would. 20k events, not 200k: a `make -j2` of 128 compiles
 * (~70k events, 5 s) kept much of its code in Sparkplug's IC-bound code under the young budget; four interleaved
 * A/Bs on a noisy 2-core VM, whole command over untraced: 1.259 -> 1.135 (10k), 1.210 -> 1.012, 1.228 -> 1.147 (8
 * rounds; the tree's CPU 10.33 -> 9.63 s), 1.128 -> 1.119 (7 rounds; 8.77 -> 8.64 s): lower or the same, never higher.
 * A session of fewer events (a browser launch, a short build) is unchanged.
 */
const BPF_YOUNG_EVENTS = 20_000;

/**
 * Starts tracing: resolves once every probe is attached (the native engine; its programs verified in parallel) or
 * bpftrace runs; rejects, with the held command killed, when neither can start (NoEngineError: neither exists here).
 */
export async function startBpf(opts: BpfOptions): Promise<BpfHandle> {
  v8.setFlagsFromString(YOUNG_INTERRUPT_BUDGET);
  const tracefs = opts.tracefs ?? TRACEFS;
  const btf = opts.btf ?? BTF;
  const asked: BpfEngine = opts.engine ?? (opts.rawOutput ? 'bpftrace' : 'auto');
  const why = bpfUnavailable({ tracefs, btf, engine: asked });
  if (why) throw new LiveError(why);
  if (opts.command && opts.command.length > 0 && !which(opts.command[0]!)) throw new LiveError(`command not found: ${opts.command[0]}`);
  // threads resolve to their process
  const follow = new Set<number>();
  for (const pid of opts.pids) {
    // a zombie would be "attached" until its parent reaps it, a kernel thread forever, with nothing to show
    const no = unwatchable(pid);
    if (no) throw new LiveError(no);
    const st = readStatus(pid);
    if (!st) throw new LiveError(`no such process: ${pid}`);
    follow.add(st.tgid);
  }
  const mounted = ensureTracefs(tracefs);

  let state: StraceState = 'starting';
  let events = 0;
  let young = true;
  let commandExit: LiveResult['commandExit'] = null;
  let error: string | null = null;

  let ready = false;
  // read by status_, which may run before the pipeline below exists (the tracefs mount's message)
  const live = new Set<number>();
  const liveCount = (): number => live.size;
  const status_ = (message?: string): void => opts.onStatus?.({
    strace: state, traced: liveCount(), events, commandExit, ...(message ? { message } : {}),
  });
  if (mounted) status_(mounted);

  // the launched command waits in sh until every probe is attached
  const held = opts.command ? spawnHeld(opts.command, opts.commandOutput) : null;
  const commandRoot = held?.child.pid ?? null;
  if (commandRoot !== null) follow.add(commandRoot);
  const commandExited = held ? new Promise<void>((resolve) => {
    held.child.on('exit', (code, signal) => { commandExit = { code, signal }; resolve(); });
    held.child.on('error', () => { commandExit = { code: 127, signal: null }; resolve(); });
  }) : Promise.resolve();

  // ------------------------------------------------------------------ the pure pipeline
  const epoch = Date.now() / 1000 - monoNs() / 1e9;
  let mounts = readMountinfo('/proc/self/mountinfo');
  let mountsRead = Date.now();
  // another mount namespace: the process's own view, asked once per process and mount
  const foreign = new Map<string, string | null>();
  const mountPoint = (id: number, pid: number): string | null => {
    let mp = mounts.get(id);
    if (mp === undefined && Date.now() - mountsRead > 1000) {
      mounts = readMountinfo('/proc/self/mountinfo');
      mountsRead = Date.now();
      foreign.clear();
      mp = mounts.get(id);
    }
    if (mp !== undefined) return mp;
    const key = `${pid} ${id}`;
    if (!foreign.has(key)) foreign.set(key, readMountinfo(`/proc/${pid}/mountinfo`).get(id) ?? null);
    return foreign.get(key)!;
  };
  const resolveFd = (pid: number, fd: number, ino: number): string | null => {
    try {
      const p = `/proc/${pid}/fd/${fd}`;
      if (fs.statSync(p, { throwIfNoEntry: false })?.ino !== ino) return null;
      return fs.readlinkSync(p);
    } catch { return null; }
  };

  const commandTree = new Set<number>();
  let rootExeced = false;
  const ownerCache = new Map<number, { pid: number; fd: number; comm: string | null } | null>();
  const enrich = (t: TransferRecord): void => {
    // one-sided traces: name the untraced end through the peer socket's owner
    const fill = (end: TransferEnd, own: string | null): TransferEnd => {
      if (end.pid !== null || !own) return end;
      const peer = parseDecor(own).peer;
      if (peer === null) return end;
      // a socket older than the last walk over every fd table is not walked for again (as under strace): when events
      // are lost, each receive from an unseen send would walk the whole host once per peer
      if (!ownerCache.has(peer)) ownerCache.set(peer, socketOwner(peer, t.ts));
      const o = ownerCache.get(peer);
      return o ? { ...end, pid: o.pid, comm: o.comm, uid: readStatus(o.pid)?.uid[1] ?? null } : end;
    };
    if (t.from.pid === null && t.to) t.from = fill(t.from, t.to.socket);
    // still queued at the end: the process that held the receiving socket when it was sent, else its holder now
    if (t.to === null && t.from.socket && receivers?.nameReceiver(t) !== true) {
      const to = fill({ pid: null, tid: null, comm: null, uid: null, fd: null, socket: null }, t.from.socket);
      if (to.pid !== null) { t.to = to; t.reason = 'the receiving process is not traced'; }
    }
    // a delivery /proc found (an untraced receiver's): kcmp proves it, as the file identity does for the probes'
    if (t.confirmed === undefined && t.state === 'delivered' && t.from.pid !== null && t.from.fd !== null && t.to?.pid != null && t.to.fd !== null) {
      t.confirmed = native.kcmpFile(t.from.pid, t.from.fd, t.to.pid, t.to.fd) === 'same' ? true : null;
    }
  };
  // an inet socket is named by its addresses, as strace -yy does (`TCP:[127.0.0.1:8080]`): its protocol's table
  // (/proc/net/tcp, tcp6, udp or udp6) is read again only for an inode it did not hold, at most every 200 ms. A TCP
  // table costs ~1.1 ms a read however few sockets it lists (the kernel walks its hash), and a socket not yet bound
  // or connected (most of a browser launch's) is in none: the four tables at each miss were ~2.3 ms
  const inet = new Map<InetProtocol, { at: number; entries: Map<number, InetSocketEntry> }>();
  const inetName = (target: string | null): string | null => {
    // most sockets are unix ones (`UNIX-STREAM:[...]`): no regular expression for them
    const c = target === null ? 0 : target.charCodeAt(0);
    const m = c !== 0x54 && c !== 0x55 ? null : /^(TCP|TCPv6|UDP|UDPv6):\[(\d+)\]$/.exec(target!);
    if (!m) return target;
    const protocol = m[1] as InetProtocol;
    const ino = Number(m[2]);
    let table = inet.get(protocol);
    if ((table === undefined || !table.entries.has(ino)) && Date.now() - (table?.at ?? 0) > 200) {
      let entries = new Map<number, InetSocketEntry>();
      try { entries = parseNetInet(fs.readFileSync(`/proc/net/${INET_TABLE[protocol]}`, 'utf8'), protocol); } catch { /* no such table here */ }
      inet.set(protocol, table = { at: Date.now(), entries });
    }
    const e = table?.entries.get(ino);
    if (!e) return target;
    const remote = e.state === 'LISTEN' || e.state === 'UNCONN' || /^(0\.0\.0\.0|\[::\]):0$/.test(e.remote) ? null : e.remote;
    return socketTarget({ inode: ino, protocol: e.protocol, peer: null, name: null, peerName: null, local: e.local, remote, listening: e.state === 'LISTEN', peerOwners: [] });
  };
  // a launched command sets the lifetime (with --all too); else the attached processes do
  const checkEnd = (): void => {
    if (!ready || (commandRoot === null && opts.all)) return;
    if (commandRoot !== null && follow.size > 1 ? commandTree.size === 0 : live.size === 0) {
      void stop(commandRoot !== null ? 'the command and everything it started exited' : 'every traced process exited');
    }
  };
  const onRecord = (r: FdwatchRecord): void => {
    if (r.type === 'transfer') { enrich(r); if (r.kind === 'socket') r.target = inetName(r.target); }
    else if (r.type === 'fd' && r.kind === 'socket') r.target = inetName(r.target);
    receivers?.record(r);
    if (r.type === 'process') {
      if (r.event === 'attach' || r.event === 'fork') {
        live.add(r.pid);
        if (r.pid === commandRoot || (r.event === 'fork' && r.ppid !== null && commandTree.has(r.ppid))) commandTree.add(r.pid);
      } else if (r.event === 'exit') {
        live.delete(r.pid);
        commandTree.delete(r.pid);
        checkEnd();
      }
    }
    // the launched command's held sh before it becomes the command: its records are fdwatch's own doing (the
    // gate's pipe, stdio dup2s, the snapshot of fdwatch's fds it still holds), not the command's; the fd table they
    // build stays in the correlator (the command inherits it). Under strace the command's exec is its first record too
    if (held !== null && !rootExeced && (r.type === 'fd' || r.type === 'map' || r.type === 'process') && r.pid === commandRoot) {
      if (r.type === 'process' && r.event === 'exec') rootExeced = true;
      else if (r.type !== 'process' || r.event !== 'exit') return;
    }
    opts.onRecord(r);
  };
  // the facts of a delivered fd cost a stat and two /proc reads: a stream of passes of the same file between the
  // same fds of the same processes (uids unchanged) reads them once per FACTS_MS
  const facts = new Map<string, { at: number; facts: FileFacts | null }>();
  const cachedFacts = (t: TransferRecord): FileFacts | null => {
    const to = t.to;
    if (to === null || to.pid === null) return null;
    const key = `${to.pid}\t${to.fd}\t${parser.euidOf(to.pid)}\t${t.from.pid}\t${t.from.fd}\t${t.target}`;
    const now = Date.now();
    const hit = facts.get(key);
    if (hit !== undefined && now - hit.at < FACTS_MS) return hit.facts;
    const f = fileFacts(t);
    if (facts.size > 4096) facts.clear();
    facts.set(key, { at: now, facts: f });
    return f;
  };
  const correlator = new Correlator(onRecord, {
    resolveTgid: (tid) => parser.tgidOf(tid) ?? readStatus(tid)?.tgid ?? null,
    resolveProcess: (pid) => ({ uid: parser.euidOf(pid) ?? readStatus(pid)?.uid[1] ?? null }),
    // privilege-crossing: the file behind each delivered fd, stat'ed while the transfer record comes out
    fileFacts: (t) => cachedFacts(t),
  });
  // sends to sockets no followed process receives from (an attached master's workers): as under strace, /proc
  // names who holds the receiving socket and fdinfo `scm_fds` says what the kernel still queues (with --all every
  // process is followed)
  const followed = (pid: number, depth = 0): boolean => {
    const p = correlator.processes.get(pid);
    if (p !== undefined) return !p.exited;
    // forked since the probes went live by a followed process: followed too, its records still in the reorder window
    // (a child forked before the attach, such as a pre-forked worker, is not)
    if (depth > 8 || liveSinceTicks === null) return false;
    const started = statOf(pid)?.startTicks ?? null;
    const pp = readStatus(pid)?.ppid;
    return started !== null && started >= liveSinceTicks && pp !== undefined && pp !== null && followed(pp, depth + 1);
  };
  const receivers = opts.all ? null : untracedReceivers({
    queued: () => correlator.queued(),
    apply: (op) => correlator.push(op),
    traced: followed,
    status: (m) => status_(m),
  });
  let discardBefore = 0;
  // an op the pipeline throws on (a bug) is counted and skipped: the trace goes on
  const skipped = new SkippedEvents();
  const parser = new BpfParser((op) => {
    if (op.ts !== null && (op.ts - epoch) * 1e9 < discardBefore) return;
    try { correlator.push(op); } catch (e) { skipped.note(e); }
  }, {
    clock: (ns) => epoch + ns / 1e9, windowNs: (opts.windowMs ?? 100) * 1e6, mountPoint, resolveFd, ordered: true,
    privateMapsMatter: (tid, ts) => correlator.privateMapsMatter(tid, ts),
  }, (s) => ctx.signal(s));

  // ------------------------------------------------------------------ the engine
  const ctx: EngineContext = {
    parser,
    signal: () => {},
    ready: (ns) => {
      if (ready || stopping) return;
      ready = true;
      // what the probes saw before all of them were live is in the snapshot instead
      discardBefore = ns;
      attached();
    },
    fail: (message) => { error = message; void stop('eBPF failed'); },
    output: () => {
      events = parser.stats.events;
      if (young && events > BPF_YOUNG_EVENTS) { young = false; v8.setFlagsFromString(V8_INTERRUPT_BUDGET); }
      wake();
    },
    progress: (deadline) => progress(deadline),
  };
  const engineOpts = { follow: opts.all ? null : [...follow], tracefs, btf };
  let engine: Engine;
  let nativeWhy: string | null = null;
  /** the native engine's probes (null: bpftrace's) */
  let probes: NativeHandle | null = null;
  /** the attach snapshot, taken before the probes were live (a launch's held command only; null: take it then) */
  let early: Snapshot | null = null;
  const heldSnapshot = (): Snapshot | null => {
    // a launch alone: its sh blocked in read(2) on the gate (/proc/PID/syscall "0 0xFD ...", fd FD the gate's pipe:
    // fd 3, or the stdin dash reads it through), until released
    if (commandRoot === null || follow.size !== 1 || opts.all) return null;
    try {
      const call = /^0 0x([0-9a-f]+) /.exec(fs.readFileSync(`/proc/${commandRoot}/syscall`, 'latin1'));
      const gate = (fd: string): string => fs.readlinkSync(`/proc/${commandRoot}/fd/${fd}`);
      if (!call || gate(String(parseInt(call[1]!, 16))) !== gate('3')) return null;
    } catch { return null; }
    return snapshotProcesses('/proc', [commandRoot], { maps: true, peerOwners: false });
  };
  try {
    if (asked !== 'bpftrace') {
      const loading = (opts.loader ?? loadNativeAsync)({ follow: engineOpts.follow, self: process.pid, tracefs, btf });
      // while the kernel verifies the programs on other threads: the held command's fd table, exact as long as it
      // waits at its gate
      early = heldSnapshot();
      const h = await loading;
      if (!('error' in h)) { probes = h; engine = nativeEngine(ctx, h); }
      else if (asked === 'native') throw new NativeLoadFailed(`the native eBPF engine cannot load: ${h.error}`);
      else if (!which('bpftrace')) throw new NoEngineError(`native eBPF engine unavailable (${h.error}) and ${NO_BPFTRACE}`);
      else nativeWhy = h.error;
    }
    engine ??= bpftraceEngine(ctx, engineOpts, opts.rawOutput ?? null);
  } catch (e) {
    // the held command never ran: it goes with the session that could not start
    held?.child.kill('SIGKILL');
    throw e;
  }
  if (nativeWhy !== null) status_(`native eBPF engine unavailable (${nativeWhy}): using bpftrace`);

  const attached = (): void => {
    state = 'tracing';
    liveSinceTicks = uptimeTicks();
    // fd tables start from what the processes hold now (a held command's may have been read while the probes loaded);
    // who else holds their sockets' peers (a walk over every fd of the host) is the untraced receivers' seed's to find
    const snap = early ?? snapshotProcesses('/proc', opts.all ? 'all' : [...follow], { maps: !opts.all, peerOwners: false });
    for (const p of snap.processes) {
      let tids: number[] = [];
      try { tids = proc.listTasks(p.pid).filter((t) => t !== p.pid); } catch { /* gone */ }
      correlator.seedProcess({
        pid: p.pid, ppid: p.ppid, comm: p.comm, uid: readStatus(p.pid)?.uid[1] ?? p.uid, tids,
        fds: p.fds.map((f) => {
          const target = parseDecor(f.target);
          if (target.kind !== f.kind && f.kind !== 'unknown') target.kind = f.kind;
          return { fd: f.fd, target, cloexec: f.cloexec };
        }),
      }, snap.ts);
      // its shared file mappings, as the probes report new ones (private ones are the loader's libraries)
      for (const m of mapRecords(p, snap.ts)) if (m.perms.endsWith('s')) onRecord(m);
    }
    // who holds the other end of the attached processes' sockets, and what they hold now: fds they receive are new.
    // A walk over every fd of the host: for a launch (its sockets are the ones it inherited, held by fdwatch's caller)
    // right after the command is released, not before
    if (receivers) {
      const peers = new Set<number>();
      for (const p of snap.processes) for (const f of p.fds) if (f.socket?.peer != null) peers.add(f.socket.peer);
      const seed = (): void => { receivers.seed(peers, new Set(follow)); };
      if (held !== null && peers.size > 0) setImmediate(seed); else seed();
      peerTimer = setInterval(() => receivers.poll(false), PEER_POLL_MS);
    }
    // fd-leak: a followed process whose fd count grows at every sample
    if (!opts.all) growthTimer = sampleFdGrowth(() => live, (pid, n, ts) => correlator.fdCount(pid, n, ts));
    const seeded = new Set(snap.processes.map((p) => p.pid));
    for (const pid of follow) {
      if (pid === commandRoot) continue;
      // it ended while bpftrace loaded its probes: nothing of it to watch
      if (!seeded.has(pid)) { status_(`process ${pid} exited before the probes were live`); continue; }
      status_(`attached to ${pid} (${readStatus(pid)?.name ?? '?'}) via eBPF`);
    }
    if (opts.all) status_(`attached to every process (${snap.processes.length} now) via eBPF`);
    if (held && opts.command) status_(`probes live: launching ${opts.command[0]} (pid ${commandRoot}) via eBPF`);
    held?.release();
    flushTimer = setInterval(() => { parser.flush(monoNs()); }, 20);
    // every attached process ended while the probes loaded: the trace is over before it began
    if (commandRoot === null && !opts.all && live.size === 0) void stop('every traced process exited');
    // a process whose exit never came through the probes (an event lost) must not hold the session open: once
    // /proc has had no such process for longer than the reorder window, it ends with an unknown status
    // (on the kernel's clock as bpftrace's output has reached it: a late exit may still wait in bpftrace's rings)
    if (!opts.all || commandRoot !== null) reaper = setInterval(() => {
      const set = commandRoot !== null ? commandTree : live;
      for (const pid of set) {
        if (fs.existsSync(`/proc/${pid}`)) { vanished.delete(pid); continue; }
        const since = vanished.get(pid);
        if (since === undefined) { vanished.set(pid, monoNs()); continue; }
        if (parser.latestNs - since < ((opts.windowMs ?? 100) + 400) * 1e6) continue;
        vanished.delete(pid);
        const ts = epoch + monoNs() / 1e9;
        const tids = correlator.processes.get(pid)?.tids ?? new Set([pid]);
        for (const tid of [...tids, pid]) correlator.push({ op: 'exit', tid, ts, line: 0, syscall: 'exit', comm: null, code: null, signal: null });
        // nothing in the trace knew it: its bookkeeping goes with it
        live.delete(pid);
        commandTree.delete(pid);
        checkEnd();
      }
    }, 500);
    if (opts.onStatus) ticker = setInterval(() => {
      const lost = parser.stats.lostEvents;
      status_(lost > 0 ? `lost ${lost} events: ${engine.name === 'native' ? 'the ring buffer' : 'bpftrace\'s ring buffers'} overflowed` : undefined);
    }, 1000);
  };
  // wakes whoever waits for more of the engine's output (the stop's drain)
  let waiters: Array<() => void> = [];
  const wake = (): void => { const w = waiters; waiters = []; for (const f of w) f(); };
  const progress = (deadline: number): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    waiters.push(() => { clearTimeout(t); resolve(); });
  });
  let flushTimer: NodeJS.Timeout | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let reaper: NodeJS.Timeout | null = null;
  let peerTimer: NodeJS.Timeout | null = null;
  /** when the probes went live (clock ticks since boot, 10 ms each): a process started since was followed from its fork */
  let liveSinceTicks: number | null = null;
  let growthTimer: NodeJS.Timeout | null = null;
  const vanished = new Map<number, number>();
  status_();

  // ------------------------------------------------------------------ stop
  let stopping: Promise<void> | null = null;
  /** the stop ended the engine before it had brought everything from before the stop */
  let cutShort = false;
  let stopRequested: () => void = () => {};
  const stopRequest = new Promise<null>((resolve) => { stopRequested = () => resolve(null); });
  function stop(reason?: string): Promise<void> {
    if (stopping) return stopping;
    state = 'detaching';
    status_(reason);

    stopRequested();
    stopping = (async () => {
      if (ready) {
        const stopNs = monoNs();
        // the stop is now: what comes after it costs nothing more than its line's split (its record's header)
        parser.cutoffNs = stopNs;
        if (!await engine.drain(stopNs, Date.now() + DRAIN_MS)) {
          cutShort = true;
          status_(engine.name === 'native'
            ? `the ring buffer was not read up to the stop after ${DRAIN_MS / 1000} s: the last events before the stop are missing`
            : `bpftrace had not printed everything it saw after ${DRAIN_MS / 1000} s: the last events before the stop are missing`);
        }
      }
      engine.close();
      if (!ready && held && commandExit === null) held.child.kill('SIGKILL');
    })();
    return stopping;
  }
  const done = (async (): Promise<LiveResult> => {
    const died = await Promise.race([engine.died, stopRequest]);
    if (!stopping) {
      // the engine ended by itself (bpftrace died)
      error ??= died;
      if (held && commandExit === null) held.child.kill('SIGKILL');
      await stop('eBPF failed');
    }
    await stopping;
    if (flushTimer) clearInterval(flushTimer);
    if (ticker) clearInterval(ticker);
    if (reaper) clearInterval(reaper);
    if (peerTimer) clearInterval(peerTimer);
    if (growthTimer) clearInterval(growthTimer);
    // what is left is a line bpftrace was killed in the middle of: no event, and no error
    parser.end();
    // the trace is complete: what untraced receivers took since the last poll is theirs
    receivers?.poll(true);
    // the probes let go of what still runs: as with strace's detach, that ends its trace cleanly
    if (error === null) correlator.detachAll();
    correlator.finish();
    // unref: a command that exited already must not keep fdwatch 200 ms more for the timer
    if (held) await Promise.race([commandExited, new Promise((r) => setTimeout(r, 200).unref())]);
    state = 'ended';
    const summary = summarize(parser, correlator, error !== null || cutShort,
      opts.command ? opts.command.join(' ') : opts.all ? 'all processes' : `pid ${opts.pids.join(',')}`);
    skipped.into(summary);
    summary.engine = engine.name;
    onRecord(summary);
    status_();
    return { summary, commandExit, error, detachProblem: null };
  })();
  // a command that exits before any trace event (a failed exec) still ends the session; so does one whose whole tree
  // has exited by the kernel's word (the native engine's follow map is empty), without waiting for the exits to leave
  // the reorder window (~120 ms): the stop reads the ring up to now, which holds them
  void commandExited.then(() => {
    if (!ready) return;
    if (opts.all ? commandTree.size === 0 : live.size === 0) void stop('the command exited');
    else if (!opts.all && follow.size === 1 && probes?.followsAny?.() === false) void stop('the command and everything it started exited');
  });
  // a second stop signal: no probe outlives the engine, so ending it at once leaves nothing attached
  const kill = (): void => { engine.close(); };
  return { commandPid: () => commandRoot, stop, kill, done, engine: engine.name };
}

// ------------------------------------------------------------------ the engines

/** How the probes' records reach the parser, and how they stop: the one difference between the engines. */
interface Engine {
  readonly name: 'native' | 'bpftrace';
  /** the stop: reads on until everything stamped before `stopNs` is in the parser; false when `deadline` (Date.now)
   * came first */
  drain(stopNs: number, deadline: number): Promise<boolean>;
  /** detaches every probe, at once (nothing waits on it); again: nothing */
  close(): void;
  /** resolves, with why, when the engine ended by itself (bpftrace died); the native engine's never does */
  readonly died: Promise<string>;
}

/** What an engine tells the session. */
interface EngineContext {
  parser: BpfParser;
  /** the program's own lines (bpftrace's R/A/Z), as the engine wants them */
  signal: (s: ProgramSignal) => void;
  /** every probe is live: what they saw before `ns` is in the attach snapshot */
  ready: (ns: number) => void;
  /** the probes cannot work here: the session ends with this error */
  fail: (error: string) => void;
  /** records were read */
  output: () => void;
  /** waits for more output, or `deadline` (Date.now) */
  progress: (deadline: number) => Promise<void>;
}

/**
 * The native engine: loadNative returned with every probe attached (ready at once); the ring is read every
 * RING_POLL_MS (up to 80 ms apart while it is idle), and again at once while a read took its whole budget. The ring is
 * ordered by reservation: once a round of reads that began at time T has consumed every byte reserved when it began,
 * everything stamped before T has been read (the parser may release it, less its window).
 */
function nativeEngine(ctx: EngineContext, h: NativeHandle): Engine {
  const { parser } = ctx;
  const decoder = new RecordDecoder(parser);
  const readyNs = monoNs();
  let closed = false;
  /** the round under way: when it began, the bytes reserved then that it must read, and those it did */
  let roundNs = 0;
  let need = -1;
  let seen = 0;
  // FDWATCH_NATIVE_RECORD=FILE: the ring's records as read, for bench/native-replay.ts (which replays them offline)
  const rec = ringRecorder(process.env['FDWATCH_NATIVE_RECORD']);
  const each = rec === null ? (data: DataView, off: number, len: number): void => {
    seen += (len + RING_HDR + 7) & ~7;
    decoder.record(data, off, len);
  } : (data: DataView, off: number, len: number): void => {
    seen += (len + RING_HDR + 7) & ~7;
    rec.record(data, off, len);
    decoder.record(data, off, len);
  };
  let again = false;
  /** reads one budget of records; true when the round is over */
  const read = (): boolean => {
    if (need < 0) { roundNs = monoNs(); need = h.ring.pending(); seen = 0; }
    const n = h.ring.drain(each, RING_BUDGET);
    if (n >= RING_BUDGET) return false;
    // a record still being written (or one the kernel discarded, not counted here) leaves the round short: the next
    // one says it
    if (seen >= need || h.ring.pending() === 0) { parser.readBefore(roundNs); rec?.readBefore(roundNs); }
    need = -1;
    return true;
  };
  const pump = (): void => {
    again = false;
    if (closed) return;
    const over = read();
    rec?.pumped(monoNs());
    parser.stats.lostEvents = h.lost();
    ctx.output();
    if (!over && !again) { again = true; setImmediate(pump); }
  };
  // an idle ring is read less and less often (RING_POLL_MS doubled, up to 80 ms apart): the first record read brings
  // the pace back
  const RING_IDLE_MS = 80;
  let every = RING_POLL_MS;
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    timer = null;
    const before = parser.stats.lines;
    pump();
    if (closed) return;
    every = parser.stats.lines !== before ? RING_POLL_MS : Math.min(every * 2, RING_IDLE_MS);
    timer = setTimeout(tick, every);
  };
  timer = setTimeout(tick, RING_POLL_MS);
  setImmediate(() => { if (!closed) ctx.ready(readyNs); });
  return {
    name: 'native',
    died: new Promise<string>(() => {}),
    async drain(stopNs, deadline) {
      while (!closed) {
        while (!read()) if (Date.now() >= deadline) break;
        parser.stats.lostEvents = h.lost();
        ctx.output();
        if (parser.completeNs >= stopNs) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 1));
      }
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clearTimeout(timer);
      rec?.close();
      parser.stats.lostEvents = h.lost();
      // the probes detach as their fds close
      h.close();
    },
  };
}

/** bpftrace as a child running ./program.ts's program: its stdout is the text protocol; ready when the sentinel
 * (attached last) answers. */
function bpftraceEngine(ctx: EngineContext, o: { follow: number[] | null; tracefs: string; btf: string }, rawOutput: string | null): Engine {
  const { parser } = ctx;
  const x64 = process.arch === 'x64';
  const tracepoints = readTracepoints(o.tracefs, !x64);
  const programOpts: ProgramOptions = {
    follow: o.follow, self: process.pid, tracepoints, execFilenameOffset: execFilenameOffset(o.tracefs),
    regs: x64 ? { arch: 'x64', threadSize: 16384 } : null, layout: x64 ? readLayout() : null, cpus: possibleCpus(),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-bpf-'));
  const programFile = path.join(dir, 'fdwatch.bt');
  fs.writeFileSync(programFile, bpfProgram(programOpts));
  const raw = rawOutput ? fs.openSync(rawOutput, 'w') : null;
  // full buffering: the program's heartbeat flushes it (see HEARTBEAT_MS)
  // under setpriv --pdeathsig the kernel ends bpftrace (and so its probes) when fdwatch itself is killed
  const setpriv = which('setpriv');
  const bpftraceArgv = [which('bpftrace')!, '-B', 'full', '--no-warnings', programFile];
  const child = spawn(setpriv ?? bpftraceArgv[0]!, setpriv ? ['--pdeathsig', 'SIGKILL', ...bpftraceArgv] : bpftraceArgv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...programEnv({}) },
  });
  let closed = false;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-16384); });
  let rest = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => {
    if (closed) return;
    if (raw !== null) fs.writeSync(raw, d, null, 'latin1');
    const text = rest + d;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      parser.push(text, start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
    ctx.output();
  });
  let runError: string | null = null;
  const died = new Promise<string>((resolve) => {
    const why = (ex: { code: number | null; signal: NodeJS.Signals | null }): string => {
      if (runError !== null) return runError;
      const lines = stderr.split('\n').filter((l) => /ERROR|error:|FATAL/.test(l) && !l.includes('RLIMIT_MEMLOCK'));
      return lines.length > 0 ? `bpftrace failed: ${lines[0]!.replace(/^ERROR:\s*/, '').trim()}` : `bpftrace ended with ${ex.signal ?? `status ${ex.code}`}`;
    };
    child.on('exit', (code, signal) => { resolve(why({ code, signal })); ctx.output(); });
    child.on('error', (e) => { runError = `cannot run bpftrace: ${e.message}`; resolve(runError); });
  });
  // the sentinel: kill(-SENTINEL_PGRP, 0) from this process makes the last-attached probe answer
  let sentinel: NodeJS.Timeout | null = null;
  let answered = false;
  const ping = (): void => { try { process.kill(-SENTINEL_PGRP, 0); } catch { /* ESRCH: there is no such group */ } };
  ctx.signal = (s) => {
    if (s.kind === 'loaded' && !answered && sentinel === null) { sentinel = setInterval(ping, 20); ping(); }
    if (s.kind !== 'ready' || answered) return;
    answered = true;
    if (sentinel) { clearInterval(sentinel); sentinel = null; }
    // bpftrace has read its program: nothing is left in $TMPDIR however fdwatch ends
    fs.rmSync(dir, { recursive: true, force: true });
    if (!s.regsOk) { ctx.fail('the probes could not read the saved registers on this kernel (unexpected stack layout): use --backend strace'); return; }
    ctx.ready(s.ns);
  };
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name: 'bpftrace',
    died,
    /**
     * Reads on until bpftrace has printed every event from before the stop (it may be seconds behind on a busy
     * host): until a heartbeat made after the stop has been read, and every CPU's ring read as far as that
     * heartbeat counted.
     */
    async drain(stopNs, deadline) {
      while (parser.settle(monoNs()) < stopNs) {
        if (!alive()) return true;
        if (Date.now() >= deadline) return false;
        await ctx.progress(deadline);
      }
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      if (sentinel) clearInterval(sentinel);
      // SIGKILL: the kernel detaches the probes as bpftrace's files close; bpftrace's own exit path would first
      // print every map
      try { child.kill('SIGKILL'); } catch { /* gone */ }
      // the kernel takes a while to detach each probe of the dead bpftrace: fdwatch does not wait on its pipes
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      if (raw !== null) fs.closeSync(raw);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function summarize(parser: BpfParser, c: Correlator, interrupted: boolean, source: string): SummaryRecord {
  const st = parser.stats;
  const s = c.summary({ ...st, parseErrors: st.malformed, parseErrorSamples: parser.samples },
    !interrupted && st.lostEvents === 0 && st.brokenGroups === 0);
  s.source = source;
  s.lostEvents = st.lostEvents;
  return s;
}
