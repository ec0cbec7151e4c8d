// Pure encoder/decoder for NETLINK_SOCK_DIAG Unix socket dumps (linux/sock_diag.h, linux/unix_diag.h).
// Bytes in, typed records out: tested without a socket. Multi-byte fields are host (little) endian.

export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
export const NLM_F_MULTI = 0x2;
export const AF_UNIX = 1;

/** unix_diag_req.udiag_show bits */
export const UDIAG_SHOW_NAME = 0x01;
export const UDIAG_SHOW_VFS = 0x02;
export const UDIAG_SHOW_PEER = 0x04;
export const UDIAG_SHOW_ICONS = 0x08;
export const UDIAG_SHOW_RQLEN = 0x10;
export const UDIAG_SHOW_MEMINFO = 0x20;
export const UDIAG_SHOW_UID = 0x40;

/** attribute types following a unix_diag_msg */
export const UNIX_DIAG_NAME = 0;
export const UNIX_DIAG_VFS = 1;
export const UNIX_DIAG_PEER = 2;
export const UNIX_DIAG_ICONS = 3;
export const UNIX_DIAG_RQLEN = 4;
export const UNIX_DIAG_MEMINFO = 5;
export const UNIX_DIAG_SHUTDOWN = 6;
export const UNIX_DIAG_UID = 7;

const NLMSG_HDRLEN = 16;
const UNIX_DIAG_REQ_LEN = 24;
const UNIX_DIAG_MSG_LEN = 16;

export const UNIX_DIAG_REQUEST_LEN = NLMSG_HDRLEN + UNIX_DIAG_REQ_LEN;

export interface UnixDiagRequest {
  seq: number;
  /** UDIAG_SHOW_* bits; default NAME|VFS|PEER|RQLEN|UID */
  show?: number;
  /** bit mask of TCP_* states; default all */
  states?: number;
  /** 0 for a dump of every socket */
  inode?: number;
}

/** Encodes nlmsghdr + unix_diag_req for a dump of every Unix socket in the caller's network namespace. */
export function encodeUnixDiagRequest(req: UnixDiagRequest): Uint8Array {
  const bytes = new Uint8Array(UNIX_DIAG_REQUEST_LEN);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, UNIX_DIAG_REQUEST_LEN, true); // nlmsg_len
  v.setUint16(4, SOCK_DIAG_BY_FAMILY, true); // nlmsg_type
  v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true); // nlmsg_flags
  v.setUint32(8, req.seq >>> 0, true); // nlmsg_seq
  v.setUint32(12, 0, true); // nlmsg_pid: the kernel fills it in
  bytes[16] = AF_UNIX; // sdiag_family
  bytes[17] = 0; // sdiag_protocol
  // 18..19 pad
  v.setUint32(20, (req.states ?? 0xffffffff) >>> 0, true); // udiag_states
  v.setUint32(24, (req.inode ?? 0) >>> 0, true); // udiag_ino
  v.setUint32(28, (req.show ?? UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID) >>> 0, true);
  v.setUint32(32, 0xffffffff, true); // udiag_cookie: INET_DIAG_NOCOOKIE
  v.setUint32(36, 0xffffffff, true);
  return bytes;
}

export interface UnixDiagSocket {
  inode: number;
  /** SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5 */
  type: number;
  /** TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10 */
  state: number;
  cookie: bigint;
  /** inode of the connected peer socket */
  peer: number | null;
  /** bound name; abstract names as "@name" (NUL bytes shown as "@", like /proc/net/unix and ss) */
  name: string | null;
  /** the socket file on disk for a path-bound socket */
  vfs: { ino: number; dev: number } | null;
  /** listening: backlog length and limit; otherwise bytes queued to read and to write */
  rqlen: { rqueue: number; wqueue: number } | null;
  /** listening sockets: inodes of connections waiting for accept */
  icons: number[] | null;
  uid: number | null;
  shutdown: number | null;
}

export interface UnixDiagBatch {
  sockets: UnixDiagSocket[];
  /** an NLMSG_DONE was seen: the dump is complete */
  done: boolean;
  /** negative errno from an NLMSG_ERROR, or null */
  error: number | null;
  /** bytes at the end that did not form a whole message */
  trailing: number;
}

const align4 = (n: number): number => (n + 3) & ~3;

