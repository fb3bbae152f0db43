/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privileges.c: dropping privileges (serverengine(5), chuser, chgroup,
 * chumask): user and group resolved by name or number, supplementary groups
 * replaced by the user's own (initgroups), never merged with root's, group
 * before user, and the drop checked to be irreversible (hazard H5 of
 * daemon.c); handing a file (the log) over to the new owner first.
 *
 * Keeps no state. Every system call passes its fault point first
 * (faults/points.def).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon.h"
#include "se_fault.h"

#define LOOKUP_BUF_MAX (1u << 20) /* getpw*_r / getgr*_r buffers stop growing here */

/* ---- privileges ----------------------------------------------------------- */

/* A user or group, resolved: what the drop needs, copied out of the
 * lookup's buffer. */
struct ident {
    uint32_t id;  /* uid or gid */
    uint32_t gid; /* user: the primary group */
    char name[SE_NAME_MAX];
};

static int
mem_alloc(size_t size, char **buf)
{
    SE_FAULT_CHECK(SE_FAULT_MEM_ALLOC);
    *buf = malloc(size);
    return *buf != NULL ? 0 : -ENOMEM;
}

/* "1000" names an id, as in Ruby's Privilege; anything else a name. */
static bool
parse_id(const char *text, uint32_t *id)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9') return false;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v >= UINT32_MAX) return false;
    *id = (uint32_t)v;
    return true;
}

/* The *_r lookups return an errno; these several mean "no such entry". */
static int
lookup_result(int r, bool found)
{
    if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
        return found ? 0 : SE_ECONFIG;
    return -r;
}

static int
cred_getpw(const char *user, struct passwd *pw, char *buf, size_t size, struct passwd **res)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_GETPW);
    uint32_t id = 0;
    int r;
    do {
        *res = NULL;
        r = parse_id(user, &id) ? getpwuid_r((uid_t)id, pw, buf, size, res)
                                : getpwnam_r(user, pw, buf, size, res);
    } while (r == EINTR);
    return lookup_result(r, *res != NULL);
}

static int
cred_getgr(const char *group, struct group *gr, char *buf, size_t size, struct group **res)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_GETGR);
    uint32_t id = 0;
    int r;
    do {
        *res = NULL;
        r = parse_id(group, &id) ? getgrgid_r((gid_t)id, gr, buf, size, res)
                                 : getgrnam_r(group, gr, buf, size, res);
    } while (r == EINTR);
    return lookup_result(r, *res != NULL);
}

static size_t
lookup_buf_size(int which)
{
    long n = sysconf(which);
    return n > 0 && (unsigned long)n < LOOKUP_BUF_MAX ? (size_t)n : 4096u;
}

static int
user_lookup(const char *user, struct ident *u, char *err, size_t err_size)
{
    struct passwd pw;
    struct passwd *res = NULL;
    char *buf = NULL;
    int rc;
    /* The buffer grows on ERANGE: big NSS entries exist (LDAP). */
    for (size_t size = lookup_buf_size(_SC_GETPW_R_SIZE_MAX);; size *= 2) {
        rc = mem_alloc(size, &buf);
        if (rc == 0) rc = cred_getpw(user, &pw, buf, size, &res);
        if (rc != -ERANGE || size >= LOOKUP_BUF_MAX) break;
        free(buf);
        buf = NULL;
    }
    if (rc == 0 && strlen(pw.pw_name) >= sizeof u->name) rc = -ENAMETOOLONG;
    if (rc == 0) {
        u->id = (uint32_t)pw.pw_uid;
        u->gid = (uint32_t)pw.pw_gid;
        memcpy(u->name, pw.pw_name, strlen(pw.pw_name) + 1);
    } else if (rc == SE_ECONFIG) {
        se__daemon_set_err(err, err_size, "chuser: no such user \"%s\"", user);
    } else {
        se__daemon_set_err(err, err_size, "chuser: cannot look up user \"%s\": %s", user,
                           se_strerror(rc));
    }
    free(buf);
    return rc;
}

