CREATE TABLE `calendar_reminders` (
	`id` text PRIMARY KEY NOT NULL,
	`school_id` text NOT NULL,
	`school_code` text NOT NULL,
	`bureau_code` text NOT NULL,
	`requirement` text NOT NULL,
	`school_year` integer NOT NULL,
	`deadline` text NOT NULL,
	`state` text NOT NULL,
	`entered` integer NOT NULL,
	`verified` integer NOT NULL,
	`raised_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `calendar_reminders_once` ON `calendar_reminders` (`school_id`,`requirement`,`school_year`);--> statement-breakpoint
CREATE INDEX `calendar_reminders_raised` ON `calendar_reminders` (`raised_at`);--> statement-breakpoint
CREATE TABLE `calendar_rollovers` (
	`unit_id` text NOT NULL,
	`kind` text NOT NULL,
	`unit_code` text NOT NULL,
	`school_year` integer NOT NULL,
	`state` text NOT NULL,
	`term` text,
	`day` text NOT NULL,
	`summary_json` text NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`unit_id`, `school_year`)
);
