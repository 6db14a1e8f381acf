/** Helpers for tests that run the real server over real sockets. */
export * from './ports';
export * from './wait-for';
export * from './server-process';
export * from './chromium';
export * from './postgres';
export * from './nats';
