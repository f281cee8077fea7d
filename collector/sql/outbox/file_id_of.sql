-- The file submitted with this identity (the digest of its path and bytes).
SELECT id FROM file WHERE identity = ?1
