ALTER TABLE `sync_conflicts` ADD `count` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Fold repeats stored before this migration into one row per (origin, seq, hash), counted.
UPDATE `sync_conflicts` SET `count` = (SELECT count(*) FROM `sync_conflicts` c WHERE c.`origin` = `sync_conflicts`.`origin` AND c.`seq` = `sync_conflicts`.`seq` AND c.`hash` = `sync_conflicts`.`hash`);--> statement-breakpoint
DELETE FROM `sync_conflicts` WHERE `id` NOT IN (SELECT min(`id`) FROM `sync_conflicts` GROUP BY `origin`, `seq`, `hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `sync_conflicts_once` ON `sync_conflicts` (`origin`,`seq`,`hash`);
--> statement-breakpoint
-- Key records a node vouched for itself (issue 8 finding 1), taken before that was refused:
-- a record whose parent is its own node, or a root record of anything but a province code.
DELETE FROM `sync_keys` WHERE `parent` = `node` OR (`parent` IS NULL AND `node` NOT LIKE '__0000');
