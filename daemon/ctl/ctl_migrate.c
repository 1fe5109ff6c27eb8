/* ctl_migrate: one transaction applies the pending sql/schema/NNN_name.sql files in order (each
 * recorded with its digest in schema_migrations: applied once, never edited), then re-applies
 * every repeatable sql/api/NAME.sql file in name order (functions and views, CREATE OR REPLACE, as
 * Flyway's repeatable migrations; api/tables.sql, which the tables use, before the migrations),
 * then grants the api functions to the daemon's role. An advisory lock makes concurrent runs
 * wait, not collide. */
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

/* A repeatable file of sql/api/: lower-case letters, digits and '_', ending in .sql. */
static int name_is_api(const char *n)
{
    size_t len = strlen(n);
    if (len < 5 || strcmp(n + len - 4, ".sql") != 0)
        return 0;
    for (size_t i = 0; i < len - 4; i++)
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

/* DIR/SUB/NAME's text, or NULL after saying on stderr why it cannot be read. */
static char *read_sql(const char *dir, const char *sub, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    char *sql = read_file(path, len);
    if (sql == NULL)
        fprintf(stderr, "reimbursectl: cannot read %s: %s\n", path, strerror(errno));
    return sql;
}

/* A comment-only file (a migration whose functions moved to sql/api/) is an empty query. */
static int exec_ok(PGconn *pg, const char *sql, const char *what)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
             ctl_result_ok(pg, res, PGRES_COMMAND_OK, what);
    PQclear(res);
    return ok;
}

/* Whether `hash` is the digest `name` had before its functions moved to sql/api/ (issue 14):
 * schema/legacy.sha256 lists those, one "HEX  NAME" a line, as sha256sum writes them. */
static int digest_is_legacy(const char *dir, const char *name, const char *hash)
{
    char path[4096], line[512], want[512];
    int found = 0;
    snprintf(path, sizeof path, "%s/schema/legacy.sha256", dir);
    snprintf(want, sizeof want, "%s  %s", hash, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        found = strcmp(line, want) == 0;
    }
    fclose(f);
    return found;
}

/* A recorded migration: unchanged, or changed only by the move of its functions to sql/api/
 * (then its record takes the new digest); any other change is an error. */
static int check_recorded(PGconn *pg, const char *dir, const char *name, const char *recorded,
                          const char *hash)
{
    if (strcmp(recorded, hash) == 0)
        return 1;
    if (!digest_is_legacy(dir, name, recorded)) {
        fprintf(stderr,
                "reimbursectl: %s was changed after it was applied; add a new "
                "migration instead\n",
                name);
        return 0;
    }
    const char *p[2] = {hash, name};
    PGresult *res = PQexecParams(pg, "UPDATE schema_migrations SET sha256 = $1 WHERE name = $2", 2,
                                 NULL, p, NULL, NULL, 0);
    int ok = ctl_result_ok(pg, res, PGRES_COMMAND_OK, "re-recording the migration");
    PQclear(res);
    if (ok)
        printf("re-recorded %s (its functions now live in sql/api/)\n", name);
    return ok;
}

/* Applies one schema file unless it is recorded, inside the caller's transaction. */
static int apply_schema(PGconn *pg, const char *dir, const char *name, int *applied)
{
    char version[4], hash[TOKEN_HASH_HEX_LEN + 1];
    size_t len = 0;
    int ok = 0;
    char *sql = read_sql(dir, "schema", name, &len);
    if (sql == NULL)
        return 0;
    token_sha256_hex(sql, len, hash);
    memcpy(version, name, 3);
    version[3] = '\0';
    const char *p1[1] = {version};
    PGresult *res = PQexecParams(pg, "SELECT sha256 FROM schema_migrations WHERE version = $1", 1,
                                 NULL, p1, NULL, NULL, 0);
    if (!ctl_result_ok(pg, res, PGRES_TUPLES_OK, "reading schema_migrations"))
        goto done;
    if (PQntuples(res) == 1) {
        ok = check_recorded(pg, dir, name, PQgetvalue(res, 0, 0), hash);
        goto done;
    }
    PQclear(res);
    res = NULL;
    if (!exec_ok(pg, sql, name))
        goto done;
    const char *p3[3] = {version, name, hash};
    res = PQexecParams(pg,
                       "INSERT INTO schema_migrations (version, name, sha256) "
                       "VALUES ($1, $2, $3)",
                       3, NULL, p3, NULL, NULL, 0);
    if (!ctl_result_ok(pg, res, PGRES_COMMAND_OK, "recording the migration"))
        goto done;
    printf("applied %s\n", name);
    (*applied)++;
    ok = 1;
done:
    PQclear(res);
    free(sql);
    return ok;
}

