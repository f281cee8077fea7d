/*
 * xlsx: libzip for the archive, expat for the XML, every part streamed.
 *
 * How the caps hold: every byte inflated from the archive passes through
 * part_parse, which counts it against XLSX_MAX_UNPACKED before expat sees
 * it, so neither a lying size field nor a high compression ratio can make
 * this read more.  Text gathered from the XML (a string, a value) is capped
 * at XLSX_MAX_TEXT bytes as it grows; cells are counted as they open.  A
 * handler that finds a problem records it and stops the parser; the first
 * problem is the one reported.
 */
#include "xlsx.h"

#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "arena.h"
#include "util.h"

/* Inflated bytes handed to expat at a time. */
#define XLSX_CHUNK 65536
/* Most sheets (and relationships) a workbook may list, and archive entries. */
#define XLSX_MAX_SHEETS  4096
#define XLSX_MAX_ENTRIES 100000
/*
 * Most cell styles and custom date formats read from styles.xml (Excel
 * keeps a few hundred formats); every style is looked up among the date
 * formats, so their product bounds the work.
 */
#define XLSX_MAX_STYLES  65536
#define XLSX_MAX_FORMATS 1024
#define XLSX_ARENA_BLOCK (64 * 1024)

/* A growable text with a cap; over the cap is an error for the caller. */
struct text {
        char *s;
        size_t len, cap;
        int on; /* gathering character data */
};

/* A (name, target) pair: a sheet and its relationship id, or a relationship. */
struct pair {
        char *a, *b;
};

/* One cell of the row being read. */
struct cell {
        size_t col;
        unsigned char type;
        char *text; /* in the sheet's memory */
        size_t len;
};

struct book {
        const char *name;
        zip_t *za;
        size_t unpacked;
        char err[512];
        int failed;
        XML_Parser p;     /* the parser running, so handlers can stop it */
        const char *part; /* the part being parsed, for messages */

        /* workbook.xml and its relationships */
        struct pair *sheets, *rels;
        size_t nsheets, nrels;

        /* sharedStrings.xml */
        char **sst;
        size_t *sst_len;
        size_t nsst, sst_cap;
        int in_si, in_rph;

        /* styles.xml: which numFmtIds are custom date formats, which xfs are dates */
        unsigned *date_fmts;
        size_t ndate_fmts;
        unsigned char *xf_date;
        size_t nxf;
        int in_cellxfs;

        /* the sheet */
        struct xlsx_sheet *sh;
        size_t rows_cap;
        size_t ncells_total;
        unsigned long row;  /* the row open, 0 when none */
        size_t next_col;    /* column of the next cell without a reference */
        struct cell *cells; /* the open row's cells with values */
        size_t ncells, cells_cap;
        int in_cell, in_is;
        size_t cell_col;
        char cell_t[16];
        size_t cell_s;
        int cell_has_s;

        struct text t; /* the <t> or <v> being gathered */
};

