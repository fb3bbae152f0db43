/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SocketManager's request lines: what is a request, what is not, what
 * is not whole yet, and what is too long to wait for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sockmgr.h"

struct row {
    const char *line;
    int rc; /* > 0: the whole text is consumed */
    enum se_sockmgr_op op;
    enum se_listen_kind kind;
    const char *host;
    uint16_t port;
    bool reuseport;
};

static void
test_sockmgr_request_lines_parse_or_are_refused(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"LISTEN tcp 127.0.0.1 8080\n", 1, SE_SOCKMGR_LISTEN, SE_LISTEN_TCP, "127.0.0.1", 8080, 0},
        {"LISTEN udp ::1 53 reuseport\n", 1, SE_SOCKMGR_LISTEN, SE_LISTEN_UDP, "::1", 53, 1},
        {"LISTEN tcp * 0\n", 1, SE_SOCKMGR_LISTEN, SE_LISTEN_TCP, "*", 0, 0},
        {"SOCKET tcp 10.0.0.1 65535\n", 1, SE_SOCKMGR_SOCKET, SE_LISTEN_TCP, "10.0.0.1", 65535, 0},
        {"TAKEOVER\n", 1, SE_SOCKMGR_TAKEOVER, 0, "", 0, 0},
        {"END\n", 1, SE_SOCKMGR_END, 0, "", 0, 0},
        {"LISTEN tcp 127.0.0.1 8080", 0, 0, 0, NULL, 0, 0}, /* not whole yet */
        {"", 0, 0, 0, NULL, 0, 0},
        {"LISTEN tcp 127.0.0.1 65536\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"LISTEN tcp localhost 80\n", -EINVAL, 0, 0, NULL, 0,
         0}, /* names: the client's to resolve */
        {"LISTEN sctp 1.2.3.4 80\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"LISTEN tcp  1.2.3.4 80\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"LISTEN tcp 1.2.3.4 80 reuse\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"LISTEN tcp 1.2.3.4 80 reuseport x\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"LISTEN tcp 1.2.3.4 -1\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"TAKEOVER now\n", -EINVAL, 0, 0, NULL, 0, 0},
        {"\n", -EINVAL, 0, 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct se_sockmgr_req req;
        int rc = se__sockmgr_parse(r->line, strlen(r->line), &req);
        int want = r->rc > 0 ? (int)strlen(r->line) : r->rc;
        if (rc != want) fail_msg("\"%s\": %d, expected %d", r->line, rc, want);
        if (rc <= 0) continue;
        assert_int_equal(req.op, r->op);
        assert_int_equal(req.kind, r->kind);
        assert_string_equal(req.host, r->host);
        assert_int_equal(req.port, r->port);
        assert_int_equal(req.reuseport, r->reuseport);
    }
}

static void
test_sockmgr_a_line_without_end_is_refused_at_the_limit(void **state)
{
    (void)state;
    char big[SE_SOCKMGR_LINE_MAX + 8];
    memset(big, 'A', sizeof big);
    struct se_sockmgr_req req;
    assert_int_equal(se__sockmgr_parse(big, SE_SOCKMGR_LINE_MAX - 1, &req), 0);
    assert_int_equal(se__sockmgr_parse(big, sizeof big, &req), -EMSGSIZE);
    big[SE_SOCKMGR_LINE_MAX] = '\n'; /* past the limit: still refused */
    assert_int_equal(se__sockmgr_parse(big, sizeof big, &req), -EMSGSIZE);
}

static void
test_sockmgr_two_lines_are_taken_one_at_a_time(void **state)
{
    (void)state;
    const char *text = "SOCKET udp 0.0.0.0 53\nEND\n";
    struct se_sockmgr_req req;
    int n = se__sockmgr_parse(text, strlen(text), &req);
    assert_int_equal(n, (int)strlen("SOCKET udp 0.0.0.0 53\n"));
    assert_int_equal(req.op, SE_SOCKMGR_SOCKET);
    assert_int_equal(se__sockmgr_parse(text + n, strlen(text) - (size_t)n, &req), 4);
    assert_int_equal(req.op, SE_SOCKMGR_END);
}

static void
test_sockmgr_a_formatted_request_parses_back(void **state)
{
    (void)state;
    struct se_sockmgr_req req = {
        .op = SE_SOCKMGR_LISTEN, .kind = SE_LISTEN_UDP, .host = "::", .port = 9, .reuseport = true};
    char line[SE_SOCKMGR_LINE_MAX];
    int n = se__sockmgr_format(&req, line, sizeof line);
    assert_string_equal(line, "LISTEN udp :: 9 reuseport\n");
    struct se_sockmgr_req back;
    assert_int_equal(se__sockmgr_parse(line, (size_t)n, &back), n);
    assert_int_equal(back.reuseport, true);
    assert_int_equal(se__sockmgr_format(&req, line, 8), -ENOSPC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sockmgr_request_lines_parse_or_are_refused),
        cmocka_unit_test(test_sockmgr_a_line_without_end_is_refused_at_the_limit),
        cmocka_unit_test(test_sockmgr_two_lines_are_taken_one_at_a_time),
        cmocka_unit_test(test_sockmgr_a_formatted_request_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
