/*
 * Unit tests for sink/refdata: targets.csv, periods.csv, balance.csv and
 * forms.csv (read by lib/forms.c) loaded against a small config written
 * here.  Absent files load as no rows; good files load with every field as
 * written (BOM, CRLF, shuffled and extra columns, quoting); and every
 * problem stops the load with its exact "FILE:LINE: problem".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "refdata.h"
#include "testutil.h"
#include "util.h"

static struct config *cfg;

/* City C with district D (school S1, primary) and town T below D (school
 * S2, junior); a kindergarten K directly under C. */
static const char orgunits[] = "code,parent,level,name,stage,locality,ownership\n"
                               "C,,city,City,,,\n"
                               "D,C,district,District,,,\n"
                               "S1,D,school,School 1,primary,urban,public\n"
                               "T,D,town,Town,,,\n"
                               "S2,T,school,School 2,junior,rural,public\n"
                               "K,C,school,Kindergarten,kindergarten,urban,private\n";

static const char indicators[] = "code,name_zh,name_en,unit,kind,numerator,denominator,"
                                 "multiplier,decimals\n"
                                 "pupils,,,,count,,,,\n"
                                 "pop,,,,count,,,,\n"
                                 "rate,,,,ratio,pupils,pop,100,2\n";

static void
remove_file(const char *name)
{
        char path[256];

        snprintf(path, sizeof path, "%s/%s", testutil_dir(), name);
        unlink(path);
}

static int
setup(void **state)
{
        if (testutil_dir_setup(state) < 0 ||
            (cfg = testutil_config_write(testutil_dir(), orgunits, indicators)) == NULL)
                return -1;
        return 0;
}

static int
teardown(void **state)
{
        config_destroy(&cfg);
        return testutil_dir_teardown(state);
}

/* Load with only `name` present holding `content`; expect failure with
 * "DIR/name:want". */
static void
expect_error(const char *name, const char *content, const char *want)
{
        char err[512], full[512];
        struct refdata *o;

        testutil_put(name, content);
        o = refdata_load(cfg, err, sizeof err);
        remove_file(name);
        snprintf(full, sizeof full, "%s/%s:%s", testutil_dir(), name, want);
        if (o != NULL)
                print_error("loaded, but wanted the error %s\n", full);
        assert_null(o);
        assert_string_equal(err, full);
}

static void
test_absent(void **state)
{
        struct refdata *o;
        char err[512] = "";

        (void)state;
        o = refdata_load(cfg, err, sizeof err);
        assert_non_null(o);
        assert_int_equal(o->ntargets, 0);
        assert_int_equal(o->nperiods, 0);
        assert_int_equal(o->nrules, 0);
        assert_null(o->forms);
        refdata_destroy(&o);
        assert_null(o);
        refdata_destroy(&o);
        refdata_destroy(NULL);
}

/* A header alone is a file with no rows, not an error. */
static void
test_header_only(void **state)
{
        struct refdata *o;
        char err[512];

        (void)state;
        testutil_put("targets.csv", "indicator,level,unit,stage,op,value,source\n");
        testutil_put("periods.csv", "period,opens,due\r\n");
        testutil_put("balance.csv", "standard,stage,indicator,school_min,cv_max");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("targets.csv");
        remove_file("periods.csv");
        remove_file("balance.csv");
        assert_non_null(o);
        assert_int_equal(o->ntargets + o->nperiods + o->nrules, 0);
        refdata_destroy(&o);
}

