import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { STORE_DATABASE, type StoreDatabase } from '../store/store-database';
import { AdminController } from './admin.controller';
import { UserAdminService } from './admin.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { AUTH_STORE } from './auth-tokens';
import { AuthStore } from './auth-store';
import { Authenticator } from './authenticator';
import { CredentialWatch } from './credential-watch';
import { KeyLimits } from './key-limits';

/** Teams and auth: users, keys and sign-in in the store, and the check every call goes through. */
@Module({
  imports: [StoreModule],
  controllers: [AuthController, AdminController],
  providers: [
    {
      provide: AUTH_STORE,
      inject: [STORE_DATABASE],
      useFactory: (store: StoreDatabase) => (store === null ? null : new AuthStore(store.db)),
    },
    Authenticator,
    AuthService,
    KeyLimits,
    CredentialWatch,
    UserAdminService,
  ],
  exports: [Authenticator, AuthService, AUTH_STORE, KeyLimits, CredentialWatch, UserAdminService],
})
export class AuthModule {}
