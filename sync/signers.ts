/**
 * This node's private keys, by kid, from the 0600 files named in `node_keys`. The keys
 * directory is the `keys/` beside the database file (node/paths.ts lays a data directory out
 * that way), so the sync layer needs no path handed in.
 */
import { dirname, join } from 'node:path'
import type { Storage } from '../schema/db.ts'
import { importPrivateKey, readPrivateKeyFile, type Signer } from './keys.ts'

const cache = new Map<string, Promise<Signer>>()

/** Directory of the node's private key files. */
export function keysDirOf(storage: Storage): string {
  return join(dirname(storage.sqlite.name), 'keys')
}

/** The signer of own key `kid`. */
export function loadSignerByKid(storage: Storage, kid: string): Promise<Signer> {
  const dir = keysDirOf(storage)
  const k = `${dir}\0${kid}`
  let p = cache.get(k)
  if (!p) {
    const row = storage.sqlite.prepare('select private_key_file from node_keys where kid = ?').get(kid) as { private_key_file: string } | undefined
    if (!row) return Promise.reject(new Error(`no own key ${kid} in node_keys`))
    p = importPrivateKey(readPrivateKeyFile(join(dir, row.private_key_file))).then(privateKey => ({ kid, privateKey }))
    cache.set(k, p)
    p.catch(() => cache.delete(k))
  }
  return p
}

/** The signer for own change-set `seq` (rotation: the key whose range holds it), or the current key. */
export function loadSigner(storage: Storage, forSeq?: number): Promise<Signer> {
  const kid = signingKid(storage, forSeq)
  if (!kid) return Promise.reject(new Error(`this node has no signing key${forSeq === undefined ? '' : ` for seq ${forSeq}`}`))
  return loadSignerByKid(storage, kid)
}

/** The kid of the key that signs change set `forSeq`, or (without it) of the current key. */
export function signingKid(storage: Storage, forSeq?: number): string | undefined {
  const row = (
    forSeq === undefined
      ? storage.sqlite.prepare('select kid from node_keys where valid_until_seq is null order by valid_from_seq desc limit 1').get()
      : storage.sqlite.prepare('select kid from node_keys where valid_from_seq <= ? and (valid_until_seq is null or valid_until_seq >= ?) order by valid_from_seq desc limit 1').get(forSeq, forSeq)
  ) as { kid: string } | undefined
  return row?.kid
}
