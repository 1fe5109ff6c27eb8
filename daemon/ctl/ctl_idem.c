/* ctl_idem: `reimbursectl idempotency expire [--batch N]`, the nightly step that deletes the
 * Idempotency-Keys older than `idempotency_retention`. One batch per transaction (autocommit),
 * so the delete never holds many locks or a long transaction. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 10000

int ctl_idempotency_retention_h = 7 * 24;

static int usage(void)
{
    fprintf(stderr, "reimbursectl: idempotency expire [--batch N]\n"
                    "  deletes the Idempotency-Keys (and their stored answers) older than "
                    "idempotency_retention,\n"
                    "  N at a time, each batch its own transaction (default 10000)\n");
    return CTL_USAGE;
}

/* One batch; returns the rows deleted, or -1 after printing the error. */
static long expire_batch(PGconn *pg, const char *keep, const char *batch)
{
    const char *p[2] = {keep, batch};
    PGresult *res = PQexecParams(pg, "SELECT api.idem_expire($1::interval, $2::int)", 2, NULL, p,
                                 NULL, NULL, 0);
    long n = -1;
    if (ctl_result_ok(pg, res, PGRES_TUPLES_OK, "idempotency expire") && PQntuples(res) == 1)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

static int expire(PGconn *pg, long batch)
{
    char keep[32], nb[24];
    long total = 0, batches = 0, n;
    snprintf(keep, sizeof keep, "%d hours", ctl_idempotency_retention_h);
    snprintf(nb, sizeof nb, "%ld", batch);
    do {
        n = expire_batch(pg, keep, nb);
        if (n < 0)
            return CTL_FAIL;
        total += n;
        batches++;
    } while (n == batch);
    printf("idempotency: deleted %ld keys older than %dh in %ld batches of at most %ld\n", total,
           ctl_idempotency_retention_h, batches, batch);
    return CTL_OK;
}

int ctl_idempotency(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {{"batch", required_argument, NULL, 'b'}, {0, 0, 0, 0}};
    long batch = DEFAULT_BATCH;
    int opt;
    if (argc < 2 || strcmp(argv[1], "expire") != 0)
        return usage();
    optind = 1;
    while ((opt = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        char *end;
        if (opt != 'b')
            return usage();
        batch = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || batch < 1 || batch > 100000)
            return usage();
    }
    if (optind != argc - 1)
        return usage();
    return expire(pg, batch);
}
