/**
 * The one data source every panel, annotation and variable uses: InfluxDB, InfluxQL, provisioned
 * with this fixed uid (dashboards/provisioning/datasources/tuojiang-influxdb.yaml), so dashboards
 * find it on any Grafana without an id lookup.
 */
import { ALERTS_MEASUREMENT } from '../alerts/outbox-relay.js';
import { MEASUREMENT } from '../ingest/reading-to-point.js';
import { PIPELINE_HEALTH_MEASUREMENT } from '../lib/health-reporter.js';
import type { DataSourceRef } from './model.js';

export const DATASOURCE_UID = 'tuojiang-influxdb';
export const DATASOURCE: DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };

/**
 * Threshold changes, for annotations. Written by the threshold store (issue 6) once per applied
 * version: tags `scope` (defaults | section | station), `station` (only for a station's own
 * change), `change` (tighten | loosen | exception | seed | restore); string fields `version` and `summary`
 * (Chinese first, English second), `by`. Nothing writes it before that store exists.
 */
export const THRESHOLD_CHANGES_MEASUREMENT = 'threshold_changes';

export const MEASUREMENTS = {
  water: MEASUREMENT.water,
  air: MEASUREMENT.air,
  alerts: ALERTS_MEASUREMENT,
  health: PIPELINE_HEALTH_MEASUREMENT,
  thresholdChanges: THRESHOLD_CHANGES_MEASUREMENT,
} as const;
