// Socket endpoints: which socket is which (`ino:N` from -y/-yy, or `ep:N` made up for a socket made in the
// trace), who is whose peer (socketpair, -yy's `A->B`, connect/accept on one path). Pure.
import type { FdTarget } from '../model/fdop.js';
import type { FdEntry, OpenFileDescription } from './state.js';

/** connects to one path still waiting for their accept: a server that is not traced never accepts them */
const MAX_PENDING_CONNECTS = 1024;

export class Endpoints {
  /** endpoint id -> its peer's */
  private readonly peers = new Map<string, string>();
  /** unix socket path -> client endpoints whose connect() waits for the listener's accept() */
  private readonly pendingConnects = new Map<string, string[]>();
  /** input out of time order (-ff without timestamps): path -> accepted endpoints whose connect is still to come */
  private readonly pendingAccepts = new Map<string, string[]>();
  private next = 1;

  /** `outOfOrder`: an accept may be read before the connect it accepted (another -ff file, read later) */
  constructor(private readonly outOfOrder = false) {}

  /** A socket made in the trace (socket, socketpair, accept) gets an endpoint even before -yy names it. */
  newEndpoint(ofd: OpenFileDescription): void {
    if (ofd.endpoint === null) ofd.endpoint = `ep:${this.next++}`;
  }

  /** -y/-yy decorations say which socket this is, and with -yy its peer; `moved` carries a made-up endpoint's queue. */
  learn(ofd: OpenFileDescription, t: FdTarget, moved: (from: string, to: string) => void): void {
    if (t.kind !== 'socket') return;
    if (t.inode !== null) {
      const ep = inodeEndpoint(t.inode);
      if (ofd.endpoint !== ep) {
        // a made-up endpoint learned its inode: carry its peer link over
        const old = ofd.endpoint;
        if (old && old.startsWith('ep:')) {
          const peer = this.peers.get(old);
          if (peer) { this.link(ep, peer); this.peers.delete(old); }
          moved(old, ep);
        }
        ofd.endpoint = ep;
      }
      if (t.peer !== null && t.peer !== 0) this.link(ep, inodeEndpoint(t.peer));
    }
    if (t.path !== null && ofd.boundPath === null) ofd.boundPath = t.path;
  }

  /** Two endpoints are each other's peer (socketpair, or -yy's `A->B`). */
  link(a: string, b: string): void {
    this.peers.set(a, b);
    this.peers.set(b, a);
  }

  peerOf(ep: string): string | undefined {
    return this.peers.get(ep);
  }

  /** A socket is gone: its peer link goes (its inode may be reused); returns the peer it had. */
  forget(ep: string): string | undefined {
    const peer = this.peers.get(ep);
    if (peer === undefined) return undefined;
    this.peers.delete(ep);
    if (this.peers.get(peer) === ep) this.peers.delete(peer);
    return peer;
  }

  connected(sock: FdEntry | null, path: string | null): void {
    if (sock && path) sock.ofd.peerPath = path;
    if (!sock || !path || !sock.ofd.endpoint || this.peers.has(sock.ofd.endpoint)) return;
    const accepted = this.pendingAccepts.get(path);
    const server = accepted?.shift();
    if (accepted && accepted.length === 0) this.pendingAccepts.delete(path);
    if (server !== undefined) { this.link(server, sock.ofd.endpoint); return; }
    const q = this.pendingConnects.get(path);
    if (!q) { this.pendingConnects.set(path, [sock.ofd.endpoint]); return; }
    q.push(sock.ofd.endpoint);
    if (q.length > MAX_PENDING_CONNECTS) q.shift();
  }

  bound(sock: FdEntry | null, path: string | null): void {
    if (sock && path) sock.ofd.boundPath = path;
  }

  /** accept: the new socket is the peer of the oldest client that connected to the listener's path. */
  accepted(ofd: OpenFileDescription, listener: FdEntry | null): void {
    let path = listener?.ofd.boundPath ?? null;
    // a listener bound before the trace: if connects wait on a single path, they are for it
    if (!path && listener && this.pendingConnects.size === 1) {
      path = [...this.pendingConnects.keys()][0]!;
      listener.ofd.boundPath = path;
    }
    if (path && !this.peers.has(ofd.endpoint!)) {
      const waiting = this.pendingConnects.get(path);
      const client = waiting?.shift();
      if (waiting && waiting.length === 0) this.pendingConnects.delete(path);
      if (client) this.link(ofd.endpoint!, client);
      else if (this.outOfOrder) {
        const q = this.pendingAccepts.get(path);
        if (!q) this.pendingAccepts.set(path, [ofd.endpoint!]);
        else { q.push(ofd.endpoint!); if (q.length > MAX_PENDING_CONNECTS) q.shift(); }
      }
    }
  }

  sizes(): Record<string, number> {
    return { peers: this.peers.size, pendingConnects: this.pendingConnects.size, pendingAccepts: this.pendingAccepts.size };
  }
}

/** `ino:N`, the endpoint of socket inode N: the few made last are kept (each send and receive names its socket and its
 * peer again) */
const EP_SLOTS = 8;
const epInode = new Float64Array(EP_SLOTS).fill(-1);
const epText: string[] = new Array<string>(EP_SLOTS).fill('');
let epNext = 0;
function inodeEndpoint(inode: number): string {
  for (let i = 0; i < EP_SLOTS; i++) if (epInode[i] === inode) return epText[i]!;
  const ep = `ino:${inode}`;
  epInode[epNext] = inode;
  epText[epNext] = ep;
  epNext = (epNext + 1) % EP_SLOTS;
  return ep;
}
