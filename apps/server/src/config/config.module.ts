import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { ServerSettings } from './server-config';

/** Injection token of the {@link ServerSettings} the app was started with. */
export const SERVER_SETTINGS = Symbol('SERVER_SETTINGS');

/** Makes the settings injectable everywhere (`@Inject(SERVER_SETTINGS)`). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(settings: ServerSettings): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: SERVER_SETTINGS, useValue: settings }],
      exports: [SERVER_SETTINGS],
    };
  }
}
