/* report_html: renders the nightly report's pages; see report_html.h. Every number is formatted
 * here, every text from the data goes through report_html_escape. */
#include "report_html.h"

#include "civil_date.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define NNBSP "\xe2\x80\xaf" /* U+202F narrow no-break space: digit groups */
#define NBSP "\xc2\xa0"      /* U+00A0 no-break space: before "kr" */
#define MINUS "\xe2\x88\x92" /* U+2212 minus sign */

/* ------------------------------------------------------------------ formatting */

void report_html_escape(struct strbuf *out, const char *s)
{
    if (s == NULL)
        return;
    const char *run = s;
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#39;"
                                       : NULL;
        if (rep == NULL)
            continue;
        strbuf_add(out, run, (size_t)(s - run));
        strbuf_str(out, rep);
        run = s + 1;
    }
    strbuf_add(out, run, (size_t)(s - run));
}

/* Whole units of `v` (no sign) with digit groups: "12 345". */
static void grouped(char *out, size_t n, uint64_t v)
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < len && o + 4 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            memcpy(out + o, NNBSP, 3);
            o += 3;
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void report_html_kronor(char *out, int64_t ore)
{
    uint64_t mag = ore < 0 ? (uint64_t)0 - (uint64_t)ore : (uint64_t)ore;
    char whole[40];
    grouped(whole, sizeof whole, mag / 100);
    snprintf(out, REPORT_HTML_KRONOR_LEN, "%s%s,%02u" NBSP "kr", ore < 0 ? MINUS : "", whole,
             (unsigned)(mag % 100));
}

static void add_kronor(struct strbuf *out, int64_t ore)
{
    char k[REPORT_HTML_KRONOR_LEN];
    report_html_kronor(k, ore);
    strbuf_str(out, k);
}

/* A table cell with an amount; negative ones marked for colour. */
static void td_kronor(struct strbuf *out, int64_t ore)
{
    strbuf_str(out, ore < 0 ? "<td class=\"num neg\">" : "<td class=\"num\">");
    add_kronor(out, ore);
    strbuf_str(out, "</td>");
}

/* A table cell with text from the data (nothing inside for NULL). */
static void td_text(struct strbuf *out, const char *text)
{
    strbuf_str(out, "<td>");
    report_html_escape(out, text);
    strbuf_str(out, "</td>");
}

/* The row a table without rows shows instead: `text` across all `cols` columns. */
static void empty_row(struct strbuf *out, size_t nrows, int cols, const char *text)
{
    if (nrows == 0)
        strbuf_printf(out, "<tr><td colspan=\"%d\" class=\"none\">%s</td></tr>\n", cols, text);
}

/* The owed, paid and difference (paid minus owed) cells every reconciliation table has. */
static void td_owed_paid(struct strbuf *out, int64_t owed, int64_t paid)
{
    td_kronor(out, owed);
    td_kronor(out, paid);
    td_kronor(out, paid - owed);
}

static void add_date(struct strbuf *out, int32_t day)
{
    char d[CIVIL_DATE_LEN + 1];
    civil_format(day, d);
    strbuf_str(out, d);
}

static void add_month(struct strbuf *out, int32_t month)
{
    char d[CIVIL_DATE_LEN + 1];
    civil_format(month, d);
    strbuf_add(out, d, 7);
}

/* ------------------------------------------------------------------ words */

/* Every word the pages show for a value from the data, by kind: C compensation code, A what to
 * do about a reconciliation class, L the class's label, R a move-out reason. */
