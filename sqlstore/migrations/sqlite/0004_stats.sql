-- The dashboard's tallies (GET /api/stats/), kept by triggers so that it
-- never counts a large table:
--   user_task_counts: tasks by assignee and status;
--   user_week_counts: by ISO week (its Monday 00:00 UTC, in Unix
--   microseconds) and assignee, the tasks completed in that week, those of
--   them completed by their deadline, and the tasks missed in it (by their
--   deadline). A completed task without completed_at has no week.
-- Rows of deleted users stay, at zero: a user with tasks cannot be deleted.
-- The sweep moves both tallies itself for the tasks it marks missed, in
-- grouped statements (sweep.go), as it does task_counts.
CREATE TABLE user_task_counts (
    user_id INTEGER NOT NULL,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (user_id, status)
) WITHOUT ROWID;

CREATE TABLE user_week_counts (
    week      INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    completed INTEGER NOT NULL,
    on_time   INTEGER NOT NULL,
    missed    INTEGER NOT NULL,
    PRIMARY KEY (week, user_id)
) WITHOUT ROWID;

-- The week of a time t (microseconds): t minus its distance from the
-- Monday before, counted from Monday 1970-01-05 (345600000000 after the
-- epoch); the double modulo keeps times before it in the right week.
INSERT INTO user_task_counts (user_id, status, n)
SELECT assigned_to, status, count(*) FROM tasks GROUP BY assigned_to, status;

INSERT INTO user_week_counts (week, user_id, completed, on_time, missed)
SELECT week, user_id, sum(completed), sum(on_time), sum(missed) FROM (
    SELECT completed_at - ((completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 AS week,
           assigned_to AS user_id, 1 AS completed, completed_at <= deadline AS on_time, 0 AS missed
    FROM tasks WHERE status = 'completed' AND completed_at IS NOT NULL
    UNION ALL
    SELECT deadline - ((deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000,
           assigned_to, 0, 0, 1
    FROM tasks WHERE status = 'missed'
) GROUP BY week, user_id;

CREATE TRIGGER tasks_tally_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO user_task_counts (user_id, status, n) VALUES (NEW.assigned_to, NEW.status, 1)
    ON CONFLICT (user_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_tally_delete AFTER DELETE ON tasks BEGIN
    UPDATE user_task_counts SET n = n - 1 WHERE user_id = OLD.assigned_to AND status = OLD.status;
END;

-- The sweep's own move, from open to missed, is left to the sweep.
CREATE TRIGGER tasks_tally_update AFTER UPDATE OF status, assigned_to ON tasks
WHEN (OLD.status <> NEW.status OR OLD.assigned_to <> NEW.assigned_to)
 AND NOT (OLD.status IN ('pending', 'in_progress') AND NEW.status = 'missed') BEGIN
    UPDATE user_task_counts SET n = n - 1 WHERE user_id = OLD.assigned_to AND status = OLD.status;
    INSERT INTO user_task_counts (user_id, status, n) VALUES (NEW.assigned_to, NEW.status, 1)
    ON CONFLICT (user_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_week_insert AFTER INSERT ON tasks
WHEN NEW.status = 'missed' OR (NEW.status = 'completed' AND NEW.completed_at IS NOT NULL) BEGIN
    INSERT INTO user_week_counts (week, user_id, completed, on_time, missed)
    VALUES (CASE WHEN NEW.status = 'missed'
                 THEN NEW.deadline - ((NEW.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
                 ELSE NEW.completed_at - ((NEW.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END,
            NEW.assigned_to, NEW.status = 'completed', NEW.status = 'completed' AND NEW.completed_at <= NEW.deadline,
            NEW.status = 'missed')
    ON CONFLICT (week, user_id) DO UPDATE SET completed = completed + excluded.completed,
        on_time = on_time + excluded.on_time, missed = missed + excluded.missed;
END;

CREATE TRIGGER tasks_week_delete AFTER DELETE ON tasks
WHEN OLD.status = 'missed' OR (OLD.status = 'completed' AND OLD.completed_at IS NOT NULL) BEGIN
    UPDATE user_week_counts SET completed = completed - (OLD.status = 'completed'),
        on_time = on_time - (OLD.status = 'completed' AND OLD.completed_at <= OLD.deadline),
        missed = missed - (OLD.status = 'missed')
    WHERE user_id = OLD.assigned_to AND week = CASE WHEN OLD.status = 'missed'
        THEN OLD.deadline - ((OLD.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
        ELSE OLD.completed_at - ((OLD.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END;
END;

-- A change that moves a task into, out of or between weeks: take it out of
-- its old week and put it into its new one. The sweep's own move, from
-- open to missed, is left to the sweep.
CREATE TRIGGER tasks_week_update AFTER UPDATE OF status, assigned_to, deadline, completed_at ON tasks
WHEN (OLD.status IN ('completed', 'missed') OR NEW.status IN ('completed', 'missed'))
 AND (OLD.status <> NEW.status OR OLD.assigned_to <> NEW.assigned_to OR OLD.deadline <> NEW.deadline
      OR OLD.completed_at IS NOT NEW.completed_at)
 AND NOT (OLD.status IN ('pending', 'in_progress') AND NEW.status = 'missed') BEGIN
    UPDATE user_week_counts SET completed = completed - (OLD.status = 'completed'),
        on_time = on_time - (OLD.status = 'completed' AND OLD.completed_at <= OLD.deadline),
        missed = missed - (OLD.status = 'missed')
    WHERE (OLD.status = 'missed' OR (OLD.status = 'completed' AND OLD.completed_at IS NOT NULL))
      AND user_id = OLD.assigned_to AND week = CASE WHEN OLD.status = 'missed'
        THEN OLD.deadline - ((OLD.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
        ELSE OLD.completed_at - ((OLD.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END;
    INSERT INTO user_week_counts (week, user_id, completed, on_time, missed)
    SELECT CASE WHEN NEW.status = 'missed'
                THEN NEW.deadline - ((NEW.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
                ELSE NEW.completed_at - ((NEW.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END,
           NEW.assigned_to, NEW.status = 'completed', NEW.status = 'completed' AND NEW.completed_at <= NEW.deadline,
           NEW.status = 'missed'
    WHERE NEW.status = 'missed' OR (NEW.status = 'completed' AND NEW.completed_at IS NOT NULL)
    ON CONFLICT (week, user_id) DO UPDATE SET completed = completed + excluded.completed,
        on_time = on_time + excluded.on_time, missed = missed + excluded.missed;
END;

-- The misses that count towards deactivation (sweep.go, countedMisses),
-- counted per user as a range of this index: the sweep and the dashboard
-- count each user's without a lookup per miss. It replaces the index by
-- deadline and assignee, which served the same count grouped over every
-- miss in the window, with a lookup of the assignee's reactivation each.
DROP INDEX tasks_missed_deadline;
CREATE INDEX tasks_missed_assignee ON tasks (assigned_to, deadline) WHERE status = 'missed';

-- The sweep moves the tallies of the tasks it is about to mark (sweep.go,
-- moveTalliesToMissed) by assignee: with the assignee in the index of the
-- open tasks by deadline, it reads that index alone.
DROP INDEX tasks_open_deadline;
CREATE INDEX tasks_open_deadline ON tasks (deadline, status, assigned_to) WHERE status IN ('pending', 'in_progress');
