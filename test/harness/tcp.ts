// Two unrelated processes on either end of a loopback TCP connection (python3 -c scripts), for the tests that
// name both ends as ss -tp does. Each prints what it holds on stdout: its readiness signal.

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
