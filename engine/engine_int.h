/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_int.h: the public engine object (engine.c) and the command line
 * (args.c), the top of the runtime's layers:
 *
 *     engine.c -> supervisor.c -> server.c -> worker.c -> process.c
 *
 * (process.h says what each layer holds). The driver and the pure machines
 * know nothing of these objects: the runtime plugs into the driver through
 * its hooks, the same seam the simulator uses.
 */
#ifndef SE_ENGINE_INT_H
#define SE_ENGINE_INT_H

#include "supervisor.h"

struct se_engine {
    struct se_proc proc;      /* the process's services: sources, logger, daemon... */
    struct se_server *server; /* the server object of this process (owned), or NULL */
    bool ran;
    int config_error; /* the last se_engine_configure failed: run refuses */
    char config_error_msg[SE_MSG_MAX];
    const char *usage; /* se_engine_set_usage: the program's --help lines */
    bool own_options;  /* ... and whether it takes options of its own */
};

/* args.c: the command line (se_engine_parse_args). */
struct se_args {
    bool own_options;        /* options the engine does not know are the program's */
    const char *config_path; /* -c, or NULL */
    const char *sets[SE_OVERRIDES_MAX];
    size_t sets_count;
};
/* Takes the engine's options out of argv (argc updated; operands and the
 * program's own options stay). Returns 0, 1 for --help, or SE_EUSAGE with a
 * message in err. */
int se__args_take(struct se_args *a, int *argc, char **argv, char *err, size_t err_size);
/* Prints --help: the options, the program's usage lines, every key. */
void se__args_usage(const char *prog, const char *usage, const struct se_config *defaults);

#endif /* SE_ENGINE_INT_H */
