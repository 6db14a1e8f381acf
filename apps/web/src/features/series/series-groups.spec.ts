import { groupOf, groupSeries, seriesFilter } from './series-groups';

const NAMES = [
  'val/acc',
  'system/cpu_percent',
  'lr',
  'train/acc',
  'loss',
  'grad_norm',
  'val/loss',
  'system/gpu0/util_percent',
  'test/acc',
];

describe('series groups', () => {
  it('groups by prefix: loss and the rest first, then train/, val/, system/', () => {
    const groups = groupSeries(NAMES, '');
    expect(groups.map((g) => [g.id, g.names])).toEqual([
      ['main', ['loss', 'grad_norm', 'lr', 'test/acc']],
      ['train', ['train/acc']],
      ['val', ['val/acc', 'val/loss']],
      ['system', ['system/cpu_percent', 'system/gpu0/util_percent']],
    ]);
    expect(groupOf('validation')).toBe('main');
  });

  it("puts the server's per-class accuracy series in a group of their own, after val/", () => {
    const groups = groupSeries(
      ['class_acc/dog', 'loss', 'val/acc', 'class_acc/cat', 'system/cpu'],
      '',
    );
    expect(groups.map((g) => [g.id, g.title, g.names])).toEqual([
      ['main', 'Loss and metrics', ['loss']],
      ['val', 'val/', ['val/acc']],
      ['class-accuracy', 'Per-class accuracy', ['class_acc/cat', 'class_acc/dog']],
      ['system', 'system/', ['system/cpu']],
    ]);
  });

  it('filters by substring, or by glob with * and ?, ignoring case', () => {
    expect(NAMES.filter(seriesFilter('ACC'))).toEqual(['val/acc', 'train/acc', 'test/acc']);
    expect(NAMES.filter(seriesFilter('val/*'))).toEqual(['val/acc', 'val/loss']);
    expect(NAMES.filter(seriesFilter('*/acc'))).toEqual(['val/acc', 'train/acc', 'test/acc']);
    expect(NAMES.filter(seriesFilter('l?'))).toEqual(['lr']);
    expect(NAMES.filter(seriesFilter('system/gpu?/*'))).toEqual(['system/gpu0/util_percent']);
    expect(NAMES.filter(seriesFilter('  '))).toEqual(NAMES);
  });

  it('keeps a group whose series are all filtered out, with its total', () => {
    const groups = groupSeries(NAMES, 'val/');
    expect(groups.find((g) => g.id === 'val')?.names).toEqual(['val/acc', 'val/loss']);
    expect(groups.find((g) => g.id === 'train')).toEqual({
      id: 'train',
      title: 'train/',
      names: [],
      total: 1,
    });
  });
});
