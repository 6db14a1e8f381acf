import type { RoleName } from './roles';

/** Who may call a method: anyone, a trainer's API key, or a signed-in person with at least a role. */
export type Access = { kind: 'public' } | { kind: 'trainer' } | { kind: 'person'; role: RoleName };

const PUBLIC: Access = { kind: 'public' };
const TRAINER: Access = { kind: 'trainer' };
const person = (role: RoleName): Access => ({ kind: 'person', role });

/**
 * The one table of who may call what, for both transports, keyed by
 * `Service/Method` (the package is left out so the compatibility paths share
 * their method's rule). A method missing here is refused: new rpcs are
 * closed until someone decides who may call them.
 */
const POLICY: Readonly<Record<string, Access>> = {
  'TelemetryService/RegisterTrainingSession': TRAINER,
  'TelemetryService/StreamMetrics': TRAINER,
  'DashboardService/ListSessions': person('viewer'),
  'DashboardService/WatchSession': person('viewer'),
  'DashboardService/QuerySeries': person('viewer'),
  'DashboardService/GetImageFrames': person('viewer'),
  'DashboardService/GetConfusionMatrix': person('viewer'),
  'DashboardService/SendCommand': person('operator'),
  'DashboardService/UpdateSession': person('operator'),
  'DashboardService/DeleteSession': person('admin'),
  // Alerts: acknowledging one and changing the rules steer the run like a command.
  'DashboardService/AcknowledgeAlert': person('operator'),
  'DashboardService/SetAlertRules': person('operator'),
  'AuthService/SignIn': PUBLIC,
  // Checks its own setup token; refused once any user exists.
  'AuthService/SetUpFirstAdmin': PUBLIC,
  'AuthService/GetSignInOptions': PUBLIC,
  'AuthService/SignOut': person('viewer'),
  'AuthService/WhoAmI': person('viewer'),
  'AdminService/ListUsers': person('admin'),
  'AdminService/CreateUser': person('admin'),
  'AdminService/SetUserRole': person('admin'),
  'AdminService/ListApiKeys': person('admin'),
  'AdminService/CreateApiKey': person('admin'),
  'AdminService/RevokeApiKey': person('admin'),
  'Health/Check': PUBLIC,
  'Health/Watch': PUBLIC,
};

/** `/pkg.Service/Method` → `Service/Method`. */
export function methodKey(path: string): string {
  const [, service = '', method = ''] = path.split('/');
  return `${service.slice(service.lastIndexOf('.') + 1)}/${method}`;
}

/** The rule for a method path; undefined for a method nobody decided on (refused). */
export function accessFor(path: string): Access | undefined {
  return POLICY[methodKey(path)];
}
