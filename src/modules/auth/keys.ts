import { randomUUID } from 'node:crypto';
import { and, desc, isNull, ne, sql } from 'drizzle-orm';
import {
  errors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config.js';
import { inTransaction, type Context } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { randomToken } from '../../platform/security/tokens.js';
import { SecretBox } from '../../platform/security/secret-box.js';
import { recordAudit } from '../audit/index.js';
import { signingKeys } from './schema.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ALG = 'RS256';
/** Arbitrary constant: serialises key creation and rotation across processes. */
const KEY_LOCK = 7_201_335;
/** Keys are re-read this often, so a rotation done by another process is picked up. */
const CACHE_MAX_AGE_MS = 60_000;
/** An unknown `kid` triggers a re-read at most this often, so forged kids cannot hammer the database. */
const UNKNOWN_KID_COOLDOWN_MS = 5_000;
const CLOCK_TOLERANCE_SECONDS = 5;
/** Verified tokens remembered per process (a token is ~1 KB). */
const VERIFIED_TOKENS_MAX = 5_000;

/** What an access token says about its bearer. */
export interface AccessTokenClaims {
  subject: string;
  roles: readonly string[];
  scope: readonly string[];
  /** The sign-in session (users). */
  sessionId?: string;
  /** The OAuth client (client_credentials tokens). */
  clientId?: string;
}

export interface VerifiedAccessToken extends JWTPayload {
  sub: string;
  exp: number;
  sid?: string;
  client_id?: string;
  scope?: string;
  roles?: string[];
}

/** An RSA public key as published in the JWKS. */
export interface PublicJwk {
  kty: 'RSA';
  kid: string;
  alg: typeof ALG;
  use: 'sig';
  n: string;
  e: string;
}

interface PublishedKey {
  jwk: JWK;
  key: CryptoKey;
  retiredAt: Date | null;
}

/** A token whose key is unknown: verification fails like any other bad signature. */
export class UnknownSigningKeyError extends errors.JOSEError {
  static override code = 'ERR_UNKNOWN_SIGNING_KEY';
  override code = 'ERR_UNKNOWN_SIGNING_KEY';
}

/**
 * RS256 signing keys: created on first start, private halves sealed at rest, public halves
 * published as JWKS. The newest unretired key signs; retired keys verify until their tokens
 * have expired. Every method takes the executor to read with, so a caller inside a
 * transaction never touches the global handle (which deadlocks on PGlite).
 */
export class SigningKeys {
  private readonly box: SecretBox;
  private published = new Map<string, PublishedKey>();
  private signer: { kid: string; key: CryptoKey } | undefined;
  private loadedAt = 0;
  private unknownKidReloadAt = 0;
  /**
   * Tokens whose signature and claims checked out, with the key that signed them. The same
   * string verifies the same way until it expires or its key is no longer published, and both
   * are checked again on every use; RSA verification is then done once per token rather than
   * once per request.
   */
  private readonly verified = new LRUCache<string, { kid: string; payload: VerifiedAccessToken }>({
    max: VERIFIED_TOKENS_MAX,
  });

  constructor(private readonly config: Config) {
    this.box = new SecretBox(config.KEY_ENCRYPTION_KEY);
  }

  get expiresIn(): number {
    return this.config.ACCESS_TOKEN_TTL;
  }

  /** Creates the first key unless one exists. Safe when several servers start at once. */
  async ensure(db: Executor): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const [current] = await tx
        .select({ kid: signingKeys.kid })
        .from(signingKeys)
        .where(isNull(signingKeys.retiredAt))
        .limit(1);
      if (!current) await this.insertKey(tx);
    });
    await this.load(db);
  }

  /** Adds a new signing key and retires the others; their tokens stay valid until they expire. */
  async rotate(ctx: Context): Promise<{ kid: string }> {
    const kid = await inTransaction(ctx, async (tx) => {
      await tx.db.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
      const newKid = await this.insertKey(tx.db);
      await tx.db
        .update(signingKeys)
        .set({ retiredAt: new Date() })
        .where(and(isNull(signingKeys.retiredAt), ne(signingKeys.kid, newKid)));
      await recordAudit(tx, { action: 'auth.key_rotated', targetType: 'signing_key', targetId: newKid });
      return newKid;
    });
    await this.load(ctx.db);
    return { kid };
  }

  async sign(db: Executor, claims: AccessTokenClaims): Promise<string> {
    const signer = await this.currentSigner(db);
    const payload: JWTPayload = { roles: [...claims.roles], scope: claims.scope.join(' ') };
    if (claims.sessionId) payload.sid = claims.sessionId;
    if (claims.clientId) payload.client_id = claims.clientId;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: signer.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.publicUrl)
      .setAudience(this.config.JWT_AUDIENCE)
      .setSubject(claims.subject)
      .setIssuedAt()
      .setExpirationTime(`${this.config.ACCESS_TOKEN_TTL}s`)
      .setJti(randomUUID())
      .sign(signer.key);
  }

  /**
   * Checks signature (RS256 only: `none` and HMAC tokens are refused before any key is looked
   * at), type, issuer, audience and expiry. Throws a jose error for any bad token.
   */
  async verify(db: Executor, token: string): Promise<VerifiedAccessToken> {
    if (this.isStale()) await this.load(db);
    const known = this.verified.get(token);
    if (
      known &&
      this.published.has(known.kid) &&
      (known.payload.exp + CLOCK_TOLERANCE_SECONDS) * 1000 > Date.now()
    )
      return known.payload;
    let kid = '';
    const keyFor: JWTVerifyGetKey = (header) => {
      kid = header.kid ?? '';
      return this.publicKey(db, header.kid);
    };
    const { payload } = await jwtVerify(token, keyFor, {
      algorithms: [ALG],
      typ: ACCESS_TOKEN_TYPE,
      issuer: this.config.publicUrl,
      audience: this.config.JWT_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    const verified = Object.freeze(payload) as VerifiedAccessToken;
    this.verified.set(token, { kid, payload: verified });
    return verified;
  }

  /** The public keys a verifier needs: the signing key and retired keys whose tokens may live on. */
  async jwks(db: Executor): Promise<{ keys: PublicJwk[] }> {
    await this.load(db);
    return {
      keys: [...this.published.entries()].map(([kid, { jwk }]) => ({
        kty: 'RSA',
        kid,
        alg: ALG,
        use: 'sig',
        n: jwk.n!,
        e: jwk.e!,
      })),
    };
  }

  private async currentSigner(db: Executor) {
    if (!this.signer || this.isStale()) await this.load(db);
    if (!this.signer) await this.ensure(db);
    if (!this.signer) throw new Error('No signing key could be loaded.');
    return this.signer;
  }

  private async publicKey(db: Executor, kid: string | undefined): Promise<CryptoKey> {
    if (!kid) throw new UnknownSigningKeyError('The token has no kid.');
    if (this.isStale()) await this.load(db);
    if (!this.published.has(kid) && Date.now() - this.unknownKidReloadAt > UNKNOWN_KID_COOLDOWN_MS) {
      // Perhaps another process rotated the keys since we last looked.
      this.unknownKidReloadAt = Date.now();
      await this.load(db);
    }
    const entry = this.published.get(kid);
    if (!entry) throw new UnknownSigningKeyError('The token was signed by an unknown key.');
    return entry.key;
  }

  private isStale(): boolean {
    return Date.now() - this.loadedAt > CACHE_MAX_AGE_MS;
  }

  /**
   * Reads the published keys. A retired key stays published for one token lifetime plus the
   * cache age, since another process may have signed with it until it noticed the rotation.
   */
  private async load(db: Executor): Promise<void> {
    const graceSeconds = this.config.ACCESS_TOKEN_TTL + CACHE_MAX_AGE_MS / 1000 + 60;
    const rows = await db
      .select()
      .from(signingKeys)
      .where(
        sql`${signingKeys.retiredAt} is null or ${signingKeys.retiredAt} > now() - ${graceSeconds}::integer * interval '1 second'`,
      )
      .orderBy(desc(signingKeys.createdAt));
    const published = new Map<string, PublishedKey>();
    for (const row of rows) {
      const known = this.published.get(row.kid);
      const key = known?.key ?? ((await importJWK(row.publicJwk, ALG)) as CryptoKey);
      published.set(row.kid, { jwk: row.publicJwk, key, retiredAt: row.retiredAt });
    }
    const newest = rows.find((row) => row.retiredAt === null);
    if (newest && newest.kid !== this.signer?.kid) {
      this.signer = { kid: newest.kid, key: await importPKCS8(this.box.open(newest.privateKey), ALG) };
    } else if (!newest) {
      this.signer = undefined;
    }
    this.published = published;
    this.loadedAt = Date.now();
  }

  private async insertKey(db: Executor): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
    const kid = randomToken(16);
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
    await db
      .insert(signingKeys)
      .values({ kid, privateKey: this.box.seal(await exportPKCS8(privateKey)), publicJwk });
    return kid;
  }
}
