/* maps.c — a live-bench workload shaped like a browser's memory: 4 processes, each with a large
 * /proc/PID/maps (4000 separate mappings; a browser has thousands) that map a shared memfd 1000 times (map,
 * touch, unmap), as browsers do for shared-memory IPC. Prints "maps <count>": the ground truth.
 *   maps [P=4] [K=1000]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int procs = argc > 1 ? atoi(argv[1]) : 4, k = argc > 2 ? atoi(argv[2]) : 1000;
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid) continue;
        /* alternate protections so neighbours never merge into one mapping */
        for (int i = 0; i < 4000; i++) mmap(NULL, 4096, i % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int fd = memfd_create("shm", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, 65536) != 0) _exit(2);
        for (int i = 0; i < k; i++) {
            char *a = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (a == MAP_FAILED) _exit(3);
            a[i % 65536] = 1;
            munmap(a, 65536);
        }
        _exit(0);
    }
    int st, ok = 0;
    while (wait(&st) > 0) ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("maps %d\n", ok == procs ? procs * k : -1);
    return 0;
}
