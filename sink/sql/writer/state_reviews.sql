-- Every review row, for an aggregator's hello, after the values: open rows
-- too, since they hold a return's reason and who returned it.  at goes out
-- as microseconds since 1970, exactly (extract gives a numeric).
SELECT unit, period, state, "by",
       (extract(epoch FROM at) * 1000000)::bigint AS at_us, comment
  FROM edustat.review
 ORDER BY unit, period
