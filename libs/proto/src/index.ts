/**
 * The telemetry.v1 contract as protobuf-es messages and service descriptors,
 * shared by the server, the trainer SDK and the web app, plus the bridge
 * that serves them over grpc-js.
 */
export * from './gen/telemetry/v1/telemetry_pb';
export * from './gen/telemetry/v1/alerts_pb';
export * from './gen/telemetry/v1/dashboard_pb';
export * from './gen/telemetry/v1/per_class_pb';
export * from './gen/telemetry/v1/auth_pb';
export * from './gen/telemetry/v1/custom_commands_pb';
export {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
} from './gen/grpc/health/v1/health_pb';
export type { HealthCheckRequest, HealthCheckResponse } from './gen/grpc/health/v1/health_pb';
export * from './encode-once';
export * from './wire-writes';
export { carrySamplesWire, samplesWire } from './samples-wire';
export { decodeMetricsRequest } from './metrics-request-decoder';
export * from './grpc-bridge';
export * from './rules';
export * from './custom-commands';
