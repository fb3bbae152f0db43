/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status_fmt.c: the status of a server as an operator reads it (status.h):
 * a pool slot's state in the operator's words, and a snapshot as a table or
 * as JSON. Pure: no system call, no clock (the snapshot carries its time),
 * no allocation; the same snapshot always gives the same text
 * (tests/unit/test_status_fmt.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "status.h"

_Static_assert(SE_STATUS_CHUNK <= SE_STATUS_TEXT_MAX, "a chunk is part of an answer");

enum se_status_state
se__status_state(const struct se_slot *ps, bool pool_stopping, int64_t now_ms, int64_t *backoff_ms)
{
    switch (ps->state) {
    case SE_SLOT_STARTING: return SE_STATUS_STARTING;
    case SE_SLOT_UP: return SE_STATUS_RUNNING;
    case SE_SLOT_STOPPING: return SE_STATUS_STOPPING;
    case SE_SLOT_DEAD: return SE_STATUS_DEAD;
    case SE_SLOT_DOWN: break;
    }
    if (pool_stopping) return SE_STATUS_STOPPED;
    if (ps->start_at_ms > now_ms) {
        *backoff_ms = ps->start_at_ms - now_ms;
        return SE_STATUS_BACKOFF;
    }
    return SE_STATUS_WAITING;
}

const char *
se__status_state_name(enum se_status_state s)
{
    switch (s) {
    case SE_STATUS_WAITING: return "waiting";
    case SE_STATUS_STARTING: return "starting";
    case SE_STATUS_RUNNING: return "running";
    case SE_STATUS_STOPPING: return "stopping";
    case SE_STATUS_BACKOFF: return "backoff";
    case SE_STATUS_DEAD: return "dead";
    case SE_STATUS_STOPPED: return "stopped";
    }
    return "?";
}

int
se__status_path(const char *pid_path, int32_t pid, const char *dir, char *buf, size_t size)
{
    int n;
    if (pid_path != NULL && pid_path[0] != '\0')
        n = snprintf(buf, size, "%s.status", pid_path);
    else
        n = snprintf(buf, size, "%s/serverengine-status-%d.sock", dir, (int)pid);
    /* sizeof sockaddr_un.sun_path is 108 on Linux */
    if (n < 0 || (size_t)n >= size || n > 107) return -ENAMETOOLONG;
    return n;
}

/* ---- an appender: writes what fits, remembers that something did not -- */

struct out {
    char *buf;
    size_t size, len;
    bool full;
};

static void SE_PRINTF(2, 3) put(struct out *o, const char *fmt, ...)
{
    if (o->full) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->len) {
        o->full = true;
        return;
    }
    o->len += (size_t)n;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
put_json_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            put(o, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            put(o, "\\u%04x", *p);
        else
            put(o, "%c", *p);
    }
    put(o, "\"");
}

/* A duration as an operator reads it: 850ms, 1.2s, 42s, 5m02s, 3h04m, 2d03h. */
static void
put_dur(struct out *o, int64_t ms)
{
    if (ms < 0) ms = 0;
    int64_t s = ms / 1000;
    if (ms < 1000)
        put(o, "%dms", (int)ms);
    else if (ms < 10000)
        put(o, "%d.%ds", (int)s, (int)(ms % 1000 / 100));
    else if (s < 60)
        put(o, "%ds", (int)s);
    else if (s < 3600)
        put(o, "%dm%02ds", (int)(s / 60), (int)(s % 60));
    else if (s < 86400)
        put(o, "%dh%02dm", (int)(s / 3600), (int)(s % 3600 / 60));
    else
        put(o, "%lldd%02dh", (long long)(s / 86400), (int)(s % 86400 / 3600));
}

/* UNIX seconds as "2026-12-02T13:10:05Z" (the civil calendar from days). */
static void
put_utc(struct out *o, int64_t t, bool iso)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sec = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    put(o, "%04lld-%02d-%02d%s%02d:%02d:%02d%s", (long long)y, (int)m, (int)d, iso ? "T" : " ",
        (int)(sec / 3600), (int)(sec % 3600 / 60), (int)(sec % 60), iso ? "Z" : " UTC");
}

static void
put_sig(struct out *o, enum se_sig sig, int32_t raw)
{
    if (sig == SE_SIG_OTHER)
        put(o, "SIG%d", (int)raw);
    else
        put(o, "%s", se_sig_name(sig));
}

/* ---- the table --------------------------------------------------------- */

static void
table_head(struct out *o, const struct se_status *st)
{
    uint32_t running = 0;
    for (uint32_t i = 0; i < st->count; i++)
        running += st->w[i].state == SE_STATUS_RUNNING;
    put(o, "server pid %d", (int)st->server_pid);
    if (st->supervisor_pid > 0) put(o, ", supervisor pid %d", (int)st->supervisor_pid);
    put(o, ", up ");
    put_dur(o, st->up_ms);
    put(o, "%s\nconfiguration: %s", st->stopping ? ", stopping" : "",
        st->config[0] != '\0' ? st->config : "no file");
    if (st->overrides > 0)
        put(o, ", %u -s setting%s", (unsigned)st->overrides, st->overrides == 1 ? "" : "s");
    if (st->reload_age_ms < 0) {
        put(o, "; never reloaded\n");
    } else {
        put(o, "; reloaded %u time%s, last at ", (unsigned)st->reloads,
            st->reloads == 1 ? "" : "s");
        put_utc(o, st->now_s - st->reload_age_ms / 1000, false);
        put(o, " (");
        put_dur(o, st->reload_age_ms);
        put(o, " ago)\n");
    }
    put(o, "workers: %u running of %u wanted\n\n", (unsigned)running, (unsigned)st->workers_wanted);
    put(o, "%-5s %-8s %-22s %-8s %-8s %-40s %s\n", "ID", "PID", "STATE", "UPTIME", "RESTARTS",
        "LAST EXIT", "HEARTBEAT");
}

