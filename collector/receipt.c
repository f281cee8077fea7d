#include "receipt.h"

#include "outbox.h"

struct rej_print {
        FILE *fp;
        const char *prefix, *path;
};

static int
line_print(void *arg, unsigned long line, enum outbox_place place, const char *reason)
{
        struct rej_print *p = arg;

        /* A placed reason starts with its column or cell: FILE:5:学生数: or FILE:Sheet1!C7: */
        if (place == OUTBOX_AT_CELL)
                fprintf(p->fp, "%s%s:%s\n", p->prefix, p->path, reason);
        else if (place == OUTBOX_AT_COLUMN)
                fprintf(p->fp, "%s%s:%lu:%s\n", p->prefix, p->path, line, reason);
        else
                fprintf(p->fp, "%s%s:%lu: %s\n", p->prefix, p->path, line, reason);
        return 0;
}

int
receipt_print(struct outbox *ob, const struct outbox_file *f, const char *prefix, const char *note,
              FILE *out, FILE *rej, uint64_t *nrejected)
{
        struct rej_print p = {.fp = rej, .prefix = prefix ? prefix : "", .path = f->path};
        uint64_t n;

        if (outbox_rejections_count(ob, f->id, &n) < 0)
                return -1;
        fprintf(out, "%s%s: %llu records, %llu accepted (%llu changed), %llu rejected", p.prefix,
                f->path, (unsigned long long)f->records, (unsigned long long)f->accepted,
                (unsigned long long)f->changed, (unsigned long long)n);
        if (f->refused_batches > 0)
                fprintf(out, ", %llu records refused by the aggregator: %s",
                        (unsigned long long)f->refused_records, f->refusal ? f->refusal : "");
        if (note != NULL)
                fprintf(out, " (%s)", note);
        fputc('\n', out);
        /* The summary first, even when out and rej are different streams. */
        fflush(out);
        if (nrejected != NULL)
                *nrejected = n;
        return outbox_rejections_each(ob, f->id, line_print, &p);
}
