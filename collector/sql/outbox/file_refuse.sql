UPDATE file SET refused_batches = refused_batches + 1,
refused_records = refused_records + ?2, refusal = ?3 WHERE id = ?1
