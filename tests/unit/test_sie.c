/* Unit tests for sie: an independent SIE 4 reader parses the writer's bytes (and real files). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "civil_date.h"
#include "sie.h"
#include "strbuf.h"

#ifndef SIE_EXAMPLES_DIR
#define SIE_EXAMPLES_DIR "tests/data/sie-examples"
#endif

#define MAX_TOKS 64
#define TEXT_MAX 512
#define MAX_OBJ 4

/* ---- The reader: CP437 → UTF-8, a tokenizer for quoted strings and {} lists, records ---- */

/* CP437 0x80..0xFF as UTF-8, written out independently of sie.c's table (checked with iconv). */
static const char *const cp437_utf8[128] = {
    "Ç", "ü", "é", "â", "ä", "à", "å", "ç", "ê", "ë", "è", "ï", "î", "ì", "Ä", "Å",
    "É", "æ", "Æ", "ô", "ö", "ò", "û", "ù", "ÿ", "Ö", "Ü", "¢", "£", "¥", "₧", "ƒ",
    "á", "í", "ó", "ú", "ñ", "Ñ", "ª", "º", "¿", "⌐", "¬", "½", "¼", "¡", "«", "»",
    "░", "▒", "▓", "│", "┤", "╡", "╢", "╖", "╕", "╣", "║", "╗", "╝", "╜", "╛", "┐",
    "└", "┴", "┬", "├", "─", "┼", "╞", "╟", "╚", "╔", "╩", "╦", "╠", "═", "╬", "╧",
    "╨", "╤", "╥", "╙", "╘", "╒", "╓", "╫", "╪", "┘", "┌", "█", "▄", "▌", "▐", "▀",
    "α", "ß", "Γ", "π", "Σ", "σ", "µ", "τ", "Φ", "Θ", "Ω", "δ", "∞", "φ", "ε", "∩",
    "≡", "±", "≥", "≤", "⌠", "⌡", "÷", "≈", "°", "∙", "·", "√", "ⁿ", "²", "■", "\u00a0",
};

enum tok_kind { T_LABEL, T_STR, T_OPEN, T_CLOSE };

struct tok {
    enum tok_kind kind;
    char text[TEXT_MAX]; /* UTF-8 */
};

static void cp437_to_utf8(const unsigned char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *u = NULL;
        char one[2] = {(char)s[i], '\0'};
        u = s[i] < 0x80 ? one : cp437_utf8[s[i] - 0x80];
        size_t ul = strlen(u);
        assert_true(o + ul < cap);
        memcpy(out + o, u, ul);
        o += ul;
    }
    out[o] = '\0';
}

/* Splits one line into tokens; returns the count, or -1 on an unterminated quote. In a quoted
 * string \" and \\ are escapes; any other backslash is itself (real files write "1820\A012"). */
static int tokenize(const unsigned char *s, size_t n, struct tok *t, int max)
{
    int nt = 0;
    size_t i = 0;
    unsigned char raw[TEXT_MAX];
    while (i < n) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        assert_true(nt < max);
        struct tok *k = &t[nt++];
        size_t r = 0;
        if (s[i] == '{' || s[i] == '}') {
            k->kind = s[i] == '{' ? T_OPEN : T_CLOSE;
            k->text[0] = '\0';
            i++;
            continue;
        }
        if (s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return -1;
                if (s[i] == '"')
                    break;
                if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
                    i++;
                assert_true(r < sizeof raw);
                raw[r++] = s[i++];
            }
            i++;
            k->kind = T_STR;
        } else {
            while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '{' && s[i] != '}' &&
                   s[i] != '"') {
                assert_true(r < sizeof raw);
                raw[r++] = s[i++];
            }
            k->kind = nt == 1 && raw[0] == '#' ? T_LABEL : T_STR;
        }
        cp437_to_utf8(raw, r, k->text, sizeof k->text);
    }
    return nt;
}

