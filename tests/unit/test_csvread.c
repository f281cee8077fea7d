/*
 * Unit tests for lib/csvread: every case is an input and the transcript a
 * reader must produce for it, written out by hand ("ROW <line>: f1|f2",
 * "BAD <line>: why", "FATAL <line>: why", then "EOF").  Large inputs are
 * built by generators that record the expected transcript as they write,
 * and are read both from memory and from a file (which the reader takes
 * in 64 KiB chunks) so chunk boundaries are exercised.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "csvread.h"
#include "util.h"

/* The reader's file chunk size (CSVREAD_CHUNK in lib/csvread.c). */
#define CHUNK 65536

/* A growing string for transcripts and generated inputs. */
struct buf {
        char *s;
        size_t len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
        if (b->cap - b->len < n + 1) {
                while (b->cap - b->len < n + 1)
                        b->cap = b->cap ? b->cap * 2 : 256;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
        buf_add(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
        char tmp[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        buf_str(b, tmp);
}

/* Field text with CR and LF made visible. */
static void
buf_field(struct buf *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\n')
                        buf_str(b, "\\n");
                else if (s[i] == '\r')
                        buf_str(b, "\\r");
                else
                        buf_add(b, &s[i], 1);
        }
}

/* Read everything from r into a transcript (owned by the caller). */
static char *
transcript(struct csvread *r)
{
        struct buf b = {0};
        struct csvrow row;
        char err[256];
        int rc, guard = 0;

        buf_str(&b, "");
        while ((rc = csvread_next(r, &row, err, sizeof(err))) != CSVREAD_EOF) {
                assert_true(++guard < 10000000);
                if (rc == CSVREAD_ROW) {
                        buf_fmt(&b, "ROW %lu: ", row.line);
                        for (size_t i = 0; i < row.nfields; i++) {
                                assert_int_equal(strlen(row.fields[i]), row.lens[i]);
                                if (i > 0)
                                        buf_str(&b, "|");
                                buf_field(&b, row.fields[i], row.lens[i]);
                        }
                        buf_str(&b, "\n");
                } else if (rc == CSVREAD_BADROW) {
                        buf_fmt(&b, "BAD %lu: %s\n", row.line, err);
                } else {
                        assert_int_equal(rc, CSVREAD_FATAL);
                        buf_fmt(&b, "FATAL %lu: %s\n", row.line, err);
                }
        }
        buf_str(&b, "EOF\n");
        /* EOF is sticky. */
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_EOF);
        return b.s;
}

static char *
transcript_mem(const char *in, size_t len)
{
        struct csvread *r = csvread_open_mem("mem", in, len);
        char *t;

        assert_non_null(r);
        assert_string_equal(csvread_name(r), "mem");
        t = transcript(r);
        csvread_close(&r);
        assert_null(r);
        return t;
}

static char *
transcript_file(const char *in, size_t len)
{
        char path[] = "/tmp/test_csvread_XXXXXX";
        char err[256];
        int fd = mkstemp(path);
        struct csvread *r;
        char *t;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, in, len), (ssize_t)len);
        close(fd);
        /*
         * Forced UTF-8: these cases are about the streaming reader; a file
         * that is not UTF-8 is refused or converted by detection, which
         * test_textenc covers.
         */
        r = csvread_open_enc(path, TEXTENC_UTF8, err, sizeof(err));
        assert_non_null(r);
        assert_string_equal(csvread_name(r), path);
        t = transcript(r);
        csvread_close(&r);
        unlink(path);
        return t;
}

/* Both readers must produce exactly the expected transcript. */
static void
check(const char *in, size_t len, const char *expect)
{
        char *t = transcript_mem(in, len);

        assert_string_equal(t, expect);
        free(t);
        t = transcript_file(in, len);
        assert_string_equal(t, expect);
        free(t);
}

#define S(lit) lit, sizeof(lit) - 1

