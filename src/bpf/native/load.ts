// The native eBPF engine's loader (I/O edge): maps, programs (./program.ts), tracepoint attachment, the ring.
// All or nothing: on any failure everything made so far is closed (no map, program, link or perf event outlives it).
//
// Two ways to attach the syscall probes (NativeOptions.attach; FDWATCH_NATIVE_ATTACH=syscalls|raw overrides it):
//   'raw'       raw tracepoint programs: dispatchers on raw_syscalls:sys_enter/sys_exit tail-call the probe of the
//               call's number. 5 links, closed in ~5 ms, but every syscall of every process on the host runs both
//               dispatchers (~+250 ns a call with retpolines).
//   'syscalls'  tracepoint programs on each call's own syscalls:sys_enter_X/sys_exit_X through perf events: an
//               untraced call costs only the kernel's per-call bitmap check (~+100 ns). The last close of each
//               perf event waits ~60 ms (tracepoint_synchronize_unregister), ~6 s for ~110: so right after attaching
//               they are handed to a holder child (setpriv --pdeathsig KILL sleep) and fdwatch closes its own
//               copies (fast: not the last reference). close() SIGKILLs the holder and returns; the kernel detaches
//               the probes as the holder's files close, in the background (seconds). fdwatch killed: pdeathsig.
// The sched probes are raw tracepoint programs in both modes (3 links).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  bpfAttachTracepoint, bpfMapCreate, bpfMapDelete, bpfMapLookup, bpfMapNextKey, bpfMapUpdate, bpfProgLoad, bpfProgLoadAsync, bpfRawTracepointOpen, bpfRingOpen, closeFd, isFailed, isUnavailable, withMappedFile,
  type BpfRing,
} from '../../native/index.js';
import { ringBytes } from './format.js';
import type { NativeHandle, NativeLoadError, NativeOptions } from './handle.js';
import { cacheDir, cacheKey, PLACEHOLDER_MAPS, readCache, withMaps, writeCache, type TracepointFacts } from './cache.js';
import { kernelOffsets, STASH, type KernelCtx, type Maps, type Offsets, type Probe } from './kernel.js';
import { dispatcher, nativeProbes, nativeProbesByCost, PROG_PREFIX, SYSCALL_NR, SYSCALL_SLOTS } from './program.js';

/** entries of the per-thread and per-process maps, and of the dentry-name cache (the text program's BPFTRACE_MAP_KEYS_MAX) */
export const MAP_ENTRIES = 65536;
const BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_PROG_ARRAY = 3, BPF_MAP_TYPE_PERCPU_ARRAY = 6, BPF_MAP_TYPE_LRU_HASH = 9, BPF_MAP_TYPE_RINGBUF = 27;
const BPF_PROG_TYPE_TRACEPOINT = 5, BPF_PROG_TYPE_RAW_TRACEPOINT = 17;
const BPF_F_NO_PREALLOC = 1;

type Made = number | { unavailable: string } | { failed: string };

/**
 * CPUs a probe may run on (`0-1,4-7`: the highest + 1): bpftrace's heartbeat covers them, and a per-CPU map's lookup
 * writes one value per possible CPU (too few would let the kernel write past the buffer: 1024 when unreadable).
 */
export function possibleCpus(text?: string): number {
  let t = text;
  if (t === undefined) { try { t = fs.readFileSync('/sys/devices/system/cpu/possible', 'latin1'); } catch { return 1024; } }
  const ends = t.trim().split(',').map((r) => Number(r.split('-').pop()));
  return ends.length > 0 && ends.every((n) => Number.isSafeInteger(n) && n >= 0) ? Math.max(...ends) + 1 : 1024;
}

/**
 * Which tracepoints this kernel has (tracefs events/): a syscall's only when it has both its enter and exit, found
 * in one listing of events/syscalls; ids only for the per-call attach ('syscalls'). Both engines ask it.
 */