static void
test_good(void **state)
{
        struct refdata *o;
        char err[512];

        (void)state;
        testutil_put("targets.csv", "\xef\xbb\xbf"
                                    "Source,VALUE,op,stage,unit,level,indicator,note\r\n"
                                    "\"Plan, 2021\",95,>=,,,district,rate,x\r\n"
                                    "\r\n"
                                    ",0,=, primary ,,district,pupils,\r\n"
                                    "national,100.50,<,,S2,school,rate,\r\n"
                                    "plan,95.0,>,,,district,rate,\r\n"
                                    "plan,7,<=,kindergarten,K,school,pupils,\r\n");
        testutil_put("periods.csv", "due,period,opens\n"
                                    "2024-10-31,2024,2024-09-01\n"
                                    "2025-04-30,2025S1,2025-04-30\n"
                                    "2024-02-29,202402,2024-02-01\n");
        testutil_put("balance.csv", "standard,stage,indicator,school_min,cv_max\n"
                                    "优质均衡,primary,rate,4.2,0.50\n"
                                    "优质均衡,junior,rate,,0.45\n"
                                    "基本均衡,primary,rate,1,\n");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("targets.csv");
        remove_file("periods.csv");
        remove_file("balance.csv");
        if (o == NULL)
                print_error("%s\n", err);
        assert_non_null(o);

        assert_int_equal(o->ntargets, 5);
        assert_int_equal(o->targets[0].indicator, 2);
        assert_string_equal(o->targets[0].level, "district");
        assert_int_equal(o->targets[0].unit, -1);
        assert_string_equal(o->targets[0].stage, "");
        assert_string_equal(o->targets[0].op, ">=");
        assert_string_equal(o->targets[0].value, "95");
        assert_string_equal(o->targets[0].source, "Plan, 2021");
        assert_int_equal(o->targets[0].line, 2);
        assert_int_equal(o->targets[1].indicator, 0);
        assert_string_equal(o->targets[1].stage, "primary");
        assert_string_equal(o->targets[1].op, "=");
        assert_string_equal(o->targets[1].value, "0");
        assert_string_equal(o->targets[1].source, "");
        assert_int_equal(o->targets[1].line, 4);
        assert_int_equal(o->targets[2].unit, 4); /* S2 */
        assert_string_equal(o->targets[2].level, "school");
        assert_string_equal(o->targets[2].op, "<");
        assert_string_equal(o->targets[2].value, "100.50");
        /* 95.0 with > is not the 95 with >= of line 2. */
        assert_string_equal(o->targets[3].op, ">");
        assert_string_equal(o->targets[3].value, "95.0");
        assert_string_equal(o->targets[4].op, "<=");
        assert_int_equal(o->targets[4].unit, 5); /* K */
        assert_int_equal(o->targets[4].line, 7);

        assert_int_equal(o->nperiods, 3);
        assert_string_equal(o->periods[0].period, "2024");
        assert_string_equal(o->periods[0].opens, "2024-09-01");
        assert_string_equal(o->periods[0].due, "2024-10-31");
        assert_string_equal(o->periods[1].period, "2025S1");
        assert_string_equal(o->periods[1].opens, "2025-04-30");
        assert_string_equal(o->periods[2].due, "2024-02-29");
        assert_int_equal(o->periods[2].line, 4);

        assert_int_equal(o->nrules, 3);
        assert_string_equal(o->rules[0].standard, "优质均衡");
        assert_string_equal(o->rules[0].stage, "primary");
        assert_int_equal(o->rules[0].indicator, 2);
        assert_string_equal(o->rules[0].school_min, "4.2");
        assert_string_equal(o->rules[0].cv_max, "0.50");
        assert_null(o->rules[1].school_min);
        assert_string_equal(o->rules[1].cv_max, "0.45");
        assert_string_equal(o->rules[2].standard, "基本均衡");
        assert_string_equal(o->rules[2].school_min, "1");
        assert_null(o->rules[2].cv_max);
        assert_int_equal(o->rules[2].line, 4);
        refdata_destroy(&o);
}

#define THDR "indicator,level,unit,stage,op,value,source\n"

