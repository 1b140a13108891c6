CREATE TABLE `supervising_units` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`unit_code` text NOT NULL,
	`name` text NOT NULL,
	`division_code` text NOT NULL,
	`address` text,
	`area_category` text,
	`area_category_edition` text,
	`economic_attribute` text,
	`ethnic_attribute` text,
	`contact_person` text,
	`postcode` text,
	`phone` text,
	`fax` text,
	`email` text,
	`homepage` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `supervising_units_code` ON `supervising_units` (`unit_code`);--> statement-breakpoint
CREATE TABLE `school_classes` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`school_id` text NOT NULL,
	`school_code` text NOT NULL,
	`class_code` text NOT NULL,
	`name` text NOT NULL,
	`founded_ym` text NOT NULL,
	`schooling_length` text NOT NULL,
	`class_type` text NOT NULL,
	`head_teacher` text,
	`grade` integer NOT NULL,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`school_id`) REFERENCES `schools`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `school_classes_code` ON `school_classes` (`school_id`,`class_code`);--> statement-breakpoint
CREATE INDEX `school_classes_grade` ON `school_classes` (`school_id`,`grade`);--> statement-breakpoint
CREATE TABLE `school_teachers` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`school_id` text NOT NULL,
	`name` text NOT NULL,
	`birth_ym` text,
	`gender` text NOT NULL,
	`post` text,
	`title` text,
	`ethnicity` text,
	`political` text,
	`work_start_ym` text,
	`education` text,
	`major` text,
	`qualification` text,
	`establishment` text,
	`is_head` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`school_id`) REFERENCES `schools`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `school_teachers_school` ON `school_teachers` (`school_id`);--> statement-breakpoint
CREATE TABLE `schools` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`school_code` text NOT NULL,
	`unit_code` text,
	`name` text NOT NULL,
	`attendance_zone` text,
	`division_code` text NOT NULL,
	`address` text,
	`area_category` text,
	`area_category_edition` text,
	`economic_attribute` text,
	`ethnic_attribute` text,
	`principal` text,
	`founded_ym` text,
	`run_type` text,
	`run_type_edition` text,
	`category` text NOT NULL,
	`main_language` text,
	`second_language` text,
	`site_area` real,
	`building_area` real,
	`books` integer,
	`computers` integer,
	`lab_compliant` integer,
	`postcode` text,
	`phone` text,
	`fax` text,
	`email` text,
	`homepage` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `schools_code` ON `schools` (`school_code`);--> statement-breakpoint
CREATE INDEX `schools_division` ON `schools` (`division_code`);--> statement-breakpoint
CREATE TABLE `kindergarten_classes` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kindergarten_id` text NOT NULL,
	`kindergarten_code` text NOT NULL,
	`class_code` text NOT NULL,
	`name` text NOT NULL,
	`founded_ym` text NOT NULL,
	`head_teacher` text,
	`grade` integer NOT NULL,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`kindergarten_id`) REFERENCES `kindergartens`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `kindergarten_classes_code` ON `kindergarten_classes` (`kindergarten_id`,`class_code`);--> statement-breakpoint
CREATE TABLE `kindergarten_teachers` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kindergarten_id` text NOT NULL,
	`name` text NOT NULL,
	`birth_ym` text,
	`gender` text NOT NULL,
	`post` text,
	`title` text,
	`ethnicity` text,
	`political` text,
	`work_start_ym` text,
	`education` text,
	`major` text,
	`qualification` text,
	`establishment` text,
	`is_head` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`kindergarten_id`) REFERENCES `kindergartens`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `kindergarten_teachers_kg` ON `kindergarten_teachers` (`kindergarten_id`);--> statement-breakpoint
CREATE TABLE `kindergartens` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kindergarten_code` text NOT NULL,
	`registration_no` text,
	`licence_no` text,
	`approving_authority` text,
	`unit_code` text,
	`name` text NOT NULL,
	`division_code` text NOT NULL,
	`address` text,
	`area_category` text,
	`area_category_edition` text,
	`economic_attribute` text,
	`ethnic_attribute` text,
	`director` text,
	`sponsor` text,
	`founded_ym` text,
	`nature` text,
	`form` text,
	`rating` text,
	`main_language` text,
	`second_language` text,
	`staff_count` integer,
	`full_time_teachers` integer,
	`administrators` integer,
	`nursery_staff` integer,
	`workers` integer,
	`part_time_teachers` integer,
	`staff_pay_policy` text,
	`staff_income` text,
	`premises` text,
	`premises_area` real,
	`facilities` text,
	`funding` text,
	`fees` text,
	`honours` text,
	`postcode` text,
	`phone` text,
	`fax` text,
	`email` text,
	`homepage` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `kindergartens_code` ON `kindergartens` (`kindergarten_code`);--> statement-breakpoint
CREATE INDEX `kindergartens_division` ON `kindergartens` (`division_code`);--> statement-breakpoint
CREATE TABLE `student_awards` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`name` text NOT NULL,
	`level` text NOT NULL,
	`category` text,
	`reason` text,
	`amount` real,
	`document_no` text,
	`award_ym` text NOT NULL,
	`awarding_unit` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_awards_student` ON `student_awards` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_completions` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`graduating_school_code` text NOT NULL,
	`completion_ym` text NOT NULL,
	`reason` text NOT NULL,
	`comment` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `student_completions_student` ON `student_completions` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_enrolments` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`previous_school_code` text,
	`enrolment_ym` text NOT NULL,
	`enrolment_way` text NOT NULL,
	`source_area` text,
	`student_source` text NOT NULL,
	`study_way` text NOT NULL,
	`financial_aid` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `student_enrolments_student` ON `student_enrolments` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_exams` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`term` text NOT NULL,
	`exam_date` text NOT NULL,
	`course` text NOT NULL,
	`exam_form` text,
	`exam_category` text NOT NULL,
	`score` real,
	`grade_letter` text,
	`term_comment` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_exams_student` ON `student_exams` (`student_id`,`term`);--> statement-breakpoint
