/*
 * csvread: libcsv wrapped with line numbers, caps and per-row errors.
 *
 * How the caps stay cheap: input is read in CSVREAD_CHUNK-byte chunks and
 * handed to libcsv one segment at a time, a segment ending at the next CR
 * or LF (or at the end of the chunk).  libcsv can end a row only on a CR or
 * LF, so at most one row completes per segment, and between segments this
 * module knows exactly where it is:
 *   - the physical line (LF, CRLF and a lone CR each end one line);
 *   - whether a row is open and on which line it started;
 *   - how many bytes the open row has consumed, checked *before* a segment
 *     is fed, so libcsv's field buffer never grows past CSVREAD_MAX_ROW.
 * A row with a quote libcsv's strict mode rejects is reported; the parser
 * is reset and input is discarded to the end of the physical line, where
 * reading resynchronises.  A row past the byte cap is reported the same
 * way, but discarded to the end of its record: line ends inside a quoted
 * field do not end it (skip_quotes follows the quoting), so one huge quoted
 * field is one bad row, not a bad row per line it spans; a quote that never
 * closes ends the file with an error naming the row's line.
 *
 * Fields are copied into one arena per row, bounded by the row cap, and the
 * reader stores at most CSVREAD_MAX_FIELDS of them.
 */
#include "csvread.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "textenc.h"
#include "util.h"

/* Bytes read from a file at a time; the unit tests know this value. */
#define CSVREAD_CHUNK 65536
/* libcsv grows its field buffer by this much (its default is 128). */
#define CSVREAD_BLK 4096
/* Room for a row-level message. */
#define CSVREAD_ERRMAX 96

struct csvread {
        char *name;
        FILE *fp;                 /* NULL when reading from memory */
        const unsigned char *mem; /* memory input, consumed in one go */
        size_t memlen;
        int mem_given;             /* the buffer has been handed out */
        unsigned char *chunk;      /* file input buffer */
        const unsigned char *data; /* current input: chunk or mem */
        size_t len, pos;
        /*
         * Offsets of the next LF and CR at or after pos (len when there is
         * none; SIZE_MAX when not looked for yet), so each byte is scanned
         * once however short the lines are.
         */
        size_t lf_at, cr_at;
        int bom_checked;
        int delim_checked;   /* the delimiter has been taken from the header line */
        unsigned char delim; /* ',' or '\t' */
        char *owned;         /* converted text (mem points into it), or NULL */
        enum textenc enc;    /* what the input was */
        int done;            /* EOF or FATAL has been returned */

        struct csv_parser parser;
        unsigned long line;      /* physical line of data[pos] */
        int pending_cr;          /* a CR ended the last segment; a LF now is its pair */
        int skipping;            /* discarding input up to the next line end */
        int skip_record;         /* ... or record end: quoting is followed */
        int skip_quoted;         /* ... which is inside a quoted field */
        int skip_quote_seen;     /* ... and its last byte was a quote: closing, or half of "" */
        unsigned long skip_line; /* the line the skipped row started on */
        unsigned char last_fed;  /* the last byte handed to libcsv */

        /* The open row. */
        int in_row;
        int row_done;             /* libcsv reported the row's end */
        unsigned long row_line;   /* line the row starts on */
        unsigned long field_line; /* line where the next field opens */
        size_t row_bytes;         /* input bytes fed since the row began */
        size_t nfields;           /* fields seen, may exceed the cap */
        int bad;                  /* the row is bad; badmsg says why */
        char badmsg[CSVREAD_ERRMAX];
        char *arena; /* field text, NUL-terminated */
        size_t alen, acap;
        size_t off[CSVREAD_MAX_FIELDS];
        size_t lens[CSVREAD_MAX_FIELDS];
        char *fields[CSVREAD_MAX_FIELDS];
};

/*
 * With tabs as delimiters a tab is data, not padding: only the space is
 * trimmed from unquoted fields then (libcsv trims both by default).
 */
static int
space_only(unsigned char c)
{
        return c == ' ';
}

