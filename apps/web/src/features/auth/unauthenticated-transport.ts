import { Code, ConnectError, type Transport } from '@connectrpc/connect';

/**
 * `transport`, reporting every UNAUTHENTICATED answer (a sign-in that
 * expired, was signed out, or never was) to `onUnauthenticated`, from unary
 * calls and from streams alike; the error still reaches the caller. One
 * place, so no page has to know that the answer to it is the sign-in page.
 */
export function reportingUnauthenticated(
  transport: Transport,
  onUnauthenticated: (message: string) => void,
): Transport {
  const check = (error: unknown) => {
    if (error instanceof ConnectError && error.code === Code.Unauthenticated) {
      onUnauthenticated(error.rawMessage);
    }
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      try {
        return await transport.unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (error) {
        check(error);
        throw error;
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      try {
        const response = await transport.stream(
          method,
          signal,
          timeoutMs,
          header,
          input,
          contextValues,
        );
        const source = response.message;
        async function* checked() {
          try {
            yield* source;
          } catch (error) {
            check(error);
            throw error;
          }
        }
        return { ...response, message: checked() };
      } catch (error) {
        check(error);
        throw error;
      }
    },
  };
}
