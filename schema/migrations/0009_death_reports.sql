CREATE TABLE `sync_death_reports` (
	`id` text PRIMARY KEY NOT NULL,
	`origin` text NOT NULL,
	`event` text NOT NULL,
	`report` text NOT NULL,
	`jws` text,
	`received_from` text,
	`received_at` text NOT NULL,
	`sent_count` integer DEFAULT 0 NOT NULL,
	`last_sent_at` integer,
	`delivered_at` text,
	`refused_code` text,
	`notify_count` integer DEFAULT 0 NOT NULL,
	`last_notified_at` text,
	`acked_at` text,
	`acked_by` text
);
--> statement-breakpoint
CREATE INDEX `sync_death_reports_due` ON `sync_death_reports` (`delivered_at`,`last_sent_at`);