/* Exact öre from "-1234.5", "-1234.50" or "133" (real files use 0, 1 or 2 decimals). */
static bool amount_parse(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    uint64_t v = 0;
    int digits = 0, decimals = -1;
    for (; *s != '\0'; s++) {
        if (*s == '.' && decimals < 0) {
            decimals = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || decimals == 2)
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        digits++;
        if (decimals >= 0)
            decimals++;
    }
    if (digits == 0)
        return false;
    for (int d = decimals < 0 ? 0 : decimals; d < 2; d++) {
        if (v > UINT64_MAX / 10)
            return false;
        v *= 10;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

struct rd_trans {
    int account;
    int64_t ore;
    int nobj;
    char obj[MAX_OBJ][2][128];
    char date[16];
    char text[TEXT_MAX];
};

struct rd_ver {
    char series[128], number[32], date[16], text[TEXT_MAX];
    size_t first, ntrans;
    int64_t sum;
    bool sum_overflow;
};

struct sie_read {
    char flagga[8], format[16], sietyp[8], gen[16], fnamn[256], orgnr[64], program[2][128];
    char rar_from[16], rar_to[16], kptyp[32];
    size_t nkonto, nver, ntrans, other_trans, lines;
    int konto[1024];
    char konto_name[1024][128];
    struct rd_ver ver[1024];
    struct rd_trans trans[8192];
};

static bool konto_known(const struct sie_read *r, int number)
{
    for (size_t i = 0; i < r->nkonto; i++) {
        if (r->konto[i] == number)
            return true;
    }
    return false;
}

/* Copies a string that must fit: a truncated field would hide a mismatch. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    assert_true(n < cap);
    memcpy(dst, src, n + 1);
}

static void copy_tok(char *dst, size_t cap, const struct tok *t, int nt, int i)
{
    copy_str(dst, cap, i < nt ? t[i].text : "");
}

/* The #TRANS record: account, {object list}, amount, then optional date and text. */
static void read_trans(struct sie_read *r, struct rd_ver *v, const struct tok *t, int nt)
{
    assert_true(r->ntrans < sizeof r->trans / sizeof r->trans[0]);
    struct rd_trans *x = &r->trans[r->ntrans++];
    memset(x, 0, sizeof *x);
    assert_true(nt >= 4);
    x->account = atoi(t[1].text);
    assert_int_equal(t[2].kind, T_OPEN);
    int i = 3;
    while (i < nt && t[i].kind != T_CLOSE) {
        assert_true(i + 1 < nt && x->nobj < MAX_OBJ);
        copy_str(x->obj[x->nobj][0], sizeof x->obj[0][0], t[i].text);
        copy_str(x->obj[x->nobj][1], sizeof x->obj[0][1], t[i + 1].text);
        x->nobj++;
        i += 2;
    }
    assert_true(i + 1 < nt);
    if (!amount_parse(t[i + 1].text, &x->ore))
        fail_msg("bad amount '%s' on line %zu", t[i + 1].text, r->lines);
    copy_tok(x->date, sizeof x->date, t, nt, i + 2);
    copy_tok(x->text, sizeof x->text, t, nt, i + 3);
    int64_t s = v->sum;
    if ((x->ore > 0 && s > INT64_MAX - x->ore) || (x->ore < 0 && s < INT64_MIN - x->ore))
        v->sum_overflow = true;
    else
        v->sum = s + x->ore;
    v->ntrans++;
}

/* Reads a whole file; crlf demands CRLF on every line (our output), otherwise LF or CRLF. */
static void sie_read(const unsigned char *data, size_t len, bool crlf, struct sie_read *r)
{
    memset(r, 0, sizeof *r);
    struct tok *t = calloc(MAX_TOKS, sizeof *t);
    assert_non_null(t);
    struct rd_ver *open = NULL;
    bool in_block = false;
    size_t i = 0;
    while (i < len) {
        const unsigned char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - (data + i)) : len - i;
        const unsigned char *s = data + i;
        i += n + 1;
        r->lines++;
        if (crlf) {
            if (nl == NULL || n == 0 || s[n - 1] != '\r')
                fail_msg("line %zu does not end in CRLF", r->lines);
        }
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (crlf) {
            for (size_t k = 0; k < n; k++) {
                if (s[k] < 0x20 || s[k] == 0x7F)
                    fail_msg("control byte 0x%02x on line %zu", s[k], r->lines);
            }
        }
        int nt = tokenize(s, n, t, MAX_TOKS);
        if (nt < 0)
            fail_msg("unterminated quote on line %zu", r->lines);
        if (nt == 0)
            continue;
        if (t[0].kind == T_OPEN && nt == 1) {
            assert_non_null(open);
            assert_false(in_block);
            in_block = true;
            continue;
        }
        if (t[0].kind == T_CLOSE && nt == 1) {
            assert_true(in_block);
            in_block = false;
            open = NULL;
            continue;
        }
        if (t[0].kind != T_LABEL)
            fail_msg("line %zu does not start with a label", r->lines);
        const char *l = t[0].text;
        if (strcmp(l, "#TRANS") == 0) {
            assert_true(in_block);
            read_trans(r, open, t, nt);
            continue;
        }
        if (strcmp(l, "#RTRANS") == 0 || strcmp(l, "#BTRANS") == 0) {
            assert_true(in_block);
            r->other_trans++;
            continue;
        }
        assert_false(in_block);
        if (strcmp(l, "#VER") == 0) {
            assert_true(r->nver < sizeof r->ver / sizeof r->ver[0]);
            open = &r->ver[r->nver++];
            memset(open, 0, sizeof *open);
            copy_tok(open->series, sizeof open->series, t, nt, 1);
            copy_tok(open->number, sizeof open->number, t, nt, 2);
            copy_tok(open->date, sizeof open->date, t, nt, 3);
            copy_tok(open->text, sizeof open->text, t, nt, 4);
            open->first = r->ntrans;
        } else if (strcmp(l, "#KONTO") == 0) {
            assert_true(nt >= 3 && r->nkonto < 1024);
            r->konto[r->nkonto] = atoi(t[1].text);
            copy_str(r->konto_name[r->nkonto], sizeof r->konto_name[0], t[2].text);
            r->nkonto++;
        } else if (strcmp(l, "#FLAGGA") == 0) {
            copy_tok(r->flagga, sizeof r->flagga, t, nt, 1);
        } else if (strcmp(l, "#FORMAT") == 0) {
            copy_tok(r->format, sizeof r->format, t, nt, 1);
        } else if (strcmp(l, "#SIETYP") == 0) {
            copy_tok(r->sietyp, sizeof r->sietyp, t, nt, 1);
        } else if (strcmp(l, "#GEN") == 0) {
            copy_tok(r->gen, sizeof r->gen, t, nt, 1);
        } else if (strcmp(l, "#FNAMN") == 0) {
            copy_tok(r->fnamn, sizeof r->fnamn, t, nt, 1);
        } else if (strcmp(l, "#ORGNR") == 0) {
            copy_tok(r->orgnr, sizeof r->orgnr, t, nt, 1);
        } else if (strcmp(l, "#KPTYP") == 0) {
            copy_tok(r->kptyp, sizeof r->kptyp, t, nt, 1);
        } else if (strcmp(l, "#PROGRAM") == 0) {
            copy_tok(r->program[0], sizeof r->program[0], t, nt, 1);
            copy_tok(r->program[1], sizeof r->program[1], t, nt, 2);
        } else if (strcmp(l, "#RAR") == 0 && nt >= 4 && strcmp(t[1].text, "0") == 0) {
            copy_tok(r->rar_from, sizeof r->rar_from, t, nt, 2);
            copy_tok(r->rar_to, sizeof r->rar_to, t, nt, 3);
        }
    }
    assert_false(in_block);
    free(t);
}

/* Every #VER sums to zero and every #TRANS account has a #KONTO. */
static void assert_balanced_and_declared(const struct sie_read *r)
{
    for (size_t v = 0; v < r->nver; v++) {
        if (r->ver[v].sum_overflow || r->ver[v].sum != 0)
            fail_msg("#VER %zu (%s %s) sums to %" PRId64, v, r->ver[v].series, r->ver[v].number,
                     r->ver[v].sum);
        assert_true(r->ver[v].ntrans > 0);
    }
    for (size_t k = 0; k < r->ntrans; k++) {
        if (!konto_known(r, r->trans[k].account))
            fail_msg("#TRANS on account %d without #KONTO", r->trans[k].account);
    }
}

/* ---- Writer helpers ------------------------------------------------------------------------ */

static int32_t day(int y, int m, int d)
{
    return civil_from_ymd(y, m, d);
}

static struct sie_header header(void)
{
    struct sie_header h = {
        .program = "reimbursed",
        .version = "0.1.0",
        .generated_on = day(2024, 5, 2),
        .company = "Mölndals stad",
        .orgnr = "212000-1371",
        .chart_type = NULL,
        .year_from = day(2024, 1, 1),
        .year_to = day(2024, 12, 31),
    };
    return h;
}

static bool has_bytes(const struct strbuf *b, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++) {
        if (memcmp(b->p + i, needle, n) == 0)
            return true;
    }
    return false;
}

