// Attaching to a process already waiting in a call that makes an fd: a server blocked in accept4, a thread blocked
// in openat of a FIFO with no writer. Their entries ran before the probes were attached; the new fds must still be
// seen when the calls return, as strace's restarted calls show them (fixtures/programs/blocked.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { loadNative } from '../../src/bpf/native/load.js';
import type { FdRecord, SummaryRecord } from '../../src/model/records.js';
import { root } from '../paths.js';
import { childrenOf, comm, fdwatch, records, tmp, until, type Running } from '../live/run.js';

type Engine = 'native' | 'bpftrace';
function nativeUnloadable(): string | null {
  const h = loadNative({ follow: [process.pid], self: process.pid, tracefs: '/sys/kernel/tracing', btf: '/sys/kernel/btf/vmlinux' });
  if ('error' in h) return h.error;
  h.close();
  return null;
}
const whyNot = (e: Engine): string | null => bpfUnavailable({ engine: e }) ?? (e === 'native' ? nativeUnloadable() : null);
/** x86-64 numbers of the calls the threads wait in (/proc/PID/task/TID/syscall's first field) */
const ACCEPT4 = 288, OPENAT = 257;
const inCall = (pid: number, tid: number, nr: number): boolean => {
  try { return fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')[0] === String(nr); } catch { return false; }
};

for (const engine of ['native', 'bpftrace', 'strace'] as const) {
  test(`attach (${engine}) to a server blocked in accept4 and a thread blocked in openat of a FIFO: both new fds are traced`, async () => {
    const no = engine === 'strace' ? null : whyNot(engine);
    if (no) { console.log(`  (skipped: ${no})`); return; }
    const prog = spawn('/usr/bin/python3', ['-I', path.join(root, 'fixtures', 'programs', 'blocked.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let r: Running | null = null;
    let out = '';
    prog.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    try {
      await until('blocked.py ready', () => out.includes('\n'), 10000);
      const [port, fifo, opener] = out.trim().split(' ') as [string, string, string];
      const pid = prog.pid!;
      // readiness: both threads are inside their calls before anything attaches
      await until('accept4 and openat waiting', () => inCall(pid, pid, ACCEPT4) && inCall(pid, Number(opener), OPENAT), 10000);
      const json = path.join(tmp, `blocked-${engine}.ndjson`);
      r = fdwatch(['--backend', engine === 'strace' ? 'strace' : 'bpf', ...(engine === 'strace' ? [] : ['--bpf-engine', engine]), '--no-tui', '--json', json, String(pid)]);
      await r.waitFor(new RegExp(`attached to ${pid} \\(python3\\)`), 60000);
      // a stopped bpftrace takes a while to detach (fdwatch does not wait for it): the test does, at its end
      const bpftrace = childrenOf(r.child.pid!).filter((k) => comm(k) === 'bpftrace');
      const sock = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => sock.once('connect', resolve));
      // a non-blocking open for writing fails (ENXIO) while no reader waits: strace's attach restarts the reader's
      // openat, so the test opens again until the reader is back in it
      await until('the FIFO opened for writing', () => {
        try { fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)); return true; } catch (x) {
          if ((x as NodeJS.ErrnoException).code === 'ENXIO') return false;
          throw x;
        }
      }, 10000);
      await until('blocked.py saw both', () => /accepted \d+ opened \d+/.test(out), 10000);
      const [, acc, opn] = /accepted (\d+) opened (\d+)/.exec(out)!.map(Number) as [number, number, number];
      sock.end();
      const e = await r.exit;
      await until('bpftrace gone', () => bpftrace.every((k) => !fs.existsSync(`/proc/${k}`)), 10000, 50);
      assert.is(e.code, 0, r.err());
      const rs = records(json);
      const fds = rs.filter((x): x is FdRecord => x.type === 'fd' && x.pid === pid && x.op !== 'snapshot');
      const accepted = fds.find((x) => x.fd === acc && x.kind === 'socket' && /^accept/.test(x.syscall ?? ''));
      assert.ok(accepted, `no accept record of fd ${acc}: ${JSON.stringify(fds)}`);
      assert.match(accepted!.target ?? '', /^TCP:\[127\.0\.0\.1:\d+->127\.0\.0\.1:\d+\]$/);
      const opened = fds.find((x) => x.fd === opn && x.syscall === 'openat');
      assert.ok(opened, `no openat record of fd ${opn}: ${JSON.stringify(fds)}`);
      assert.is(opened!.target, fifo);
      assert.is(opened!.tid ?? Number(opener), Number(opener));
      const s = rs[rs.length - 1] as SummaryRecord;
      assert.equal([s.type, s.parseErrors], ['summary', 0]);
    } finally { prog.kill('SIGKILL'); r?.child.kill('SIGKILL'); }
  });
}

test.run();