static int
group_lookup(const char *group, struct ident *g, char *err, size_t err_size)
{
    struct group gr;
    struct group *res = NULL;
    char *buf = NULL;
    int rc;
    for (size_t size = lookup_buf_size(_SC_GETGR_R_SIZE_MAX);; size *= 2) {
        rc = mem_alloc(size, &buf);
        if (rc == 0) rc = cred_getgr(group, &gr, buf, size, &res);
        if (rc != -ERANGE || size >= LOOKUP_BUF_MAX) break;
        free(buf);
        buf = NULL;
    }
    if (rc == 0) {
        g->id = (uint32_t)gr.gr_gid;
        g->gid = (uint32_t)gr.gr_gid;
        snprintf(g->name, sizeof g->name, "%s", gr.gr_name);
    } else if (rc == SE_ECONFIG) {
        se__daemon_set_err(err, err_size, "chgroup: no such group \"%s\"", group);
    } else {
        se__daemon_set_err(err, err_size, "chgroup: cannot look up group \"%s\": %s", group,
                           se_strerror(rc));
    }
    free(buf);
    return rc;
}

static int
cred_initgroups(const char *user, gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_INITGROUPS);
    return initgroups(user, gid) < 0 ? -errno : 0;
}

static int
cred_setgroups(gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETGROUPS);
    return setgroups(1, &gid) < 0 ? -errno : 0;
}

/* setgid/setuid as root set the real, effective and saved ids: nothing is
 * left to regain (verified afterwards). */
static int
cred_setgid(gid_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETGID);
    return setgid(gid) < 0 ? -errno : 0;
}

static int
cred_setuid(uid_t uid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_SETUID);
    return setuid(uid) < 0 ? -errno : 0;
}

static bool
ids_are(uint32_t uid, uint32_t gid)
{
    return getuid() == (uid_t)uid && geteuid() == (uid_t)uid && getgid() == (gid_t)gid &&
           getegid() == (gid_t)gid;
}

/* The drop must be for good: real, effective and saved ids changed, so that
 * setuid(0) and setgid(0) now fail. Succeeding would mean running as root. */
static int
verify_dropped(bool was_root, const struct ident *u, uint32_t gid, char *err, size_t err_size)
{
    if (!ids_are(u->id, gid)) {
        se__daemon_set_err(err, err_size,
                           "chuser: the change to user \"%s\" (uid %u, gid %u) did not hold",
                           u->name, u->id, gid);
        return -EPERM;
    }
    if (!was_root || u->id == 0) return 0;
    if (cred_setuid(0) == 0 || (gid != 0 && cred_setgid(0) == 0)) {
        se__daemon_set_err(err, err_size,
                           "chuser: root could be regained after the change to \"%s\"", u->name);
        return -EPERM;
    }
    return 0;
}

/* Supplementary groups first (they need root), set to the user's own: never
 * root's (H5). Then the group, then the user (group first: a user can no
 * longer change its group, ServerEngine 2.0.1). */
static int
drop_to_user(const struct ident *u, const struct ident *g, char *err, size_t err_size)
{
    bool was_root = geteuid() == 0;
    uint32_t gid = g != NULL ? g->id : u->gid;
    /* Already that user and group: nothing to do, and without root nothing
     * could be done (even setgroups to the same list needs CAP_SETGID). */
    if (!was_root && ids_are(u->id, gid)) return 0;
    int rc = cred_initgroups(u->name, (gid_t)u->gid);
    if (rc < 0) {
        se__daemon_set_err(err, err_size,
                           "chuser: cannot set the supplementary groups of \"%s\": %s", u->name,
                           se_strerror(rc));
        return rc;
    }
    rc = cred_setgid((gid_t)gid);
    if (rc < 0) {
        se__daemon_set_err(err, err_size, "%s: cannot change group to gid %u: %s",
                           g != NULL ? "chgroup" : "chuser", gid, se_strerror(rc));
        return rc;
    }
    rc = cred_setuid((uid_t)u->id);
    if (rc < 0) {
        se__daemon_set_err(err, err_size, "chuser: cannot change user to \"%s\" (uid %u): %s",
                           u->name, u->id, se_strerror(rc));
        return rc;
    }
    return verify_dropped(was_root, u, gid, err, err_size);
}

/* A group alone: as root, the supplementary groups shrink to just it (root's
 * own must not survive); without root they cannot change, and are ours. */
