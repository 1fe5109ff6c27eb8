/* sie: the SIE 4E writer; records, quoting, CP437 and amounts as sie.h describes. */
#include "sie.h"

#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "grow.h"
#include "utf8.h"

enum {
    ST_NEW = 0, /* sie_init done, sie_begin not yet */
    ST_CHART,   /* after sie_begin: #KONTO allowed */
    ST_VERS,    /* after the first #VER: no more #KONTO */
    ST_IN_VER,  /* between sie_ver_begin and sie_ver_end */
    ST_DONE,    /* after sie_finish */
};

/* Unicode code points of CP437 bytes 0x80..0xFF (IBM PC-8). */
static const uint16_t cp437_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, /* 0x80 */
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, /* 0x88 */
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, /* 0x90 */
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, /* 0x98 */
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, /* 0xA0 */
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, /* 0xA8 */
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, /* 0xB0 */
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, /* 0xB8 */
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, /* 0xC0 */
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567, /* 0xC8 */
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, /* 0xD0 */
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, /* 0xD8 */
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, /* 0xE0 */
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229, /* 0xE8 */
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, /* 0xF0 */
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0, /* 0xF8 */
};

/* The CP437 byte for a code point of 0x80 or more, or -1. A no-break space becomes a plain
 * space: 0xFF is the one byte some readers take for end of file or garbage. */
static int cp437_byte(uint32_t cp)
{
    if (cp == 0x00A0)
        return ' ';
    for (int i = 0; i < 128; i++) {
        if (cp437_high[i] == cp)
            return 0x80 + i;
    }
    return -1;
}

void sie_cp437_append(struct strbuf *b, const char *utf8)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t n = strlen(utf8);
    size_t i = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = utf8_decode(s + i, n - i, &cp);
        char out;
        if (len == 0) {
            out = '?';
            len = 1;
        } else if (cp == '\t' || cp == '\r' || cp == '\n') {
            out = ' ';
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            i += len; /* other C0 and C1 controls, and DEL: not allowed in SIE */
            continue;
        } else if (cp < 0x80) {
            out = (char)cp;
        } else {
            int byte = cp437_byte(cp);
            out = (char)(unsigned char)(byte >= 0 ? byte : '?');
        }
        strbuf_add(b, &out, 1);
        i += len;
    }
}