/* Applies one repeatable file of sql/api/ (CREATE OR REPLACE of functions and views). */
static int apply_api(PGconn *pg, const char *dir, const char *name)
{
    size_t len = 0;
    char *sql = read_sql(dir, "api", name, &len);
    if (sql == NULL)
        return 0;
    char what[300];
    snprintf(what, sizeof what, "api/%s", name);
    int ok = exec_ok(pg, sql, what);
    free(sql);
    return ok;
}

/* The names in DIR/SUB that `want` accepts, sorted; -1 when the folder cannot be read. */
static int list_files(const char *dir, const char *sub, int (*want)(const char *), char **names)
{
    char path[4096];
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *dh = opendir(path);
    if (dh == NULL) {
        fprintf(stderr, "reimbursectl: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((e = readdir(dh)) != NULL && n < MAX_MIGRATIONS)
        if (want(e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
            n++;
    closedir(dh);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    return n;
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

/* The api file of the functions the tables use (policies, generated columns, triggers): applied
 * before the schema migrations, so that a migration may create what uses them. */
#define API_BEFORE_SCHEMA "tables.sql"

/* The api files, with check_function_bodies off (as pg_dump restores: a body may name a table
 * of a later migration or a function of a file applied later); `before` picks the one file
 * applied ahead of the schema migrations, or all the others. */
static int apply_api_files(PGconn *pg, const char *dir, char **api, int na, bool before)
{
    if (!exec_ok(pg, "SET LOCAL check_function_bodies = off", "check_function_bodies"))
        return 0;
    for (int i = 0; i < na; i++)
        if ((strcmp(api[i], API_BEFORE_SCHEMA) == 0) == before && !apply_api(pg, dir, api[i]))
            return 0;
    return exec_ok(pg, "SET LOCAL check_function_bodies = on", "check_function_bodies");
}

/* Inside the caller's transaction: api/tables.sql, the pending schema files, every other api
 * file, then the grant that lets the daemon's role call every api function. */
static int apply_all(PGconn *pg, const char *dir, char **schema, int ns, char **api, int na,
                     int *applied)
{
    if (!apply_api_files(pg, dir, api, na, true))
        return 0;
    for (int i = 0; i < ns; i++)
        if (!apply_schema(pg, dir, schema[i], applied))
            return 0;
    return apply_api_files(pg, dir, api, na, false) &&
           exec_ok(pg, "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO reimbursed_app",
                   "granting the api functions");
}

int ctl_migrate(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {{"sql-dir", required_argument, NULL, 'd'}, {0}};
    const char *dir = NULL;
    char *schema[MAX_MIGRATIONS], *api[MAX_MIGRATIONS];
    int ns = 0, na = 0, applied = 0, opt, rc = CTL_FAIL;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt != 'd')
            return CTL_USAGE;
        dir = optarg;
    }
    dir = migrations_dir(dir);
    if (dir == NULL)
        return CTL_FAIL;
    if ((ns = list_files(dir, "schema", name_is_migration, schema)) < 0)
        return CTL_FAIL;
    if ((na = list_files(dir, "api", name_is_api, api)) < 0)
        goto free;

    if (!exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the migration lock"))
        goto free;
    if (!exec_ok(pg,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
                 "name text NOT NULL, sha256 text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now())",
                 "creating schema_migrations") ||
        !exec_ok(pg, "BEGIN", "BEGIN"))
        goto unlock;
    if (!apply_all(pg, dir, schema, ns, api, na, &applied) || !exec_ok(pg, "COMMIT", "COMMIT")) {
        exec_ok(pg, "ROLLBACK", "ROLLBACK");
        goto unlock;
    }
    printf("migrations: %d applied, %d already present\n", applied, ns - applied);
    printf("api: %d files applied\n", na);
    rc = CTL_OK;
unlock:
    exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the migration lock");
free:
    for (int i = 0; i < ns; i++)
        free(schema[i]);
    for (int i = 0; i < na; i++)
        free(api[i]);
    return rc;
}
