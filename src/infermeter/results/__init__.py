"""Results on disk and in the database: the report schema, report files, the SQLite store, measurements, diff."""