static void book_fail(struct book *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first problem (prefixed with the file's name) and stop parsing. */
static void
book_fail(struct book *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (b->failed)
                return;
        b->failed = 1;
        n = snprintf(b->err, sizeof(b->err), "%s: ", b->name);
        if (n < 0 || (size_t)n >= sizeof(b->err))
                n = 0;
        va_start(ap, fmt);
        vsnprintf(b->err + n, sizeof(b->err) - (size_t)n, fmt, ap);
        va_end(ap);
        if (b->p != NULL)
                XML_StopParser(b->p, XML_FALSE);
}

/* The local part of an XML name: "x:row" and "row" are both "row". */
static const char *
local(const char *name)
{
        const char *c = strrchr(name, ':');

        return c != NULL ? c + 1 : name;
}

static const char *
attr(const char **atts, const char *name)
{
        for (size_t i = 0; atts[i] != NULL; i += 2)
                if (strcmp(local(atts[i]), name) == 0)
                        return atts[i + 1];
        return NULL;
}

static void
text_start(struct text *t)
{
        t->len = 0;
        t->on = 1;
}

static void XMLCALL
on_chars(void *ud, const XML_Char *s, int len)
{
        struct book *b = ud;
        struct text *t = &b->t;

        if (!t->on || len <= 0)
                return;
        if ((size_t)len > XLSX_MAX_TEXT - t->len) {
                book_fail(b, "%s: a text longer than %d bytes", b->part, XLSX_MAX_TEXT);
                return;
        }
        if (t->cap - t->len < (size_t)len + 1) {
                size_t cap = t->cap ? t->cap : 256;

                while (cap - t->len < (size_t)len + 1)
                        cap *= 2;
                t->s = xrealloc(t->s, cap);
                t->cap = cap;
        }
        memcpy(t->s + t->len, s, (size_t)len);
        t->len += (size_t)len;
        t->s[t->len] = '\0';
}

static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
           int has_internal)
{
        struct book *b = ud;

        (void)name, (void)sysid, (void)pubid, (void)has_internal;
        book_fail(b, "%s: has a DOCTYPE, which no workbook has (refused: entity expansion)",
                  b->part);
}

static void XMLCALL
on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *value, int vlen,
          const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
          const XML_Char *notation)
{
        struct book *b = ud;

        (void)name, (void)pe, (void)value, (void)vlen, (void)base, (void)sysid, (void)pubid,
            (void)notation;
        book_fail(b, "%s: declares an entity, which no workbook does", b->part);
}

/*
 * Parse the archive's entry part with the handlers already set on b->p.
 * Returns 1 when parsed, 0 when the part is absent, -1 on a problem (b->err).
 */
static int
part_parse(struct book *b, const char *part)
{
        zip_int64_t idx = zip_name_locate(b->za, part, ZIP_FL_NOCASE);
        zip_file_t *zf;
        char *buf;
        int done = 0;

        if (idx < 0)
                return 0;
        b->part = part;
        XML_SetUserData(b->p, b);
        XML_SetCharacterDataHandler(b->p, on_chars);
        XML_SetStartDoctypeDeclHandler(b->p, on_doctype);
        XML_SetEntityDeclHandler(b->p, on_entity);
        if ((zf = zip_fopen_index(b->za, (zip_uint64_t)idx, 0)) == NULL) {
                book_fail(b, "%s: cannot be read from the archive: %s", part, zip_strerror(b->za));
                return -1;
        }
        buf = xmalloc(XLSX_CHUNK);
        while (!done && !b->failed) {
                zip_int64_t got = zip_fread(zf, buf, XLSX_CHUNK);

                if (got < 0) {
                        book_fail(b, "%s: cannot be inflated: %s", part,
                                  zip_error_strerror(zip_file_get_error(zf)));
                        break;
                }
                if ((size_t)got > XLSX_MAX_UNPACKED - b->unpacked) {
                        book_fail(b, "the workbook is larger than %d MB unpacked",
                                  XLSX_MAX_UNPACKED >> 20);
                        break;
                }
                b->unpacked += (size_t)got;
                done = got == 0;
                if (XML_Parse(b->p, buf, (int)got, done) == XML_STATUS_ERROR && !b->failed)
                        book_fail(b, "%s line %lu: malformed XML: %s", part,
                                  (unsigned long)XML_GetCurrentLineNumber(b->p),
                                  XML_ErrorString(XML_GetErrorCode(b->p)));
        }
        free(buf);
        zip_fclose(zf);
        return b->failed ? -1 : 1;
}

/* A fresh parser for the next part; the old one is freed. */
static void
parser_new(struct book *b)
{
        if (b->p != NULL)
                XML_ParserFree(b->p);
        b->p = XML_ParserCreate("UTF-8");
        if (b->p == NULL) {
                /* The OOM policy of util.h: expat allocates with malloc. */
                fprintf(stderr, "out of memory (expat parser)\n");
                abort();
        }
}

