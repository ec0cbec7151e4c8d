// Live tracing (I/O edge): checks, attach snapshot, strace over a trace channel, the pure pipeline, enrichment
// from /proc and the kernel (tid -> tgid, peers of one-sided transfers, kcmp), and a clean stop.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import v8 from 'node:v8';
import { TraceSession } from '../correlate/session.js';
import type { FdwatchRecord, MapRecord, SummaryRecord, TransferEnd, TransferRecord } from '../model/records.js';
import { LineSplitter, type ReadResult } from '../tracer/read.js';
import { parseDecor } from '../tracer/decor.js';
import { snapshotProcesses, type Snapshot } from '../procfs/snapshot.js';
import { mapRecords } from '../procfs/records.js';
import { ProcReader } from '../procfs/reader.js';
import type { ProcStatus } from '../procfs/status.js';
import * as native from '../native/index.js';
import { LiveError } from '../model/errors.js';
import { PF_KTHREAD } from '../model/kernel.js';
import { V8_INTERRUPT_BUDGET, YOUNG_INTERRUPT_BUDGET } from '../model/v8-young.js';
import { credsFrom, fileFacts } from './filefacts.js';
import { untracedReceivers, socketOwner, unixPeer, now, readStatus, statusText, statusBatch, uidOf, comm, PEER_POLL_MS } from './peers.js';
import { explainStraceError } from './strace.js';
import { preflightCommand, spawnStrace, type Strace } from './launch.js';

export { LiveError } from '../model/errors.js';
export { which } from './launch.js';

export type StraceState = 'starting' | 'tracing' | 'detaching' | 'ended';

export interface LiveStatus {
  strace: StraceState;
  traced: number;
  events: number;
  commandExit: { code: number | null; signal: string | null } | null;
  message?: string;
  /** the tracer changed (auto: eBPF failed before its probes were live, strace took over) */
  tracer?: 'bpf' | 'strace';
}

export interface LiveOptions {
  pids: number[];
  command: string[] | null;
  onRecord: (r: FdwatchRecord) => void;
  onStatus?: (s: LiveStatus) => void;
  /** how long a stop may take before strace is killed (ms; default STOP_GRACE_MS) */
  stopTimeout?: number;
  /** the launched command's stdout and stderr go to this file, its stdin is /dev/null (under the dashboard) */
  commandOutput?: string | null;
  /** strace already started for `command` (spawnStrace), while fdwatch loaded; never with `pids`, whose snapshot comes first */
  started?: Strace;
}

export interface LiveResult {
  summary: SummaryRecord;
  /** the launched command's exit, when there was one */
  commandExit: { code: number | null; signal: string | null } | null;
  /** strace failed: what to tell the user */
  error: string | null;
  /** tracees strace could not detach from in time (it was killed; the kernel detached them): one line, or null */
  detachProblem: string | null;
}

/** How long strace may take to detach after SIGINT before it is killed (ms): stopping stays within a second. */
export const STOP_GRACE_MS = 500;

export interface LiveHandle {
  /** detach from every tracee (SIGINT to strace, SIGKILL after the grace period); no reason: interrupted */
  stop(reason?: string): Promise<void>;
  /** end strace now (a second signal): the kernel detaches whatever strace had not */
  kill(): void;
  /** the launched command's pid, once the trace has shown it */
  commandPid(): number | null;
  done: Promise<LiveResult>;
}

const proc = new ProcReader('/proc');

/** /proc/PID/stat's state letter (R, S, D, T, t, Z...), task flags and start time, or null once the process is gone. */
export function statOf(pid: number): { state: string; flags: number; startTicks: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may hold ')': the fields follow the last one, the state (field 3) first, the flags (field 9) six later,
    // the start time (field 22, clock ticks since boot) nineteen later
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] ? { state: fields[0], flags: Number(fields[6]), startTicks: Number(fields[19]) } : null;
  } catch { return null; }
}

function stateOf(pid: number): string | null {
  return statOf(pid)?.state ?? null;
}

function zombieText(pid: number, ppid: number): string {
  return `process ${pid} is a zombie: it exited and its parent ${ppid} has not reaped it`;
}

