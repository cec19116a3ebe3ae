-- The triggers with an UPSERT that an UPDATE of a task's status fires, with the same
-- events, condition and effect as before, but without an UPSERT: SQLite
-- codes the DO UPDATE of an UPSERT as able to abort the statement whatever
-- the statement's own conflict clause, and a statement that changes many
-- rows and may abort keeps a statement journal, a copy of every page it
-- changes. The sweep marks a hundred thousand tasks missed in one
-- UPDATE OR IGNORE (sweep.go; none of its rows can meet a constraint, and
-- none of these triggers acts on its rows): with these bodies nothing in
-- it may abort, and it keeps no such copy. An insert of the row at zero
-- (OR IGNORE: it may exist) and an increment do what the UPSERT did.

DROP TRIGGER tasks_tally_update;
CREATE TRIGGER tasks_tally_update AFTER UPDATE OF status, assigned_to ON tasks
WHEN (OLD.status <> NEW.status OR OLD.assigned_to <> NEW.assigned_to)
 AND NOT (OLD.status IN ('pending', 'in_progress') AND NEW.status = 'missed') BEGIN
    UPDATE user_task_counts SET n = n - 1 WHERE user_id = OLD.assigned_to AND status = OLD.status;
    INSERT OR IGNORE INTO user_task_counts (user_id, status, n) VALUES (NEW.assigned_to, NEW.status, 0);
    UPDATE user_task_counts SET n = n + 1 WHERE user_id = NEW.assigned_to AND status = NEW.status;
END;

DROP TRIGGER tasks_week_update;
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
    INSERT OR IGNORE INTO user_week_counts (week, user_id, completed, on_time, missed)
    SELECT CASE WHEN NEW.status = 'missed'
                THEN NEW.deadline - ((NEW.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
                ELSE NEW.completed_at - ((NEW.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END,
           NEW.assigned_to, 0, 0, 0
    WHERE NEW.status = 'missed' OR (NEW.status = 'completed' AND NEW.completed_at IS NOT NULL);
    UPDATE user_week_counts SET completed = completed + (NEW.status = 'completed'),
        on_time = on_time + (NEW.status = 'completed' AND NEW.completed_at <= NEW.deadline),
        missed = missed + (NEW.status = 'missed')
    WHERE (NEW.status = 'missed' OR (NEW.status = 'completed' AND NEW.completed_at IS NOT NULL))
      AND user_id = NEW.assigned_to AND week = CASE WHEN NEW.status = 'missed'
        THEN NEW.deadline - ((NEW.deadline - 345600000000) % 604800000000 + 604800000000) % 604800000000
        ELSE NEW.completed_at - ((NEW.completed_at - 345600000000) % 604800000000 + 604800000000) % 604800000000 END;
END;
