#include "receipt.h"

#include <string.h>
#include <time.h>

#include "outbox.h"

struct line_print {
        FILE *fp;
        const char *prefix, *path;
};

/*
 * A version as the local time its value was submitted at: versions count
 * microseconds since 1970 times 1024.  Into buf; "?" when it has no time.
 */
static void
version_time(uint64_t version, char *buf, size_t len)
{
        time_t t = (time_t)(version / 1024 / 1000000);
        struct tm tm;

        if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, len, "?");
}

static int
line_print(void *arg, const struct outbox_line *l)
{
        struct line_print *p = arg;
        char when[64];

        if (!l->stale) {
                /* A placed reason starts with its place: FILE:5:学生数: or FILE:Sheet1!C7: */
                if (l->place == OUTBOX_AT_CELL)
                        fprintf(p->fp, "%s%s:%s\n", p->prefix, p->path, l->reason);
                else if (l->place == OUTBOX_AT_COLUMN)
                        fprintf(p->fp, "%s%s:%lu:%s\n", p->prefix, p->path, l->line, l->reason);
                else
                        fprintf(p->fp, "%s%s:%lu: %s\n", p->prefix, p->path, l->line, l->reason);
                return 0;
        }
        version_time(l->version, when, sizeof(when));
        fprintf(p->fp, "%s%s:%lu: not stored: a newer value (%s) was submitted%s%s at %s\n",
                p->prefix, p->path, l->line, l->value, *l->collector ? " by " : "", l->collector,
                when);
        return 0;
}

/* What to do about a refusal, for whoever submitted the file; NULL when its message says it. */
static const char *
refusal_hint(const char *msg)
{
        /*
         * The protocol carries no error codes, so the aggregator's text
         * (aggregator/main.c, refuse_reused_id) is what tells this case;
         * should it change, the message is still shown, only without this.
         */
        if (msg != NULL && strstr(msg, "was used before with other content") != NULL)
                return "the aggregator already took another batch under the same id, so it did "
                       "not take this one: submit the file again (it gets new batch ids), and "
                       "tell the office if this happens again";
        return NULL;
}

static int
warning_print(void *arg, const struct outbox_warning_row *w)
{
        struct line_print *p = arg;

        fprintf(p->fp, "%s%s: warning: unit %s period %s: %s\n", p->prefix, p->path, w->unit,
                w->period, w->message);
        return 0;
}

static int
print(struct outbox *ob, const struct outbox_file *f, const char *prefix, const char *note,
      int dry_run, FILE *out, FILE *rej, uint64_t *nrejected)
{
        struct line_print p = {.fp = rej, .prefix = prefix ? prefix : "", .path = f->path};
        uint64_t n;

        if (outbox_rejections_count(ob, f->id, &n) < 0)
                return -1;
        /* The local time zone of the stale lines' times, as it is now. */
        tzset();
        fprintf(out, "%s%s: %s%llu records, %llu accepted (%llu changed), %llu rejected", p.prefix,
                f->path, dry_run ? "dry run: " : "", (unsigned long long)f->records,
                (unsigned long long)f->accepted, (unsigned long long)f->changed,
                (unsigned long long)n);
        if (f->stale > 0)
                fprintf(out, ", %llu stale (not stored: %s)", (unsigned long long)f->stale,
                        f->stale == 1 ? "a newer value exists" : "newer values exist");
        if (f->warnings > 0)
                fprintf(out, ", %llu warning%s", (unsigned long long)f->warnings,
                        f->warnings == 1 ? "" : "s");
        if (f->refused_batches > 0) {
                const char *hint = refusal_hint(f->refusal);

                fprintf(out, ", %llu records refused by the aggregator: %s%s%s",
                        (unsigned long long)f->refused_records, f->refusal ? f->refusal : "",
                        hint ? "; " : "", hint ? hint : "");
        }
        if (note != NULL)
                fprintf(out, " (%s)", note);
        if (dry_run)
                fputs("; nothing was stored", out);
        fputc('\n', out);
        /* The summary first, even when out and rej are different streams. */
        fflush(out);
        if (nrejected != NULL)
                *nrejected = n;
        if (outbox_lines_each(ob, f->id, line_print, &p) < 0 ||
            outbox_warnings_each(ob, f->id, warning_print, &p) < 0)
                return -1;
        if (f->warnings_more > 0)
                fprintf(rej, "%s%s: %llu more warnings not listed (a receipt lists the first %d)\n",
                        p.prefix, f->path, (unsigned long long)f->warnings_more,
                        OUTBOX_MAX_WARNINGS);
        return 0;
}

int
receipt_print(struct outbox *ob, const struct outbox_file *f, const char *prefix, const char *note,
              FILE *out, FILE *rej, uint64_t *nrejected)
{
        return print(ob, f, prefix, note, 0, out, rej, nrejected);
}

int
receipt_print_dry_run(struct outbox *ob, const struct outbox_file *f, FILE *out, FILE *rej,
                      uint64_t *nrejected)
{
        return print(ob, f, NULL, NULL, 1, out, rej, nrejected);
}