/* ---- workbook.xml and its relationships ---- */

static void
pair_add(struct book *b, struct pair **v, size_t *n, const char *a, const char *c)
{
        if (*n >= XLSX_MAX_SHEETS) {
                book_fail(b, "%s: more than %d entries", b->part, XLSX_MAX_SHEETS);
                return;
        }
        *v = xreallocarray(*v, *n + 1, sizeof(**v));
        (*v)[*n].a = xstrdup(a);
        (*v)[*n].b = xstrdup(c);
        (*n)++;
}

static void XMLCALL
wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
        struct book *b = ud;
        const char *n = local(name);

        if (strcmp(n, "sheet") == 0) {
                const char *sn = attr(atts, "name"), *id = attr(atts, "id");

                if (sn != NULL && id != NULL)
                        pair_add(b, &b->sheets, &b->nsheets, sn, id);
        } else if (strcmp(n, "Relationship") == 0) {
                const char *id = attr(atts, "Id"), *target = attr(atts, "Target");

                if (id != NULL && target != NULL)
                        pair_add(b, &b->rels, &b->nrels, id, target);
        }
}

static void XMLCALL
no_end(void *ud, const XML_Char *name)
{
        (void)ud, (void)name;
}

/* ---- sharedStrings.xml ---- */

static void XMLCALL
sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
        struct book *b = ud;
        const char *n = local(name);

        (void)atts;
        if (strcmp(n, "si") == 0) {
                b->in_si = 1;
                b->in_rph = 0;
                text_start(&b->t);
                b->t.on = 0;
        } else if (strcmp(n, "rPh") == 0) {
                b->in_rph = 1;
        } else if (strcmp(n, "t") == 0 && b->in_si && !b->in_rph) {
                /* Runs of one string add up: the text is not reset per <t>. */
                b->t.on = 1;
        }
}

static void XMLCALL
sst_end(void *ud, const XML_Char *name)
{
        struct book *b = ud;
        const char *n = local(name);

        if (strcmp(n, "t") == 0) {
                b->t.on = 0;
        } else if (strcmp(n, "rPh") == 0) {
                b->in_rph = 0;
        } else if (strcmp(n, "si") == 0 && b->in_si) {
                b->in_si = 0;
                if (b->nsst >= XLSX_MAX_CELLS) {
                        book_fail(b, "%s: more than %d strings", b->part, XLSX_MAX_CELLS);
                        return;
                }
                if (b->nsst == b->sst_cap) {
                        b->sst_cap = b->sst_cap ? b->sst_cap * 2 : 256;
                        b->sst = xreallocarray(b->sst, b->sst_cap, sizeof(*b->sst));
                        b->sst_len = xreallocarray(b->sst_len, b->sst_cap, sizeof(*b->sst_len));
                }
                b->sst[b->nsst] = arena_copy(b->sh->mem, b->t.s ? b->t.s : "", b->t.len);
                b->sst_len[b->nsst] = b->t.len;
                b->nsst++;
        }
}

/* ---- styles.xml ---- */

/*
 * 1 when a custom number format shows a date or a time: after dropping
 * quoted text, escaped characters, [...] sections (colours, locales) and
 * the _x and *x padding, one of d, m, y, h, s is left.
 */
static int
format_is_date(const char *f)
{
        for (const char *p = f; *p != '\0'; p++) {
                switch (*p) {
                case '"':
                        while (p[1] != '\0' && p[1] != '"')
                                p++;
                        if (p[1] == '"')
                                p++;
                        break;
                case '\\':
                case '_':
                case '*':
                        if (p[1] != '\0')
                                p++;
                        break;
                case '[':
                        while (p[1] != '\0' && p[1] != ']')
                                p++;
                        if (p[1] == ']')
                                p++;
                        break;
                default:
                        if (strchr("dDmMyYhHsS", *p) != NULL)
                                return 1;
                }
        }
        return 0;
}

