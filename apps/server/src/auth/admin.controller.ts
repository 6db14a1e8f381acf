import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type {
  ApiKey,
  CreateApiKeyRequest,
  CreateApiKeyResponse,
  CreateUserRequest,
  ListApiKeysResponse,
  ListUsersResponse,
  RevokeApiKeyRequest,
  SetUserRoleRequest,
  User,
} from '@trainwatch/proto';
import { UserAdminService } from './admin.service';

/** Binds AdminService to native gRPC; one line per method. */
@Controller()
export class AdminController {
  constructor(private readonly admin: UserAdminService) {}

  @GrpcMethod('AdminService', 'ListUsers')
  listUsers(): Promise<ListUsersResponse> {
    return this.admin.listUsers();
  }

  @GrpcMethod('AdminService', 'CreateUser')
  createUser(request: CreateUserRequest): Promise<User> {
    return this.admin.createUser(request);
  }

  @GrpcMethod('AdminService', 'SetUserRole')
  setUserRole(request: SetUserRoleRequest): Promise<User> {
    return this.admin.setUserRole(request);
  }

  @GrpcMethod('AdminService', 'ListApiKeys')
  listApiKeys(): Promise<ListApiKeysResponse> {
    return this.admin.listApiKeys();
  }

  @GrpcMethod('AdminService', 'CreateApiKey')
  createApiKey(request: CreateApiKeyRequest): Promise<CreateApiKeyResponse> {
    return this.admin.createApiKey(request);
  }

  @GrpcMethod('AdminService', 'RevokeApiKey')
  revokeApiKey(request: RevokeApiKeyRequest): Promise<ApiKey> {
    return this.admin.revokeApiKey(request);
  }
}