/* forms.csv: rows as written, in file order, and the questions the template asks. */
static void
test_forms_good(void **state)
{
        struct refdata *o;
        char err[512] = "";

        (void)state;
        testutil_put("forms.csv", "\xEF\xBB\xBFIndicator,stage,note\r\n"
                                  "pupils,primary,x\r\n"
                                  " pop , junior ,\r\n"
                                  "pupils,junior,\r\n");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("forms.csv");
        if (o == NULL)
                print_error("%s\n", err);
        assert_non_null(o);
        assert_non_null(o->forms);
        assert_int_equal(o->forms->n, 3);
        assert_string_equal(o->forms->item[1].stage, "junior");
        assert_string_equal(cfg->cat->ind[o->forms->item[1].indicator].code, "pop");
        assert_int_equal(o->forms->item[2].line, 4);
        assert_true(forms_lists(o->forms, "primary", catalog_find(cfg->cat, "pupils", 6)));
        assert_false(forms_lists(o->forms, "primary", catalog_find(cfg->cat, "pop", 3)));
        /* A stage without a form (kindergarten) lists everything, as does no file. */
        assert_true(forms_lists(o->forms, "kindergarten", catalog_find(cfg->cat, "pop", 3)));
        assert_true(forms_lists(NULL, "primary", catalog_find(cfg->cat, "pop", 3)));
        assert_false(forms_has_stage(o->forms, "kindergarten"));
        refdata_destroy(&o);
}

#define FHDR "stage,indicator\n"

static void
test_forms_errors(void **state)
{
        (void)state;
        expect_error("forms.csv", "", "1: empty file: expected the header stage,indicator");
        expect_error("forms.csv", "stage,code\n",
                     "1: missing column \"indicator\" (the header is stage,indicator)");
        expect_error("forms.csv", FHDR "primary\n", "2: row has 1 fields, the header has 2");
        expect_error("forms.csv", FHDR ",pupils\n", "2: empty stage");
        expect_error("forms.csv", FHDR "primary,\n", "2: empty indicator");
        expect_error("forms.csv", FHDR "primary,pupils\nsenior,pupils\n",
                     "3: unknown stage \"senior\" (no school in orgunits.csv has it)");
        expect_error("forms.csv", FHDR "primary,pupil\n",
                     "2: unknown indicator \"pupil\" (not in indicators.csv)");
        expect_error("forms.csv", FHDR "primary,rate\n",
                     "2: indicator \"rate\" is a ratio, computed from pupils and pop: list "
                     "those instead (a ratio is never submitted)");
        expect_error("forms.csv", FHDR "primary,pupils\njunior,pupils\nprimary, pupils\n",
                     "4: stage \"primary\" lists indicator \"pupils\" again (first at line 2)");
}

