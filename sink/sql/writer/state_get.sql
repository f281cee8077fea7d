SELECT last_seq FROM edustat.sink_state WHERE aggregator = $1
