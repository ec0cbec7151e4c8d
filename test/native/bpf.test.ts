// The bpf(2) layer against the live kernel: a program assembled here, loaded, attached to the raw tracepoint
// sys_enter (BPF_RAW_TRACEPOINT_OPEN) or through a perf event to syscalls:sys_enter_getppid, its ring buffer read
// in place; closing its fds leaves nothing attached.
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Asm, HELPER, R0, R1, R2, R3, R6, R7 } from '../../src/bpf/asm.js';
import { bpfAttachTracepoint, bpfMapCreate, bpfMapLookup, bpfMapUpdate, bpfProgLoad, bpfProgramNames, bpfRawTracepointOpen, bpfRingOpen, closeFd, isFailed, isUnavailable, withMappedFile, bpfMapNextKey } from '../../src/native/index.js';

const TP = '/sys/kernel/tracing/events/raw_syscalls/sys_enter/id';
const why = process.getuid?.() !== 0 ? 'not root' : !fs.existsSync(TP) ? 'no raw_syscalls tracepoints' : process.arch !== 'x64' ? 'not x86-64' : null;
const BPF_PROG_TYPE_RAW_TRACEPOINT = 17;
/** getppid(2)'s x86-64 number */
const NR_GETPPID = 110;

function fd(x: number | { failed: string } | { unavailable: string }): number {
  if (typeof x !== 'number') throw new Error(`expected an fd, got ${JSON.stringify(x)}`);
  return x;
}

/**
 * getppid's records: (kernel ns, pid_tgid) of every call this process makes, read from the ring (raw: ctx u64
 * args[], args[1] the syscall's number; a per-call tracepoint's ctx: +8 int __syscall_nr)
 */
function program(ring: number, ctx: 'raw' | 'tracepoint' = 'raw'): Uint8Array {
  const a = new Asm();
  a.mov(R6, R1);
  a.ldx(ctx === 'raw' ? 8 : 4, R1, R6, 8).jnei(R1, NR_GETPPID, 'out');
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32);
  a.jnei(R0, process.pid, 'out');
  a.ldMap(R1, ring).movi(R2, 16).movi(R3, 0).call(HELPER.ringbuf_reserve);
  a.jeqi(R0, 0, 'out');
  a.mov(R7, R0);
  a.call(HELPER.ktime_get_ns).stx(8, R7, 0, R0);
  a.call(HELPER.get_current_pid_tgid).stx(8, R7, 8, R0);
  a.mov(R1, R7).movi(R2, 0).call(HELPER.ringbuf_submit);
  a.label('out').movi(R0, 0).exit();
  return a.assemble();
}

test('a raw tracepoint program on sys_enter writes one ring record per getppid call; closed, it is gone', async () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const size = 1 << 16;
  const ring = fd(bpfMapCreate({ type: 27, keySize: 0, valueSize: 0, maxEntries: size, name: 'fdw_test_rb' }));
  const prog = fd(bpfProgLoad({ type: BPF_PROG_TYPE_RAW_TRACEPOINT, insns: program(ring), name: 'fdw_test_prog' }));
  const link = fd(bpfRawTracepointOpen('sys_enter', prog));
  assert.match(fs.readlinkSync(`/proc/self/fd/${link}`), /bpf[-_]link/);
  const r = bpfRingOpen(ring, size);
  if (isUnavailable(r) || isFailed(r)) throw new Error(JSON.stringify(r));
  const before = process.hrtime.bigint();
  for (let i = 0; i < 7; i++) void process.ppid;
  const seen: Array<{ ns: bigint; tid: number }> = [];
  r.drain((d, off, len) => {
    assert.is(len, 16);
    seen.push({ ns: d.getBigUint64(off, true), tid: Number(d.getBigUint64(off + 8, true) & 0xffffffffn) });
  });
  assert.is(seen.length, 7);
  for (const s of seen) { assert.is(s.tid, process.pid); assert.ok(s.ns >= before); }
  assert.is(r.pending(), 0);
  assert.ok((bpfProgramNames() as string[]).includes('fdw_test_prog'));
  closeFd(link);
  closeFd(prog);
  void process.ppid;
  assert.is(r.drain(() => undefined), 0, 'no record once detached');
  r.close();
  closeFd(ring);
  // the link's release detached it at close; the kernel frees the program after an RCU grace period (polled)
  const t0 = Date.now();
  while ((bpfProgramNames() as string[]).includes('fdw_test_prog') && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 10));
  assert.not.ok((bpfProgramNames() as string[]).includes('fdw_test_prog'), 'the program is unloaded');
});

