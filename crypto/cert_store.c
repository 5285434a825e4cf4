/* cert_store: the SQLite certificate store (see cert_store.h). Certificates are kept as DER with
 * the fields we search on extracted into columns; private keys as encrypted PKCS#8 DER. */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "cert_store.h"
#include "cms_internal.h"
#include "cms_keys.h"
#include "cms_wrap.h"
#include "cert_ocsp.h"
#include "mg_buf.h"
#include "mg_err.h"
#include "mg_log.h"

struct cert_store {
    sqlite3 *db;
    char *pass; /* owned, may be NULL */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS certs("
    " id INTEGER PRIMARY KEY, der BLOB NOT NULL UNIQUE, subject TEXT, orname TEXT,"
    " not_before INTEGER, not_after INTEGER, anchor INTEGER NOT NULL DEFAULT 0,"
    " key BLOB, added INTEGER);"
    "CREATE TABLE IF NOT EXISTS emails(cert INTEGER NOT NULL REFERENCES certs(id),"
    " email TEXT NOT NULL COLLATE NOCASE, UNIQUE(cert, email));"
    "CREATE INDEX IF NOT EXISTS emails_email ON emails(email);"
    "CREATE INDEX IF NOT EXISTS certs_orname ON certs(orname COLLATE NOCASE);"
    "CREATE TABLE IF NOT EXISTS crls(id INTEGER PRIMARY KEY, der BLOB NOT NULL UNIQUE,"
    " issuer TEXT);"
    "CREATE TABLE IF NOT EXISTS ocsp(cert INTEGER PRIMARY KEY REFERENCES certs(id),"
    " status INTEGER NOT NULL, next_update INTEGER NOT NULL, checked INTEGER NOT NULL);";

int cert_store_open(struct cert_store **out, const char *path, const char *pass)
{
    struct cert_store *s = calloc(1, sizeof *s);
    if (!s)
        return MG_ENOMEM;
    if (pass && !(s->pass = strdup(pass))) {
        free(s);
        return MG_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        cert_store_close(s);
        return MG_EDB;
    }
    *out = s;
    return 0;
}

void cert_store_close(struct cert_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    if (s->pass)
        OPENSSL_cleanse(s->pass, strlen(s->pass));
    free(s->pass);
    free(s);
}

static long long asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (long long)timegm(&tm);
}

/* Encrypted PKCS#8 DER of key (AES-256-CBC, PBKDF2 from the store passphrase). */
static int key_blob(struct cert_store *s, EVP_PKEY *key, unsigned char **out, int *len)
{
    if (!s->pass)
        return MG_ENOKEY;
    BIO *b = BIO_new(BIO_s_mem());
    int rc = MG_ECRYPTO;
    if (b && i2d_PKCS8PrivateKey_bio(b, key, EVP_aes_256_cbc(), NULL, 0, NULL, s->pass)) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0 && (*out = malloc((size_t)n))) {
            memcpy(*out, p, (size_t)n);
            *len = (int)n;
            rc = 0;
        }
    }
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

