/**
 * Human-readable lines for simulator events and summaries (the `simulate` command's output; the
 * demo may reuse them). Simulated instants are shown in China Standard Time, as the bureaus read them.
 */
import { CST_OFFSET_MS } from './clock.js';
import type { SimEvent, SimSummary } from './run.js';

/** `2026-07-01 15:20 CST` */
export function cstText(ts: number): string {
  if (!Number.isFinite(ts)) return '(open-ended)';
  const iso = new Date(ts + CST_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} CST`;
}

function wallOffset(e: SimEvent, wallStart: number): string {
  return `+${((e.wall - wallStart) / 1000).toFixed(1).padStart(5)}s`;
}

/** One line per event (several for `start` with a plan); `progress` and `end` give none. */
export function formatEvent(e: SimEvent, wallStart: number): string[] {
  const at = `${wallOffset(e, wallStart)}  ${cstText(e.sim)}  `;
  switch (e.type) {
    case 'start': {
      const lines = [
        `simulating ${e.stations.length} stations from ${cstText(e.sim)} to ${cstText(e.simEnd)} at ×${Math.round(e.speed)}` +
          (e.scenario ? `, scenario ${e.scenario} (compression ×${e.compress})` : ''),
      ];
      if (e.plan && e.plan.reaches.length > 0) {
        const inUse = e.plan.reaches.filter((r) => r.toKm > e.plan!.entryKm && r.fromKm <= (e.plan!.sections.at(-1)?.km ?? r.fromKm));
        lines.push(
          `  river velocity per reach: ${inUse.map((r) => `km ${r.fromKm}–${r.toKm} ${r.velocityKmh.toFixed(2)} km/h`).join(', ')}`,
        );
      } else if (e.plan) {
        lines.push(`  river velocity ${e.plan.velocityKmh} km/h`);
      }
      for (const a of e.arrivals ?? []) {
        lines.push(
          `  plume due at ${a.station.padEnd(12)} km ${String(a.km).padStart(3)}  ${cstText(a.arrivalSim)}  (${a.travelHours.toFixed(1)} h from the entry, wall +${((a.arrivalWall - e.wall) / 1000).toFixed(0)}s)  plateau ≈ ${a.peakMgL.toFixed(1)} mg/L`,
        );
      }
      return lines;
    }
    case 'spill-start':
      return [`${at}spill: NH3-N discharge enters the ${e.river} at km ${e.entryKm} (≈ ${e.peakMgL} mg/L expected at ${e.refStation})`];
    case 'plume-arrival':
      return [
        `${at}${e.station} (${e.city}, km ${e.km}): plume arrives, NH3-N ${e.value} mg/L > ${e.limit} (due ${cstText(e.plannedArrivalSim)})`,
      ];
    case 'plume-peak':
      return [`${at}${e.station} (${e.city}, km ${e.km}): plume peak NH3-N ${e.value} mg/L`];
    case 'plume-cleared':
      return [`${at}${e.station} (${e.city}, km ${e.km}): NH3-N back to ${e.value} mg/L ≤ ${e.limit}`];
    case 'maintenance':
      return [`${at}${e.station}: maintenance of ${e.params.join(', ')} until ${cstText(e.until)} (readings flagged M)`];
    case 'dropout':
      return [`${at}${e.station}: station drops out until ${cstText(e.until)}`];
    case 'invalid':
      return [`${at}${e.station}: sent a broken ${e.encoding} message (${e.kind}; expect dead letter ${e.reason})`];
    case 'publish-failed':
      return [`${at}${e.station}: the broker refused a message: ${e.error}`];
    case 'progress':
    case 'end':
      return [];
  }
}

export function formatSummary(s: SimSummary): string[] {
  const lines = [
    `published ${s.messages} messages in ${((s.wallEnd - s.wallStart) / 1000).toFixed(1)} s covering ${cstText(s.simStart)} → ${cstText(s.simEnd)}${s.stopped ? ' (stopped early)' : ''}`,
    `  readings ${s.readings} (JSON ${s.byEncoding.json}, HJ 212 ${s.byEncoding.hj212} incl. broken; flagged M ${s.byFlag.M}; HJ 212 answers requested ${s.byHj212Flag['5']})`,
    `  broken on purpose ${s.invalid}${
      Object.keys(s.invalidByReason).length
        ? ` (${Object.entries(s.invalidByReason)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ')})`
        : ''
    }; silent slots ${s.silent} in ${s.dropouts} dropouts; maintenance windows ${s.maintenanceWindows}; refused ${s.failed}`,
    '  station            readings  json  hj212  M  broken  silent',
  ];
  // Over TCP a message counts once answered; how many frames the loggers had to send again says how often an answer was late or lost.
  if (s.resent !== undefined)
    lines.splice(3, 0, `  over HJ 212 TCP: ${s.resent} frame(s) re-sent by the loggers (answer late or connection lost)`);
  for (const [id, c] of Object.entries(s.byStation)) {
    lines.push(
      `  ${id.padEnd(18)} ${String(c.readings).padStart(8)} ${String(c.json).padStart(5)} ${String(c.hj212).padStart(6)} ${String(c.maintenance).padStart(2)} ${String(c.invalid).padStart(7)} ${String(c.silent).padStart(7)}`,
    );
  }
  for (const p of s.plume ?? []) {
    lines.push(
      `  plume at ${p.station.padEnd(12)} ${p.arrivedSim !== undefined ? `arrived ${cstText(p.arrivedSim)}` : 'not arrived'}` +
        `${p.peakMgL !== undefined ? `, peak ${p.peakMgL} mg/L` : ''}${p.clearedSim !== undefined ? `, cleared ${cstText(p.clearedSim)}` : ''}`,
    );
  }
  return lines;
}
