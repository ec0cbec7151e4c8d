// The native eBPF engine's loader (I/O edge): maps, programs (./program.ts), tracepoint attachment, the ring.
// All or nothing: on any failure everything made so far is closed (no map, program or perf event outlives it).
import fs from 'node:fs';
import path from 'node:path';
import {
  bpfAttachTracepoint, bpfMapCreate, bpfMapLookup, bpfMapUpdate, bpfProgLoad, bpfRingOpen, closeFd, isFailed, isUnavailable,
  type BpfRing,
} from '../../native/index.js';
import { parseFormat } from '../program.js';
import { RING_BYTES } from './format.js';
import type { NativeHandle, NativeLoadError, NativeOptions } from './handle.js';
import { kernelOffsets, STASH, type KernelCtx, type Maps, type Probe } from './kernel.js';
import { nativeProbes } from './program.js';

/** entries of the per-thread and per-process maps, and of the dentry-name cache (the text program's BPFTRACE_MAP_KEYS_MAX) */
export const MAP_ENTRIES = 65536;
const BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_PERCPU_ARRAY = 6, BPF_MAP_TYPE_LRU_HASH = 9, BPF_MAP_TYPE_RINGBUF = 27;
const BPF_PROG_TYPE_TRACEPOINT = 5;

type Made = number | { unavailable: string } | { failed: string };

/** CPUs the kernel may run a probe on (/sys/devices/system/cpu/possible, e.g. "0-3"): a per-CPU map's values. */
function possibleCpus(): number {
  try {
    const text = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let n = 0;
    for (const r of text.split(',')) {
      const [lo, hi] = r.split('-').map(Number);
      n = Math.max(n, (hi ?? lo ?? 0) + 1);
    }
    return n || 1;
  } catch {
    return 1;
  }
}

/** The sched tracepoints' field offsets (tracefs format), or a line naming what is missing. */
function schedOffsets(tracefs: string): KernelCtx['sched'] | string {
  const field = (event: string, name: string): number | string => {
    const file = path.join(tracefs, 'events', 'sched', event, 'format');
    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch { return `no tracepoint sched:${event} (${file})`; }
    return parseFormat(text).offsets.get(name) ?? `no field ${name} in ${file}`;
  };
  const forkChild = field('sched_process_fork', 'child_pid');
  const execFilename = field('sched_process_exec', 'filename');
  const execOldPid = field('sched_process_exec', 'old_pid');
  for (const v of [forkChild, execFilename, execOldPid]) if (typeof v === 'string') return v;
  return { forkChild: forkChild as number, execFilename: execFilename as number, execOldPid: execOldPid as number };
}

