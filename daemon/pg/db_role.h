/* db_role: refuse a database role that row-level security does not bind. */
#ifndef RB_DB_ROLE_H
#define RB_DB_ROLE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

enum db_role_verdict {
    DB_ROLE_OK = 0,
    DB_ROLE_BYPASSES, /* superuser, BYPASSRLS, or owns a table (err says which, naming the role) */
    DB_ROLE_UNKNOWN,  /* the check could not run (no connection, or the statement failed) */
};

/* The check as one statement without parameters (for the daemon's async pool too), and what its
 * result means; err names the role and what is wrong. */
extern const char db_role_check_sql[];
enum db_role_verdict db_role_judge(const PGresult *res, char *err, size_t errlen);
/* One statement (so it works through a transaction pooler), blocking: the current role is no
 * superuser, has no BYPASSRLS, owns no table of the schema, and cannot become (SET ROLE) or
 * inherit from a role that is or does any of these. */
enum db_role_verdict db_role_check(PGconn *pg, char *err, size_t errlen);

#endif
