/* accrual_post: array literals of the accrual run's postings for api.ledger_post. */
#include "accrual_post.h"

#include "civil_date.h"

#include <stdio.h>

void accrual_post_item(struct strbuf *b, bool first, const char *text)
{
    if (!first)
        strbuf_add(b, ",", 1);
    strbuf_str(b, text);
}

/* Appends `text` to every literal, or frees them all when `text` is NULL. */
static void each(struct accrual_post_arrays *a, const char *text)
{
    struct strbuf *all[] = {&a->jid, &a->acct, &a->pid, &a->aid, &a->mon, &a->code, &a->amt};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        if (text)
            strbuf_str(all[k], text);
        else
            strbuf_free(all[k]);
    }
}

void accrual_post_open(struct accrual_post_arrays *a)
{
    each(a, "{");
}

void accrual_post_close(struct accrual_post_arrays *a)
{
    each(a, "}");
}

void accrual_post_free(struct accrual_post_arrays *a)
{
    each(a, NULL);
}

bool accrual_post_oom(const struct accrual_post_arrays *a)
{
    return a->jid.oom || a->acct.oom || a->pid.oom || a->aid.oom || a->mon.oom || a->code.oom ||
           a->amt.oom;
}

void accrual_post_add(struct accrual_post_arrays *a, int journal, long long placement,
                      long long allocation, int32_t month, enum accrual_code code, int64_t amount)
{
    char num[32], month_text[CIVIL_DATE_LEN + 1];
    bool first = a->n++ == 0;
    civil_format(month, month_text);
    snprintf(num, sizeof num, "%d", journal);
    accrual_post_item(&a->jid, first, num);
    accrual_post_item(&a->acct, first, placement || allocation ? "receivable" : "compensation");
    snprintf(num, sizeof num, "%lld", placement);
    accrual_post_item(&a->pid, first, placement ? num : "NULL");
    snprintf(num, sizeof num, "%lld", allocation);
    accrual_post_item(&a->aid, first, allocation ? num : "NULL");
    accrual_post_item(&a->mon, first, month_text);
    accrual_post_item(&a->code, first, accrual_code_name(code));
    snprintf(num, sizeof num, "%lld", (long long)amount);
    accrual_post_item(&a->amt, first, num);
}
