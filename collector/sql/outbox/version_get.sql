SELECT value FROM meta WHERE key = 'last_version'
