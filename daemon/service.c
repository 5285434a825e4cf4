/* service: what mixgated needs to run as a system service. One daemon per var_dir (an flock
 * on <var_dir>/mixgated.lock, whose content names the holder's pid), private file modes (the
 * queue holds message content), the switch from root to the configured user once the
 * listeners are bound, and systemd's readiness protocol (sd_notify(3), spoken directly: one
 * datagram to $NOTIFY_SOCKET, so no library is needed). */
#define _GNU_SOURCE /* setresuid, setresgid */
#include "service.h"

#include "mg_err.h"
#include "mg_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int service_user_lookup(const char *name, struct service_user *u)
{
    memset(u, 0, sizeof *u);
    if (!name || !*name)
        return MG_EINVAL;
    char buf[16384];
    struct passwd pw, *res = NULL;
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res)
        return MG_ENOTFOUND;
    if (snprintf(u->name, sizeof u->name, "%s", name) >= (int)sizeof u->name)
        return MG_EINVAL;
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    return 0;
}

int service_mkdir_private(const char *dir, const struct service_user *owner)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return MG_EINVAL;
    /* Parents as the administrator would make them; only the var_dir itself is private. */
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return MG_EIO;
            *p = '/';
        }
    }
    if (mkdir(path, 0700) == 0) {
        /* Just made by root for the user it will run as: give it away. An existing
         * directory is never chowned (var_dir = "/tmp" must not take /tmp). */
        if (owner && lchown(path, owner->uid, owner->gid) != 0)
            return MG_EIO;
        return 0;
    }
    return errno == EEXIST ? 0 : MG_EIO;
}

int service_check_private(const char *path, int must_exist, const struct service_user *owner,
                          char *why, size_t whylen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT && !must_exist)
            return 0;
        snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
        return MG_EIO;
    }
    int dir = S_ISDIR(st.st_mode);
    if (!dir && !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is not a regular file or directory", path);
        return MG_EDENIED;
    }
    /* Message content is in there: nobody but the owner (and a group it chose to give read
     * access, e.g. for backups) may read it, and only the owner may change it. */
    if (st.st_mode & (S_IRWXO | S_IWGRP)) {
        snprintf(why, whylen, "%s is accessible by others (mode %04o); fix with: chmod %s %s", path,
                 (unsigned)(st.st_mode & 07777), dir ? "0700" : "0600", path);
        return MG_EDENIED;
    }
    if (owner && st.st_uid != owner->uid) {
        snprintf(why, whylen, "%s belongs to uid %u, not to %s (uid %u); fix with: chown -R %s: %s", path,
                 (unsigned)st.st_uid, owner->name, (unsigned)owner->uid, owner->name, path);
        return MG_EDENIED;
    }
    return 0;
}

int service_lock(const char *var_dir, const struct service_user *owner, int *fd_out, long *holder)
{
    *fd_out = -1;
    *holder = 0;
    char path[4200];
    if (snprintf(path, sizeof path, "%s/mixgated.lock", var_dir) >= (int)sizeof path)
        return MG_EINVAL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return MG_EIO;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = 0;
            *holder = strtol(buf, NULL, 10);
        }
        close(fd);
        return e == EWOULDBLOCK ? MG_EEXIST : MG_EIO;
    }
    /* The lock is the flock, held as long as the process lives (kill -9 included); the
     * content is only there to name the holder. */
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
        (owner && fchown(fd, owner->uid, owner->gid) != 0)) {
        close(fd);
        return MG_EIO;
    }
    *fd_out = fd;
    return 0;
}

int service_drop_privileges(const struct service_user *u)
{
    if (u->uid == 0)
        return MG_EINVAL;
    if (setgroups(0, NULL) != 0 || initgroups(u->name, u->gid) != 0)
        return MG_EIO;
    if (setresgid(u->gid, u->gid, u->gid) != 0 || setresuid(u->uid, u->uid, u->uid) != 0)
        return MG_EIO;
    /* Must not be able to come back. */
    if (setuid(0) == 0 || geteuid() == 0)
        return MG_EIO;
#if defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer's exit check attaches to the process's own threads, which a process made
     * non-dumpable by the switch forbids. Sanitizer builds are test builds only. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    return 0;
}

int service_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0; /* not started by systemd with Type=notify */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path)
        return MG_EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return MG_EIO;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    close(fd);
    return n == (ssize_t)strlen(state) ? 0 : MG_EIO;
}

int service_syslog_available(void)
{
    /* glibc's syslog() drops lines silently when nothing listens on /dev/log. */
    struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
    static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (ok)
            return 1;
    }
    return 0;
}
