CREATE INDEX `students_school_code` ON `students` (`school_code`,`state`,`home_node`);--> statement-breakpoint
CREATE INDEX `students_class` ON `students` (`class_id`,`state`,`home_node`);--> statement-breakpoint
CREATE INDEX `children_kindergarten_code` ON `children` (`kindergarten_code`,`state`,`home_node`);--> statement-breakpoint
CREATE INDEX `children_class` ON `children` (`class_id`,`state`,`home_node`);