INSERT INTO edustat.sink_state (aggregator, last_seq) VALUES ($1, 0)
ON CONFLICT (aggregator) DO NOTHING
