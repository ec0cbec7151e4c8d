// The native engine's cache (src/bpf/native/cache.ts): probes assembled with placeholder maps and patched are the
// bytes of probes assembled with the real ones; a file is read back only under its own key (another boot, BTF size or
// attach mode is another), from a directory and a file no one else may write, with placeholder map references and
// well-formed tracepoint facts only; a new boot rewrites the same file; --all is never cached; FDWATCH_CACHE=off.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootId, cacheDir, cacheKey, PLACEHOLDER_MAPS, readCache, withMaps, writeCache } from '../../src/bpf/native/cache.js';
import { kernelOffsets, type KernelCtx, type Offsets } from '../../src/bpf/native/kernel.js';
import { nativeProbes, nativeProbesByCost } from '../../src/bpf/native/program.js';

const BTF = '/sys/kernel/btf/vmlinux';
const off = fs.existsSync(BTF) ? kernelOffsets(fs.readFileSync(BTF)) : null;
const REAL = { ring: 3, follow: 4, stash: 5, rx: 6, dk: 7, lost: 8 };

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-cache-'));
  fs.chmodSync(d, 0o700);
  return d;
}

test('probes built with the placeholder maps and patched are byte for byte the probes built with the real maps', () => {
  if (off === null || typeof off === 'string') { console.log(`  (skipped: ${off ?? 'no kernel BTF'})`); return; }
  for (const attach of ['raw', 'syscalls'] as const) {
    const k: KernelCtx = { off, maps: REAL, all: false, self: 1, attach };
    const real = nativeProbes(k);
    const patched = [...nativeProbesByCost({ ...k, maps: PLACEHOLDER_MAPS })].map((p) => withMaps(p, REAL));
    assert.is(patched.length, real.length);
    for (const r of real) {
      const p = patched.find((x) => x.name === r.name);
      assert.ok(p, r.name);
      assert.equal(p!.tracepoints, r.tracepoints, r.name);
      assert.ok(Buffer.compare(Buffer.from(p!.insns), Buffer.from(r.insns)) === 0, `${attach} ${r.name}: the same bytes`);
    }
  }
});

test('a written cache reads back under its key only; another key, a foreign map reference, a file or directory others may write: nothing', () => {
  if (off === null || typeof off === 'string') { console.log(`  (skipped: ${off ?? 'no kernel BTF'})`); return; }
  const dir = tmp();
  try {
    const boot = 'a1b2c3d4-0000-4000-8000-000000000001';
    const key = cacheKey(1234, { attach: 'syscalls', all: false, boot })!;
    assert.type(key, 'string');
    assert.is(cacheKey(1234, { attach: 'syscalls', all: true, boot }), null, '--all is never cached');
    assert.is(cacheKey(1234, { attach: 'syscalls', all: false, boot: null }), null, 'a boot that cannot be told: nothing cached');
    assert.is.not(cacheKey(1235, { attach: 'syscalls', all: false, boot }), key, 'another BTF, another key');
    assert.is.not(cacheKey(1234, { attach: 'raw', all: false, boot }), key, 'another attach mode, another key');
    const nextBoot = cacheKey(1234, { attach: 'syscalls', all: false, boot: boot.replace(/1$/, '2') })!;
    assert.is.not(nextBoot, key, 'another boot, another key');
    assert.match(bootId() ?? '', /^[0-9a-f-]{36}$/, "this machine's boot id");
    assert.is(bootId('/nonexistent/boot_id'), null);
    const probes = [...nativeProbesByCost({ off, maps: PLACEHOLDER_MAPS, all: false, self: 1, attach: 'syscalls' })];
    const facts = { has: { 'syscalls/sys_enter_close': true, 'syscalls/sys_enter_none': false }, ids: { 'syscalls/sys_enter_close': 42, 'syscalls/sys_enter_none': null } };
    assert.is(readCache(dir, key), null, 'nothing yet');
    writeCache(dir, key, off, probes, facts);
    const files = fs.readdirSync(dir);
    assert.is(files.length, 1, `one file, no temporary left: ${files.join(' ')}`);
    const file = path.join(dir, files[0]!);
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
    const back = readCache(dir, key);
    assert.ok(back, 'read back');
    assert.equal(back!.offsets as Offsets, off);
    assert.equal(back!.probes.map((p) => p.name), probes.map((p) => p.name));
    assert.ok(back!.probes.every((p, i) => Buffer.compare(Buffer.from(p.insns), Buffer.from(probes[i]!.insns)) === 0));
    assert.equal(back!.tracepoints, facts, 'the tracepoint facts');
    // the next boot's first load misses, and rewrites the same file
    assert.is(readCache(dir, nextBoot), null, 'another boot');
    writeCache(dir, nextBoot, off, probes, facts);
    assert.equal(fs.readdirSync(dir), files, 'the same file, rewritten');
    assert.ok(readCache(dir, nextBoot), 'under the new boot');
    assert.is(readCache(dir, key), null, 'not under the old one');
    writeCache(dir, key, off, probes, facts);
    const otherKey = cacheKey(9, { attach: 'syscalls', all: false, boot })!;
    // the same file name under another key (a collision, or a copy): its own key says it is not this one
    fs.copyFileSync(file, path.join(dir, path.basename(file).replace(/^native-[0-9a-f]+/, 'x')));
    assert.is(readCache(dir, otherKey), null, 'another key');

    fs.chmodSync(file, 0o622);
    assert.is(readCache(dir, key), null, 'a file others may write');
    fs.chmodSync(file, 0o600);
    fs.chmodSync(dir, 0o777);
    assert.is(readCache(dir, key), null, 'a directory others may write');
    fs.chmodSync(dir, 0o700);
    assert.ok(readCache(dir, key), 'again once only its user may write');

    // a map reference that is no placeholder (a real fd, say): the file is not used
    const v = JSON.parse(fs.readFileSync(file, 'latin1')) as { probes: Array<{ insns: string }> };
    const insns = Buffer.from(v.probes[0]!.insns, 'base64');
    for (let at = 0; at + 16 <= insns.length; at += 8) {
      if (insns[at] === 0x18 && insns[at + 1]! >> 4 === 1) { insns.writeInt32LE(5, at + 4); break; }
    }
    v.probes[0]!.insns = insns.toString('base64');
    fs.writeFileSync(file, JSON.stringify(v));
    assert.is(readCache(dir, key), null, 'a foreign map reference');
    writeCache(dir, key, off, probes, facts);
    const w = JSON.parse(fs.readFileSync(file, 'latin1')) as { tracepoints: { ids: Record<string, unknown> } };
    w.tracepoints.ids['syscalls/sys_enter_close'] = -1;
    fs.writeFileSync(file, JSON.stringify(w));
    assert.is(readCache(dir, key), null, 'a tracepoint id that is none');
    fs.writeFileSync(file, '{"key":');
    assert.is(readCache(dir, key), null, 'a torn file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('FDWATCH_CACHE: off, a directory, else XDG_CACHE_HOME or ~/.cache', () => {
  assert.is(cacheDir({ FDWATCH_CACHE: 'off' }), null);
  assert.is(cacheDir({ FDWATCH_CACHE: '/x/y' }), '/x/y');
  assert.is(cacheDir({ XDG_CACHE_HOME: '/c' }), '/c/fdwatch');
  assert.is(cacheDir({ HOME: '/h' }), '/h/.cache/fdwatch');
});

test.run();
