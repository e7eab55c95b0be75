import { SeriesTable, type DropCounts } from '../../../src/core/series-table';

const noDrops = (): DropCounts => ({ capacity: 0, evicted: 0 });

describe('the series table', () => {
  it('refuses a new series over capacity, counts it, and keeps serving the series it has', () => {
    const drops = noDrops();
    const table = new SeriesTable<{ name: string }>(2, 60_000, drops);
    const created: string[] = [];
    const touch = (key: string, nowMs: number) =>
      table.touch(key, nowMs, () => {
        created.push(key);
        return { name: key };
      });

    expect([touch('a', 0), touch('b', 0), touch('c', 0), touch('a', 1000)]).toEqual([
      { name: 'a' },
      { name: 'b' },
      undefined,
      { name: 'a' },
    ]);
    expect(created).toEqual(['a', 'b']);
    expect(drops).toEqual({ capacity: 1, evicted: 0 });
    expect([...table]).toEqual([
      ['a', { name: 'a' }],
      ['b', { name: 'b' }],
    ]);
    expect([table.size, table.has('c'), table.get('c')]).toEqual([2, false, undefined]);
  });

  it('returns the same state object on every touch, so a series keeps what it learned', () => {
    const table = new SeriesTable<number[]>(1, 60_000, noDrops());
    const first = table.touch('a', 0, () => []);
    first?.push(1);
    expect(table.touch('a', 1, () => [])).toBe(first);
    expect(table.get('a')).toEqual([1]);
  });

  it('evicts series not seen for longer than evictAfterMs and counts them', () => {
    const drops = noDrops();
    const table = new SeriesTable<true>(10, 1000, drops);
    table.touch('old', 0, () => true);
    table.touch('recent', 500, () => true);
    table.touch('touched-again', 0, () => true);
    table.touch('touched-again', 900, () => true);

    table.evict(1000);
    expect([...table].map(([key]) => key)).toEqual(['old', 'recent', 'touched-again']);
    table.evict(1001);
    expect([...table].map(([key]) => key)).toEqual(['recent', 'touched-again']);
    expect(drops).toEqual({ capacity: 0, evicted: 1 });
  });

  it('makes room again after eviction', () => {
    const drops = noDrops();
    const table = new SeriesTable<true>(1, 1000, drops);
    table.touch('a', 0, () => true);
    expect(table.touch('b', 10, () => true)).toBeUndefined();
    table.evict(2000);
    expect(table.touch('b', 2000, () => true)).toBe(true);
    expect(drops).toEqual({ capacity: 1, evicted: 1 });
  });

  it('does not move a series back in time when touched with an older timestamp', () => {
    const drops = noDrops();
    const table = new SeriesTable<true>(10, 1000, drops);
    table.touch('a', 5000, () => true);
    table.touch('a', 0, () => true);
    table.evict(5500);
    expect([table.size, drops.evicted]).toEqual([1, 0]);
  });
});
