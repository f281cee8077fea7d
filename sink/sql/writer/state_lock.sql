SELECT last_seq, epoch, to_char(epoch_at, 'YYYY-MM-DD HH24:MI:SS TZ')
  FROM edustat.sink_state WHERE aggregator = $1 FOR UPDATE
