ALTER TABLE edustat.unit_value ADD COLUMN collector text, ADD COLUMN batch_id text;
UPDATE edustat.unit_value u SET collector = h.collector, batch_id = h.batch_id
  FROM edustat.value_history h
 WHERE h.unit = u.unit AND h.period = u.period AND h.indicator = u.indicator
   AND h.version = u.version;
ALTER TABLE edustat.value_history RENAME TO value_replaced;
ALTER INDEX edustat.value_history_received_at RENAME TO value_replaced_received_at;
DELETE FROM edustat.value_replaced h USING edustat.unit_value u
 WHERE h.unit = u.unit AND h.period = u.period AND h.indicator = u.indicator
   AND h.version = u.version;
CREATE VIEW edustat.value_history AS
SELECT unit, period, indicator, value, version, collector, batch_id, received_at
  FROM edustat.value_replaced
UNION ALL
SELECT unit, period, indicator, value, version, collector, batch_id, received_at
  FROM edustat.unit_value;
COMMENT ON COLUMN edustat.unit_value.collector IS '采集端. The collector that submitted this version (NULL for a value stored before migration 8 without a history row).';
COMMENT ON COLUMN edustat.unit_value.batch_id IS '批次. The batch this version came in.';
COMMENT ON TABLE edustat.value_replaced IS '被替换版本. Every accepted version that a later one replaced, append-only; with unit_value it makes value_history.';
COMMENT ON VIEW edustat.value_history IS '上报历史. Every accepted version of every key: the replaced ones (value_replaced) and the current one (unit_value). The audit trail.';
COMMENT ON COLUMN edustat.value_history.unit IS '单位代码. The submitting org unit.';
COMMENT ON COLUMN edustat.value_history.period IS '统计期. Period.';
COMMENT ON COLUMN edustat.value_history.indicator IS '指标代码. Indicator.';
COMMENT ON COLUMN edustat.value_history.value IS '数值. The value of this version.';
COMMENT ON COLUMN edustat.value_history.version IS '版本. As in unit_value.';
COMMENT ON COLUMN edustat.value_history.collector IS '采集端. The collector that submitted it.';
COMMENT ON COLUMN edustat.value_history.batch_id IS '批次. The batch it came in.';
COMMENT ON COLUMN edustat.value_history.received_at IS '入库时间. When it was committed.';