/* The built-in number formats that show dates, the East Asian ones included. */
static int
builtin_is_date(unsigned id)
{
        return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
               (id >= 50 && id <= 58);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
        unsigned long v = 0;

        if (s == NULL || *s == '\0')
                return -1;
        for (; *s != '\0'; s++) {
                if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10)
                        return -1;
                v = v * 10 + (unsigned long)(*s - '0');
        }
        *out = v;
        return 0;
}

static void XMLCALL
styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
        struct book *b = ud;
        const char *n = local(name);
        unsigned long id;

        if (strcmp(n, "numFmt") == 0) {
                const char *code = attr(atts, "formatCode");

                if (b->ndate_fmts >= XLSX_MAX_FORMATS) {
                        book_fail(b, "%s: more than %d date formats", b->part, XLSX_MAX_FORMATS);
                        return;
                }
                if (parse_uint(attr(atts, "numFmtId"), 1000000, &id) == 0 && code != NULL &&
                    format_is_date(code)) {
                        b->date_fmts =
                            xreallocarray(b->date_fmts, b->ndate_fmts + 1, sizeof(*b->date_fmts));
                        b->date_fmts[b->ndate_fmts++] = (unsigned)id;
                }
        } else if (strcmp(n, "cellXfs") == 0) {
                b->in_cellxfs = 1;
        } else if (strcmp(n, "xf") == 0 && b->in_cellxfs) {
                int date = 0;

                if (b->nxf >= XLSX_MAX_STYLES) {
                        book_fail(b, "%s: more than %d cell styles", b->part, XLSX_MAX_STYLES);
                        return;
                }
                if (parse_uint(attr(atts, "numFmtId"), 1000000, &id) == 0) {
                        date = builtin_is_date((unsigned)id);
                        for (size_t i = 0; !date && i < b->ndate_fmts; i++)
                                date = b->date_fmts[i] == id;
                }
                b->xf_date = xrealloc(b->xf_date, b->nxf + 1);
                b->xf_date[b->nxf++] = (unsigned char)date;
        }
}

static void XMLCALL
styles_end(void *ud, const XML_Char *name)
{
        struct book *b = ud;

        if (strcmp(local(name), "cellXfs") == 0)
                b->in_cellxfs = 0;
}

/* ---- the sheet ---- */

size_t
xlsx_number_text(double v, char *buf)
{
        char tmp[40], digits[24];
        const char *e;
        size_t nd = 0, n = 0;
        long exp10;
        int neg;

        if (v == 0)
                v = 0; /* -0 prints as 0 */
        snprintf(tmp, sizeof(tmp), "%.15g", v);
        if ((e = strchr(tmp, 'e')) == NULL) {
                n = strlen(tmp);
                memcpy(buf, tmp, n + 1);
                return n;
        }
        /* d.ddddde±x: write the digits out around the decimal point. */
        neg = tmp[0] == '-';
        for (const char *p = tmp + neg; p < e; p++)
                if (*p != '.')
                        digits[nd++] = *p;
        exp10 = strtol(e + 1, NULL, 10) + 1; /* digits before the point */
        if (neg)
                buf[n++] = '-';
        if (exp10 <= 0) {
                buf[n++] = '0';
                buf[n++] = '.';
                for (long i = 0; i < -exp10; i++)
                        buf[n++] = '0';
                memcpy(buf + n, digits, nd);
                n += nd;
        } else if ((size_t)exp10 >= nd) {
                memcpy(buf + n, digits, nd);
                n += nd;
                for (size_t i = nd; i < (size_t)exp10; i++)
                        buf[n++] = '0';
        } else {
                memcpy(buf + n, digits, (size_t)exp10);
                n += (size_t)exp10;
                buf[n++] = '.';
                memcpy(buf + n, digits + exp10, nd - (size_t)exp10);
                n += nd - (size_t)exp10;
        }
        buf[n] = '\0';
        return n;
}

