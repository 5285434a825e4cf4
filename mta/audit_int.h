/* audit_int: what audit.c (the store: open, appends, the writer, retention) shares with
 * audit_query.c (reads). Not for other modules: they use audit.h. */
#ifndef AUDIT_INT_H
#define AUDIT_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "audit.h"

/* The store's read connection. */
struct audit_reader {
    sqlite3 *db;          /* read-only; guarded by mu */
    int version;          /* the file's schema version at open: 1 has no subjects table */
    pthread_mutex_t mu;   /* recursive: a query callback may query again */
};

struct audit_reader *audit_reader(struct audit *a);
const char *audit_path(const struct audit *a);
/* Logs SQLite's error on db for the store at path (what: the operation) and returns MG_EDB. */
int audit_db_err(sqlite3 *db, const char *path, const char *what);

#endif
