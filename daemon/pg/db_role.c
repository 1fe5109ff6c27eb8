/* db_role: the daemon's role must be bound by row-level security. A superuser or a BYPASSRLS
 * role skips every policy, and a table's owner can switch FORCE ROW LEVEL SECURITY off: any of
 * them would let one municipality's request see or change another's rows, with no error. */
#include "db_role.h"

#include <stdio.h>

/* Roles the current one is, inherits from, or may SET ROLE to ('MEMBER'): a role that can become
 * a superuser or a table's owner is as dangerous as being one. Tables: every relation outside
 * the system schemas. One row: name, then what is wrong ("" when nothing). */
const char db_role_check_sql[] =
    "SELECT current_user::text, concat_ws('; ', "
    "  CASE WHEN r.rolsuper THEN 'is a superuser' END, "
    "  CASE WHEN r.rolbypassrls THEN 'has BYPASSRLS' END, "
    "  (SELECT 'can become ' || string_agg(s.rolname || CASE WHEN s.rolsuper "
    "     THEN ' (superuser)' ELSE ' (BYPASSRLS)' END, ', ') FROM pg_roles s "
    "    WHERE NOT r.rolsuper AND s.oid <> r.oid AND (s.rolsuper OR s.rolbypassrls) "
    "      AND pg_has_role(r.oid, s.oid, 'MEMBER')), "
    "  (SELECT 'owns (or may act as the owner of) ' || count(*) || ' table(s) such as ' || "
    "     min(n.nspname || '.' || c.relname) FROM pg_class c "
    "     JOIN pg_namespace n ON n.oid = c.relnamespace "
    "    WHERE NOT r.rolsuper AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "      AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "      AND n.nspname NOT LIKE 'pg\\_%' AND pg_has_role(r.oid, c.relowner, 'MEMBER') "
    "   HAVING count(*) > 0)) "
    "FROM pg_roles r WHERE r.rolname = current_user";

enum db_role_verdict db_role_judge(const PGresult *res, char *err, size_t errlen)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 2) {
        snprintf(err, errlen, "cannot check the database role: %s",
                 PQresultStatus(res) == PGRES_TUPLES_OK ? "unexpected answer"
                                                        : PQresultErrorMessage(res));
        return DB_ROLE_UNKNOWN;
    }
    if (PQgetvalue(res, 0, 1)[0] == '\0')
        return DB_ROLE_OK;
    snprintf(err, errlen,
             "the database role '%s' bypasses row-level security: it %s. Connect as "
             "reimbursed_app (or a plain member of it) that owns nothing",
             PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    return DB_ROLE_BYPASSES;
}

enum db_role_verdict db_role_check(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, db_role_check_sql);
    enum db_role_verdict v = db_role_judge(res, err, errlen);
    PQclear(res);
    return v;
}
