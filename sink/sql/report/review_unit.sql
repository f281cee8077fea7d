-- edustat-report review: the name of unit $2, a current unit; no row when
-- there is no such unit ($1, the period, is checked by the caller).
SELECT name FROM edustat.orgunit WHERE code = $2 AND current AND $1::text IS NOT NULL
