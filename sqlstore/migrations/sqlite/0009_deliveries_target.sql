-- The pending deliveries by target serve one statement, which drops an
-- endpoint's pending webhook deliveries when it goes (webhook.go): emails,
-- most of the outbox (one sweep can write a hundred thousand), need not be
-- in it.
DROP INDEX deliveries_target;
CREATE INDEX deliveries_target ON deliveries (target) WHERE status = 'pending' AND kind = 'webhook';
