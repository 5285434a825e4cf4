/* service: one daemon per var_dir, private file modes, the switch to an unprivileged user,
 * and systemd's sd_notify readiness protocol. */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>
#include <sys/types.h>

struct service_user {
    char name[64];
    uid_t uid;
    gid_t gid;
};

/* The passwd entry of name: 0, MG_ENOTFOUND, MG_EINVAL. */
int service_user_lookup(const char *name, struct service_user *u);
/* mkdir -p; the last component is made 0700 and, when owner is set, given to it (only when
 * this call created it). */
int service_mkdir_private(const char *dir, const struct service_user *owner);
/* 0 if path is private (no access for others, no write for the group; owned by owner when
 * given); else MG_EDENIED/MG_EIO with why saying how to fix it. A missing path is fine
 * unless must_exist. */
int service_check_private(const char *path, int must_exist, const struct service_user *owner,
                          char *why, size_t whylen);
/* Takes the exclusive lock <var_dir>/mixgated.lock and writes our pid in it; *fd_out stays
 * open for the process's life. MG_EEXIST when another process holds it (*holder = its pid,
 * 0 if unknown). */
int service_lock(const char *var_dir, const struct service_user *owner, int *fd_out, long *holder);
/* setgroups/setgid/setuid to u for good; MG_EINVAL for uid 0. */
int service_drop_privileges(const struct service_user *u);
/* One sd_notify datagram ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET; 0 without one. */
int service_notify(const char *state);
/* 1 if something listens on /dev/log. */
int service_syslog_available(void);

#endif