/** A tracepoint's id (tracefs events/CATEGORY/NAME/id), null when this kernel lacks it. */
function tracepointId(tracefs: string, tp: string): number | null {
  try {
    const id = Number(fs.readFileSync(path.join(tracefs, 'events', tp, 'id'), 'utf8'));
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

/** A syscall's tracepoints are used only when the kernel has both its enter and exit (session.ts's rule). */
function usable(tracefs: string, tp: string, ids: Map<string, number | null>): number | null {
  const get = (t: string): number | null => {
    let id = ids.get(t);
    if (id === undefined) ids.set(t, (id = tracepointId(tracefs, t)));
    return id;
  };
  const m = /^syscalls\/sys_(enter|exit)_(\w+)$/.exec(tp);
  if (m && (get(`syscalls/sys_enter_${m[2]}`) === null || get(`syscalls/sys_exit_${m[2]}`) === null)) return null;
  return get(tp);
}

/** Loads the native engine with the probes of ./program.ts. */
export function loadNative(opts: NativeOptions): NativeHandle | NativeLoadError {
  return loadProbes(opts, nativeProbes);
}

/** Loads the probes `make` builds (tests hand in a probe the verifier refuses, to see nothing is left behind). */
export function loadProbes(opts: NativeOptions, make: (k: KernelCtx) => Probe[]): NativeHandle | NativeLoadError {
  const t0 = performance.now();
  let btf: Uint8Array;
  try { btf = fs.readFileSync(opts.btf); } catch (err) {
    return { error: `cannot read the kernel's BTF ${opts.btf}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const off = kernelOffsets(btf);
  if (typeof off === 'string') return { error: off };
  const sched = schedOffsets(opts.tracefs);
  if (typeof sched === 'string') return { error: sched };

  const fds: number[] = [];
  let ring: BpfRing | null = null;
  const closeAll = (): void => {
    ring?.close();
    ring = null;
    // perf events first (they detach the programs), then programs, then maps
    for (const fd of fds.splice(0).reverse()) closeFd(fd);
  };
  const fail = (error: string): NativeLoadError => { closeAll(); return { error }; };
  const made = (what: string, r: Made): number | string => {
    if (typeof r === 'number') { fds.push(r); return r; }
    return `${what}: ${isUnavailable(r) ? r.unavailable : r.failed}`;
  };

  const maps: Partial<Maps> = {};
  const mapSpecs: Array<[keyof Maps, number, number, number, number]> = [
    ['ring', BPF_MAP_TYPE_RINGBUF, 0, 0, RING_BYTES],
    ['follow', BPF_MAP_TYPE_HASH, 4, 1, MAP_ENTRIES],
    ['stash', BPF_MAP_TYPE_HASH, 4, STASH.size, MAP_ENTRIES],
    ['rx', BPF_MAP_TYPE_HASH, 4, 1, MAP_ENTRIES],
    ['dk', BPF_MAP_TYPE_LRU_HASH, 8, 8, MAP_ENTRIES],
    ['lost', BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1],
  ];
  for (const [name, type, keySize, valueSize, maxEntries] of mapSpecs) {
    const fd = made(`bpf map ${name}`, bpfMapCreate({ type, keySize, valueSize, maxEntries, name: `fdw_${name}` }));
    if (typeof fd === 'string') return fail(fd);
    maps[name] = fd;
  }
  const m = maps as Maps;
  for (const pid of opts.follow ?? []) {
    const r = bpfMapUpdate(m.follow, new Uint8Array(new Uint32Array([pid]).buffer), new Uint8Array([1]));
    if (r !== true) return fail(`bpf map follow: ${isUnavailable(r) ? r.unavailable : r.failed}`);
  }
  const k: KernelCtx = { off, maps: m, all: opts.follow === null, self: opts.self, sched };

  let probes: Probe[];
  try { probes = make(k); } catch (err) { return fail(`native probes: ${err instanceof Error ? err.message : String(err)}`); }
  const ids = new Map<string, number | null>();
  const loaded: Array<{ probe: Probe; fd: number; ids: number[] }> = [];
  for (const probe of probes) {
    const tps = probe.tracepoints.map((tp) => usable(opts.tracefs, tp, ids)).filter((id): id is number => id !== null);
    if (tps.length === 0) {
      if (probe.tracepoints.some((tp) => tp.startsWith('sched/'))) return fail(`${probe.name}: no tracepoint ${probe.tracepoints.join(', ')}`);
      continue;
    }
    const r = bpfProgLoad({ type: BPF_PROG_TYPE_TRACEPOINT, insns: probe.insns, name: probe.name });
    if (typeof r !== 'number') {
      if (isUnavailable(r)) return fail(r.unavailable);
      const last = r.log.trimEnd().split('\n').filter((l) => !/^(processed|verification time|stack depth)/.test(l)).pop() ?? '';
      return fail(`the kernel refused probe ${probe.name} (${r.failed}): ${last}`);
    }
    fds.push(r);
    loaded.push({ probe, fd: r, ids: tps });
  }
  for (const l of loaded) {
    for (const id of l.ids) {
      const fd = made(`attaching ${l.probe.name} to tracepoint ${id}`, bpfAttachTracepoint(id, l.fd));
      if (typeof fd === 'string') return fail(fd);
    }
  }
  const r = bpfRingOpen(m.ring, RING_BYTES);
  if (isUnavailable(r)) return fail(r.unavailable);
  if (isFailed(r)) return fail(r.failed);
  ring = r;
  const openRing: BpfRing = r;
  const cpus = possibleCpus();
  const lostKey = new Uint8Array(4);
  const lostValues = new Uint8Array(8 * cpus);
  let closed = false;
  return {
    ring: openRing,
    lost() {
      if (closed || bpfMapLookup(m.lost, lostKey, lostValues) !== true) return 0;
      const v = new BigUint64Array(lostValues.buffer);
      let n = 0n;
      for (const x of v) n += x;
      return Number(n);
    },
    close() {
      if (closed) return;
      closed = true;
      closeAll();
    },
    loadMs: performance.now() - t0,
  };
}