static const struct {
        const char *name;
        const char *in;
        size_t len;
        const char *expect;
} cases[] = {
    {"empty", S(""), "EOF\n"},
    {"bom only", S("\xef\xbb\xbf"), "EOF\n"},
    {"blank lines only", S("\n\r\n  \n\t\n"), "EOF\n"},
    {"simple lf", S("a,b\nc,d\n"), "ROW 1: a|b\nROW 2: c|d\nEOF\n"},
    {"no final newline", S("a,b"), "ROW 1: a|b\nEOF\n"},
    {"bom and crlf", S("\xef\xbb\xbfunit,value\r\nx,1\r\n"),
     "ROW 1: unit|value\nROW 2: x|1\nEOF\n"},
    /* A BOM later in the file is data (U+FEFF is valid UTF-8). */
    {"bom not at start",
     S("a\n\xef\xbb\xbf"
       "b\n"),
     "ROW 1: a\nROW 2: \xef\xbb\xbf"
     "b\nEOF\n"},
    {"blank crlf lines counted", S("a\r\n\r\n\r\nb\r\n"), "ROW 1: a\nROW 4: b\nEOF\n"},
    {"blank lines with blanks", S("a\n   \n\t\nb"), "ROW 1: a\nROW 4: b\nEOF\n"},
    {"leading blank lines", S("\n\n\nx,y\n"), "ROW 4: x|y\nEOF\n"},
    {"lone cr endings", S("a\rb\r\rc"), "ROW 1: a\nROW 2: b\nROW 4: c\nEOF\n"},
    {"quoted comma and quotes", S("\"x,y\",\"say \"\"hi\"\"\"\n"), "ROW 1: x,y|say \"hi\"\nEOF\n"},
    {"quoted newline", S("h\n\"line1\nline2\",z\nnext\n"),
     "ROW 1: h\nROW 2: line1\\nline2|z\nROW 4: next\nEOF\n"},
    {"quoted crlf", S("\"a\r\nb\"\r\nc\r\n"), "ROW 1: a\\r\\nb\nROW 3: c\nEOF\n"},
    {"quoted blank lines", S("\"\n\n\n\",x\ny\n"), "ROW 1: \\n\\n\\n|x\nROW 5: y\nEOF\n"},
    {"empty fields", S(",\n,,\n\"\"\n"), "ROW 1: |\nROW 2: ||\nROW 3: \nEOF\n"},
    {"blanks around unquoted", S(" a , b \n"), "ROW 1: a|b\nEOF\n"},
    {"blanks inside quotes kept", S("\" a \",\"\"\n"), "ROW 1:  a |\nEOF\n"},
    {"utf8 text", S("\xe7\x9b\x98\xe9\x94\xa6\xe5\xb8\x82,211100\n"),
     "ROW 1: \xe7\x9b\x98\xe9\x94\xa6\xe5\xb8\x82|211100\nEOF\n"},
    {"nul byte", S("a,b,c\0d\ne\n"), "BAD 1: field 3 contains a NUL byte\nROW 2: e\nEOF\n"},
    {"nul byte quoted", S("x\n\"\0\"\ny\n"),
     "ROW 1: x\nBAD 2: field 1 contains a NUL byte\nROW 3: y\nEOF\n"},
    {"invalid utf8", S("a,\xff\nok\n"), "BAD 1: field 2 is not valid UTF-8\nROW 2: ok\nEOF\n"},
    {"overlong utf8", S("\xc0\xaf,b\nok\n"), "BAD 1: field 1 is not valid UTF-8\nROW 2: ok\nEOF\n"},
    {"truncated utf8 then newline", S("a,\xe7\x9b\nok\n"),
     "BAD 1: field 2 is not valid UTF-8\nROW 2: ok\nEOF\n"},
    {"first problem wins", S("\xff,\0\nok\n"),
     "BAD 1: field 1 is not valid UTF-8\nROW 2: ok\nEOF\n"},
    {"bad multi-line row", S("\"x\ny\",\xff\nz\n"),
     "BAD 1: field 2 is not valid UTF-8\nROW 3: z\nEOF\n"},
    {"unterminated quote", S("a,b\nc,\"open\nmore\n"),
     "ROW 1: a|b\nFATAL 2: unterminated quoted field\nEOF\n"},
    {"unterminated quote first field", S("x\n\n\"open,\nstill\n"),
     "ROW 1: x\nFATAL 3: unterminated quoted field\nEOF\n"},
    {"unterminated quote after multi-line field", S("\"m\nn\",\"open\nrest"),
     "FATAL 2: unterminated quoted field\nEOF\n"},
    {"closed quote at eof", S("a,\"b\""), "ROW 1: a|b\nEOF\n"},
    {"stray quote in unquoted field", S("a\"b,c\nd\n"),
     "BAD 1: field 1 has a stray quote (quote the whole field and double the quotes inside "
     "it)\nROW 2: d\nEOF\n"},
    {"text after closing quote", S("x,\"a\"b,c\r\nd\r\n"),
     "BAD 1: field 2 has a stray quote (quote the whole field and double the quotes inside "
     "it)\nROW 2: d\nEOF\n"},
};

