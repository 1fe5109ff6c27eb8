/* db_conninfo: resolve host names in a libpq conninfo before the event loop starts. */
#ifndef RB_DB_CONNINFO_H
#define RB_DB_CONNINFO_H

#include <stddef.h>

/* PQconnectStart resolves host names synchronously, which would block the loop on every
 * reconnect. This resolves each named host once, at start-up, into `hostaddr` (keeping `host` for
 * TLS verification), and returns the rewritten conninfo (caller frees), or NULL with err set. */
char *db_conninfo_resolve(const char *conninfo, char *err, size_t errlen);

#endif
