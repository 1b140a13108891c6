CREATE TABLE `sync_commands_held` (
	`destination` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`reported_by` text NOT NULL,
	`reported_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_issue_holds` (
	`child` text PRIMARY KEY NOT NULL,
	`from_id` integer NOT NULL,
	`held_at` text NOT NULL
);
