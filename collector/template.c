/*
 * template: a blank wide form for the schools below a unit.  See template.h.
 */
#include "template.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "catalog.h"
#include "config.h"
#include "forms.h"
#include "orgtree.h"
#include "period.h"
#include "util.h"

#define PROG           "edustat-collector template"
#define DEFAULT_CONFIG "./config"
#define DATA_SHEET     "填报"
#define HELP_SHEET     "说明"
#define KEY_COLS       3 /* unit, 学校名称, period */
/* Excel's caps on a validation's prompt and message, in characters. */
#define TITLE_MAX   32
#define MESSAGE_MAX 255

/* What goes into the form. */
struct form {
        const struct config *cfg;
        const struct forms *forms;
        const char *unit, *period;
        const int *school; /* tree indices of the rows */
        size_t nschools;
        int *ind; /* catalogue indices of the indicator columns */
        size_t nind;
        char **header; /* their header texts */
};

static void
usage(FILE *fp)
{
        fprintf(fp, "usage: " PROG " --unit CODE --period PERIOD [-o FILE.xlsx|FILE.csv]\n"
                    "\n"
                    "Writes a blank wide form: one row per school at or below the unit, one\n"
                    "column per indicator its stage reports (forms.csv; without it every\n"
                    "count and amount of indicators.csv).  FILE ends in .xlsx (a protected\n"
                    "workbook with checks on every cell and the instructions on sheet 说明) or\n"
                    ".csv (UTF-8 with a byte-order mark); default template-CODE-PERIOD.xlsx.\n"
                    "Environment: EDUSTAT_CONFIG (default " DEFAULT_CONFIG ").\n");
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s != '\0'; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

/* The rule an indicator's cells follow, in Chinese. */
static void
rule_text(const struct indicator *in, char *buf, size_t len)
{
        if (in->kind == IND_COUNT || in->scale == 0)
                strlcpyf(buf, len, "不小于0的整数");
        else
                strlcpyf(buf, len, "不小于0的数，最多%u位小数", in->scale);
}

/* The columns: indicators some school of the form reports, in catalogue order. */
static void
columns_pick(struct form *f)
{
        const struct catalog *cat = f->cfg->cat;
        const struct orgtree *t = f->cfg->tree;

        f->ind = xcalloc(cat->n + 1, sizeof *f->ind);
        f->header = xcalloc(cat->n + 1, sizeof *f->header);
        for (size_t i = 0; i < cat->n; i++) {
                const struct indicator *in = &cat->ind[i];
                int used = 0;
                size_t hlen;

                if (in->kind == IND_RATIO)
                        continue;
                for (size_t s = 0; s < f->nschools && !used; s++)
                        used = forms_lists(f->forms, t->u[f->school[s]].stage, (int)i);
                if (!used)
                        continue;
                hlen = strlen(in->name_zh) + strlen(in->unit) + strlen(in->code) + 16;
                f->header[f->nind] = xmalloc(hlen);
                if (in->unit[0] != '\0')
                        strlcpyf(f->header[f->nind], hlen, "%s（%s）(%s)", in->name_zh, in->unit,
                                 in->code);
                else
                        strlcpyf(f->header[f->nind], hlen, "%s(%s)", in->name_zh, in->code);
                f->ind[f->nind++] = (int)i;
        }
}

static void
form_clear(struct form *f)
{
        for (size_t i = 0; i < f->nind; i++)
                free(f->header[i]);
        free(f->header);
        free(f->ind);
}

/* One CSV field, quoted when it must be (RFC 4180). */
static void
csv_field(FILE *fp, const char *s)
{
        if (strpbrk(s, ",\"\r\n") == NULL) {
                fputs(s, fp);
                return;
        }
        fputc('"', fp);
        for (; *s != '\0'; s++) {
                if (*s == '"')
                        fputc('"', fp);
                fputc(*s, fp);
        }
        fputc('"', fp);
}

/* Write the CSV form to tmp.  0, or -1 with err. */
static int
write_csv(const struct form *f, const char *tmp, const char *path, char *err, size_t errlen)
{
        const struct orgtree *t = f->cfg->tree;
        FILE *fp = fopen(tmp, "wb");

        if (fp == NULL) {
                strlcpyf(err, errlen, "%s: cannot create it: %s", path, strerror(errno));
                return -1;
        }
        fputs("\xEF\xBB\xBFunit,学校名称,period", fp);
        for (size_t c = 0; c < f->nind; c++) {
                fputc(',', fp);
                csv_field(fp, f->header[c]);
        }
        fputs("\r\n", fp);
        for (size_t s = 0; s < f->nschools; s++) {
                const struct orgunit *u = &t->u[f->school[s]];

                csv_field(fp, u->code);
                fputc(',', fp);
                csv_field(fp, u->name);
                fputc(',', fp);
                csv_field(fp, f->period);
                for (size_t c = 0; c < f->nind; c++)
                        fputc(',', fp);
                fputs("\r\n", fp);
        }
        if (ferror(fp) | (fclose(fp) != 0)) {
                strlcpyf(err, errlen, "%s: cannot write it: %s", path, strerror(errno));
                return -1;
        }
        return 0;
}

/* The validation of one indicator column over rows 1..n. */
static lxw_error
column_validate(lxw_worksheet *ws, const struct indicator *in, lxw_col_t col, lxw_row_t n)
{
        lxw_data_validation dv = {0};
        char rule[128], msg[MESSAGE_MAX * 4 + 1], formula[128], cell[16];

        rule_text(in, rule, sizeof rule);
        dv.ignore_blank = LXW_VALIDATION_ON;
        dv.show_input = LXW_VALIDATION_ON;
        dv.show_error = LXW_VALIDATION_ON;
        dv.error_type = LXW_VALIDATION_ERROR_TYPE_STOP;
        if (in->kind == IND_COUNT || in->scale == 0) {
                dv.validate = LXW_VALIDATION_TYPE_INTEGER;
                dv.criteria = LXW_VALIDATION_CRITERIA_GREATER_THAN_OR_EQUAL_TO;
                dv.value_number = 0;
        } else {
                /* "At most N decimals" has no built-in rule: a formula on the top cell,
                 * which Excel shifts to every cell of the range. */
                lxw_rowcol_to_cell(cell, 1, col);
                snprintf(formula, sizeof formula, "=AND(ISNUMBER(%s),%s>=0,ROUND(%s,%u)=%s)", cell,
                         cell, cell, in->scale, cell);
                dv.validate = LXW_VALIDATION_TYPE_CUSTOM_FORMULA;
                dv.value_formula = formula;
        }
        snprintf(msg, sizeof msg, "%s%s%s%s：%s", in->name_zh, in->unit[0] ? "（" : "", in->unit,
                 in->unit[0] ? "）" : "", rule);
        dv.input_title = "填写要求";
        dv.error_title = "填写有误";
        if (utf8_chars(msg) <= MESSAGE_MAX) {
                dv.input_message = msg;
                dv.error_message = msg;
        }
        return worksheet_data_validation_range(ws, 1, col, n, col, &dv);
}

/* The 说明 sheet: how to fill in and submit, and what each column wants. */
static void
help_sheet(lxw_workbook *wb, const struct form *f, const struct orgunit *top)
{
        const struct catalog *cat = f->cfg->cat;
        lxw_worksheet *ws = workbook_add_worksheet(wb, HELP_SHEET);
        lxw_format *bold = workbook_add_format(wb), *wrap = workbook_add_format(wb);
        char line[1024];
        lxw_row_t r = 0;
        static const char *const steps[] = {
            "1. "
            "每行一所学校。unit（单位代码）、学校名称、period（统计期）三列和表头已锁定，请勿修改；"
            "只填写白色格子。灰色格子是该校学段不填报的指标，留空。",
            "2. "
            "数量类指标填写不小于0的整数；面积、金额类指标填写不小于0的数，小数位数不超过下表的要求"
            "。"
            "只填数字：不要填写计量单位、百分号或文字；不要使用科学计数法（如 1.2E+05），"
            "数字过长时请把单元格格式设为“数值”。",
            "3. 没有的数据留空，不要填“无”或“-”；实际为零的填 0。比例类指标（如生师比、大班额比例）"
            "由系统计算，表中没有它们，无需填写。",
            "4. 只填本校的行，其他学校的行保持空白：空格子不会提交任何数据。不要增删列、"
            "调换列的顺序或改动表头；“填报”必须是第一个工作表。",
            "5. 保存为 Excel 工作簿（.xlsx）。也可以另存为 CSV（UTF-8 或 GBK 编码均可，"
            "即 Excel、WPS 的“CSV”或“Unicode 文本”）。",
            "6. 提交：edustat-collector submit 文件名.xlsx（CSV "
            "同样）。回执列出每个被拒绝的格子及原因，"
            "如“文件名.xlsx:填报!D5: …”。改正后重新提交整个文件即可：重复提交不会重复计数，"
            "新提交的数值替换旧值。",
        };

        format_set_bold(bold);
        format_set_text_wrap(wrap);
        worksheet_set_column(ws, 0, 0, 22, NULL);
        worksheet_set_column(ws, 1, 1, 36, NULL);
        worksheet_set_column(ws, 2, 4, 14, NULL);
        worksheet_set_column(ws, 5, 5, 36, NULL);
        strlcpyf(line, sizeof line, "填报说明：%s（%s）下属学校，统计期 %s", top->name, top->code,
                 f->period);
        worksheet_write_string(ws, r++, 0, line, bold);
        r++;
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
                worksheet_merge_range(ws, r, 0, r, 5, steps[i], wrap);
                worksheet_set_row(ws, r++, 48, NULL);
        }
        r++;
        worksheet_write_string(ws, r, 0, "指标代码", bold);
        worksheet_write_string(ws, r, 1, "指标名称", bold);
        worksheet_write_string(ws, r, 2, "计量单位", bold);
        worksheet_write_string(ws, r, 3, "类型", bold);
        worksheet_write_string(ws, r, 4, "填报学段", bold);
        worksheet_write_string(ws, r++, 5, "填写要求", bold);
        for (size_t c = 0; c < f->nind; c++) {
                const struct indicator *in = &cat->ind[f->ind[c]];
                char rule[128], stages[512] = "";

                for (size_t i = 0; f->forms != NULL && i < f->forms->n; i++) {
                        if (f->forms->item[i].indicator != f->ind[c] ||
                            strlen(stages) + strlen(f->forms->item[i].stage) + 4 >= sizeof stages)
                                continue;
                        if (stages[0] != '\0')
                                strcat(stages, "、");
                        strcat(stages, f->forms->item[i].stage);
                }
                rule_text(in, rule, sizeof rule);
                worksheet_write_string(ws, r, 0, in->code, NULL);
                worksheet_write_string(ws, r, 1, in->name_zh, NULL);
                worksheet_write_string(ws, r, 2, in->unit, NULL);
                worksheet_write_string(ws, r, 3, in->kind == IND_COUNT ? "数量" : "数值", NULL);
                worksheet_write_string(ws, r, 4, stages[0] ? stages : "全部", NULL);
                worksheet_write_string(ws, r++, 5, rule, NULL);
        }
}