/**
 * What makes a process impossible to watch, as one line (null: nothing): gone, a zombie, or (`kernelThreads`) a
 * kernel thread, which has no fd table of its own. The eBPF backend asks all three up front; for strace the
 * preflight asks the first two, and a kernel thread is named from strace's own refusal (see attachFailure).
 */
function unwatchableBy(pid: number, st: ProcStatus | null, kernelThreads: boolean): string | null {
  if (!st) return `no such process: ${pid}`;
  const s = statOf(pid);
  if (s?.state === 'Z') return zombieText(pid, st.ppid);
  if (kernelThreads && s !== null && (s.flags & PF_KTHREAD) !== 0) return `process ${pid} (${st.name}) is a kernel thread: it makes no system calls and holds no fds to watch`;
  return null;
}

export function unwatchable(pid: number): string | null {
  return unwatchableBy(pid, readStatus(pid), true);
}

/**
 * strace's stderr -> one line, with what /proc says now: PTRACE_SEIZE fails with EPERM on a zombie (and on a
 * process that exits during the attach), which is no permission problem even though strace says so.
 */
export function attachFailure(stderr: string): string | null {
  const m = /attach: ptrace\(PTRACE_SEIZE, (\d+)\): (Operation not permitted|No such process)/.exec(stderr);
  if (m) {
    const pid = Number(m[1]);
    const st = readStatus(pid);
    const state = stateOf(pid);
    if (st === null || state === null) return `process ${pid} exited before it could be attached`;
    if (state === 'Z') return zombieText(pid, st.ppid);
    if (st.tracerPid > 0) return `process ${pid} is already traced by ${st.tracerPid} (${comm(st.tracerPid)}): detach that tracer first`;
    if ((process.getuid?.() ?? 0) === 0 && m[2] === 'Operation not permitted') {
      return `not permitted to trace ${pid} (${comm(pid)}) even as root: a kernel thread, or Yama ptrace_scope 3 or a security module forbids it`;
    }
  }
  return explainStraceError(stderr);
}

/** Everything that can be told before strace runs, each as one line with what to do. */
export function preflight(pids: number[], command: string[] | null): void {
  preflightCommand(command);
  const me = process.getuid?.() ?? 0;
  let scope = 0;
  try { scope = Number(fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()); } catch { scope = 0; }
  for (const pid of pids) {
    const st = readStatus(pid);
    const no = unwatchableBy(pid, st, false);
    if (no !== null || st === null) throw new LiveError(no ?? `no such process: ${pid}`);
    const tracer = st.tracerPid;
    if (tracer > 0) throw new LiveError(`process ${pid} is already traced by ${tracer} (${comm(tracer)}): detach that tracer first`);
    if (me !== 0) {
      const uid = st.uid[1];
      if (uid !== me) throw new LiveError(`not permitted to trace ${pid} (uid ${uid}): run fdwatch as root or as that user`);
      if (scope >= 1) throw new LiveError(`Yama ptrace_scope is ${scope}: only descendants can be traced; run as root or set /proc/sys/kernel/yama/ptrace_scope to 0`);
    }
  }
}

/** tid -> tgid from /proc, for threads of attached processes that appear without a clone. */
function tgidOf(tid: number): number | null {
  return readStatus(tid)?.tgid ?? null;
}