static void
test_target_errors(void **state)
{
        char longsrc[REFDATA_TEXT_MAX + 128], want[128];

        (void)state;
        expect_error("targets.csv", "",
                     "1: empty file: expected the header "
                     "indicator,level,unit,stage,op,value,source[,from,to,baseline_period,"
                     "baseline]");
        expect_error("targets.csv", "indicator,level,unit,stage,value\n",
                     "1: missing column \"op\"");
        expect_error("targets.csv", "indicator,level,op,value,Level\n",
                     "1: duplicate column \"level\"");
        expect_error("targets.csv", THDR "rate,district,,,>=,95\n",
                     "2: row has 6 fields, the header has 7");
        expect_error("targets.csv", THDR "rate,district,,,>=,95,a\nrat,district,,,>=,95,\n",
                     "3: unknown indicator \"rat\"");
        expect_error("targets.csv", THDR ",district,,,>=,95,\n", "2: empty indicator");
        expect_error("targets.csv", THDR "rate,,,,>=,95,\n", "2: empty level");
        expect_error("targets.csv", THDR "rate,county,,,>=,95,\n",
                     "2: unknown level \"county\" (no unit in orgunits.csv has it)");
        expect_error("targets.csv", THDR "rate,district,X,,>=,95,\n", "2: unknown unit \"X\"");
        expect_error("targets.csv", THDR "rate,school,D,,>=,95,\n",
                     "2: unit \"D\" is a district, not a school");
        expect_error("targets.csv", THDR "rate,district,,senior,>=,95,\n",
                     "2: unknown stage \"senior\" (no unit in orgunits.csv has it)");
        expect_error("targets.csv", THDR "rate,school,S1,junior,>=,95,\n",
                     "2: unit \"S1\" has stage \"primary\", not \"junior\"");
        expect_error("targets.csv", THDR "rate,district,,,=>,95,\n",
                     "2: bad op \"=>\" (one of >=, <=, =, >, <)");
        expect_error("targets.csv", THDR "rate,district,,,==,95,\n",
                     "2: bad op \"==\" (one of >=, <=, =, >, <)");
        expect_error("targets.csv", THDR "rate,district,,,>=,,\n", "2: empty value");
        expect_error("targets.csv", THDR "rate,district,,,>=,95%,\n",
                     "2: bad number \"95%\" in value (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("targets.csv", THDR "rate,district,,,>=,-1,\n",
                     "2: bad number \"-1\" in value (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("targets.csv", THDR "rate,district,,,>=,1e2,\n",
                     "2: bad number \"1e2\" in value (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("targets.csv", THDR "rate,district,,,>=,95.,\n",
                     "2: bad number \"95.\" in value (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("targets.csv", THDR "rate,district,,,>=,.5,\n",
                     "2: bad number \".5\" in value (a non-negative decimal such as 95 or "
                     "0.45)");
        /* 95, 095 and 95.00 are the same target. */
        expect_error("targets.csv",
                     THDR "rate,district,,,>=,95,a\nrate,district,,,>,95,b\n"
                          "rate,district,,,>=,095.00,c\n",
                     "4: duplicate target: same indicator, level, unit, stage, op, value, from "
                     "and to as line 2");
        snprintf(longsrc, sizeof longsrc, "%s%s%0*d\n", THDR, "rate,district,,,>=,95,",
                 REFDATA_TEXT_MAX + 1, 7);
        snprintf(want, sizeof want, "2: source is longer than %d bytes", REFDATA_TEXT_MAX);
        expect_error("targets.csv", longsrc, want);
        expect_error("targets.csv", THDR "rate,district,,,>=,95,\"open\n",
                     "2: unterminated quoted field");
}

#define DHDR "indicator,level,unit,stage,op,value,source,from,to,baseline_period,baseline\n"

/* from, to, baseline_period and baseline: loaded as written, or refused. */
static void
test_target_dates(void **state)
{
        struct refdata *o;
        char err[512];

        (void)state;
        testutil_put("targets.csv", "baseline,to,value,op,level,indicator,from,baseline_period\n"
                                    "30.4,2020,50,>=,district,rate,2020,2018\n"
                                    ",,50,>=,district,rate,2021,\n"
                                    ",2025S1,50,>=,district,rate,,2024Q3\n"
                                    ",202503,50,>=,district,rate,202501,\n");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("targets.csv");
        if (o == NULL)
                print_error("%s\n", err);
        assert_non_null(o);
        assert_int_equal(o->ntargets, 4);
        assert_string_equal(o->targets[0].from, "2020");
        assert_string_equal(o->targets[0].to, "2020");
        assert_string_equal(o->targets[0].baseline_period, "2018");
        assert_string_equal(o->targets[0].baseline, "30.4");
        /* Same target in force from another period: not a duplicate. */
        assert_string_equal(o->targets[1].from, "2021");
        assert_string_equal(o->targets[1].to, "");
        assert_string_equal(o->targets[1].baseline_period, "");
        assert_string_equal(o->targets[2].from, "");
        assert_string_equal(o->targets[2].baseline_period, "2024Q3");
        assert_string_equal(o->targets[2].baseline, "");
        assert_string_equal(o->targets[3].to, "202503");
        refdata_destroy(&o);

        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,2024S3,,,\n",
                     "2: bad period \"2024S3\" in from (YYYY, YYYYS1, YYYYS2, YYYYQ1..YYYYQ4 or "
                     "YYYYMM)");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,20,,\n",
                     "2: bad period \"20\" in to (YYYY, YYYYS1, YYYYS2, YYYYQ1..YYYYQ4 or "
                     "YYYYMM)");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,2020,2016年,\n",
                     "2: bad period \"2016年\" in baseline_period (YYYY, YYYYS1, YYYYS2, "
                     "YYYYQ1..YYYYQ4 or YYYYMM)");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,2021,2020,,\n",
                     "2: from 2021 is after to 2020");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,2025Q3,2025S1,,\n",
                     "2: from 2025Q3 is after to 2025S1");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,,2016,\n",
                     "2: baseline_period 2016 needs a to (the period the target is due by)");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,2020,2020,\n",
                     "2: baseline_period 2020 is not before to 2020");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,2020S1,2020,\n",
                     "2: baseline_period 2020 is not before to 2020S1");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,2020,,30.4\n",
                     "2: baseline given without baseline_period (the period it is the value "
                     "of)");
        expect_error("targets.csv", DHDR "rate,district,,,>=,95,,,2020,2016,30.4%\n",
                     "2: bad number \"30.4%\" in baseline (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("targets.csv",
                     DHDR "rate,district,,,>=,95,,2021,,,\nrate,district,,,>=,95.0,,2021,,,\n",
                     "3: duplicate target: same indicator, level, unit, stage, op, value, from "
                     "and to as line 2");
}