static void
test_cases(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *t = transcript_mem(cases[i].in, cases[i].len);

                if (strcmp(t, cases[i].expect) != 0)
                        print_error("case \"%s\"\n", cases[i].name);
                assert_string_equal(t, cases[i].expect);
                free(t);
                t = transcript_file(cases[i].in, cases[i].len);
                if (strcmp(t, cases[i].expect) != 0)
                        print_error("case \"%s\" (file)\n", cases[i].name);
                assert_string_equal(t, cases[i].expect);
                free(t);
        }
}

/* nf fields "c1".."cN" on line 1, then "ok" on line 2. */
static void
check_nfields(size_t nf, int ok)
{
        struct buf in = {0}, ex = {0};

        for (size_t i = 1; i <= nf; i++)
                buf_fmt(&in, "%sc%zu", i > 1 ? "," : "", i);
        buf_str(&in, "\nok\n");
        if (ok) {
                buf_str(&ex, "ROW 1: ");
                for (size_t i = 1; i <= nf; i++)
                        buf_fmt(&ex, "%sc%zu", i > 1 ? "|" : "", i);
                buf_str(&ex, "\n");
        } else {
                buf_str(&ex, "BAD 1: row has more than 256 fields\n");
        }
        buf_str(&ex, "ROW 2: ok\nEOF\n");
        check(in.s, in.len, ex.s);
        free(in.s);
        free(ex.s);
}

/* The header helper the config loaders share. */
static void
test_columns(void **state)
{
        static const struct csvread_column cols[3] = {{"code", 1}, {"name", 1}, {"stage", 0}};
        static const char ok[] = " NAME ,extra,\tCode\n1,2,3\n", dup[] = "code,name,CODE\n",
                          missing[] = "code,stage\n";
        struct csvread *r;
        struct csvrow row;
        char err[128];
        int pos[3];
        size_t len = 6;

        (void)state;
        r = csvread_open_mem("t", ok, sizeof(ok) - 1);
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_ROW);
        assert_int_equal(csvread_columns(&row, cols, 3, pos, err, sizeof(err)), 0);
        assert_int_equal(pos[0], 2);
        assert_int_equal(pos[1], 0);
        assert_int_equal(pos[2], -1); /* optional, absent */
        csvread_close(&r);

        r = csvread_open_mem("t", dup, sizeof(dup) - 1);
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_ROW);
        assert_int_equal(csvread_columns(&row, cols, 3, pos, err, sizeof(err)), -1);
        assert_string_equal(err, "duplicate column \"code\"");
        csvread_close(&r);

        r = csvread_open_mem("t", missing, sizeof(missing) - 1);
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_ROW);
        assert_int_equal(csvread_columns(&row, cols, 3, pos, err, sizeof(err)), -1);
        assert_string_equal(err, "missing column \"name\"");
        csvread_close(&r);

        assert_memory_equal(csvread_trim(" \tab\r\n", &len), "ab", 2);
        assert_int_equal(len, 2);
        len = 3;
        csvread_trim("   ", &len);
        assert_int_equal(len, 0);
}

static void
test_field_cap(void **state)
{
        (void)state;
        check_nfields(256, 1);
        check_nfields(257, 0);
        check_nfields(300, 0);
        check_nfields(100000, 0); /* 100k columns, a 688 KB header row: refused, no crash */
        /* A million empty fields still costs no memory per field. */
        {
                size_t n = 1000000;
                char *in = xmalloc(n + 8);

                memset(in, ',', n);
                memcpy(in + n, "\nok\n", 5);
                check(in, n + 4, "BAD 1: row has more than 256 fields\nROW 2: ok\nEOF\n");
                free(in);
        }
}