CREATE TABLE `student_family_members` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`relationship` text NOT NULL,
	`name` text NOT NULL,
	`employer` text,
	`phone` text,
	`ethnicity` text,
	`marital_status` text,
	`residence_abroad` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_family_student` ON `student_family_members` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_guardians` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`name` text NOT NULL,
	`relationship` text NOT NULL,
	`address` text,
	`phone` text,
	`postcode` text,
	`email` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_guardians_student` ON `student_guardians` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_punishments` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`name` text NOT NULL,
	`reason` text NOT NULL,
	`punished_on` text NOT NULL,
	`revoked_on` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_punishments_student` ON `student_punishments` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_registrations` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`term` text NOT NULL,
	`class_code` text NOT NULL,
	`status` text NOT NULL,
	`due_date` text,
	`actual_date` text,
	`late_reason` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `student_registrations_term` ON `student_registrations` (`student_id`,`term`);--> statement-breakpoint
CREATE TABLE `student_resumes` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`from_ym` text NOT NULL,
	`to_ym` text,
	`school_name` text NOT NULL,
	`post` text,
	`witness` text,
	`remarks` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_resumes_student` ON `student_resumes` (`student_id`);--> statement-breakpoint
CREATE TABLE `student_status_changes` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`student_id` text NOT NULL,
	`change_type` text NOT NULL,
	`change_date` text NOT NULL,
	`reason` text,
	`processing_status` text NOT NULL,
	`result` text,
	`death_date` text,
	`death_cause` text,
	`responsibility` text,
	`review_opinion` text,
	`approval_date` text,
	`approval_doc_no` text,
	`previous_school_code` text,
	`current_school_code` text,
	`previous_student_no` text,
	`current_student_no` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`student_id`) REFERENCES `students`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `student_status_changes_student` ON `student_status_changes` (`student_id`);--> statement-breakpoint
CREATE INDEX `student_status_changes_type` ON `student_status_changes` (`change_type`,`change_date`);--> statement-breakpoint
CREATE TABLE `students` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`school_id` text NOT NULL,
	`school_code` text NOT NULL,
	`class_id` text,
	`student_no` text NOT NULL,
	`school_student_no` text,
	`name` text NOT NULL,
	`name_pinyin` text NOT NULL,
	`pinyin_initials` text NOT NULL,
	`former_name` text,
	`id_doc_type` text DEFAULT '1' NOT NULL,
	`id_number` text,
	`gender` text NOT NULL,
	`blood_type` text,
	`birth_date` text NOT NULL,
	`birthplace` text,
	`only_child` integer,
	`native_place` text,
	`ethnicity` text NOT NULL,
	`hmt` text,
	`hmt_edition` text,
	`health` text,
	`current_address` text,
	`household_registration` text,
	`floating_status` text,
	`country` text DEFAULT 'CHN' NOT NULL,
	`phone` text,
	`postal_address` text,
	`postcode` text,
	`photo` text,
	`enrolment_ym` text NOT NULL,
	`student_category` text NOT NULL,
	`political` text,
	`email` text,
	`homepage` text,
	`state` text DEFAULT 'in_school' NOT NULL,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`school_id`) REFERENCES `schools`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`class_id`) REFERENCES `school_classes`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `students_student_no` ON `students` (`student_no`);--> statement-breakpoint
CREATE INDEX `students_id_number` ON `students` (`id_number`);--> statement-breakpoint
CREATE INDEX `students_school_class` ON `students` (`school_id`,`class_id`);--> statement-breakpoint
CREATE INDEX `students_name` ON `students` (`name`);--> statement-breakpoint
CREATE INDEX `students_pinyin` ON `students` (`name_pinyin`);--> statement-breakpoint
CREATE INDEX `students_initials` ON `students` (`pinyin_initials`);--> statement-breakpoint
CREATE INDEX `students_dup` ON `students` (`name`,`gender`,`birth_date`);--> statement-breakpoint
CREATE TABLE `child_attendances` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`child_id` text NOT NULL,
	`kindergarten_code` text NOT NULL,
	`entry_ym` text NOT NULL,
	`source_area` text,
	`attendance_way` text NOT NULL,
	`leave_ym` text,
	`leave_reason` text,
	FOREIGN KEY (`child_id`) REFERENCES `children`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `child_attendances_child` ON `child_attendances` (`child_id`);--> statement-breakpoint
CREATE TABLE `child_family_members` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`child_id` text NOT NULL,
	`relationship` text NOT NULL,
	`name` text NOT NULL,
	`employer` text,
	`phone` text,
	`ethnicity` text,
	`marital_status` text,
	`residence_abroad` text,
	FOREIGN KEY (`child_id`) REFERENCES `children`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `child_family_child` ON `child_family_members` (`child_id`);--> statement-breakpoint
CREATE TABLE `child_guardians` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`child_id` text NOT NULL,
	`name` text NOT NULL,
	`relationship` text NOT NULL,
	`address` text,
	`phone` text,
	`postcode` text,
	`email` text,
	FOREIGN KEY (`child_id`) REFERENCES `children`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `child_guardians_child` ON `child_guardians` (`child_id`);--> statement-breakpoint
CREATE TABLE `child_registrations` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`child_id` text NOT NULL,
	`term` text NOT NULL,
	`class_code` text NOT NULL,
	`status` text NOT NULL,
	`due_date` text,
	`actual_date` text,
	`late_reason` text,
	FOREIGN KEY (`child_id`) REFERENCES `children`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `child_registrations_term` ON `child_registrations` (`child_id`,`term`);--> statement-breakpoint
CREATE TABLE `child_status_changes` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`child_id` text NOT NULL,
	`change_type` text NOT NULL,
	`change_date` text NOT NULL,
	`reason` text,
	`processing_status` text NOT NULL,
	`result` text,
	`death_date` text,
	`death_cause` text,
	`responsibility` text,
	`review_opinion` text,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`child_id`) REFERENCES `children`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `child_status_changes_child` ON `child_status_changes` (`child_id`);--> statement-breakpoint
CREATE TABLE `children` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kindergarten_id` text NOT NULL,
	`kindergarten_code` text NOT NULL,
	`class_id` text,
	`name` text NOT NULL,
	`name_pinyin` text NOT NULL,
	`pinyin_initials` text NOT NULL,
	`former_name` text,
	`id_doc_type` text DEFAULT '1' NOT NULL,
	`id_number` text,
	`gender` text NOT NULL,
	`blood_type` text,
	`birth_date` text NOT NULL,
	`birthplace` text,
	`only_child` integer,
	`native_place` text,
	`ethnicity` text NOT NULL,
	`hmt` text,
	`hmt_edition` text,
	`health` text,
	`current_address` text,
	`household_registration` text,
	`floating_status` text,
	`country` text DEFAULT 'CHN' NOT NULL,
	`phone` text,
	`postal_address` text,
	`postcode` text,
	`photo` text,
	`entry_ym` text NOT NULL,
	`child_category` text NOT NULL,
	`state` text DEFAULT 'in_kindergarten' NOT NULL,
	`verify_state` text DEFAULT 'entered' NOT NULL,
	`entered_by` text,
	`entered_at` text,
	`verified_by` text,
	`verified_at` text,
	`return_reason` text,
	FOREIGN KEY (`kindergarten_id`) REFERENCES `kindergartens`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`class_id`) REFERENCES `kindergarten_classes`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `children_id_number` ON `children` (`id_number`);--> statement-breakpoint
CREATE INDEX `children_kg_class` ON `children` (`kindergarten_id`,`class_id`);--> statement-breakpoint
CREATE INDEX `children_name` ON `children` (`name`);--> statement-breakpoint
CREATE INDEX `children_pinyin` ON `children` (`name_pinyin`);--> statement-breakpoint
CREATE INDEX `children_dup` ON `children` (`name`,`gender`,`birth_date`);--> statement-breakpoint
CREATE TABLE `problem_records` (
	`id` text PRIMARY KEY NOT NULL,
	`home_node` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`epoch` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`kind` text NOT NULL,
	`subject_table` text NOT NULL,
	`subject_id` text NOT NULL,
	`other_id` text NOT NULL,
	`school_code` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`resolution` text,
	`resolution_note` text,
	`resolved_by` text,
	`resolved_at` text
);
--> statement-breakpoint
CREATE INDEX `problem_records_school` ON `problem_records` (`school_code`,`status`);--> statement-breakpoint
CREATE INDEX `problem_records_subject` ON `problem_records` (`subject_id`);