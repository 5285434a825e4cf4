/* What the audit tests share: a raw SQLite connection beside the store (the statements the
 * store must refuse, or must ignore), and removing a store's files after a test. Included by
 * one test file each (static functions), after cmocka.h and sqlite3.h. */
#ifndef AUDIT_TEST_RAW_H
#define AUDIT_TEST_RAW_H

#include <stdio.h>
#include <unistd.h>

/* Runs sql on its own connection to the store at path; SQLite's message goes to err. */
static int raw_exec(const char *path, const char *sql, char *err, size_t errsz)
{
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(raw, sql, NULL, NULL, &msg);
    snprintf(err, errsz, "%s", msg ? msg : "");
    sqlite3_free(msg);
    sqlite3_close(raw);
    return rc;
}

/* Removes the store at path (with its WAL, shared-memory and journal files) and dir. */
static void rm_store(const char *path, const char *dir)
{
    static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
    char p[320];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

#endif
