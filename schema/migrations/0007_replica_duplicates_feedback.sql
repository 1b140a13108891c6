CREATE TABLE `sync_feedback` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`reported_by` text NOT NULL,
	`seq` integer DEFAULT 0 NOT NULL,
	`table_name` text NOT NULL,
	`record_id` text NOT NULL,
	`school_code` text,
	`code` text NOT NULL,
	`reason` text NOT NULL,
	`other_node` text DEFAULT '' NOT NULL,
	`other_school_code` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sync_feedback_once` ON `sync_feedback` (`kind`,`reported_by`,`seq`,`table_name`,`record_id`,`code`,`other_node`);--> statement-breakpoint
CREATE INDEX `sync_feedback_school` ON `sync_feedback` (`school_code`);--> statement-breakpoint
DROP INDEX `students_student_no`;--> statement-breakpoint
CREATE UNIQUE INDEX `students_student_no` ON `students` (`student_no`,`home_node`);