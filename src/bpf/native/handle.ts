// What the native eBPF engine's loader (./load.ts) hands the live session: the ring buffer of records
// (./format.ts) and the probes' lifetime. Types only.
import type { BpfRing } from '../../native/index.js';

export interface NativeOptions {
  /** thread groups followed with their future children; null: every process (--all) */
  follow: number[] | null;
  /** fdwatch's own pid: never traced */
  self: number;
  /** where tracefs is mounted (events/: which tracepoints this kernel has, and the per-call ones' ids) */
  tracefs: string;
  /** the kernel's BTF (/sys/kernel/btf/vmlinux): struct member offsets */
  btf: string;
  /** how the syscall probes attach (./load.ts's header): 'syscalls' per-call tracepoints, 'raw' raw_syscalls
   * dispatchers; FDWATCH_NATIVE_ATTACH=syscalls|raw overrides it; default ./load.ts's DEFAULT_ATTACH */
  attach?: 'syscalls' | 'raw';
}

export interface NativeHandle {
  /** records, per ./format.ts */
  readonly ring: BpfRing;
  /** records the probes could not write (the ring was full) since the load, summed over CPUs */
  lost(): number;
  /** every probe is attached once loadNative returns; close() detaches them all and frees the maps (also done by
   * the kernel when fdwatch exits, however it exits: the probes live only as long as their fds) */
  close(): void;
  /** whether a followed thread group is still alive: the follow map holds one (the fork probe adds each child, a
   * group's exit deletes it, before its parent can reap it); true when every process is followed (--all) */
  followsAny?(): boolean;
  /** milliseconds the load took (maps, verifier, attach) */
  readonly loadMs: number;
}

/** One line naming what is missing or what the kernel refused (a verifier log's last lines, an errno). */
export interface NativeLoadError {
  error: string;
}
