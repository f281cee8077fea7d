-- edustat-report export: the unit asked for ($1), if it is in the current
-- tree: its name and its depth (0 = the root).
SELECT o.code, o.name, o.depth
  FROM edustat.orgunit o
  JOIN edustat.orgunit_closure self ON self.unit = o.code AND self.distance = 0
 WHERE o.code = $1
