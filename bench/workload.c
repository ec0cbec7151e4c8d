/* workload.c — a heavy multi-process fd-passing workload for `npm run bench` (live tracing).
 * N children each send M fds (a fresh open of /etc/hostname each time) to the parent over their own
 * socketpair. Like real fd passers (a broker answering requests, a server between hand-overs), each round
 * also does ordinary work: 8 small pipe round trips and 8 getppid() calls, none of which touch the fd table.
 * The parent drains every child with poll() and prints "transfers <count>": the ground truth.
 *   workload [N=8] [M=1500]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *w) { perror(w); exit(1); }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8, m = argc > 2 ? atoi(argv[2]) : 1500;
    struct pollfd *pf = calloc(n, sizeof *pf);
    int *left = calloc(n, sizeof *left);
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            close(sv[0]);
            int p[2];
            if (pipe(p) < 0) die("pipe");
            for (int k = 0; k < m; k++) {
                char b = 'b';
                for (int j = 0; j < 8; j++) {
                    getppid();
                    if (write(p[1], &b, 1) != 1 || read(p[0], &b, 1) != 1) die("pipe io");
                }
                int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
                if (fd < 0) die("open");
                struct iovec iov = { .iov_base = &b, .iov_len = 1 };
                union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
                memset(&ctl, 0, sizeof ctl);
                struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof fd);
                if (sendmsg(sv[1], &msg, 0) != 1) die("sendmsg");
                close(fd);
            }
            _exit(0);
        }
        close(sv[1]);
        pf[i].fd = sv[0];
        pf[i].events = POLLIN;
        left[i] = m;
    }
    long total = 0;
    for (int open_children = n; open_children > 0;) {
        if (poll(pf, n, -1) < 0) die("poll");
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & POLLIN) || left[i] == 0) continue;
            char b;
            struct iovec iov = { .iov_base = &b, .iov_len = 1 };
            union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
            struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
            if (recvmsg(pf[i].fd, &msg, MSG_CMSG_CLOEXEC) != 1) die("recvmsg");
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            if (c && c->cmsg_type == SCM_RIGHTS) { int fd; memcpy(&fd, CMSG_DATA(c), sizeof fd); close(fd); total++; }
            if (--left[i] == 0) { close(pf[i].fd); pf[i].fd = -1; open_children--; }
        }
    }
    while (wait(NULL) > 0) {}
    printf("transfers %ld\n", total);
    return 0;
}
