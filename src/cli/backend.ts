// The tracer of a live trace: eBPF or strace, chosen by --backend and --all, and eBPF's engine (native or bpftrace),
// chosen by --bpf-engine or FDWATCH_BPF_ENGINE (docs/bpf.md).
import type { FdwatchRecord, SummaryRecord } from '../model/records.js';
import type { LiveHandle, LiveOptions, LiveResult, LiveStatus } from '../live/trace.js';
import type { BpfEngine } from '../bpf/session.js';
import { LiveError, UsageError } from '../model/errors.js';

export type Backend = 'auto' | 'bpf' | 'strace';
export const BACKENDS: readonly Backend[] = ['auto', 'bpf', 'strace'];
export const BPF_ENGINES: readonly BpfEngine[] = ['auto', 'native', 'bpftrace'];

/** The eBPF engine asked for: `--bpf-engine`, else FDWATCH_BPF_ENGINE, else auto (native when it loads). */
export function askedEngine(flag: string | null, env: string | undefined = process.env['FDWATCH_BPF_ENGINE']): BpfEngine {
  const v = flag ?? (env === undefined || env === '' ? 'auto' : env);
  const e = BPF_ENGINES.find((x) => x === v);
  if (e === undefined) throw new UsageError(`${flag !== null ? '--bpf-engine' : 'FDWATCH_BPF_ENGINE'} must be one of ${BPF_ENGINES.join(', ')}, got ${v}`);
  return e;
}

/** The engine every eBPF session of this run takes (set once from the command line). */
let engine: BpfEngine = 'auto';
export function setBpfEngine(e: BpfEngine): void {
  engine = e;
}

/**
 * The tracer asked for, before this kernel is asked anything (`auto`: eBPF if it can); see chooseBackend. Unset:
 * eBPF for --all, else auto; but strace for a launch whose eBPF engine is bpftrace (--bpf-engine bpftrace), which
 * takes seconds to load its probes while the command waits.
 */
export function askedBackend(backend: Backend | undefined, all: boolean, launch: boolean, bpfEngine: BpfEngine = engine): Backend {
  return backend ?? (all ? 'bpf' : launch && bpfEngine === 'bpftrace' ? 'strace' : 'auto');
}

/**
 * What to trace with, and why: `auto` takes eBPF when this kernel allows it. Unset: auto for an attach (a running
 * daemon must not be stopped at every call) and for a launch (eBPF follows the command from its first instruction,
 * at a fraction of ptrace's cost; only through the native engine, which loads in well under a second: where it does
 * not load, strace, see startBackend), eBPF for --all.
 */
export function chooseBackend(backend: Backend | undefined, all: boolean, unavailable: () => string | null,
  launch = false): { use: 'bpf' | 'strace'; why: string | null } {
  const asked = askedBackend(backend, all, launch);
  if (all && asked === 'strace') throw new LiveError('--all needs the eBPF backend: drop --backend strace');
  if (asked === 'strace') return { use: 'strace', why: null };
  const missing = unavailable();
  if (asked === 'bpf' || all) {
    if (missing) throw new LiveError(missing);
    return { use: 'bpf', why: all && backend === undefined ? '--all' : `--backend ${asked}` };
  }
  return missing ? { use: 'strace', why: `eBPF unavailable: ${missing.replace(', or use --backend strace', '')}` } : { use: 'bpf', why: AVAILABLE };
}

/**
 * Starts the chosen tracer; the summary names it, and `note` (also sent as a status message) says which and why
 * whenever there was a choice. The eBPF backend's modules load only when it may be used; strace's always do.
 */