test('a tracepoint program on syscalls:sys_enter_getppid through a perf event (bpfAttachTracepoint): one record per call; closed, it is gone', async () => {
  const id = '/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id';
  if (why || !fs.existsSync(id)) { console.log(`  (skipped: ${why ?? 'no syscall tracepoints'})`); return; }
  const size = 1 << 16;
  const ring = fd(bpfMapCreate({ type: 27, keySize: 0, valueSize: 0, maxEntries: size, name: 'fdw_test_rb' }));
  const prog = fd(bpfProgLoad({ type: 5, insns: program(ring, 'tracepoint'), name: 'fdw_test_tp' }));
  const perf = fd(bpfAttachTracepoint(Number(fs.readFileSync(id, 'utf8')), prog));
  assert.match(fs.readlinkSync(`/proc/self/fd/${perf}`), /perf_event/);
  const r = bpfRingOpen(ring, size);
  if (isUnavailable(r) || isFailed(r)) throw new Error(JSON.stringify(r));
  for (let i = 0; i < 5; i++) void process.ppid;
  let n = 0;
  r.drain((d, off) => { assert.is(Number(d.getBigUint64(off + 8, true) & 0xffffffffn), process.pid); n++; });
  assert.is(n, 5);
  closeFd(perf);
  closeFd(prog);
  void process.ppid;
  assert.is(r.drain(() => undefined), 0, 'no record once detached');
  r.close();
  closeFd(ring);
  const t0 = Date.now();
  while ((bpfProgramNames() as string[]).includes('fdw_test_tp') && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 10));
  assert.not.ok((bpfProgramNames() as string[]).includes('fdw_test_tp'), 'the program is unloaded');
});

test('the verifier\'s refusal comes back with its log', () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const a = new Asm();
  a.ldx(8, R0, R2, 0).exit(); // r2 is not initialized
  const r = bpfProgLoad({ type: 5, insns: a.assemble(), name: 'fdw_test_bad' });
  assert.ok(isFailed(r), JSON.stringify(r));
  assert.match((r as { log: string }).log, /R2 !read_ok/);
});

test('withMappedFile: the bytes read(2) gives (a file, the kernel\'s BTF from sysfs), unmapped after; a missing file is Failed', () => {
  const dir = fs.mkdtempSync('/tmp/fdwatch-map-');
  try {
    const file = `${dir}/f`;
    const bytes = Buffer.from(Array.from({ length: 10000 }, (_, i) => i % 251));
    fs.writeFileSync(file, bytes);
    const r = withMappedFile(file, (b) => Buffer.from(b).equals(bytes));
    if (isUnavailable(r)) { console.log(`  (skipped: ${r.unavailable})`); return; }
    assert.is(r, true);
    assert.ok(isFailed(withMappedFile(`${dir}/none`, () => 1)));
    const btf = '/sys/kernel/btf/vmlinux';
    if (fs.existsSync(btf)) {
      const m = withMappedFile(btf, (b) => Buffer.from(b).equals(fs.readFileSync(btf)));
      // an older kernel's sysfs does not map it (load.ts reads it then)
      if (!isFailed(m)) assert.is(m, true);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hash map next key: the keys one after the other, then none; none in an empty map', () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const m = fd(bpfMapCreate({ type: 1, keySize: 4, valueSize: 1, maxEntries: 16, name: 'fdw_test_nk' }));
  const next = new Uint8Array(4);
  assert.is(bpfMapNextKey(m, null, next), false);
  for (const k of [5, 9]) assert.is(bpfMapUpdate(m, new Uint8Array(new Uint32Array([k]).buffer), new Uint8Array([1])), true);
  const seen: number[] = [];
  let key: Uint8Array | null = null;
  while (bpfMapNextKey(m, key, next) === true) { seen.push(new Uint32Array(next.buffer.slice(0))[0]!); key = Uint8Array.from(next); }
  assert.equal(seen.sort((x, y) => x - y), [5, 9]);
  closeFd(m);
});

test('hash map update and lookup', () => {
  if (why) { console.log(`  (skipped: ${why})`); return; }
  const m = fd(bpfMapCreate({ type: 1, keySize: 4, valueSize: 8, maxEntries: 16, name: 'fdw_test_h' }));
  const k = new Uint8Array(new Uint32Array([42]).buffer);
  const v = new Uint8Array(new BigUint64Array([7n]).buffer);
  assert.is(bpfMapUpdate(m, k, v), true);
  const out = new Uint8Array(8);
  assert.is(bpfMapLookup(m, k, out), true);
  assert.is(new BigUint64Array(out.buffer)[0], 7n);
  assert.is(bpfMapLookup(m, new Uint8Array(4), out), false);
  closeFd(m);
});

test.run();
