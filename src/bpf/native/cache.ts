// The native engine's cache (I/O edge): what a load derives from this kernel and this build of fdwatch alone, the
// BTF member offsets (./kernel.ts's kernelOffsets), the assembled probes (./program.ts) and what tracefs said of
// their tracepoints (ids, which exist), so that a later load skips all three (~35-100 ms of a cold start's CPU) and
// never reads the BTF. Keyed on the running kernel (its release, version and BTF size, and the boot: within one boot
// its BTF and its tracepoint ids cannot change, and no hash of the BTF's 5 MB is needed) and on fdwatch's own build
// (the size and modification time of the modules that assemble the probes), the attach mode and the follow mode;
// --all is never cached (its probes carry fdwatch's pid). The probes are stored with placeholder map fds
// (PLACEHOLDER_MAPS), patched with the load's own maps (withMaps). The file's name leaves the boot out: the first
// load after a boot rewrites the same file.
//
// One file per key, written whole to a temporary name and renamed (a reader sees an old file or a new one, never
// half of one). The programs it holds are loaded as root: it is read only from a directory that no one but fdwatch's
// user (or root) can write, up to /, and only when the file itself is this user's, written by no one else; anything
// unreadable, malformed, from another key, or with a map reference that is not a placeholder is ignored (the load
// then builds everything, and writes the file again). FDWATCH_CACHE=off disables it, FDWATCH_CACHE=DIR moves it
// (default: $XDG_CACHE_HOME/fdwatch, else ~/.cache/fdwatch).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Maps, Offsets, Probe } from './kernel.js';

/** bumped when the file's layout changes */
const FORMAT = 2;

/** map "fds" the cached probes are assembled with: far above any real fd, one per map */
export const PLACEHOLDER_MAPS: Readonly<Maps> = { ring: 0x7ffff100, follow: 0x7ffff101, stash: 0x7ffff102, rx: 0x7ffff103, dk: 0x7ffff104, lost: 0x7ffff105 };
const MAP_NAMES = Object.keys(PLACEHOLDER_MAPS) as Array<keyof Maps>;

/** the modules whose code decides the probes' bytes (relative to this one, in dist/ as in src/) */
const BUILD_MODULES = [
  './cache.js', './kernel.js', './program.js', './messages.js', './format.js', './load.js',
  '../asm.js', '../btf.js', '../program.js', '../../model/syscalls.js', '../../model/kernel.js',
];

/** Where the cache lives (null: off). */
export function cacheDir(env = process.env): string | null {
  const v = env['FDWATCH_CACHE'];
  if (v === 'off') return null;
  if (v !== undefined && v !== '') return path.resolve(v);
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'fdwatch');
  const home = env['HOME'] || os.homedir();
  return home ? path.join(home, '.cache', 'fdwatch') : null;
}

let build: string | null | undefined;
/** The modules that assemble the probes, each as size and modification time in ns (null: one cannot be read, so
 * nothing is cached). A rebuild writes them anew: another key. */
function buildIdentity(): string | null {
  if (build !== undefined) return build;
  try {
    build = BUILD_MODULES.map((m) => {
      const st = fs.statSync(fileURLToPath(new URL(m, import.meta.url)), { bigint: true });
      return `${st.size}:${st.mtimeNs}`;
    }).join(' ');
  } catch {
    build = null;
  }
  return build;
}

