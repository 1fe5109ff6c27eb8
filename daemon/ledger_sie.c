/* ledger_sie: maps ledger accounts to chart numbers, declares every number used with #KONTO, then
 * writes each journal as one balanced #VER dated on its recording day. */
#include "ledger_sie.h"

#include "civil_date.h"
#include "sie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REIMBURSED_PROGRAM "reimbursed"

void ledger_chart_defaults(struct ledger_chart *c)
{
    c->receivable = 1513;
    c->bank = 1930;
    c->reclaim = 2890;
    for (int i = 0; i < ACCRUAL_CODES; i++)
        c->compensation[i] = 3911 + i;
    c->compensation_other = 3919;
}

bool ledger_chart_parse(const char *spec, struct ledger_chart *c, char *err, size_t errlen)
{
    char *copy = strdup(spec), *rest = copy;
    bool ok = copy != NULL;
    for (char *item = ok ? strsep(&rest, ",") : NULL; ok && item != NULL;
         item = strsep(&rest, ",")) {
        char *eq = strchr(item, '=');
        char *end;
        long n = eq ? strtol(eq + 1, &end, 10) : -1;
        enum accrual_code code;
        if (eq == NULL || *end != '\0' || n < 1000 || n > 9999) {
            snprintf(err, errlen, "sie_chart: '%s' is not name=four-digit-account", item);
            ok = false;
            break;
        }
        *eq = '\0';
        if (strcmp(item, "receivable") == 0)
            c->receivable = (int)n;
        else if (strcmp(item, "bank") == 0)
            c->bank = (int)n;
        else if (strcmp(item, "reclaim") == 0)
            c->reclaim = (int)n;
        else if (strcmp(item, "other") == 0)
            c->compensation_other = (int)n;
        else if (accrual_code_parse(item, &code))
            c->compensation[code] = (int)n;
        else {
            snprintf(err, errlen, "sie_chart: unknown account name '%s'", item);
            ok = false;
        }
    }
    free(copy);
    return ok;
}

struct account {
    int number;
    const char *name;
};

static struct account account_of(const struct ledger_chart *c, const char *account,
                                 const char *code)
{
    static const char *const names[ACCRUAL_CODES] = {
        "Schablonersättning boendeplatser", "Schablonersättning inflyttning",
        "Schablonersättning dygn, barn", "Schablonersättning dygn, vuxen",
        "Schablonersättning dygn, tidigare ensamkommande"};
    enum accrual_code k;
    if (strcmp(account, "receivable") == 0)
        return (struct account){c->receivable, "Fordran Migrationsverket, schablonersättning"};
    if (strcmp(account, "bank") == 0)
        return (struct account){c->bank, "Bank"};
    if (strcmp(account, "reclaim") == 0)
        return (struct account){c->reclaim, "Väntat återkrav Migrationsverket"};
    if (code != NULL && accrual_code_parse(code, &k))
        return (struct account){c->compensation[k], names[k]};
    return (struct account){c->compensation_other, "Schablonersättning, övrigt"};
}

static int int_cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Every distinct account number used, declared before the first #VER as the format asks. */
static bool declare_accounts(struct sie_writer *w, const struct ledger_chart *chart,
                             const struct ledger_sie_posting *p, size_t n)
{
    int seen[64] = {0};
    const char *names[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct account a = account_of(chart, p[i].account, p[i].code);
        size_t j = 0;
        while (j < k && seen[j] != a.number)
            j++;
        if (j == k && k < 64) {
            seen[k] = a.number;
            names[k++] = a.name;
        }
    }
    int order[64];
    memcpy(order, seen, k * sizeof *seen);
    qsort(order, k, sizeof *order, int_cmp);
    for (size_t i = 0; i < k; i++) {
        size_t j = 0;
        while (seen[j] != order[i])
            j++;
        if (!sie_account(w, order[i], names[j]))
            return false;
    }
    return true;
}

static void ver_text(const struct ledger_sie_posting *p, char *out, size_t n)
{
    char month[CIVIL_DATE_LEN + 1] = "";
    if (p->service_month != ACCRUAL_NO_DAY) {
        civil_format(p->service_month, month);
        month[7] = '\0';
        snprintf(out, n, "%s, tjänstemånad %s", p->cause, month);
    } else {
        snprintf(out, n, "%s", p->cause);
    }
}

bool ledger_sie_write(struct strbuf *out, const struct ledger_sie_file *f,
                      const struct ledger_chart *chart, const struct ledger_sie_posting *p,
                      size_t n, char *err, size_t errlen)
{
    struct sie_writer w;
    char company[160], text[256], trans_text[96];
    snprintf(company, sizeof company, "%s kommun (%s)", f->name, f->municipality);
    struct sie_header h = {
        REIMBURSED_PROGRAM, REIMBURSED_VERSION, f->generated_on, company, NULL, NULL,
        f->year_from,       f->year_to};
    sie_init(&w, out);
    bool ok = sie_begin(&w, &h) && declare_accounts(&w, chart, p, n);
    for (size_t i = 0; ok && i < n;) {
        ver_text(&p[i], text, sizeof text);
        ok = sie_ver_begin(&w, p[i].payment ? "B" : "A", p[i].journal_id, p[i].recorded_on, text);
        size_t j = i;
        for (; ok && j < n && p[j].journal_id == p[i].journal_id; j++) {
            struct account a = account_of(chart, p[j].account, p[j].code);
            if (p[j].placement_id > 0)
                snprintf(trans_text, sizeof trans_text, "%s placering %lld",
                         p[j].code ? p[j].code : "", p[j].placement_id);
            else
                snprintf(trans_text, sizeof trans_text, "%s", p[j].code ? p[j].code : "");
            ok = sie_trans(&w, a.number, NULL, 0, p[j].amount_ore,
                           trans_text[0] ? trans_text : NULL);
        }
        ok = ok && sie_ver_end(&w);
        i = j;
    }
    ok = ok && sie_finish(&w);
    if (!ok)
        snprintf(err, errlen, "SIE export: %s", sie_error(&w) ? sie_error(&w) : "failed");
    sie_free(&w);
    return ok;
}
