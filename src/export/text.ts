// Readable lines for terminals and logs. Pure: records in, strings out. Traced text is escaped.
import { commPid, untracedName } from '../model/names.js';
import { escapeControl as esc } from '../model/escape.js';
import { crossingFacts } from '../view/alerts.js';
import type { AlertRecord, FdRecord, FdwatchRecord, SummaryRecord, TransferEnd, TransferRecord, Ts } from '../model/records.js';

/** The local "HH:MM:SS." of the last second clock() formatted: the lines of a burst share it. */
let clockSec = NaN;
let clockText = '';

export function clock(ts: Ts): string {
  if (ts === null) return '-';
  // the second a Date of ts * 1000 ms shows (a Date drops the fraction of a millisecond)
  const sec = Math.floor(Math.floor(ts * 1000) / 1000);
  if (sec !== clockSec) {
    const d = new Date(sec * 1000);
    const pad = (n: number): string => (n < 10 ? '0' : '') + n;
    clockSec = sec;
    clockText = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.`;
  }
  const us = Math.round((ts % 1) * 1e6) % 1e6;
  return clockText + String(us).padStart(6, '0');
}

export function who(e: TransferEnd | null): string {
  if (!e) return '?';
  if (e.pid === null) return esc(untracedName(e) ?? '?');
  return esc(commPid(e.comm, e.pid, e.tid));
}

function fdText(fd: number | null): string {
  return fd === null ? 'fd ?' : `fd ${fd}`;
}

function uids(t: TransferRecord): string {
  const a = t.from.uid;
  const b = t.to?.uid ?? null;
  return a !== null && b !== null && a !== b ? `  (uid ${a} -> ${b})` : '';
}

/** The time of the other end than the one the record is stamped with: "  sent 16:04:53.257330". */
function otherEnd(t: TransferRecord): string {
  if (t.ts === null) return '';
  if (t.sentTs !== null && t.sentTs !== t.ts) return `  sent ${clock(t.sentTs)}`;
  if (t.receivedTs !== null && t.receivedTs !== t.ts) return `  received ${clock(t.receivedTs)}`;
  return '';
}

/**
 * A transfer at the time of the event that made the record (the receive, when there was one), so that lines come
 * in time order among the fd lines around them; the other end's time is in the line.
 */
export function formatTransfer(t: TransferRecord): string {
  const arrow = t.via === 'SCM_RIGHTS' ? '--SCM_RIGHTS-->' : '--pidfd_getfd-->';
  const to = t.to ? `${who(t.to)} ${fdText(t.to.fd)}` : '(not received)';
  const state = t.state === 'delivered' ? 'delivered' : t.state === 'lost' ? `LOST: ${t.reason ?? ''}` : 'IN FLIGHT';
  return `${clock(t.ts)}  ${who(t.from)} ${fdText(t.from.fd)}  ${arrow}  ${to}  ${esc(t.target ?? '?')}  ${state}${otherEnd(t)}${uids(t)}`;
}

export function formatFd(r: FdRecord): string {
  const cx = r.cloexec === true ? ' cloexec' : '';
  const from = r.op === 'dup' && r.fromFd != null ? ` (from fd ${r.fromFd})`
    : (r.op === 'receive' || r.op === 'take') ? ` (from ${r.fromPid ?? '?'} fd ${r.fromFd ?? '?'})` : '';
  const tid = r.tid !== undefined ? `/${r.tid}` : '';
  return `${clock(r.ts)}  [${r.pid}${tid}] fd ${r.fd} ${r.op.toUpperCase()} ${r.kind} ${esc(r.target ?? '?')}${cx}${from}  ${r.syscall ?? ''}`;
}

export function formatAlert(a: AlertRecord): string {
  const facts = crossingFacts(a);
  const sev = a.severity !== undefined ? ` (${a.severity})` : '';
  return `ALERT ${a.kind}${sev}: ${facts !== null ? `${facts}: ` : ''}${esc(a.message)}`;
}

/** One line per record, for line mode (live without a TTY). Summary and map records included. */
export function formatRecord(r: FdwatchRecord): string | null {
  switch (r.type) {
    case 'transfer': return formatTransfer(r);
    case 'fd': return formatFd(r);
    case 'alert': return formatAlert(r);
    case 'process': {
      const extra = r.event === 'exec' ? ` ${esc(r.path ?? '')}` : r.event === 'exit'
        ? (r.signal ? ` killed by ${r.signal}` : ` status ${r.exitCode ?? '?'}`) : r.event === 'fork' ? ` parent ${r.ppid}`
        : r.event === 'attach' && r.tid !== undefined ? ` thread ${r.tid}`
        : r.event === 'setuid' ? ` uid ${r.fromUid ?? '?'} -> ${r.uid ?? '?'}` : '';
      return `${clock(r.ts)}  ${esc(commPid(r.comm, r.pid))} ${r.event.toUpperCase()}${extra}`;
    }
    case 'map': return `${clock(r.ts)}  [${r.pid}] MAP ${r.start}-${r.end} ${r.perms} ${esc(r.path ?? '')}${r.fd != null ? ` (fd ${r.fd}${r.transferred ? ', transferred' : ''})` : ''}`;
    case 'summary': return formatSummary(r);
  }
}

export function formatSummary(s: SummaryRecord): string {
  const t = s.transfers;
  const parts = [
    `${s.lines} lines`, `${s.syscalls} syscalls`, `${s.processes} processes`,
    `${t.delivered + t.inFlight + t.lost} fds transferred (${t.delivered} delivered, ${t.inFlight} in flight, ${t.lost} lost)`,
    `${s.alerts} alerts`, `${s.parseErrors} parse errors`,
  ];
  if (s.internalErrors) parts.push(`${s.internalErrors} trace events skipped on an internal error (the first: ${esc(s.internalErrorSample ?? '?')})`);
  if (s.opaqueMessages > 0) parts.push(`${s.opaqueMessages} messages whose fds strace did not show, or not all of them (-e verbose=none, or more fds than -s N shows?)`);
  return `summary: ${parts.join(', ')}${s.cleanEnd ? '' : ' (trace did not end cleanly)'}`;
}