void
xlsx_cell_ref(size_t col, unsigned long row, char *buf)
{
        char letters[8];
        size_t n = 0, c = col + 1;

        while (c > 0 && n < sizeof(letters)) {
                letters[n++] = (char)('A' + (c - 1) % 26);
                c = (c - 1) / 26;
        }
        for (size_t i = 0; i < n; i++)
                buf[i] = letters[n - 1 - i];
        snprintf(buf + n, XLSX_REFBUF - n, "%lu", row);
}

/*
 * Parse a cell reference "C7" into its column (0 is A) and row.  Returns
 * 0, or -1 when it is not one within the caps.
 */
static int
ref_parse(const char *ref, size_t *col, unsigned long *row)
{
        size_t c = 0, n = 0;

        while (ref[n] >= 'A' && ref[n] <= 'Z') {
                c = c * 26 + (size_t)(ref[n] - 'A' + 1);
                if (c > XLSX_MAX_COLUMNS)
                        return -1;
                n++;
        }
        if (n == 0 || parse_uint(ref + n, 1048576, row) < 0 || *row == 0)
                return -1;
        *col = c - 1;
        return 0;
}

/* Close the open row: store it when a cell had a value. */
static void
row_close(struct book *b)
{
        struct xlsx_sheet *sh = b->sh;
        struct xlsx_row *r;
        size_t width = 0;

        if (b->row == 0 || b->ncells == 0) {
                b->row = 0;
                return;
        }
        for (size_t i = 0; i < b->ncells; i++)
                if (b->cells[i].col + 1 > width)
                        width = b->cells[i].col + 1;
        if (sh->nrows == b->rows_cap) {
                b->rows_cap = b->rows_cap ? b->rows_cap * 2 : 64;
                sh->rows = xreallocarray(sh->rows, b->rows_cap, sizeof(*sh->rows));
        }
        r = &sh->rows[sh->nrows++];
        r->row = b->row;
        r->ncells = width;
        r->fields = xcalloc(width, sizeof(*r->fields));
        r->lens = xcalloc(width, sizeof(*r->lens));
        r->types = xcalloc(width, sizeof(*r->types));
        for (size_t i = 0; i < width; i++)
                r->fields[i] = (char *)(uintptr_t) "";
        /* A later cell of the same column wins, as Excel would have kept one. */
        for (size_t i = 0; i < b->ncells; i++) {
                const struct cell *c = &b->cells[i];

                r->fields[c->col] = c->text;
                r->lens[c->col] = c->len;
                r->types[c->col] = c->type;
        }
        b->ncells = 0;
        b->row = 0;
}

