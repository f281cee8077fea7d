UPDATE file SET accepted = accepted + ?2, changed = changed + ?3 WHERE id = ?1