#define PHDR "period,opens,due\n"

static void
test_period_errors(void **state)
{
        (void)state;
        expect_error("periods.csv", "period,due\n", "1: missing column \"opens\"");
        expect_error("periods.csv", PHDR ",2024-09-01,2024-10-31\n", "2: empty period");
        expect_error("periods.csv", PHDR "2024S3,2024-09-01,2024-10-31\n",
                     "2: bad period \"2024S3\" (YYYY, YYYYS1, YYYYS2, YYYYQ1..YYYYQ4 or YYYYMM)");
        expect_error("periods.csv", PHDR "2024,2024/09/01,2024-10-31\n",
                     "2: bad date \"2024/09/01\" in opens (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2023,2023-02-01,2023-02-29\n",
                     "2: bad date \"2023-02-29\" in due (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2100,2100-02-01,2100-02-29\n",
                     "2: bad date \"2100-02-29\" in due (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2024,2024-13-01,2024-10-31\n",
                     "2: bad date \"2024-13-01\" in opens (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2024,2024-09-01,2024-9-30\n",
                     "2: bad date \"2024-9-30\" in due (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2024,2024-09-01,\n",
                     "2: bad date \"\" in due (YYYY-MM-DD)");
        expect_error("periods.csv", PHDR "2024,2024-11-01,2024-10-31\n",
                     "2: opens 2024-11-01 is after due 2024-10-31");
        expect_error("periods.csv",
                     PHDR "2024,2024-09-01,2024-10-31\n2025S1,2025-03-01,2025-04-30\n"
                          "2024,2024-09-01,2024-11-30\n",
                     "4: duplicate period \"2024\" (first on line 2)");
}

#define BHDR "standard,stage,indicator,school_min,cv_max\n"

static void
test_balance_errors(void **state)
{
        (void)state;
        expect_error("balance.csv", "standard,stage,indicator,school_min\n",
                     "1: missing column \"cv_max\"");
        expect_error("balance.csv", BHDR ",primary,rate,1,0.5\n", "2: empty standard");
        expect_error("balance.csv", BHDR "s,,rate,1,0.5\n", "2: empty stage");
        expect_error("balance.csv", BHDR "s,senior,rate,1,0.5\n",
                     "2: unknown stage \"senior\" (no unit in orgunits.csv has it)");
        expect_error("balance.csv", BHDR "s,primary,rat,1,0.5\n", "2: unknown indicator \"rat\"");
        expect_error("balance.csv", BHDR "s,primary,rate,,\n",
                     "2: neither school_min nor cv_max given");
        expect_error("balance.csv", BHDR "s,primary,rate,1,0,5\n",
                     "2: row has 6 fields, the header has 5");
        expect_error("balance.csv", BHDR "s,primary,rate,four,0.5\n",
                     "2: bad number \"four\" in school_min (a non-negative decimal such as 95 "
                     "or 0.45)");
        expect_error("balance.csv", BHDR "s,primary,rate,1,50%\n",
                     "2: bad number \"50%\" in cv_max (a non-negative decimal such as 95 or "
                     "0.45)");
        expect_error("balance.csv",
                     BHDR "s,primary,rate,1,0.5\ns,junior,rate,1,0.5\n"
                          "s,primary,rate,2,0.4\n",
                     "4: duplicate rule for s, primary, rate (first on line 2)");
}

