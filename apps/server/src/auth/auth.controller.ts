import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { SignOutResponseSchema } from '@trainwatch/proto';
import type {
  GetSignInOptionsResponse,
  SetUpFirstAdminRequest,
  SignInRequest,
  SignInResponse,
  SignOutRequest,
  SignOutResponse,
  WhoAmIRequest,
  WhoAmIResponse,
} from '@trainwatch/proto';
import { AuthService } from './auth.service';
import { identityOf } from './grpc-auth';

/** Binds AuthService to native gRPC: the session token comes back in the response (a bearer). */
@Controller()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @GrpcMethod('AuthService', 'SignIn')
  async signIn(request: SignInRequest): Promise<SignInResponse> {
    return (await this.auth.signIn(request)).response;
  }

  @GrpcMethod('AuthService', 'SignOut')
  async signOut(
    _request: SignOutRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<SignOutRequest, SignOutResponse>,
  ): Promise<SignOutResponse> {
    await this.auth.signOut(identityOf(call));
    return create(SignOutResponseSchema);
  }

  @GrpcMethod('AuthService', 'WhoAmI')
  whoAmI(
    _request: WhoAmIRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<WhoAmIRequest, WhoAmIResponse>,
  ): WhoAmIResponse {
    return this.auth.whoAmI(identityOf(call));
  }

  @GrpcMethod('AuthService', 'GetSignInOptions')
  getSignInOptions(): Promise<GetSignInOptionsResponse> {
    return this.auth.getSignInOptions();
  }

  @GrpcMethod('AuthService', 'SetUpFirstAdmin')
  async setUpFirstAdmin(request: SetUpFirstAdminRequest): Promise<SignInResponse> {
    return (await this.auth.setUpFirstAdmin(request)).response;
  }
}
