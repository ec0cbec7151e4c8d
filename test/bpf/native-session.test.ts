// The eBPF backend's engine choice, as a user runs it: --bpf-engine native|auto|bpftrace (and FDWATCH_BPF_ENGINE).
// While the native loader cannot load (its stand-in, or a kernel it does not support), auto falls back to
// bpftrace and says why, and native fails in one line. Where the native engine loads, the same file traces real
// fd passers under it: those cases say why they skip until then.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { bpfUnavailable, startBpf } from '../../src/bpf/session.js';
import { attachMode, loadNative } from '../../src/bpf/native/load.js';
import type { NativeHandle } from '../../src/bpf/native/handle.js';
import { HEADER, KIND, REC_Q } from '../../src/bpf/native/format.js';
import type { LiveStatus } from '../../src/live/trace.js';
import type { FdwatchRecord, SummaryRecord, TransferRecord } from '../../src/model/records.js';
import { fdwatch, records, compile, tmp, until, childrenOf, comm, PROBES_RELEASE_MS } from '../live/run.js';

const base = bpfUnavailable({ engine: 'native' });
/** why the native engine does not load here (null: it does); asked once, its probes closed at once */
const nativeWhy = ((): string | null => {
  if (base) return base;
  const h = loadNative({ follow: [], self: process.pid, tracefs: '/sys/kernel/tracing', btf: '/sys/kernel/btf/vmlinux' });
  if ('error' in h) return h.error;
  h.close();
  return null;
})();
const bpftraceWhy = bpfUnavailable({ engine: 'bpftrace' });
if (base) console.log(`  eBPF engine tests skipped: ${base}`);
else if (nativeWhy) console.log(`  native engine live tests skipped: the native engine does not load here (${nativeWhy})`);
const summaryOf = (rs: FdwatchRecord[]): SummaryRecord => rs[rs.length - 1] as SummaryRecord;
const transfers = (rs: FdwatchRecord[]): TransferRecord[] => rs.filter((r): r is TransferRecord => r.type === 'transfer');

test('--bpf-engine native where it does not load: one line naming why, exit 1, and the launched command never ran', async () => {
  if (base || nativeWhy === null) { console.log(`  (skipped: ${base ?? 'the native engine loads here'})`); return; }
  const mark = path.join(tmp, 'native-ran');
  for (const [args, env] of [[['--bpf-engine', 'native'], {}], [[], { FDWATCH_BPF_ENGINE: 'native' }]] as const) {
    const r = fdwatch([...args, '--backend', 'bpf', '--no-tui', '--json', path.join(tmp, 'native-fail.ndjson'), '--', 'touch', mark], env);
    const e = await r.exit;
    assert.is(e.code, 1, r.err());
    const lines = r.err().trim().split('\n');
    assert.equal(lines, [`fdwatch: the native eBPF engine cannot load: ${nativeWhy}`], r.err());
    assert.not.match(r.err(), /\n\s+at /);
    assert.not.ok(fs.existsSync(mark), 'the held command ran');
  }
});