static EVP_PKEY *key_from_blob(struct cert_store *s, const void *blob, int len)
{
    if (!s->pass || len <= 0)
        return NULL;
    BIO *b = BIO_new_mem_buf(blob, len);
    EVP_PKEY *k = b ? d2i_PKCS8PrivateKey_bio(b, NULL, NULL, s->pass) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

/* cert_store_add, and with only_if_new the harvest's "store unless known": the check and the
 * insert in one write transaction, so two connections harvesting the same certificate at once
 * count it new once. *added (may be NULL) says whether a row was written. */
static int add_cert(struct cert_store *s, X509 *cert, EVP_PKEY *key, int anchor,
                    const char *orname, long long *id, int only_if_new, int *added)
{
    if (added)
        *added = 0;
    unsigned char *der = NULL, *kb = NULL;
    int dlen = i2d_X509(cert, &der), klen = 0, rc = 0;
    if (dlen <= 0)
        return MG_EPARSE;
    if (key && X509_check_private_key(cert, key) != 1) {
        OPENSSL_free(der);
        ERR_clear_error();
        return MG_ENOKEY;
    }
    if (key && (rc = key_blob(s, key, &kb, &klen))) {
        OPENSSL_free(der);
        return rc;
    }
    char subj[512];
    X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof subj);
    sqlite3_stmt *st = NULL;
    rc = MG_EDB;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (only_if_new) {
        if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM certs WHERE der = ?1", -1, &st, NULL) !=
            SQLITE_OK)
            goto rollback;
        sqlite3_bind_blob(st, 1, der, dlen, SQLITE_STATIC);
        int r = sqlite3_step(st);
        sqlite3_finalize(st);
        st = NULL;
        if (r == SQLITE_ROW) {
            rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : MG_EDB;
            goto out;
        }
        if (r != SQLITE_DONE)
            goto rollback;
    }
    if (sqlite3_prepare_v2(s->db,
            "INSERT INTO certs(der, subject, orname, not_before, not_after, anchor, key, added)"
            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%s','now'))"
            " ON CONFLICT(der) DO UPDATE SET anchor = max(anchor, ?6),"
            " key = coalesce(?7, key), orname = coalesce(?3, orname)"
            " RETURNING id", -1, &st, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_blob(st, 1, der, dlen, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, subj, -1, SQLITE_TRANSIENT);
    if (orname)
        sqlite3_bind_text(st, 3, orname, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, asn1_time_unix(X509_get0_notBefore(cert)));
    sqlite3_bind_int64(st, 5, asn1_time_unix(X509_get0_notAfter(cert)));
    sqlite3_bind_int(st, 6, !!anchor);
    if (kb)
        sqlite3_bind_blob(st, 7, kb, klen, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto rollback;
    long long rid = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    STACK_OF(OPENSSL_STRING) *emails = X509_get1_email(cert);
    for (int i = 0; i < sk_OPENSSL_STRING_num(emails); i++) {
        if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO emails(cert, email) VALUES(?1, ?2)",
                               -1, &st, NULL) != SQLITE_OK)
            break;
        sqlite3_bind_int64(st, 1, rid);
        sqlite3_bind_text(st, 2, sk_OPENSSL_STRING_value(emails, i), -1, SQLITE_TRANSIENT);
        int ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        st = NULL;
        if (!ok) {
            X509_email_free(emails);
            goto rollback;
        }
    }
    X509_email_free(emails);
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto rollback;
    if (id)
        *id = rid;
    if (added)
        *added = 1;
    rc = 0;
    goto out;
rollback:
    sqlite3_finalize(st);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
    OPENSSL_free(der);
    if (kb)
        OPENSSL_cleanse(kb, (size_t)klen);
    free(kb);
    return rc;
}

int cert_store_add(struct cert_store *s, X509 *cert, EVP_PKEY *key, int anchor, const char *orname,
                   long long *id)
{
    return add_cert(s, cert, key, anchor, orname, id, 0, NULL);
}

int cert_store_add_crl(struct cert_store *s, X509_CRL *crl)
{
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    if (n <= 0)
        return MG_EPARSE;
    char iss[512];
    X509_NAME_oneline(X509_CRL_get_issuer(crl), iss, sizeof iss);
    sqlite3_stmt *st;
    int rc = MG_EDB;
    if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO crls(der, issuer) VALUES(?1, ?2)", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, der, n, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, iss, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MG_EDB;
        sqlite3_finalize(st);
    }
    OPENSSL_free(der);
    return rc;
}

