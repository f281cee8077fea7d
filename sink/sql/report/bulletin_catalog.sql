-- edustat-report bulletin: the catalogue, and the default layout of the
-- bulletin when the config has no bulletin.csv.  An indicator's section is
-- the stage whose form (forms.csv) lists it, a ratio's that of its
-- numerator: kindergarten 学前教育, primary 小学, junior 初中, primary and
-- junior 义务教育, senior 高中阶段, special 特殊教育; an indicator of
-- several other stages goes to 综合, and one of no form (a population a
-- district submits) to none.  Without forms.csv every indicator is in
-- 综合.  Ratios are the key indicators (chart yes).  Rows in form order.
WITH st AS (
  SELECT i.code, array_agg(DISTINCT f.stage ORDER BY f.stage) FILTER (WHERE f.stage IS NOT NULL)
           AS stages, min(f.line) AS line
    FROM edustat.indicator i
    LEFT JOIN edustat.form f
      ON f.indicator = CASE WHEN i.kind = 'ratio' THEN i.numerator ELSE i.code END
   GROUP BY i.code
), anyform AS (
  SELECT EXISTS (SELECT 1 FROM edustat.form) AS yes
)
SELECT i.code, coalesce(i.name_zh, i.code), coalesce(i.unit, ''), i.kind,
       coalesce(i.decimals, 0),
       CASE WHEN NOT anyform.yes THEN '综合'
            WHEN st.stages IS NULL THEN NULL
            WHEN st.stages = ARRAY['kindergarten'] THEN '学前教育'
            WHEN st.stages = ARRAY['primary'] THEN '小学'
            WHEN st.stages = ARRAY['junior'] THEN '初中'
            WHEN st.stages = ARRAY['junior', 'primary'] THEN '义务教育'
            WHEN st.stages = ARRAY['senior'] THEN '高中阶段'
            WHEN st.stages = ARRAY['special'] THEN '特殊教育'
            ELSE '综合' END AS section,
       i.kind = 'ratio' AS chart
  FROM edustat.indicator i
  JOIN st ON st.code = i.code
 CROSS JOIN anyform
 ORDER BY st.line NULLS LAST, i.kind = 'ratio', i.code
