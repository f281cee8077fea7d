-- One snapshot for the counts and the comparison.  The planner cannot
-- estimate the recursive CTE and the grouped CTEs, and with its guesses it
-- picks nested loops that take minutes on a million values; every join in
-- compare.sql is an equality, so hash joins are always right.  Disabling
-- nested loops inflates the cost estimate, which would switch JIT
-- compilation on: seconds of compiling for a statement that runs in well
-- under one on a city's data.  A larger work_mem than the default 4 MB
-- keeps most sorts and hashes in RAM; more than 16 MB was not faster on a
-- million values, and each of the plan's dozen sort and hash nodes may take
-- that much.  All three settings end with the transaction.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET LOCAL enable_nestloop = off;
SET LOCAL jit = off;
SET LOCAL work_mem = '16MB'
