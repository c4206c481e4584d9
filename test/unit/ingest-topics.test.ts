/** ingest/topics.ts parseTopic: the parts of a reading topic, remembered per prefix and topic. */
import { describe, expect, it } from 'vitest';
import { parseTopic } from '../../ingest/topics.js';

describe('parseTopic', () => {
  it('splits {prefix}/{water|air}/{station}, the same when asked again', () => {
    for (let i = 0; i < 2; i++) {
      expect(parseTopic('tuojiang/water/hongyuan', 'tuojiang')).toEqual({ medium: 'water', stationId: 'hongyuan' });
      expect(parseTopic('tuojiang/air/jianyang-aq', 'tuojiang')).toEqual({ medium: 'air', stationId: 'jianyang-aq' });
    }
  });

  it('refuses other shapes, also when asked again (a remembered refusal is still a refusal)', () => {
    const bad = ['tuojiang/soil/x', 'tuojiang/water/', 'tuojiang/water/a/b', 'other/water/x', 'tuojiangX/water/x', 'tuojiang'];
    for (let i = 0; i < 2; i++) for (const t of bad) expect(parseTopic(t, 'tuojiang'), t).toBeUndefined();
  });

  it('answers per prefix: the same topic under another prefix is another answer', () => {
    expect(parseTopic('basin/water/s1', 'basin')).toEqual({ medium: 'water', stationId: 's1' });
    expect(parseTopic('basin/water/s1', 'tuojiang')).toBeUndefined();
    expect(parseTopic('tuojiang/water/s1', 'basin')).toBeUndefined();
  });

  it('stays right past its memory bound (junk topics do not grow it without end)', () => {
    for (let i = 0; i < 10_050; i++) expect(parseTopic(`junk/${i}`, 'tuojiang')).toBeUndefined();
    expect(parseTopic('tuojiang/water/late-station', 'tuojiang')).toEqual({ medium: 'water', stationId: 'late-station' });
    expect(parseTopic('tuojiang/water/late-station', 'tuojiang')).toEqual({ medium: 'water', stationId: 'late-station' });
  });
});
