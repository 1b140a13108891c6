ALTER TABLE `student_status_changes` ADD `unit_code` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `unit_code` text;