/** This boot of the kernel (a UUID the kernel makes at boot), or null. */
export function bootId(file = '/proc/sys/kernel/random/boot_id'): string | null {
  try {
    const id = fs.readFileSync(file, 'latin1').trim();
    return /^[0-9a-f-]{16,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * The cache key of a load: the running kernel (release, version, its BTF's size, this boot), fdwatch's build, and
 * what the probes depend on; null where nothing is cached (--all, a boot or build that cannot be told).
 */
export function cacheKey(btfSize: number, o: { attach: string; all: boolean; boot?: string | null }): string | null {
  if (o.all) return null;
  const b = buildIdentity();
  const boot = o.boot !== undefined ? o.boot : bootId();
  if (b === null || boot === null) return null;
  return JSON.stringify({ format: FORMAT, release: os.release(), version: os.version(), arch: process.arch, btfSize, build: b, attach: o.attach, boot });
}

/** FNV-1a, 32 bits, of a string's UTF-16 code units, from `h`: a file name, not a defence (the key inside is checked). */
function fnv(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The key's file: named after the key without its boot, so that each boot's first load rewrites the same file. */
function fileOf(dir: string, key: string): string {
  const stable = key.replace(/,"boot":"[^"]*"/, '');
  const name = fnv(stable).toString(16).padStart(8, '0') + fnv(stable, 0x2f8a6b1d).toString(16).padStart(8, '0');
  return path.join(dir, `native-${name}.json`);
}

/** What tracefs said of the tracepoints a load asked about: which exist, and their ids (for a per-call perf event). */
export interface TracepointFacts {
  has: Record<string, boolean>;
  ids: Record<string, number | null>;
}

/** No one but this user (or root) may change `dir` or any directory above it (a sticky one above it is fine). */
function trusted(dir: string): boolean {
  const uid = process.geteuid?.() ?? -1;
  let p: string;
  try { p = fs.realpathSync(dir); } catch { return false; }
  for (let first = true; ; first = false) {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch { return false; }
    if (!st.isDirectory() || (st.uid !== uid && st.uid !== 0)) return false;
    if ((st.mode & 0o022) !== 0 && (first || (st.mode & 0o1000) === 0)) return false;
    const up = path.dirname(p);
    if (up === p) return true;
    p = up;
  }
}

/** The cached offsets, probes and tracepoint facts of `key`, or null. */
export function readCache(dir: string, key: string): { offsets: Offsets; probes: Probe[]; tracepoints: TracepointFacts } | null {
  if (!trusted(dir)) return null;
  let text: string;
  try {
    const fd = fs.openSync(fileOf(dir, key), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.uid !== (process.geteuid?.() ?? -1) || (st.mode & 0o022) !== 0 || st.size > 4 << 20) return null;
      text = fs.readFileSync(fd, 'latin1');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as { key?: unknown; offsets?: unknown; probes?: unknown; tracepoints?: unknown };
    if (v.key !== key || typeof v.offsets !== 'object' || v.offsets === null || !Array.isArray(v.probes) || v.probes.length === 0) return null;
    const tracepoints = tracepointFacts(v.tracepoints);
    if (tracepoints === null) return null;
    const probes: Probe[] = [];
    for (const p of v.probes as Array<{ name?: unknown; tracepoints?: unknown; insns?: unknown }>) {
      if (typeof p.name !== 'string' || !Array.isArray(p.tracepoints) || !p.tracepoints.every((t) => typeof t === 'string') || typeof p.insns !== 'string') return null;
      const insns = new Uint8Array(Buffer.from(p.insns, 'base64'));
      if (insns.length === 0 || insns.length % 8 !== 0 || !placeholdersOnly(insns)) return null;
      probes.push({ name: p.name, tracepoints: p.tracepoints as string[], insns });
    }
    return { offsets: v.offsets as Offsets, probes, tracepoints };
  } catch {
    return null;
  }
}

/** A file's tracepoint facts, checked: booleans, and ids that are positive whole numbers or null. */
function tracepointFacts(v: unknown): TracepointFacts | null {
  if (typeof v !== 'object' || v === null) return null;
  const { has, ids } = v as { has?: unknown; ids?: unknown };
  if (typeof has !== 'object' || has === null || typeof ids !== 'object' || ids === null) return null;
  if (!Object.values(has).every((x) => typeof x === 'boolean')) return null;
  if (!Object.values(ids).every((x) => x === null || (Number.isInteger(x) && (x as number) > 0))) return null;
  return { has: { ...has } as Record<string, boolean>, ids: { ...ids } as Record<string, number | null> };
}

/** Writes the cache of `key` (placeholder maps), whole or not at all; a failure is no error (the next load builds). */
export function writeCache(dir: string, key: string, offsets: Offsets, probes: readonly Probe[], tracepoints: TracepointFacts): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(dir)) return;
    const file = fileOf(dir, key);
    const tmp = `${file}.${process.pid}.tmp`;
    const body = JSON.stringify({ key, offsets, tracepoints, probes: probes.map((p) => ({ name: p.name, tracepoints: p.tracepoints, insns: Buffer.from(p.insns).toString('base64') })) });
    try {
      fs.writeFileSync(tmp, body, { mode: 0o600, flag: 'wx' });
      fs.renameSync(tmp, file);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  } catch { /* no cache */ }
}

const LD_IMM64 = 0x18, PSEUDO_MAP_FD = 1;

/** every map reference (ld_imm64 of a map fd) names a placeholder */
function placeholdersOnly(insns: Uint8Array): boolean {
  const v = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (let at = 0; at + 16 <= insns.length; at += 8) {
    if (insns[at] !== LD_IMM64) continue;
    if (insns[at + 1]! >> 4 === PSEUDO_MAP_FD && !MAP_NAMES.some((n) => PLACEHOLDER_MAPS[n] === v.getInt32(at + 4, true))) return false;
    at += 8;
  }
  return true;
}

/** A copy of a probe assembled with PLACEHOLDER_MAPS that refers to `maps` instead. */
export function withMaps(p: Probe, maps: Maps): Probe {
  const insns = p.insns.slice();
  const v = new DataView(insns.buffer);
  for (let at = 0; at + 16 <= insns.length; at += 8) {
    if (insns[at] !== LD_IMM64) continue;
    if (insns[at + 1]! >> 4 === PSEUDO_MAP_FD) {
      const ph = v.getInt32(at + 4, true);
      const name = MAP_NAMES.find((n) => PLACEHOLDER_MAPS[n] === ph);
      if (name === undefined) throw new Error(`probe ${p.name}: map reference ${ph} is not a placeholder`);
      v.setInt32(at + 4, maps[name], true);
    }
    at += 8;
  }
  return { name: p.name, tracepoints: p.tracepoints, insns };
}
