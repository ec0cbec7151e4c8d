// The native engine's cache (I/O edge): what a load derives from this kernel and this build of fdwatch alone, the
// BTF member offsets (./kernel.ts's kernelOffsets) and the assembled probes (./program.ts), so that a later load
// skips both (~35-100 ms of a cold start's CPU). Keyed on the kernel's identity (its release and version, and the
// size and SHA-256 of its BTF bytes) and on fdwatch's own (the SHA-256 of the modules that assemble the probes), the
// attach mode and the follow mode; --all is never cached (its probes carry fdwatch's pid). The probes are stored
// with placeholder map fds (PLACEHOLDER_MAPS), patched with the load's own maps (withMaps).
//
// One file per key, written whole to a temporary name and renamed (a reader sees an old file or a new one, never
// half of one). The programs it holds are loaded as root: it is read only from a directory that no one but fdwatch's
// user (or root) can write, up to /, and only when the file itself is this user's, written by no one else; anything
// unreadable, malformed, from another key, or with a map reference that is not a placeholder is ignored (the load
// then builds everything, and writes the file again). FDWATCH_CACHE=off disables it, FDWATCH_CACHE=DIR moves it
// (default: $XDG_CACHE_HOME/fdwatch, else ~/.cache/fdwatch).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Maps, Offsets, Probe } from './kernel.js';

/** bumped when the file's layout changes */
const FORMAT = 1;

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
/** SHA-256 of the modules that assemble the probes (null: one is unreadable, so nothing is cached) */
function buildIdentity(): string | null {
  if (build !== undefined) return build;
  try {
    const h = createHash('sha256');
    for (const m of BUILD_MODULES) h.update(fs.readFileSync(fileURLToPath(new URL(m, import.meta.url))));
    build = h.digest('hex');
  } catch {
    build = null;
  }
  return build;
}

/** The cache key of a load: the kernel (from its BTF bytes), fdwatch's build, and what the probes depend on. */
export function cacheKey(btf: Uint8Array, o: { attach: string; all: boolean }): string | null {
  if (o.all) return null;
  const b = buildIdentity();
  if (b === null) return null;
  const kernel = createHash('sha256').update(btf).digest('hex');
  return JSON.stringify({ format: FORMAT, release: os.release(), version: os.version(), arch: process.arch, btfSize: btf.byteLength, btf: kernel, build: b, attach: o.attach });
}

function fileOf(dir: string, key: string): string {
  return path.join(dir, `native-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
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

/** The cached offsets and probes of `key`, or null. */
export function readCache(dir: string, key: string): { offsets: Offsets; probes: Probe[] } | null {
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
    const v = JSON.parse(text) as { key?: unknown; offsets?: unknown; probes?: unknown };
    if (v.key !== key || typeof v.offsets !== 'object' || v.offsets === null || !Array.isArray(v.probes) || v.probes.length === 0) return null;
    const probes: Probe[] = [];
    for (const p of v.probes as Array<{ name?: unknown; tracepoints?: unknown; insns?: unknown }>) {
      if (typeof p.name !== 'string' || !Array.isArray(p.tracepoints) || !p.tracepoints.every((t) => typeof t === 'string') || typeof p.insns !== 'string') return null;
      const insns = new Uint8Array(Buffer.from(p.insns, 'base64'));
      if (insns.length === 0 || insns.length % 8 !== 0 || !placeholdersOnly(insns)) return null;
      probes.push({ name: p.name, tracepoints: p.tracepoints as string[], insns });
    }
    return { offsets: v.offsets as Offsets, probes };
  } catch {
    return null;
  }
}

/** Writes the cache of `key` (placeholder maps), whole or not at all; a failure is no error (the next load builds). */
export function writeCache(dir: string, key: string, offsets: Offsets, probes: readonly Probe[]): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(dir)) return;
    const file = fileOf(dir, key);
    const tmp = `${file}.${process.pid}.tmp`;
    const body = JSON.stringify({ key, offsets, probes: probes.map((p) => ({ name: p.name, tracepoints: p.tracepoints, insns: Buffer.from(p.insns).toString('base64') })) });
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