int cert_store_import_file(struct cert_store *s, const char *path, const char *p12pass, int anchor,
                           const char *orname)
{
    unsigned char *d;
    size_t len;
    int rc = mg_read_file(path, 16u << 20, &d, &len);
    if (rc)
        return rc;
    int n = 0;
    STACK_OF(X509) *certs = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    EVP_PKEY *key = NULL;
    X509 *p12cert = NULL;
    if (cms_keys_load_p12(d, len, p12pass, &key, &p12cert, &certs) == 0) {
        if (p12cert && (rc = cert_store_add(s, p12cert, key, anchor, orname, NULL)) == 0)
            n++;
        /* the chain of a PKCS#12 is not trusted by being there */
        for (int i = 0; !rc && i < sk_X509_num(certs); i++)
            if ((rc = cert_store_add(s, sk_X509_value(certs, i), NULL, 0, NULL, NULL)) == 0)
                n++;
        goto out;
    }
    rc = 0;
    cms_keys_parse_certs(d, len, &certs);
    cms_keys_parse_crls(d, len, &crls);
    {   /* a private key in the same PEM file (e.g. cert + key bundle) */
        BIO *b = BIO_new_mem_buf(d, (int)len);
        key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)(p12pass ? p12pass : "")) : NULL;
        BIO_free(b);
        ERR_clear_error();
    }
    for (int i = 0; !rc && i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        int match = key && X509_check_private_key(c, key) == 1;
        ERR_clear_error();
        if ((rc = cert_store_add(s, c, match ? key : NULL, anchor, orname, NULL)) == 0)
            n++;
    }
    for (int i = 0; !rc && i < sk_X509_CRL_num(crls); i++)
        if ((rc = cert_store_add_crl(s, sk_X509_CRL_value(crls, i))) == 0)
            n++;
    if (!rc && n == 0)
        rc = MG_EPARSE;
out:
    free(d);
    X509_free(p12cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    return rc ? rc : n;
}

static X509 *cert_from_col(sqlite3_stmt *st, int col)
{
    const unsigned char *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    return p && n > 0 ? d2i_X509(NULL, &p, n) : NULL;
}

int cert_store_find_encryption_cert(struct cert_store *s, const char *addr,
                                    const struct cms_policy *p, X509 **out, char *why,
                                    size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "no certificate for %s", addr);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
            "SELECT der FROM certs WHERE id IN (SELECT cert FROM emails WHERE email = ?1)"
            " OR orname = ?1 COLLATE NOCASE ORDER BY not_before DESC, id DESC", -1, &st,
            NULL) != SQLITE_OK)
        return MG_EDB;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
    int rc = MG_ENOTFOUND, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        X509 *c = cert_from_col(st, 0);
        if (!c)
            continue;
        /* never a revoked, expired or untrusted certificate: try the next newest */
        int crc = cms_policy_check_cert(p, c, NULL, X509_PURPOSE_ANY, why, whylen);
        if (crc == 0) {
            *out = c;
            rc = 0;
            break;
        }
        rc = crc;
        X509_free(c);
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = MG_EDB;
    sqlite3_finalize(st);
    ERR_clear_error();
    return rc;
}

int cert_store_fill_policy(struct cert_store *s, struct cms_policy *p)
{
    sqlite3_stmt *st;
    int rc = 0, r;
    if (sqlite3_prepare_v2(s->db, "SELECT der, anchor, key FROM certs", -1, &st, NULL) != SQLITE_OK)
        return MG_EDB;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        X509 *c = cert_from_col(st, 0);
        if (!c)
            continue;
        rc = sqlite3_column_int(st, 1) ? cms_policy_add_anchor(p, c) : cms_policy_add_untrusted(p, c);
        EVP_PKEY *k = key_from_blob(s, sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2));
        if (!rc && k)
            rc = cms_policy_add_key(p, c, k);
        EVP_PKEY_free(k);
        X509_free(c);
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(s->db,
            "SELECT certs.der, ocsp.status FROM ocsp JOIN certs ON certs.id = ocsp.cert"
            " WHERE ocsp.next_update > ?1 AND ocsp.status IN (0, 1)", -1, &st, NULL) != SQLITE_OK)
        return MG_EDB;
    sqlite3_bind_int64(st, 1, (long long)time(NULL));
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        X509 *c = cert_from_col(st, 0);
        if (c)
            rc = cms_policy_add_ocsp_status(p, c, sqlite3_column_int(st, 1) == CERT_OCSP_REVOKED);
        X509_free(c);
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(s->db, "SELECT der FROM crls", -1, &st, NULL) != SQLITE_OK)
        return MG_EDB;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *q = sqlite3_column_blob(st, 0);
        X509_CRL *crl = q ? d2i_X509_CRL(NULL, &q, sqlite3_column_bytes(st, 0)) : NULL;
        if (crl)
            rc = cms_policy_add_crl(p, crl);
        X509_CRL_free(crl);
    }
    sqlite3_finalize(st);
    ERR_clear_error();
    return rc;
}

