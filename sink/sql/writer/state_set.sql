UPDATE edustat.sink_state SET last_seq = $2, updated_at = now() WHERE aggregator = $1