static void XMLCALL
sheet_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
        struct book *b = ud;
        const char *n = local(name);

        if (strcmp(n, "row") == 0) {
                const char *r = attr(atts, "r");
                unsigned long row;
                unsigned long prev = b->sh->nrows ? b->sh->rows[b->sh->nrows - 1].row : 0;

                row_close(b);
                if (r == NULL)
                        row = prev + 1;
                else if (parse_uint(r, 1048576, &row) < 0 || row == 0) {
                        book_fail(b, "%s: bad row number \"%.16s\"", b->part, r);
                        return;
                }
                b->row = row;
                b->next_col = 0;
        } else if (strcmp(n, "c") == 0) {
                const char *ref = attr(atts, "r"), *t = attr(atts, "t"), *s = attr(atts, "s");
                unsigned long row = 0, sidx;

                if (b->row == 0) {
                        book_fail(b, "%s: a cell outside a row", b->part);
                        return;
                }
                if (++b->ncells_total > XLSX_MAX_CELLS) {
                        book_fail(b, "the sheet has more than %d cells", XLSX_MAX_CELLS);
                        return;
                }
                if (ref != NULL) {
                        if (ref_parse(ref, &b->cell_col, &row) < 0 || row != b->row) {
                                book_fail(b, "%s: bad cell reference \"%.16s\" in row %lu", b->part,
                                          ref, b->row);
                                return;
                        }
                } else {
                        if (b->next_col >= XLSX_MAX_COLUMNS) {
                                book_fail(b, "%s: more than %d columns", b->part, XLSX_MAX_COLUMNS);
                                return;
                        }
                        b->cell_col = b->next_col;
                }
                b->next_col = b->cell_col + 1;
                strlcpyf(b->cell_t, sizeof(b->cell_t), "%s", t ? t : "n");
                b->cell_has_s = s != NULL && parse_uint(s, XLSX_MAX_STYLES, &sidx) == 0;
                b->cell_s = b->cell_has_s ? sidx : 0;
                b->in_cell = 1;
                b->in_is = 0;
                text_start(&b->t);
                b->t.on = 0;
        } else if (b->in_cell && strcmp(n, "v") == 0) {
                text_start(&b->t);
        } else if (b->in_cell && strcmp(n, "is") == 0) {
                b->in_is = 1;
                text_start(&b->t);
                b->t.on = 0;
        } else if (b->in_is && strcmp(n, "t") == 0) {
                b->t.on = 1;
        } else if (b->in_is && strcmp(n, "rPh") == 0) {
                b->in_rph = 1;
        }
}

/* Close the open cell: work out its type and text. */
static void
cell_close(struct book *b)
{
        char num[XLSX_NUMBUF], ref[XLSX_REFBUF];
        const char *text = b->t.s ? b->t.s : "";
        size_t len = b->t.len;
        unsigned char type;
        struct cell *c;

        b->in_cell = 0;
        if (len == 0)
                return; /* no value: an empty (perhaps only styled) cell */
        xlsx_cell_ref(b->cell_col, b->row, ref);
        if (strcmp(b->cell_t, "s") == 0) {
                unsigned long i;

                if (parse_uint(text, SIZE_MAX / 2, &i) < 0 || i >= b->nsst) {
                        book_fail(b,
                                  "%s: cell %s points at shared string \"%.16s\", which does "
                                  "not exist",
                                  b->part, ref, text);
                        return;
                }
                text = b->sst[i];
                len = b->sst_len[i];
                type = XLSX_TEXT;
        } else if (strcmp(b->cell_t, "str") == 0 || strcmp(b->cell_t, "inlineStr") == 0) {
                type = XLSX_TEXT;
        } else if (strcmp(b->cell_t, "b") == 0) {
                type = XLSX_BOOL;
                text = strcmp(text, "1") == 0 ? "TRUE" : "FALSE";
                len = strlen(text);
        } else if (strcmp(b->cell_t, "e") == 0) {
                type = XLSX_ERROR;
        } else if (strcmp(b->cell_t, "d") == 0) {
                type = XLSX_DATE;
        } else {
                char *end;
                double v;

                errno = 0;
                v = strtod(text, &end);
                if (end == text || *end != '\0' || !isfinite(v)) {
                        book_fail(b, "%s: cell %s holds \"%.32s\", which is not a number", b->part,
                                  ref, text);
                        return;
                }
                len = xlsx_number_text(v, num);
                text = num;
                type = b->cell_has_s && b->cell_s < b->nxf && b->xf_date[b->cell_s] ? XLSX_DATE
                                                                                    : XLSX_NUMBER;
        }
        if (b->ncells == b->cells_cap) {
                b->cells_cap = b->cells_cap ? b->cells_cap * 2 : 32;
                b->cells = xreallocarray(b->cells, b->cells_cap, sizeof(*b->cells));
        }
        c = &b->cells[b->ncells++];
        c->col = b->cell_col;
        c->type = type;
        c->len = len;
        /* Shared strings are in the sheet's memory already. */
        c->text = type == XLSX_TEXT && strcmp(b->cell_t, "s") == 0
                      ? (char *)(uintptr_t)text
                      : arena_copy(b->sh->mem, text, len);
}