/* A cell: what the appender wrote for it, padded to width. */
static void
pad_from(struct out *o, size_t start, int width)
{
    if (o->full) return;
    size_t used = o->len - start;
    for (size_t i = used; i < (size_t)width; i++)
        put(o, " ");
    put(o, " ");
}

static void
table_state(struct out *o, const struct se_status_worker *w)
{
    put(o, "%s", se__status_state_name(w->state));
    if (w->state == SE_STATUS_STOPPING && w->stop_immediate) put(o, " (immediate)");
    if (w->state == SE_STATUS_BACKOFF) {
        put(o, " for ");
        put_dur(o, w->backoff_ms);
    }
}

static void
table_exit(struct out *o, const struct se_status_worker *w)
{
    if (!w->ended) {
        put(o, "-");
    } else if (w->last_code >= 0) {
        put(o, "status %d", (int)w->last_code);
    } else {
        put_sig(o, w->last_sig, w->last_sig_raw);
        put(o, w->last_sig_ours ? " (sent by serverengine)" : " (not sent by serverengine)");
    }
}

static void
table_row(struct out *o, const struct se_status_worker *w)
{
    size_t at = o->len;
    put(o, "%u", (unsigned)w->id);
    pad_from(o, at, 5);
    at = o->len;
    if (w->pid > 0)
        put(o, "%d", (int)w->pid);
    else
        put(o, "-");
    pad_from(o, at, 8);
    at = o->len;
    table_state(o, w);
    pad_from(o, at, 22);
    at = o->len;
    if (w->uptime_ms >= 0)
        put_dur(o, w->uptime_ms);
    else
        put(o, "-");
    pad_from(o, at, 8);
    at = o->len;
    put(o, "%u", (unsigned)w->restarts);
    pad_from(o, at, 8);
    at = o->len;
    table_exit(o, w);
    pad_from(o, at, 40);
    if (w->beat_age_ms >= 0) {
        put_dur(o, w->beat_age_ms);
        put(o, " ago\n");
    } else {
        put(o, "-\n");
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static void
put_opt_ms(struct out *o, const char *key, int64_t ms)
{
    if (ms >= 0)
        put(o, ",\"%s\":%lld", key, (long long)ms);
    else
        put(o, ",\"%s\":null", key);
}

static void
json_head(struct out *o, const struct se_status *st)
{
    put(o, "{\"server_pid\":%d,\"supervisor_pid\":", (int)st->server_pid);
    if (st->supervisor_pid > 0)
        put(o, "%d", (int)st->supervisor_pid);
    else
        put(o, "null");
    put(o, ",\"config\":");
    if (st->config[0] != '\0')
        put_json_str(o, st->config);
    else
        put(o, "null");
    put(o, ",\"overrides\":%u,\"uptime_ms\":%lld,\"now\":\"", (unsigned)st->overrides,
        (long long)st->up_ms);
    put_utc(o, st->now_s, true);
    put(o, "\"");
    put(o, ",\"reloads\":%u,\"last_reload\":", (unsigned)st->reloads);
    if (st->reload_age_ms >= 0) {
        put(o, "\"");
        put_utc(o, st->now_s - st->reload_age_ms / 1000, true);
        put(o, "\"");
    } else {
        put(o, "null");
    }
    put(o, ",\"stopping\":%s,\"workers_wanted\":%u,\"workers\":[", st->stopping ? "true" : "false",
        (unsigned)st->workers_wanted);
}

static void
json_row(struct out *o, const struct se_status_worker *w, bool first)
{
    put(o, "%s{\"id\":%u,\"pid\":", first ? "" : ",", (unsigned)w->id);
    if (w->pid > 0)
        put(o, "%d", (int)w->pid);
    else
        put(o, "null");
    put(o, ",\"state\":\"%s\",\"immediate\":%s", se__status_state_name(w->state),
        w->state == SE_STATUS_STOPPING && w->stop_immediate ? "true" : "false");
    put_opt_ms(o, "backoff_ms", w->state == SE_STATUS_BACKOFF ? w->backoff_ms : -1);
    put_opt_ms(o, "uptime_ms", w->uptime_ms);
    put(o, ",\"restarts\":%u,\"last_exit\":", (unsigned)w->restarts);
    if (!w->ended) {
        put(o, "null");
    } else if (w->last_code >= 0) {
        put(o, "{\"status\":%d,\"signal\":null,\"sent_by_engine\":false}", (int)w->last_code);
    } else {
        put(o, "{\"status\":null,\"signal\":\"");
        put_sig(o, w->last_sig, w->last_sig_raw);
        put(o, "\",\"sent_by_engine\":%s}", w->last_sig_ours ? "true" : "false");
    }
    put_opt_ms(o, "heartbeat_age_ms", w->beat_age_ms);
    put(o, "}");
}

int
se__status_format(const struct se_status *st, bool json, char *buf, size_t size)
{
    SE_ASSERT(size > 0 && st->count <= SE_WORKERS_MAX);
    struct out o = {.buf = buf, .size = size};
    buf[0] = '\0';
    if (json) {
        json_head(&o, st);
        for (uint32_t i = 0; i < st->count; i++)
            json_row(&o, &st->w[i], i == 0);
        put(&o, "]}\n");
    } else {
        table_head(&o, st);
        for (uint32_t i = 0; i < st->count; i++)
            table_row(&o, &st->w[i]);
    }
    return o.full ? -ENOSPC : (int)o.len;
}
