/*
 * receipt: what became of a file, as `submit` prints it and `run` writes it
 * beside the file in the spool.  Built from the outbox, so a receipt shows
 * the same thing whichever process got the acks, and survives a crash.
 *
 *   FILE: N records, A accepted (C changed), R rejected
 *   FILE: N records, A accepted (C changed), R rejected, S stale (not stored: newer values exist)
 *   FILE:LINE: reason                                   (R lines, each one of
 *   FILE:LINE:COLUMN: reason                             these three: the
 *   FILE:Sheet!CELL: reason                              rejection's place)
 *   FILE:LINE: not stored: a newer value (V) was submitted by COLLECTOR at YYYY-MM-DD HH:MM
 *                                                       (S lines)
 *   FILE: warning: unit U period P: MESSAGE             (W lines, after those)
 *   FILE: K more warnings not listed (a receipt lists the first 1000)
 *
 * N counts every record read, rejected ones included; A and C are the
 * aggregator's counts from the acks; R the rejected lines.  A rejection the
 * collector found in a cell of a wide file is placed at its column, one in
 * a workbook at its cell (collector/submit.h); the aggregator's are at
 * their line, and its reason given for several cells of one row is shown
 * once.  The workbook's line is the cell's row, for ordering.  S counts the
 * stale records: accepted (valid) but not stored because a newer version of
 * the same key, with another value V, is stored; someone else submitted a
 * newer value.  The summary says nothing of them when S is 0 (so that
 * scripts reading the older format go on working), and says "a newer value
 * exists" when S is 1.  The time is when
 * that value was submitted (from its version), in the local time zone of
 * this machine; "by COLLECTOR" is left out when the aggregator did not name
 * one.  Stale records are not rejections: they do not count in R (nor in
 * submit's exit code).  The R and S lines come in one list, by line.
 *
 * W counts the warnings the acks reported: warning rules (经验校验) that
 * fail for a unit and period the file touched, once it was stored, one
 * per unit, period and rule, MESSAGE being the aggregator's text ("rule
 * R10 在校生数同比: pupils <= prev_year(pupils) * 1.3 (1500 > 1300)").  The
 * summary shows ", W warnings" after the stale count when W > 0.  Warnings
 * are not rejections: the values are stored, and they count nowhere else
 * (not in submit's exit code).  A school corrects the value or explains it
 * (`edustat-collector explain`).  The outbox keeps OUTBOX_MAX_WARNINGS of a
 * file; the rest are counted on the last line.
 *
 * When batches were refused by the aggregator (an "error" reply, final),
 * the summary goes on with ", K records refused by the aggregator: MESSAGE"
 * (and, for a batch id the aggregator saw before with other content, what
 * to do about it).  A prefix ("earlier: ") starts every line and a note
 * ("delivered now") ends the summary in parentheses.
 *
 * C may be lower than the number of values a file really changed when its
 * ack was lost and a resend was acked instead (a crash between the commit
 * and the ack): the resend finds the values stored and changes nothing.
 */
#ifndef EDUSTAT_RECEIPT_H
#define EDUSTAT_RECEIPT_H

#include <stdint.h>
#include <stdio.h>

#include "outbox.h"

/*
 * Print the receipt of complete file f: the summary line on out, the
 * rejection and stale lines on rej (which may be out).  prefix and note may
 * be NULL.  Returns 0 with the number of rejected lines in *nrejected (may
 * be NULL; stale lines are not counted there, f->stale has them), or -1
 * when the outbox cannot be read (logged; part may be printed).
 */
int receipt_print(struct outbox *ob, const struct outbox_file *f, const char *prefix,
                  const char *note, FILE *out, FILE *rej, uint64_t *nrejected);

/*
 * The receipt of a dry run (submit --dry-run) from its private outbox: the
 * same lines, the summary starting "FILE: dry run: " and ending "; nothing
 * was stored".  Returns as receipt_print.
 */
int receipt_print_dry_run(struct outbox *ob, const struct outbox_file *f, FILE *out, FILE *rej,
                          uint64_t *nrejected);

#endif
