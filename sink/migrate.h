/*
 * migrate: the schema `edustat` and its versions.  The sink brings the
 * database up to the newest migration it knows at every start, before it
 * loads the config or binds; `--check` refuses a schema at another version.
 * docs/SQL.md explains every table and column.
 *
 * Migrations run in one transaction under pg_advisory_xact_lock, so two
 * sinks starting together cannot both create the schema, and a failed
 * migration leaves nothing half-applied.  The applied versions are recorded
 * in edustat.schema_version.  The migrations are the files
 * sink/sql/NNN_name.sql, embedded at build time; the highest NNN is the
 * schema version.  A released migration is never edited: a database
 * migrated by it keeps what it did, so a change is a new migration.
 */
#ifndef EDUSTAT_SINK_MIGRATE_H
#define EDUSTAT_SINK_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "pg.h"

/* Key of the advisory lock that serialises migrations. */
#define MIGRATE_LOCK_KEY 4611686018427387903LL

/*
 * Set to 1 in the environment, lets the sink start on a database whose
 * stored migration checksums differ from its own (after an operator has
 * compared the schema by hand).
 */
#define MIGRATE_DRIFT_ENV "EDUSTAT_ALLOW_SCHEMA_DRIFT"

/*
 * What a login in edustat_reader (a city office) may use, set at every
 * start to every login that is a direct member of the role: a statement
 * timeout as its default (a PostgreSQL interval, "120s"; 0 turns it off)
 * and a number of connections.  Temporary tables are taken from every role
 * but the sink's own.
 */
#define MIGRATE_READER_TIMEOUT_ENV     "EDUSTAT_READER_STATEMENT_TIMEOUT"
#define MIGRATE_READER_TIMEOUT         "120s"
#define MIGRATE_READER_CONNECTIONS_ENV "EDUSTAT_READER_CONNECTIONS"
#define MIGRATE_READER_CONNECTIONS     4

/* The schema version this sink creates and understands: its newest migration. */
int migrate_version(void);

/*
 * The SQL text of migration version (1..migrate_version()), or NULL.
 * Exposed so tests and docs can apply the exact DDL the sink runs.  The
 * text is static.
 */
const char *migrate_sql(int version);

/*
 * The file name of migration version in sink/sql/ ("004_office_views.sql"),
 * or NULL when there is no such migration.  Static.
 */
const char *migrate_name(int version);

/*
 * Bring the schema at conn up to migrate_version() in one transaction.
 * First, when the database stores checksums (migration 10 on), compare the
 * checksum of every applied migration with this sink's text; a difference
 * is DB_ERROR ("database was migrated by other text: migration 4
 * (004_office_views.sql) differs; restore the matching edustat-sink or set
 * EDUSTAT_ALLOW_SCHEMA_DRIFT=1 after checking by hand"), unless
 * MIGRATE_DRIFT_ENV is "1", which logs it and goes on.  Then apply the
 * missing migrations, store the checksum of every migration that has none
 * (those applied now, and those applied before migration 10), grant
 * edustat_reader its reads and set the limits of its logins (above; a bad
 * setting is DB_ERROR naming the variable).  Returns DB_OK, DB_RETRY, or DB_ERROR with the
 * reason in err (also when the database holds a newer version than this
 * sink knows); on failure nothing is changed.
 */
enum db_result migrate_run(PGconn *conn, char *err, size_t errlen);

#endif
