-- Tasks by status, kept by triggers, so that an unfiltered (or
-- status-filtered) list knows its total without counting a large table.
-- SQLite only: on PostgreSQL a counter row every writer updates would
-- serialize task writes across replicas, so there the store counts.
CREATE TABLE task_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO task_counts (status, n)
SELECT s.column1, (SELECT count(*) FROM tasks WHERE status = s.column1)
FROM (VALUES ('pending'), ('in_progress'), ('completed'), ('missed')) AS s;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
END;

-- Only the sweep makes tasks missed, and it moves the counters itself in
-- one statement: a trigger per row would double the cost of a large sweep.
CREATE TRIGGER tasks_count_status AFTER UPDATE OF status ON tasks
WHEN OLD.status <> NEW.status AND NEW.status <> 'missed' BEGIN
    UPDATE task_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE task_counts SET n = n + 1 WHERE status = NEW.status;
END;
