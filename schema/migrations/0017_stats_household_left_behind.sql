DROP INDEX `students_stats`;--> statement-breakpoint
ALTER TABLE `students` ADD `household_type` text;--> statement-breakpoint
ALTER TABLE `students` ADD `left_behind` text;--> statement-breakpoint
CREATE INDEX `students_stats` ON `students` (`state`,`home_node`,`class_id`,`school_code`,`gender`,`ethnicity`,`birth_date`,`student_category`,`floating_status`,`household_registration`,`enrolment_ym`,`household_type`,`left_behind`);--> statement-breakpoint
DROP INDEX `children_stats`;--> statement-breakpoint
ALTER TABLE `children` ADD `household_type` text;--> statement-breakpoint
ALTER TABLE `children` ADD `left_behind` text;--> statement-breakpoint
CREATE INDEX `children_stats` ON `children` (`state`,`home_node`,`class_id`,`kindergarten_code`,`gender`,`ethnicity`,`birth_date`,`child_category`,`floating_status`,`household_registration`,`entry_ym`,`household_type`,`left_behind`);