static const struct {
    char kind;
    const char *key, *text;
} words[] = {
    {'C', "ALLOCATION_PLACE", "Housing places (fördelningstal)"},
    {'C', "MOVE_IN", "Move-in (inflyttning)"},
    {'C', "DAY_CHILD", "Days in housing, child"},
    {'C', "DAY_ADULT", "Days in housing, adult"},
    {'C', "DAY_FORMER_UAM", "Days, former unaccompanied minor (supplement)"},
    {'C', "LUMP_SUM", "Lump-sum payment without per-person lines"},
    {'A', "underpaid", "Claim the missing amount (anmälan om utebliven schablon)"},
    {'A', "overpaid", "Expect a reclaim (återkrav)"},
    {'A', "unknown_person", "Ask Migrationsverket: paid for someone not in our ledger"},
    {'A', "not_yet_paid", "Wait for the payment list"},
    {'A', "ok", "Nothing to do"},
    {'L', "underpaid", "Underpaid"},
    {'L', "overpaid", "Overpaid"},
    {'L', "unknown_person", "Unknown person"},
    {'L', "not_yet_paid", "Not yet paid"},
    {'L', "ok", "Paid as owed"},
    {'R', "other_municipality", "moved to another municipality"},
    {'R', "left_country", "left the country"},
    {'R', "own_housing", "moved to housing of their own"},
    {'R', "registered", "registered in the population register (folkbokförd)"},
    {'R', "deceased", "deceased"},
    {'R', "other", "other reason"},
};

/* The word of `kind` for `key`, or `fallback` for a NULL or unknown key. */
static const char *word(char kind, const char *key, const char *fallback)
{
    for (size_t i = 0; key != NULL && i < sizeof words / sizeof words[0]; i++)
        if (words[i].kind == kind && strcmp(key, words[i].key) == 0)
            return words[i].text;
    return fallback;
}

const char *report_html_code_label(const char *code)
{
    return word('C', code, code != NULL ? code : "");
}

const char *report_html_action(const char *cls)
{
    return word('A', cls, "Check this row");
}

static const char *class_label(const char *cls)
{
    return word('L', cls, cls != NULL ? cls : "");
}

static const char *move_out_reason(const char *reason)
{
    return word('R', reason, reason != NULL ? reason : "");
}

/* ------------------------------------------------------------------ page frame */

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f3f4f6;color:#1f2933;font:15px/1.45 \"Segoe UI\",\"Noto Sans\","
    "\"DejaVu Sans\",Arial,sans-serif}"
    "main{max-width:980px;margin:0 auto;padding:0 24px 32px}"
    "header.top{background:#17324d;color:#fff;padding:20px 24px 18px}"
    "header.top div{max-width:932px;margin:0 auto}"
    "header.top h1{margin:0;font-size:26px;font-weight:600}"
    "header.top p{margin:4px 0 0;color:#c9d6e3}"
    "section{background:#fff;border:1px solid #d9dee4;border-radius:6px;margin:18px 0;"
    "padding:16px 20px}"
    "h2{font-size:18px;margin:0 0 6px;color:#17324d}"
    "p.lead{margin:0 0 12px;color:#52606d}"
    ".cut{background:#eef4fa;border-left:4px solid #2f6fad;padding:10px 14px;margin:18px 0 0;"
    "border-radius:4px}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:0}"
    ".card{flex:1 1 170px;border:1px solid #d9dee4;border-radius:6px;padding:10px 12px;"
    "background:#fafbfc}"
    ".card .label{font-size:13px;color:#52606d}"
    ".card .value{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    ".card.claim{border-color:#c2410c;background:#fff7ed}"
    ".card.reclaim{border-color:#7c3aed;background:#f5f3ff}"
    "table{border-collapse:collapse;width:100%;font-size:14px}"
    "th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}"
    "th{background:#f5f7fa;color:#3e4c59;font-weight:600}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.neg{color:#b42318}"
    "tr.total td{font-weight:600;border-top:2px solid #9aa5b1}"
    ".tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "white-space:nowrap}"
    ".tag.underpaid{background:#ffedd5;color:#9a3412}"
    ".tag.overpaid{background:#ede9fe;color:#5b21b6}"
    ".tag.unknown_person{background:#fee2e2;color:#991b1b}"
    ".tag.not_yet_paid{background:#e5e7eb;color:#374151}"
    ".none{color:#52606d;font-style:italic}"
    ".small{font-size:12px;color:#52606d}.nowrap{white-space:nowrap}"
    ".scroll{overflow-x:auto}"
    ".tag+div{margin-top:3px}"
    "svg text{font-family:inherit}"
    "details{margin-top:8px}summary{cursor:pointer;color:#2f6fad}"
    "footer{color:#52606d;font-size:13px;margin-top:18px}"
    "a{color:#1d5c99}"
    "@media print{body{background:#fff}section{border:none;padding:0}header.top{background:#fff;"
    "color:#000}header.top p{color:#333}}";

