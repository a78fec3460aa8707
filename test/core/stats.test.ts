import { describe, expect, it } from 'vitest';
import { StreamStatistics } from '../../src/core/stats.js';

function feed(seqs: number[], clockRate = 90000): StreamStatistics {
  const s = new StreamStatistics(clockRate);
  seqs.forEach((seq, i) => s.update(seq & 0xffff, i * 3000, i * (1000 / 30), 100));
  return s;
}

describe('StreamStatistics (RFC 3550 A.1, A.3, A.8)', () => {
  it.each([
    ['in order', [1, 2, 3, 4, 5], { packets: 5, lost: 0, reordered: 0, duplicates: 0, highestSequence: 5 }],
    ['starting at 0', [0, 1, 2], { packets: 3, lost: 0, highestSequence: 2 }],
    ['a gap of two', [10, 11, 14, 15], { packets: 4, lost: 2, highestSequence: 15 }],
    ['wrap-around', [65534, 65535, 0, 1], { packets: 4, lost: 0, highestSequence: 65536 + 1 }],
    ['loss across the wrap', [65534, 1], { packets: 2, lost: 2, highestSequence: 65536 + 1 }],
    ['reordered', [1, 2, 4, 3, 5], { packets: 5, lost: 0, reordered: 1, duplicates: 0 }],
    ['duplicate of the newest', [1, 2, 2, 3], { packets: 3, lost: 0, duplicates: 1 }],
    ['duplicate of an older one', [1, 2, 3, 2, 4], { packets: 4, lost: 0, duplicates: 1, reordered: 0 }],
    ['sender restart (big jump) re-bases', [100, 101, 40000, 40001], { packets: 4, lost: 0, highestSequence: 40001 }],
  ])('%s', (_name, seqs, expected) => {
    expect(feed(seqs).snapshot()).toMatchObject(expected);
  });

  it('reports duplicates to the caller so it can drop them', () => {
    const s = new StreamStatistics(90000);
    expect(s.update(5, 0, 0, 10)).toBe(true);
    expect(s.update(5, 0, 1, 10)).toBe(false);
  });

  it('keeps jitter at 0 for perfectly paced packets and above 0 when arrival wobbles', () => {
    expect(feed([1, 2, 3, 4, 5, 6]).jitter).toBeCloseTo(0, 6);
    const s = new StreamStatistics(90000);
    for (let i = 0; i < 100; i++) s.update(i, i * 3000, i * (1000 / 30) + (i % 2 ? 5 : 0), 100);
    // 5 ms of alternating delay is 450 RTP units of |D| per packet: J converges towards 450.
    expect(s.jitter).toBeGreaterThan(400);
    expect(s.jitter).toBeLessThanOrEqual(450);
    expect(s.snapshot().jitterMs).toBeCloseTo(s.jitter / 90, 6);
  });

  it('gives the fraction lost per interval and resets it', () => {
    const s = feed([1, 2, 3, 4, 9, 10]); // expected 10, received 6 → 4 lost of 10
    expect(s.takeFractionLost()).toBe(Math.floor((4 * 256) / 10));
    for (let q = 11; q <= 20; q++) s.update(q, q * 3000, q * 33, 100);
    expect(s.takeFractionLost()).toBe(0);
  });
});