int cert_store_harvest(struct cert_store *s, const struct cms_result *res)
{
    int n = 0;
    for (int i = 0; i < sk_X509_num(res->signers); i++) {
        int rc = cert_store_harvest_cert(s, sk_X509_value(res->signers, i));
        if (rc < 0)
            return rc;
        n += rc;
    }
    return n;
}

int cert_store_harvest_cert(struct cert_store *s, X509 *cert)
{
    unsigned char *der = NULL;
    int dlen = i2d_X509(cert, &der);
    if (dlen <= 0)
        return MG_EPARSE;
    sqlite3_stmt *st;
    int rc = MG_EDB;
    /* a known certificate costs one read and no write lock */
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM certs WHERE der = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, der, dlen, SQLITE_STATIC);
        int r = sqlite3_step(st);
        rc = r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? 1 : MG_EDB;
        sqlite3_finalize(st);
    }
    OPENSSL_free(der);
    if (rc == 1) {
        int added = 0;
        int arc = add_cert(s, cert, NULL, 0, NULL, NULL, 1, &added);
        rc = arc ? arc : added;
    }
    return rc;
}

int cert_store_list(struct cert_store *s, FILE *f)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
            "SELECT id, anchor, key IS NOT NULL, date(not_before, 'unixepoch'),"
            " date(not_after, 'unixepoch'), (SELECT group_concat(email, ',') FROM emails"
            " WHERE cert = certs.id), coalesce(orname, '-'), subject FROM certs ORDER BY id",
            -1, &st, NULL) != SQLITE_OK)
        return MG_EDB;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        fprintf(f, "%lld %s%s %s..%s %s %s %s\n", (long long)sqlite3_column_int64(st, 0),
                sqlite3_column_int(st, 1) ? "A" : "-", sqlite3_column_int(st, 2) ? "K" : "-",
                sqlite3_column_text(st, 3), sqlite3_column_text(st, 4),
                sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "-",
                sqlite3_column_text(st, 6), sqlite3_column_text(st, 7));
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : MG_EDB;
}

int cert_store_get(struct cert_store *s, long long id, X509 **out, int *has_key)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT der, key IS NOT NULL FROM certs WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return MG_EDB;
    sqlite3_bind_int64(st, 1, id);
    int rc = MG_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW && (*out = cert_from_col(st, 0))) {
        if (has_key)
            *has_key = sqlite3_column_int(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static void CRYPTO_free_str(char *p)
{
    OPENSSL_free(p);
}

int cert_store_fetch_crl(struct cert_store *s, const char *url, int timeout)
{
    if (!url || strncmp(url, "http://", 7) != 0)
        return MG_EINVAL;
    /* OpenSSL's HTTP client: bounded by timeout, DER body parsed as a CRL */
    X509_CRL *crl = X509_CRL_load_http(url, NULL, NULL, timeout);
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (!crl)
        return ERR_GET_LIB(e) == ERR_LIB_ASN1 ? MG_EPARSE : MG_EIO;
    int rc = cert_store_add_crl(s, crl);
    X509_CRL_free(crl);
    return rc;
}

int cert_store_refresh_crls(struct cert_store *s, int timeout)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT der FROM certs", -1, &st, NULL) != SQLITE_OK)
        return MG_EDB;
    STACK_OF(OPENSSL_STRING) *urls = sk_OPENSSL_STRING_new_null();
    int r;
    while (urls && (r = sqlite3_step(st)) == SQLITE_ROW) {
        X509 *c = cert_from_col(st, 0);
        STACK_OF(DIST_POINT) *dps = c ? X509_get_ext_d2i(c, NID_crl_distribution_points, NULL, NULL) : NULL;
        for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
            DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
            if (!dp->distpoint || dp->distpoint->type != 0)
                continue;
            GENERAL_NAMES *gns = dp->distpoint->name.fullname;
            for (int j = 0; j < sk_GENERAL_NAME_num(gns); j++) {
                GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, j);
                if (gn->type != GEN_URI)
                    continue;
                const char *u = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
                int dup = 0;
                for (int k = 0; k < sk_OPENSSL_STRING_num(urls) && !dup; k++)
                    dup = !strcmp(sk_OPENSSL_STRING_value(urls, k), u);
                char *copy = dup || strncmp(u, "http://", 7) ? NULL : OPENSSL_strdup(u);
                if (copy && !sk_OPENSSL_STRING_push(urls, copy))
                    OPENSSL_free(copy);
            }
        }
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
        X509_free(c);
    }
    sqlite3_finalize(st);
    int n = 0;
    for (int k = 0; k < sk_OPENSSL_STRING_num(urls); k++)
        if (cert_store_fetch_crl(s, sk_OPENSSL_STRING_value(urls, k), timeout) == 0)
            n++;
    sk_OPENSSL_STRING_pop_free(urls, CRYPTO_free_str);
    ERR_clear_error();
    return urls ? n : MG_ENOMEM;
}

