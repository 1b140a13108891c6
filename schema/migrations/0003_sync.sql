CREATE TABLE `sync_change_sets` (
	`origin` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`prev` text,
	`body` text NOT NULL,
	`jws` text NOT NULL,
	`kid` text NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` text NOT NULL,
	`received_from` text,
	`stored_at` text NOT NULL,
	`sent_at` text,
	`acked_at` text,
	`receipt` text,
	PRIMARY KEY(`origin`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `sync_change_sets_unacked` ON `sync_change_sets` (`origin`,`seq`) WHERE acked_at is null;--> statement-breakpoint
CREATE TABLE `sync_children` (
	`code` text PRIMARY KEY NOT NULL,
	`tier` text NOT NULL,
	`name` text NOT NULL,
	`enrolled_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_commands` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`issuer` text NOT NULL,
	`destination` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`hash` text NOT NULL,
	`body` text NOT NULL,
	`jws` text NOT NULL,
	`received_from` text,
	`received_at` text NOT NULL,
	`applied_at` text,
	`result` text,
	`error_code` text,
	`error_message` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sync_commands_seq` ON `sync_commands` (`issuer`,`destination`,`seq`);--> statement-breakpoint
CREATE INDEX `sync_commands_pending` ON `sync_commands` (`destination`,`applied_at`);--> statement-breakpoint
CREATE TABLE `sync_conflicts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`origin` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`held_hash` text NOT NULL,
	`code` text NOT NULL,
	`body` text NOT NULL,
	`jws` text NOT NULL,
	`received_from` text NOT NULL,
	`received_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_digest_checks` (
	`origin` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`checked_at` text NOT NULL,
	`units` integer NOT NULL,
	`result` text NOT NULL,
	`drift` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_halts` (
	`origin` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`code` text NOT NULL,
	`message` text NOT NULL,
	`halted_at` text NOT NULL,
	`last_try_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sync_join_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`child_code` text NOT NULL,
	`child_tier` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text
);
--> statement-breakpoint
CREATE TABLE `sync_keys` (
	`node` text NOT NULL,
	`kid` text NOT NULL,
	`tier` text NOT NULL,
	`parent` text,
	`public_jwk` text NOT NULL,
	`valid_from_seq` integer NOT NULL,
	`valid_until_seq` integer,
	`record` text NOT NULL,
	`received_at` text NOT NULL,
	`relayed_at` text,
	PRIMARY KEY(`node`, `kid`)
);
--> statement-breakpoint
CREATE TABLE `sync_link` (
	`id` integer PRIMARY KEY NOT NULL,
	`parent_code` text NOT NULL,
	`parent_tier` text NOT NULL,
	`parent_name` text NOT NULL,
	`enrolled_at` text NOT NULL,
	`command_cursor` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`last_error_at` text,
	`last_success_at` text,
	`digest_sent_at` text
);
--> statement-breakpoint
CREATE TABLE `sync_quarantine` (
	`origin` text NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`body` text NOT NULL,
	`jws` text NOT NULL,
	`kid` text NOT NULL,
	`bad_rows` text NOT NULL,
	`received_from` text NOT NULL,
	`received_at` text NOT NULL,
	`status` text DEFAULT 'held' NOT NULL,
	`decided_at` text,
	`decided_by` text,
	PRIMARY KEY(`origin`, `seq`, `hash`)
);