/* ---- Tests --------------------------------------------------------------------------------- */

static void test_amounts(void **state)
{
    (void)state;
    static const struct {
        int64_t ore;
        const char *text;
    } cases[] = {
        {0, "0.00"},
        {5, "0.05"},
        {-5, "-0.05"},
        {99, "0.99"},
        {100, "1.00"},
        {-150, "-1.50"},
        {-123450, "-1234.50"},
        {123456789, "1234567.89"},
        {-100000000000000, "-1000000000000.00"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
        {INT64_MIN + 1, "-92233720368547758.07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[SIE_AMOUNT_LEN];
        sie_format_amount(cases[i].ore, out);
        assert_string_equal(out, cases[i].text);
        int64_t back = 0;
        assert_true(amount_parse(out, &back));
        assert_true(back == cases[i].ore);
    }
}

static void test_cp437(void **state)
{
    (void)state;
    struct strbuf b = {0};
    sie_cp437_append(&b, "åäöÅÄÖéüÉ");
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.p, "\x86\x84\x94\x8f\x8e\x99\x82\x81\x90", 9);

    /* Every CP437 letter and sign encodes to its byte (0xFF, the no-break space, to a space). */
    for (int byte = 0x80; byte <= 0xFF; byte++) {
        strbuf_reset(&b);
        sie_cp437_append(&b, cp437_utf8[byte - 0x80]);
        assert_int_equal(b.len, 1);
        assert_int_equal((unsigned char)b.p[0], byte == 0xFF ? ' ' : byte);
    }

    /* Not in CP437 → '?'; bad UTF-8 → one '?' per byte; controls dropped, TAB/CR/LF a space. */
    strbuf_reset(&b);
    sie_cp437_append(&b, "€ Ø \xC3 \xE2\x82 \xC0\xAF \xED\xA0\x80 x\ty\r\nz\x01\x7F\xC2\x85!");
    assert_string_equal(b.p, "? ? ? ?? ?? ??? x y  z!");
    strbuf_free(&b);
}

/* The exact bytes of a small file, so any change in layout is a conscious one. */
static void test_exact_bytes(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct sie_writer w;
    sie_init(&w, &out);
    struct sie_header h = header();
    h.chart_type = "BAS2024";
    struct sie_object obj[2] = {{1, "1481"}, {6, "P-17"}};
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran på staten"));
    assert_true(sie_account(&w, 3011, "Schablon, dygn"));
    assert_true(sie_ver_begin(&w, "A", 7, day(2024, 4, 1), "Periodisering 2024-03"));
    assert_true(sie_trans(&w, 1513, obj, 2, 930000, NULL));
    assert_true(sie_trans(&w, 3011, NULL, 0, -930000, "DAY_ADULT 2024-03"));
    assert_true(sie_ver_end(&w));
    assert_true(sie_ver_begin(&w, "", -1, day(2024, 4, 2), ""));
    assert_true(sie_trans(&w, 1513, NULL, 0, 0, NULL));
    assert_true(sie_ver_end(&w));
    assert_true(sie_finish(&w));
    assert_null(sie_error(&w));
    static const char expect[] = "#FLAGGA 0\r\n"
                                 "#PROGRAM \"reimbursed\" \"0.1.0\"\r\n"
                                 "#FORMAT PC8\r\n"
                                 "#GEN 20240502\r\n"
                                 "#SIETYP 4\r\n"
                                 "#ORGNR \"212000-1371\"\r\n"
                                 "#FNAMN \"M\x94lndals stad\"\r\n"
                                 "#RAR 0 20240101 20241231\r\n"
                                 "#KPTYP \"BAS2024\"\r\n"
                                 "#KONTO 1513 \"Fordran p\x86 staten\"\r\n"
                                 "#KONTO 3011 \"Schablon, dygn\"\r\n"
                                 "#VER \"A\" 7 20240401 \"Periodisering 2024-03\"\r\n"
                                 "{\r\n"
                                 "#TRANS 1513 {1 \"1481\" 6 \"P-17\"} 9300.00\r\n"
                                 "#TRANS 3011 {} -9300.00 20240401 \"DAY_ADULT 2024-03\"\r\n"
                                 "}\r\n"
                                 "#VER \"\" \"\" 20240402 \"\"\r\n"
                                 "{\r\n"
                                 "#TRANS 1513 {} 0.00\r\n"
                                 "}\r\n";
    assert_int_equal(out.len, sizeof expect - 1);
    assert_memory_equal(out.p, expect, sizeof expect - 1);
    sie_free(&w);
    strbuf_free(&out);
}

/* Texts that stress quoting: each must come back exactly through the reader. */
static const char *const tricky[] = {
    "Återkrav för Öckerö, 2024-03",
    "He said \"hej\"",
    "\"",
    "\\",
    "\\\\",
    "\\\"",
    "C:\\temp\\",
    "1820\\A012 Cykel",
    "a\\\"b\\\\c\"\\",
    "{not a list} #NOT",
    "",
    "  spaces  ",
    "ÅÄÖ åäö é ü É",
};

static void test_roundtrip_texts(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct sie_writer w;
    sie_init(&w, &out);
    struct sie_header h = header();
    h.company = "Göteborgs \"Stad\" \\ Ärende";
    assert_true(sie_begin(&w, &h));
    size_t n = sizeof tricky / sizeof tricky[0];
    for (size_t i = 0; i < n; i++)
        assert_true(sie_account(&w, 1000 + (int)i, tricky[i]));
    for (size_t i = 0; i < n; i++) {
        struct sie_object obj = {1, tricky[i][0] != '\0' ? tricky[i] : "x"};
        assert_true(sie_ver_begin(&w, tricky[i], (long long)i, day(2024, 2, 29), tricky[i]));
        assert_true(sie_trans(&w, 1000 + (int)i, &obj, 1, -1, tricky[i]));
        assert_true(sie_trans(&w, 1000 + (int)((i + 1) % n), NULL, 0, 1, tricky[i]));
        assert_true(sie_ver_end(&w));
    }
    assert_true(sie_finish(&w));

    /* The Swedish letters are there as CP437 bytes, and no UTF-8 lead byte is. */
    assert_true(has_bytes(&out, "\x8f\x8e\x99 \x86\x84\x94", 7));
    assert_false(has_bytes(&out, "\xc3", 1));

    struct sie_read *r = calloc(1, sizeof *r);
    assert_non_null(r);
    sie_read((const unsigned char *)out.p, out.len, true, r);
    assert_string_equal(r->fnamn, h.company);
    assert_int_equal(r->nkonto, n);
    assert_int_equal(r->nver, n);
    assert_int_equal(r->ntrans, 2 * n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->konto_name[i], tricky[i]);
        assert_string_equal(r->ver[i].series, tricky[i]);
        assert_string_equal(r->ver[i].text, tricky[i]);
        assert_string_equal(r->ver[i].date, "20240229");
        assert_string_equal(r->trans[2 * i].text, tricky[i]);
        assert_string_equal(r->trans[2 * i].date, "20240229");
        assert_string_equal(r->trans[2 * i].obj[0][1], tricky[i][0] != '\0' ? tricky[i] : "x");
    }
    assert_balanced_and_declared(r);
    free(r);
    sie_free(&w);
    strbuf_free(&out);
}

