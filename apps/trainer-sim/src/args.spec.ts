import { parseSimArgs, UsageError } from './args';

describe('parseSimArgs', () => {
  it('has defaults that stream one run to the local server', () => {
    expect(parseSimArgs([], () => 1234)).toEqual({
      kind: 'run',
      options: {
        server: '127.0.0.1:50051',
        sessions: 1,
        fps: 10,
        images: 16,
        epochs: 10,
        batches: 100,
        imageSize: 32,
        name: 'trainer-sim',
        seed: 1234,
        quiet: false,
      },
    });
  });

  it('reads every option', () => {
    const parsed = parseSimArgs([
      '--server',
      'example.test:9000',
      '--sessions',
      '3',
      '--fps',
      '2.5',
      '--images',
      '0',
      '--epochs',
      '2',
      '--batches',
      '7',
      '--image-size',
      '64',
      '--name',
      'cifar.a',
      '--seed',
      '42',
      '--quiet',
    ]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        server: 'example.test:9000',
        sessions: 3,
        fps: 2.5,
        images: 0,
        epochs: 2,
        batches: 7,
        imageSize: 64,
        name: 'cifar.a',
        seed: 42,
        quiet: true,
      },
    });
  });

  it('reads --nan-at-step and --stall-at-step, and names a bad one', () => {
    const parsed = parseSimArgs(['--nan-at-step', '40', '--stall-at-step', '0'], () => 1);
    expect(parsed).toMatchObject({ options: { nanAtStep: 40, stallAtStep: 0 } });
    expect(() => parseSimArgs(['--nan-at-step=-1'])).toThrow(
      /--nan-at-step must be an integer from 0/,
    );
  });

  it('asks for help', () => {
    expect(parseSimArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseSimArgs(['-h', '--fps', 'nonsense'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['--fps', '0'], /--fps must be a number above 0/],
    [['--sessions', '1.5'], /--sessions must be an integer from 1 to 64, got "1.5"/],
    [['--images', '65'], /--images must be an integer from 0 to 64/],
    [['--epochs', ''], /--epochs/],
    [['--server', 'localhost'], /--server must be host:port/],
    [['--name', 'has space'], /--name/],
    [['--bogus'], /bogus/],
    [['stray'], /stray/],
  ])('rejects %j clearly', (argv, message) => {
    expect(() => parseSimArgs(argv)).toThrow(UsageError);
    expect(() => parseSimArgs(argv)).toThrow(message);
  });
});
