// How the benches run fdwatch: as a user does, through bin/fdwatch (the command npm links: sh that execs node without
// NODE_EXTRA_CA_CERTS, with MALLOC_ARENA_MAX=1). A node baseline (bare line splitting) runs on the same footing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** bin/fdwatch; FDWATCH_BENCH_BIN=/other/build/bin/fdwatch[.js] runs another build (a .js under node). */
export const FDWATCH_BIN = process.env['FDWATCH_BENCH_BIN'] ?? path.join(root, 'bin', 'fdwatch');

/** The file and argv that run `fdwatch ARGS` (`bin`: another build's bin/fdwatch or bin/fdwatch.js). */
export function fdwatchCommand(args: string[], bin: string = FDWATCH_BIN): [string, string[]] {
  return bin.endsWith('.js') ? [process.execPath, [bin, ...args]] : [bin, args];
}

/** The environment of a node baseline: this one without NODE_EXTRA_CA_CERTS and with one malloc arena (where none
 * was chosen), as bin/fdwatch runs its node. */
export function nodeBaselineEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  env['MALLOC_ARENA_MAX'] ??= '1';
  return env;
}

/** The BPF programs the kernel holds now: its `[bpf]` symbols in /proc/kallsyms (0 where they cannot be read). */
export function bpfPrograms(): number {
  let t: string;
  try { t = fs.readFileSync('/proc/kallsyms', 'latin1'); } catch { return 0; }
  let n = 0;
  for (let i = t.indexOf('\t[bpf]'); i >= 0; i = t.indexOf('\t[bpf]', i + 6)) n++;
  return n;
}

let bpfBase: number | null = null;

/**
 * Waits until the kernel has released the programs of the eBPF runs before (at most `maxMs`); resolves to the ms
 * waited. The kernel lets go of a run's tracepoint perf events some seconds after it exits (one RCU grace period
 * for each tracepoint, one after another, no CPU used), and an attach waits behind that: a run started right after
 * another pays it at start-up (50-60 ms more for 93 attaches), which a user's first run does not. Timed eBPF runs
 * start from a settled kernel. The first call learns the host's own count (programs of other software): what it
 * drains to within `maxMs`.
 */
export async function bpfSettled(maxMs = 15000): Promise<number> {
  const t0 = Date.now();
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  if (bpfBase === null) {
    let n = bpfPrograms();
    while (n > 0 && Date.now() - t0 < maxMs) { await sleep(250); n = bpfPrograms(); }
    bpfBase = n;
    return Date.now() - t0;
  }
  while (bpfPrograms() > bpfBase && Date.now() - t0 < maxMs) await sleep(250);
  return Date.now() - t0;
}
