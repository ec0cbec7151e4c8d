// The real dashboard in tmux, tracing the test's own nscd and an unprivileged getent (issue 14): the alerts panel shows
// the privilege-crossing warning with the file's mode, both uids and the access mode, and the uid crossing beside it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../paths.js';
import { q, tmuxServer } from './tmux.js';
import { tmp } from '../live/run.js';
import { CACHE, NSCD, SOCKET, listing, startNscd } from '../live/nscd-daemon.js';

const SOCK = `fdwatch-priv-${process.pid}`;
const { tmux, waitFor } = tmuxServer(SOCK);
const haveTmux = spawnSync('tmux', ['-V']).status === 0;




test('dashboard: nscd hands its 0600 root cache to getent (uid 65534): the alerts panel shows privilege-crossing', async () => {
  assert.ok(haveTmux, 'tmux is needed for the dashboard tests (.ci/run installs it)');
  assert.ok(NSCD, 'nscd is not installed (.ci/run installs the Debian package nscd)');
  assert.is(process.getuid?.(), 0, 'the nscd test needs root');
  const host = [path.dirname(SOCKET), path.dirname(CACHE)].map(listing);
  const daemon = await startNscd();
  const s = 'priv';
  let socketPath: string | null = null;
  try {
    // a session that outlives the test's own: the server must not exit when the dashboard's session ends
    tmux('new-session', '-d', '-s', 'keep', 'sleep 600');
    const args = ['-p', String(daemon.pid), '--', 'nsenter', '-t', String(daemon.pid), '-m', '--',
      'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'getent', 'passwd', 'root'];
    const cmd = `cd ${q(tmp)} && env -u NO_COLOR -u LC_ALL -u LC_CTYPE LANG=C.UTF-8 ${q(process.execPath)} ` +
      `${q(path.join(root, 'bin', 'fdwatch.js'))} ${args.map(q).join(' ')}; echo EXIT=$?; sleep 120`;
    tmux('new-session', '-d', '-x', '200', '-y', '40', '-s', s, cmd);
    socketPath = tmux('display-message', '-p', '-t', s, '#{socket_path}').trim();
    const screen = await waitFor(s, 'the privilege-crossing alert', (x) => x.includes('privilege-crossing') && x.includes('uid-crossing'));
    const row = screen.split('\n').find((l) => l.includes('privilege-crossing'))!;
    assert.match(row, /privilege-crossing +\d+ +mode 0600 owner 0:0, uid 0 \u2192 65534, access r: fd \d+ \(\/var/);
    const info = screen.split('\n').find((l) => l.includes('uid-crossing'))!;
    assert.match(info, /uid-crossing +\d+ +mode 0600 owner 0:0, uid 0 \u2192 65534, access r/);
    // only getent's transfer alerts: setpriv got the same file while still root
    assert.is(screen.split('\n').filter((l) => /privilege-crossing|uid-crossing/.test(l)).length, 2, screen);
    tmux('send-keys', '-t', s, 'q');
    const after = await waitFor(s, 'exit', (x) => /EXIT=\d+/.test(x));
    assert.ok(after.includes('EXIT=0'), after);
  } finally {
    try { tmux('kill-server'); } catch { /* gone */ }
    if (socketPath) fs.rmSync(socketPath, { force: true });
    daemon.kill('SIGTERM');
    if (daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  }
  assert.equal([path.dirname(SOCKET), path.dirname(CACHE)].map(listing), host, "the host's nscd folders are as they were");
});

test.run();
