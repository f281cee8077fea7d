-- The uow's explanations (pg_temp.stage_note, in uow order): each is
-- appended to rule_note_history, and the last of a (unit, period, rule)
-- becomes its current note.
WITH hist AS (
  INSERT INTO edustat.rule_note_history (unit, period, rule, note, collector, noted_at)
  SELECT unit, period, rule, note, collector, now()
    FROM pg_temp.stage_note
   ORDER BY ord
)
INSERT INTO edustat.rule_note AS n (unit, period, rule, note, collector, noted_at)
SELECT DISTINCT ON (unit, period, rule) unit, period, rule, note, collector, now()
  FROM pg_temp.stage_note
 ORDER BY unit, period, rule, ord DESC
ON CONFLICT (unit, period, rule) DO UPDATE SET note = EXCLUDED.note,
  collector = EXCLUDED.collector, noted_at = EXCLUDED.noted_at
