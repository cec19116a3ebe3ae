-- The dashboard's tallies (GET /api/stats/), kept by triggers so that it
-- never counts a large table:
--   user_task_counts: tasks by assignee and status;
--   user_week_counts: by ISO week (its Monday 00:00 UTC, in Unix
--   microseconds) and assignee, the tasks completed in that week, those of
--   them completed by their deadline, and the tasks missed in it (by their
--   deadline). A completed task without completed_at has no week.
-- Rows of deleted users stay, at zero: a user with tasks cannot be deleted.
CREATE TABLE user_task_counts (
    user_id BIGINT NOT NULL,
    status  TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (user_id, status)
);

CREATE TABLE user_week_counts (
    week      BIGINT NOT NULL,
    user_id   BIGINT NOT NULL,
    completed BIGINT NOT NULL,
    on_time   BIGINT NOT NULL,
    missed    BIGINT NOT NULL,
    PRIMARY KEY (week, user_id)
);

-- tt_week(t) is the start of the ISO week of t (both in microseconds): t
-- minus its distance from the Monday before, counted from Monday
-- 1970-01-05 (345600000000 after the epoch); the double modulo keeps
-- times before it in the right week. The SQLite schema spells it out.
CREATE FUNCTION tt_week(t BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t - ((t - 345600000000) % 604800000000 + 604800000000) % 604800000000
$$;

INSERT INTO user_task_counts (user_id, status, n)
SELECT assigned_to, status, count(*) FROM tasks GROUP BY assigned_to, status;

INSERT INTO user_week_counts (week, user_id, completed, on_time, missed)
SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to,
       count(*) FILTER (WHERE status = 'completed'),
       count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline),
       count(*) FILTER (WHERE status = 'missed')
FROM tasks WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
GROUP BY 1, 2;

-- Statement triggers: each statement changes the tallies once, grouped,
-- whatever the number of rows it touched (a sweep marks thousands at
-- once): a row it inserts counts +1, a row it deletes -1, and an update is
-- both, so that rows it left as they were cancel out. The changes are
-- applied in key order, user_task_counts before user_week_counts, so that
-- transactions on every replica take the counter rows' locks in one order
-- and never deadlock on them. A trigger sees only its own transition
-- tables, hence one branch per operation.
CREATE FUNCTION tt_tally_tasks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_task_counts AS c (user_id, status, n)
        SELECT assigned_to, status, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (user_id, status) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to,
               count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline),
               count(*) FILTER (WHERE status = 'missed')
        FROM new_rows WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (week, user_id) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO user_task_counts AS c (user_id, status, n)
        SELECT assigned_to, status, -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (user_id, status) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to,
               -count(*) FILTER (WHERE status = 'completed'),
               -count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline),
               -count(*) FILTER (WHERE status = 'missed')
        FROM old_rows WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (week, user_id) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    ELSE
        INSERT INTO user_task_counts AS c (user_id, status, n)
        SELECT assigned_to, status, sum(d) FROM (
            SELECT assigned_to, status, 1 AS d FROM new_rows
            UNION ALL
            SELECT assigned_to, status, -1 FROM old_rows) AS r
        GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
        ON CONFLICT (user_id, status) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to,
               coalesce(sum(d) FILTER (WHERE status = 'completed'), 0),
               coalesce(sum(d) FILTER (WHERE status = 'completed' AND completed_at <= deadline), 0),
               coalesce(sum(d) FILTER (WHERE status = 'missed'), 0)
        FROM (
            SELECT assigned_to, status, deadline, completed_at, 1 AS d FROM new_rows
            UNION ALL
            SELECT assigned_to, status, deadline, completed_at, -1 FROM old_rows) AS r
        WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
        GROUP BY 1, 2
        HAVING coalesce(sum(d) FILTER (WHERE status = 'completed'), 0) <> 0
            OR coalesce(sum(d) FILTER (WHERE status = 'completed' AND completed_at <= deadline), 0) <> 0
            OR coalesce(sum(d) FILTER (WHERE status = 'missed'), 0) <> 0
        ORDER BY 1, 2
        ON CONFLICT (week, user_id) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_tally_insert AFTER INSERT ON tasks
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_tally_tasks();
CREATE TRIGGER tasks_tally_update AFTER UPDATE ON tasks
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_tally_tasks();
CREATE TRIGGER tasks_tally_delete AFTER DELETE ON tasks
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_tally_tasks();

-- The misses that count towards deactivation (sweep.go, countedMisses),
-- counted per user as a range of this index: the sweep and the dashboard
-- count each user's without a lookup per miss. It replaces the index by
-- deadline and assignee, which served the same count grouped over every
-- miss in the window, with a lookup of the assignee's reactivation each.
DROP INDEX tasks_missed_deadline;
CREATE INDEX tasks_missed_assignee ON tasks (assigned_to, deadline) WHERE status = 'missed';
