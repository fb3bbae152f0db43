/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line as GNU tools read it (engine/args.c and
 * se_engine_parse_args), as a table: the arguments, whether the program
 * takes options of its own, the result, the config file and -s values
 * taken, and what is left in argv for the program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

#define ARGV_MAX 12

struct row {
    const char *argv[ARGV_MAX]; /* without the program's name */
    bool own_options;
    int rc;
    const char *config_path; /* NULL: none */
    const char *sets;        /* the -s values, space-separated */
    const char *left;        /* argv after, space-separated, without the name */
};

static const struct row rows[] = {
    {{NULL}, false, 0, NULL, "", ""},
    {{"-c", "a.yml"}, false, 0, "a.yml", "", ""},
    {{"-ca.yml"}, false, 0, "a.yml", "", ""},
    {{"--config", "a.yml"}, false, 0, "a.yml", "", ""},
    {{"--config=a.yml"}, false, 0, "a.yml", "", ""},
    {{"-s", "workers=1", "-sworkers=2", "--set", "workers=3", "--set=workers=4"},
     false,
     0,
     NULL,
     "workers=1 workers=2 workers=3 workers=4",
     ""},
    {{"--set=log=a=b"}, false, 0, NULL, "log=a=b", ""},
    {{"x", "-s", "a=1", "y"}, false, 0, NULL, "a=1", "x y"}, /* options after operands */
    {{"-s", "a=1", "--", "-s", "b=2", "--bogus"}, false, 0, NULL, "a=1", "-s b=2 --bogus"},
    {{"-"}, false, 0, NULL, "", "-"}, /* "-" is an operand */
    {{"--bogus"}, false, SE_EUSAGE, NULL, "", ""},
    {{"-x"}, false, SE_EUSAGE, NULL, "", ""},
    {{"--configx=a"}, false, SE_EUSAGE, NULL, "", ""},
    {{"--bogus", "-s", "a=1", "--port=80"}, true, 0, NULL, "a=1", "--bogus --port=80"},
    {{"-c"}, false, SE_EUSAGE, NULL, "", ""},
    {{"--set"}, true, SE_EUSAGE, NULL, "", ""},
    {{"-s", "a=1", "--help", "--bogus"}, false, 1, NULL, "a=1", ""},
    {{"-h"}, false, 1, NULL, "", ""},
};

static void
join(char *out, size_t size, const char *const *items, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(out);
        snprintf(out + at, size - at, "%s%s", i > 0 ? " " : "", items[i]);
    }
}

static void
test_args_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const struct row *row = &rows[r];
        char *argv[ARGV_MAX + 2] = {"prog"};
        int argc = 1;
        for (; row->argv[argc - 1] != NULL; argc++)
            argv[argc] = (char *)row->argv[argc - 1];
        argv[argc] = NULL;
        struct se_args a = {.own_options = row->own_options};
        char err[256] = "";
        int rc = se__args_take(&a, &argc, argv, err, sizeof err);
        char sets[512], left[512];
        join(sets, sizeof sets, a.sets, a.sets_count);
        join(left, sizeof left, (const char *const *)argv + 1, rc == 0 ? (size_t)argc - 1 : 0);
        bool ok = rc == row->rc && strcmp(sets, row->sets) == 0 &&
                  (rc != 0 || strcmp(left, row->left) == 0) &&
                  ((a.config_path == NULL && row->config_path == NULL) ||
                   (a.config_path != NULL && row->config_path != NULL &&
                    strcmp(a.config_path, row->config_path) == 0));
        if (!ok)
            fail_msg("row %zu: rc %d (want %d) sets \"%s\" (want \"%s\") left \"%s\" (want "
                     "\"%s\") config %s err \"%s\"",
                     r, rc, row->rc, sets, row->sets, left, row->left,
                     a.config_path ? a.config_path : "(none)", err);
        if (rc == SE_EUSAGE && err[0] == '\0') fail_msg("row %zu: no message", r);
        if (rc == 0 && argv[argc] != NULL) fail_msg("row %zu: argv not NULL-terminated", r);
    }
}

static int
run_nothing(struct se_worker *w)
{
    (void)w;
    return 0;
}

/* Through the public entry: a value from --config=FILE and --set=K=V is
 * in force; a usage error and a bad value come back as different codes. */
static void
test_parse_args_usage_error_and_bad_value_differ(void **state)
{
    (void)state;
    char path[] = "/tmp/se-test-args-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "workers: 2\n", 11), 11);
    close(fd);
    struct se_worker_callbacks wcb = {.run = run_nothing};
    char cfg_arg[64], err[512];
    snprintf(cfg_arg, sizeof cfg_arg, "--config=%s", path);
    int err_code = 0;

    struct se_engine *e = se_engine_new(NULL, &wcb, NULL, &err_code);
    assert_non_null(e);
    char *ok_argv[] = {"prog", cfg_arg, "--set=log_level=warn", "-sworker_type=thread", NULL};
    int argc = 4;
    assert_int_equal(se_engine_parse_args(e, NULL, &argc, ok_argv, err, sizeof err), 0);
    assert_int_equal(argc, 1);
    assert_int_equal(e->proc.cfg->workers, 2);
    assert_int_equal(e->proc.cfg->log_level, SE_LOG_WARN);
    se_engine_free(e);

    e = se_engine_new(NULL, &wcb, NULL, &err_code);
    char *usage_argv[] = {"prog", "--bogus", NULL};
    argc = 2;
    assert_int_equal(se_engine_parse_args(e, NULL, &argc, usage_argv, err, sizeof err), SE_EUSAGE);
    assert_non_null(strstr(err, "--bogus"));
    se_engine_free(e);

    e = se_engine_new(NULL, &wcb, NULL, &err_code);
    char *value_argv[] = {"prog", "--set=workers=-3", NULL};
    argc = 2;
    assert_int_equal(se_engine_parse_args(e, NULL, &argc, value_argv, err, sizeof err), SE_ECONFIG);
    assert_non_null(strstr(err, "workers"));
    se_engine_free(e);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_table),
        cmocka_unit_test(test_parse_args_usage_error_and_bad_value_differ),
    };
    return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
