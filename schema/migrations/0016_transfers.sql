CREATE TABLE `sync_handoffs` (
	`id` text PRIMARY KEY NOT NULL,
	`subject_table` text NOT NULL,
	`subject_id` text NOT NULL,
	`from_node` text NOT NULL,
	`to_node` text NOT NULL,
	`epoch` integer NOT NULL,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sync_handoffs_subject_epoch` ON `sync_handoffs` (`subject_id`,`epoch`);--> statement-breakpoint
CREATE TABLE `sync_routed` (
	`id` text PRIMARY KEY NOT NULL,
	`origin` text NOT NULL,
	`destination` text,
	`type` text NOT NULL,
	`body` text NOT NULL,
	`jws` text,
	`received_from` text,
	`received_at` text NOT NULL,
	`upward` integer DEFAULT 0 NOT NULL,
	`sent_at` text,
	`refused_code` text,
	`routed` text
);
--> statement-breakpoint
CREATE INDEX `sync_routed_upward` ON `sync_routed` (`upward`,`sent_at`);--> statement-breakpoint
CREATE TABLE `transfers` (
	`id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`receiver_node` text NOT NULL,
	`receiver_unit_code` text NOT NULL,
	`target_class_id` text NOT NULL,
	`id_number` text,
	`student_no` text,
	`sender_node` text,
	`sender_unit_code` text,
	`subject_id` text,
	`name` text,
	`status_change_id` text,
	`epoch` integer,
	`code` text,
	`reason` text,
	`steps` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `transfers_status` ON `transfers` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `transfers_subject` ON `transfers` (`subject_id`);