CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`owner_id` text NOT NULL,
	`owner_code` text NOT NULL,
	`account_id` text NOT NULL,
	`file_hash` text NOT NULL,
	`rows_json` text NOT NULL,
	`result_json` text NOT NULL,
	`counts_json` text NOT NULL,
	`state` text NOT NULL,
	`commit_json` text,
	`committed_by` text,
	`committed_at` text,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `imports_expires` ON `imports` (`expires_at`);