export class Tracepoints {
  private syscalls: Set<string> | null = null;
  /** what was asked and answered (`known`'s answers, which this boot's tracefs gave an earlier load, included) */
  private readonly hasOf = new Map<string, boolean>();
  private readonly idOf = new Map<string, number | null>();
  constructor(private readonly tracefs: string, known: TracepointFacts | null = null) {
    if (known === null) return;
    for (const [tp, v] of Object.entries(known.has)) this.hasOf.set(tp, v);
    for (const [tp, v] of Object.entries(known.ids)) this.idOf.set(tp, v);
  }
  /** a tracepoint's id (events/CATEGORY/NAME/id), null when this kernel lacks it */
  id(tp: string): number | null {
    const known = this.idOf.get(tp);
    if (known !== undefined) return known;
    let id: number | null;
    try {
      const n = Number(fs.readFileSync(path.join(this.tracefs, 'events', tp, 'id'), 'utf8'));
      id = Number.isInteger(n) && n > 0 ? n : null;
    } catch {
      id = null;
    }
    this.idOf.set(tp, id);
    return id;
  }
  has(tp: string): boolean {
    const known = this.hasOf.get(tp);
    if (known !== undefined) return known;
    const m = /^syscalls\/sys_(enter|exit)_(\w+)$/.exec(tp);
    const has = m ? this.syscall(m[2]!) : fs.existsSync(path.join(this.tracefs, 'events', tp, 'id'));
    this.hasOf.set(tp, has);
    return has;
  }
  /** every answer so far, for the cache */
  facts(): TracepointFacts {
    return { has: Object.fromEntries(this.hasOf), ids: Object.fromEntries(this.idOf) };
  }
  /** syscalls:sys_enter_NAME and sys_exit_NAME both exist */
  syscall(name: string): boolean {
    if (!this.syscalls) {
      try { this.syscalls = new Set(fs.readdirSync(path.join(this.tracefs, 'events', 'syscalls'))); } catch { this.syscalls = new Set(); }
    }
    return this.syscalls.has(`sys_enter_${name}`) && this.syscalls.has(`sys_exit_${name}`);
  }
}

/** verifier runs a pending signal may cut short before the load gives up */
const LOAD_TRIES = 8;

/** BPF_PROG_LOAD, again when a signal cut the verifier short (EAGAIN: fdwatch's own SIGCHLD, a profiler's SIGPROF). */
function progLoad(insns: Uint8Array, name: string, type = BPF_PROG_TYPE_RAW_TRACEPOINT): ReturnType<typeof bpfProgLoad> {
  let r = bpfProgLoad({ type, insns, name });
  for (let i = 1; i < LOAD_TRIES && typeof r !== 'number' && isFailed(r) && (r.failed === 'EAGAIN' || r.failed === 'EWOULDBLOCK'); i++) {
    r = bpfProgLoad({ type, insns, name });
  }
  return r;
}

/** progLoad on one of koffi's worker threads (several verify at once), again when a signal cut the verifier short. */
async function progLoadAsync(insns: Uint8Array, name: string, type: number): ReturnType<typeof bpfProgLoadAsync> {
  let r = await bpfProgLoadAsync({ type, insns, name });
  for (let i = 1; i < LOAD_TRIES && typeof r !== 'number' && isFailed(r) && (r.failed === 'EAGAIN' || r.failed === 'EWOULDBLOCK'); i++) {
    r = await bpfProgLoadAsync({ type, insns, name });
  }
  return r;
}

/** The attach mode: FDWATCH_NATIVE_ATTACH (benches, tests), else the option, else the default. */
export function attachMode(opt: NativeOptions['attach'], env = process.env.FDWATCH_NATIVE_ATTACH): 'raw' | 'syscalls' | NativeLoadError {
  if (env !== undefined && env !== '') {
    if (env === 'raw' || env === 'syscalls') return env;
    return { error: `FDWATCH_NATIVE_ATTACH must be syscalls or raw, not ${JSON.stringify(env)}` };
  }
  return opt ?? DEFAULT_ATTACH;
}

/** the mode used when neither the option nor FDWATCH_NATIVE_ATTACH says: a followed busy write(2) loop keeps ~0.75 of
 * its untraced rate under 'syscalls', ~0.52 under 'raw' (every syscall of the host runs both dispatchers) */
export const DEFAULT_ATTACH: 'raw' | 'syscalls' = 'syscalls';

/**
 * A child that holds `fds` (as its fds 3, 4, ...) until it is killed, and dies with fdwatch (pdeathsig; plain sleep
 * without setpriv: it then outlives a kill -9 of fdwatch, and so do the probes). Nothing waits for it (unref'd, its
 * own session so a terminal's ^C does not reach it); node reaps it when it ends.
 */