static void page_begin(struct strbuf *out, const char *title_html)
{
    strbuf_str(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>");
    strbuf_str(out, title_html);
    strbuf_str(out, "</title>\n<style>");
    strbuf_str(out, css);
    strbuf_str(out, "</style>\n</head>\n<body>\n");
}

/* The paragraph that says which state of the ledger the figures show. */
static void cut_paragraph(struct strbuf *out, const struct report_cut_info *c, int32_t recon_month)
{
    strbuf_str(out, "<p class=\"cut\" id=\"cut\">Figures as the ledger stood at <strong>");
    report_html_escape(out, c->at_local);
    strbuf_str(out, "</strong> Stockholm time (<code>");
    report_html_escape(out, c->at_utc);
    strbuf_str(out, "</code>), ");
    if (c->run_id != NULL) {
        strbuf_str(out, "when the night's accrual run (no. ");
        report_html_escape(out, c->run_id);
        strbuf_str(out, ", through ");
        report_html_escape(out, c->run_through);
        strbuf_str(out, ") had finished.");
    } else {
        strbuf_str(out, "the end of the day before the report's date: no accrual run finished on ");
        add_date(out, c->date);
        strbuf_str(out, ", so amounts for the last days may be missing.");
    }
    strbuf_str(out, " Anything recorded later is not included, so this report reads the same "
                    "every time it is produced for ");
    add_date(out, c->date);
    strbuf_str(out, ". Reconciliation month: <strong>");
    add_month(out, recon_month);
    strbuf_str(out, "</strong>.</p>\n");
}

static void page_end(struct strbuf *out, const char *version, const struct report_cut_info *c)
{
    strbuf_str(out, "<footer>Produced by reimbursed ");
    report_html_escape(out, version);
    strbuf_str(out, " for ");
    add_date(out, c->date);
    strbuf_str(out, ", ledger as known at ");
    report_html_escape(out, c->at_utc);
    strbuf_str(out, ". Amounts in Swedish kronor.</footer>\n</main>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------------ summary: figures */

static void card(struct strbuf *out, const char *cls, const char *label, int64_t ore)
{
    strbuf_printf(out,
                  "<div class=\"card%s%s\"><div class=\"label\">%s</div>"
                  "<div class=\"value\">",
                  cls ? " " : "", cls ? cls : "", label);
    add_kronor(out, ore);
    strbuf_str(out, "</div></div>");
}

static void key_figures(struct strbuf *out, const struct report_totals *t)
{
    strbuf_str(out, "<section id=\"key-figures\">\n<h2>In short</h2>\n<div class=\"cards\">");
    card(out, "claim", "Outstanding: owed to us, not yet paid", t->outstanding_ore);
    card(out, "reclaim", "Expected reclaim (återkrav)", t->reclaim_ore);
    card(out, NULL, "Owed for ended months", t->owed_ore);
    card(out, NULL, "Paid by Migrationsverket", t->paid_ore);
    strbuf_str(out, "</div>\n</section>\n");
}

static void totals_row(struct strbuf *out, const struct report_totals *t, bool total)
{
    if (total) {
        strbuf_str(out, "<tr class=\"total\"><td>All compensations</td>");
    } else {
        strbuf_str(out, "<tr><td>");
        report_html_escape(out, report_html_code_label(t->code));
        strbuf_str(out, "<div class=\"small\"><code>");
        report_html_escape(out, t->code);
        strbuf_str(out, "</code></div></td>");
    }
    td_owed_paid(out, t->owed_ore, t->paid_ore);
    td_kronor(out, t->outstanding_ore);
    td_kronor(out, t->reclaim_ore);
    strbuf_str(out, "</tr>\n");
}

static void totals_table(struct strbuf *out, const struct report_summary *s)
{
    strbuf_str(out,
               "<section id=\"totals\">\n<h2>Totals per compensation</h2>\n"
               "<p class=\"lead\">Owed counts the months that had ended; the difference is "
               "paid minus owed. Outstanding is what we should still receive; expected "
               "reclaim is what the state has paid too much and will take back.</p>\n"
               "<div class=\"scroll\"><table id=\"totals-table\">\n<thead><tr><th>Compensation</th>"
               "<th class=\"num\">Owed</th><th class=\"num\">Paid</th>"
               "<th class=\"num\">Difference</th><th class=\"num\">Outstanding</th>"
               "<th class=\"num\">Expected reclaim</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < s->nby_code; i++)
        totals_row(out, &s->by_code[i], false);
    empty_row(out, s->nby_code, 6, "Nothing owed or paid yet.");
    totals_row(out, &s->total, true);
    strbuf_str(out, "</tbody>\n</table></div>\n<p>Accrued for the running month, due once it has "
                    "ended: ");
    add_kronor(out, s->total.not_due_ore);
    strbuf_str(out, ".</p>\n</section>\n");
}

/* ------------------------------------------------------------------ summary: chart */

struct axis {
    int64_t lo, hi, step; /* öre */
};

/* Round bounds and a step of 1, 2 or 5 × 10^k öre, about five steps from lo to hi. */
static struct axis axis_for(int64_t lo, int64_t hi)
{
    struct axis a;
    if (hi <= lo)
        hi = lo + 100;
    int64_t raw = (hi - lo) / 5 + 1, mag = 1;
    while (mag <= INT64_MAX / 10 && mag * 10 <= raw)
        mag *= 10;
    a.step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
    a.lo = lo >= 0 ? 0 : -((-lo + a.step - 1) / a.step) * a.step;
    a.hi = hi <= 0 ? 0 : ((hi + a.step - 1) / a.step) * a.step;
    return a;
}

/* The chart's geometry, in SVG user units. */
enum { CW = 760, CH = 320, ML = 96, MR = 16, MT = 40, MB = 64 };

static double y_of(const struct axis *a, int64_t v)
{
    double ph = CH - MT - MB;
    return MT + ph * (double)(a->hi - v) / (double)(a->hi - a->lo);
}

/* An axis label: whole kronor when the step is, else with öre. */
static void tick_label(struct strbuf *out, int64_t v, int64_t step)
{
    char k[REPORT_HTML_KRONOR_LEN], *comma;
    report_html_kronor(k, v);
    if (step % 100 == 0 && (comma = strrchr(k, ',')) != NULL)
        *comma = '\0';
    else if ((comma = strstr(k, NBSP "kr")) != NULL)
        *comma = '\0';
    strbuf_str(out, k);
}

static void chart_axis(struct strbuf *out, const struct axis *a)
{
    for (int64_t v = a->lo; v <= a->hi; v += a->step) {
        double y = y_of(a, v);
        strbuf_printf(out,
                      "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                      "stroke=\"%s\" stroke-width=\"1\"/>"
                      "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                      "font-size=\"11\" fill=\"#3e4c59\">",
                      ML, y, CW - MR, y, v == 0 ? "#7b8794" : "#e4e7eb", ML - 6, y + 4);
        tick_label(out, v, a->step);
        strbuf_str(out, "</text>\n");
    }
    strbuf_printf(out,
                  "<text x=\"14\" y=\"%d\" font-size=\"12\" fill=\"#3e4c59\" "
                  "transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">kronor</text>\n",
                  MT + (CH - MT - MB) / 2, MT + (CH - MT - MB) / 2);
}

static void chart_legend(struct strbuf *out)
{
    strbuf_printf(out,
                  "<g class=\"legend\" font-size=\"12\" fill=\"#1f2933\">"
                  "<rect class=\"legend-owed\" x=\"%d\" y=\"10\" width=\"12\" height=\"12\" "
                  "fill=\"#1f5f99\"/><text x=\"%d\" y=\"20\">Owed (our ledger)</text>"
                  "<rect class=\"legend-paid\" x=\"%d\" y=\"10\" width=\"12\" height=\"12\" "
                  "fill=\"#e69f00\"/><text x=\"%d\" y=\"20\">Paid by Migrationsverket</text>"
                  "</g>\n",
                  ML, ML + 18, ML + 160, ML + 178);
}

static void chart_bar(struct strbuf *out, const struct axis *a, const char *series,
                      const char *fill, double x, double w, int32_t month, int64_t v)
{
    double y0 = y_of(a, 0), y = y_of(a, v);
    double top = y < y0 ? y : y0, h = y < y0 ? y0 - y : y - y0;
    strbuf_printf(out,
                  "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                  "fill=\"%s\"><title>",
                  series, x, top, w, h, fill);
    add_month(out, month);
    strbuf_printf(out, " %s: ", series);
    add_kronor(out, v);
    strbuf_str(out, "</title></rect>\n");
}

static void chart_month(struct strbuf *out, const struct axis *a, const struct report_month *m,
                        size_t i, size_t n)
{
    double group = (double)(CW - ML - MR) / (double)n;
    double w = group * 0.36 < 26 ? group * 0.36 : 26;
    double cx = ML + group * ((double)i + 0.5);
    chart_bar(out, a, "owed", "#1f5f99", cx - w - 1, w, m->month, m->owed_ore);
    chart_bar(out, a, "paid", "#e69f00", cx + 1, w, m->month, m->paid_ore);
    int ly = CH - MB + 16;
    if (n > 8)
        strbuf_printf(out,
                      "<text class=\"month\" x=\"%.1f\" y=\"%d\" font-size=\"11\" "
                      "fill=\"#3e4c59\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %d)\">",
                      cx + 4, ly, cx + 4, ly);
    else
        strbuf_printf(out,
                      "<text class=\"month\" x=\"%.1f\" y=\"%d\" font-size=\"11\" "
                      "fill=\"#3e4c59\" text-anchor=\"middle\">",
                      cx, ly);
    add_month(out, m->month);
    strbuf_str(out, "</text>\n");
}

void report_html_chart(struct strbuf *out, const struct report_month *months, size_t n)
{
    if (n == 0) {
        strbuf_str(out, "<p class=\"none\">No ended month has any amount yet.</p>\n");
        return;
    }
    if (n > REPORT_HTML_CHART_MONTHS) {
        months += n - REPORT_HTML_CHART_MONTHS;
        n = REPORT_HTML_CHART_MONTHS;
    }
    int64_t lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v[2] = {months[i].owed_ore, months[i].paid_ore};
        for (int k = 0; k < 2; k++) {
            lo = v[k] < lo ? v[k] : lo;
            hi = v[k] > hi ? v[k] : hi;
        }
    }
    struct axis a = axis_for(lo, hi);
    strbuf_printf(out,
                  "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                  "width=\"100%%\" role=\"img\" aria-labelledby=\"chart-title\" "
                  "style=\"max-width:%dpx;display:block\">\n<title id=\"chart-title\">Owed and "
                  "paid per month, ",
                  CW, CH, CW);
    add_month(out, months[0].month);
    strbuf_str(out, " to ");
    add_month(out, months[n - 1].month);
    strbuf_str(out, "</title>\n");
    chart_legend(out);
    chart_axis(out, &a);
    for (size_t i = 0; i < n; i++)
        chart_month(out, &a, &months[i], i, n);
    strbuf_str(out, "</svg>\n");
}

static void chart_section(struct strbuf *out, const struct report_summary *s)
{
    strbuf_str(out, "<section id=\"by-month\">\n<h2>Owed and paid, month by month</h2>\n"
                    "<p class=\"lead\">Each ended month with amounts (the last 24 at most): what "
                    "our ledger says the state owes, beside what it has paid for that month. "
                    "Hover over a bar for its amount.</p>\n");
    report_html_chart(out, s->months, s->nmonths);
    if (s->nmonths > 0) {
        strbuf_str(out, "<details><summary>The figures as a table</summary>\n<table "
                        "id=\"months-table\"><thead><tr><th>Month</th><th class=\"num\">Owed</th>"
                        "<th class=\"num\">Paid</th><th class=\"num\">Difference</th></tr>"
                        "</thead>\n<tbody>\n");
        for (size_t i = 0; i < s->nmonths; i++) {
            strbuf_str(out, "<tr><td>");
            add_month(out, s->months[i].month);
            strbuf_str(out, "</td>");
            td_owed_paid(out, s->months[i].owed_ore, s->months[i].paid_ore);
            strbuf_str(out, "</tr>\n");
        }
        strbuf_str(out, "</tbody></table></details>\n");
    }
    strbuf_str(out, "</section>\n");
}

/* ------------------------------------------------------------------ summary: discrepancies */

static void discrepancy_row(struct strbuf *out, const struct report_discrepancy *d)
{
    strbuf_str(out, "<tr><td class=\"nowrap\">");
    add_month(out, d->month);
    strbuf_str(out, "</td><td class=\"nowrap\">");
    if (d->dossier_number != NULL)
        report_html_escape(out, d->dossier_number);
    else
        strbuf_str(out, "<span class=\"none\">whole municipality</span>");
    if (d->placement_id != NULL) {
        strbuf_str(out, "<div class=\"small\">placement ");
        report_html_escape(out, d->placement_id);
        strbuf_str(out, "</div>");
    }
    strbuf_str(out, "</td>");
    td_text(out, report_html_code_label(d->code));
    td_owed_paid(out, d->owed_ore, d->paid_ore);
    strbuf_str(out, "<td><span class=\"tag ");
    report_html_escape(out, d->cls);
    strbuf_str(out, "\">");
    report_html_escape(out, class_label(d->cls));
    strbuf_str(out, "</span><div>");
    report_html_escape(out, report_html_action(d->cls));
    strbuf_str(out, "</div></td></tr>\n");
}

static void class_summary(struct strbuf *out, const struct report_summary *s)
{
    if (s->nclasses == 0)
        return;
    strbuf_str(out, "<p id=\"class-summary\">All ended months together: ");
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct report_class_count *c = &s->classes[i];
        strbuf_str(out, i ? "; " : "");
        report_html_escape(out, class_label(c->cls));
        strbuf_printf(out, " %lld %s, difference ", c->rows, c->rows == 1 ? "row" : "rows");
        add_kronor(out, c->diff_ore);
    }
    strbuf_str(out, ".</p>\n");
}

static void discrepancies_section(struct strbuf *out, const struct report_summary *s)
{
    strbuf_str(out,
               "<section id=\"discrepancies\">\n<h2>Largest discrepancies</h2>\n"
               "<p class=\"lead\">The rows of all ended months where what was paid differs "
               "from what is owed, largest difference first, with what to do about each; "
               "rows that only wait for a payment list come after the others. "
               "The full reconciliation of the last month is in "
               "<a href=\"reconciliation.csv\">reconciliation.csv</a>.</p>\n"
               "<div class=\"scroll\"><table id=\"discrepancies-table\">\n<thead><tr><th>Month</th>"
               "<th>Dossier number</th><th>Compensation</th>"
               "<th class=\"num\">Owed</th><th class=\"num\">Paid</th>"
               "<th class=\"num\">Difference</th><th>What to do</th></tr>"
               "</thead>\n<tbody>\n");
    for (size_t i = 0; i < s->ndiscrepancies; i++)
        discrepancy_row(out, &s->discrepancies[i]);
    empty_row(out, s->ndiscrepancies, 7, "No discrepancies: every ended month is paid as owed.");
    strbuf_str(out, "</tbody>\n</table></div>\n");
    class_summary(out, s);
    strbuf_str(out, "</section>\n");
}

/* ------------------------------------------------------------------ summary: changes */

static void change_what(struct strbuf *out, const struct report_change *c)
{
    bool out_field = c->field != NULL && strcmp(c->field, "moved_out_on") == 0;
    if (strcmp(c->type, "moved_out") == 0) {
        strbuf_str(out, "Moved out: ");
        report_html_escape(out, move_out_reason(c->reason));
    } else if (c->value == NULL) {
        strbuf_str(out, out_field ? "Move-out removed (it was recorded by mistake)"
                                  : "Registration date removed (it was recorded by mistake)");
    } else {
        strbuf_str(out, out_field ? "Move-out date corrected"
                                  : "Registered in the population register (folkbokförd)");
    }
}

static void change_row(struct strbuf *out, const struct report_change *c)
{
    strbuf_str(out, "<tr>");
    td_text(out, c->placement_id);
    td_text(out, c->dossier_number);
    strbuf_str(out, "<td>");
    change_what(out, c);
    strbuf_str(out, "</td>");
    td_text(out, c->value != NULL ? c->value : "(none)");
    td_text(out, strcmp(c->type, "correction") == 0 ? c->reason : NULL);
    td_text(out, c->recorded_at);
    strbuf_str(out, "</tr>\n");
}

static void changes_section(struct strbuf *out, const struct report_summary *s)
{
    strbuf_str(out, "<section id=\"changes\">\n<h2>Changes to report to Migrationsverket</h2>\n"
                    "<p class=\"lead\">Move-outs and registrations recorded on <strong>");
    add_date(out, s->cut.date - 1);
    strbuf_str(out,
               "</strong> (Stockholm time). Tell Migrationsverket's reception unit about "
               "each of them now: the state pays from its own register, so a change it "
               "has not heard of becomes a wrong payment that is reclaimed later.</p>\n"
               "<div class=\"scroll\"><table id=\"changes-table\">\n<thead><tr><th>Placement</th>"
               "<th>Dossier number</th><th>What happened</th><th>Date</th>"
               "<th>Reason given</th><th>Recorded</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < s->nchanges; i++)
        change_row(out, &s->changes[i]);
    if (s->nchanges == 0) {
        strbuf_str(out, "<tr><td colspan=\"6\" class=\"none\">No move-out or registration was "
                        "recorded on ");
        add_date(out, s->cut.date - 1);
        strbuf_str(out, ".</td></tr>\n");
    }
    strbuf_str(out, "</tbody>\n</table></div>\n</section>\n");
}

/* ------------------------------------------------------------------ pages */

void report_html_summary(struct strbuf *out, const struct report_summary *s)
{
    struct strbuf title = {0};
    report_html_escape(&title, s->name);
    strbuf_str(&title, " (");
    report_html_escape(&title, s->municipality);
    strbuf_str(&title, "): state compensation, report for ");
    add_date(&title, s->cut.date);
    page_begin(out, strbuf_cstr(&title));
    strbuf_str(out, "<header class=\"top\"><div><h1>");
    report_html_escape(out, s->name);
    strbuf_str(out, " kommun <span style=\"font-weight:400\">(");
    report_html_escape(out, s->municipality);
    strbuf_str(out, ")</span></h1><p>State compensation for people housed under the "
                    "mass-influx directive (schablonersättning) &middot; report for ");
    add_date(out, s->cut.date);
    strbuf_str(out, "</p></div></header>\n<main>\n");
    strbuf_free(&title);
    cut_paragraph(out, &s->cut, s->recon_month);
    key_figures(out, &s->total);
    totals_table(out, s);
    chart_section(out, s);
    discrepancies_section(out, s);
    changes_section(out, s);
    strbuf_str(out, "<p>Files in this folder: <a href=\"reconciliation.csv\">reconciliation.csv"
                    "</a> and <a href=\"reconciliation.json\">reconciliation.json</a> (the "
                    "reconciliation of ");
    add_month(out, s->recon_month);
    strbuf_str(out, "), <a href=\"ledger.se\">ledger.se</a> (the ledger as an SIE 4 file for "
                    "the bookkeeping system). <a href=\"../index.html\">All municipalities</a>."
                    "</p>\n");
    page_end(out, s->version, &s->cut);
}

static void index_row(struct strbuf *out, const struct report_index_row *r)
{
    strbuf_str(out, "<tr>");
    td_text(out, r->municipality);
    td_text(out, r->name);
    if (r->failed) {
        strbuf_str(out, "<td colspan=\"5\" class=\"neg\">The report could not be written; see "
                        "the nightly job's log.</td></tr>\n");
        return;
    }
    td_kronor(out, r->total.owed_ore);
    td_kronor(out, r->total.paid_ore);
    td_kronor(out, r->total.outstanding_ore);
    td_kronor(out, r->total.reclaim_ore);
    strbuf_str(out, "<td><a href=\"");
    report_html_escape(out, r->municipality);
    strbuf_str(out, "/summary.html\">Report</a></td></tr>\n");
}

static void index_total(struct strbuf *out, const struct report_index *ix)
{
    int64_t t[4] = {0};
    bool wrapped[4] = {false};
    for (size_t i = 0; i < ix->nrows; i++) {
        const struct report_totals *r = &ix->rows[i].total;
        const int64_t v[4] = {r->owed_ore, r->paid_ore, r->outstanding_ore, r->reclaim_ore};
        for (int k = 0; k < 4 && !ix->rows[i].failed; k++)
            wrapped[k] = wrapped[k] || __builtin_add_overflow(t[k], v[k], &t[k]);
    }
    strbuf_printf(out, "<tr class=\"total\"><td></td><td>All %zu municipalities</td>", ix->nrows);
    for (int k = 0; k < 4; k++) {
        if (wrapped[k])
            strbuf_str(out, "<td class=\"num\">out of range</td>");
        else
            td_kronor(out, t[k]);
    }
    strbuf_str(out, "<td></td></tr>\n");
}

void report_html_index(struct strbuf *out, const struct report_index *ix)
{
    struct strbuf title = {0};
    strbuf_str(&title, "State compensation: reports for ");
    add_date(&title, ix->cut.date);
    page_begin(out, strbuf_cstr(&title));
    strbuf_free(&title);
    strbuf_str(out, "<header class=\"top\"><div><h1>State compensation, all municipalities</h1>"
                    "<p>Schablonersättning under the mass-influx directive &middot; report for ");
    add_date(out, ix->cut.date);
    strbuf_str(out, "</p></div></header>\n<main>\n");
    cut_paragraph(out, &ix->cut, ix->recon_month);
    strbuf_str(out, "<section id=\"municipalities\">\n<h2>Municipalities</h2>\n<p class=\"lead\">"
                    "Owed counts ended months. Open a municipality's report for the details, "
                    "the discrepancies and the changes to report.</p>\n<div "
                    "class=\"scroll\"><table id=\"index-table\">"
                    "\n<thead><tr><th>Code</th><th>Municipality</th><th class=\"num\">Owed</th>"
                    "<th class=\"num\">Paid</th><th class=\"num\">Outstanding</th>"
                    "<th class=\"num\">Expected reclaim</th><th>Report</th></tr></thead>\n"
                    "<tbody>\n");
    for (size_t i = 0; i < ix->nrows; i++)
        index_row(out, &ix->rows[i]);
    if (ix->nrows != 0)
        index_total(out, ix);
    empty_row(out, ix->nrows, 7, "No municipality has placements, allocations or payments yet.");
    strbuf_str(out, "</tbody>\n</table></div>\n</section>\n");
    page_end(out, ix->version, &ix->cut);
}
