import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of backups and restores. The operator reading them sits at a
 * terminal or reads the node's log; messages say what is wrong and what to do.
 */
export const backupErrors = {
  BACKUP_TARGET_INVALID: { status: 400, doc: 'The target is neither a directory path nor sftp://user@host[:port]/path; fix --to / backup.target.' },
  BACKUP_KEY_MISSING: { status: 400, doc: 'No backup key file was given or it does not exist; make one with `xueji backup-key --out FILE` and keep it off the node.' },
  BACKUP_KEY_INSIDE_DATA: { status: 400, doc: 'The backup key file lies inside the data directory it protects; move it elsewhere (another disk, a safe).' },
  BACKUP_NOT_FOUND: { status: 404, doc: 'The target holds no (such) backup of this name; list them with `xueji backup list`.' },
  BACKUP_NAME_REQUIRED: { status: 400, doc: 'The target holds backups of several nodes (details.nodes): restoring "the newest" could restore another node\'s; name the backup with --backup NAME (`xueji backup list` lists a node\'s).' },
  BACKUP_MANIFEST_INVALID: { status: 400, doc: 'The manifest is unreadable, of another format version, or its MAC does not match under this key: wrong key or a tampered backup. Restore another backup.' },
  BACKUP_TAMPERED: { status: 400, doc: 'A file of the backup is missing or differs from its manifest hash, or does not decrypt: the copy is damaged or altered. Restore another backup.' },
  BACKUP_RESTORE_TARGET_EXISTS: { status: 400, doc: 'The directory to restore into is not empty (it may hold a node, or the journal or keys of one); restore into a new, empty directory.' },
  BACKUP_SFTP_FAILED: { status: 502, doc: 'The SFTP server could not be reached, refused the login, showed another host key than backup.sftpHostKey, or failed a file operation; details.cause says which.' },
} as const

export const backupError = errorFactory(backupErrors)