int cert_store_ocsp_refresh(struct cert_store *s, const struct cms_policy *p, const char *url,
                            int timeout)
{
    sqlite3_stmt *st;
    STACK_OF(X509) *all = sk_X509_new_null();
    struct { long long id; int anchor; } *rows = NULL;
    size_t nrows = 0;
    int rc = 0, r;
    if (!all || sqlite3_prepare_v2(s->db, "SELECT id, der, anchor FROM certs ORDER BY id", -1, &st,
                                   NULL) != SQLITE_OK) {
        sk_X509_free(all);
        return all ? MG_EDB : MG_ENOMEM;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        X509 *c = cert_from_col(st, 1);
        void *grown = c ? realloc(rows, (nrows + 1) * sizeof *rows) : NULL;
        if (!grown || !sk_X509_push(all, c)) {
            X509_free(c);
            continue;
        }
        rows = grown;
        rows[nrows].id = sqlite3_column_int64(st, 0);
        rows[nrows].anchor = sqlite3_column_int(st, 2);
        nrows++;
    }
    sqlite3_finalize(st);
    int n = 0;
    for (size_t i = 0; i < nrows && !rc; i++) {
        X509 *c = sk_X509_value(all, (int)i), *issuer = NULL;
        if (rows[i].anchor)
            continue;
        for (int j = 0; j < sk_X509_num(all) && !issuer; j++)
            if (X509_check_issued(sk_X509_value(all, j), c) == X509_V_OK && sk_X509_value(all, j) != c)
                issuer = sk_X509_value(all, j);
        if (!issuer)
            continue;
        int status;
        long long next;
        char why[200];
        why[0] = 0;
        if (cert_ocsp_query(c, issuer, url, timeout, p->anchors, p->untrusted, &status, &next, why,
                            sizeof why) != 0) {
            char q[200];
            mg_warn("event=ocsp_failed cert_id=%lld reason=%s", rows[i].id, mg_log_quote(why, q, sizeof q));
            continue;
        }
        long long nowt = (long long)time(NULL);
        if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO ocsp(cert, status, next_update, checked)"
                               " VALUES(?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK) {
            rc = MG_EDB;
            break;
        }
        sqlite3_bind_int64(st, 1, rows[i].id);
        sqlite3_bind_int(st, 2, status);
        sqlite3_bind_int64(st, 3, next > nowt ? next : nowt + 3600);
        sqlite3_bind_int64(st, 4, nowt);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = MG_EDB;
        sqlite3_finalize(st);
        if (!rc)
            n++;
    }
    free(rows);
    sk_X509_pop_free(all, X509_free);
    ERR_clear_error();
    return rc ? rc : n;
}
