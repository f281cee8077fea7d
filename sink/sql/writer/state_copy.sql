-- Every stored value, for an aggregator's hello, with who stored it, so the
-- aggregator can name it to a sender whose older value lost ("stale"); the
-- collector is NULL, sent as '', for values stored before unit_value kept it.
COPY (SELECT unit, period, indicator, value::text, version,
             coalesce(left(collector, 64), '') FROM edustat.unit_value)
TO STDOUT
