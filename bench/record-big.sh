#!/usr/bin/env bash
# Record a large real multi-process strace log for fdwatch benchmarks.
#
#   bench/record-big.sh OUT.log        # N=60 by default (BIG_N=... to change)
#
# What it traces: `make -j2` over a generated Makefile that, N times, compiles
# fixtures/programs/seed.c with gcc into its own binary (gcc -> cc1, as,
# collect2, ld: ~5 processes each) and runs it (one SCM_RIGHTS transfer each:
# parent sends /etc/hostname to its forked child). So the log holds ~8N
# processes, N fd transfers, lots of open/close/mmap/dup2/pipe/execve, and
# make's jobserver pipe inherited by every job.
# Recorded as: strace -f -yy -tt -T -o OUT make -j2 -C TMPDIR
# Needs gcc, make, strace. Each compile+run is ~8-10k lines (~0.9 MB), so N=60
# gives ~450-600k lines / ~50-60 MB in ~10-15 s on 2 cores (N=200: 2M lines, 200 MB,
# 60 s). Prints the line count.
# Leaves nothing behind: the temp dir is removed, and on interrupt the strace
# (and with it, its tracees) is stopped.
set -euo pipefail

OUT=${1:?usage: bench/record-big.sh OUT.log}
N=${BIG_N:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEED=$HERE/../fixtures/programs/seed.c
for tool in strace gcc make; do
  command -v "$tool" >/dev/null || { echo "record-big.sh: $tool not found" >&2; exit 1; }
done
[ -f "$SEED" ] || { echo "record-big.sh: $SEED missing" >&2; exit 1; }
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
mkdir -p "$(dirname "$OUT")"

WORK=$(mktemp -d /tmp/fdwatch-big.XXXXXX)
SPID=
cleanup() {
  local rc=$?
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    # strace -o with a command blocks SIGTERM/SIGINT (-I3) unless -I says
    # otherwise; we start it with -I2 so SIGTERM stops it and kills its
    # tracees (they were started by strace).
    kill -TERM "$SPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$SEED" "$WORK/seed.c"
{
  printf 'all:'
  for i in $(seq "$N"); do printf ' run%d' "$i"; done
  printf '\n\n'
  for i in $(seq "$N"); do
    printf 'seed%d: seed.c\n\tgcc -O1 -o $@ seed.c\n' "$i"
    printf 'run%d: seed%d\n\t./seed%d /etc/hostname > seed%d.out\n' "$i" "$i" "$i" "$i"
  done
} >"$WORK/Makefile"

start=$(date +%s%N)
# run in the background so the trap can stop it; -I2 keeps SIGTERM deliverable
(cd "$WORK" && exec strace -I2 -f -yy -tt -T -o "$OUT" make -s -j2 -C "$WORK" all </dev/null >/dev/null) &
SPID=$!
rc=0
wait "$SPID" || rc=$?
SPID=
end=$(date +%s%N)
if [ "$rc" -ne 0 ]; then echo "record-big.sh: make under strace failed ($rc)" >&2; exit "$rc"; fi

lines=$(wc -l <"$OUT")
bytes=$(wc -c <"$OUT")
scm=$(grep -c 'SCM_RIGHTS' "$OUT" || true)
procs=$(grep -c '+++ exited with' "$OUT" || true)
printf '%s lines\n' "$lines"
ms=$(( (end - start) / 1000000 ))
printf 'record-big.sh: %s: %s bytes, %s SCM_RIGHTS lines, %s exits, %d.%03d s (N=%s)\n' \
  "$OUT" "$bytes" "$scm" "$procs" $((ms / 1000)) $((ms % 1000)) "$N" >&2
