// An attach through eBPF (the default where this machine allows it) while bpftrace loads its probes: when bpftrace
// fails then, strace takes over, saying why, and the trace is strace's from its first record to its summary (a
// real failure: bpftrace crashes on a BTF file that is not one, BPFTRACE_BTF); when the process ends then, fdwatch
// says so and ends too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { SummaryRecord } from '../../src/model/records.js';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { fdwatch, records, tmp } from '../live/run.js';

const why = bpfUnavailable();
const bt = why ? test.skip : test;
if (why) console.log(`  skipped: ${why}`);

bt('attach without --backend: bpftrace crashes before its probes are live, strace traces instead and says why', async () => {
  const idle = spawn('sleep', ['300'], { stdio: 'ignore' });
  const bogus = path.join(tmp, 'not-btf');
  fs.writeFileSync(bogus, 'not a BTF file\n');
  const json = path.join(tmp, 'fallback.ndjson');
  const r = fdwatch(['--no-tui', '--json', json, String(idle.pid)], { BPFTRACE_BTF: bogus, FDWATCH_BPF_ENGINE: 'bpftrace' });
  try {
    await r.waitFor(/eBPF failed before its probes were live \(bpftrace [^)]*\): tracing with strace/, 60_000);
    await r.waitFor(new RegExp(`attached to ${idle.pid} \\(sleep\\)`), 30_000);
    // strace's attach: a ptrace tracer, and the snapshot's fd lines
    assert.match(fs.readFileSync(`/proc/${idle.pid}/status`, 'utf8'), /TracerPid:\t[1-9]/);
    assert.match(r.out(), new RegExp(`sleep\\[${idle.pid}\\] ATTACH`));
    r.child.kill('SIGINT');
    const e = await r.exit;
    assert.is(e.code, 130, r.err());
    assert.match(fs.readFileSync(`/proc/${idle.pid}/status`, 'utf8'), /TracerPid:\t0\n/, 'detached');
    const recs = records(json);
    const sums = recs.filter((x): x is SummaryRecord => x.type === 'summary');
    assert.is(sums.length, 1, 'one summary: the failed eBPF session has none of its own');
    assert.is(recs[recs.length - 1], sums[0], 'the summary is the last record');
    assert.is(sums[0]!.backend, 'strace');
    assert.ok(recs.some((x) => x.type === 'process' && x.event === 'attach' && x.pid === idle.pid), 'the attach snapshot');
  } finally {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    idle.kill('SIGKILL');
  }
});

bt('the attached process exits while bpftrace loads its probes: said, and fdwatch ends with a summary', async () => {
  const idle = spawn('sleep', ['300'], { stdio: 'ignore' });
  const json = path.join(tmp, 'early-exit.ndjson');
  const r = fdwatch(['--no-tui', '--json', json, String(idle.pid)], { FDWATCH_BPF_ENGINE: 'bpftrace' });
  try {
    // the note comes once bpftrace is running; its probes take seconds more
    await r.waitFor(/starting: bpftrace compiles and loads its probes/, 30_000);
    idle.kill('SIGKILL');
    await r.waitFor(new RegExp(`process ${idle.pid} exited before the probes were live`), 60_000);
    const e = await Promise.race([r.exit, new Promise<null>((res) => setTimeout(() => res(null), 10_000))]);
    assert.ok(e !== null, `fdwatch ends by itself; stderr:\n${r.err()}`);
    assert.is(e!.code, 0, r.err());
    assert.match(r.err(), /every traced process exited/);
    assert.not.match(r.err(), /attached to/);
    const recs = records(json);
    assert.is(recs[recs.length - 1]!.type, 'summary');
    assert.is((recs[recs.length - 1] as SummaryRecord).backend, 'bpf');
  } finally {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    idle.kill('SIGKILL');
  }
});

test.run();
