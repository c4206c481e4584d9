/**
 * Pipeline health: readings in/written/rejected, write lag, queue depths and e-mails, from the
 * counters the services write to InfluxDB (lib/health-reporter.ts), and the alert events.
 */
import { HEALTH_FIELDS, type HealthField } from '../lib/health-reporter.js';
import { MEASUREMENTS } from './datasource.js';
import { HEALTH_GAP_MS } from './freshness.js';
import { INTERVAL, TIME_FILTER, call, ident, tagMatchesVar, type Cond, type SelectSpec } from './influxql.js';
import { Grid, dashboard, queryVariable, target, timeseries, table, type BuiltDashboard, type PendingTarget } from './panels.js';

export const PIPELINE_HEALTH_UID = 'tj-pipeline-health';

const SCOPE: Cond[] = [tagMatchesVar('service', 'service'), tagMatchesVar('instance', 'instance')];

function healthTarget(refId: string, columns: Array<{ expr: string; as: string }>, fields: HealthField[], groupTime = true): PendingTarget {
  const q: SelectSpec = {
    columns,
    from: MEASUREMENTS.health,
    where: [...SCOPE, TIME_FILTER],
    groupBy: { ...(groupTime ? { time: INTERVAL } : {}), tags: ['instance'] },
    ...(groupTime ? { fill: 'none' as const } : {}),
  };
  return target(
    refId,
    q,
    { columns: columns.map((c) => c.as), tags: ['instance'], series: { tag: 'instance', from: 'instances' }, healthFields: fields },
    { alias: '$tag_instance $col' },
  );
}

const rate = (field: HealthField, as: string, per = '1s') => ({ expr: `non_negative_derivative(${call('max', field)}, ${per})`, as });
const gauge = (field: HealthField, as: string) => ({ expr: call('max', field), as });

