// Parses /proc/net/unix and /proc/net/{tcp,tcp6,udp,udp6}: socket inode -> protocol, addresses, path.

export type UnixType = 'STREAM' | 'DGRAM' | 'SEQPACKET' | 'UNKNOWN';

export interface UnixSocketEntry {
  inode: number;
  type: UnixType;
  /** 1 unconnected, 2 connecting, 3 connected, 4 disconnecting (SS_* values) */
  state: number;
  listening: boolean;
  /** bound path; abstract names start with "@"; null when unbound */
  path: string | null;
}

export const UNIX_TYPES: Record<number, UnixType> = { 1: 'STREAM', 2: 'DGRAM', 5: 'SEQPACKET' };

const SO_ACCEPTCON = 1 << 16;

/** Parses one data line of /proc/net/unix; null for the header or a malformed line. */
export function parseNetUnixLine(line: string): UnixSocketEntry | null {
  // "Num: RefCount Protocol Flags Type St Inode[ Path]"; the path may contain spaces.
  const fieldsRe = /^\s*[0-9a-fA-F]+:\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(\d+)(?: (.*))?$/s;
  const m = fieldsRe.exec(line);
  if (!m) return null;
  const flags = parseInt(m[3]!, 16);
  const type = parseInt(m[4]!, 16);
  return {
    inode: Number(m[6]),
    type: UNIX_TYPES[type] ?? 'UNKNOWN',
    state: parseInt(m[5]!, 16),
    listening: (flags & SO_ACCEPTCON) !== 0,
    path: m[7] !== undefined && m[7] !== '' ? m[7] : null,
  };
}

export function parseNetUnix(text: string): Map<number, UnixSocketEntry> {
  const out = new Map<number, UnixSocketEntry>();
  for (const line of text.split('\n')) {
    const e = parseNetUnixLine(line);
    if (e) out.set(e.inode, e);
  }
  return out;
}

export type InetProtocol = 'TCP' | 'TCPv6' | 'UDP' | 'UDPv6';

export interface InetSocketEntry {
  protocol: InetProtocol;
  inode: number;
  /** "127.0.0.1:8080" or "[::1]:8080" */
  local: string;
  remote: string;
  /** TCP state name (ESTABLISHED, LISTEN, ...) or the hex code */
  state: string;
  uid: number;
}

const TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT',
  7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
};

/** Decodes "0100007F:1F90" (IPv4, little-endian word) or a 32-digit IPv6 address (four little-endian words). */
export function decodeInetAddress(text: string): string {
  const colon = text.indexOf(':');
  const addr = text.slice(0, colon);
  const port = parseInt(text.slice(colon + 1), 16);
  if (addr.length === 8) {
    const w = parseInt(addr, 16);
    return `${w & 0xff}.${(w >>> 8) & 0xff}.${(w >>> 16) & 0xff}.${w >>> 24}:${port}`;
  }
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = parseInt(addr.slice(i, i + 8), 16);
    bytes.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);
  }
  // ::ffff:a.b.c.d (v4-mapped) prints like ss does
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `[::ffff:${bytes.slice(12).join('.')}]:${port}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `[${compressIpv6(groups)}]:${port}`;
}

function compressIpv6(groups: string[]): string {
  // RFC 5952: replace the longest run (>= 2) of zero groups with "::"
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return groups.slice(0, bestStart).join(':') + '::' + groups.slice(bestStart + bestLen).join(':');
}

/** Parses /proc/net/tcp, tcp6, udp or udp6 (same layout). */
export function parseNetInet(text: string, protocol: InetProtocol): Map<number, InetSocketEntry> {
  const out = new Map<number, InetSocketEntry>();
  const isTcp = protocol === 'TCP' || protocol === 'TCPv6';
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !f[0]!.endsWith(':')) continue; // header or blank
    const inode = Number(f[9]);
    if (!Number.isFinite(inode) || inode === 0) continue; // inode 0: TIME_WAIT and other sockets no fd holds
    const st = parseInt(f[3]!, 16);
    out.set(inode, {
      protocol,
      inode,
      local: decodeInetAddress(f[1]!),
      remote: decodeInetAddress(f[2]!),
      state: isTcp ? (TCP_STATES[st] ?? f[3]!) : st === 1 ? 'ESTABLISHED' : 'UNCONN',
      uid: Number(f[7]),
    });
  }
  return out;
}

/** The kernel's inet socket tables and their protocols (a kernel without IPv6 has no tcp6/udp6). */
const INET_TABLES = [['tcp', 'TCP'], ['tcp6', 'TCPv6'], ['udp', 'UDP'], ['udp6', 'UDPv6']] as const;
export type InetTable = (typeof INET_TABLES)[number][0];
/** The table (/proc/net/NAME) that lists a protocol's sockets. */
export const INET_TABLE = Object.fromEntries(INET_TABLES.map(([table, protocol]) => [protocol, table])) as Readonly<Record<InetProtocol, InetTable>>;

/** Every inet socket the tables list, by inode; `text(name)` reads /proc/net/NAME (a table it cannot read is skipped). */
export function readNetInet(text: (name: InetTable) => string): Map<number, InetSocketEntry> {
  const out = new Map<number, InetSocketEntry>();
  for (const [table, proto] of INET_TABLES) {
    let t: string;
    try { t = text(table); } catch { continue; }
    for (const [ino, e] of parseNetInet(t, proto)) out.set(ino, e);
  }
  return out;
}