function spawnHolder(fds: number[]): ChildProcess | string {
  const stdio: Array<'ignore' | number> = ['ignore', 'ignore', 'ignore', ...fds];
  const tries: Array<[string, string[]]> = [['setpriv', ['--pdeathsig', 'KILL', '--', 'sleep', 'infinity']], ['sleep', ['infinity']]];
  let why = '';
  for (const [cmd, args] of tries) {
    // uv_spawn returns once the child has exec'd (or failed to): the fds are then the child's too
    const child = spawn(cmd, args, { stdio, detached: true });
    if (child.pid !== undefined) {
      child.on('error', () => { /* a kill of a child already gone */ });
      child.unref();
      return child;
    }
    child.on('error', () => { /* reported below */ });
    why = `cannot start ${cmd}`;
  }
  return `the perf events' holder: ${why}`;
}

/** Loads the native engine with the probes of ./program.ts. */
export function loadNative(opts: NativeOptions): NativeHandle | NativeLoadError {
  return loadProbes(opts, nativeProbes);
}

/** loadNative with the programs verified in parallel (bpfProgLoadAsync): the live session's loader. */
export function loadNativeAsync(opts: NativeOptions): Promise<NativeHandle | NativeLoadError> {
  return loadProbesAsync(opts, nativeProbesByCost, PROG_PREFIX, true);
}

/** A program to load, and where it attaches. */
interface ToLoad {
  probe: Probe;
  type: number;
  raw: string[];
  ids: number[];
  slots: Array<{ side: 'enter' | 'exit'; nr: number; tp: string }>;
}

type ProgResult = ReturnType<typeof bpfProgLoad>;

/** One program's load: its fd (already among what a failure closes) and whether its own attachments are made. */
interface Loaded { l: ToLoad; r: ProgResult; linked: boolean }

/**
 * loadProbes, its programs verified by the kernel on several CPUs at once (they are most of a load's time): each
 * program's load starts as soon as `make` has built it (a generator builds the next while the kernel verifies), and
 * each one is attached as soon as it is verified ('syscalls': its perf events and the sched probes' links; 'raw':
 * the sched links, the dispatchers still last), while the others are still being verified. With `cache`, the offsets
 * and the probes come from ./cache.ts's file when it has this kernel's and this build's (else they are built, with
 * placeholder maps, and written there once every probe is attached).
 */
export async function loadProbesAsync(opts: NativeOptions, make: (k: KernelCtx) => Iterable<Probe>, prefix = PROG_PREFIX, cache = false): Promise<NativeHandle | NativeLoadError> {
  const p = prepare(opts, prefix, cache);
  if ('error' in p) return p;
  const loads: Array<Promise<Loaded>> = [];
  let failure: string | null = null;
  const built: Probe[] = [];
  const real = p.k.maps;
  const source = (): Iterable<Probe> => {
    if (!cache) return make(p.k);
    if (p.cached !== null) return p.cached.map((c) => withMaps(c, real));
    return (function* () {
      for (const q of make({ ...p.k, maps: PLACEHOLDER_MAPS })) { built.push(q); yield withMaps(q, real); }
    })();
  };
  try {
    for (const probe of source()) {
      const l = p.place(probe);
      if (l === null) continue;
      if ('error' in l) { failure = l.error; break; }
      loads.push(progLoadAsync(l.probe.insns, l.probe.name, l.type).then((r) => {
        if (typeof r !== 'number') return { l, r, linked: false };
        p.own(r);
        if (failure !== null) return { l, r, linked: false };
        const why = p.link(l, r);
        if (why !== null) failure ??= why;
        return { l, r, linked: why === null };
      }));
    }
  } catch (err) {
    failure = `native probes: ${err instanceof Error ? err.message : String(err)}`;
  }
  // a failure waits for the loads under way: what they made is closed with the rest
  const done = await Promise.all(loads);
  if (failure !== null) return p.fail(failure);
  const h = p.finish(done);
  if (!('error' in h) && built.length > 0) p.store(built);
  return h;
}

/**
 * Loads the probes `make` builds (tests hand in a probe the verifier refuses, to see nothing is left behind; and
 * name the dispatchers with their own `prefix`), attaching the syscall probes as the header above says.
 *
 * 'raw': every probe is a raw tracepoint program attached with BPF_RAW_TRACEPOINT_OPEN (a link fd each); the
 * syscall probes sit in the program arrays of two dispatchers on raw_syscalls:sys_enter/sys_exit, which tail-call
 * the slot of the call's number. 'syscalls': each syscall probe is a tracepoint program on a perf event per call
 * it serves (PERF_EVENT_IOC_SET_BPF), the perf events then held by the holder child.
 */
