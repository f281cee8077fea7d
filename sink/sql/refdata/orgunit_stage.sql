CREATE TEMP TABLE stage_orgunit (code text, parent text, level text,
  depth int, name text, stage text, locality text, ownership text,
  is_leaf boolean) ON COMMIT DROP
