import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NVIDIA_SMI_ARGS, NvidiaSmiReader, parseNvidiaSmi } from './nvidia-smi';

/** Captured output shared with the Python SDK's test (libs/sdk-scenarios). */
const fixture = JSON.parse(
  readFileSync(join(__dirname, '../../sdk-scenarios/nvidia-smi.json'), 'utf8'),
) as { args: string[]; output: string; series: Record<string, number> };

describe('nvidia-smi', () => {
  it('runs the shared query', () => {
    expect(NVIDIA_SMI_ARGS).toEqual(fixture.args);
  });

  it('reads every GPU, leaving out what the driver does not expose', () => {
    expect(parseNvidiaSmi(fixture.output)).toEqual(fixture.series);
  });

  it('reads nothing from an error text or an empty answer', () => {
    expect(parseNvidiaSmi('')).toEqual({});
    expect(
      parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the driver.\n'),
    ).toEqual({});
  });

  it('gives up for the run when the command is missing', async () => {
    const reader = new NvidiaSmiReader(1000, 'trainwatch-no-such-command');
    await expect(reader.read()).resolves.toBeUndefined();
    expect(reader.available).toBe(false);
    await expect(reader.read()).resolves.toBeUndefined();
  });

  it('gives up after repeated failures of a command that exists', async () => {
    // `false` exits 1 at once: a driver that answers with an error every time.
    const reader = new NvidiaSmiReader(1000, 'false');
    for (let i = 0; i < 3; i++) await reader.read();
    expect(reader.available).toBe(false);
  });
});
