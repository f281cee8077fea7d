COPY edustat.orgunit_closure (ancestor, unit, distance) FROM STDIN
