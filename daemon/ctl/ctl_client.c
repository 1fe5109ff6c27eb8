/* ctl_client: API clients and their tokens. Only the SHA-256 of a token is stored; the token itself
 * is printed once, alone on the last line. */
#include "ctl.h"
#include "token.h"

#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

struct client_args {
    const char *name, *role, *scope, *cert;
};

static int parse_args(int argc, char **argv, struct client_args *a)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 0},
                                         {"role", required_argument, NULL, 0},
                                         {"scope", required_argument, NULL, 0},
                                         {"cert", required_argument, NULL, 0},
                                         {0}};
    const char *v[4] = {NULL, NULL, NULL, NULL};
    int ok = ctl_options(argc, argv, 2, opts, v); /* argv[0] = "client", argv[1] = the verb */
    *a = (struct client_args){.name = v[0], .role = v[1], .scope = v[2], .cert = v[3]};
    return ok && optind == argc;
}

/* The SHA-256 of a PEM certificate's DER encoding, as mutual TLS will see it. */
static int cert_fingerprint(const char *path, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    FILE *f = fopen(path, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    int ok = cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32;
    X509_free(cert);
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "reimbursectl: cannot read a PEM certificate from %s\n", path);
        return 0;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 1;
}

static int new_token(char *token, char *hash)
{
    if (!token_generate(token)) {
        fprintf(stderr, "reimbursectl: the random generator failed\n");
        return 0;
    }
    token_hash_hex(token, TOKEN_LEN, hash);
    return 1;
}

static int client_add(PGconn *pg, const struct client_args *a)
{
    char token[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1];
    if (a->name == NULL || a->role == NULL || a->scope == NULL) {
        fprintf(stderr, "reimbursectl: client add needs --name, --role and --scope\n");
        return CTL_USAGE;
    }
    if (strcmp(a->scope, "*") != 0) {
        const char *p[1] = {a->scope};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM municipalities WHERE code = $1", 1, NULL, p,
                                   NULL, NULL, 0);
        int known =
            ctl_result_ok(pg, r, PGRES_TUPLES_OK, "checking the scope") && PQntuples(r) == 1;
        PQclear(r);
        if (!known) {
            fprintf(stderr, "reimbursectl: scope must be '*' or a municipality code\n");
            return CTL_USAGE;
        }
    }
    char fp[TOKEN_HASH_HEX_LEN + 1];
    if (a->cert != NULL && !cert_fingerprint(a->cert, fp))
        return CTL_USAGE;
    if (!new_token(token, hash))
        return CTL_FAIL;
    const char *p[5] = {a->name, a->role, a->scope, hash, a->cert ? fp : NULL};
    PGresult *res =
        PQexecParams(pg,
                     "INSERT INTO clients (name, role, scope, token_sha256, cert_sha256) "
                     "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                     5, NULL, p, NULL, NULL, 0);
    if (!ctl_result_ok(pg, res, PGRES_COMMAND_OK, "adding the client")) {
        PQclear(res);
        return CTL_FAIL;
    }
    int added = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!added) {
        fprintf(stderr, "reimbursectl: a client named '%s' exists; use client rotate\n", a->name);
        return CTL_CONFLICT;
    }
    printf("client %s added (role %s, scope %s); its token, shown only now:\n%s\n", a->name,
           a->role, a->scope, token);
    return CTL_OK;
}

/* One UPDATE of the active client named `name` ($1), with one value ($2, may be NULL):
 * CTL_CONFLICT when there is no such client; on success prints "client NAME <done><shown>". */
static int active_client_update(PGconn *pg, const char *name, const char *sql, const char *value,
                                const char *what, const char *done, const char *shown)
{
    const char *p[2] = {name, value};
    PGresult *res = PQexecParams(pg, sql, 2, NULL, p, NULL, NULL, 0);
    int ok = ctl_result_ok(pg, res, PGRES_COMMAND_OK, what);
    int found = ok && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!ok)
        return CTL_FAIL;
    if (!found) {
        fprintf(stderr, "reimbursectl: no active client named '%s'\n", name);
        return CTL_CONFLICT;
    }
    printf("client %s %s%s\n", name, done, shown);
    return CTL_OK;
}

static int client_rotate(PGconn *pg, const struct client_args *a)
{
    char token[TOKEN_LEN + 1], hash[TOKEN_HASH_HEX_LEN + 1];
    if (a->name == NULL || !new_token(token, hash))
        return a->name == NULL ? CTL_USAGE : CTL_FAIL;
    return active_client_update(pg, a->name,
                                "UPDATE clients SET token_sha256 = $2, rotated_at = now() "
                                "WHERE name = $1 AND revoked_at IS NULL",
                                hash, "rotating the token",
                                "has a new token; the old one no longer works:\n", token);
}

static int client_revoke(PGconn *pg, const struct client_args *a)
{
    if (a->name == NULL)
        return CTL_USAGE;
    return active_client_update(pg, a->name,
                                "UPDATE clients SET revoked_at = now() "
                                "WHERE name = $1 AND revoked_at IS NULL AND $2::text IS NULL",
                                NULL, "revoking the client", "revoked", "");
}

static int client_bind(PGconn *pg, const struct client_args *a)
{
    char fp[TOKEN_HASH_HEX_LEN + 1];
    if (a->name == NULL || a->cert == NULL) {
        fprintf(stderr, "reimbursectl: client bind needs --name and --cert\n");
        return CTL_USAGE;
    }
    if (!cert_fingerprint(a->cert, fp))
        return CTL_USAGE;
    return active_client_update(pg, a->name,
                                "UPDATE clients SET cert_sha256 = $2 "
                                "WHERE name = $1 AND revoked_at IS NULL",
                                fp, "binding the certificate",
                                "is bound to the certificate with SHA-256 ", fp);
}

static int client_list(PGconn *pg)
{
    PGresult *res = PQexec(pg, "SELECT name, role, scope, "
                               "to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
                               "CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END, "
                               "CASE WHEN cert_sha256 IS NULL THEN '' ELSE 'cert' END "
                               "FROM clients ORDER BY id");
    if (!ctl_result_ok(pg, res, PGRES_TUPLES_OK, "listing clients")) {
        PQclear(res);
        return CTL_FAIL;
    }
    printf("%-24s %-6s %-6s %-17s %-7s %s\n", "NAME", "ROLE", "SCOPE", "CREATED", "STATE", "MTLS");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-24s %-6s %-6s %-17s %-7s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 5));
    PQclear(res);
    return CTL_OK;
}

int ctl_client(PGconn *pg, int argc, char **argv)
{
    struct client_args a;
    if (argc < 2 || !parse_args(argc, argv, &a)) {
        fprintf(stderr, "reimbursectl: usage: client add|rotate|revoke|list [options]\n");
        return CTL_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "add") == 0)
        return client_add(pg, &a);
    if (strcmp(verb, "rotate") == 0)
        return client_rotate(pg, &a);
    if (strcmp(verb, "revoke") == 0)
        return client_revoke(pg, &a);
    if (strcmp(verb, "list") == 0)
        return client_list(pg);
    if (strcmp(verb, "bind") == 0)
        return client_bind(pg, &a);
    fprintf(stderr, "reimbursectl: unknown client command '%s'\n", verb);
    return CTL_USAGE;
}
