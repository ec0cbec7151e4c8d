// Groups fds into open file descriptions. Candidates with equal keys (mnt_id, inode, flags without
// O_CLOEXEC, per-type extras) are sorted with the kernel's own order (kcmp KCMP_FILE compares file
// pointers), so equal neighbours are one open file description (the neighbour pass reads the sort's own answers):
// n log n kcmp calls per bucket instead of
// n^2 across all pairs, and none for a bucket of one (a different key means a different open file) or for a
// bucket whose key alone proves it is one description (a socket's inode).

export interface FdRef {
  pid: number;
  fd: number;
}

export interface OfdCandidate extends FdRef {
  /** equal for fds that may be one open file description; null when unknown (fdinfo unreadable) */
  key: string | null;
  /** equal keys alone prove one open file description: a socket's inode (sock_alloc_file makes the one file of a
   * socket, and a socket cannot be opened again through /proc), so such a bucket needs no kcmp */
  proven?: boolean;
}

/** -1/0/1 as kcmp orders two files; { failed } for this pair (fd closed, process gone); { unavailable } for kcmp itself. */
export type OfdCompare = (a: FdRef, b: FdRef) => -1 | 0 | 1 | { failed: string } | { unavailable: string };

export interface OfdGroup {
  /** the id of the open file description: "pid:fd" of its first member in (pid, fd) order */
  id: string;
  /** indexes into the candidate list, in (pid, fd) order */
  members: number[];
}

export interface OfdResult {
  /** per candidate (same index): its ofd id, or null (unverified, gone, or no fdinfo) */
  ofd: Array<string | null>;
  /** open file descriptions held by more than one fd, in (pid, fd) order of their first member */
  groups: OfdGroup[];
  /** fds that need kcmp to decide but could not get it */
  unverified: number;
  /** why kcmp could not run at all, if it could not */
  unavailable: string | null;
  /** kcmp calls made */
  compares: number;
}

export const refId = (r: FdRef): string => `${r.pid}:${r.fd}`;

export function groupOpenFileDescriptions(candidates: OfdCandidate[], compare: OfdCompare): OfdResult {
  const buckets = new Map<string, number[]>();
  for (let i = 0; i < candidates.length; i++) {
    const key = candidates[i]!.key;
    if (key === null) continue;
    const b = buckets.get(key);
    if (b) b.push(i);
    else buckets.set(key, [i]);
  }
  return groupInBuckets(candidates, buckets.values(), compare);
}

/**
 * groupOpenFileDescriptions with the buckets already made (indexes into `candidates`, each bucket's members of one
 * key; a candidate in no bucket gets a null ofd): the snapshot buckets by numbers, without a key text per fd.
 */
export function groupInBuckets(candidates: ReadonlyArray<FdRef & { proven?: boolean }>, buckets: Iterable<number[]>, compare: OfdCompare): OfdResult {
  const n = candidates.length;
  const result: OfdResult = { ofd: new Array<string | null>(n).fill(null), groups: [], unverified: 0, unavailable: null, compares: 0 };
  const byPidFd = (a: number, b: number): number => {
    const x = candidates[a]!;
    const y = candidates[b]!;
    return x.pid - y.pid || x.fd - y.fd;
  };
  const cmp = (a: number, b: number): ReturnType<OfdCompare> => {
    result.compares++;
    return compare(candidates[a]!, candidates[b]!);
  };
  // Every answer the sort got, per ordered pair (a * n + b): the neighbour pass reads them instead of asking again
  // (the sort compared most neighbours itself: a sorted array's neighbours are where its binary insertion and its
  // merges compare).
  const seen = new Map<number, number>();
  // fds that stopped comparing (closed, process exited): sorted last, then dropped
  const dead = new Uint8Array(n);
  let deaths = 0;
  const sortKey = (a: number, b: number): number => {
    if (dead[a] || dead[b]) return dead[a] && dead[b] ? a - b : dead[a] ? 1 : -1;
    if (result.unavailable !== null) return a - b;
    // a pair the sort asks again (its run detection, then its insertion) is answered from what kcmp said
    const known = seen.get(a * n + b) ?? -(seen.get(b * n + a) ?? NaN);
    if (known === known) return known;
    const r = cmp(a, b);
    if (typeof r === 'number') {
      seen.set(a * n + b, r);
      return r;
    }
    if ('unavailable' in r) {
      result.unavailable = r.unavailable;
      return a - b;
    }
    // Whichever side no longer compares with itself is gone; both, if neither says so.
    const gone = [a, b].filter((x) => typeof cmp(x, x) !== 'number');
    for (const x of gone.length > 0 ? gone : [a, b]) {
      dead[x] = 1;
      deaths++;
    }
    return sortKey(a, b);
  };
  const sameAs = (a: number, b: number): boolean => {
    const ab = seen.get(a * n + b);
    if (ab !== undefined) return ab === 0;
    const ba = seen.get(b * n + a);
    return ba !== undefined ? ba === 0 : cmp(a, b) === 0;
  };

  for (const bucket of buckets) {
    if (bucket.length === 1) {
      const i = bucket[0]!;
      result.ofd[i] = refId(candidates[i]!);
      continue;
    }
    let items = bucket;
    if (bucket.every((i) => candidates[i]!.proven === true)) {
      items = bucket.slice().sort(byPidFd);
      const id = refId(candidates[items[0]!]!);
      for (const i of items) result.ofd[i] = id;
      result.groups.push({ id, members: items });
      continue;
    }
    if (result.unavailable !== null) {
      result.unverified += bucket.length;
      continue;
    }
    // A death mid-sort can leave earlier answers inconsistent: sort the survivors again until none die.
    for (let before = -1; before !== deaths && result.unavailable === null; ) {
      before = deaths;
      items = items.slice().sort(sortKey);
      const alive = items.filter((i) => !dead[i]);
      result.unverified += items.length - alive.length;
      items = alive;
    }
    if (result.unavailable !== null) {
      result.unverified += items.length;
      continue;
    }
    // Runs of equal neighbours are one open file description.
    let run: number[] = items.length > 0 ? [items[0]!] : [];
    const close = (): void => {
      run.sort(byPidFd);
      const id = refId(candidates[run[0]!]!);
      for (const i of run) result.ofd[i] = id;
      if (run.length > 1) result.groups.push({ id, members: run });
    };
    for (let k = 1; k < items.length; k++) {
      if (sameAs(items[k - 1]!, items[k]!)) {
        run.push(items[k]!);
      } else {
        close();
        run = [items[k]!];
      }
    }
    if (run.length > 0) close();
  }
  result.groups.sort((a, b) => byPidFd(a.members[0]!, b.members[0]!));
  return result;
}
