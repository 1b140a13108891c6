DROP INDEX `students_pinyin`;--> statement-breakpoint
DROP INDEX `students_name`;--> statement-breakpoint
DROP INDEX `students_initials`;--> statement-breakpoint
CREATE INDEX `students_name` ON `students` (`name`,`state`,`home_node`);--> statement-breakpoint
CREATE INDEX `students_initials` ON `students` (`pinyin_initials`,`state`,`home_node`);--> statement-breakpoint
DROP INDEX `children_pinyin`;--> statement-breakpoint
DROP INDEX `children_name`;--> statement-breakpoint
CREATE INDEX `children_initials` ON `children` (`pinyin_initials`,`state`,`home_node`);--> statement-breakpoint
CREATE INDEX `children_name` ON `children` (`name`,`state`,`home_node`);--> statement-breakpoint
-- Written by hand (drizzle-kit splits an index expression at its commas): search by pinyin typed without spaces is a range on these.
CREATE INDEX `students_pinyin_compact` ON `students` (replace(`name_pinyin`, ' ', ''), `state`, `home_node`);--> statement-breakpoint
CREATE INDEX `children_pinyin_compact` ON `children` (replace(`name_pinyin`, ' ', ''), `state`, `home_node`);