export function pipelineHealth(): BuiltDashboard {
  const grid = new Grid();
  const service = queryVariable(
    'service',
    'Service 服务',
    `SHOW TAG VALUES FROM ${ident(MEASUREMENTS.health)} WITH KEY = "service"`,
    grid,
    { columns: ['key', 'value'], tags: [] },
  );
  const instance = queryVariable(
    'instance',
    'Instance 实例',
    `SHOW TAG VALUES FROM ${ident(MEASUREMENTS.health)} WITH KEY = "instance" WHERE ${tagMatchesVar('service', 'service')}`,
    grid,
    { columns: ['key', 'value'], tags: [] },
  );
  const describe = (fields: HealthField[]): string => fields.map((f) => `${f}: ${HEALTH_FIELDS[f]}`).join('; ');

  grid.row('Readings 读数', () => {
    const fields: HealthField[] = ['readings_in', 'readings_written', 'readings_rejected'];
    grid.add(
      timeseries({
        title: 'Readings per second 每秒读数: in, written, rejected',
        description: describe(fields),
        targets: [
          healthTarget(
            'R',
            [rate('readings_in', 'in'), rate('readings_written', 'written'), rate('readings_rejected', 'rejected')],
            fields,
          ),
        ],
        unit: 'reqps',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      12,
      8,
    );
    grid.add(
      table({
        title: 'Totals in the time range 时段合计',
        description: 'Sum of the counter increases between samples (a restart does not count negative).',
        targets: [
          target(
            'S',
            {
              columns: ['in', 'written', 'rejected'].map((c) => ({ expr: call('sum', c), as: c })),
              from: {
                columns: [
                  { expr: `non_negative_difference(${call('max', 'readings_in')})`, as: 'in' },
                  { expr: `non_negative_difference(${call('max', 'readings_written')})`, as: 'written' },
                  { expr: `non_negative_difference(${call('max', 'readings_rejected')})`, as: 'rejected' },
                ],
                from: MEASUREMENTS.health,
                where: [...SCOPE, TIME_FILTER],
                groupBy: { time: INTERVAL, tags: ['instance'] },
                fill: 'none',
              },
              groupBy: { tags: ['instance'] },
            },
            {
              columns: ['in', 'written', 'rejected'],
              tags: ['instance'],
              series: { tag: 'instance', from: 'instances' },
              healthFields: fields,
            },
            { format: 'table' },
          ),
        ],
        decimals: 0,
      }),
      12,
      8,
    );
  });

  grid.row('Lag and queues 延迟与队列', () => {
    grid.add(
      timeseries({
        title: 'Write lag 写入延迟 (sensor time → InfluxDB)',
        description: describe(['write_lag_s']),
        targets: [healthTarget('L', [gauge('write_lag_s', 'lag')], ['write_lag_s'])],
        unit: 's',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      8,
      7,
    );
    grid.add(
      timeseries({
        title: 'Journal backlog 日志积压',
        description: describe(['journal_backlog']),
        targets: [healthTarget('J', [gauge('journal_backlog', 'backlog')], ['journal_backlog'])],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      8,
      7,
    );
    grid.add(
      timeseries({
        title: 'Checks waiting 待检查',
        description: `${describe(['check_jobs_waiting', 'check_series_overdue', 'check_series_stuck'])}. Overdue series were given a check job by the inbox sweep and alert late; stuck ones do not alert at all until fixed (operator guide, Late or stuck checks).`,
        targets: [
          healthTarget(
            'Q',
            [
              gauge('check_jobs_waiting', 'jobs waiting'),
              gauge('check_series_overdue', 'series overdue'),
              gauge('check_series_stuck', 'series stuck'),
            ],
            ['check_jobs_waiting', 'check_series_overdue', 'check_series_stuck'],
          ),
        ],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      8,
      7,
    );
    grid.add(
      timeseries({
        title: 'Aggregation backlog 待汇总小时数',
        description: `${describe(['aggregate_backlog_hours'])}. Rises when a logger uploads stored data and falls back as the alerts workers make the hours (decision 0013); a backlog that only grows means the aggregation job is not running.`,
        targets: [healthTarget('G', [gauge('aggregate_backlog_hours', 'hours')], ['aggregate_backlog_hours'])],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      8,
      7,
    );
  });

  grid.row('HJ 212 data loggers 数采仪', () => {
    const fields: HealthField[] = ['hj212_quirks', 'hj212_resent'];
    grid.add(
      timeseries({
        title: 'Quirks tolerated and frames re-sent per minute 容错与重发',
        description: `${describe(fields)}. Which station and which quirk: tuojiang_hj212_quirks_total{station,quirk} on the ingest's /metrics, or the quirk field of the readings (docs/operations.md, Reading the quirk counters).`,
        targets: [healthTarget('H', [rate('hj212_quirks', 'quirks', '1m'), rate('hj212_resent', 'resent', '1m')], fields)],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      24,
      7,
    );
  });

  grid.row('Alerts and e-mail 告警与邮件', () => {
    grid.add(
      timeseries({
        title: 'E-mails per minute 每分钟邮件: sent, failed',
        description: describe(['emails_sent', 'emails_failed']),
        targets: [
          healthTarget('E', [rate('emails_sent', 'sent', '1m'), rate('emails_failed', 'failed', '1m')], ['emails_sent', 'emails_failed']),
        ],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      12,
      8,
    );
    grid.add(
      timeseries({
        title: 'Alert events 告警事件 by state',
        description: 'Alert transitions and reminders recorded in the alerts measurement, per interval.',
        targets: [
          target(
            'A',
            {
              columns: [{ expr: call('count', 'event_id'), as: 'events' }],
              from: MEASUREMENTS.alerts,
              where: [TIME_FILTER],
              groupBy: { time: INTERVAL, tags: ['state'] },
              fill: 'none',
            },
            { columns: ['events'], tags: ['state'], alerts: {} },
            { alias: '$tag_state' },
          ),
        ],
        unit: 'short',
        min: 0,
        gapAfterMs: HEALTH_GAP_MS,
      }),
      12,
      8,
    );
  });

  return dashboard(grid, {
    uid: PIPELINE_HEALTH_UID,
    title: '沱江数据管道健康 Tuojiang pipeline health',
    description:
      'Readings in/written/rejected, write lag, journal and check-queue depth, e-mails sent/failed (from the pipeline_health measurement), and alert events.',
    variables: [service, instance],
    tags: ['operations'],
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
  });
}
