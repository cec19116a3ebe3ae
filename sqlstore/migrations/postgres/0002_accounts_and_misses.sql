-- Users: every account has a random token key, made with it, that its
-- tokens carry. Ids come from an identity, which never gives one twice;
-- after this file the runner sets username_key to each name's PRECIS form
-- (rekeyUsernames in migrate.go), which SQL cannot compute.
ALTER TABLE users ADD COLUMN token_key TEXT NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');
-- An import before this migration could set the identity back below a
-- deleted user's id: the next id follows the largest ever given.
SELECT setval(pg_get_serial_sequence('users', 'id'), m)
FROM (SELECT GREATEST((SELECT max(id) FROM users),
                      (SELECT max(CAST(target_id AS BIGINT)) FROM audit_log WHERE action = 'user.delete')) AS m) AS x
WHERE m > COALESCE(pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass), 0);

-- A task_missed alert records the deadline it is for, and there is one per
-- task and deadline: a task missed again for the same deadline raises none.
-- Existing alerts learn their deadline where the task still has it (a
-- deadline moved since an alert is after that alert); of several such
-- alerts of one task, the first.
ALTER TABLE alerts ADD COLUMN deadline BIGINT;
UPDATE alerts SET deadline = (SELECT t.deadline FROM tasks t WHERE t.id = alerts.task_id)
WHERE seq IN (
    SELECT min(a.seq) FROM alerts a JOIN tasks t ON t.id = a.task_id
    WHERE a.kind = 'task_missed' AND t.deadline < a.created_at
    GROUP BY a.task_id);
DROP INDEX alerts_task_missed_once;
CREATE UNIQUE INDEX alerts_task_missed_once ON alerts (task_id, deadline) WHERE kind = 'task_missed';
