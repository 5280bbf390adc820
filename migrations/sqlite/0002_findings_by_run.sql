-- Findings are read and deleted by run: index the foreign key (a run's findings were a full
-- table scan) and record when each run was stored.
CREATE INDEX IF NOT EXISTS readyprobe_findings_run ON readyprobe_findings(run_id, check_id);

ALTER TABLE readyprobe_runs ADD COLUMN recorded_at TEXT;