export async function startBackend(o: { backend?: Backend | undefined; all?: boolean | undefined }, live: LiveOptions): Promise<{ handle: LiveHandle; backend: 'bpf' | 'strace'; note: string | null }> {
  const all = o.all === true;
  const launch = live.command !== null && live.command.length > 0;
  const [bpfModule, { startLive }] = await Promise.all([
    askedBackend(o.backend, all, launch) === 'strace' ? null : import('../bpf/session.js'),
    import('../live/trace.js'),
  ]);
  const { use, why } = chooseBackend(o.backend, all, bpfModule ? () => bpfModule.bpfUnavailable({ engine }) : () => null, launch);
  const noteOf = (tracer: 'native' | 'bpftrace' | 'strace', reason: string | null): string | null => reason === null ? null
    : tracer === 'strace' ? `tracing with strace: ${reason}`
      // bpftrace takes seconds to compile and load its probes: the note says so until the session reports them live
      : tracer === 'bpftrace' ? `tracing with eBPF (bpftrace): ${reason}; starting: bpftrace compiles and loads its probes`
        : `tracing with eBPF (native engine): ${reason}`;
  let note = noteOf(use === 'strace' ? 'strace' : 'bpftrace', why);
  const recordAs = (tracer: 'bpf' | 'strace') => (r: FdwatchRecord): void => {
    if (r.type === 'summary') r.backend = tracer;
    live.onRecord(r);
  };
  const onRecord = recordAs(use);
  // said once the tracer took its arguments: a process that cannot be watched is the one line, not after the note
  const say = (): void => { if (note !== null) live.onStatus?.({ strace: 'starting', traced: 0, events: 0, commandExit: null, message: note }); };
  if (use === 'strace' || bpfModule === null) {
    const handle = startLive({ ...live, onRecord });
    say();
    return { handle, backend: use, note };
  }
  // auto: eBPF that fails before its probes are live (bpftrace refusing the program on this kernel, say) gives way
  // to strace, saying why; the failed session's summary is not the trace's
  const fallback = why === AVAILABLE && !all;
  // a launch's auto takes the native engine or strace: the command would wait seconds for bpftrace's probes
  const nativeOnly = fallback && launch && engine === 'auto';
  let probesLive = false;
  let stopped = false;
  /** the failed session's summary, held back (null: it did not fail before its probes were live) */
  let held: SummaryRecord | null = null;
  const bpfRecord = (r: FdwatchRecord): void => {
    // ended before its probes were live, and not by a stop: a failure (the session's result says which)
    if (r.type === 'summary' && fallback && !probesLive && !stopped) { held = r; return; }
    onRecord(r);
  };
  const bpfStatus = (s: LiveStatus): void => {
    if (s.strace === 'tracing') probesLive = true;
    live.onStatus?.(s);
  };
  if (live.started) throw new Error('startBackend: strace was started for an eBPF trace');
  let bpf: LiveHandle & { engine: 'native' | 'bpftrace' };
  try {
    bpf = await bpfModule.startBpf({
      pids: live.pids, command: live.command, all, onRecord: bpfRecord, onStatus: bpfStatus, engine: nativeOnly ? 'native' : engine,
      ...(live.commandOutput !== undefined ? { commandOutput: live.commandOutput } : {}),
    });
  } catch (e) {
    // auto, where neither engine can run (the native one did not load, bpftrace is not installed), or a launch's
    // where the native one did not: strace
    const native = nativeOnly && e instanceof bpfModule.NativeLoadFailed;
    if (!fallback || !(e instanceof bpfModule.NoEngineError || native)) throw e;
    note = noteOf('strace', native ? `${e.message} (a launch does not wait for bpftrace's seconds of start-up)` : `eBPF unavailable: ${e.message}`);
    const handle = startLive({ ...live, onRecord: recordAs('strace') });
    say();
    return { handle, backend: 'strace', note };
  }
  note = noteOf(bpf.engine, why);
  say();
  if (!fallback) return { handle: bpf, backend: use, note };
  let current: LiveHandle = bpf;
  const done = bpf.done.then((r): LiveResult | Promise<LiveResult> => {
    if (held === null) return r;
    if (r.error === null) { onRecord(held); return r; }
    const message = `eBPF failed before its probes were live (${r.error}): tracing with strace`;
    live.onStatus?.({ strace: 'starting', traced: 0, events: 0, commandExit: null, message, tracer: 'strace' });
    try {
      current = startLive({
        ...live,
        onRecord: recordAs('strace'),
        onStatus: (x) => live.onStatus?.({ ...x, tracer: 'strace' }),
      });
    } catch (e) {
      // strace cannot trace it either: both reasons, and the eBPF session's summary
      onRecord(held);
      return { ...r, error: `${r.error}; strace: ${e instanceof Error ? e.message : String(e)}` };
    }
    return current.done;
  });
  const handle: LiveHandle = {
    stop: (reason?: string) => { stopped = true; return current.stop(reason); },
    kill: () => { stopped = true; current.kill(); },
    commandPid: () => current.commandPid(),
    done,
  };
  return { handle, backend: use, note };
}

const AVAILABLE = 'eBPF is available';