/* Write the workbook to tmp.  0, or -1 with err. */
static int
write_xlsx(const struct form *f, const struct orgunit *top, const char *tmp, const char *path,
           char *err, size_t errlen)
{
        const struct orgtree *t = f->cfg->tree;
        const struct catalog *cat = f->cfg->cat;
        lxw_workbook *wb = workbook_new(tmp);
        lxw_worksheet *ws;
        lxw_format *head, *key, *open, *closed;
        lxw_protection prot = {0};
        lxw_error e = LXW_NO_ERROR;

        if (wb == NULL) {
                strlcpyf(err, errlen, "%s: cannot create it", path);
                return -1;
        }
        ws = workbook_add_worksheet(wb, DATA_SHEET);
        head = workbook_add_format(wb);
        format_set_bold(head);
        format_set_text_wrap(head);
        format_set_bg_color(head, 0xD9E1F2);
        format_set_border(head, LXW_BORDER_THIN);
        key = workbook_add_format(wb);
        format_set_bg_color(key, 0xF2F2F2);
        format_set_border(key, LXW_BORDER_THIN);
        open = workbook_add_format(wb);
        format_set_unlocked(open);
        format_set_border(open, LXW_BORDER_THIN);
        closed = workbook_add_format(wb);
        format_set_bg_color(closed, 0xBFBFBF);
        format_set_border(closed, LXW_BORDER_THIN);

        worksheet_set_column(ws, 0, 0, 14, NULL);
        worksheet_set_column(ws, 1, 1, 30, NULL);
        worksheet_set_column(ws, 2, 2, 9, NULL);
        if (f->nind > 0)
                worksheet_set_column(ws, KEY_COLS, (lxw_col_t)(KEY_COLS + f->nind - 1), 16, NULL);
        worksheet_set_row(ws, 0, 48, NULL);
        worksheet_write_string(ws, 0, 0, "unit", head);
        worksheet_write_string(ws, 0, 1, "学校名称", head);
        worksheet_write_string(ws, 0, 2, "period", head);
        for (size_t c = 0; c < f->nind; c++)
                worksheet_write_string(ws, 0, (lxw_col_t)(KEY_COLS + c), f->header[c], head);
        for (size_t s = 0; s < f->nschools; s++) {
                const struct orgunit *u = &t->u[f->school[s]];
                lxw_row_t r = (lxw_row_t)(s + 1);

                /* Codes as text: a number would lose leading zeros. */
                worksheet_write_string(ws, r, 0, u->code, key);
                worksheet_write_string(ws, r, 1, u->name, key);
                worksheet_write_string(ws, r, 2, f->period, key);
                for (size_t c = 0; c < f->nind; c++)
                        worksheet_write_blank(ws, r, (lxw_col_t)(KEY_COLS + c),
                                              forms_lists(f->forms, u->stage, f->ind[c]) ? open
                                                                                         : closed);
        }
        for (size_t c = 0; c < f->nind && e == LXW_NO_ERROR && f->nschools > 0; c++)
                e = column_validate(ws, &cat->ind[f->ind[c]], (lxw_col_t)(KEY_COLS + c),
                                    (lxw_row_t)f->nschools);
        worksheet_freeze_panes(ws, 1, KEY_COLS);
        worksheet_protect(ws, NULL, &prot);
        help_sheet(wb, f, top);
        if (e == LXW_NO_ERROR)
                e = workbook_close(wb);
        else
                workbook_close(wb);
        if (e != LXW_NO_ERROR) {
                strlcpyf(err, errlen, "%s: cannot write it: %s", path, lxw_strerror(e));
                return -1;
        }
        return 0;
}

