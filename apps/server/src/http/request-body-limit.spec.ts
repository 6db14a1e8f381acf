import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { AppError } from '../common/app-error';
import { bodyTooLarge, declaredBodyBytes, limitedBody } from './request-body-limit';

/** A request whose body is fed by the test, chunk by chunk. */
function fakeRequest(headers: Record<string, string> = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  return req;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.length;
  return bytes;
}

describe('request body limit', () => {
  it('reads Content-Length, ignoring malformed values', () => {
    expect(declaredBodyBytes(fakeRequest({ 'content-length': '42' }))).toBe(42);
    expect(declaredBodyBytes(fakeRequest())).toBeUndefined();
    expect(declaredBodyBytes(fakeRequest({ 'content-length': 'lots' }))).toBeUndefined();
  });

  it('passes a body at the bound through whole', async () => {
    const req = fakeRequest();
    req.push(Buffer.alloc(60));
    req.push(Buffer.alloc(40));
    req.push(null);
    expect(await collect(limitedBody(req, 100, () => undefined))).toBe(100);
  });

  it('fails as soon as the running count passes the bound, leaving the request open', async () => {
    const req = fakeRequest();
    let overflowed = false;
    const body = limitedBody(req, 100, () => (overflowed = true));
    req.push(Buffer.alloc(60));
    req.push(Buffer.alloc(41));
    // Never ended: a chunked body that would go on forever.
    const error = await collect(body).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toBe(
      'request body is over the limit of 100 bytes (HTTP_MAX_REQUEST_BYTES)',
    );
    expect(overflowed).toBe(true);
    expect(req.destroyed).toBe(false);
  });

  it('names the declared size when there is one', () => {
    expect(bodyTooLarge(65536, 268435456).message).toBe(
      'request body of 268435456 bytes is over the limit of 65536 bytes (HTTP_MAX_REQUEST_BYTES)',
    );
  });
});