static int
drop_to_group(const struct ident *g, char *err, size_t err_size)
{
    if (getgid() == (gid_t)g->id && getegid() == (gid_t)g->id && geteuid() != 0) return 0;
    int rc = geteuid() == 0 ? cred_setgroups((gid_t)g->id) : 0;
    if (rc == 0) rc = cred_setgid((gid_t)g->id);
    if (rc == 0 && (getgid() != (gid_t)g->id || getegid() != (gid_t)g->id)) rc = -EPERM;
    if (rc < 0)
        se__daemon_set_err(err, err_size, "chgroup: cannot change group to \"%s\" (gid %u): %s",
                           g->name, g->id, se_strerror(rc));
    return rc;
}

/* The user and group the process will run as: uid, gid (gid of the user
 * when no group is named). */
static int
target_ids(const char *user, const char *group, uint32_t *uid, uint32_t *gid, char *err,
           size_t err_size)
{
    struct ident u = {.id = (uint32_t)geteuid(), .gid = (uint32_t)getegid()};
    struct ident g = {0};
    int rc = 0;
    if (user != NULL && user[0] != '\0') rc = user_lookup(user, &u, err, err_size);
    if (rc == 0 && group != NULL && group[0] != '\0') rc = group_lookup(group, &g, err, err_size);
    if (rc < 0) return rc;
    *uid = u.id;
    *gid = group != NULL && group[0] != '\0' ? g.id : u.gid;
    return 0;
}

static int
handover_open(const char *path, int32_t *fd)
{
    SE_FAULT_CHECK(SE_FAULT_FS_OPEN);
    *fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    return *fd < 0 ? -errno : 0;
}

/* The fstat of the file handed over (the same fault point as the pid
 * file's: both guard a path we created). */
static int
handover_fstat(int32_t fd, struct stat *st)
{
    SE_FAULT_CHECK(SE_FAULT_FS_PIDFILE_STAT);
    return fstat(fd, st) < 0 ? -errno : 0;
}

static int
cred_fchown(int32_t fd, uint32_t uid, uint32_t gid)
{
    SE_FAULT_CHECK(SE_FAULT_CRED_CHOWN);
    return fchown(fd, (uid_t)uid, (gid_t)gid) < 0 ? -errno : 0;
}

int
se__privileges_hand_over(const char *user, const char *group, const char *path, char *err,
                         size_t err_size)
{
    uint32_t uid = 0, gid = 0;
    se__daemon_set_err(err, err_size, "%s", "");
    int rc = target_ids(user, group, &uid, &gid, err, err_size);
    if (rc < 0) return rc;
    /* never through a link, never blocking on a FIFO; only a regular file
     * of ours with one name (the one we created) */
    int32_t fd = -1;
    rc = handover_open(path, &fd);
    struct stat st;
    if (rc == 0) rc = handover_fstat(fd, &st);
    if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()))
        rc = -EPERM;
    if (rc == 0) rc = cred_fchown(fd, uid, gid);
    se__daemon_fd_close(&fd);
    if (rc < 0)
        se__daemon_set_err(err, err_size,
                           "%s: cannot give it to the user it will be written by: %s", path,
                           se_strerror(rc));
    return rc;
}

int
se__privileges_drop(const char *user, const char *group, int32_t umask_value, char *err,
                    size_t err_size)
{
    struct ident u = {0};
    struct ident g = {0};
    bool has_user = user != NULL && user[0] != '\0';
    bool has_group = group != NULL && group[0] != '\0';
    int rc = 0;
    se__daemon_set_err(err, err_size, "%s", "");
    /* Both names resolved before anything changes: a typo changes nothing. */
    if (has_user) rc = user_lookup(user, &u, err, err_size);
    if (rc == 0 && has_group) rc = group_lookup(group, &g, err, err_size);
    if (rc == 0 && has_user) rc = drop_to_user(&u, has_group ? &g : NULL, err, err_size);
    if (rc == 0 && !has_user && has_group) rc = drop_to_group(&g, err, err_size);
    if (rc < 0) return rc;
    if (umask_value >= 0) umask((mode_t)umask_value & 0777);
    return 0;
}
