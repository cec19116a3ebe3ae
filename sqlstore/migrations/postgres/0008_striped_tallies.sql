-- Striped tallies. Every change of a task moves its assignee's rows of
-- user_task_counts and user_week_counts, and holds their row locks until
-- it commits: with many connections changing one person's tasks at once
-- (a manager's bulk edits, a client syncing, a load test) they queued on
-- those few rows, most of them waiting on each other's locks. Now each
-- tally is spread over up to 8 rows, its stripes, and a transaction adds
-- to the stripe of its own connection (tt_stripe: the backend's pid modulo
-- 8), so that connections rarely share one. A tally is the sum of its
-- stripes; every reader already sums (GROUP BY), and the rows of stripe 0
-- are the tallies as they were. The changes keep their key order, now
-- (user_id, status, stripe) and (week, user_id, stripe): a transaction
-- uses one stripe throughout, so transactions still take the counter
-- rows' locks in one order and cannot deadlock on them.
CREATE FUNCTION tt_stripe() RETURNS SMALLINT
LANGUAGE sql VOLATILE PARALLEL RESTRICTED AS $$
    SELECT (pg_backend_pid() % 8)::SMALLINT
$$;

ALTER TABLE user_task_counts ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE user_task_counts DROP CONSTRAINT user_task_counts_pkey;
ALTER TABLE user_task_counts ADD PRIMARY KEY (user_id, status, stripe);
ALTER TABLE user_week_counts ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE user_week_counts DROP CONSTRAINT user_week_counts_pkey;
ALTER TABLE user_week_counts ADD PRIMARY KEY (week, user_id, stripe);

CREATE OR REPLACE FUNCTION tt_tally_tasks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_task_counts AS c (user_id, status, stripe, n)
        SELECT assigned_to, status, tt_stripe(), count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (user_id, status, stripe) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, stripe, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to, tt_stripe(),
               count(*) FILTER (WHERE status = 'completed'),
               count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline),
               count(*) FILTER (WHERE status = 'missed')
        FROM new_rows WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (week, user_id, stripe) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO user_task_counts AS c (user_id, status, stripe, n)
        SELECT assigned_to, status, tt_stripe(), -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (user_id, status, stripe) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, stripe, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to, tt_stripe(),
               -count(*) FILTER (WHERE status = 'completed'),
               -count(*) FILTER (WHERE status = 'completed' AND completed_at <= deadline),
               -count(*) FILTER (WHERE status = 'missed')
        FROM old_rows WHERE status = 'missed' OR (status = 'completed' AND completed_at IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (week, user_id, stripe) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    ELSE
        INSERT INTO user_task_counts AS c (user_id, status, stripe, n)
        SELECT assigned_to, status, tt_stripe(), sum(d) FROM (
            SELECT assigned_to, status, 1 AS d FROM new_rows
            UNION ALL
            SELECT assigned_to, status, -1 FROM old_rows) AS r
        GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
        ON CONFLICT (user_id, status, stripe) DO UPDATE SET n = c.n + excluded.n;
        INSERT INTO user_week_counts AS w (week, user_id, stripe, completed, on_time, missed)
        SELECT tt_week(CASE WHEN status = 'missed' THEN deadline ELSE completed_at END), assigned_to, tt_stripe(),
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
        ON CONFLICT (week, user_id, stripe) DO UPDATE SET completed = w.completed + excluded.completed,
            on_time = w.on_time + excluded.on_time, missed = w.missed + excluded.missed;
    END IF;
    RETURN NULL;
END
$$;
