-- readyprobe history store, SQLite: the schema every store had before versioned migrations.
-- IF NOT EXISTS: a store created by those versions (tables present, no migrations table) is
-- adopted as version 1 unchanged. Never edit an applied migration: add the next one.
CREATE TABLE IF NOT EXISTS readyprobe_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL, profile TEXT NOT NULL, started_at TEXT NOT NULL,
    verdict TEXT NOT NULL, overall_score REAL, report_json TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS readyprobe_findings (
    run_id INTEGER NOT NULL REFERENCES readyprobe_runs(id), check_id TEXT NOT NULL,
    category TEXT NOT NULL, severity TEXT NOT NULL, outcome TEXT NOT NULL, score REAL NOT NULL);

CREATE INDEX IF NOT EXISTS readyprobe_runs_target ON readyprobe_runs(target, id);
