/**
 * The domain core under mutation testing, in groups that each mutate a few source files and run
 * only the unit tests that speak about them, so a group's run stays within minutes on a shared
 * two-core machine. A file belongs to one group; its floor is the score below which the run fails.
 */
export interface MutationGroup {
  name: string;
  /** Source files to mutate (globs relative to the repository root). */
  mutate: string[];
  /** Unit test files that should kill the mutants (globs relative to the repository root). */
  tests: string[];
  /** Minimum mutation score, in percent, of every file of the group. */
  floor: number;
  description: string;
}

/** Default floor of the domain core; rules, incidents and standards decide alerts and have a higher one. */
export const DEFAULT_FLOOR = 90;
export const STRICT_FLOOR = 95;

export const GROUPS: readonly MutationGroup[] = [
  {
    name: 'standards',
    description: 'GB 3838, HJ 633, GB 3095 tables and the decimal arithmetic behind the AQI',
    mutate: ['lib/standards/gb3838.ts', 'lib/standards/hj633.ts', 'lib/standards/gb3095.ts', 'lib/standards/decimal.ts'],
    tests: ['test/unit/standards-*.test.ts'],
    floor: STRICT_FLOOR,
  },
  {
    name: 'rules',
    description: 'what a reading says (observe, the rule table) and the per-key alert state machine',
    mutate: ['alerts/observe.ts', 'alerts/state-machine.ts', 'alerts/rules/*.ts'],
    // The rules' own tests pin their wording, severity and CAP events too (rules-wording); the notice
    // tests that print them import most of alerts/notify, which made the run over an hour here.
    tests: ['test/unit/alerts-rules*.test.ts', 'test/unit/alerts-state-machine*.test.ts', 'test/unit/rules-*.test.ts'],
    floor: STRICT_FLOOR,
  },
  {
    name: 'validation',
    description: 'plausibility checks of a decoded reading and the InfluxDB line protocol',
    mutate: ['ingest/validate-reading.ts', 'lib/influx/line-protocol.ts'],
    tests: ['test/unit/ingest-validate-reading*.test.ts', 'test/unit/line-protocol*.test.ts', 'test/unit/ingest-reading-to-point.test.ts'],
    floor: DEFAULT_FLOOR,
  },
  {
    name: 'journal',
    description: 'the journal entry formats the writer reads back across versions',
    mutate: ['ingest/journal-entry.ts'],
    tests: ['test/unit/ingest-journal-entry.test.ts'],
    floor: DEFAULT_FLOOR,
  },
  {
    name: 'station-rate',
    description: "what each station may send before its messages are refused unread (one station's flood must not cost the others)",
    mutate: ['ingest/station-rate.ts'],
    tests: ['test/unit/ingest-station-rate.test.ts'],
    floor: DEFAULT_FLOOR,
  },
  {
    name: 'mqtt-reader',
    description: 'the PUBLISH packets the ingest reads off the socket itself, and the PUBACKs it writes',
    mutate: ['lib/mqtt-publish-reader.ts', 'lib/mqtt-puback.ts'],
    tests: ['test/unit/lib-mqtt-publish-reader.test.ts', 'test/unit/lib-mqtt-puback.test.ts'],
    floor: DEFAULT_FLOOR,
  },
  {
    name: 'incidents',
    description: 'the incident model: evidence, scopes, reports, the plume front and report severity',
    mutate: [
      'alerts/incidents/engine.ts',
      'alerts/incidents/track.ts',
      'alerts/incidents/severity.ts',
      'alerts/incidents/current-report.ts',
    ],
    tests: ['test/unit/incidents-*.test.ts', 'test/unit/incident-*.test.ts'],
    floor: STRICT_FLOOR,
  },
  {
    name: 'hj212',
    description: 'HJ 212 frame parsing, its CRC and the decoder to readings',
    mutate: ['ingest/hj212/frame.ts', 'ingest/hj212/crc.ts', 'ingest/decode-hj212.ts'],
    tests: ['test/unit/hj212-*.test.ts', 'test/unit/ingest-decode-hj212*.test.ts'],
    floor: DEFAULT_FLOOR,
  },
];

export function groupByName(name: string): MutationGroup | undefined {
  return GROUPS.find((g) => g.name === name);
}
