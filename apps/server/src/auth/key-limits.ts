import { Inject, Injectable } from '@nestjs/common';
import { errors, type AppError } from '../common/app-error';
import { MAX_LIMITED_KEYS } from '../common/limits';
import { SERVER_SETTINGS } from '../config/config.module';
import type { ServerSettings } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { TokenBucket } from './token-bucket';

interface KeyBuckets {
  opens: TokenBucket | undefined;
  messages: TokenBucket | undefined;
  bytes: TokenBucket | undefined;
}

type Limit = 'stream_opens' | 'messages' | 'bytes';

/**
 * Per-API-key rate limits (AUTH=required): stream opens per minute, and
 * messages and bytes per second across the key's streams. Each is a token
 * bucket whose burst is one period's worth; a setting of 0 turns that limit
 * off. Past a limit the call ends with RESOURCE_EXHAUSTED naming the limit,
 * its setting and when to retry; refusals are counted in /metrics by key id
 * (never key material).
 */
@Injectable()
export class KeyLimits {
  /** Buckets by key id, least recently used first; at most MAX_LIMITED_KEYS. */
  private readonly buckets = new Map<string, KeyBuckets>();
  private readonly refused: Record<Limit, Record<string, number>> = {
    stream_opens: {},
    messages: {},
    bytes: {},
  };

  constructor(
    @Inject(SERVER_SETTINGS) private readonly settings: ServerSettings,
    metrics: MetricsService,
  ) {
    for (const limit of ['stream_opens', 'messages', 'bytes'] as const) {
      metrics.labelledCounter(
        `key_${limit}_limited_total`,
        `Trainer calls refused with RESOURCE_EXHAUSTED by the per-key ${limit.replace('_', ' ')} limit.`,
        'key_id',
        () => this.refused[limit],
      );
    }
  }

  private bucketsOf(keyId: string, now: number): KeyBuckets {
    let buckets = this.buckets.get(keyId);
    if (buckets === undefined) {
      const { keyStreamOpensPerMinute: opens, keyMessagesPerSecond: messages } = this.settings;
      // One message may be as large as MAX_MESSAGE_BYTES: the byte burst always lets one through.
      const bytes = this.settings.keyBytesPerSecond;
      buckets = {
        opens: opens === 0 ? undefined : new TokenBucket(opens, opens / 60, now),
        messages: messages === 0 ? undefined : new TokenBucket(messages, messages, now),
        bytes:
          bytes === 0
            ? undefined
            : new TokenBucket(Math.max(bytes, this.settings.maxMessageBytes), bytes, now),
      };
      if (this.buckets.size >= MAX_LIMITED_KEYS) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      this.buckets.delete(keyId);
    }
    this.buckets.set(keyId, buckets);
    return buckets;
  }

  private refuse(keyId: string, limit: Limit, setting: string, waitMs: number): AppError {
    this.refused[limit][keyId] = (this.refused[limit][keyId] ?? 0) + 1;
    return errors.resourceExhausted(
      `API key ${keyId} is over its ${setting} limit; retry in ${(waitMs / 1000).toFixed(1)} s`,
    );
  }

  /** A StreamMetrics open by `keyId`: undefined if allowed, else the error to end it with. */
  admitStreamOpen(keyId: string, now = Date.now()): AppError | undefined {
    const wait = this.bucketsOf(keyId, now).opens?.take(1, now) ?? 0;
    return wait === 0
      ? undefined
      : this.refuse(
          keyId,
          'stream_opens',
          `KEY_STREAM_OPENS_PER_MINUTE=${this.settings.keyStreamOpensPerMinute}`,
          wait,
        );
  }

  /** One trainer message of `bytes` wire bytes: undefined if allowed, else the error to end its stream with. */
  admitMessage(keyId: string, bytes: number, now = Date.now()): AppError | undefined {
    const buckets = this.bucketsOf(keyId, now);
    const messageWait = buckets.messages?.take(1, now) ?? 0;
    if (messageWait > 0) {
      return this.refuse(
        keyId,
        'messages',
        `KEY_MESSAGES_PER_SECOND=${this.settings.keyMessagesPerSecond}`,
        messageWait,
      );
    }
    const byteWait = buckets.bytes?.take(bytes, now) ?? 0;
    return byteWait === 0
      ? undefined
      : this.refuse(
          keyId,
          'bytes',
          `KEY_BYTES_PER_SECOND=${this.settings.keyBytesPerSecond}`,
          byteWait,
        );
  }
}
