CREATE TABLE `sync_commands_applied` (
	`node` text NOT NULL,
	`issuer` text NOT NULL,
	`seq` integer NOT NULL,
	`reported_at` text NOT NULL,
	PRIMARY KEY(`node`, `issuer`)
);
