// Parses /proc/PID/status: the fields a snapshot and the live tracer need (Name, Tgid, Pid, PPid, TracerPid, Uid).

export interface ProcStatus {
  /** comm, unescaped (the kernel prints "\n" and "\\" escaped in this file) */
  name: string;
  tgid: number;
  pid: number;
  ppid: number;
  /** real, effective, saved set, filesystem */
  uid: [number, number, number, number];
  /** the process tracing this one (strace, gdb), 0 when none */
  tracerPid: number;
}

const UNESCAPE: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', e: '\x1b', '\\': '\\' };

function unescapeName(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (all, c: string) => UNESCAPE[c] ?? all);
}

/** Returns null when a required line (Name, Tgid, Pid) is missing. */
export function parseStatus(text: string): ProcStatus | null {
  let name: string | null = null;
  let tgid = -1;
  let pid = -1;
  let ppid = 0;
  let tracerPid = 0;
  let uid: [number, number, number, number] = [-1, -1, -1, -1];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const key = text.slice(start, colon);
      // The value starts after one tab; a Name may itself begin with spaces.
      const raw = text.slice(text.charCodeAt(colon + 1) === 0x09 ? colon + 2 : colon + 1, end);
      switch (key) {
        case 'Name':
          name = unescapeName(raw);
          break;
        case 'Tgid':
          tgid = Number(raw);
          break;
        case 'Pid':
          pid = Number(raw);
          break;
        case 'PPid':
          ppid = Number(raw);
          break;
        case 'TracerPid':
          tracerPid = Number(raw);
          break;
        case 'Uid': {
          const u = raw.trim().split(/\s+/).map(Number);
          uid = [u[0] ?? -1, u[1] ?? -1, u[2] ?? -1, u[3] ?? -1];
          break;
        }
      }
      if (key === 'Uid') break; // everything needed comes before Uid
    }
    start = end + 1;
  }
  if (name === null || tgid < 0 || pid < 0) return null;
  return { name, tgid, pid, ppid, uid, tracerPid };
}
