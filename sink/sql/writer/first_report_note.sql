-- The (unit, period) pairs of new keys; the row already there, if any, is
-- from an earlier commit, so it stays (migration 7).
INSERT INTO edustat.first_report (unit, period, first_at)
SELECT DISTINCT unit, period, now() FROM pg_temp.stage_first
ON CONFLICT (unit, period) DO NOTHING
