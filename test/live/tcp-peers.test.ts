// Both ends of a loopback TCP connection in the live view: the view names the process holding the other end of
// each, as ss -tp does (the dashboard's fd overlay shows it as "other end"), under both backends.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRecord, emptyModel, inetPeers } from '../../src/view/model.js';
import { tcpPair } from '../harness/tcp.js';
import { bpfUnavailable } from '../../src/bpf/session.js';
import { fdwatch, records, tmp, type Running } from './run.js';

// a server and a client connected before fdwatch attaches: the attach snapshot gives both ends' addresses

for (const backend of ['strace', 'bpf'] as const) {
  const t = backend === 'bpf' && bpfUnavailable() !== null ? test.skip : test;
  t(`${backend}: attached to both ends of a loopback connection, each fd names the other end's process and fd`, async () => {
    const pair = tcpPair();
    let r: Running | null = null;
    try {
      const { port, sp, cp, serverFd, clientFd } = await pair.connect();
      const json = path.join(tmp, `tcp-peers-${backend}.ndjson`);
      r = fdwatch(['--backend', backend, '--no-tui', '--json', json, String(sp), String(cp)]);
      await r.waitFor(new RegExp(`attached to ${cp} `), 60000);
      const kids = fs.readFileSync(`/proc/${r.child.pid}/task/${r.child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      r.child.kill('SIGINT');
      await r.exit;
      // a killed bpftrace takes a moment to let go of its probes: the test ends after it
      for (const end = Date.now() + 30000; kids.some((k) => fs.existsSync(`/proc/${k}`)) && Date.now() < end;) await new Promise((res) => setTimeout(res, 50));
      const m = emptyModel();
      for (const x of records(json)) applyRecord(m, x, 0);
      const cfd = m.processes.get(cp)?.fds.get(clientFd);
      const sfd = m.processes.get(sp)?.fds.get(serverFd);
      assert.match(cfd?.target ?? '', new RegExp(`^TCP:\\[127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${port}\\]$`));
      assert.equal(inetPeers(m, cfd!.target).map((p) => [p.pid, p.fd]), [[sp, serverFd]]);
      assert.equal(inetPeers(m, sfd!.target).map((p) => [p.pid, p.fd]), [[cp, clientFd]]);
      // the listener has no other end
      const listener = [...m.processes.get(sp)!.fds.values()].find((f) => f.target === `TCP:[127.0.0.1:${port}]`);
      assert.ok(listener, 'the listener is in the fd table');
      assert.equal(inetPeers(m, listener!.target), []);
    } finally {
      pair.kill(); r?.child.kill('SIGKILL');
    }
  });
}

test.run();
