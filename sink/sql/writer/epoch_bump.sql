-- A hello: a new epoch for the id, committed before the state streams.
INSERT INTO edustat.sink_state AS s (aggregator, last_seq, epoch, epoch_at)
VALUES ($1, 0, 1, now())
ON CONFLICT (aggregator) DO UPDATE SET epoch = s.epoch + 1, epoch_at = now()
RETURNING epoch
