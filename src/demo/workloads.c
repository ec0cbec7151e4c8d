/* workloads.c — fdwatch's built-in demo: three real fd-passing scenarios, looped slowly.
 *
 *   workloads pass     parent opens a file, forks, sends the fd to the child over a socketpair
 *   workloads broker   nscd-style: a broker hands its private (0600) file to a less privileged
 *                      child, which maps it MAP_SHARED (the child drops to uid 65534 when run as root)
 *   workloads reload   hot reload: the old server hands its listening TCP socket to the new one
 *   workloads loop [N] all three, one after the other, N rounds (default: until killed), 1 s apart
 *
 * Built by `fdwatch demo` with the system C compiler; every step prints one line on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static void send_fd(int sock, int fd) {
    char byte = 'x';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &msg, 0) != 1) die("sendmsg");
}

static int recv_fd(int sock) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) die("recvmsg");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no SCM_RIGHTS\n"); exit(1); }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/*
 * A socketpair and a child to pass `sent` to: the child keeps sv[1] (and does not inherit `sent`), the
 * parent keeps sv[0]. Returns the child's pid in the parent, 0 in the child.
 */
static pid_t fork_over_pair(int sv[2], int sent) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        close(sv[0]);
        close(sent);
    } else {
        close(sv[1]);
    }
    return pid;
}

static int wait_child(pid_t pid) {
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int pass(void) {
    int file = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (file < 0) file = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (file < 0) die("open");
    int sv[2];
    pid_t pid = fork_over_pair(sv, file);
    if (pid == 0) {
        int got = recv_fd(sv[1]);
        char buf[64];
        ssize_t n = read(got, buf, sizeof buf);
        printf("pass: child %d got fd %d (%zd bytes)\n", (int)getpid(), got, n);
        close(got);
        _exit(0);
    }
    send_fd(sv[0], file);
    close(file);
    close(sv[0]);
    return wait_child(pid);
}

static int broker(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/private-cache", dir);
    int file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (file < 0) die("open private-cache");
    if (ftruncate(file, 4096) < 0) die("ftruncate");
    if (pwrite(file, "cached entries\n", 15, 0) != 15) die("pwrite");
    int sv[2];
    pid_t pid = fork_over_pair(sv, file);
    if (pid == 0) {
        /* the client runs unprivileged; it still gets the broker's private file */
        if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0) die("setresuid");
        char req = 'q';
        if (write(sv[1], &req, 1) != 1) die("write");
        int got = recv_fd(sv[1]);
        void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, got, 0);
        if (m == MAP_FAILED) die("mmap");
        close(got);
        printf("broker: client %d (uid %d) mapped the private cache: %.14s\n", (int)getpid(), (int)geteuid(), (char *)m);
        munmap(m, 4096);
        _exit(0);
    }
    char req;
    if (read(sv[0], &req, 1) != 1) die("read");
    send_fd(sv[0], file);
    close(sv[0]);
    close(file);
    return wait_child(pid);
}

static int reload(void) {
    int lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0) die("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    if (bind(lsock, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(lsock, 16) < 0) die("listen");
    socklen_t len = sizeof a;
    getsockname(lsock, (struct sockaddr *)&a, &len);
    int sv[2];
    pid_t pid = fork_over_pair(sv, lsock); /* the child is the new version of the server */
    if (pid == 0) {
        int got = recv_fd(sv[1]);
        int c = accept4(got, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) die("accept4");
        printf("reload: new server %d took over port %d (fd %d) and accepted a client\n", (int)getpid(), ntohs(a.sin_port), got);
        close(c);
        close(got);
        _exit(0);
    }
    send_fd(sv[0], lsock); /* hand over, then go away: the socket stays open in the new server */
    close(lsock);
    close(sv[0]);
    int cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cl < 0 || connect(cl, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    close(cl);
    return wait_child(pid);
}

static volatile sig_atomic_t stopping;
static void on_stop(int sig) { (void)sig; stopping = 1; }

static void pause_ms(long ms) {
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "loop";
    char dir[] = "/tmp/fdwatch-demo-XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp");
    int rc = 0;
    if (strcmp(mode, "pass") == 0) rc = pass();
    else if (strcmp(mode, "broker") == 0) rc = broker(dir);
    else if (strcmp(mode, "reload") == 0) rc = reload();
    else if (strcmp(mode, "loop") == 0) {
        long rounds = argc > 2 ? atol(argv[2]) : 0;
        struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: a stop ends the pause at once */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (long i = 0; !stopping && (rounds == 0 || i < rounds); i++) {
            rc |= pass();
            if (!stopping) pause_ms(700);
            if (!stopping) rc |= broker(dir);
            if (!stopping) pause_ms(700);
            if (!stopping) rc |= reload();
            if (!stopping) pause_ms(700);
        }
    } else {
        fprintf(stderr, "usage: workloads pass|broker|reload|loop [rounds]\n");
        rc = 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/private-cache", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}
