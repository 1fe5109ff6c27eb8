/* db_conninfo: resolve host names in a libpq conninfo before the event loop starts. */
#ifndef RB_DB_CONNINFO_H
#define RB_DB_CONNINFO_H

#include <stddef.h>

/* PQconnectStart resolves host names synchronously, which would block the loop on every
 * reconnect. This resolves each named host once, at start-up, into `hostaddr` (keeping `host` for
 * TLS verification), and returns the rewritten conninfo (caller frees), or NULL with err set. */
char *db_conninfo_resolve(const char *conninfo, char *err, size_t errlen);

/* The number of entries in the conninfo's host (or hostaddr) list; 1 without a list. */
int db_conninfo_host_count(const char *conninfo);

/* The conninfo with its host, hostaddr and port lists rotated left by `by` entries, so that
 * libpq starts with another server: one that hangs (drops packets, never answers) would
 * otherwise be tried first forever. Caller frees; NULL when out of memory or unparsable. */
char *db_conninfo_rotate(const char *conninfo, int by);

#endif
