/** Injection token of the AuthStore; null when the store is in memory (AUTH=off only). */
export const AUTH_STORE = Symbol('AUTH_STORE');
