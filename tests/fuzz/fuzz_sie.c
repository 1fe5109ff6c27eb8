/* fuzz_sie: the SIE writer's text conversion and quoting, and whole files from ledger_sie_write.
 *
 * Invariants. sie_cp437_append: never longer than its input; no control byte, DEL or 0xFF out;
 * printable ASCII passes unchanged; and it is a fixed point: the output read back as CP437 and
 * converted again is the same bytes. Files (the writer driven by the input: header, accounts,
 * verifications with texts): when the writer says the file is good, every line ends in CRLF and
 * holds no other control byte; every record is well-formed (a tag, then fields: words, {...}
 * lists, or quoted texts with only \" and \\ as escapes and the closing quote before a space, a
 * '}' or the line end); each quoted text, unescaped, is exactly the CP437 form of what was given;
 * every #VER's #TRANS amounts sum to zero; #KONTO comes before the first #VER, each number
 * once. */
#include "fuzz_util.h"

#include "civil_date.h"
#include "ledger_sie.h"
#include "sie.h"
#include "strbuf.h"

/* CP437 0x80..0xFF as Unicode (the IBM PC-8 table), to read the writer's output back. */
static const uint16_t cp437[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF,
    0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA,
    0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557,
    0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559,
    0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4,
    0x221E, 0x03C6, 0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

static void put_utf8(struct strbuf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else {
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    }
    strbuf_add(b, u, n);
}

static void check_cp437_bytes(const unsigned char *s, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(s[i] >= 0x20 && s[i] != 0x7F && s[i] != 0xFF, "%s: byte 0x%02x at %zu", what,
                   s[i], i);
}

/* The CP437 form of utf8; the caller frees it. Also checks the conversion's own invariants. */
static struct strbuf cp437_of(const char *utf8)
{
    struct strbuf out = {0}, back = {0}, again = {0};
    size_t n = strlen(utf8);
    bool ascii = true;
    sie_cp437_append(&out, utf8);
    FUZZ_CHECK(!out.oom, "out of memory");
    FUZZ_CHECK(out.len <= n, "%zu bytes became %zu", n, out.len);
    check_cp437_bytes((const unsigned char *)strbuf_cstr(&out), out.len, "cp437");
    for (size_t i = 0; i < n; i++)
        ascii = ascii && (unsigned char)utf8[i] >= 0x20 && (unsigned char)utf8[i] < 0x7F;
    if (ascii)
        FUZZ_CHECK(out.len == n && memcmp(strbuf_cstr(&out), utf8, n) == 0,
                   "printable ASCII changed");
    /* Read back as CP437, convert again: the same bytes. */
    for (size_t i = 0; i < out.len; i++) {
        unsigned char c = (unsigned char)out.p[i];
        put_utf8(&back, c < 0x80 ? c : cp437[c - 0x80]);
    }
    sie_cp437_append(&again, strbuf_cstr(&back));
    FUZZ_CHECK(again.len == out.len && memcmp(strbuf_cstr(&again), strbuf_cstr(&out), out.len) == 0,
               "CP437 -> UTF-8 -> CP437 is not the identity");
    strbuf_free(&back);
    strbuf_free(&again);
    return out;
}

/* The texts the writer was given, in output order, to compare each quoted field with. */
struct expect {
    char *texts[512];
    size_t n, next;
};

static void expect_text(struct expect *e, const char *s)
{
    if (e->n < sizeof e->texts / sizeof e->texts[0]) {
        e->texts[e->n] = strdup(s);
        if (e->texts[e->n] == NULL)
            abort();
        e->n++;
    }
}

/* Reads one quoted field at s[*i] (the opening quote) and compares it with the next expected. */
static void check_quoted(const unsigned char *s, size_t end, size_t *i, struct expect *e,
                         size_t line)
{
    struct strbuf got = {0};
    size_t k = *i + 1;
    for (;;) {
        FUZZ_CHECK(k < end, "line %zu: unterminated quoted text", line);
        if (s[k] == '"')
            break;
        if (s[k] == '\\' && k + 1 < end && (s[k + 1] == '"' || s[k + 1] == '\\')) {
            strbuf_add(&got, (const char *)s + k + 1, 1);
            k += 2;
            continue;
        }
        strbuf_add(&got, (const char *)s + k, 1);
        k++;
    }
    k++; /* the closing quote */
    FUZZ_CHECK(k == end || s[k] == ' ' || s[k] == '}', "line %zu: '%c' after a closing quote", line,
               s[k]);
    if (e->next < e->n) {
        struct strbuf want = cp437_of(e->texts[e->next]);
        FUZZ_CHECK(got.len == want.len &&
                       memcmp(strbuf_cstr(&got), strbuf_cstr(&want), got.len) == 0,
                   "line %zu: quoted text %zu reads back as '%s', wanted '%s'", line, e->next,
                   strbuf_cstr(&got), strbuf_cstr(&want));
        strbuf_free(&want);
    }
    e->next++;
    strbuf_free(&got);
    *i = k;
}

/* Parses the file line by line; returns the number of #VER blocks. */
static size_t check_file(const struct strbuf *out, struct expect *e)
{
    const unsigned char *s = (const unsigned char *)strbuf_cstr(out);
    size_t n = out->len, pos = 0, line = 0, vers = 0, konto = 0;
    bool in_ver = false;
    int64_t balance = 0;
    FUZZ_CHECK(n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n', "the file does not end in CRLF");
    while (pos < n) {
        line++;
        const unsigned char *cr = memchr(s + pos, '\r', n - pos);
        FUZZ_CHECK(cr != NULL && (size_t)(cr - s) + 1 < n && cr[1] == '\n',
                   "line %zu: a CR without LF", line);
        size_t end = (size_t)(cr - s);
        FUZZ_CHECK(memchr(s + pos, '\n', end - pos) == NULL, "line %zu: a bare LF", line);
        check_cp437_bytes(s + pos, end - pos, "file");
        if (end - pos == 1 && (s[pos] == '{' || s[pos] == '}')) {
            FUZZ_CHECK(s[pos] == '{' ? !in_ver : in_ver, "line %zu: unbalanced braces", line);
            if (s[pos] == '}')
                FUZZ_CHECK(balance == 0, "line %zu: #VER sums to %lld", line, (long long)balance);
            in_ver = s[pos] == '{';
            balance = 0;
        } else {
            FUZZ_CHECK(s[pos] == '#', "line %zu: does not start with a tag", line);
            bool trans = end - pos > 7 && memcmp(s + pos, "#TRANS ", 7) == 0;
            FUZZ_CHECK(trans == in_ver, "line %zu: #TRANS %s a #VER", line,
                       trans ? "outside" : "not allowed in");
            if (memcmp(s + pos, "#VER ", 5) == 0)
                vers++;
            if (memcmp(s + pos, "#KONTO ", 7) == 0) {
                FUZZ_CHECK(vers == 0, "line %zu: #KONTO after a #VER", line);
                konto++;
            }
            size_t i = pos, field = 0;
            int depth = 0;
            while (i < end) {
                if (s[i] == '"') {
                    check_quoted(s, end, &i, e, line);
                } else if (s[i] == '{') {
                    FUZZ_CHECK(depth++ == 0, "line %zu: nested braces", line);
                    i++;
                } else if (s[i] == '}') {
                    FUZZ_CHECK(depth-- == 1, "line %zu: '}' without '{'", line);
                    i++;
                } else if (s[i] == ' ') {
                    FUZZ_CHECK(i + 1 < end && s[i + 1] != ' ', "line %zu: empty field", line);
                    field += depth == 0;
                    i++;
                } else {
                    size_t start = i;
                    while (i < end && s[i] != ' ' && s[i] != '}' && s[i] != '"')
                        i++;
                    FUZZ_CHECK(i == end || s[i] != '"', "line %zu: a quote inside a word", line);
                    if (trans && field == 3 && depth == 0) { /* the amount */
                        char amount[SIE_AMOUNT_LEN + 1];
                        size_t al = i - start;
                        FUZZ_CHECK(al < sizeof amount, "line %zu: amount too long", line);
                        memcpy(amount, s + start, al);
                        amount[al] = '\0';
                        char *dot = strchr(amount, '.');
                        FUZZ_CHECK(dot != NULL && strlen(dot) == 3, "line %zu: amount '%s'", line,
                                   amount);
                        memmove(dot, dot + 1, 3);
                        balance += strtoll(amount, NULL, 10);
                    }
                }
            }
            FUZZ_CHECK(depth == 0, "line %zu: unclosed '{'", line);
        }
        pos = end + 2;
    }
    FUZZ_CHECK(!in_ver, "the file ends inside a #VER");
    FUZZ_CHECK(e->n == 0 || e->next == e->n || e->n == sizeof e->texts / sizeof e->texts[0],
               "%zu texts given, %zu quoted fields read", e->n, e->next);
    (void)konto;
    return vers;
}

static void expect_free(struct expect *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->texts[i]);
}

/* Mode 0: the writer driven directly, texts straight from the input. */
static void writer(struct fuzz_in *in)
{
    const int32_t lo = civil_from_ymd(1900, 1, 1), hi = civil_from_ymd(9999, 12, 31);
    struct strbuf out = {0};
    struct sie_writer w;
    struct expect e = {0};
    char *program = fuzz_str(in), *version = fuzz_str(in), *company = fuzz_str(in);
    char *orgnr = fuzz_u8(in) & 1 ? fuzz_str(in) : NULL;
    int32_t day = lo + (int32_t)(fuzz_u32(in) % (uint32_t)(hi - lo + 1));
    struct sie_header h = {program, version, day, company, orgnr, NULL, day, day};
    sie_init(&w, &out);
    bool ok = sie_begin(&w, &h);
    expect_text(&e, program);
    expect_text(&e, version);
    if (orgnr)
        expect_text(&e, orgnr);
    expect_text(&e, company);
    int accounts[8];
    size_t naccounts = fuzz_u8(in) % 8 + 1;
    for (size_t i = 0; ok && i < naccounts; i++) {
        accounts[i] = 1000 + (int)i * 7 + fuzz_u8(in) % 7;
        char *name = fuzz_str(in);
        ok = sie_account(&w, accounts[i], name);
        expect_text(&e, name);
        free(name);
    }
    size_t nvers = fuzz_u8(in) % 6;
    for (size_t v = 0; ok && v < nvers; v++) {
        char *series = fuzz_str(in), *text = fuzz_str(in);
        long long number = (int8_t)fuzz_u8(in);
        ok = sie_ver_begin(&w, series, number, day, text);
        expect_text(&e, series);
        if (number < 0)
            expect_text(&e, ""); /* the number left to the importing system */
        expect_text(&e, text);
        free(series);
        free(text);
        size_t ntrans = fuzz_u8(in) % 4 + 1;
        int64_t sum = 0;
        for (size_t t = 0; ok && t <= ntrans; t++) {
            int64_t amount = t == ntrans ? -sum : (int64_t)(fuzz_u64(in) >> 20) - (1LL << 43);
            uint8_t flags = fuzz_u8(in);
            struct sie_object obj = {1 + flags % 6, NULL};
            char *oid = flags & 8 ? fuzz_str(in) : NULL;
            char *ttext = flags & 16 ? fuzz_str(in) : NULL;
            obj.id = oid;
            ok = sie_trans(&w, accounts[flags % naccounts], oid ? &obj : NULL, oid ? 1 : 0, amount,
                           ttext);
            if (ok && oid)
                expect_text(&e, oid);
            if (ok && ttext)
                expect_text(&e, ttext);
            free(oid);
            free(ttext);
            sum += amount;
        }
        ok = ok && sie_ver_end(&w);
    }
    ok = ok && sie_finish(&w);
    if (ok) {
        FUZZ_CHECK(sie_error(&w) == NULL, "good file with an error");
        FUZZ_CHECK(check_file(&out, &e) == nvers, "#VER count");
    } else {
        FUZZ_CHECK(sie_error(&w) != NULL, "failed without a reason");
    }
    sie_free(&w);
    strbuf_free(&out);
    expect_free(&e);
    free(program);
    free(version);
    free(company);
    free(orgnr);
}

/* Mode 1: ledger_sie_write with postings from the input (texts as the database could hold). */
static void ledger(struct fuzz_in *in)
{
    static const char *const accounts[] = {"receivable", "compensation", "bank", "reclaim"};
    static const char *const codes[] = {"MOVE_IN",          "DAY_CHILD",      "DAY_ADULT",
                                        "ALLOCATION_PLACE", "DAY_FORMER_UAM", "X"};
    const int32_t lo = civil_from_ymd(2000, 1, 1);
    struct ledger_sie_posting p[24];
    char *causes[24] = {0};
    struct ledger_chart chart;
    struct strbuf out = {0};
    char err[160];
    char *name = fuzz_str(in);
    size_t n = fuzz_u8(in) % 24, i = 0;
    long long journal = 1;
    while (i < n) {
        size_t k = 2 + fuzz_u8(in) % 3;
        int64_t sum = 0;
        char *cause = fuzz_str(in);
        for (size_t j = 0; j < k && i < n; j++, i++) {
            uint8_t f = fuzz_u8(in);
            int64_t amount = j + 1 == k || i + 1 == n ? -sum : (int64_t)(fuzz_u32(in) % 2000000);
            sum += amount;
            causes[i] = j == 0 ? cause : NULL;
            p[i] = (struct ledger_sie_posting){journal,
                                               f & 1,
                                               cause,
                                               lo + (int32_t)(journal * 3),
                                               f & 2 ? ACCRUAL_NO_DAY : lo,
                                               accounts[f % 4 ? (f >> 2) % 4 : 0],
                                               f & 64 ? NULL : codes[(f >> 3) % 6],
                                               f & 128 ? journal * 11 : 0,
                                               amount};
        }
        journal += 1 + fuzz_u8(in) % 3;
    }
    ledger_chart_defaults(&chart);
    struct ledger_sie_file file = {"1480", name, civil_from_ymd(2000, 1, 1),
                                   civil_from_ymd(2099, 12, 31), lo};
    err[0] = '\0';
    if (ledger_sie_write(&out, &file, &chart, p, n, err, sizeof err)) {
        struct expect e = {0};
        FUZZ_CHECK(check_file(&out, &e) <= n, "more #VER than postings");
    } else {
        FUZZ_CHECK(strncmp(err, "SIE export: ", 12) == 0, "error '%s'", err);
    }
    strbuf_free(&out);
    for (size_t k = 0; k < n; k++)
        free(causes[k]);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    if (mode % 3 == 0) {
        char *text = fuzz_cstr(in.p, in.n);
        struct strbuf b = cp437_of(text);
        strbuf_free(&b);
        free(text);
    } else if (mode % 3 == 1) {
        writer(&in);
    } else {
        ledger(&in);
    }
    return 0;
}