/** st_dev as /proc/PID/maps prints it: "major:minor" in hex (the kernel's new_encode_dev split back). */
function devText(dev: bigint): string {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function statOrNull(p: string): fs.BigIntStats | null {
  try { return fs.statSync(p, { bigint: true, throwIfNoEntry: false }) ?? null; } catch { return null; }
}

const PAGE_MASK = 0xfffn; // mmap rounds a length up to whole 4 KiB pages; other page sizes fall to the fd

/** An open file description of the trace (`origin`) -> the dev/inode its mappings showed: one file, whatever maps it. */
const mapIdentities = new Map<string, { dev: string; inode: number }>();
const MAX_MAP_IDENTITIES = 4096;

/**
 * The kernel's own view of a new mapping (device, inode), by one stat per record, never a read of the whole
 * /proc/PID/maps: the mapping itself (map_files/START-END, root only, exact for deleted files and other mount
 * namespaces), else the fd it was made from if it still names that file, else the path once the process is gone.
 * A mapping of an open file description seen before costs nothing: its file is known (and stays known once the
 * mapping, the fd and the process are gone, as they are when the trace lags behind a busy program).
 */
export function mapDetails(m: MapRecord): void {
  const known = m.origin !== undefined ? mapIdentities.get(m.origin) : undefined;
  if (known) { m.dev = known.dev; m.inode = known.inode; return; }
  let start: bigint;
  let end: bigint;
  // enrichment never ends a trace: a range that is no address is left without dev/inode
  try { start = BigInt(m.start); end = (BigInt(m.end) + PAGE_MASK) & ~PAGE_MASK; } catch { return; }
  if (start < 0n || end <= start) return;
  let st = statOrNull(`/proc/${m.pid}/map_files/${start.toString(16)}-${end.toString(16)}`);
  // a file or memfd maps as itself; a device may map something else (shared /dev/zero: a new shmem file each time)
  const plain = m.path !== null && !(m.path.startsWith('/dev/') && !m.path.startsWith('/dev/shm/'));
  let same = st !== null && plain;
  if (!st && m.fd != null) {
    // stat first: a closed fd (the process exited, as a lagging trace finds it) is then no thrown readlink (~30 µs each)
    const fdPath = `/proc/${m.pid}/fd/${m.fd}`;
    const fdSt = statOrNull(fdPath);
    if (fdSt !== null) {
      try {
        const now = fs.readlinkSync(fdPath); // memfds and unlinked files read "PATH (deleted)"
        if (m.path === null || now === m.path || now === `${m.path} (deleted)`) { st = fdSt; same = plain; }
      } catch { /* closed since */ }
    }
  }
  if (!st && m.path && m.path.startsWith('/') && !m.path.endsWith(' (deleted)')) st = statOrNull(m.path);
  if (!st) return;
  m.dev = devText(st.dev);
  m.inode = Number(st.ino);
  // remembered only when what was found is the open file description's own file
  if (m.origin !== undefined && same) {
    if (mapIdentities.size >= MAX_MAP_IDENTITIES) mapIdentities.clear();
    mapIdentities.set(m.origin, { dev: m.dev, inode: m.inode });
  }
}

/**
 * How many fds a process holds: since Linux 6.2 the size stat gives /proc/PID/fd (one stat, no directory read);
 * 0 there means an older kernel (or no fds at all), and the directory says which.
 */
export function fdCount(pid: number): number {
  const dir = `/proc/${pid}/fd`;
  const n = fs.statSync(dir).size;
  return n > 0 ? n : fs.readdirSync(dir).length;
}

/** fd-leak, under either tracer: every GROWTH_SAMPLE_MS the fd count of each of `pids` (the first GROWTH_MAX_PIDS) goes to `sample`. */
export function sampleFdGrowth(pids: () => Iterable<number>, sample: (pid: number, count: number, ts: number) => void): NodeJS.Timeout {
  const timer = setInterval(() => {
    const ts = now();
    let k = 0;
    for (const pid of pids()) {
      if (++k > GROWTH_MAX_PIDS) break;
      let n: number;
      try { n = fdCount(pid); } catch { continue; } // exited, or not ours to read
      sample(pid, n, ts);
    }
  }, GROWTH_SAMPLE_MS);
  timer.unref();
  return timer;
}

function threadsOf(pid: number): number[] {
  try { return proc.listTasks(pid).filter((t) => t !== pid); } catch { return []; }
}

/** fd-leak: how often each traced process's fd count is read (fdCount), and for how many */
const GROWTH_SAMPLE_MS = 1000;
const GROWTH_MAX_PIDS = 1024;

/** One read of the trace channel: the event loop turns between reads (timers, signals). */
const READ_BYTES = 1 << 16;
/**
 * After a read that emptied the channel (under half a buffer), the next waits this long (ms): strace writes a line
 * at a time, and a read, a batch of lines and a write of them per few lines cost fdwatch more CPU than the lines do
 * (the channel holds 1 MiB, so strace never waits for it). Measured on headless Chromium: 0 ms 1.69 s of CPU,
 * 10 ms 1.52 s, 25 ms 1.25-1.35 s, 50 and 100 ms no less.
 */
const GATHER_MS = 25;
const GATHER_BELOW = READ_BYTES / 2;

/**
 * Reads the trace channel into one reused buffer (no Buffer and no stream event per read) and cuts it into lines;
 * `first` runs at the first bytes. A read that empties the channel waits `gatherMs` for the next, until `drain()`
 * (strace has exited: what is left is read at once, to the end).
 */
export function readChannel(fd: number, first: () => void, sink: (bytes: Buffer, start: number, end: number, lineNo: number) => void,
  gatherMs = GATHER_MS): { done: Promise<ReadResult>; drain: () => void } {
  let gather = true;
  let paused: NodeJS.Timeout | null = null;
  let socket: net.Socket | null = null;
  const resume = (): void => { paused = null; socket?.resume(); };
  const done = new Promise<ReadResult>((resolve, reject) => {
    const lines = new LineSplitter(sink);
    let started = false;
    const buf = Buffer.allocUnsafe(READ_BYTES);
    // Node 20 takes onread in the constructor too (its types only list it for connect)
    const opts: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
      fd, readable: true, writable: false,
      onread: {
        buffer: buf,
        callback: (n: number): boolean => {
          if (!started) { started = true; first(); }
          statusBatch(() => lines.push(n === buf.length ? buf : buf.subarray(0, n)));
          if (n >= GATHER_BELOW || !gather) return true;
          paused = setTimeout(resume, gatherMs);
          return false;
        },
      },
    };
    socket = new net.Socket(opts);
    socket.on('error', reject);
    socket.on('end', () => resolve(lines.end()));
  });
  return {
    done,
    drain: () => {
      gather = false;
      if (paused !== null) { clearTimeout(paused); resume(); }
    },
  };
}

