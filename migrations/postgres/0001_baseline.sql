-- readyprobe history store, PostgreSQL: the schema every store had before versioned
-- migrations. IF NOT EXISTS: a store created by those versions is adopted as version 1
-- unchanged. Never edit an applied migration: add the next one.
CREATE TABLE IF NOT EXISTS readyprobe_runs (
    id BIGSERIAL PRIMARY KEY,
    target TEXT NOT NULL, profile TEXT NOT NULL, started_at TEXT NOT NULL,
    verdict TEXT NOT NULL, overall_score DOUBLE PRECISION, report_json TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS readyprobe_findings (
    run_id BIGINT NOT NULL REFERENCES readyprobe_runs(id), check_id TEXT NOT NULL,
    category TEXT NOT NULL, severity TEXT NOT NULL, outcome TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL);

CREATE INDEX IF NOT EXISTS readyprobe_runs_target ON readyprobe_runs(target, id);
