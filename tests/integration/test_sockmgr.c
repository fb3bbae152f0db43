/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SocketManager with real sockets in one process: the server side is
 * served from this thread (as the server's loop does), the clients run on
 * another thread or in a forked child of another uid.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logger.h"
#include "sockmgr.h"

#define DEADLINE_MS 5000

struct call {
    const char *host;
    uint16_t port;
    bool udp;
    const char *takeover_from; /* instead: take over into sm */
    struct se_sockmgr *sm;
    int fd;
    int rc;
    int done; /* atomic */
};

static void *
client_main(void *arg)
{
    struct call *c = arg;
    if (c->takeover_from != NULL)
        c->rc = se__sockmgr_takeover(c->sm, c->takeover_from);
    else if (c->udp)
        c->rc = se_socket_manager_listen_udp(c->host, c->port, &c->fd);
    else
        c->rc = se_socket_manager_listen_tcp(c->host, c->port, &c->fd);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Runs the call on a thread while this one serves sm until it is done. */
static void
call(struct se_sockmgr *sm, struct se_logger *lg, struct call *c)
{
    c->fd = -1;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
    for (int waited = 0; !__atomic_load_n(&c->done, __ATOMIC_ACQUIRE); waited += 10) {
        if (waited > DEADLINE_MS) fail_msg("the client got no answer");
        struct pollfd p = {.fd = sm->lfd, .events = POLLIN};
        if (poll(&p, 1, 10) == 1) se__sockmgr_serve(sm, lg);
    }
    pthread_join(th, NULL);
}

static ino_t
inode_of(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

static int
family_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family;
}

struct fixture {
    struct se_sockmgr sm;
    struct se_logger *lg;
    char log_path[64];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->log_path, sizeof f->log_path, "/tmp/se-sockmgr-test-%d.log", (int)getpid());
    int err = 0;
    f->lg = se_logger_new(f->log_path, &err);
    if (f->lg == NULL || se__sockmgr_start(&f->sm) != 0) return -1;
    struct stat st;
    if (stat(f->sm.path, &st) != 0 || (st.st_mode & 0777) != 0600) return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char path[sizeof f->sm.path];
    memcpy(path, f->sm.path, sizeof path);
    se__sockmgr_stop(&f->sm);
    assert_int_equal(access(path, F_OK), -1); /* the path is removed */
    se_logger_free(f->lg);
    unlink(f->log_path);
    unsetenv("SERVERENGINE_SOCKETMANAGER_PATH");
    unsetenv("SERVERENGINE_USE_SOCKET_REUSEPORT");
    free(f);
    return 0;
}

static void
test_every_worker_gets_the_same_socket_for_the_same_address(void **state)
{
    struct fixture *f = *state;
    struct call a = {.host = "127.0.0.1"}, b = {.host = "127.0.0.1"};
    call(&f->sm, f->lg, &a);
    assert_int_equal(a.rc, 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    getsockname(a.fd, (struct sockaddr *)&sin, &len);
    b.port = ntohs(sin.sin_port); /* the port the kernel chose for port 0 */
    call(&f->sm, f->lg, &b);
    assert_int_equal(b.rc, 0);
    assert_true(a.fd != b.fd);
    /* port 0 was a new socket; the same port again is the one already held */
    struct call c = {.host = "127.0.0.1", .port = b.port};
    call(&f->sm, f->lg, &c);
    assert_int_equal(inode_of(b.fd), inode_of(c.fd));
    int ok = 0;
    len = sizeof ok;
    getsockopt(c.fd, SOL_SOCKET, SO_ACCEPTCONN, &ok, &len);
    assert_int_equal(ok, 1);
    close(a.fd), close(b.fd), close(c.fd);
}

static void
test_ipv6_and_udp_sockets_are_served(void **state)
{
    struct fixture *f = *state;
    struct call six = {.host = "::1"}, udp = {.host = "127.0.0.1", .udp = true};
    call(&f->sm, f->lg, &six);
    assert_int_equal(six.rc, 0);
    assert_int_equal(family_of(six.fd), AF_INET6);
    call(&f->sm, f->lg, &udp);
    assert_int_equal(udp.rc, 0);
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(udp.fd, SOL_SOCKET, SO_TYPE, &type, &len);
    assert_int_equal(type, SOCK_DGRAM);
    close(six.fd), close(udp.fd);
}

static void
test_a_bind_error_comes_back_to_the_worker(void **state)
{
    struct fixture *f = *state;
    struct call bad = {.host = "192.0.2.1", .port = 1}; /* an address this host does not have */
    call(&f->sm, f->lg, &bad);
    assert_int_equal(bad.rc, -EADDRNOTAVAIL);
    assert_int_equal(bad.fd, -1);
}

static void
test_with_reuseport_each_worker_gets_a_socket_of_its_own(void **state)
{
    struct fixture *f = *state;
    se__sockmgr_stop(&f->sm);
    setenv("SERVERENGINE_USE_SOCKET_REUSEPORT", "1", 1);
    assert_int_equal(se__sockmgr_start(&f->sm), 0);
    struct call a = {.host = "127.0.0.1"};
    call(&f->sm, f->lg, &a);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    getsockname(a.fd, (struct sockaddr *)&sin, &len);
    struct call b = {.host = "127.0.0.1", .port = ntohs(sin.sin_port)};
    call(&f->sm, f->lg, &b);
    assert_int_equal(b.rc, 0);
    assert_true(inode_of(a.fd) != inode_of(b.fd)); /* two sockets on one port */
    close(a.fd), close(b.fd);
}

static void
test_a_peer_of_another_uid_is_refused_and_logged(void **state)
{
    struct fixture *f = *state;
    /* who may: root and the server's own user, nobody else */
    assert_true(se__peer_uid_allowed(0, 1000));
    assert_true(se__peer_uid_allowed(1000, 1000));
    assert_false(se__peer_uid_allowed(1001, 1000));
    assert_false(se__peer_uid_allowed(65534, 0));
    if (geteuid() != 0) {
        /* unprivileged, no other user to become: a peer of our own uid is
         * served, and nothing is refused */
        struct call own = {.host = "127.0.0.1"};
        call(&f->sm, f->lg, &own);
        assert_int_equal(own.rc, 0);
        assert_int_equal(f->sm.refused, 0);
        close(own.fd);
        return;
    }
    /* the 0600 path keeps nobody out before it connects; opened up here to
     * see the credential check itself refuse it */
    assert_int_equal(chmod(f->sm.path, 0666), 0);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
        int fd = -1;
        int rc = se_socket_manager_listen_tcp("127.0.0.1", 0, &fd);
        _exit(rc == 0 ? 11 : 0);
    }
    int status = -1;
    for (int waited = 0; waitpid(p, &status, WNOHANG) == 0; waited += 10) {
        if (waited > DEADLINE_MS) fail_msg("the child did not finish");
        struct pollfd pf = {.fd = f->sm.lfd, .events = POLLIN};
        if (poll(&pf, 1, 10) == 1) se__sockmgr_serve(&f->sm, f->lg);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(f->sm.refused, 1);
    assert_int_equal(f->sm.count, 0);
    FILE *log = fopen(f->log_path, "re");
    char line[512];
    bool found = false;
    while (log != NULL && fgets(line, sizeof line, log) != NULL)
        found = found || strstr(line, "refused a peer of uid 65534") != NULL;
    if (log != NULL) fclose(log);
    assert_true(found);
}

static void
test_a_new_server_takes_over_every_socket_of_a_running_one(void **state)
{
    struct fixture *f = *state;
    struct call a = {.host = "127.0.0.1"}, u = {.host = "127.0.0.1", .udp = true};
    call(&f->sm, f->lg, &a);
    call(&f->sm, f->lg, &u);
    static struct se_sockmgr fresh;
    char old_path[sizeof f->sm.path];
    memcpy(old_path, f->sm.path, sizeof old_path);
    assert_int_equal(se__sockmgr_start(&fresh), 0);
    struct call take = {.takeover_from = old_path, .sm = &fresh};
    call(&f->sm, f->lg, &take);
    assert_int_equal(take.rc, 0);
    assert_int_equal(fresh.count, 2);
    assert_int_equal(inode_of(fresh.sockets[0].fd), inode_of(a.fd));
    assert_int_equal(inode_of(fresh.sockets[1].fd), inode_of(u.fd));
    /* the new server answers for the old address with the very same socket */
    struct call again = {.host = "127.0.0.1", .port = fresh.sockets[0].addr.port};
    call(&fresh, f->lg, &again);
    assert_int_equal(inode_of(again.fd), inode_of(a.fd));
    close(a.fd), close(u.fd), close(again.fd);
    se__sockmgr_stop(&fresh);
    setenv("SERVERENGINE_SOCKETMANAGER_PATH", f->sm.path, 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_worker_gets_the_same_socket_for_the_same_address),
        T(test_ipv6_and_udp_sockets_are_served),
        T(test_a_bind_error_comes_back_to_the_worker),
        T(test_with_reuseport_each_worker_gets_a_socket_of_its_own),
        T(test_a_peer_of_another_uid_is_refused_and_logged),
        T(test_a_new_server_takes_over_every_socket_of_a_running_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