static void
test_row_cap(void **state)
{
        size_t big = 2 * 1024 * 1024;
        char *in = xmalloc(big + 64);
        size_t len;

        (void)state;
        /* Line 1 fine, line 2 holds a 2 MB field, line 3 fine again. */
        memcpy(in, "h\na,", 4);
        memset(in + 4, 'x', big);
        len = 4 + big;
        memcpy(in + len, "\nb,c\n", 5);
        len += 5;
        check(in, len, "ROW 1: h\nBAD 2: row is longer than 1048576 bytes\nROW 3: b|c\nEOF\n");

        /* Exactly 1 MiB including the newline is allowed; one more byte is not. */
        memset(in, 'y', CSVREAD_MAX_ROW - 1);
        in[CSVREAD_MAX_ROW - 1] = '\n';
        memcpy(in + CSVREAD_MAX_ROW, "z\n", 2);
        {
                struct buf ex = {0};

                buf_str(&ex, "ROW 1: ");
                buf_add(&ex, in, CSVREAD_MAX_ROW - 1);
                buf_str(&ex, "\nROW 2: z\nEOF\n");
                check(in, CSVREAD_MAX_ROW + 2, ex.s);
                free(ex.s);
        }
        memset(in, 'y', CSVREAD_MAX_ROW);
        in[CSVREAD_MAX_ROW] = '\n';
        memcpy(in + CSVREAD_MAX_ROW + 1, "z\n", 2);
        check(in, CSVREAD_MAX_ROW + 3, "BAD 1: row is longer than 1048576 bytes\nROW 2: z\nEOF\n");

        /* A 2 MB quoted field resynchronises at the end of its line. */
        memcpy(in, "\"", 1);
        memset(in + 1, 'q', big - 1);
        memcpy(in + big, "\"\r\nlast\r\n", 9);
        check(in, big + 9, "BAD 1: row is longer than 1048576 bytes\nROW 2: last\nEOF\n");
        free(in);
}

/*
 * A 3 MB quoted field over 300,000 lines (with doubled quotes and commas
 * inside): one bad row, and reading goes on after the field's closing
 * quote, not at the next physical line (which would make 300,000 rows of
 * its inside).  The same field never closed ends the file with one error.
 */
static void
test_row_cap_quoted_lines(void **state)
{
        const char *line = "a,\"\"b\"\"\r\n"; /* 10 bytes: a,""b""CRLF */
        size_t nlines = 300000, len = 0, cap = 16 + nlines * 10 + 64;
        char *in = xmalloc(cap);

        (void)state;
        memcpy(in, "h\n\"", 3);
        len = 3;
        for (size_t i = 0; i < nlines; i++, len += 10)
                memcpy(in + len, line, 10);
        memcpy(in + len, "end\",x\nb,c\n", 11);
        check(in, len + 11,
              "ROW 1: h\nBAD 2: row is longer than 1048576 bytes\nROW 300003: b|c\nEOF\n");
        /* Unterminated: the rest is the one row; one error names where it began. */
        check(in, len,
              "ROW 1: h\nBAD 2: row is longer than 1048576 bytes\nFATAL 2: a quoted field of the "
              "row on line 2 is never closed: everything after it was skipped (close the "
              "quote)\nEOF\n");
        free(in);
}

/*
 * A generated file: rows of assorted fields (plain, quoted with commas,
 * doubled quotes, embedded LF or CRLF, empty, Chinese), LF or CRLF ends,
 * blank lines, sized to span several chunks.  The generator writes the
 * expected transcript as it goes, counting lines itself.
 */
static void
generate(unsigned seed, struct buf *in, struct buf *ex, size_t nrows)
{
        unsigned long line = 1;
        uint64_t x = seed * 2654435761u + 1;

#define RND(n)                                                                                     \
        ((x = x * 6364136223846793005ULL + 1442695040888963407ULL), (size_t)((x >> 33) % (n)))
        buf_str(in, "\xef\xbb\xbf");
        buf_str(in, "");
        buf_str(ex, "");
        for (size_t r = 0; r < nrows; r++) {
                size_t nf = 1 + RND(5);
                const char *eol = RND(2) ? "\r\n" : "\n";
                unsigned long start;

                while (RND(8) == 0) {
                        buf_str(in, RND(2) ? "  " : "");
                        buf_str(in, eol);
                        line++;
                }
                start = line;
                buf_fmt(ex, "ROW %lu: ", start);
                for (size_t f = 0; f < nf; f++) {
                        if (f > 0) {
                                buf_str(in, ",");
                                buf_str(ex, "|");
                        }
                        switch (RND(8)) {
                        case 0:
                                buf_fmt(in, "w%zu", r);
                                buf_fmt(ex, "w%zu", r);
                                break;
                        case 1:
                                buf_str(in, "\"a,b\"");
                                buf_str(ex, "a,b");
                                break;
                        case 2:
                                buf_str(in, "\"q\"\"q\"");
                                buf_str(ex, "q\"q");
                                break;
                        case 3:
                                buf_str(in, "\"l1\nl2\"");
                                buf_str(ex, "l1\\nl2");
                                line++;
                                break;
                        case 4:
                                buf_str(in, "\"c1\r\nc2\r\nc3\"");
                                buf_str(ex, "c1\\r\\nc2\\r\\nc3");
                                line += 2;
                                break;
                        case 5:
                                /* A lone unquoted empty field would be a blank line. */
                                if (nf == 1)
                                        buf_str(in, "\"\"");
                                break;
                        case 6:
                                buf_str(in, "\xe5\xad\xa6\xe6\xa0\xa1 x");
                                buf_str(ex, "\xe5\xad\xa6\xe6\xa0\xa1 x");
                                break;
                        default: {
                                /* A long field so rows straddle chunk edges often. */
                                size_t n = 1 + RND(3000);

                                for (size_t i = 0; i < n; i++)
                                        buf_add(in, "k", 1);
                                for (size_t i = 0; i < n; i++)
                                        buf_add(ex, "k", 1);
                        }
                        }
                }
                buf_str(ex, "\n");
                /* The last row sometimes has no line end. */
                if (r + 1 < nrows || RND(2)) {
                        buf_str(in, eol);
                        line++;
                }
        }
        buf_str(ex, "EOF\n");
#undef RND
}