void sie_format_amount(int64_t ore, char out[SIE_AMOUNT_LEN])
{
    /* Unsigned magnitude, so INT64_MIN needs no special case. */
    uint64_t mag = ore < 0 ? 0u - (uint64_t)ore : (uint64_t)ore;
    char rev[SIE_AMOUNT_LEN];
    size_t n = 0;
    rev[n++] = (char)('0' + mag % 10);
    mag /= 10;
    rev[n++] = (char)('0' + mag % 10);
    mag /= 10;
    rev[n++] = '.';
    do {
        rev[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    size_t k = 0;
    if (ore < 0)
        out[k++] = '-';
    while (n > 0)
        out[k++] = rev[--n];
    out[k] = '\0';
}

static bool fail(struct sie_writer *w, const char *why)
{
    if (w->error == NULL)
        w->error = why;
    return false;
}

/* Every entry point starts here: a failed writer stays failed, and an out-of-memory strbuf
 * turns into the writer's error. */
static bool usable(struct sie_writer *w)
{
    if (w->error != NULL)
        return false;
    if (w->out->oom)
        return fail(w, "out of memory");
    return true;
}

/* And ends here: the output is complete only if the strbuf never ran out of memory. */
static bool done(struct sie_writer *w)
{
    if (w->out->oom)
        return fail(w, "out of memory");
    return w->error == NULL;
}

static bool date_ok(int32_t day)
{
    return day >= civil_from_ymd(1900, 1, 1) && day <= civil_from_ymd(9999, 12, 31);
}

static void put(struct sie_writer *w, const char *s)
{
    strbuf_str(w->out, s);
}

static void put_end(struct sie_writer *w)
{
    strbuf_add(w->out, "\r\n", 2);
}

/* SIE dates are YYYYMMDD without separators. */
static void put_date(struct sie_writer *w, int32_t day)
{
    int y, m, d;
    civil_to_ymd(day, &y, &m, &d);
    strbuf_printf(w->out, "%04d%02d%02d", y, m, d);
}

/* A quoted field: converted to CP437 first (into the writer's reused scratch buffer), then
 * escaped, because whether a backslash needs doubling depends on the byte after it in the
 * converted text. */
static void put_text(struct sie_writer *w, const char *utf8)
{
    strbuf_reset(&w->scratch);
    sie_cp437_append(&w->scratch, utf8);
    if (w->scratch.oom) {
        fail(w, "out of memory");
        return;
    }
    const char *s = strbuf_cstr(&w->scratch);
    size_t n = w->scratch.len;
    strbuf_add(w->out, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            strbuf_add(w->out, "\\\"", 2);
        } else if (s[i] == '\\') {
            char next = i + 1 < n ? s[i + 1] : '\0';
            bool escape = next == '"' || next == '\\' || next == '\0';
            strbuf_add(w->out, "\\\\", escape ? 2 : 1);
        } else {
            strbuf_add(w->out, s + i, 1);
        }
    }
    strbuf_add(w->out, "\"", 1);
}

/* Index of the first account >= number in the sorted list. */
static size_t account_slot(const struct sie_writer *w, int number)
{
    size_t lo = 0, hi = w->naccounts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->accounts[mid] < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool account_known(const struct sie_writer *w, int number)
{
    size_t i = account_slot(w, number);
    return i < w->naccounts && w->accounts[i] == number;
}

void sie_init(struct sie_writer *w, struct strbuf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->state = ST_NEW;
}

void sie_free(struct sie_writer *w)
{
    free(w->accounts);
    w->accounts = NULL;
    strbuf_free(&w->scratch);
    w->naccounts = w->accounts_cap = 0;
}

/* One header line "TAG \"text\"", or nothing when the optional text is absent. */
static void put_text_line(struct sie_writer *w, const char *tag, const char *utf8)
{
    if (utf8 == NULL)
        return;
    put(w, tag);
    put_text(w, utf8);
    put_end(w);
}

bool sie_begin(struct sie_writer *w, const struct sie_header *h)
{
    if (!usable(w))
        return false;
    if (w->state != ST_NEW)
        return fail(w, "sie_begin called twice");
    if (h == NULL || h->program == NULL || h->version == NULL || h->company == NULL)
        return fail(w, "header lacks program, version or company");
    if (!date_ok(h->generated_on) || !date_ok(h->year_from) || !date_ok(h->year_to))
        return fail(w, "header date out of range");
    if (h->year_from > h->year_to)
        return fail(w, "fiscal year ends before it starts");
    put(w, "#FLAGGA 0");
    put_end(w);
    put(w, "#PROGRAM ");
    put_text(w, h->program);
    put(w, " ");
    put_text(w, h->version);
    put_end(w);
    put(w, "#FORMAT PC8");
    put_end(w);
    put(w, "#GEN ");
    put_date(w, h->generated_on);
    put_end(w);
    put(w, "#SIETYP 4");
    put_end(w);
    put_text_line(w, "#ORGNR ", h->orgnr);
    put_text_line(w, "#FNAMN ", h->company);
    put(w, "#RAR 0 ");
    put_date(w, h->year_from);
    put(w, " ");
    put_date(w, h->year_to);
    put_end(w);
    put_text_line(w, "#KPTYP ", h->chart_type);
    w->state = ST_CHART;
    return done(w);
}

bool sie_account(struct sie_writer *w, int number, const char *name)
{
    if (!usable(w))
        return false;
    if (w->state != ST_CHART)
        return fail(w, "#KONTO outside the chart of accounts (after sie_begin, before #VER)");
    if (number < 0 || number > SIE_ACCOUNT_MAX || name == NULL)
        return fail(w, "account number out of range or name missing");
    size_t i = account_slot(w, number);
    if (i < w->naccounts && w->accounts[i] == number)
        return fail(w, "account written twice");
    int *grown = grow_array(w->accounts, &w->accounts_cap, w->naccounts, sizeof *grown, 32);
    if (grown == NULL)
        return fail(w, "out of memory");
    w->accounts = grown;
    memmove(w->accounts + i + 1, w->accounts + i, (w->naccounts - i) * sizeof *w->accounts);
    w->accounts[i] = number;
    w->naccounts++;
    strbuf_printf(w->out, "#KONTO %d ", number);
    put_text(w, name);
    put_end(w);
    return done(w);
}

bool sie_ver_begin(struct sie_writer *w, const char *series, long long number, int32_t date,
                   const char *text)
{
    if (!usable(w))
        return false;
    if (w->state != ST_CHART && w->state != ST_VERS)
        return fail(w, "#VER before sie_begin, inside a #VER or after sie_finish");
    if (series == NULL || text == NULL)
        return fail(w, "#VER without series or text");
    if (!date_ok(date))
        return fail(w, "#VER date out of range");
    put(w, "#VER ");
    put_text(w, series);
    if (number >= 0)
        strbuf_printf(w->out, " %lld ", number);
    else
        put(w, " \"\" ");
    put_date(w, date);
    put(w, " ");
    put_text(w, text);
    put_end(w);
    put(w, "{");
    put_end(w);
    w->state = ST_IN_VER;
    w->ver_date = date;
    w->ver_balance = 0;
    w->ver_trans = 0;
    return done(w);
}

bool sie_trans(struct sie_writer *w, int account, const struct sie_object *objects, size_t nobjects,
               int64_t amount_ore, const char *text)
{
    if (!usable(w))
        return false;
    if (w->state != ST_IN_VER)
        return fail(w, "#TRANS outside a #VER");
    if (!account_known(w, account))
        return fail(w, "#TRANS on an account without #KONTO");
    if (nobjects > 0 && objects == NULL)
        return fail(w, "object list missing");
    for (size_t i = 0; i < nobjects; i++) {
        if (objects[i].dimension < 1 || objects[i].id == NULL || objects[i].id[0] == '\0')
            return fail(w, "object without dimension or id");
    }
    if ((amount_ore > 0 && w->ver_balance > INT64_MAX - amount_ore) ||
        (amount_ore < 0 && w->ver_balance < INT64_MIN - amount_ore))
        return fail(w, "amounts of one #VER overflow");
    w->ver_balance += amount_ore;
    w->ver_trans++;

    char amount[SIE_AMOUNT_LEN];
    sie_format_amount(amount_ore, amount);
    strbuf_printf(w->out, "#TRANS %d {", account);
    for (size_t i = 0; i < nobjects; i++) {
        if (i > 0)
            put(w, " ");
        strbuf_printf(w->out, "%d ", objects[i].dimension);
        put_text(w, objects[i].id);
    }
    put(w, "} ");
    put(w, amount);
    if (text != NULL) {
        /* transdat comes before transtext; the verification's own date is the right one. */
        put(w, " ");
        put_date(w, w->ver_date);
        put(w, " ");
        put_text(w, text);
    }
    put_end(w);
    return done(w);
}

bool sie_ver_end(struct sie_writer *w)
{
    if (!usable(w))
        return false;
    if (w->state != ST_IN_VER)
        return fail(w, "sie_ver_end without an open #VER");
    if (w->ver_trans == 0)
        return fail(w, "#VER without #TRANS");
    if (w->ver_balance != 0)
        return fail(w, "#VER does not sum to zero");
    put(w, "}");
    put_end(w);
    w->state = ST_VERS;
    w->vers++;
    return done(w);
}

bool sie_finish(struct sie_writer *w)
{
    if (!usable(w))
        return false;
    if (w->state == ST_IN_VER)
        return fail(w, "sie_finish inside an open #VER");
    if (w->state == ST_NEW)
        return fail(w, "sie_finish before sie_begin");
    w->state = ST_DONE;
    return done(w);
}

const char *sie_error(const struct sie_writer *w)
{
    return w->error;
}