static void XMLCALL
sheet_end(void *ud, const XML_Char *name)
{
        struct book *b = ud;
        const char *n = local(name);

        if (strcmp(n, "v") == 0 || strcmp(n, "t") == 0) {
                b->t.on = 0;
        } else if (strcmp(n, "rPh") == 0) {
                b->in_rph = 0;
        } else if (strcmp(n, "is") == 0) {
                b->in_is = 0;
        } else if (strcmp(n, "c") == 0 && b->in_cell) {
                cell_close(b);
        } else if (strcmp(n, "row") == 0) {
                row_close(b);
        }
}

/* ---- the workbook ---- */

int
xlsx_is_zip(const void *buf, size_t len)
{
        return len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0;
}

/* The archive path of relationship target t (relative to xl/ unless absolute). */
static void
target_path(const char *t, char *buf, size_t len)
{
        if (t[0] == '/')
                strlcpyf(buf, len, "%s", t + 1);
        else
                strlcpyf(buf, len, "xl/%s", t);
}

/* Refuse an archive whose entries declare more than the cap, before inflating any. */
static int
declared_check(struct book *b)
{
        zip_int64_t n = zip_get_num_entries(b->za, 0);
        zip_uint64_t total = 0;

        if (n < 0 || n > XLSX_MAX_ENTRIES) {
                book_fail(b, "not a workbook (%lld archive entries)", (long long)n);
                return -1;
        }
        for (zip_int64_t i = 0; i < n; i++) {
                zip_stat_t st;

                if (zip_stat_index(b->za, (zip_uint64_t)i, 0, &st) == 0 &&
                    (st.valid & ZIP_STAT_SIZE) && st.size > XLSX_MAX_UNPACKED - total) {
                        book_fail(b, "the workbook is larger than %d MB unpacked",
                                  XLSX_MAX_UNPACKED >> 20);
                        return -1;
                }
                if (zip_stat_index(b->za, (zip_uint64_t)i, 0, &st) == 0 &&
                    (st.valid & ZIP_STAT_SIZE))
                        total += st.size;
        }
        return 0;
}

/* Which part holds the sheet asked for.  Returns 0 with path, or -1. */
static int
sheet_locate(struct book *b, const char *want, char *path, size_t len, const char **sheet_name)
{
        const struct pair *sh = NULL;

        if (b->nsheets == 0) {
                book_fail(b, "xl/workbook.xml lists no sheet");
                return -1;
        }
        for (size_t i = 0; i < b->nsheets && sh == NULL; i++)
                if (want == NULL || strcmp(b->sheets[i].a, want) == 0)
                        sh = &b->sheets[i];
        if (sh == NULL) {
                char list[256] = "";

                for (size_t i = 0; i < b->nsheets; i++) {
                        size_t used = strlen(list);

                        if (used + strlen(b->sheets[i].a) + 8 >= sizeof(list)) {
                                snprintf(list + used, sizeof(list) - used, ", ...");
                                break;
                        }
                        snprintf(list + used, sizeof(list) - used, "%s\"%s\"", used ? ", " : "",
                                 b->sheets[i].a);
                }
                book_fail(b, "no sheet \"%s\" (the sheets are %s)", want, list);
                return -1;
        }
        for (size_t i = 0; i < b->nrels; i++) {
                if (strcmp(b->rels[i].a, sh->b) == 0) {
                        target_path(b->rels[i].b, path, len);
                        *sheet_name = sh->a;
                        return 0;
                }
        }
        book_fail(b, "sheet \"%s\" has no part in xl/_rels/workbook.xml.rels", sh->a);
        return -1;
}