static void
parser_init(struct csvread *r)
{
        /*
         * Strict mode rejects stray quotes ("ab"c", a"b) instead of guessing,
         * and STRICT_FINI makes csv_fini report an unterminated quote.
         */
        csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI);
        csv_set_realloc_func(&r->parser, xrealloc);
        csv_set_blk_size(&r->parser, CSVREAD_BLK);
        if (r->delim == '\t') {
                csv_set_delim(&r->parser, '\t');
                csv_set_space_func(&r->parser, space_only);
        }
}

/* Forget the open row and restart libcsv after an error. */
static void
parser_reset(struct csvread *r)
{
        csv_free(&r->parser);
        parser_init(r);
        r->in_row = r->row_done = r->bad = 0;
        r->nfields = r->alen = r->row_bytes = 0;
}

/* Mark the open row bad; the first problem found is the one reported. */
static void row_bad(struct csvread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
row_bad(struct csvread *r, const char *fmt, ...)
{
        va_list ap;

        if (r->bad)
                return;
        r->bad = 1;
        va_start(ap, fmt);
        vsnprintf(r->badmsg, sizeof(r->badmsg), fmt, ap);
        va_end(ap);
}

/* libcsv field callback: check the field and copy it into the arena. */
static void
on_field(void *s, size_t n, void *data)
{
        struct csvread *r = data;
        size_t i = r->nfields++;

        /* A delimiter ended this field, so the next one opens on this line. */
        r->field_line = r->line;
        if (r->bad)
                return;
        if (i >= CSVREAD_MAX_FIELDS) {
                row_bad(r, "row has more than %zu fields", (size_t)CSVREAD_MAX_FIELDS);
                return;
        }
        if (n > 0 && memchr(s, '\0', n) != NULL) {
                row_bad(r, "field %zu contains a NUL byte", i + 1);
                return;
        }
        if (!utf8_valid(s, n)) {
                row_bad(r, "field %zu is not valid UTF-8", i + 1);
                return;
        }
        /* The row cap bounds the arena: field bytes never exceed input bytes. */
        if (r->acap - r->alen < n + 1) {
                size_t cap = r->acap ? r->acap : 1024;

                while (cap - r->alen < n + 1)
                        cap *= 2;
                r->arena = xrealloc(r->arena, cap);
                r->acap = cap;
        }
        if (n > 0)
                memcpy(r->arena + r->alen, s, n);
        r->arena[r->alen + n] = '\0';
        r->off[i] = r->alen;
        r->lens[i] = n;
        r->alen += n + 1;
}

/* libcsv row callback. */
static void
on_row(int c, void *data)
{
        struct csvread *r = data;

        (void)c;
        r->row_done = 1;
}

static struct csvread *
reader_new(const char *name)
{
        struct csvread *r = xcalloc(1, sizeof(*r));

        r->name = xstrdup(name);
        r->line = 1;
        r->delim = ',';
        r->enc = TEXTENC_UTF8;
        parser_init(r);
        return r;
}

int
csvread_slurp(FILE *fp, size_t max, char **bufp, size_t *lenp)
{
        size_t len = 0, cap = CSVREAD_CHUNK < max + 1 ? CSVREAD_CHUNK : max + 1;
        char *buf = xmalloc(cap);

        for (;;) {
                size_t got;

                if (len == cap) {
                        if (cap > max) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        buf = xrealloc(buf, cap);
                }
                got = fread(buf + len, 1, cap - len, fp);
                len += got;
                if (got == 0)
                        break;
        }
        if (ferror(fp)) {
                int e = errno != 0 ? errno : EIO;

                free(buf);
                return -e;
        }
        *bufp = buf;
        *lenp = len;
        return 0;
}

/*
 * Read all of fp (from its start) into an owned buffer of at most
 * CSVREAD_MAX_TEXT bytes.  Returns 0, or -1 with a message in err.
 */
static int
slurp(FILE *fp, const char *path, unsigned char **bufp, size_t *lenp, char *err, size_t errlen)
{
        char *buf;
        int rc = csvread_slurp(fp, CSVREAD_MAX_TEXT, &buf, lenp);

        if (rc == -EFBIG)
                strlcpyf(err, errlen, "%s: larger than %d MB", path, CSVREAD_MAX_TEXT >> 20);
        else if (rc < 0)
                strlcpyf(err, errlen, "%s: %s", path, strerror(-rc));
        if (rc < 0)
                return -1;
        *bufp = (unsigned char *)buf;
        return 0;
}

/*
 * 1 when the regular file fp is UTF-8 (no UTF-16 BOM, every byte valid),
 * 0 when not, -1 on a read error.  Leaves fp at its start.  Reading the
 * file twice costs less than holding it: the second pass comes from the
 * page cache, and plain UTF-8 stays a stream of fixed-size chunks.
 */
static int
file_is_utf8(FILE *fp, unsigned char *chunk)
{
        struct textenc_utf8 v;
        size_t got;
        int first = 1;

        memset(&v, 0, sizeof(v));
        while ((got = fread(chunk, 1, CSVREAD_CHUNK, fp)) > 0) {
                if (first && got >= 2 &&
                    ((chunk[0] == 0xFF && chunk[1] == 0xFE) ||
                     (chunk[0] == 0xFE && chunk[1] == 0xFF)))
                        break;
                first = 0;
                if (textenc_utf8_feed(&v, chunk, got) < 0)
                        break;
        }
        if (ferror(fp))
                return -1;
        rewind(fp);
        return got == 0 && textenc_utf8_end(&v) == 0;
}

/* Make r read the text of buf[0..len) in enc.  0 or -1 with err. */
static int
reader_convert(struct csvread *r, const void *buf, size_t len, enum textenc enc, char *err,
               size_t errlen)
{
        struct textenc_text t;

        if (textenc_to_utf8(r->name, buf, len, enc, CSVREAD_MAX_TEXT, &t, err, errlen) < 0)
                return -1;
        r->owned = t.owned;
        r->mem = (const unsigned char *)t.p;
        r->memlen = t.len;
        r->enc = t.enc;
        /* textenc skipped the BOM already; a second one would be data. */
        r->bom_checked = 1;
        return 0;
}

struct csvread *
csvread_open(const char *path, char *err, size_t errlen)
{
        return csvread_open_enc(path, TEXTENC_AUTO, err, errlen);
}

struct csvread *
csvread_open_enc(const char *path, enum textenc enc, char *err, size_t errlen)
{
        FILE *fp = fopen(path, "rb");

        if (fp == NULL) {
                strlcpyf(err, errlen, "%s: %s", path, strerror(errno));
                return NULL;
        }
        return csvread_open_fp(fp, path, enc, err, errlen);
}

struct csvread *
csvread_open_fp(FILE *fp, const char *name, enum textenc enc, char *err, size_t errlen)
{
        struct csvread *r;
        struct stat st;
        unsigned char *buf;
        size_t len;
        int utf8 = enc == TEXTENC_UTF8;

        r = reader_new(name);
        r->chunk = xmalloc(CSVREAD_CHUNK);
        if (!utf8 && enc == TEXTENC_AUTO && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
                utf8 = file_is_utf8(fp, r->chunk);
                if (utf8 < 0) {
                        strlcpyf(err, errlen, "%s: %s", name, strerror(errno));
                        goto fail;
                }
        }
        if (utf8) {
                /* The common case: streamed in chunks as it always was. */
                r->fp = fp;
                return r;
        }
        if (slurp(fp, name, &buf, &len, err, errlen) < 0)
                goto fail;
        fclose(fp);
        fp = NULL;
        if (reader_convert(r, buf, len, enc, err, errlen) < 0) {
                free(buf);
                goto fail;
        }
        /* Text that needed no conversion still points into buf: keep it. */
        if (r->owned == NULL)
                r->owned = (char *)buf;
        else
                free(buf);
        return r;
fail:
        if (fp != NULL)
                fclose(fp);
        csvread_close(&r);
        return NULL;
}

struct csvread *
csvread_open_mem(const char *name, const void *buf, size_t len)
{
        struct csvread *r = reader_new(name);

        r->mem = buf;
        r->memlen = len;
        return r;
}

struct csvread *
csvread_open_mem_enc(const char *name, const void *buf, size_t len, enum textenc enc, char *err,
                     size_t errlen)
{
        struct csvread *r = reader_new(name);

        if (reader_convert(r, buf, len, enc, err, errlen) < 0) {
                csvread_close(&r);
                return NULL;
        }
        return r;
}

/*
 * Take the delimiter from the header line (the first line of the input):
 * a tab when it has more tabs than commas outside quotes, as Excel's
 * "Unicode text" export does, else a comma.  A header longer than the
 * first chunk is judged on what the chunk holds.
 */
static void
delim_detect(struct csvread *r)
{
        size_t commas = 0, tabs = 0;
        int quoted = 0;

        for (size_t i = r->pos; i < r->len; i++) {
                unsigned char c = r->data[i];

                if (c == '"')
                        quoted = !quoted;
                else if (!quoted && (c == '\n' || c == '\r'))
                        break;
                else if (!quoted && c == ',')
                        commas++;
                else if (!quoted && c == '\t')
                        tabs++;
        }
        if (tabs > commas) {
                r->delim = '\t';
                csv_set_delim(&r->parser, '\t');
                csv_set_space_func(&r->parser, space_only);
        }
}

/* Refill data; returns 0 (len 0 at end of input) or -1 on a read error. */
static int
fill(struct csvread *r)
{
        r->pos = 0;
        r->lf_at = r->cr_at = SIZE_MAX;
        if (r->fp == NULL) {
                r->data = r->mem;
                r->len = r->mem_given ? 0 : r->memlen;
                r->mem_given = 1;
        } else {
                r->data = r->chunk;
                r->len = fread(r->chunk, 1, CSVREAD_CHUNK, r->fp);
                if (r->len == 0 && ferror(r->fp))
                        return -1;
        }
        if (!r->bom_checked) {
                /* fread fills the chunk unless the file is shorter. */
                r->bom_checked = 1;
                if (r->len >= 3 && memcmp(r->data, "\xef\xbb\xbf", 3) == 0)
                        r->pos = 3;
        }
        if (!r->delim_checked) {
                r->delim_checked = 1;
                delim_detect(r);
        }
        return 0;
}

/* Hand the finished row to the caller, or report why it is bad. */
static int
row_emit(struct csvread *r, struct csvrow *row, char *err, size_t errlen)
{
        int bad = r->bad;

        row->line = r->row_line;
        row->nfields = 0;
        row->fields = r->fields;
        row->lens = r->lens;
        if (bad) {
                strlcpyf(err, errlen, "%s", r->badmsg);
        } else {
                for (size_t i = 0; i < r->nfields; i++)
                        r->fields[i] = r->arena + r->off[i];
                row->nfields = r->nfields;
        }
        /* The arena stays as is until the next call, as the header promises. */
        r->in_row = r->row_done = r->bad = 0;
        r->nfields = r->alen = r->row_bytes = 0;
        return bad ? CSVREAD_BADROW : CSVREAD_ROW;
}

/* End of input: flush libcsv, which reports a quote still open. */
static int
finish(struct csvread *r, struct csvrow *row, char *err, size_t errlen)
{
        if (csv_fini(&r->parser, on_field, on_row, r) != 0) {
                /* Only the first field of a row can open on a later line. */
                row->line = r->nfields == 0 ? r->row_line : r->field_line;
                row->nfields = 0;
                strlcpyf(err, errlen, "unterminated quoted field");
                parser_reset(r);
                r->done = 1;
                return CSVREAD_FATAL;
        }
        if (r->row_done)
                return row_emit(r, row, err, errlen);
        r->done = 1;
        return CSVREAD_EOF;
}

/* Offset of the next c at or after pos, or len. */
static size_t
find_byte(const struct csvread *r, int c)
{
        const unsigned char *p = memchr(r->data + r->pos, c, r->len - r->pos);

        return p != NULL ? (size_t)(p - r->data) : r->len;
}

static int
is_blank(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return 0;
        return 1;
}

/* Account for the segment's last byte: a line ends at LF, or at CR alone. */
static void
line_advance(struct csvread *r, unsigned char last)
{
        if (last == '\n')
                r->line++;
        else if (last == '\r')
                r->pending_cr = 1;
}

/*
 * Follow RFC 4180 quoting through a skipped segment (all of it but its last
 * byte, which is a line end or the end of the input): a quote opens a
 * quoted field, and inside one a quote either closes it or, doubled, is
 * data.
 */
static void
skip_quotes(struct csvread *r, const unsigned char *seg, size_t n)
{
        size_t end = seg[n - 1] == '\n' || seg[n - 1] == '\r' ? n - 1 : n, i = 0;

        while (i < end) {
                const unsigned char *q;

                if (r->skip_quote_seen) {
                        r->skip_quote_seen = 0;
                        if (seg[i] == '"') {
                                i++; /* a doubled quote: still inside */
                                continue;
                        }
                        r->skip_quoted = 0;
                }
                if ((q = memchr(seg + i, '"', end - i)) == NULL)
                        break;
                i = (size_t)(q - seg) + 1;
                if (r->skip_quoted)
                        r->skip_quote_seen = 1;
                else
                        r->skip_quoted = 1;
        }
        /* A quote right before the line end closed the field. */
        if (end < n && r->skip_quote_seen) {
                r->skip_quote_seen = 0;
                r->skip_quoted = 0;
        }
}

int
csvread_next(struct csvread *r, struct csvrow *row, char *err, size_t errlen)
{
        if (err != NULL && errlen > 0)
                err[0] = '\0';
        if (r->done)
                return CSVREAD_EOF;
        for (;;) {
                const unsigned char *seg;
                size_t n, avail, used, end;

                if (r->pos == r->len) {
                        if (fill(r) < 0) {
                                row->line = r->line;
                                row->nfields = 0;
                                strlcpyf(err, errlen, "read error: %s", strerror(errno));
                                r->done = 1;
                                return CSVREAD_FATAL;
                        }
                        if (r->pos == r->len && r->skipping && r->skip_quoted) {
                                /* The quote of the row cut off never closed. */
                                row->line = r->skip_line;
                                row->nfields = 0;
                                strlcpyf(err, errlen,
                                         "a quoted field of the row on line %lu is never "
                                         "closed: everything after it was skipped (close the "
                                         "quote)",
                                         r->skip_line);
                                r->done = 1;
                                return CSVREAD_FATAL;
                        }
                        if (r->pos == r->len)
                                return finish(r, row, err, errlen);
                }
                seg = r->data + r->pos;
                avail = r->len - r->pos;
                if (r->pending_cr) {
                        r->pending_cr = 0;
                        if (seg[0] != '\n')
                                r->line++;
                }
                if (r->lf_at == SIZE_MAX || r->lf_at < r->pos)
                        r->lf_at = find_byte(r, '\n');
                if (r->cr_at == SIZE_MAX || r->cr_at < r->pos)
                        r->cr_at = find_byte(r, '\r');
                end = r->lf_at < r->cr_at ? r->lf_at : r->cr_at;
                n = end < r->len ? end - r->pos + 1 : avail;

                if (r->skipping) {
                        r->pos += n;
                        if (r->skip_record)
                                skip_quotes(r, seg, n);
                        if ((seg[n - 1] == '\n' || seg[n - 1] == '\r') && !r->skip_quoted)
                                r->skipping = 0;
                        line_advance(r, seg[n - 1]);
                        continue;
                }
                if (!r->in_row && is_blank(seg, n)) {
                        /*
                         * Between rows a blank line is skipped here: with
                         * tabs as delimiters libcsv would read "\t\t" as a
                         * row of empty fields.
                         */
                        r->pos += n;
                        line_advance(r, seg[n - 1]);
                        continue;
                }
                if (!r->in_row) {
                        r->in_row = 1;
                        r->row_line = r->field_line = r->line;
                        r->row_bytes = 0;
                }
                if (r->in_row) {
                        if (n > CSVREAD_MAX_ROW - r->row_bytes) {
                                unsigned long line = r->row_line;

                                /*
                                 * libcsv's quoted flag is set from a field's
                                 * opening quote to its end: resynchronise at
                                 * the end of the record, not of the line.
                                 */
                                r->skip_quoted = r->parser.quoted;
                                r->skip_quote_seen = r->parser.quoted && r->last_fed == '"';
                                r->skip_line = line;
                                parser_reset(r);
                                r->skipping = r->skip_record = 1;
                                row->line = line;
                                row->nfields = 0;
                                strlcpyf(err, errlen, "row is longer than %d bytes",
                                         CSVREAD_MAX_ROW);
                                return CSVREAD_BADROW;
                        }
                        r->row_bytes += n;
                }
                used = csv_parse(&r->parser, seg, n, on_field, on_row, r);
                if (used < n) {
                        /* Strict mode refused a quote; xrealloc rules out ENOMEM. */
                        unsigned long line = r->row_line;
                        size_t field = r->nfields + 1;

                        r->pos += used;
                        parser_reset(r);
                        /* A stray quote says nothing reliable about quoting: skip the line. */
                        r->skipping = 1;
                        r->skip_record = r->skip_quoted = r->skip_quote_seen = 0;
                        row->line = line;
                        row->nfields = 0;
                        strlcpyf(err, errlen,
                                 "field %zu has a stray quote (quote the whole field and "
                                 "double the quotes inside it)",
                                 field);
                        return CSVREAD_BADROW;
                }
                r->pos += n;
                r->last_fed = seg[n - 1];
                line_advance(r, seg[n - 1]);
                if (r->row_done)
                        return row_emit(r, row, err, errlen);
        }
}

const char *
csvread_name(const struct csvread *r)
{
        return r->name;
}

char
csvread_delimiter(const struct csvread *r)
{
        return (char)r->delim;
}

enum textenc
csvread_encoding(const struct csvread *r)
{
        return r->enc;
}

void
csvread_close(struct csvread **rp)
{
        struct csvread *r;

        if (rp == NULL || (r = *rp) == NULL)
                return;
        if (r->fp != NULL)
                fclose(r->fp);
        csv_free(&r->parser);
        free(r->owned);
        free(r->chunk);
        free(r->arena);
        free(r->name);
        free(r);
        *rp = NULL;
}

static int
blank(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

const char *
csvread_trim(const char *s, size_t *len)
{
        while (*len > 0 && blank(s[0]))
                s++, (*len)--;
        while (*len > 0 && blank(s[*len - 1]))
                (*len)--;
        return s;
}

int
csvread_columns(const struct csvrow *header, const struct csvread_column *cols, size_t ncols,
                int *pos, char *err, size_t errlen)
{
        for (size_t k = 0; k < ncols; k++)
                pos[k] = -1;
        for (size_t i = 0; i < header->nfields; i++) {
                size_t len = header->lens[i];
                const char *f = csvread_trim(header->fields[i], &len);

                for (size_t k = 0; k < ncols; k++) {
                        if (strlen(cols[k].name) != len || strncasecmp(cols[k].name, f, len) != 0)
                                continue;
                        if (pos[k] >= 0) {
                                snprintf(err, errlen, "duplicate column \"%s\"", cols[k].name);
                                return -1;
                        }
                        pos[k] = (int)i;
                }
        }
        for (size_t k = 0; k < ncols; k++) {
                if (cols[k].required && pos[k] < 0) {
                        snprintf(err, errlen, "missing column \"%s\"", cols[k].name);
                        return -1;
                }
        }
        return 0;
}