test('--bpf-engine auto: the native engine when it loads, else bpftrace saying why; the summary names the engine', async () => {
  if (base || (nativeWhy !== null && bpftraceWhy)) { console.log(`  (skipped: ${base ?? bpftraceWhy})`); return; }
  const json = path.join(tmp, 'auto.ndjson');
  const r = fdwatch(['--bpf-engine', 'auto', '--backend', 'bpf', '--no-tui', '--json', json, '--', 'cat', '/etc/hostname']);
  await r.waitFor(/probes live: launching cat/, 60000);
  // a killed bpftrace takes a while to detach its probes (fdwatch does not wait for it): the test does
  const bpftrace = childrenOf(r.child.pid!).filter((k) => comm(k) === 'bpftrace');
  const e = await r.exit;
  await until('bpftrace gone', () => bpftrace.every((k) => !fs.existsSync(`/proc/${k}`)), 10000, 50);
  assert.is(e.code, 0, r.err());
  const rs = records(json);
  const s = summaryOf(rs);
  assert.equal([s.type, s.backend, s.parseErrors, s.lostEvents], ['summary', 'bpf', 0, 0]);
  if (nativeWhy !== null) {
    assert.match(r.err(), `fdwatch: native eBPF engine unavailable (${nativeWhy}): using bpftrace\n`);
    assert.match(r.err(), /fdwatch: tracing with eBPF \(bpftrace\): --backend bpf/);
    assert.is(s.engine, 'bpftrace');
    assert.is(bpftrace.length, 1, 'bpftrace ran');
  } else {
    assert.is(bpftrace.length, 0, 'no bpftrace');
    assert.match(r.err(), /fdwatch: tracing with eBPF \(native engine\): --backend bpf/);
    assert.not.match(r.err(), /bpftrace/);
    assert.is(s.engine, 'native');
  }
  // the trace itself: cat's open of /etc/hostname, from whichever engine ran
  assert.ok(rs.some((x) => x.type === 'fd' && x.op === 'open' && x.target === '/etc/hostname'), r.err());
});

