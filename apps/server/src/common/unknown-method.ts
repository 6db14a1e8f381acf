/**
 * What UNIMPLEMENTED says, on either transport: which service or method was
 * not found, and what the port does serve, so a client pointed at the wrong
 * port or built from another version of the contract sees what to call.
 */

/** Service name → its method names, from `/service/method` paths. */
export function servedMethods(paths: Iterable<string>): Map<string, string[]> {
  const services = new Map<string, string[]>();
  for (const path of paths) {
    const [, service, method] = path.split('/');
    if (service === undefined || method === undefined) continue;
    services.set(service, [...(services.get(service) ?? []), method]);
  }
  return services;
}

/** The UNIMPLEMENTED message for a call to `path`; `elsewhere` is appended for an unknown service. */
export function unknownMethodMessage(
  path: string,
  served: ReadonlyMap<string, readonly string[]>,
  elsewhere = '',
): string {
  const [, service = '', method = ''] = path.split('/');
  const methods = served.get(service);
  if (methods !== undefined) {
    return `${service} has no method "${method}"; its methods are ${[...methods].sort().join(', ')}`;
  }
  const services = [...served.keys()].sort().join(', ');
  return `unknown service "${service}" (called ${path}); this port serves ${services}${elsewhere}`;
}
