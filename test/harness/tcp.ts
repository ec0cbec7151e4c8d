// Two unrelated processes on either end of a loopback TCP connection (python3 -c scripts), for the tests that
// name both ends as ss -tp does. Each prints what it holds on stdout: its readiness signal.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

/** Listens on 127.0.0.1 (prints the port), accepts one client (prints `accepted FD`), then waits for stdin to close. */
export const TCP_SERVER = `
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
print("accepted", c.fileno(), flush=True)
sys.stdin.read()`;

/** Connects to 127.0.0.1:argv[1] (prints its fd), then waits for stdin to close. */
export const TCP_CLIENT = `
import socket, sys
s = socket.socket(); s.connect(("127.0.0.1", int(sys.argv[1])))
print(s.fileno(), flush=True)
sys.stdin.read()`;

export interface Python {
  p: ChildProcess;
  /** its next stdout line; rejects when it exits first or prints nothing for 30 s (a test never waits forever) */
  line: () => Promise<string>;
}

/** Starts `python3 -c script args...` with its stdout read line by line. */
export function python(script: string, ...args: string[]): Python {
  const p = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queued: string[] = [];
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  let ended: string | null = null;
  readline.createInterface({ input: p.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w.resolve(l); else queued.push(l);
  });
  p.on('exit', (code, sig) => {
    ended = `python3 exited (${sig ?? code}) before printing the line the test waits for`;
    for (const w of waiting.splice(0)) w.reject(new Error(ended));
  });
  const line = (): Promise<string> => {
    const l = queued.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (ended !== null) return Promise.reject(new Error(ended));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('python3 printed nothing for 30 s')), 30_000);
      waiting.push({ resolve: (x) => { clearTimeout(timer); resolve(x); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
  };
  return { p, line };
}

/** Both ends, connected: the server's port, each process and the fd it holds its end on. */
export interface TcpPair { port: number; sp: number; cp: number; serverFd: number; clientFd: number }

/**
 * Starts the server, then a client connected to it, and waits for both to say what they hold. `kill` ends whichever
 * of them started, also when the connection never came about.
 */
export function tcpPair(): { connect: () => Promise<TcpPair>; kill: () => void } {
  const server = python(TCP_SERVER);
  let client: Python | null = null;
  return {
    async connect(): Promise<TcpPair> {
      const port = Number(await server.line());
      client = python(TCP_CLIENT, String(port));
      const clientFd = Number(await client.line());
      const serverFd = Number((await server.line()).replace(/^accepted /, ''));
      return { port, sp: server.p.pid!, cp: client.p.pid!, serverFd, clientFd };
    },
    kill(): void { server.p.kill(); client?.p.kill(); },
  };
}
