CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kind` text NOT NULL,
	`addressed_to` text NOT NULL,
	`school_code` text NOT NULL,
	`subject_table` text NOT NULL,
	`subject_id` text NOT NULL,
	`deadline` text NOT NULL,
	`deadline_provisional` text DEFAULT 'no' NOT NULL,
	`raised_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_addressed` ON `alerts` (`addressed_to`,`raised_at`);--> statement-breakpoint
CREATE INDEX `alerts_subject` ON `alerts` (`subject_id`);--> statement-breakpoint
ALTER TABLE `supervising_units` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `school_classes` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `schools` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `kindergarten_classes` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `kindergartens` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `student_completions` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `document_nos` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `target_class_id` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `applied_on` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `late` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `reviewed_by` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `reviewed_at` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `carried_out_by` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `carried_out_at` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `escalated_at` text;--> statement-breakpoint
ALTER TABLE `student_status_changes` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `students` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `document_nos` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `target_class_id` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `applied_on` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `late` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `reviewed_by` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `reviewed_at` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `carried_out_by` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `carried_out_at` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `escalated_at` text;--> statement-breakpoint
ALTER TABLE `child_status_changes` ADD `first_verified_at` text;--> statement-breakpoint
ALTER TABLE `children` ADD `first_verified_at` text;--> statement-breakpoint
UPDATE `supervising_units` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `school_classes` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `schools` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `kindergarten_classes` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `kindergartens` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `student_completions` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `student_status_changes` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `students` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `child_status_changes` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';--> statement-breakpoint
UPDATE `children` SET `first_verified_at` = `verified_at` WHERE `verify_state` = 'verified';
