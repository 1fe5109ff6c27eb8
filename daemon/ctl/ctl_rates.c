/* ctl_rates: the rate schedule from the admin tool, and the accrual run. */
#include "accrual_run.h"
#include "civil_date.h"
#include "ctl.h"
#include "rate_index.h"
#include "rate_schedule.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rates_list(PGconn *pg)
{
    PGresult *res = PQexec(pg, "SELECT code, valid_from, coalesce(valid_to::text, ''), "
                               "coalesce(amount_ore::text, '(ends)') FROM rate_schedule "
                               "ORDER BY code, valid_from");
    if (!ctl_result_ok(pg, res, PGRES_TUPLES_OK, "listing rates")) {
        PQclear(res);
        return CTL_FAIL;
    }
    printf("%-18s %-10s %-10s %s\n", "CODE", "FROM", "TO", "AMOUNT_ORE");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-18s %-10s %-10s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
    PQclear(res);
    return CTL_OK;
}

/* The amount of `code` in force the day before `day` (RULES.md §2, "the rate in force"), by the
 * rules' own lookup (accrual_rate_on) over the schedule the accrual run reads. */
static int rate_before(PGconn *pg, const char *code, int32_t day, const char *from, long long *base)
{
    struct rate_schedule s;
    enum accrual_code c;
    int64_t amount;
    char err[160];
    if (!rate_schedule_load(pg, &s, err, sizeof err)) {
        fprintf(stderr, "reimbursectl: %s\n", err);
        return CTL_FAIL;
    }
    bool in_force = accrual_code_parse(code, &c) && accrual_rate_on(&s.view, c, day - 1, &amount);
    rate_schedule_free(&s);
    if (!in_force) {
        fprintf(stderr, "reimbursectl: no %s rate in force before %s to index\n", code, from);
        return CTL_FAIL;
    }
    *base = amount;
    return CTL_OK;
}

/* Writes the row {code, valid_from, amount_ore, note} as POST /v1/rates does: through
 * api.rate_create, with national scope, under its lock; its 409 (rate_exists) is CTL_CONFLICT. */
static int rate_write(PGconn *pg, const char *const p[4])
{
    PGresult *res = PQexec(pg, "BEGIN");
    int ok = ctl_result_ok(pg, res, PGRES_COMMAND_OK, "BEGIN");
    PQclear(res);
    if (!ok)
        return CTL_FAIL;
    res = PQexec(pg, "SELECT set_config('reimbursed.scope', '*', true)");
    ok = ctl_result_ok(pg, res, PGRES_TUPLES_OK, "setting the scope");
    PQclear(res);
    res = ok ? PQexecParams(pg,
                            "SELECT (api.rate_create(NULL, jsonb_build_object('code', $1::text, "
                            "'valid_from', $2::date, 'amount_ore', $3::bigint, 'note', $4::text)))"
                            ".status",
                            4, NULL, p, NULL, NULL, 0)
             : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *code = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int conflict = state && strcmp(state, "RB000") == 0 && code && strcmp(code, "rate_exists") == 0;
    ok = ok && (conflict || ctl_result_ok(pg, res, PGRES_TUPLES_OK, "writing the rate"));
    PQclear(res);
    res = PQexec(pg, ok && !conflict ? "COMMIT" : "ROLLBACK");
    ok = ctl_result_ok(pg, res, PGRES_COMMAND_OK, "ending the transaction") && ok;
    PQclear(res);
    return conflict ? CTL_CONFLICT : ok ? CTL_OK : CTL_FAIL;
}

/* A new row for `code` from `from`: the amount in force the day before, times the factor,
 * rounded to whole steps of `round` kronor. */
static int rates_index(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {{"code", required_argument, NULL, 0},
                                         {"from", required_argument, NULL, 0},
                                         {"factor", required_argument, NULL, 0},
                                         {"round", required_argument, NULL, 0},
                                         {0}};
    const char *v[4] = {NULL, NULL, NULL, "1"};
    int32_t day;
    char err[160];
    if (!ctl_options(argc, argv, 2, opts, v))
        return CTL_USAGE;
    const char *code = v[0], *from = v[1], *factor = v[2], *round = v[3];
    if (code == NULL || from == NULL || factor == NULL || optind != argc ||
        !civil_parse(from, strlen(from), &day)) {
        fprintf(stderr, "reimbursectl: rates index --code C --from YYYY-MM-DD --factor F "
                        "[--round KRONOR]\n");
        return CTL_USAGE;
    }
    long long base;
    int st = rate_before(pg, code, day, from, &base);
    if (st != CTL_OK)
        return st;
    char *end;
    long long round_kr = strtoll(round, &end, 10);
    int64_t amount;
    if (*end != '\0' || !rate_index_apply(base, factor, round_kr, &amount, err, sizeof err)) {
        fprintf(stderr, "reimbursectl: %s\n", *end ? "round must be whole kronor" : err);
        return CTL_USAGE;
    }
    char amount_text[24], note[160];
    snprintf(amount_text, sizeof amount_text, "%lld", (long long)amount);
    snprintf(note, sizeof note, "indexed: %lld öre × %s, rounded to %lld kr", base, factor,
             round_kr);
    int rc = rate_write(pg, (const char *[]){code, from, amount_text, note});
    if (rc == CTL_CONFLICT)
        fprintf(stderr, "reimbursectl: a %s row from %s exists; rows are never changed\n", code,
                from);
    if (rc != CTL_OK)
        return rc;
    printf("%s from %s: %lld öre (%lld kr × %s, rounded to %lld kr) = %lld kr\n", code, from,
           (long long)amount, base / 100, factor, round_kr, (long long)amount / 100);
    return CTL_OK;
}

int ctl_rates(PGconn *pg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return rates_list(pg);
    if (argc >= 2 && strcmp(argv[1], "index") == 0)
        return rates_index(pg, argc, argv);
    fprintf(stderr, "reimbursectl: usage: rates list | rates index --code C --from DATE "
                    "--factor F --round KRONOR\n");
    return CTL_USAGE;
}

int ctl_accrue(PGconn *pg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"through", required_argument, NULL, 0}, {"jobs", required_argument, NULL, 0}, {0}};
    const char *v[2] = {NULL, NULL};
    if (!ctl_options(argc, argv, 1, opts, v))
        return CTL_USAGE;
    const char *through = v[0];
    int jobs = v[1] != NULL ? atoi(v[1]) : 2;
    if (jobs < 1 || jobs > ACCRUAL_RUN_MAX_JOBS) {
        fprintf(stderr, "reimbursectl: --jobs must be 1 to %d\n", ACCRUAL_RUN_MAX_JOBS);
        return CTL_USAGE;
    }
    if (through == NULL || optind != argc) {
        fprintf(stderr, "reimbursectl: accrue --through YYYY-MM-DD\n");
        return CTL_USAGE;
    }
    struct strbuf body = {0};
    enum accrual_outcome o = accrual_run_execute(pg, ctl_conninfo, jobs, NULL, through, &body);
    printf("%s\n", strbuf_cstr(&body));
    strbuf_free(&body);
    if (o == ACCRUAL_RUN_RECORDED)
        return CTL_OK;
    return o == ACCRUAL_RUN_THROUGH_NOT_PAST || o == ACCRUAL_RUN_THROUGH_BEFORE_LATEST
               ? CTL_CONFLICT
               : CTL_FAIL;
}
