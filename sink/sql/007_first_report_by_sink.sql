DROP TRIGGER value_history_first_report ON edustat.value_history;
DROP FUNCTION edustat.first_report_note();
COMMENT ON TABLE edustat.first_report IS '首次上报. When each unit first reported anything for a period (noted by the sink when it stores a unit''s first value for the period).';
