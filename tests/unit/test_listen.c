/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `listen` addresses, the socket-activation environment a spawned
 * program receives, the placement of its sockets at descriptors 3.., and
 * the adoption of the engine's own activation sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"

struct parse_row {
    const char *text;
    int rc;
    enum se_listen_kind kind;
    const char *host_or_path;
    uint16_t port;
    int32_t mode;
};

static void
test_listen_addresses_parse_into_kind_host_port_and_path(void **state)
{
    (void)state;
    static const struct parse_row rows[] = {
        {"tcp://127.0.0.1:8080", 0, SE_LISTEN_TCP, "127.0.0.1", 8080, -1},
        {"udp://[::1]:53", 0, SE_LISTEN_UDP, "::1", 53, -1},
        {"tcp://*:80", 0, SE_LISTEN_TCP, "*", 80, -1},
        {"tcp://localhost:0", 0, SE_LISTEN_TCP, "localhost", 0, -1},
        {"unix:/run/app.sock", 0, SE_LISTEN_UNIX, "/run/app.sock", 0, -1},
        {"unix:/run/app.sock?mode=0660&owner=0&group=0", 0, SE_LISTEN_UNIX, "/run/app.sock", 0,
         0660},
        {"unix:relative", -EINVAL, 0, NULL, 0, 0},
        {"unix:/x?mode=999", -EINVAL, 0, NULL, 0, 0},
        {"unix:/x?color=red", -EINVAL, 0, NULL, 0, 0},
        {"tcp://127.0.0.1", -EINVAL, 0, NULL, 0, 0},
        {"tcp://:80", -EINVAL, 0, NULL, 0, 0},
        {"tcp://[::1]80", -EINVAL, 0, NULL, 0, 0},
        {"tcp://h:65536", -EINVAL, 0, NULL, 0, 0},
        {"sctp://h:1", -EINVAL, 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct parse_row *r = &rows[i];
        struct se_listen_addr a;
        char err[256] = "";
        int rc = se__listen_parse(r->text, &a, err, sizeof err);
        if (rc != r->rc) fail_msg("%s: rc %d, expected %d (%s)", r->text, rc, r->rc, err);
        if (rc < 0) {
            assert_non_null(strstr(err, r->text)); /* the message names the address */
            continue;
        }
        assert_int_equal(a.kind, r->kind);
        assert_string_equal(r->kind == SE_LISTEN_UNIX ? a.path : a.host, r->host_or_path);
        assert_int_equal(a.port, r->port);
        assert_int_equal(a.mode, r->mode);
    }
}

static void
test_listen_env_names_every_socket_without_the_separator(void **state)
{
    (void)state;
    struct se_listen_set set = {.count = 2};
    snprintf(set.names[0], sizeof set.names[0], "tcp://127.0.0.1:8080");
    snprintf(set.names[1], sizeof set.names[1], "unix:/run/a.sock");
    struct se_listen_env env;
    assert_int_equal(se__listen_env(&set, 4242, &env), 0);
    assert_string_equal(env.fds, "LISTEN_FDS=2");
    assert_string_equal(env.pid, "LISTEN_PID=4242");
    assert_string_equal(env.names, "LISTEN_FDNAMES=tcp-//127.0.0.1-8080:unix-/run/a.sock");
    struct se_listen_set none = {.count = 0};
    assert_int_equal(se__listen_env(&none, 1, &env), -EINVAL);
}

static ino_t
inode_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return 0;
    return st.st_ino;
}

/* In a child: three sockets, one of them already at fd 4 (a target), end
 * at 3, 4, 5 in order, without close-on-exec. */
static int
place_child(void)
{
    int sv[2], other;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 10;
    other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (dup2(sv[0], 4) < 0) return 11;
    close(sv[0]);
    int32_t fds[3] = {other, 4, sv[1]};
    ino_t want[3] = {inode_of(other), inode_of(4), inode_of(sv[1])};
    if (se__net_place_fds(fds, 3) != 0) return 12;
    for (int i = 0; i < 3; i++) {
        if (inode_of(3 + i) != want[i]) return 20 + i;
        if (fcntl(3 + i, F_GETFD) & FD_CLOEXEC) return 30 + i;
    }
    return 0;
}