static void
test_generated(void **state)
{
        (void)state;
        for (unsigned seed = 1; seed <= 6; seed++) {
                struct buf in = {0}, ex = {0};

                generate(seed, &in, &ex, 600);
                assert_true(in.len > 3 * CHUNK);
                check(in.s, in.len, ex.s);
                free(in.s);
                free(ex.s);
        }
}

/* Place a CRLF, a quoted newline and a BOM-looking sequence across chunk edges. */
static void
test_chunk_edges(void **state)
{
        struct buf in = {0}, ex = {0};

        (void)state;
        /* Row 1: "p" padding so that its CR is the last byte of chunk 1. */
        for (size_t i = 0; i < CHUNK - 1; i++)
                buf_add(&in, "p", 1);
        buf_str(&in, "\r\n");
        /* Row 2 (line 2): a quoted field whose LF falls on the second edge. */
        buf_str(&in, "a,\"");
        while (in.len < 2 * CHUNK - 1)
                buf_add(&in, "m", 1);
        buf_str(&in, "\nend\",z\r\n");
        /* Row 3 starts on line 4; its first byte starts chunk 4 after padding. */
        buf_str(&in, "\r\n");
        while (in.len < 3 * CHUNK - 2)
                buf_add(&in, " ", 1);
        buf_str(&in, "\r\nlast\r");

        assert_int_equal(in.s[CHUNK - 1], '\r');
        assert_int_equal(in.s[CHUNK], '\n');
        assert_int_equal(in.s[2 * CHUNK - 1], '\n');
        buf_str(&ex, "ROW 1: ");
        for (size_t i = 0; i < CHUNK - 1; i++)
                buf_add(&ex, "p", 1);
        buf_str(&ex, "\nROW 2: a|");
        for (size_t i = CHUNK + 1 + 3; i < 2 * CHUNK - 1; i++)
                buf_add(&ex, "m", 1);
        /* Line 2 holds the quote, line 3 "end", line 4 blank, 5 blanks, 6 last. */
        buf_str(&ex, "\\nend|z\nROW 6: last\nEOF\n");
        check(in.s, in.len, ex.s);
        free(in.s);
        free(ex.s);
}

static void
test_open_errors(void **state)
{
        char err[256];
        struct csvread *r;
        struct csvrow row;

        (void)state;
        r = csvread_open("/nonexistent/dir/x.csv", err, sizeof(err));
        assert_null(r);
        assert_string_equal(err, "/nonexistent/dir/x.csv: No such file or directory");
        /* A directory opens but cannot be read. */
        r = csvread_open("/", err, sizeof(err));
        if (r != NULL) {
                assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_FATAL);
                assert_string_equal(err, "read error: Is a directory");
                assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_EOF);
                csvread_close(&r);
        }
        csvread_close(&r);
        csvread_close(NULL);
}

/* The fields of a row stay valid until the next call, then are replaced. */
static void
test_row_lifetime(void **state)
{
        static const char in[] = "alpha,beta\ngamma\n";
        struct csvread *r = csvread_open_mem("m", in, sizeof(in) - 1);
        struct csvrow row;
        char err[64];

        (void)state;
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_ROW);
        assert_int_equal(row.nfields, 2);
        assert_string_equal(row.fields[0], "alpha");
        assert_int_equal(row.lens[0], 5);
        assert_string_equal(row.fields[1], "beta");
        assert_int_equal(row.lens[1], 4);
        assert_int_equal(row.line, 1);
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_ROW);
        assert_int_equal(row.nfields, 1);
        assert_string_equal(row.fields[0], "gamma");
        assert_int_equal(row.line, 2);
        assert_int_equal(csvread_next(r, &row, err, sizeof(err)), CSVREAD_EOF);
        csvread_close(&r);
}

