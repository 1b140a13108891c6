CREATE TABLE `exports` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`actor_json` text NOT NULL,
	`kind` text NOT NULL,
	`format` text NOT NULL,
	`query_json` text NOT NULL,
	`state` text NOT NULL,
	`rows_done` integer DEFAULT 0 NOT NULL,
	`rows_total` integer,
	`error_code` text,
	`created_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `exports_account` ON `exports` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `exports_state` ON `exports` (`state`);--> statement-breakpoint
CREATE INDEX `students_stats` ON `students` (`state`,`home_node`,`class_id`,`school_code`,`gender`,`ethnicity`,`birth_date`,`student_category`,`floating_status`,`household_registration`,`enrolment_ym`);--> statement-breakpoint
CREATE INDEX `children_stats` ON `children` (`state`,`home_node`,`class_id`,`kindergarten_code`,`gender`,`ethnicity`,`birth_date`,`child_category`,`floating_status`,`household_registration`,`entry_ym`);