export function loadProbes(opts: NativeOptions, make: (k: KernelCtx) => Iterable<Probe>, prefix = PROG_PREFIX): NativeHandle | NativeLoadError {
  const p = prepare(opts, prefix);
  if ('error' in p) return p;
  const programs: ToLoad[] = [];
  try {
    for (const probe of make(p.k)) {
      const l = p.place(probe);
      if (l === null) continue;
      if ('error' in l) return p.fail(l.error);
      programs.push(l);
    }
  } catch (err) {
    return p.fail(`native probes: ${err instanceof Error ? err.message : String(err)}`);
  }
  const loads = programs.map((l): Loaded => {
    const r = progLoad(l.probe.insns, l.probe.name, l.type);
    if (typeof r === 'number') p.own(r);
    return { l, r, linked: false };
  });
  return p.finish(loads);
}

/** A load in steps around the verifier, every failure undoing everything made so far. */
interface Prepared {
  /** the maps made (the follow map filled), for building the probes */
  k: KernelCtx;
  /** the cache's probes for this kernel and build (placeholder maps), or null */
  cached: Probe[] | null;
  /** writes the cache (probes with placeholder maps), when it was asked for and missed */
  store(probes: readonly Probe[]): void;
  /** a built probe on this kernel's tracepoints (null: it has none here, it is left out) */
  place(probe: Probe): ToLoad | NativeLoadError | null;
  /** a loaded program's fd, closed with the rest on a failure */
  own(fd: number): void;
  /** a loaded program's own attachments (its raw tracepoint links, its perf events): null, or why they failed */
  link(l: ToLoad, fd: number): string | null;
  /** the rest once every program is loaded: a refusal's error, the attachments not made yet, the holder, the ring */
  finish(loads: Loaded[]): NativeHandle | NativeLoadError;
  fail(error: string): NativeLoadError;
}

