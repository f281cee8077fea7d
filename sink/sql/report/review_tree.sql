-- edustat-report review: unit $2 and every current unit below it, in tree
-- order (each unit before the units below it, siblings by code), with its
-- review state for period $1 (edustat.review), who made it so and when, and,
-- from edustat.review_status, whether its finish would be taken now and
-- what blocks it of its own (missing indicators, rules) one per line; the
-- units below that block it are counted (n_open, n_submitted), since the
-- tree shows them.  has_status is false for a unit with neither data nor a
-- form owed for the period.
SELECT o.code, o.name, c.distance,
       coalesce(r.state, 'open') AS state, r."by",
       to_char(r.at, 'YYYY-MM-DD HH24:MI:SS OF') AS at, r.comment,
       s.unit IS NOT NULL AS has_status, coalesce(s.ready, false) AS ready,
       (SELECT string_agg(x.b, E'\n' ORDER BY x.n)
          FROM unnest(string_to_array(s.blockers, '; ')) WITH ORDINALITY AS x (b, n)
         WHERE x.b !~ '^\S+ (open|submitted)$') AS own,
       coalesce(s.n_open, 0) AS n_open, coalesce(s.n_submitted, 0) AS n_submitted
  FROM edustat.orgunit_closure c
  JOIN edustat.orgunit o ON o.code = c.unit
  LEFT JOIN edustat.review r ON r.unit = c.unit AND r.period = $1
  LEFT JOIN edustat.review_status s ON s.unit = c.unit AND s.period = $1
 WHERE c.ancestor = $2
 ORDER BY (SELECT array_agg(a.ancestor ORDER BY a.distance DESC)
             FROM edustat.orgunit_closure a
             JOIN edustat.orgunit_closure b ON b.unit = a.ancestor AND b.ancestor = $2
            WHERE a.unit = c.unit)
