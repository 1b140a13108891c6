/**
 * A child node played by the test itself: its key pair (a jose signer and the same key as a
 * node:crypto KeyObject for hand-made JWS with any header), enrolment at a real node app
 * through its HTTP route, and node tokens. For tests that send what a real node never would.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { KEY_PROOF_TYP } from '../../../sync/enrolment.ts'
import { generateNodeKeyPair, importPrivateKey, signJws, type Ed25519PublicJwk, type Signer } from '../../../sync/keys.ts'
import { ENROLL_PATH, FEDERATION_PREFIX } from '../../../sync/messages.ts'
import { issueNodeToken } from '../../../sync/node-token.ts'
import { NODE_AUTH_SCHEME } from '../../../sync/transport.ts'

export interface Actor {
  code: string
  kid: string
  publicJwk: Ed25519PublicJwk
  signer: Signer
  raw: KeyObject
}

export async function makeActor(code: string): Promise<Actor> {
  const pair = await generateNodeKeyPair()
  return { code, kid: pair.kid, publicJwk: pair.publicJwk, signer: { kid: pair.kid, privateKey: await importPrivateKey(pair.privatePem) }, raw: createPrivateKey(pair.privatePem) }
}

/** `Authorization` header value with a fresh node token of `actor` for node `aud`. */
export async function authOf(actor: Actor, aud: string): Promise<string> {
  return `${NODE_AUTH_SCHEME} ${await issueNodeToken({ iss: actor.code, aud, kid: actor.kid, privateKey: actor.signer.privateKey })}`
}

/** Enrols `actor` as a child of tier `tier` at `app` through `POST /federation/v1/enroll`; returns the status. */
export async function enrolActor(app: FastifyInstance, actor: Actor, tier: 'city' | 'county', name: string): Promise<number> {
  const { token } = app.sync.joinToken({ code: actor.code, tier })
  const proof = await signJws({ node: actor.code, kid: actor.kid, aud: app.sync.self.code }, KEY_PROOF_TYP, actor.signer)
  const res = await app.inject({ method: 'POST', url: `${FEDERATION_PREFIX}${ENROLL_PATH}`, payload: { token, node: { code: actor.code, tier, name }, kid: actor.kid, publicJwk: actor.publicJwk, proof } })
  return res.statusCode
}