function prepare(opts: NativeOptions, prefix: string, cache = false): NativeLoadError | Prepared {
  const t0 = performance.now();
  const attach = attachMode(opts.attach);
  if (typeof attach !== 'string') return attach;
  const dir = cache ? cacheDir() : null;
  const c: { key: string | null; hit: ReturnType<typeof readCache> } = { key: null, hit: null };
  if (dir !== null) {
    // the BTF's size names it in the key; its bytes are read only on a miss
    let size = -1;
    try { size = fs.statSync(opts.btf).size; } catch { /* read below, for its error */ }
    if (size >= 0) c.key = cacheKey(size, { attach, all: opts.follow === null });
    if (c.key !== null) c.hit = readCache(dir, c.key);
  }
  let offsets: Offsets | string | ReturnType<typeof withMappedFile<Offsets | string>>;
  if (c.hit !== null) offsets = c.hit.offsets;
  else {
    // mapped where the kernel allows it (one call), else read (sysfs gives a page per read)
    offsets = withMappedFile(opts.btf, kernelOffsets);
    if (typeof offsets === 'object' && (isFailed(offsets) || isUnavailable(offsets))) {
      let btf: Uint8Array;
      try { btf = fs.readFileSync(opts.btf); } catch (err) {
        return { error: `cannot read the kernel's BTF ${opts.btf}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
      }
      offsets = kernelOffsets(btf);
    }
  }
  if (typeof offsets === 'string') return { error: offsets };
  const off = offsets;

  // what was made, undone in reverse: the ring, links and perf events (they detach the programs), programs, program
  // array slots (a program array frees its programs only in deferred work once its fd is closed), maps
  const undo: Array<() => void> = [];
  const fds = { push: (fd: number): void => { undo.push(() => closeFd(fd)); } };
  const closeAll = (): void => { for (const f of undo.splice(0).reverse()) f(); };
  const fail = (error: string): NativeLoadError => { closeAll(); return { error }; };
  const made = (what: string, r: Made): number | string => {
    if (typeof r === 'number') { fds.push(r); return r; }
    return isUnavailable(r) ? r.unavailable : `${what}: ${r.failed}`;
  };
  // 'syscalls': the perf events, fdwatch's copies until the holder has them; then the holder, killed to detach
  const perf: number[] = [];
  let holder: ChildProcess | null = null;
  undo.push(() => {
    if (holder === null && perf.length > 0) {
      // a failed load's perf events too are closed by a holder (their own close would wait ~60 ms each)
      const h = spawnHolder(perf);
      if (typeof h !== 'string') holder = h;
    }
    for (const fd of perf.splice(0)) closeFd(fd);
    holder?.kill('SIGKILL');
  });

  const maps: Partial<Maps> = {};
  const ring = ringBytes(opts.follow === null);
  // hash maps allocate entries as they come (preallocating 65536 of each costs ms and MBs at every load)
  const mapSpecs: Array<[keyof Maps, number, number, number, number, number]> = [
    ['ring', BPF_MAP_TYPE_RINGBUF, 0, 0, ring, 0],
    ['follow', BPF_MAP_TYPE_HASH, 4, 1, MAP_ENTRIES, BPF_F_NO_PREALLOC],
    ['stash', BPF_MAP_TYPE_HASH, 4, STASH.size, MAP_ENTRIES, BPF_F_NO_PREALLOC],
    ['rx', BPF_MAP_TYPE_HASH, 4, 1, MAP_ENTRIES, BPF_F_NO_PREALLOC],
    ['dk', BPF_MAP_TYPE_LRU_HASH, 8, 8, MAP_ENTRIES, 0],
    ['lost', BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, 0],
  ];
  for (const [name, type, keySize, valueSize, maxEntries, flags] of mapSpecs) {
    const fd = made(`bpf map ${name}`, bpfMapCreate({ type, keySize, valueSize, maxEntries, flags, name: `fdw_${name}` }));
    if (typeof fd === 'string') return fail(fd);
    maps[name] = fd;
  }
  const m = maps as Maps;
  for (const pid of opts.follow ?? []) {
    const r = bpfMapUpdate(m.follow, new Uint8Array(new Uint32Array([pid]).buffer), new Uint8Array([1]));
    if (r !== true) return fail(`bpf map follow: ${isUnavailable(r) ? r.unavailable : r.failed}`);
  }
  const k: KernelCtx = { off, maps: m, all: opts.follow === null, self: opts.self, attach };
  const tracepoints = new Tracepoints(opts.tracefs, c.hit?.tracepoints ?? null);

  // raw tracepoints by their own name (tracefs category/name: name); per-call ones ('syscalls') by tracefs id
  const place = (probe: Probe): ToLoad | NativeLoadError | null => {
    const slots: Array<{ side: 'enter' | 'exit'; nr: number; tp: string }> = [];
    const raw: string[] = [];
    const ids: number[] = [];
    let syscall = false;
    for (const tp of probe.tracepoints) {
      const sys = /^syscalls\/sys_(enter|exit)_(\w+)$/.exec(tp);
      if (sys) syscall = true;
      if (!tracepoints.has(tp)) continue;
      if (sys && attach === 'syscalls') {
        const id = tracepoints.id(tp);
        if (id === null) return { error: `no tracepoint ${tp} under ${opts.tracefs}` };
        ids.push(id);
        continue;
      }
      if (sys) {
        const nr = SYSCALL_NR[sys[2]!];
        if (nr !== undefined) slots.push({ side: sys[1] as 'enter' | 'exit', nr, tp });
        continue;
      }
      raw.push(tp.slice(tp.indexOf('/') + 1));
    }
    if (syscall && raw.length > 0) return { error: `${probe.name}: both syscall and other tracepoints` };
    if (raw.length === 0 && slots.length === 0 && ids.length === 0) {
      if (probe.tracepoints.some((tp) => tp.startsWith('sched/'))) return { error: `${probe.name}: no tracepoint ${probe.tracepoints.join(', ')}` };
      return null;
    }
    return { probe, type: ids.length > 0 ? BPF_PROG_TYPE_TRACEPOINT : BPF_PROG_TYPE_RAW_TRACEPOINT, raw, ids, slots };
  };

  const link = (l: ToLoad, fd: number): string | null => {
    for (const tp of l.raw) {
      const lfd = made(`attaching ${l.probe.name} to raw tracepoint ${tp}`, bpfRawTracepointOpen(tp, fd));
      if (typeof lfd === 'string') return lfd;
    }
    for (const id of l.ids) {
      const pfd = bpfAttachTracepoint(id, fd);
      if (typeof pfd !== 'number') return isUnavailable(pfd) ? pfd.unavailable : `attaching ${l.probe.name} to tracepoint ${id}: ${pfd.failed}`;
      perf.push(pfd);
    }
    return null;
  };

  const store = (probes: readonly Probe[]): void => { if (dir !== null && c.key !== null && c.hit === null) writeCache(dir, c.key, off, probes, tracepoints.facts()); };
  return { k, cached: c.hit?.probes ?? null, store, place, own: (fd) => fds.push(fd), link, finish, fail };

  function finish(loads: Loaded[]): NativeHandle | NativeLoadError {
    const loaded: Array<ToLoad & { fd: number; linked: boolean }> = [];
    for (const { l, r, linked } of loads) {
      if (typeof r !== 'number') {
        if (isUnavailable(r)) return fail(r.unavailable);
        const last = r.log.trimEnd().split('\n').filter((x) => !/^(processed|verification time|stack depth)/.test(x)).pop() ?? '';
        return fail(`the kernel refused probe ${l.probe.name} (${r.failed}): ${last}`);
      }
      loaded.push({ ...l, fd: r, linked });
    }
    if (attach === 'raw') {
      // the syscall probes in their dispatchers' program arrays, the dispatchers attached last
      const taken = new Map<string, string>();
      const arrays: Record<'enter' | 'exit', number> = { enter: -1, exit: -1 };
      for (const side of ['enter', 'exit'] as const) {
        const fd = made(`bpf map ${side} programs`, bpfMapCreate({ type: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: SYSCALL_SLOTS, name: `fdw_${side}_pa` }));
        if (typeof fd === 'string') return fail(fd);
        arrays[side] = fd;
      }
      for (const l of loaded) {
        for (const s of l.slots) {
          const other = taken.get(s.tp);
          if (other !== undefined) return fail(`probes ${other} and ${l.probe.name} both handle ${s.tp}`);
          taken.set(s.tp, l.probe.name);
          const key = new Uint8Array(new Uint32Array([s.nr]).buffer);
          const array = arrays[s.side];
          const u = bpfMapUpdate(array, key, new Uint8Array(new Uint32Array([l.fd]).buffer));
          if (u !== true) return fail(`${l.probe.name} for ${s.tp}: ${isUnavailable(u) ? u.unavailable : u.failed}`);
          undo.push(() => { bpfMapDelete(array, key); });
        }
      }
      for (const side of ['exit', 'enter'] as const) {
        const name = `${prefix}sys_${side}`.slice(0, 15);
        const d = progLoad(dispatcher(arrays[side], side, off), name);
        if (typeof d !== 'number') return fail(`the kernel refused probe ${name}: ${isUnavailable(d) ? d.unavailable : d.failed}`);
        fds.push(d);
        loaded.push({ probe: { name, tracepoints: [`raw_syscalls/sys_${side}`], insns: new Uint8Array() }, type: BPF_PROG_TYPE_RAW_TRACEPOINT, fd: d, raw: [`sys_${side}`], ids: [], slots: [], linked: false });
      }
    }
    for (const l of loaded) {
      if (l.linked) continue;
      const why = link(l, l.fd);
      if (why !== null) return fail(why);
    }
    if (perf.length > 0) {
      const h = spawnHolder(perf);
      if (typeof h === 'string') return fail(h);
      holder = h;
      // not the perf events' last references now: these closes do not wait
      for (const fd of perf.splice(0)) closeFd(fd);
    }
    const r = bpfRingOpen(m.ring, ring);
    if (isUnavailable(r)) return fail(r.unavailable);
    if (isFailed(r)) return fail(r.failed);
    undo.push(() => r.close());
    const openRing: BpfRing = r;
    const cpus = possibleCpus();
    const lostKey = new Uint8Array(4);
    const lostValues = new Uint8Array(8 * cpus);
    const lostCounts = new BigUint64Array(lostValues.buffer);
    const followKey = new Uint8Array(4);
    let closed = false;
    return {
      ring: openRing,
      lost() {
        if (closed || bpfMapLookup(m.lost, lostKey, lostValues) !== true) return 0;
        let n = 0n;
        for (const x of lostCounts) n += x;
        return Number(n);
      },
      followsAny() {
        // an error (the map is gone) says nothing: as if one were alive, the trace ends as before
        return closed || opts.follow === null || bpfMapNextKey(m.follow, null, followKey) !== false;
      },
      close() {
        if (closed) return;
        closed = true;
        closeAll();
      },
      loadMs: performance.now() - t0,
    };
  }
}
