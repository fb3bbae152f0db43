/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.c: a program's command line, read the way GNU tools read theirs
 * (se_engine_parse_args): -c FILE, -cFILE, --config FILE, --config=FILE;
 * -s KEY=VALUE, -sKEY=VALUE, --set KEY=VALUE, --set=KEY=VALUE; -h, --help;
 * `--` ends the options. Options may come after operands. An option the
 * engine does not know is a usage error (EX_USAGE, 64) unless the program
 * takes its own; a bad value is a configuration error (EX_CONFIG, 78),
 * found later when the sources are read. The help lists every key with its
 * default. Ruby ServerEngine's examples take -c and -s the same way.
 */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

#define ARGS_VALUE_SHOW 40 /* characters of a default value in --help */

/* The value of option -X / --long at argv[*i] (all four spellings), NULL
 * when argv[*i] is not that option; *missing when its value is absent. */
static const char *
option_value(int argc, char **argv, int *i, char short_opt, const char *long_opt, bool *missing)
{
    const char *a = argv[*i];
    if (a == NULL) return NULL;
    size_t long_len = strlen(long_opt);
    if (a[0] == '-' && a[1] == short_opt) {
        if (a[2] != '\0') return a + 2;
    } else if (strncmp(a, long_opt, long_len) == 0 && a[long_len] == '=') {
        return a + long_len + 1;
    } else if (strcmp(a, long_opt) != 0) {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int
se__args_take(struct se_args *a, int *argc, char **argv, char *err, size_t err_size)
{
    int out = 1;
    bool options = true;
    for (int i = 1; i < *argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *v = NULL;
        /* an operand ("-" is one), or the program's own option: left for it */
        bool left = !options || arg[0] != '-' || arg[1] == '\0';
        if (left) {
            argv[out++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options = false;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return 1;
        } else if ((v = option_value(*argc, argv, &i, 'c', "--config", &missing)) != NULL) {
            a->config_path = v;
        } else if ((v = option_value(*argc, argv, &i, 's', "--set", &missing)) != NULL) {
            if (a->sets_count == SE_OVERRIDES_MAX) {
                snprintf(err, err_size, "too many -s options (at most %u)", SE_OVERRIDES_MAX);
                return SE_EUSAGE;
            }
            a->sets[a->sets_count++] = v;
        } else if (missing) {
            snprintf(err, err_size, "option %s needs a value", arg);
            return SE_EUSAGE;
        } else if (!a->own_options) {
            snprintf(err, err_size, "unknown option %s (see --help)", arg);
            return SE_EUSAGE;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

void
se__args_usage(const char *prog, const char *usage, const struct se_config *defaults)
{
    printf("usage: %s [-c FILE.yml] [-s KEY=VALUE]...%s\n", prog,
           usage != NULL ? " [OPTION]..." : "");
    if (usage != NULL) printf("%s%s", usage, usage[strlen(usage) - 1] == '\n' ? "" : "\n");
    printf("  -c, --config FILE     read the configuration from a YAML file\n"
           "  -s, --set KEY=VALUE   set one key (repeatable; wins over the file)\n"
           "  -h, --help            this text\n"
           "  --                    the end of the options\n"
           "\nConfiguration keys, with this program's defaults (README: \"Configuration\"):\n");
    for (size_t i = 0; i < se_config_key_count(); i++) {
        char value[SE_PATH_MAX] = "";
        const char *key = se_config_key_name(i);
        if (defaults == NULL || se_config_get(defaults, key, value, sizeof value) < 0)
            value[0] = '\0';
        if (strlen(value) > ARGS_VALUE_SHOW) memcpy(value + ARGS_VALUE_SHOW - 3, "...", 4);
        const char *help = se_config_key_help(i);
        printf("  %-28s %s (default: %s)%s\n", key, help != NULL ? help : "",
               value[0] != '\0' ? value : "\"\"", se_config_key_dynamic(i) ? " [reloadable]" : "");
    }
}