/* 1 when path ends in ext, in any case. */
static int
ends_with(const char *path, const char *ext)
{
        size_t n = strlen(path), e = strlen(ext);

        return n > e && strcasecmp(path + n - e, ext) == 0;
}

int
template_main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"unit", required_argument, NULL, 'u'},
            {"period", required_argument, NULL, 'p'},
            {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *dir = env_or("EDUSTAT_CONFIG", DEFAULT_CONFIG), *out = NULL;
        struct form f = {0};
        struct config *cfg = NULL;
        struct forms *forms = NULL;
        char err[1024], defpath[256], *tmp = NULL, *fpath;
        int c, u, rc = 2, is_csv;
        size_t tmplen;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'u':
                        f.unit = optarg;
                        break;
                case 'p':
                        f.period = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (f.unit == NULL || f.period == NULL || optind != argc) {
                usage(stderr);
                return 2;
        }
        if (!period_valid(f.period, strlen(f.period))) {
                fprintf(stderr,
                        PROG ": bad period \"%s\": use YYYY, YYYYS1 or YYYYS2, YYYYQ1 to "
                             "YYYYQ4, or YYYYMM\n",
                        f.period);
                return 2;
        }
        if (out == NULL) {
                strlcpyf(defpath, sizeof defpath, "template-%.64s-%s.xlsx", f.unit, f.period);
                out = defpath;
        }
        is_csv = ends_with(out, ".csv");
        if (!is_csv && !ends_with(out, ".xlsx")) {
                fprintf(stderr, PROG ": %s: the file name must end in .xlsx or .csv\n", out);
                return 2;
        }
        if ((cfg = config_load(dir, err, sizeof err)) == NULL) {
                fprintf(stderr, PROG ": %s\n", err);
                return 2;
        }
        tmplen = strlen(dir) + sizeof "/forms.csv";
        fpath = xmalloc(tmplen);
        strlcpyf(fpath, tmplen, "%s/forms.csv", dir);
        c = forms_load(fpath, cfg->cat, cfg->tree, &forms, err, sizeof err);
        free(fpath);
        if (c < 0) {
                fprintf(stderr, PROG ": %s\n", err);
                goto out;
        }
        if ((u = orgtree_find(cfg->tree, f.unit, strlen(f.unit))) < 0) {
                fprintf(stderr, PROG ": unit \"%s\" is not in %s/orgunits.csv\n", f.unit, dir);
                goto out;
        }
        f.cfg = cfg;
        f.forms = forms;
        f.school = orgtree_leaves(cfg->tree, u, &f.nschools);
        if (f.nschools > TEMPLATE_MAX_SCHOOLS) {
                fprintf(stderr, PROG ": unit %s has %zu schools, more than a sheet holds (%d)\n",
                        f.unit, f.nschools, TEMPLATE_MAX_SCHOOLS);
                goto out;
        }
        columns_pick(&f);
        if (f.nind == 0) {
                fprintf(stderr,
                        PROG ": no indicator to fill in for the schools of %s (check the stages "
                             "in %s/forms.csv)\n",
                        f.unit, dir);
                goto out;
        }
        tmplen = strlen(out) + 32;
        tmp = xmalloc(tmplen);
        strlcpyf(tmp, tmplen, "%s.tmp-%ld%s", out, (long)getpid(), is_csv ? ".csv" : ".xlsx");
        if ((is_csv ? write_csv(&f, tmp, out, err, sizeof err)
                    : write_xlsx(&f, &cfg->tree->u[u], tmp, out, err, sizeof err)) < 0) {
                fprintf(stderr, PROG ": %s\n", err);
                unlink(tmp);
                goto out;
        }
        if (rename(tmp, out) < 0) {
                fprintf(stderr, PROG ": %s: cannot rename %s to it: %s\n", out, tmp,
                        strerror(errno));
                unlink(tmp);
                goto out;
        }
        printf("%s: %zu school%s of %s %s, %zu indicator%s, period %s\n", out, f.nschools,
               f.nschools == 1 ? "" : "s", cfg->tree->u[u].code, cfg->tree->u[u].name, f.nind,
               f.nind == 1 ? "" : "s", f.period);
        rc = 0;
out:
        free(tmp);
        form_clear(&f);
        forms_destroy(&forms);
        config_destroy(&cfg);
        return rc;
}
