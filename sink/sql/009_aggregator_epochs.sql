ALTER TABLE edustat.sink_state ADD COLUMN epoch bigint NOT NULL DEFAULT 0,
  ADD COLUMN epoch_at timestamptz;
ALTER TABLE edustat.rejected DROP CONSTRAINT rejected_batch_id_line_key;
ALTER TABLE edustat.rejected ADD CONSTRAINT rejected_collector_batch_id_line_key
  UNIQUE (collector, batch_id, line);
COMMENT ON COLUMN edustat.sink_state.epoch IS '会话代数. Raised by each hello of this aggregator id; the sink applies only uows of the current epoch.';
COMMENT ON COLUMN edustat.sink_state.epoch_at IS '接管时间. When the current epoch''s hello arrived.';
