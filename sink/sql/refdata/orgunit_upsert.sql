INSERT INTO edustat.orgunit (code, parent, level, depth, name, stage,
  locality, ownership, is_leaf)
SELECT code, parent, level, depth, name, stage, locality, ownership,
  is_leaf FROM pg_temp.stage_orgunit
ON CONFLICT (code) DO UPDATE SET parent = EXCLUDED.parent,
  level = EXCLUDED.level, depth = EXCLUDED.depth,
  name = EXCLUDED.name, stage = EXCLUDED.stage,
  locality = EXCLUDED.locality, ownership = EXCLUDED.ownership,
  is_leaf = EXCLUDED.is_leaf, current = true, loaded_at = now();
UPDATE edustat.orgunit o SET current = false, loaded_at = now()
 WHERE o.current AND NOT EXISTS
 (SELECT 1 FROM pg_temp.stage_orgunit s WHERE s.code = o.code)
