-- The uow's review actions (pg_temp.stage_review, in the order the
-- aggregator applied them; $1 is the uow's seq).  Each is appended to
-- review_history; its from_state is the to_state of the action before it
-- on the same (unit, period) in this uow, else the stored state, else
-- open.  The last action of a (unit, period) becomes its review row.
-- at is the aggregator's time in microseconds since 1970, turned into a
-- timestamptz exactly (whole seconds, then the microseconds); 0 means the
-- sender had none: the commit's time then.
WITH a AS (
  SELECT s.ord, s.kind, s.unit, s.period, s.comment, s.collector, s.batch_id,
         CASE WHEN s.at = 0 THEN now()
              ELSE to_timestamp(s.at / 1000000) + (s.at % 1000000) * interval '1 microsecond'
         END AS at,
         CASE s.kind WHEN 'finish' THEN 'submitted' WHEN 'approve' THEN 'approved'
                     ELSE 'open' END AS to_state
    FROM pg_temp.stage_review s
), h AS (
  INSERT INTO edustat.review_history (unit, period, action, from_state, to_state, "by", at,
                                      comment, collector, batch_id, seq)
  SELECT a.unit, a.period, a.kind,
         coalesce(lag(a.to_state) OVER (PARTITION BY a.unit, a.period ORDER BY a.ord),
                  r.state, 'open'),
         a.to_state, a.collector, a.at, a.comment, a.collector, a.batch_id, $1::bigint
    FROM a
    LEFT JOIN edustat.review r ON r.unit = a.unit AND r.period = a.period
   ORDER BY a.ord
)
INSERT INTO edustat.review AS r (unit, period, state, "by", at, comment)
SELECT DISTINCT ON (unit, period) unit, period, to_state, collector, at, comment
  FROM a
 ORDER BY unit, period, ord DESC
ON CONFLICT (unit, period) DO UPDATE SET state = EXCLUDED.state, "by" = EXCLUDED."by",
  at = EXCLUDED.at, comment = EXCLUDED.comment
