// A machine whose tracefs is not mounted (a fresh boot: nothing has mounted it yet): fdwatch, as root, mounts it,
// says so in one status line, and traces. Run in a private mount namespace whose own tracefs mount is undone first,
// so the host's mounts are never touched (unshare -m makes every mount private to the namespace).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bpfUnavailable } from '../../src/bpf/session.js';
import type { SummaryRecord } from '../../src/model/records.js';
import { BIN, childrenOf, comm, records, tmp, until } from '../live/run.js';

const TRACEFS = '/sys/kernel/tracing';
const why = bpfUnavailable({ engine: 'native' })
  ?? (spawnSync('unshare', ['-m', '--', 'true']).status !== 0 ? 'unshare -m fails here' : null);

/** fdwatch in a new mount namespace where tracefs is unmounted (all of its mounts at TRACEFS, as stacked) */
function inFreshNamespace(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const script = `while grep -q ' ${TRACEFS} ' /proc/self/mountinfo; do umount ${TRACEFS} || exit 99; done; ` +
    `test -e ${TRACEFS}/events && exit 98; exec "$@"`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', process.execPath, BIN, ...args],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // unshare and sh exec: the child is fdwatch itself. A stopped bpftrace takes a while to detach its probes (fdwatch
  // does not wait for it): the test does, taking its pid once the probes are live
  let bpftrace: number[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (bpftrace.length === 0 && /probes live/.test(err)) bpftrace = childrenOf(child.pid!).filter((k) => comm(k) === 'bpftrace');
  });
  return new Promise((resolve) => child.on('close', (code) => {
    void until('bpftrace gone', () => bpftrace.every((k) => !fs.existsSync(`/proc/${k}`)), 10000, 50).then(() => resolve({ code, out, err }));
  }));
}

for (const engine of ['native', 'bpftrace'] as const) {
  test(`--bpf-engine ${engine} with tracefs unmounted: fdwatch mounts it, says so once, and traces the command`, async () => {
    const skip = why ?? (engine === 'bpftrace' ? bpfUnavailable({ engine }) : null);
    if (skip) { console.log(`  (skipped: ${skip})`); return; }
    const json = path.join(tmp, `tracefs-${engine}.ndjson`);
    const r = await inFreshNamespace(['--backend', 'bpf', '--bpf-engine', engine, '--no-tui', '--json', json, '--', 'cat', '/etc/hostname']);
    assert.is.not(r.code, 99, `could not unmount tracefs in the namespace: ${r.err}`);
    assert.is.not(r.code, 98, 'tracefs still visible after the unmount');
    assert.is(r.code, 0, r.err);
    assert.not.match(r.err, /internal error|\n\s+at /);
    assert.is(r.err.split('\n').filter((l) => l === `fdwatch: mounted tracefs at ${TRACEFS} (the probes attach to its tracepoints)`).length, 1, r.err);
    const rs = records(json);
    const s = rs[rs.length - 1] as SummaryRecord;
    assert.equal([s.type, s.backend, s.engine, s.lostEvents], ['summary', 'bpf', engine, 0]);
    // the command's open of /etc/hostname was traced through the tracepoints of the tracefs fdwatch mounted
    assert.ok(rs.some((x) => x.type === 'fd' && x.target === '/etc/hostname'), JSON.stringify(rs.slice(0, 20)));
  });
}

test.run();
