// The real dashboard in tmux: a process that drops root with setresuid and never execs (what a pre-forking daemon's
// workers do) shows its new uid in the process panel, not the uid it started with.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../paths.js';
import { q, tmuxServer } from './tmux.js';
import { tmp } from '../live/run.js';

const SOCK = `fdwatch-setuid-${process.pid}`;
const { tmux, waitFor } = tmuxServer(SOCK);
const haveTmux = spawnSync('tmux', ['-V']).status === 0;

test('dashboard: a process that calls setresuid(65534) shows uid 65534 in the process panel', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  assert.is(process.getuid?.(), 0, 'the setuid test needs root');
  // a folder uid 65534 can reach (the suite's own temp folder is root's alone)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-setuid-'));
  fs.chmodSync(dir, 0o755);
  const fifo = path.join(dir, 'release');
  spawnSync('mkfifo', ['-m', '0666', fifo]);
  const s = 'setuid';
  // a writer that gives up after 10 s when nobody reads (the FIFO's open blocks until then)
  const release = (): number | null => spawnSync('sh', ['-c', 'echo go >"$0"', fifo], { timeout: 10_000 }).status;
  let socketPath: string | null = null;
  try {
    tmux('new-session', '-d', '-s', 'keep', 'sleep 600');
    // it opens a file after the drop, so the dashboard has a row to show; then it waits on the FIFO
    const py = `import os; os.setresuid(65534, 65534, 65534); fd = os.open('/etc/hostname', os.O_RDONLY); open(${JSON.stringify(fifo)}).read()`;
    const cmd = `cd ${q(tmp)} && env -u NO_COLOR -u LC_ALL -u LC_CTYPE LANG=C.UTF-8 ${q(process.execPath)} ` +
      `${q(path.join(root, 'bin', 'fdwatch.js'))} -- python3 -c ${q(py)}; echo EXIT=$?; sleep 120`;
    tmux('new-session', '-d', '-x', '200', '-y', '40', '-s', s, cmd);
    socketPath = tmux('display-message', '-p', '-t', s, '#{socket_path}').trim();
    const screen = await waitFor(s, 'python3 with its new uid', (x) => /python3\s+65534\s/.test(x));
    const row = screen.split('\n').find((l) => /python3\s+65534\s/.test(l))!;
    assert.not.match(row, /python3\s+0\s/);
    assert.is(release(), 0, 'python3 was waiting on the FIFO');
    await waitFor(s, 'python3 to exit', (x) => /python3\s+65534\s+\d+\s+\S+\s+exit 0/.test(x));
    tmux('send-keys', '-t', s, 'q');
    const after = await waitFor(s, 'exit', (x) => /EXIT=\d+/.test(x));
    assert.ok(after.includes('EXIT=0'), after);
  } finally {
    release(); // bounded: nothing left waiting if the test failed early
    try { tmux('kill-server'); } catch { /* gone */ }
    if (socketPath) fs.rmSync(socketPath, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