/** Processes strace still traces (it did not detach them in time), with their state: read before it is killed. */
function stillTraced(tracer: number): Array<{ pid: number; comm: string; state: string }> {
  const out: Array<{ pid: number; comm: string; state: string }> = [];
  for (const pid of proc.listPids()) {
    const st = readStatus(pid);
    if (st && st.tracerPid === tracer) out.push({ pid, comm: st.name, state: stateOf(pid) ?? '?' });
  }
  return out;
}

function stuckText(stuck: Array<{ pid: number; comm: string; state: string }>, ms: number): string {
  const who = stuck.map((p) => `${p.pid} (${p.comm}, state ${p.state}${p.state === 'D' ? ': uninterruptible, e.g. in vfork until its child execs or exits' : ''})`);
  return `could not detach cleanly from ${who.join(', ')}: strace was still detaching after ${ms} ms and was ended; ` +
    `the kernel detached ${stuck.length === 1 ? 'it' : 'them'}, running on untraced`;
}

/**
 * V8 while a trace is young. Half of what a Chromium trace costs fdwatch is compiling its code, on the other core
 * strace and the tracees need:
 * - TurboFan's budget for inlining into one optimised function: 100 bytes of bytecode, not V8's 920. callgrind of a
 *   replay of that trace (node --single-threaded): 2.63 G instructions with 920 (TurboFan 1.58 G), 1.97 G with 200
 *   (0.95 G), 1.85 G with 100 (0.82 G), 1.83 G with 50 (0.78 G, but its compiled code runs 15% longer); a 162k-line
 *   make log 1.69 G with 200, 1.66 G with 100. Live, fdwatch's own CPU with 200: 1.38 -> 1.07 s (median of 6
 *   interleaved pairs);
 * - the interrupt budget (the bytecode a function runs between V8's looks at whether to optimise it): 300000, not
 *   67584, so that only what stays hot is compiled. Live Chromium (perf, 3 runs each): V8's compiler threads 760 ->
 *   370 samples of 0.25 ms, the main thread 1000 -> 1100; 12 interleaved pairs: 1.06 -> 1.00 s wall, 1.19 -> 1.10 s
 *   of CPU for the whole tree.
 * Past LIVE_SHORT_BYTES of trace the defaults come back for what is compiled from then on: a long trace runs its
 * code long enough for the inlining to pay (5% of the main thread on a 200k-line make log).
 */