static const struct {
        const char *s;
        size_t len;
        int ok;
} utf8_cases[] = {
    {S(""), 1},
    {S("ascii"), 1},
    {S("\xc2\x80"), 1},         /* U+0080, smallest two-byte */
    {S("\xdf\xbf"), 1},         /* U+07FF */
    {S("\xe0\xa0\x80"), 1},     /* U+0800 */
    {S("\xed\x9f\xbf"), 1},     /* U+D7FF, just below the surrogates */
    {S("\xee\x80\x80"), 1},     /* U+E000, just above */
    {S("\xef\xbf\xbf"), 1},     /* U+FFFF */
    {S("\xf0\x90\x80\x80"), 1}, /* U+10000 */
    {S("\xf4\x8f\xbf\xbf"), 1}, /* U+10FFFF */
    {S("\xe7\x9b\x98\xe9\x94\xa6"), 1},
    {S("a\0b"), 0},             /* NUL */
    {S("\x80"), 0},             /* lone continuation */
    {S("\xc0\x80"), 0},         /* overlong NUL */
    {S("\xc1\xbf"), 0},         /* overlong */
    {S("\xe0\x9f\xbf"), 0},     /* overlong three-byte */
    {S("\xf0\x8f\xbf\xbf"), 0}, /* overlong four-byte */
    {S("\xed\xa0\x80"), 0},     /* U+D800 surrogate */
    {S("\xed\xbf\xbf"), 0},     /* U+DFFF surrogate */
    {S("\xf4\x90\x80\x80"), 0}, /* U+110000 */
    {S("\xf5\x80\x80\x80"), 0}, /* lead byte beyond U+10FFFF */
    {S("\xff"), 0},
    {S("\xe7\x9b"), 0},     /* truncated */
    {S("\xf0\x90\x80"), 0}, /* truncated */
    {S("\xe7\x9b"
       "a"),
     0},            /* bad continuation */
    {S("\xc2"), 0}, /* truncated at the very end */
};

static void
test_utf8_valid(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
                if (utf8_valid(utf8_cases[i].s, utf8_cases[i].len) != utf8_cases[i].ok)
                        print_error("utf8 case %zu\n", i);
                assert_int_equal(utf8_valid(utf8_cases[i].s, utf8_cases[i].len), utf8_cases[i].ok);
        }
        /* Length bounds the check: the truncated tail is not looked at. */
        assert_int_equal(utf8_valid("ab\xff", 2), 1);
}

/*
 * csvread_slurp takes a stream of exactly max bytes and refuses one more,
 * across the buffer's growth (max above the first 64 KiB) and below it.
 */
static void
test_slurp_cap(void **state)
{
        const size_t maxes[] = {10, (size_t)3 * CHUNK + 7};

        (void)state;
        for (size_t k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
                size_t max = maxes[k];

                for (size_t n = max; n <= max + 1; n++) {
                        FILE *fp = tmpfile();
                        char *buf = NULL;
                        size_t len = 0;
                        int rc;

                        assert_non_null(fp);
                        for (size_t i = 0; i < n; i++)
                                assert_int_not_equal(fputc('a' + (int)(i % 26), fp), EOF);
                        rewind(fp);
                        rc = csvread_slurp(fp, max, &buf, &len);
                        if (n == max) {
                                assert_int_equal(rc, 0);
                                assert_int_equal(len, n);
                                assert_int_equal(buf[n - 1], 'a' + (int)((n - 1) % 26));
                                free(buf);
                        } else {
                                assert_int_equal(rc, -EFBIG);
                                assert_null(buf);
                        }
                        fclose(fp);
                }
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cases),
            cmocka_unit_test(test_columns),
            cmocka_unit_test(test_field_cap),
            cmocka_unit_test(test_row_cap),
            cmocka_unit_test(test_row_cap_quoted_lines),
            cmocka_unit_test(test_generated),
            cmocka_unit_test(test_chunk_edges),
            cmocka_unit_test(test_open_errors),
            cmocka_unit_test(test_row_lifetime),
            cmocka_unit_test(test_utf8_valid),
            cmocka_unit_test(test_slurp_cap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