static const char *const words[] = {
    "Mölndal",   "återkrav", "ÅÄÖ", "\"citat\"", "back\\slash", "x",         "é",
    "DAY_ADULT", "2024-03",  "{",   "}",         "#VER",        "tab\there", "slut\\",
};

/* Random balanced verifications: every field comes back and every #VER sums to zero. */
static void test_random_balanced(void **state)
{
    (void)state;
    unit_seed("test_random_balanced", "SIE_SEED");

    struct strbuf out = {0};
    struct sie_writer w;
    sie_init(&w, &out);
    struct sie_header h = header();
    assert_true(sie_begin(&w, &h));
    static const int accounts[] = {1513, 1930, 3011, 3012, 3013, 3014, 3015, 2990};
    size_t nacc = sizeof accounts / sizeof accounts[0];
    for (size_t i = 0; i < nacc; i++)
        assert_true(sie_account(&w, accounts[nacc - 1 - i], words[i]));

    struct {
        int account;
        int64_t ore;
        char text[128];
    } *want = calloc(8192, sizeof *want);
    assert_non_null(want);
    size_t nw = 0, nver = 900;
    size_t nwords = sizeof words / sizeof words[0];
    for (size_t v = 0; v < nver; v++) {
        assert_true(sie_ver_begin(&w, "R", (long long)v, day(2024, 1, 1) + (int32_t)(v % 366),
                                  words[v % nwords]));
        int lines = 1 + rand() % 6;
        int64_t sum = 0;
        for (int k = 0; k < lines + 1; k++) {
            int64_t ore;
            if (k == lines) {
                ore = -sum;
            } else {
                ore = (int64_t)(rand() % 2000001) - 1000000;
                if (rand() % 50 == 0)
                    ore *= 1000000; /* up to ±10^12 öre */
            }
            sum += ore;
            want[nw].account = accounts[(size_t)rand() % nacc];
            want[nw].ore = ore;
            snprintf(want[nw].text, sizeof want[nw].text, "%s %s", words[(size_t)rand() % nwords],
                     words[(size_t)rand() % nwords]);
            assert_true(sie_trans(&w, want[nw].account, NULL, 0, ore, want[nw].text));
            nw++;
        }
        assert_true(sie_ver_end(&w));
    }
    assert_true(sie_finish(&w));

    struct sie_read *r = calloc(1, sizeof *r);
    assert_non_null(r);
    sie_read((const unsigned char *)out.p, out.len, true, r);
    assert_int_equal(r->nver, nver);
    assert_int_equal(r->ntrans, nw);
    assert_balanced_and_declared(r);
    for (size_t k = 0; k < nw; k++) {
        assert_int_equal(r->trans[k].account, want[k].account);
        assert_true(r->trans[k].ore == want[k].ore);
        /* A tab becomes a space on the way out; everything else comes back as written. */
        for (char *tab = strchr(want[k].text, '\t'); tab != NULL; tab = strchr(tab, '\t'))
            *tab = ' ';
        assert_string_equal(r->trans[k].text, want[k].text);
    }
    free(r);
    free(want);
    sie_free(&w);
    strbuf_free(&out);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    struct strbuf out = {0};
    struct sie_writer w;
    struct sie_header h = header();

    /* Unbalanced: the writer says so and stays failed. */
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_true(sie_trans(&w, 1513, NULL, 0, 100, NULL));
    assert_false(sie_ver_end(&w));
    assert_string_equal(sie_error(&w), "#VER does not sum to zero");
    assert_false(sie_finish(&w));
    assert_false(sie_account(&w, 1, "late"));
    sie_free(&w);
    strbuf_reset(&out);

    /* An account without #KONTO; #KONTO after #VER; a duplicate #KONTO. */
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_false(sie_account(&w, 1513, "Again"));
    sie_free(&w);
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_false(sie_trans(&w, 1930, NULL, 0, 100, NULL));
    assert_non_null(sie_error(&w));
    sie_free(&w);
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_true(sie_trans(&w, 1513, NULL, 0, 0, NULL));
    assert_true(sie_ver_end(&w));
    assert_false(sie_account(&w, 1930, "Bank"));
    sie_free(&w);

    /* Empty #VER, finish inside a #VER, #TRANS outside one, calls before sie_begin. */
    sie_init(&w, &out);
    assert_false(sie_account(&w, 1513, "Fordran"));
    sie_free(&w);
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_false(sie_trans(&w, 1513, NULL, 0, 0, NULL));
    sie_free(&w);
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_false(sie_ver_end(&w));
    sie_free(&w);
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_false(sie_finish(&w));
    sie_free(&w);

    /* Amounts whose sum overflows; the extremes themselves are fine when they cancel. */
    sie_init(&w, &out);
    assert_true(sie_begin(&w, &h));
    assert_true(sie_account(&w, 1513, "Fordran"));
    assert_true(sie_ver_begin(&w, "A", 1, day(2024, 3, 1), "x"));
    assert_true(sie_trans(&w, 1513, NULL, 0, INT64_MAX, NULL));
    assert_true(sie_trans(&w, 1513, NULL, 0, INT64_MIN + 1, NULL));
    assert_true(sie_trans(&w, 1513, NULL, 0, INT64_MIN, NULL));
    assert_false(sie_trans(&w, 1513, NULL, 0, -1, NULL));
    assert_string_equal(sie_error(&w), "amounts of one #VER overflow");
    sie_free(&w);

    /* A bad header: dates out of range, a year that ends before it starts, missing names. */
    struct sie_header bad = h;
    bad.year_to = bad.year_from - 1;
    sie_init(&w, &out);
    assert_false(sie_begin(&w, &bad));
    sie_free(&w);
    bad = h;
    bad.generated_on = day(1899, 12, 31);
    sie_init(&w, &out);
    assert_false(sie_begin(&w, &bad));
    sie_free(&w);
    bad = h;
    bad.company = NULL;
    sie_init(&w, &out);
    assert_false(sie_begin(&w, &bad));
    sie_free(&w);
    sie_free(&w); /* twice is fine */
    strbuf_free(&out);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *p = realloc(buf, cap);
            assert_non_null(p);
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static unsigned char *example(const char *name, size_t *len)
{
    const char *dir = getenv("SIE_EXAMPLES_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir : SIE_EXAMPLES_DIR, name);
    return slurp(path, len);
}

/* Real files from two Swedish bookkeeping programs: the reader understands them. */
static void test_real_files(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *bl = example("BL0001_typ4.SE", &len);
    if (bl == NULL) {
        printf("SIE examples not found (set SIE_EXAMPLES_DIR); skipping\n");
        skip();
    }
    struct sie_read *r = calloc(1, sizeof *r);
    assert_non_null(r);
    sie_read(bl, len, false, r);
    assert_string_equal(r->flagga, "0");
    assert_string_equal(r->format, "PC8");
    assert_string_equal(r->sietyp, "4");
    assert_string_equal(r->program[0], "BL Administration");
    assert_string_equal(r->fnamn, "SEEE Speak Easy Executive English AB");
    assert_string_equal(r->rar_from, "20090701");
    assert_string_equal(r->rar_to, "20100630");
    assert_int_equal(r->nkonto, 117);
    assert_int_equal(r->nver, 84);
    assert_int_equal(r->ntrans, 405);
    assert_true(r->other_trans > 0); /* #RTRANS/#BTRANS, not part of the sums */
    assert_string_equal(r->ver[0].text, "Avskrivning anläggningsregister");
    assert_string_equal(r->trans[0].text, "1820\\A012 Cykel"); /* a lone backslash is itself */
    assert_true(r->trans[0].account == 1229 && r->trans[0].ore == -13300);
    assert_balanced_and_declared(r);
    free(bl);

    unsigned char *mg = example("magenta_bokforing_SIE4E.se", &len);
    assert_non_null(mg);
    sie_read(mg, len, false, r);
    assert_string_equal(r->program[0], "Magenta Bokföring");
    assert_string_equal(r->fnamn, "TESTFÖRETAGET AB");
    assert_int_equal(r->nkonto, 136);
    assert_int_equal(r->nver, 19);
    assert_int_equal(r->ntrans, 84);
    assert_string_equal(r->ver[2].text, "PlusGiro årsavgift");
    assert_true(r->trans[0].account == 3010 && r->trans[0].ore == -1091450);
    assert_balanced_and_declared(r);
    free(mg);
    free(r);
}

UNIT_MAIN({
    cmocka_unit_test(test_amounts),
    cmocka_unit_test(test_cp437),
    cmocka_unit_test(test_exact_bytes),
    cmocka_unit_test(test_roundtrip_texts),
    cmocka_unit_test(test_random_balanced),
    cmocka_unit_test(test_writer_refuses),
    cmocka_unit_test(test_real_files),
});
