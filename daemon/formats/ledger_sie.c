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

static char *chart_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* The slot an item names, with a bit per name so that a name given twice is caught; NULL when
 * the name is unknown. */
static int *chart_slot(struct ledger_chart *c, const char *name, unsigned *bit)
{
    enum accrual_code code;
    if (strcmp(name, "receivable") == 0)
        return *bit = 1u << 0, &c->receivable;
    if (strcmp(name, "bank") == 0)
        return *bit = 1u << 1, &c->bank;
    if (strcmp(name, "reclaim") == 0)
        return *bit = 1u << 2, &c->reclaim;
    if (strcmp(name, "other") == 0)
        return *bit = 1u << 3, &c->compensation_other;
    if (accrual_code_parse(name, &code))
        return *bit = 1u << (4 + (int)code), &c->compensation[code];
    return NULL;
}

static bool four_digits(const char *s, int *out)
{
    if (strlen(s) != 4 || strspn(s, "0123456789") != 4 || s[0] == '0')
        return false;
    *out = atoi(s);
    return true;
}

/* Receivable, bank and reclaim are three different balance accounts, and none of them is an
 * income account: one number for two of them would merge them in the books. Compensation codes
 * may share an income account. */
static bool chart_distinct(const struct ledger_chart *c, char *err, size_t errlen)
{
    const char *names[3] = {"receivable", "bank", "reclaim"};
    const int own[3] = {c->receivable, c->bank, c->reclaim};
    for (int i = 0; i < 3; i++) {
        for (int j = i + 1; j < 3; j++)
            if (own[i] == own[j]) {
                snprintf(err, errlen, "account %d is both %s and %s", own[i], names[i], names[j]);
                return false;
            }
        for (int k = 0; k <= ACCRUAL_CODES; k++) {
            int n = k < ACCRUAL_CODES ? c->compensation[k] : c->compensation_other;
            if (n == own[i]) {
                snprintf(err, errlen, "account %d is both %s and %s", n, names[i],
                         k < ACCRUAL_CODES ? accrual_code_name((enum accrual_code)k) : "other");
                return false;
            }
        }
    }
    return true;
}

bool ledger_chart_parse(const char *spec, struct ledger_chart *c, char *err, size_t errlen)
{
    char *copy = strdup(spec), *rest = copy;
    unsigned seen = 0;
    bool ok = copy != NULL;
    if (!ok)
        snprintf(err, errlen, "out of memory");
    for (char *item = ok ? strsep(&rest, ",") : NULL; ok && item != NULL;
         item = strsep(&rest, ",")) {
        char *eq = strchr(item, '=');
        char *name = chart_trim(item);
        unsigned bit = 0;
        int n = 0, *slot;
        if (*name == '\0') {
            snprintf(err, errlen, "empty item (a comma too many?)");
            ok = false;
            break;
        }
        if (eq != NULL)
            *eq = '\0';
        name = chart_trim(name);
        if (eq == NULL || !four_digits(chart_trim(eq + 1), &n)) {
            snprintf(err, errlen, "'%s' is not name=account with a four-digit account (1000-9999)",
                     name);
            ok = false;
        } else if ((slot = chart_slot(c, name, &bit)) == NULL) {
            snprintf(err, errlen,
                     "unknown account name '%s' (receivable, bank, reclaim, other or a "
                     "compensation code)",
                     name);
            ok = false;
        } else if (seen & bit) {
            snprintf(err, errlen, "'%s' is given twice", name);
            ok = false;
        } else {
            seen |= bit;
            *slot = n;
        }
    }
    free(copy);
    return ok && chart_distinct(c, err, errlen);
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

bool ledger_sie_stream_begin(struct ledger_sie_stream *s, struct strbuf *out,
                             const struct ledger_sie_file *f, const struct ledger_chart *chart,
                             const struct ledger_sie_posting *used, size_t nused)
{
    char company[160];
    snprintf(company, sizeof company, "%s kommun (%s)", f->name, f->municipality);
    struct sie_header h = {
        REIMBURSED_PROGRAM, REIMBURSED_VERSION, f->generated_on, company, NULL, NULL,
        f->year_from,       f->year_to};
    s->chart = chart;
    s->open = false;
    s->journal_id = 0;
    sie_init(&s->w, out);
    return sie_begin(&s->w, &h) && declare_accounts(&s->w, chart, used, nused);
}

bool ledger_sie_stream_posting(struct ledger_sie_stream *s, const struct ledger_sie_posting *p)
{
    char text[256], trans_text[96];
    if (!s->open || p->journal_id != s->journal_id) {
        if (s->open && !sie_ver_end(&s->w))
            return false;
        ver_text(p, text, sizeof text);
        if (!sie_ver_begin(&s->w, p->payment ? "B" : "A", p->journal_id, p->recorded_on, text))
            return false;
        s->open = true;
        s->journal_id = p->journal_id;
    }
    struct account a = account_of(s->chart, p->account, p->code);
    if (p->placement_id > 0)
        snprintf(trans_text, sizeof trans_text, "%s placering %lld", p->code ? p->code : "",
                 p->placement_id);
    else
        snprintf(trans_text, sizeof trans_text, "%s", p->code ? p->code : "");
    return sie_trans(&s->w, a.number, NULL, 0, p->amount_ore, trans_text[0] ? trans_text : NULL);
}

bool ledger_sie_stream_finish(struct ledger_sie_stream *s)
{
    if (s->open && !sie_ver_end(&s->w))
        return false;
    s->open = false;
    return sie_finish(&s->w);
}

const char *ledger_sie_stream_error(const struct ledger_sie_stream *s)
{
    return sie_error(&s->w) ? sie_error(&s->w) : "failed";
}

void ledger_sie_stream_free(struct ledger_sie_stream *s)
{
    sie_free(&s->w);
}

bool ledger_sie_write(struct strbuf *out, const struct ledger_sie_file *f,
                      const struct ledger_chart *chart, const struct ledger_sie_posting *p,
                      size_t n, char *err, size_t errlen)
{
    struct ledger_sie_stream s;
    bool ok = ledger_sie_stream_begin(&s, out, f, chart, p, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = ledger_sie_stream_posting(&s, &p[i]);
    ok = ok && ledger_sie_stream_finish(&s);
    if (!ok)
        snprintf(err, errlen, "SIE export: %s", ledger_sie_stream_error(&s));
    ledger_sie_stream_free(&s);
    return ok;
}
