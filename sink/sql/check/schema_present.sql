SELECT to_regclass('edustat.schema_version') IS NOT NULL
   AND to_regclass('edustat.unit_value') IS NOT NULL
   AND to_regclass('edustat.agg_value') IS NOT NULL
   AND to_regclass('edustat.agg_breakdown') IS NOT NULL
