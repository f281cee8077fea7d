INSERT INTO meta(key, value) VALUES ('last_version', ?1)
ON CONFLICT(key) DO UPDATE SET value = excluded.value