static int
in_child(int (*fn)(void))
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) _exit(fn());
    int status = 0;
    assert_int_equal(waitpid(p, &status, 0), p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void
test_a_spawned_program_gets_its_sockets_from_descriptor_3_in_order(void **state)
{
    (void)state;
    assert_int_equal(in_child(place_child), 0);
}

/* In a child: a socket at fd 3 and LISTEN_* naming this pid: adopted, the
 * variables removed, nothing bound for the (empty) `listen` list. */
static int
adopt_child(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || dup2(s, 3) < 0) return 10;
    if (s != 3) close(s);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_FDNAMES", "web", 1);
    struct se_config *cfg = se_config_new();
    static struct se_listen_set set;
    char err[256] = "";
    if (se__listen_open(&set, cfg, err, sizeof err) != 0) return 11;
    se_config_free(cfg);
    if (set.count != 1 || set.fds[0] != 3 || strcmp(set.names[0], "web") != 0) return 12;
    if (!(fcntl(3, F_GETFD) & FD_CLOEXEC)) return 13;
    if (getenv("LISTEN_PID") != NULL || getenv("LISTEN_FDS") != NULL) return 14;
    se__listen_close(&set);
    return fcntl(3, F_GETFD) < 0 ? 0 : 15;
}

/* Another process's LISTEN_PID: not ours, nothing adopted. */
static int
foreign_child(void)
{
    setenv("LISTEN_PID", "1", 1);
    setenv("LISTEN_FDS", "1", 1);
    struct se_config *cfg = se_config_new();
    static struct se_listen_set set;
    char err[256] = "";
    int rc = se__listen_open(&set, cfg, err, sizeof err);
    se_config_free(cfg);
    return rc == 0 && set.count == 0 ? 0 : 10;
}

static void
test_the_engine_adopts_its_own_activation_sockets_only(void **state)
{
    (void)state;
    assert_int_equal(in_child(adopt_child), 0);
    assert_int_equal(in_child(foreign_child), 0);
}

/* Opening binds; a second open of the same address fails naming it. */
static void
test_listen_open_binds_and_names_the_address_that_fails(void **state)
{
    (void)state;
    struct se_config *cfg = se_config_new();
    char err[512] = "";
    assert_int_equal(
        se_config_set(cfg, "listen", "[tcp://127.0.0.1:0, udp://127.0.0.1:0]", err, sizeof err), 0);
    static struct se_listen_set set, again;
    assert_int_equal(se__listen_open(&set, cfg, err, sizeof err), 0);
    assert_int_equal(set.count, 2);
    int type = 0;
    socklen_t len = sizeof type;
    assert_int_equal(getsockopt(set.fds[1], SOL_SOCKET, SO_TYPE, &type, &len), 0);
    assert_int_equal(type, SOCK_DGRAM);
    /* the same UDP port again: EADDRINUSE, named */
    struct sockaddr_storage ss;
    len = sizeof ss;
    getsockname(set.fds[1], (struct sockaddr *)&ss, &len);
    char addr[48], text[64];
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    snprintf(text, sizeof text, "[%s]", addr);
    assert_int_equal(se_config_set(cfg, "listen", text, err, sizeof err), 0);
    assert_int_equal(se__listen_open(&again, cfg, err, sizeof err), -EADDRINUSE);
    assert_non_null(strstr(err, addr));
    assert_int_equal(again.count, 0);
    se__listen_close(&set);
    se_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_addresses_parse_into_kind_host_port_and_path),
        cmocka_unit_test(test_listen_env_names_every_socket_without_the_separator),
        cmocka_unit_test(test_a_spawned_program_gets_its_sockets_from_descriptor_3_in_order),
        cmocka_unit_test(test_the_engine_adopts_its_own_activation_sockets_only),
        cmocka_unit_test(test_listen_open_binds_and_names_the_address_that_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