test('a launch without --backend: eBPF through the native engine where it loads; else strace, saying why (never bpftrace, which would hold the command seconds); strace with --bpf-engine bpftrace', async () => {
  if (base) { console.log(`  (skipped: ${base})`); return; }
  const cases: Array<[Record<string, string>, string, RegExp | null]> = [
    [{ FDWATCH_NATIVE: 'off' }, 'strace', /^fdwatch: tracing with strace: the native eBPF engine cannot load: disabled by FDWATCH_NATIVE=off \(a launch does not wait for bpftrace's seconds of start-up\)$/m],
    [{ FDWATCH_BPF_ENGINE: 'bpftrace' }, 'strace', null],
  ];
  if (nativeWhy === null) cases.unshift([{}, 'bpf', /^fdwatch: tracing with eBPF \(native engine\): eBPF is available$/m]);
  for (const [env, backend, note] of cases) {
    const json = path.join(tmp, 'launch-default.ndjson');
    const r = fdwatch(['--no-tui', '--json', json, '--', 'cat', '/etc/hostname'], env);
    const e = await r.exit;
    assert.is(e.code, 0, r.err());
    const rs = records(json);
    const s = summaryOf(rs);
    assert.equal([s.backend, s.engine ?? null, s.lostEvents ?? 0], [backend, backend === 'bpf' ? 'native' : null, 0], `${JSON.stringify(env)}: ${JSON.stringify(s)}`);
    if (note) assert.match(r.err(), note);
    else assert.not.match(r.err(), /^fdwatch: tracing with/m);
    assert.not.match(r.err(), /bpftrace\)/);
    // the command ran once, traced
    assert.is(rs.filter((x) => x.type === 'fd' && x.op === 'open' && x.target === '/etc/hostname').length, 1, r.err());
  }
});

test('fdwatch killed while the probes load: the held command never runs (its gate closes without the word to go)', async () => {
  if (base || nativeWhy !== null) { console.log(`  (skipped: ${base ?? nativeWhy})`); return; }
  const mark = path.join(tmp, 'held-ran');
  const r = fdwatch(['--backend', 'bpf', '--bpf-engine', 'native', '--no-tui', '--json', path.join(tmp, 'held.ndjson'), '--', 'touch', mark]);
  // the held sh: fdwatch's child waiting at its gate
  const isGate = (k: number): boolean => { try { return fs.readFileSync(`/proc/${k}/cmdline`, 'latin1').includes('read -r _ <&3'); } catch { return false; } };
  let sh = 0;
  await until('the held command', () => { sh = childrenOf(r.child.pid!).find(isGate) ?? 0; return sh !== 0; }, 10000, 2);
  r.child.kill('SIGKILL');
  await r.exit;
  await until('the held sh gone', () => !fs.existsSync(`/proc/${sh}`) || /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${sh}/stat`, 'latin1')), 10000, 10);
  if (/probes live/.test(r.err())) { console.log('  (the probes were live before the kill: nothing to see)'); return; }
  assert.not.ok(fs.existsSync(mark), 'the held command ran untraced');
});

// ---------------------------------------------------------------- the session over a ring handed in

/**
 * A loader's handle over a ring this test fills (the kernel side is not built yet: what its probes would write
 * cannot be produced on demand); `next` gives the records to read at each drain, `stuck` leaves a record being
 * written at the head of the ring.
 */
function handedIn(next: () => DataView[], stuck = false): NativeHandle & { closed: number } {
  const h = {
    closed: 0,
    loadMs: 1,
    lost: () => 0,
    close: () => { h.closed++; },
    ring: {
      size: 1 << 16,
      drain: (each: (d: DataView, off: number, len: number) => void, max = Infinity): number => {
        if (stuck) return 0;
        const rs = next().slice(0, max);
        for (const r of rs) each(r, 0, r.byteLength);
        return rs.length;
      },
      pending: () => (stuck ? 8 : 0),
      close: () => {},
    },
  };
  return h;
}

/** A Q record (sched_process_exit) of a whole process, stamped `ns` (now). */
function exitRecord(pid: number, status: number, ns = process.hrtime.bigint()): DataView {
  const v = new DataView(new ArrayBuffer(REC_Q.size));
  v.setBigUint64(HEADER.ns, ns, true);
  v.setUint32(HEADER.tid, pid, true);
  v.setUint8(HEADER.kind, KIND.Q);
  v.setUint32(REC_Q.tgid, pid, true);
  v.setUint32(REC_Q.groupDead, 1, true);
  v.setInt32(REC_Q.exitCode, status, true);
  return v;
}

/** `p`, or a failure after `ms` (a session that never ends fails its test, not the run) */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_r, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); })])
    .finally(() => clearTimeout(t));
}

const handed = (name: string, fn: () => Promise<void>): void => test(name, async () => {
  if (base) { console.log(`  (skipped: ${base})`); return; }
  await fn();
});

handed('native over a ring: ready at once (no sentinel), the command launched, its exit record read from the ring ends the trace; the handle closed once', async () => {
  let pid = 0;
  let sent = false;
  const h = handedIn(() => {
    // the command's exit, once it has exited (as the kernel would write it)
    if (sent || pid === 0 || fs.existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return [];
    sent = true;
    return [exitRecord(pid, 3 << 8)];
  });
  const recs: FdwatchRecord[] = [];
  const statuses: string[] = [];
  const t0 = Date.now();
  const live = await startBpf({ pids: [], command: ['sh', '-c', 'exit 3'], all: false, engine: 'native', loader: () => h,
    onRecord: (r) => recs.push(r), onStatus: (x: LiveStatus) => { if (x.message) statuses.push(x.message); } });
  assert.is(live.engine, 'native');
  pid = live.commandPid()!;
  const r = await within(live.done, 10000, 'the trace to end');
  assert.is(r.error, null);
  assert.ok(sent, 'the exit record was read');
  assert.is(h.closed, 1);
  assert.ok(statuses.some((m) => m.startsWith('probes live: launching sh')), statuses.join(' | '));
  // the exit came from the record (the reaper would give an unknown status), and ended the trace at once
  const exit = recs.find((x) => x.type === 'process' && x.event === 'exit' && x.pid === pid);
  assert.ok(exit && exit.type === 'process' && exit.exitCode === 3, JSON.stringify(exit));
  const s = summaryOf(recs);
  assert.equal([s.engine, s.cleanEnd, s.parseErrors, s.lostEvents], ['native', true, 0, 0], JSON.stringify(s));
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
});

handed('native over a ring: a command whose whole tree exited by the follow map\'s word ends the trace at its exit, not after the reorder window; while the map follows one it waits', async () => {
  for (const followed of [false, true]) {
    let pid = 0;
    // the kernel stamps the exit before the parent can reap it: when it was first seen gone
    let exitNs: bigint | null = null;
    const exited = (): boolean => {
      if (exitNs === null && pid !== 0 && !(fs.existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')))) exitNs = process.hrtime.bigint();
      return exitNs !== null;
    };
    let sent = false;
    const h = handedIn(() => {
      if (sent || !exited()) return [];
      sent = true;
      return [exitRecord(pid, 3 << 8, exitNs!)];
    });
    const statuses: string[] = [];
    const recs: FdwatchRecord[] = [];
    // a window of 2 s: the exit record alone would end the trace 2 s after it was read
    const live = await startBpf({ pids: [], command: ['sh', '-c', 'exit 3'], all: false, engine: 'native', windowMs: 2000,
      loader: () => ({ ...h, followsAny: () => followed || !exited() }),
      onRecord: (r) => recs.push(r), onStatus: (x: LiveStatus) => { if (x.message) statuses.push(x.message); } });
    pid = live.commandPid()!;
    await until('the command exited', exited, 5000, 2);
    const t0 = Date.now();
    const r = await within(live.done, 10000, 'the trace to end');
    const ms = Date.now() - t0;
    assert.is(r.error, null);
    assert.ok(statuses.includes('the command and everything it started exited'), statuses.join(' | '));
    const exit = recs.find((x) => x.type === 'process' && x.event === 'exit' && x.pid === pid);
    assert.ok(exit && exit.type === 'process' && exit.exitCode === 3, JSON.stringify(exit));
    const s = summaryOf(recs);
    assert.equal([s.engine, s.cleanEnd, s.lostEvents], ['native', true, 0], JSON.stringify(s));
    if (followed) assert.ok(ms >= 1500, `ended ${ms} ms after the command's exit while the follow map held a process`);
    else assert.ok(ms < 1000, `ended ${ms} ms after the command's exit`);
  }
});

handed('native over a ring: a record still being written at the stop is waited for, not assumed read: the stop says so after its bound, the trace is not clean', async () => {
  const h = handedIn(() => [], true);
  const statuses: string[] = [];
  const recs: FdwatchRecord[] = [];
  const live = await startBpf({ pids: [], command: ['true'], all: false, engine: 'native', loader: () => h,
    onRecord: (r) => recs.push(r), onStatus: (x: LiveStatus) => { if (x.message) statuses.push(x.message); } });
  await until('probes live', () => statuses.some((m) => m.startsWith('probes live')), 5000, 5);
  const t0 = Date.now();
  await within(live.stop('test'), 5000, 'the stop');
  const ms = Date.now() - t0;
  await within(live.done, 5000, 'the trace to end');
  assert.ok(statuses.some((m) => /^the ring buffer was not read up to the stop after 0\.65 s/.test(m)), statuses.join(' | '));
  assert.ok(ms >= 600 && ms < 2000, `${ms} ms`);
  assert.is(h.closed, 1);
  const s = summaryOf(recs);
  assert.equal([s.engine, s.cleanEnd], ['native', false]);
});

// ---------------------------------------------------------------- live under the native engine

const live = (name: string, fn: () => Promise<void>): void => test(name, async () => {
  if (nativeWhy !== null) { console.log(`  (skipped: the native engine does not load here: ${nativeWhy})`); return; }
  await fn();
});

live('native: the seed program (fork + socketpair) gives one delivered transfer parent fd 3 -> child fd 4, proven one open file', async () => {
  const json = path.join(tmp, 'native-seed.ndjson');
  const r = fdwatch(['--bpf-engine', 'native', '--backend', 'bpf', '--no-tui', '--json', json, '--', compile('seed')]);
  const e = await r.exit;
  assert.is(e.code, 0, r.err());
  const rs = records(json);
  const s = summaryOf(rs);
  assert.equal([s.engine, s.backend, s.parseErrors, s.lostEvents, s.cleanEnd], ['native', 'bpf', 0, 0, true], JSON.stringify(s));
  const t = transfers(rs);
  assert.equal(t.map((x) => [x.state, x.from.fd, x.to?.fd, x.target, x.confirmed]), [['delivered', 3, 4, '/etc/hostname', true]]);
  assert.ok(t[0]!.from.pid !== null && t[0]!.to?.pid !== null && t[0]!.from.pid !== t[0]!.to?.pid);
  assert.match(t[0]!.from.socket ?? '', /^UNIX-STREAM:\[\d+->\d+\]$/);
  // the fd records of the receive: the child's fd 4 CLOEXEC (MSG_CMSG_CLOEXEC)
  const recv = rs.find((x) => x.type === 'fd' && x.op === 'receive');
  assert.ok(recv && recv.type === 'fd' && recv.fd === 4 && recv.cloexec === true, JSON.stringify(recv));
});

/** JIT'ed BPF programs (bpf_jit_kallsyms) whose tag is among `tags`: their kallsyms lines */
function programsTagged(tags: Set<string>): Set<string> {
  return new Set(fs.readFileSync('/proc/kallsyms', 'utf8').split('\n')
    .filter((l) => l.endsWith('[bpf]') && [...tags].some((t) => l.includes(`bpf_prog_${t}`))));
}

live('native: fdwatch killed with SIGKILL leaves no probe attached and nothing waiting: the launched command runs on to its end', async () => {
  const mark = path.join(tmp, 'native-kill9');
  const before = new Set(fs.readFileSync('/proc/kallsyms', 'utf8').split('\n').filter((l) => l.endsWith('[bpf]')));
  const r = fdwatch(['--bpf-engine', 'native', '--backend', 'bpf', '--no-tui', '--', 'sh', '-c', `sleep 0.5; echo done > ${mark}`]);
  await r.waitFor(/probes live: launching sh/, 10000);
  // fdwatch's own BPF programs, by the tags its fds name
  const pid = r.child.pid!;
  const tags = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try { const m = /^prog_tag:\s*([0-9a-f]+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')); if (m) tags.add(m[1]!); } catch { /* closed */ }
  }
  assert.ok(tags.size > 0, 'fdwatch holds its programs');
  const ours = [...programsTagged(tags)].filter((l) => !before.has(l));
  assert.ok(ours.length > 0, 'its programs are listed');
  r.child.kill('SIGKILL');
  await r.exit;
  // the kernel frees a closed program after an RCU grace period; 'syscalls': once the holder (ended by its pdeathsig)
  // has closed its perf events (PROBES_RELEASE_MS)
  await until('its programs gone', () => { const now = programsTagged(tags); return ours.every((l) => !now.has(l)); }, attachMode(undefined) === 'syscalls' ? PROBES_RELEASE_MS : 5000, 50);
  await until('the launched command ran to its end', () => fs.existsSync(mark), 5000, 50);
  assert.is(fs.readFileSync(mark, 'utf8'), 'done\n');
});

for (const attach of ['syscalls', 'raw'] as const) {
  live(`native (${attach}): fdwatch -- true ends at once after its command (nothing waits for the probes to detach)`, async () => {
    const json = path.join(tmp, `native-true-${attach}.ndjson`);
    const r = fdwatch(['--bpf-engine', 'native', '--backend', 'bpf', '--no-tui', '--json', json, '--', 'true'], { FDWATCH_NATIVE_ATTACH: attach });
    await r.waitFor(/probes live: launching true/, 10000);
    const t0 = Date.now();
    const e = await r.exit;
    const ms = Date.now() - t0;
    assert.is(e.code, 0, r.err());
    assert.equal(summaryOf(records(json)).type, 'summary');
    console.log(`  fdwatch ended ${ms} ms after the probes were live`);
    // 'syscalls' closing its ~110 perf events itself would wait ~6 s
    assert.ok(ms < 1000, `fdwatch ended ${ms} ms after launching true`);
  });
}

test.run();
