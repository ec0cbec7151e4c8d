// Delivered fds that crossed a uid or a privilege (issue 14): which alerts they make, grouped per cause. Pure: the
// file's facts come from a lookup live mode gives (stat of /proc/PID/fd/N); a replay has none and says "unknown".
import type { AlertKind, TransferEnd, TransferRecord } from '../model/records.js';
import { commPid } from '../model/names.js';
import { mayOpen, modeText, type Access, type FileOwner } from './access.js';

/** What the kernel said of a delivered fd's file at the transfer, and of the receiver's credentials. */
export interface FileFacts {
  /** stat of the fd: null when it could not be read, or it is no file a path could open (socket, pipe, anon) */
  file: FileOwner | null;
  /** the open file description's access mode (fdinfo `flags`) */
  access: Access | null;
  /** the receiver's fsuid as /proc showed it; null when it could not be read (the trace's uid is used then) */
  toUid: number | null;
  /** the receiver's groups (Gid's fsgid and Groups), when read with that same uid; null when not known */
  toGids: number[] | null;
}

export type FileFactsLookup = (t: TransferRecord) => FileFacts | null;

export interface Crossing {
  kind: AlertKind;
  /** the receiver */
  pid: number | null;
  fds: Array<{ from: TransferEnd; target: string | null }>;
  one: string;
  many: string;
  extra: {
    severity: 'info' | 'warning';
    file: { mode: string; uid: number; gid: number } | null;
    fromUid: number | null;
    toUid: number | null;
    access: Access | null;
  };
}

/** Kinds a process opens by path: the only ones whose mode says who could have opened them. */
const OPENABLE = new Set(['file', 'dir', 'device']);

const ACCESS_WORDS: Record<Access, string> = { r: 'reading', w: 'writing', rw: 'reading and writing' };

/**
 * The alerts a set of delivered fds (one receive, or one take) makes: `privilege-crossing` (warning) for each file the
 * receiver could not have opened itself with that access mode, `uid-crossing` (info) for each fd that went from one
 * uid to another. fds of one sender that share the same facts make one alert.
 */
export function crossingsOf(delivered: readonly TransferRecord[], lookup: FileFactsLookup | null): Crossing[] {
  const out = new Map<string, Crossing>();
  const add = (key: string, make: () => Crossing, t: TransferRecord): void => {
    const c = out.get(key);
    if (c) c.fds.push({ from: t.from, target: t.target });
    else { const n = make(); n.fds.push({ from: t.from, target: t.target }); out.set(key, n); }
  };
  for (const t of delivered) {
    if (t.state !== 'delivered' || t.to === null) continue;
    const to = t.to;
    const facts = lookup !== null && t.to.pid !== null ? lookup(t) : null;
    const fromUid = t.from.uid;
    // the trace's uid when it knows one (at the receive), else what /proc said
    const toUid = to.uid ?? facts?.toUid ?? null;
    const gids = facts !== null && facts.toUid !== null && facts.toUid === toUid ? facts.toGids : null;
    const owner = OPENABLE.has(t.kind) ? facts?.file ?? null : null;
    const file = owner ? { mode: modeText(owner.mode), uid: owner.uid, gid: owner.gid } : null;
    const access = facts?.access ?? null;
    const recv = commPid(to.comm, to.pid);
    // the facts (mode, owner, uids, access) are the alert's fields, which every view shows beside the message
    const accText = access === null ? 'unknown' : ACCESS_WORDS[access];
    const extra = { file, fromUid, toUid, access };
    const sig = `${t.from.pid} ${to.pid} ${file?.mode} ${file?.uid} ${file?.gid} ${access}`;
    if (owner !== null && access !== null && toUid !== null && mayOpen(owner, toUid, gids, access) === 'no') {
      add(`p ${sig}`, () => ({
        kind: 'privilege-crossing', pid: to.pid, fds: [],
        one: `to ${recv}, which could not have opened it itself for ${accText}`,
        many: `to ${recv}, which could not have opened them itself for ${accText}`,
        extra: { severity: 'warning', ...extra },
      }), t);
    }
    if (fromUid !== null && toUid !== null && fromUid !== toUid) {
      add(`u ${sig}`, () => ({
        kind: 'uid-crossing', pid: to.pid, fds: [],
        one: `crossed to ${recv}, another uid`,
        many: `crossed to ${recv}, another uid`,
        extra: { severity: 'info', ...extra },
      }), t);
    }
  }
  return [...out.values()];
}
