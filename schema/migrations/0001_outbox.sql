CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`table_name` text NOT NULL,
	`key_json` text NOT NULL,
	`op` text NOT NULL,
	`row_json` text,
	`version` integer NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`actor` text,
	`rekey_json` text,
	`created_at` text NOT NULL,
	`change_set_seq` integer
);
--> statement-breakpoint
CREATE INDEX `outbox_unpacked` ON `outbox` (`change_set_seq`,`id`);