PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_sync_change_sets` (
	`origin` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`prev` text,
	`body` blob NOT NULL,
	`jws` text NOT NULL,
	`kid` text NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` text NOT NULL,
	`received_from` text,
	`stored_at` text NOT NULL,
	`sent_at` text,
	`acked_at` text,
	`receipt` text,
	PRIMARY KEY(`origin`, `seq`)
);
--> statement-breakpoint
INSERT INTO `__new_sync_change_sets`("origin", "seq", "hash", "prev", "body", "jws", "kid", "rows", "bytes", "created_at", "received_from", "stored_at", "sent_at", "acked_at", "receipt") SELECT "origin", "seq", "hash", "prev", "body", "jws", "kid", "rows", "bytes", "created_at", "received_from", "stored_at", "sent_at", "acked_at", "receipt" FROM `sync_change_sets`;--> statement-breakpoint
DROP TABLE `sync_change_sets`;--> statement-breakpoint
ALTER TABLE `__new_sync_change_sets` RENAME TO `sync_change_sets`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `sync_change_sets_unacked` ON `sync_change_sets` (`origin`,`seq`) WHERE acked_at is null;