// The dashboard over the eBPF backend, in tmux: attached to a running process it names the tracer in the status
// bar (eBPF, not strace; `starting` while bpftrace loads its probes), never ptraces it, and q detaches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../paths.js';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { q, tmuxServer } from './tmux.js';

const SOCK = `fdwatch-tui-bpf-${process.pid}`;
const { tmux, waitFor } = tmuxServer(SOCK);
const BIN = path.join(root, 'bin', 'fdwatch.js');
const why = spawnSync('tmux', ['-V']).status !== 0 ? 'tmux is missing' : bpfUnavailable();
const bt = why ? test.skip : test;
if (why) console.log(`  skipped: ${why}`);

for (const engine of ['native', 'bpftrace'] as const) bt(`dashboard attached through eBPF (${engine}): the status bar says eBPF, the process is not ptraced, q detaches`, async () => {
  const idle = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    tmux('new-session', '-d', '-s', 'keep', 'sleep 600');
    tmux('new-session', '-d', '-x', '160', '-y', '40', '-s', 'b',
      `env -u NO_COLOR LANG=C.UTF-8 ${q(process.execPath)} ${q(BIN)} --backend bpf --bpf-engine ${engine} ${idle.pid}; echo EXIT=$?; sleep 120`);
    // bpftrace takes seconds (at least ~2.5 s of CPU) to load its probes: meanwhile the dashboard says it is starting,
    // not an empty "tracing" (the native engine loads in a fraction of a second, before the first frame)
    const early = await waitFor('b', 'the dashboard', (x) => /eBPF (starting|tracing)/.test(x), 30_000);
    if (engine === 'bpftrace') {
      assert.match(early, /eBPF starting/, early);
      assert.match(early, /attaching: the processes show once the tracer is in/, early);
    }
    const screen = await waitFor('b', 'the attach through eBPF', (x) => x.includes(`attached to ${idle.pid} (sleep) via eBPF`), 60_000);
    assert.match(screen, new RegExp(`${idle.pid} +sleep`), 'the process, from the attach snapshot');
    const bar = screen.trimEnd().split('\n').pop() ?? '';
    assert.match(bar, /eBPF tracing/, bar);
    assert.not.match(bar, /strace/, bar);
    assert.match(fs.readFileSync(`/proc/${idle.pid}/status`, 'utf8'), /TracerPid:\t0\n/);
    tmux('send-keys', '-t', 'b', 'q');
    const after = await waitFor('b', 'fdwatch to exit', (x) => /EXIT=\d+/.test(x), 15_000);
    assert.match(after, /EXIT=0/);
  } finally {
    idle.kill();
    try { tmux('kill-server'); } catch { /* gone */ }
  }
});

test.run();
