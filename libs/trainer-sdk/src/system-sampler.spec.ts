import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NvidiaSmiReader } from './nvidia-smi';
import { SystemSampler } from './system-sampler';

const fixture = JSON.parse(
  readFileSync(join(__dirname, '../../sdk-scenarios/nvidia-smi.json'), 'utf8'),
) as { processSeries: string[]; series: Record<string, number> };

describe('SystemSampler', () => {
  it('samples the process and machine series both SDKs name, without a GPU here', async () => {
    const samples: Record<string, number>[] = [];
    const sampler = new SystemSampler(
      1000,
      (values) => samples.push(values),
      new NvidiaSmiReader(1000, 'trainwatch-no-such-command'),
    );
    await sampler.tick();
    expect(Object.keys(samples[0]!).sort()).toEqual([...fixture.processSeries].sort());
    const values = samples[0]!;
    expect(values['system/process_rss_bytes']).toBeGreaterThan(0);
    expect(values['system/memory_total_bytes']).toBeGreaterThanOrEqual(
      values['system/memory_used_bytes']!,
    );
    expect(values['system/cpu_percent']).toBeGreaterThanOrEqual(0);
  });

  it('adds the GPU series when nvidia-smi answers', async () => {
    const reader = new NvidiaSmiReader(1000);
    jest.spyOn(reader, 'read').mockResolvedValue(fixture.series);
    const samples: Record<string, number>[] = [];
    const sampler = new SystemSampler(1000, (values) => samples.push(values), reader);
    await sampler.tick();
    expect(samples[0]).toMatchObject(fixture.series);
  });

  it('sends nothing once stopped while a GPU query runs', async () => {
    const reader = new NvidiaSmiReader(1000);
    let answer: (v: Record<string, number>) => void = () => undefined;
    jest.spyOn(reader, 'read').mockReturnValue(new Promise((resolve) => (answer = resolve)));
    const samples: Record<string, number>[] = [];
    const sampler = new SystemSampler(1000, (values) => samples.push(values), reader);
    const tick = sampler.tick();
    sampler.stop();
    answer(fixture.series);
    await tick;
    expect(samples).toEqual([]);
  });
});
