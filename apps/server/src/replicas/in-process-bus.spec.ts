import { replicaBusContract, CONTRACT_LIMITS } from '../../test/replica-bus-contract';
import { InProcessBus, InProcessHub } from './in-process-bus';

replicaBusContract('in-process', () => {
  const hub = new InProcessHub(CONTRACT_LIMITS);
  return Promise.resolve({
    a: new InProcessBus(hub, 'replica-a'),
    b: new InProcessBus(hub, 'replica-b'),
    close: () => Promise.resolve(),
  });
});
