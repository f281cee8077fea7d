-- edustat-report export: every school (leaf) at or below unit $1, with its
-- district (its ancestor at depth 1, other than itself), grouped by
-- district and ordered by code.  Stage, locality and ownership in Chinese
-- where the code is one of the standard ones, else as configured.
SELECT s.code, s.name, coalesce(d.code, ''), coalesce(d.name, ''),
       CASE s.stage WHEN 'kindergarten' THEN '幼儿园' WHEN 'primary' THEN '小学'
                    WHEN 'junior' THEN '初中' WHEN 'senior' THEN '高中'
                    ELSE coalesce(s.stage, '') END,
       CASE s.locality WHEN 'urban' THEN '城区' WHEN 'town' THEN '镇区'
                       WHEN 'rural' THEN '乡村' ELSE coalesce(s.locality, '') END,
       CASE s.ownership WHEN 'public' THEN '公办' WHEN 'private' THEN '民办'
                        ELSE coalesce(s.ownership, '') END
  FROM edustat.orgunit_closure k
  JOIN edustat.orgunit s ON s.code = k.unit AND s.is_leaf
  LEFT JOIN edustat.orgunit_closure dk ON dk.unit = s.code AND dk.distance > 0
   AND dk.ancestor IN (SELECT code FROM edustat.orgunit WHERE depth = 1)
  LEFT JOIN edustat.orgunit d ON d.code = dk.ancestor
 WHERE k.ancestor = $1
 ORDER BY d.code NULLS FIRST, s.code