static void
book_free(struct book *b)
{
        for (size_t i = 0; i < b->nsheets; i++) {
                free(b->sheets[i].a);
                free(b->sheets[i].b);
        }
        for (size_t i = 0; i < b->nrels; i++) {
                free(b->rels[i].a);
                free(b->rels[i].b);
        }
        free(b->sheets);
        free(b->rels);
        free(b->sst);
        free(b->sst_len);
        free(b->date_fmts);
        free(b->xf_date);
        free(b->cells);
        free(b->t.s);
        if (b->p != NULL)
                XML_ParserFree(b->p);
        if (b->za != NULL)
                zip_discard(b->za);
}

struct xlsx_sheet *
xlsx_read(const char *name, const void *buf, size_t len, const char *sheet, char *err,
          size_t errlen)
{
        struct book b;
        zip_error_t ze;
        zip_source_t *src;
        char path[1024];
        const char *sheet_name = NULL;
        struct xlsx_sheet *sh = xcalloc(1, sizeof(*sh));
        int rc;

        memset(&b, 0, sizeof(b));
        b.name = name;
        b.sh = sh;
        sh->mem = arena_new(XLSX_ARENA_BLOCK);
        if (len > XLSX_MAX_FILE) {
                book_fail(&b, "a workbook larger than %d MB", XLSX_MAX_FILE >> 20);
                goto fail;
        }
        zip_error_init(&ze);
        if ((src = zip_source_buffer_create(buf, len, 0, &ze)) == NULL ||
            (b.za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL) {
                book_fail(&b, "not an .xlsx workbook (the zip archive cannot be read: %s)",
                          zip_error_strerror(&ze));
                if (src != NULL)
                        zip_source_free(src);
                zip_error_fini(&ze);
                goto fail;
        }
        zip_error_fini(&ze);
        if (declared_check(&b) < 0)
                goto fail;

        parser_new(&b);
        XML_SetElementHandler(b.p, wb_start, no_end);
        if ((rc = part_parse(&b, "xl/workbook.xml")) <= 0) {
                if (rc == 0)
                        book_fail(&b, "not an .xlsx workbook (no xl/workbook.xml)");
                goto fail;
        }
        parser_new(&b);
        XML_SetElementHandler(b.p, wb_start, no_end);
        if (part_parse(&b, "xl/_rels/workbook.xml.rels") < 0)
                goto fail;
        if (sheet_locate(&b, sheet, path, sizeof(path), &sheet_name) < 0)
                goto fail;
        sh->name = xstrdup(sheet_name);
        parser_new(&b);
        XML_SetElementHandler(b.p, sst_start, sst_end);
        if (part_parse(&b, "xl/sharedStrings.xml") < 0)
                goto fail;
        parser_new(&b);
        XML_SetElementHandler(b.p, styles_start, styles_end);
        if (part_parse(&b, "xl/styles.xml") < 0)
                goto fail;
        parser_new(&b);
        XML_SetElementHandler(b.p, sheet_start, sheet_end);
        if ((rc = part_parse(&b, path)) <= 0) {
                if (rc == 0)
                        book_fail(&b, "the part of sheet \"%s\" (%s) is missing", sheet_name, path);
                goto fail;
        }
        row_close(&b);
        book_free(&b);
        return sh;
fail:
        strlcpyf(err, errlen, "%s", b.err);
        book_free(&b);
        xlsx_sheet_destroy(&sh);
        return NULL;
}

void
xlsx_sheet_destroy(struct xlsx_sheet **sp)
{
        struct xlsx_sheet *sh;

        if (sp == NULL || (sh = *sp) == NULL)
                return;
        for (size_t i = 0; i < sh->nrows; i++) {
                free(sh->rows[i].fields);
                free(sh->rows[i].lens);
                free(sh->rows[i].types);
        }
        free(sh->rows);
        arena_destroy(&sh->mem);
        free(sh->name);
        free(sh);
        *sp = NULL;
}
