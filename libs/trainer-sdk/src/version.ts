/** This SDK's version, sent as SessionInfo.client_version (kept equal to package.json by a test). */
export const SDK_VERSION = '0.1.0';

/** Node versions the SDK supports (package.json engines). */
export const SUPPORTED_NODE = '>=20.19';
