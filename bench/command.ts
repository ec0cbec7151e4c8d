// How the benches run fdwatch: as a user does, through bin/fdwatch (the command npm links: sh that execs node without
// NODE_EXTRA_CA_CERTS, with MALLOC_ARENA_MAX=1). A node baseline (bare line splitting) runs on the same footing.
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

