/* ctl_migrate: apply sql/NNN_name.sql files in order, each in one transaction, recorded with its
 * digest in schema_migrations; an advisory lock makes concurrent runs wait, not collide. */
#include "ctl.h"
#include "token.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIGRATE_LOCK_KEY "7242001"
#define MAX_MIGRATIONS 1000

static int name_is_migration(const char *n)
{
    size_t len = strlen(n);
    if (len < 9 || strcmp(n + len - 4, ".sql") != 0 || n[3] != '_')
        return 0;
    for (int i = 0; i < 3; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    for (size_t i = 4; i < len - 4; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
            return 0;
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
                *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}

static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_TUPLES_OK || ctl_result_ok(pg, res, PGRES_COMMAND_OK, what);
    PQclear(res);
    return ok;
}

/* Applies one file unless it is recorded; a recorded file whose digest changed is an error. */
static int apply_one(PGconn *pg, const char *dir, const char *name, int *applied)
{
    char path[4096], version[4], hash[TOKEN_HASH_HEX_LEN + 1];
    size_t len = 0;
    int ok = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = read_file(path, &len);
    if (sql == NULL) {
        fprintf(stderr, "reimbursectl: cannot read %s: %s\n", path, strerror(errno));
        return 0;
    }
    token_sha256_hex(sql, len, hash);
    memcpy(version, name, 3);
    version[3] = '\0';
    const char *p1[1] = {version};
    PGresult *res = PQexecParams(pg, "SELECT sha256 FROM schema_migrations WHERE version = $1", 1,
                                 NULL, p1, NULL, NULL, 0);
    if (!ctl_result_ok(pg, res, PGRES_TUPLES_OK, "reading schema_migrations"))
        goto done;
    if (PQntuples(res) == 1) {
        ok = strcmp(PQgetvalue(res, 0, 0), hash) == 0;
        if (!ok)
            fprintf(stderr,
                    "reimbursectl: %s was changed after it was applied; add a new "
                    "migration instead\n",
                    name);
        goto done;
    }
    PQclear(res);
    res = NULL;
    if (!exec_ok(pg, "BEGIN", "BEGIN"))
        goto done;
    if (!exec_ok(pg, sql, name)) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        goto done;
    }
    const char *p3[3] = {version, name, hash};
    res = PQexecParams(pg,
                       "INSERT INTO schema_migrations (version, name, sha256) "
                       "VALUES ($1, $2, $3)",
                       3, NULL, p3, NULL, NULL, 0);
    if (!ctl_result_ok(pg, res, PGRES_COMMAND_OK, "recording the migration") ||
        !exec_ok(pg, "COMMIT", "COMMIT")) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        goto done;
    }
    printf("applied %s\n", name);
    (*applied)++;
    ok = 1;
done:
    PQclear(res);
    free(sql);
    return ok;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The folder of migrations: --sql-dir, else $REIMBURSED_SQL_DIR, else the installed folder, else
 * (a build tree that was never installed) the source tree's sql/ known at configure time. Says
 * on stderr which one it took, so nobody migrates from a folder they did not mean. */
static const char *migrations_dir(const char *given)
{
    const char *env = getenv("REIMBURSED_SQL_DIR");
    const char *dir = given, *why = "--sql-dir";
    if (dir == NULL && env != NULL && *env != '\0') {
        dir = env;
        why = "REIMBURSED_SQL_DIR";
    }
    if (dir == NULL && is_dir(REIMBURSED_SQL_DIR)) {
        dir = REIMBURSED_SQL_DIR;
        why = "the installed folder";
    }
#ifdef REIMBURSED_SRC_SQL_DIR
    if (dir == NULL && is_dir(REIMBURSED_SRC_SQL_DIR)) {
        dir = REIMBURSED_SRC_SQL_DIR;
        why = "the source tree; the installed folder " REIMBURSED_SQL_DIR " is absent";
    }
#endif
    if (dir == NULL) {
        fprintf(stderr,
                "reimbursectl: no migrations folder: %s is absent; give one with --sql-dir\n",
                REIMBURSED_SQL_DIR);
        return NULL;
    }
    fprintf(stderr, "reimbursectl: migrations from %s (%s)\n", dir, why);
    return dir;
}

int ctl_migrate(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {{"sql-dir", required_argument, NULL, 'd'}, {0}};
    const char *dir = NULL;
    char *names[MAX_MIGRATIONS];
    int n = 0, applied = 0, opt, rc = CTL_FAIL;
    struct dirent *e;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt != 'd')
            return CTL_USAGE;
        dir = optarg;
    }
    dir = migrations_dir(dir);
    if (dir == NULL)
        return CTL_FAIL;
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        fprintf(stderr, "reimbursectl: cannot open %s: %s\n", dir, strerror(errno));
        return CTL_FAIL;
    }
    while ((e = readdir(dh)) != NULL && n < MAX_MIGRATIONS)
        if (name_is_migration(e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
            n++;
    closedir(dh);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);

    if (!exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                 "taking the migration lock") ||
        !exec_ok(pg,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
                 "name text NOT NULL, sha256 text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now())",
                 "creating schema_migrations"))
        goto done;
    for (int i = 0; i < n; i++)
        if (!apply_one(pg, dir, names[i], &applied))
            goto done;
    printf("migrations: %d applied, %d already present\n", applied, n - applied);
    rc = CTL_OK;
done:
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the migration lock");
    for (int i = 0; i < n; i++)
        free(names[i]);
    return rc;
}
