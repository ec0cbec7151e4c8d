// The replay report: a fold of records into the view model every view shares (src/view/model.ts), drawn as
// text. It reads records only, never the correlator, and stays bounded by the model's LIMITS.
import { commPid } from '../model/names.js';
import { escapeControl as esc } from '../model/escape.js';
import type { FdwatchRecord, SummaryRecord } from '../model/records.js';
import { LIMITS, applyRecord, emptyModel, type FdOrigin, type FdView, type Model, type ProcView } from '../view/model.js';
import { formatAlert, formatSummary, formatTransfer } from './text.js';

function originText(o: FdOrigin): string {
  switch (o.how) {
    case 'opened': return `opened (${o.syscall ?? '?'})`;
    case 'dup': return `dup of fd ${o.fromFd ?? '?'} (${o.syscall ?? '?'})`;
    case 'inherited': return `inherited from ${o.fromPid ?? '?'}`;
    case 'received': return `received from ${esc(commPid(o.fromComm, o.fromPid))} fd ${o.fromFd ?? '?'}`;
    case 'taken': return `taken via pidfd_getfd from ${esc(commPid(o.fromComm, o.fromPid))} fd ${o.fromFd ?? '?'}`;
    case 'before': return 'open before the trace';
    case 'snapshot': return 'open at attach';
  }
}

function fdLine(en: FdView): string {
  return `    ${String(en.fd).padStart(4)}  ${en.kind.padEnd(7)} ${esc(en.target ?? '?')}${en.cloexec ? '  [cloexec]' : ''}  <- ${originText(en.origin)}`;
}

/** A process and its fd table (at exit, for one that exited), as the report lists it. */
export function processLines(p: ProcView): string[] {
  const status = p.exited ? (p.signal ? `killed by ${p.signal}` : `exited ${p.exitCode ?? '?'}`) : 'running';
  const threads = p.tids.length > 0 ? `, ${p.tids.length + 1} threads` : '';
  const out = [`${esc(commPid(p.comm, p.pid))} ppid ${p.ppid ?? '?'} uid ${p.uid ?? '?'} ${status}, sent ${p.sent} fds, received ${p.received}${threads}`];
  const fds = [...p.fds.values()].sort((a, b) => a.fd - b.fd);
  if (fds.length === 0) out.push(`    (${p.exited ? 'fds at exit' : 'fds'}: none known)`);
  for (const en of fds) out.push(fdLine(en));
  if (p.fdsDropped > 0) out.push(`    (${p.fdsDropped} more fds not kept)`);
  return out;
}

export class Report {
  private readonly m: Model = emptyModel();

  push(r: FdwatchRecord): void {
    applyRecord(this.m, r, 0);
  }

  render(summary: SummaryRecord): string {
    const m = this.m;
    const lines: string[] = [];
    const transfers = m.transfers.toArray();
    const shownTransfers = m.counts.delivered + m.counts.inFlight + m.counts.lost;
    lines.push(`TRANSFERS (${shownTransfers})`);
    if (shownTransfers > transfers.length) lines.push(`  (${shownTransfers - transfers.length} earlier transfers left out: the report keeps the last ${LIMITS.transfers}; --json has every record)`);
    for (const t of transfers) lines.push('  ' + formatTransfer(t.rec));
    if (transfers.length === 0) lines.push('  (none)');
    lines.push('', 'PROCESSES');
    const procs = [...m.processes.values()].sort((a, b) => a.seq - b.seq);
    for (const p of procs) for (const l of processLines(p)) lines.push('  ' + l);
    if (m.counts.evicted > 0) {
      lines.push(`  (${m.counts.evicted} earlier processes left out: the report keeps ${LIMITS.processes}, exited ones go first; --json has every record)`);
    }
    const alerts = m.alerts.toArray();
    lines.push('', `ALERTS (${m.counts.alerts})`);
    if (m.counts.alerts > alerts.length) lines.push(`  (${m.counts.alerts - alerts.length} earlier alerts left out: the report keeps the last ${LIMITS.alerts}; --json has every record)`);
    for (const a of alerts) lines.push('  ' + formatAlert(a.rec));
    if (alerts.length === 0) lines.push('  (none)');
    lines.push('', formatSummary(summary));
    for (const e of summary.parseErrorSamples.slice(0, 5)) lines.push(`  line ${e.line}: ${esc(e.reason)}`);
    return lines.join('\n') + '\n';
  }
}
