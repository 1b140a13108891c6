import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core'

/** The identity of this node, one row made by `xueji init` (id is always 1). */
export const nodeIdentity = sqliteTable('node_identity', {
  id: integer('id').primaryKey(),
  /** province | city | county */
  tier: text('tier', { enum: ['province', 'city', 'county'] }).notNull(),
  /** GB/T 2260 division code of the bureau running the node. */
  code: text('code').notNull(),
  name: text('name').notNull(),
  parentUrl: text('parent_url'),
  /** UTC ISO timestamp of `xueji init`. */
  createdAt: text('created_at').notNull(),
  /** Software version that initialised the node. */
  createdByVersion: text('created_by_version').notNull(),
})

/**
 * This node's own signing keys. The private key lives in a 0600 file under `<data>/keys/`;
 * the table keeps the public half and its validity so that old change sets stay verifiable
 * after a rotation (a key signs only seqs in [validFromSeq, validUntilSeq]).
 */
export const nodeKeys = sqliteTable('node_keys', {
  /** JWK thumbprint (RFC 7638) of the public key, used as JWS `kid`. */
  kid: text('kid').primaryKey(),
  publicJwk: text('public_jwk').notNull(),
  /** File name under `<data>/keys/` holding the PKCS#8 PEM private key. */
  privateKeyFile: text('private_key_file').notNull(),
  validFromSeq: integer('valid_from_seq').notNull().default(1),
  /** Null while the key is current. */
  validUntilSeq: integer('valid_until_seq'),
  createdAt: text('created_at').notNull(),
})
