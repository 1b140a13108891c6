CREATE TABLE `node_identity` (
	`id` integer PRIMARY KEY NOT NULL,
	`tier` text NOT NULL,
	`code` text NOT NULL,
	`name` text NOT NULL,
	`parent_url` text,
	`created_at` text NOT NULL,
	`created_by_version` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `node_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`public_jwk` text NOT NULL,
	`private_key_file` text NOT NULL,
	`valid_from_seq` integer DEFAULT 1 NOT NULL,
	`valid_until_seq` integer,
	`created_at` text NOT NULL
);