function decodeName(bytes: Uint8Array): string {
  if (bytes.length > 0 && bytes[0] === 0) {
    // abstract socket: every NUL (including the leading one) prints as "@"
    let s = '';
    const text = Buffer.from(bytes).toString('utf8');
    for (const ch of text) s += ch === '\0' ? '@' : ch;
    return s;
  }
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

/** Decodes one unix_diag_msg payload (without the nlmsghdr). */
export function decodeUnixDiagMsg(payload: Uint8Array): UnixDiagSocket | null {
  if (payload.length < UNIX_DIAG_MSG_LEN) return null;
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const s: UnixDiagSocket = {
    inode: v.getUint32(4, true),
    type: payload[1]!,
    state: payload[2]!,
    cookie: (BigInt(v.getUint32(12, true)) << 32n) | BigInt(v.getUint32(8, true)),
    peer: null,
    name: null,
    vfs: null,
    rqlen: null,
    icons: null,
    uid: null,
    shutdown: null,
  };
  let off = UNIX_DIAG_MSG_LEN;
  while (off + 4 <= payload.length) {
    const len = v.getUint16(off, true);
    const type = v.getUint16(off + 2, true) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (len < 4 || off + len > payload.length) break;
    const data = off + 4;
    const dlen = len - 4;
    switch (type) {
      case UNIX_DIAG_NAME:
        s.name = decodeName(payload.subarray(data, data + dlen));
        break;
      case UNIX_DIAG_VFS:
        if (dlen >= 8) s.vfs = { ino: v.getUint32(data, true), dev: v.getUint32(data + 4, true) };
        break;
      case UNIX_DIAG_PEER:
        if (dlen >= 4) s.peer = v.getUint32(data, true);
        break;
      case UNIX_DIAG_ICONS: {
        const icons: number[] = [];
        for (let i = 0; i + 4 <= dlen; i += 4) icons.push(v.getUint32(data + i, true));
        s.icons = icons;
        break;
      }
      case UNIX_DIAG_RQLEN:
        if (dlen >= 8) s.rqlen = { rqueue: v.getUint32(data, true), wqueue: v.getUint32(data + 4, true) };
        break;
      case UNIX_DIAG_UID:
        if (dlen >= 4) s.uid = v.getUint32(data, true);
        break;
      case UNIX_DIAG_SHUTDOWN:
        if (dlen >= 1) s.shutdown = payload[data]!;
        break;
    }
    off += align4(len);
  }
  return s;
}

/** Decodes the bytes of one recv() from the sock_diag socket: zero or more netlink messages. */
export function decodeUnixDiagBatch(bytes: Uint8Array): UnixDiagBatch {
  const out: UnixDiagBatch = { sockets: [], done: false, error: null, trailing: 0 };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= bytes.length) {
    const len = v.getUint32(off, true);
    const type = v.getUint16(off + 4, true);
    if (len < NLMSG_HDRLEN || off + len > bytes.length) break;
    if (type === NLMSG_DONE) {
      out.done = true;
    } else if (type === NLMSG_ERROR) {
      const errno = len >= NLMSG_HDRLEN + 4 ? v.getInt32(off + NLMSG_HDRLEN, true) : -1;
      // an "error" of 0 is an ACK
      if (errno !== 0) out.error = errno;
      out.done = true;
    } else if (type === SOCK_DIAG_BY_FAMILY) {
      const s = decodeUnixDiagMsg(bytes.subarray(off + NLMSG_HDRLEN, off + len));
      if (s) out.sockets.push(s);
    }
    off += align4(len);
  }
  out.trailing = Math.max(0, bytes.length - off);
  return out;
}

/** Encodes one unix_diag_msg response (with its nlmsghdr): the inverse of decodeUnixDiagMsg, for tests and fakes. */
export function encodeUnixDiagResponse(s: Omit<UnixDiagSocket, 'cookie'> & { cookie?: bigint }, seq = 1): Uint8Array {
  const attrs: Array<[number, Uint8Array]> = [];
  const u32s = (...xs: number[]): Uint8Array => {
    const b = new Uint8Array(xs.length * 4);
    const dv = new DataView(b.buffer);
    xs.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
    return b;
  };
  if (s.name !== null) {
    const raw = s.name.startsWith('@') ? '\0' + s.name.slice(1) : s.name + '\0';
    attrs.push([UNIX_DIAG_NAME, new Uint8Array(Buffer.from(raw, 'utf8'))]);
  }
  if (s.vfs) attrs.push([UNIX_DIAG_VFS, u32s(s.vfs.ino, s.vfs.dev)]);
  if (s.peer !== null) attrs.push([UNIX_DIAG_PEER, u32s(s.peer)]);
  if (s.icons) attrs.push([UNIX_DIAG_ICONS, u32s(...s.icons)]);
  if (s.rqlen) attrs.push([UNIX_DIAG_RQLEN, u32s(s.rqlen.rqueue, s.rqlen.wqueue)]);
  if (s.shutdown !== null) attrs.push([UNIX_DIAG_SHUTDOWN, Uint8Array.of(s.shutdown)]);
  if (s.uid !== null) attrs.push([UNIX_DIAG_UID, u32s(s.uid)]);
  const len = NLMSG_HDRLEN + UNIX_DIAG_MSG_LEN + attrs.reduce((n, [, d]) => n + align4(4 + d.length), 0);
  const bytes = new Uint8Array(len);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  v.setUint16(6, NLM_F_MULTI, true);
  v.setUint32(8, seq, true);
  let off = NLMSG_HDRLEN;
  bytes[off] = AF_UNIX;
  bytes[off + 1] = s.type;
  bytes[off + 2] = s.state;
  v.setUint32(off + 4, s.inode, true);
  const cookie = s.cookie ?? 0n;
  v.setUint32(off + 8, Number(cookie & 0xffffffffn), true);
  v.setUint32(off + 12, Number(cookie >> 32n), true);
  off += UNIX_DIAG_MSG_LEN;
  for (const [type, data] of attrs) {
    v.setUint16(off, 4 + data.length, true);
    v.setUint16(off + 2, type, true);
    bytes.set(data, off + 4);
    off += align4(4 + data.length);
  }
  return bytes;
}

/** Encodes an NLMSG_DONE (or, with errno < 0, an NLMSG_ERROR) message, for tests and fakes. */
export function encodeNetlinkDone(seq = 1, errno = 0): Uint8Array {
  const isError = errno !== 0;
  const len = NLMSG_HDRLEN + 4 + (isError ? NLMSG_HDRLEN : 0);
  const bytes = new Uint8Array(len);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, isError ? NLMSG_ERROR : NLMSG_DONE, true);
  v.setUint16(6, NLM_F_MULTI, true);
  v.setUint32(8, seq, true);
  v.setInt32(NLMSG_HDRLEN, errno, true);
  return bytes;
}