const LIVE_V8_FLAGS = `--max-inlined-bytecode-size-cumulative=100 ${YOUNG_INTERRUPT_BUDGET}`;
const LIVE_V8_DEFAULTS = `--max-inlined-bytecode-size-cumulative=920 ${V8_INTERRUPT_BUDGET}`;
const LIVE_SHORT_BYTES = 16 * 1024 * 1024;

export function startLive(opts: LiveOptions): LiveHandle {
  if (opts.started && opts.pids.length > 0) throw new Error('startLive: strace started before the snapshot of the processes it attaches');
  if (!opts.started) preflight(opts.pids, opts.command);
  v8.setFlagsFromString(LIVE_V8_FLAGS);

  let events = 0;
  let state: StraceState = 'starting';
  let commandExit: LiveResult['commandExit'] = null;
  const traced = (): number => session.liveProcesses();
  const status = (message?: string): void => opts.onStatus?.({
    strace: state, traced: traced(), events, commandExit, ...(message ? { message } : {}),
  });

  // the launched command's process tree sets the lifetime when -p pids are traced too
  const attached = new Set(opts.pids);
  const commandTree = new Set<number>();
  let commandRoot: number | null = null;
  const ownerCache = new Map<number, { pid: number; fd: number; comm: string | null } | null>();
  const enrich = (t: TransferRecord): void => {
    // one-sided traces: name the untraced end through the peer socket's owner
    const fill = (end: TransferEnd, own: string | null): TransferEnd => {
      if (end.pid !== null || !own) return end;
      const d = parseDecor(own);
      let peer = d.peer;
      if (peer === null && d.inode !== null) peer = unixPeer(d.inode, t.ts);
      if (peer === null) return end;
      if (!ownerCache.has(peer)) ownerCache.set(peer, socketOwner(peer, t.ts));
      const o = ownerCache.get(peer);
      return o ? { ...end, pid: o.pid, comm: o.comm, uid: uidOf(o.pid) } : end;
    };
    if (t.from.pid === null && t.to) t.from = fill(t.from, t.to.socket);
    // still queued at the end: the process that held the receiving socket when it was sent
    receivers.nameReceiver(t);
    if (t.state === 'delivered' && t.from.fd !== null && t.to?.fd != null && t.from.pid !== null && t.to.pid !== null) {
      const k = native.kcmpFile(t.from.pid, t.from.fd, t.to.pid, t.to.fd);
      t.confirmed = k === 'same' ? true : null;
    } else {
      t.confirmed = null;
    }
  };

  let tracer: ChildProcess | null = null;
  // Sends to sockets no traced process receives from: who holds the receiving socket, what the kernel still queues
  const receivers = untracedReceivers({
    queued: () => session.queued(),
    apply: (op) => session.apply(op),
    // strace traces it now (its calls may still be on their way through the trace), or the trace knows it
    traced: (pid) => session.isRunning(pid) || (tracer?.pid !== undefined && readStatus(pid)?.tracerPid === tracer.pid),
    status: (m) => status(m),
  });

  // fdwatch's own wrapper (strace's exec of `sh -c 'exec 2>&4 ...; exec "$0" "$@"' CMD`, its dup2 and close of
  // strace's fds) is not the user's program: the command's records start at its exec of CMD
  let rootExecs = 0;
  const wrapper = (r: FdwatchRecord): boolean => {
    if (!opts.command || commandRoot === null || rootExecs >= 2 || !('pid' in r) || r.pid !== commandRoot) return false;
    if (r.type === 'process' && r.event === 'exec') return ++rootExecs < 2;
    return !(r.type === 'process' && r.event === 'exit'); // a command that could not start still ends
  };

  const session = new TraceSession((r) => {
    if (r.type === 'transfer') enrich(r);
    receivers.record(r);
    if (r.type === 'map') mapDetails(r);
    if (r.type === 'process') {
      if (r.event === 'attach' && !attached.has(r.pid) && commandRoot === null && opts.command) { commandRoot = r.pid; commandTree.add(r.pid); }
      else if (r.event === 'fork' && r.ppid !== null && commandTree.has(r.ppid)) commandTree.add(r.pid);
      else if (r.event === 'exit' && commandTree.has(r.pid)) {
        commandTree.delete(r.pid);
        if (r.pid === commandRoot) commandExit = { code: r.exitCode ?? null, signal: r.signal ?? null };
        if (commandTree.size === 0 && attached.size > 0) void stopWith('the command and everything it started exited');
      }
    }
    if (wrapper(r)) return;
    if (held !== null && 'pid' in r && r.pid !== null && attached.has(r.pid)) hold(r.pid, r);
    else opts.onRecord(r);
  }, { source: opts.command ? opts.command.join(' ') : `pid ${opts.pids.join(',')}`, resolveTgid: tgidOf,
    resolveProcess: (pid) => ({ uid: uidOf(pid) }),
    // privilege-crossing: the file behind each delivered fd, stat'ed while the transfer record comes out
    fileFacts: (t) => fileFacts(t, '/proc', (pid) => credsFrom(statusText(pid))) });

  // fd tables start from what the processes hold now; their records wait until strace says it attached (or the
  // trace shows a call): a process strace may not trace is then never reported as traced
  let held: Map<number, FdwatchRecord[]> | null = new Map();
  const hold = (pid: number, r: FdwatchRecord): void => { const l = held!.get(pid); if (l) l.push(r); else held!.set(pid, [r]); };
  const release = (pid: number | null): void => {
    if (held === null) return;
    for (const [k, rs] of [...held]) {
      if (pid !== null && k !== pid) continue;
      held.delete(k);
      for (const r of rs) opts.onRecord(r);
    }
  };
  let seeded: Snapshot['processes'] = [];
  if (opts.pids.length > 0) {
    const snap = snapshotProcesses('/proc', opts.pids);
    seeded = snap.processes;
    for (const p of snap.processes) {
      session.seedProcess({
        pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, tids: threadsOf(p.pid),
        fds: p.fds.map((f) => ({ fd: f.fd, target: f.target, kind: f.kind, cloexec: f.cloexec })),
      }, snap.ts);
      // its shared file mappings, as the trace reports new ones (private ones are the loader's libraries)
      for (const m of mapRecords(p, snap.ts)) if (m.perms.endsWith('s')) hold(p.pid, m);
    }
  }

  // who holds the other end of the attached processes' sockets, and what they hold now: fds they receive are new
  const peerInodes = new Set<number>();
  for (const p of seeded) for (const f of p.fds) if (f.socket?.peer != null) peerInodes.add(f.socket.peer);
  receivers.seed(peerInodes, new Set(opts.pids));

  const strace = opts.started ?? spawnStrace({ pids: opts.pids, command: opts.command, commandOutput: opts.commandOutput });
  strace.dropExitHook();
  const child = strace.child;
  tracer = child;
  const channel = strace.channel;
  if (!strace.setpriv) status('setpriv (util-linux) not found: if fdwatch is killed with SIGKILL, strace stays attached');

  // strace installs its SIGINT handler just before it attaches (after it started the command): a signal sent
  // earlier kills it, which could leave a just-started command stopped. The first sign of life says it is in.
  let ready = false;
  let interruptSent = false;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const interrupt = (): void => {
    if (interruptSent || !alive()) return;
    interruptSent = true;
    child.kill('SIGINT');
  };
  const becameReady = (): void => {
    if (ready) return;
    ready = true;
    if (stopping) interrupt();
  };

  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
    // strace says when each -p process is really attached: the readiness signal for users and tests
    for (const m of d.matchAll(/strace: Process (\d+) attached/g)) {
      becameReady();
      const pid = Number(m[1]);
      if (attached.has(pid)) { release(pid); status(`attached to ${pid} (${comm(pid)})`); }
    }
  });

  const src = session.source(null);
  let lineNo = 0;
  let young = LIVE_SHORT_BYTES;
  const channelReader = readChannel(channel, () => { release(null); held = null; becameReady(); }, (bytes, a, b) => {
    events++;
    if (young > 0 && (young -= b - a + 1) <= 0) v8.setFlagsFromString(LIVE_V8_DEFAULTS);
    session.bytes(bytes, a, b, ++lineNo, src);
    // long runs stay bounded: exited processes beyond the newest few thousand are forgotten
    if ((events & 0xffff) === 0) session.pruneExited(4096);
  });
  const reading = channelReader.done.catch(() => ({ lines: lineNo, truncated: true }));
  if (state === 'starting') { state = 'tracing'; status(); }
  const ticker = opts.onStatus ? setInterval(() => status(), 1000) : null;
  ticker?.unref();
  const peerTimer = setInterval(() => receivers.poll(false), PEER_POLL_MS);
  peerTimer.unref();
  const growthTimer = sampleFdGrowth(() => session.runningPids(GROWTH_MAX_PIDS), (pid, n, ts) => session.fdCount(pid, n, ts));

  // strace wrote its last: the rest of the channel is read at once
  const exited = strace.exited.then((x) => { channelReader.drain(); return x; });

  // fdwatch ending some other way (process.exit after a second signal, an uncaught error): strace goes too;
  // kill -9 and crashes of Node itself are covered by the parent-death signal
  const onExit = (): void => { if (alive()) { try { child.kill(stopping ? 'SIGKILL' : 'SIGTERM'); } catch { /* gone */ } } };
  process.on('exit', onExit);

  const grace = opts.stopTimeout ?? STOP_GRACE_MS;
  let detachProblem: string | null = null;
  const killNow = (): void => {
    if (!alive()) return;
    const stuck = child.pid !== undefined ? stillTraced(child.pid) : [];
    if (stuck.length > 0 && detachProblem === null) { detachProblem = stuckText(stuck, Date.now() - stopStart); status(detachProblem); }
    child.kill('SIGKILL');
  };

  let stopping: Promise<void> | null = null;
  let stopStart = 0;
  const stopWith = (reason: string | undefined): Promise<void> => {
    if (stopping) return stopping;
    state = 'detaching';
    stopStart = Date.now();
    status(reason);
    stopping = (async () => {
      if (alive()) {
        if (ready) interrupt();
        const timer = setTimeout(killNow, grace);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };
  const handle: LiveHandle = {
    commandPid: () => commandRoot,
    stop: (reason?: string) => stopWith(reason),
    kill(): void {
      void stopWith(undefined);
      killNow();
    },
    done: (async (): Promise<LiveResult> => {
      const [read, ex] = await Promise.all([reading, exited]);
      held = null; // never attached: strace could not trace them
      process.removeListener('exit', onExit);
      if (ticker) clearInterval(ticker);
      clearInterval(peerTimer);
      clearInterval(growthTimer);
      receivers.poll(true); // the trace is complete: what untraced receivers took since the last poll is theirs
      state = 'ended';
      // strace detached what still runs (it says so on stderr, not in the trace): a detach is a clean end, unless
      // strace had to be killed with tracees it had not let go, or died on its own
      const cut = detachProblem !== null || (!stopping && commandExit === null && (ex.code !== 0 || ex.signal !== null));
      if (!cut) session.detachAll();
      const summary = session.end({ interrupted: cut, truncated: read.truncated });
      // attach and exec failures are errors even when strace went on; otherwise only an unexplained death is
      let error = attachFailure(stderr.split('\n').filter((l) => /PTRACE_SEIZE|Can't stat/.test(l)).join('\n'));
      if (!error && !stopping && commandExit === null && (ex.code !== 0 || ex.signal !== null)) {
        error = attachFailure(stderr) ?? `strace ended with ${ex.signal ?? `status ${ex.code}`}`;
      }
      status();
      return { summary, commandExit, error, detachProblem };
    })(),
  };
  return handle;
}
