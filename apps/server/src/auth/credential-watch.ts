import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { AppError } from '../common/app-error';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { AUTH_STORE } from './auth-tokens';
import type { AuthStore } from './auth-store';
import { unauthenticated } from './authenticator';
import type { Identity } from './identity';

/** An open stream as the watch sees it: how to end it, and whether it ended already. */
export interface OpenStream {
  close(error: AppError): void;
  readonly isClosed: boolean;
}

interface Tracked {
  stream: OpenStream;
  /** The key or sign-in session the stream was opened with. */
  credential: { kind: 'key'; keyId: string } | { kind: 'session'; tokenHash: string };
}

/**
 * Ends open streams whose credential stopped being valid. A call is
 * authorized once, when it opens; a trainer or a watcher may stay open for
 * days. Every AUTH_RECHECK_MS (and at once after a revocation or sign-out
 * made through this server) the keys and sign-in sessions behind open
 * streams are looked up again, in one query per kind, and the streams of a
 * revoked key, or of a session signed out or expired, end with
 * UNAUTHENTICATED. Polling the store, not an in-process signal, is what makes
 * a revocation by the admin CLI, or on another replica, count too.
 * Nothing is held per message: the cost is two queries per interval while
 * streams are open, none when there are none.
 */
@Injectable()
export class CredentialWatch implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Auth');
  /** Open authenticated streams; bounded by the streams the server admits. */
  private readonly open = new Set<Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    @Inject(AUTH_STORE) private readonly store: AuthStore | null,
  ) {}

  onModuleInit(): void {
    if (this.settings.auth !== 'required' || this.store === null) return;
    this.timer = setInterval(() => void this.checkNow(), this.settings.authRecheckMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Watches `stream` opened as `identity`; anonymous callers (AUTH=off) are not tracked. */
  track(identity: Identity, stream: OpenStream): void {
    if (identity.kind === 'key') {
      this.open.add({ stream, credential: { kind: 'key', keyId: identity.keyId } });
    } else if (identity.kind === 'user') {
      this.open.add({ stream, credential: { kind: 'session', tokenHash: identity.tokenHash } });
    }
  }

  /** Looks every open stream's credential up now; resolves when the invalid ones are ended. */
  checkNow(): Promise<void> {
    // One check at a time: a slow store does not stack queries up.
    this.checking ??= this.check().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(): Promise<void> {
    const store = this.store;
    if (store === null) return;
    for (const tracked of [...this.open]) {
      if (tracked.stream.isClosed) this.open.delete(tracked);
    }
    if (this.open.size === 0) return;
    const keyIds = new Set<string>();
    const hashes = new Set<string>();
    for (const { credential } of this.open) {
      if (credential.kind === 'key') keyIds.add(credential.keyId);
      else hashes.add(credential.tokenHash);
    }
    let activeKeys: Set<string>;
    let activeSessions: Set<string>;
    try {
      [activeKeys, activeSessions] = await Promise.all([
        store.activeKeyIds([...keyIds]),
        store.activeSessionHashes([...hashes]),
      ]);
    } catch (error) {
      // The store is down: streams stay open (their writes stop being acked anyway); try again next tick.
      this.logger.warn(`checking open streams' credentials failed: ${String(error)}`);
      return;
    }
    for (const tracked of [...this.open]) {
      const { credential } = tracked;
      const error =
        credential.kind === 'key'
          ? activeKeys.has(credential.keyId)
            ? undefined
            : unauthenticated(
                `API key ${credential.keyId} was revoked; this stream is closed (ask an admin for a new key)`,
              )
          : activeSessions.has(credential.tokenHash)
            ? undefined
            : unauthenticated('your sign-in session ended (signed out or expired); sign in again');
      if (error === undefined) continue;
      this.open.delete(tracked);
      tracked.stream.close(error);
    }
  }
}