/*
 * rules.csv: absent is no rules; a good file is kept as parsed; a bad one
 * stops the load with its line, as the aggregator's load does.
 */
static void
test_rules(void **state)
{
        struct refdata *o;
        char err[512], want[512];

        (void)state;
        o = refdata_load(cfg, err, sizeof err);
        assert_non_null(o);
        assert_non_null(o->rs);
        assert_int_equal(o->rs->n, 0);
        refdata_destroy(&o);

        testutil_put("rules.csv", "\xef\xbb\xbf"
                                  "code,name_zh,left,op,right,severity,scope,stage,missing\r\n"
                                  "W1,在校生同比,pupils,<=,prev_year(pupils) * 1.3,warning,,"
                                  "primary,\r\n"
                                  "E1,比率不超过100,rate,<=,100,error,district,,zero\r\n");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("rules.csv");
        if (o == NULL)
                print_error("%s\n", err);
        assert_non_null(o);
        assert_int_equal(o->rs->n, 2);
        assert_string_equal(o->rs->rule[0].code, "W1");
        assert_string_equal(o->rs->rule[0].right.text, "prev_year(pupils) * 1.3");
        assert_string_equal(o->rs->rule[0].stage, "primary");
        assert_int_equal(o->rs->rule[0].severity, RULE_WARNING);
        assert_string_equal(o->rs->rule[1].scope, "district");
        assert_int_equal(o->rs->rule[1].missing, RULE_MISSING_ZERO);
        refdata_destroy(&o);

        testutil_put("rules.csv", "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                                  "E1,名,pupils,<=,pupil,error,,,\n");
        o = refdata_load(cfg, err, sizeof err);
        remove_file("rules.csv");
        assert_null(o);
        snprintf(want, sizeof want, "%s/rules.csv:2: right: unknown indicator \"pupil\"",
                 testutil_dir());
        if (strncmp(err, want, strlen(want)) != 0)
                fail_msg("got \"%s\", want it to start with \"%s\"", err, want);
}

/* The first bad file stops the load even when the others are good. */
static void
test_first_error_wins(void **state)
{
        char err[512], want[512];

        (void)state;
        testutil_put("targets.csv", THDR "rate,district,,,>=,95,\n");
        testutil_put("periods.csv", PHDR "2024,2024-09-01,2024-10-31\n");
        testutil_put("balance.csv", BHDR "s,primary,rate,1,x\n");
        assert_null(refdata_load(cfg, err, sizeof err));
        snprintf(want, sizeof want,
                 "%s/balance.csv:2: bad number \"x\" in cv_max (a non-negative decimal such "
                 "as 95 or 0.45)",
                 testutil_dir());
        assert_string_equal(err, want);
        remove_file("targets.csv");
        remove_file("periods.csv");
        remove_file("balance.csv");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_absent),         cmocka_unit_test(test_header_only),
            cmocka_unit_test(test_good),           cmocka_unit_test(test_target_errors),
            cmocka_unit_test(test_target_dates),   cmocka_unit_test(test_forms_good),
            cmocka_unit_test(test_forms_errors),   cmocka_unit_test(test_period_errors),
            cmocka_unit_test(test_balance_errors), cmocka_unit_test(test_first_error_wins),
            cmocka_unit_test(test_rules),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
